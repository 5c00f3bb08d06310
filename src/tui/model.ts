import type { KObject } from '../api/types';
import { humanDuration } from '../apiserver/printers';

/**
 * The dashboard's view model: pure functions from the watched objects to the rows shown, so the
 * terminal UI stays a thin renderer and this part is unit-tested.
 */
export type ViewName = 'pods' | 'nodes' | 'workloads' | 'events';
export const VIEWS: ViewName[] = ['pods', 'nodes', 'workloads', 'events'];

export interface Snapshot {
  pods: KObject[];
  nodes: KObject[];
  deployments: KObject[];
  statefulsets: KObject[];
  daemonsets: KObject[];
  jobs: KObject[];
  events: KObject[];
}

export interface Table {
  header: string[];
  rows: { cells: string[]; tone: 'ok' | 'warn' | 'bad' | 'none' }[];
}

function age(ts: string | undefined, now: number): string {
  if (!ts) return '<unknown>';
  return humanDuration(now - Date.parse(ts));
}

/** kubectl's pod STATUS, simplified: reason of a waiting/terminated container wins over the phase. */
export function podStatus(p: KObject): string {
  if (p.metadata.deletionTimestamp) return 'Terminating';
  for (const cs of [...(p.status?.initContainerStatuses ?? [])]) {
    if (cs.state?.waiting?.reason) return `Init:${cs.state.waiting.reason}`;
    if (cs.state?.terminated && cs.state.terminated.exitCode !== 0) return `Init:${cs.state.terminated.reason ?? 'Error'}`;
  }
  for (const cs of p.status?.containerStatuses ?? []) {
    if (cs.state?.waiting?.reason) return cs.state.waiting.reason;
    if (cs.state?.terminated?.reason && p.status?.phase !== 'Running') return cs.state.terminated.reason;
  }
  if (!p.spec?.nodeName && p.status?.phase === 'Pending') {
    const sched = (p.status?.conditions ?? []).find((c: { type: string }) => c.type === 'PodScheduled');
    if (sched?.reason === 'Unschedulable') return 'Pending (unschedulable)';
  }
  return p.status?.phase ?? 'Pending';
}

function tone(status: string): 'ok' | 'warn' | 'bad' {
  if (['Running', 'Succeeded', 'Completed', 'Ready'].includes(status)) return 'ok';
  if (/BackOff|Err|Error|Failed|OOMKilled|NotReady|Unknown|unschedulable|Invalid/.test(status)) return 'bad';
  return 'warn';
}

export function filterNamespace(objs: KObject[], ns: string | undefined): KObject[] {
  return ns ? objs.filter((o) => o.metadata.namespace === ns) : objs;
}

export function podsTable(s: Snapshot, ns: string | undefined, now: number): Table {
  const pods = filterNamespace(s.pods, ns).slice().sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
  return {
    header: ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'NODE', 'IP', 'AGE'],
    rows: pods.map((p) => {
      const cs = p.status?.containerStatuses ?? [];
      const total = p.spec?.containers?.length ?? cs.length;
      const ready = cs.filter((c: { ready?: boolean }) => c.ready).length;
      const restarts = cs.reduce((n: number, c: { restartCount?: number }) => n + (c.restartCount ?? 0), 0);
      const st = podStatus(p);
      return { cells: [p.metadata.namespace ?? '', p.metadata.name ?? '', `${ready}/${total}`, st, String(restarts), p.spec?.nodeName ?? '<none>', p.status?.podIP ?? '<none>', age(p.metadata.creationTimestamp, now)], tone: tone(st) };
    }),
  };
}

export function nodesTable(s: Snapshot, now: number): Table {
  return {
    header: ['NAME', 'STATUS', 'ROLES', 'PODS', 'CPU', 'MEMORY', 'AGE'],
    rows: s.nodes.map((n) => {
      const ready = (n.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready');
      let st = ready?.status === 'True' ? 'Ready' : ready?.status === 'Unknown' ? 'Unknown' : 'NotReady';
      if (n.spec?.unschedulable) st += ',SchedulingDisabled';
      const roles = Object.keys(n.metadata.labels ?? {}).filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.slice(24)).join(',') || '<none>';
      const pods = s.pods.filter((p) => p.spec?.nodeName === n.metadata.name && !['Succeeded', 'Failed'].includes(p.status?.phase)).length;
      return { cells: [n.metadata.name ?? '', st, roles, `${pods}/${n.status?.allocatable?.pods ?? '?'}`, String(n.status?.allocatable?.cpu ?? '?'), String(n.status?.allocatable?.memory ?? '?'), age(n.metadata.creationTimestamp, now)], tone: tone(st.split(',')[0]) };
    }),
  };
}

export function workloadsTable(s: Snapshot, ns: string | undefined, now: number): Table {
  const rows: Table['rows'] = [];
  const add = (kind: string, objs: KObject[], ready: (o: KObject) => [number, number]) => {
    for (const o of filterNamespace(objs, ns)) {
      const [r, want] = ready(o);
      rows.push({ cells: [o.metadata.namespace ?? '', `${kind}/${o.metadata.name}`, `${r}/${want}`, age(o.metadata.creationTimestamp, now)], tone: r >= want ? 'ok' : 'warn' });
    }
  };
  add('deployment', s.deployments, (o) => [o.status?.readyReplicas ?? 0, o.spec?.replicas ?? 1]);
  add('statefulset', s.statefulsets, (o) => [o.status?.readyReplicas ?? 0, o.spec?.replicas ?? 1]);
  add('daemonset', s.daemonsets, (o) => [o.status?.numberReady ?? 0, o.status?.desiredNumberScheduled ?? 0]);
  add('job', s.jobs, (o) => [o.status?.succeeded ?? 0, o.spec?.completions ?? 1]);
  return { header: ['NAMESPACE', 'NAME', 'READY', 'AGE'], rows };
}

export function eventsTable(s: Snapshot, ns: string | undefined, now: number, limit = 200): Table {
  const evs = filterNamespace(s.events, ns)
    .slice()
    .sort((a, b) => Date.parse(b.lastTimestamp ?? b.metadata.creationTimestamp ?? '') - Date.parse(a.lastTimestamp ?? a.metadata.creationTimestamp ?? ''))
    .slice(0, limit);
  return {
    header: ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'],
    rows: evs.map((e) => ({
      cells: [age(e.lastTimestamp ?? e.metadata.creationTimestamp, now), e.type ?? '', e.reason ?? '', `${String(e.involvedObject?.kind ?? '').toLowerCase()}/${e.involvedObject?.name ?? ''}`, String(e.message ?? '').replace(/\s+/g, ' ')],
      tone: e.type === 'Warning' ? 'bad' : 'none',
    })),
  };
}

export function tableFor(view: ViewName, s: Snapshot, ns: string | undefined, now: number): Table {
  switch (view) {
    case 'pods':
      return podsTable(s, ns, now);
    case 'nodes':
      return nodesTable(s, now);
    case 'workloads':
      return workloadsTable(s, ns, now);
    case 'events':
      return eventsTable(s, ns, now);
  }
}

/** Pads cells into fixed-width text lines that fit `width` columns (last column truncated). */
export function layout(t: Table, width: number): string[] {
  const all = [t.header, ...t.rows.map((r) => r.cells)];
  const widths = t.header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => {
    const line = r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
    return line.length > width ? line.slice(0, Math.max(0, width - 1)) + '…' : line;
  });
}

export function summary(s: Snapshot): string {
  const running = s.pods.filter((p) => p.status?.phase === 'Running').length;
  const bad = s.pods.filter((p) => tone(podStatus(p)) === 'bad').length;
  const readyNodes = s.nodes.filter((n) => (n.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True')).length;
  return `nodes ${readyNodes}/${s.nodes.length} ready · pods ${running} running, ${bad} failing, ${s.pods.length} total · deployments ${s.deployments.length}`;
}
