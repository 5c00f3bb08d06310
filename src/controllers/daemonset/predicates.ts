import type { KObject } from '../../api/types';

/**
 * Node eligibility for daemon pods (Kubernetes' pkg/controller/daemon/daemon_controller.go
 * `NodeShouldRunDaemonPod`, component-helpers nodeaffinity, and v1 helper taint/toleration
 * matching) and the daemon pod template adjustments (util/daemonset_util.go). Pure functions.
 */

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

/** `Toleration.ToleratesTaint`: effect and key match (empty = any), then Equal/Exists. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  const op = t.operator || 'Equal';
  if (op === 'Exists') return true;
  if (op === 'Equal') return (t.value ?? '') === (taint.value ?? '');
  return false;
}

/** The first taint passing `filter` that no toleration tolerates. */
export function findUntoleratedTaint(taints: Taint[] | undefined, tolerations: Toleration[] | undefined, filter: (t: Taint) => boolean): Taint | undefined {
  for (const taint of taints ?? []) {
    if (!filter(taint)) continue;
    if (!(tolerations ?? []).some((t) => toleratesTaint(t, taint))) return taint;
  }
  return undefined;
}

function requirementMatches(r: NodeSelectorRequirement, value: string | undefined): boolean {
  const vals = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return value !== undefined && vals.includes(value);
    case 'NotIn':
      return value === undefined || !vals.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || vals.length !== 1 || !/^-?\d+$/.test(value) || !/^-?\d+$/.test(vals[0])) return false;
      return r.operator === 'Gt' ? Number(value) > Number(vals[0]) : Number(value) < Number(vals[0]);
    }
    default:
      return false;
  }
}

/** A term matches when all its expressions (labels) and fields (metadata.name) match; empty terms match nothing. */
export function nodeSelectorTermMatches(term: NodeSelectorTerm, node: KObject): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (!exprs.length && !fields.length) return false;
  const labels = node.metadata.labels ?? {};
  for (const e of exprs) if (!requirementMatches(e, Object.prototype.hasOwnProperty.call(labels, e.key) ? labels[e.key] : undefined)) return false;
  for (const f of fields) {
    if (f.key !== 'metadata.name') return false;
    if (!requirementMatches(f, node.metadata.name)) return false;
  }
  return true;
}

/** `GetRequiredNodeAffinity(pod).Match(node)`: nodeSelector labels and required node affinity terms (ORed). */
export function requiredNodeAffinityMatches(podSpec: KObject['spec'], node: KObject): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries((podSpec?.nodeSelector ?? {}) as Record<string, string>)) if (labels[k] !== v) return false;
  const req = podSpec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (!req) return true;
  const terms: NodeSelectorTerm[] = req.nodeSelectorTerms ?? [];
  return terms.some((t) => nodeSelectorTermMatches(t, node));
}

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_DISK_PRESSURE = 'node.kubernetes.io/disk-pressure';
export const TAINT_MEMORY_PRESSURE = 'node.kubernetes.io/memory-pressure';
export const TAINT_PID_PRESSURE = 'node.kubernetes.io/pid-pressure';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
export const TAINT_NETWORK_UNAVAILABLE = 'node.kubernetes.io/network-unavailable';

function sameToleration(a: Toleration, b: Toleration): boolean {
  return (a.key ?? '') === (b.key ?? '') && (a.operator || 'Equal') === (b.operator || 'Equal') && (a.value ?? '') === (b.value ?? '') && (a.effect ?? '') === (b.effect ?? '');
}

/** `AddOrUpdateTolerationInPodSpec`: replaces a toleration with the same key/operator/value/effect, else appends. */
export function addOrUpdateToleration(spec: KObject['spec'], t: Toleration): void {
  const cur: Toleration[] = Array.isArray(spec.tolerations) ? spec.tolerations : [];
  let updated = false;
  const next = cur.map((x) => {
    if (sameToleration(x, t)) {
      updated = true;
      return { ...t };
    }
    return x;
  });
  if (!updated) next.push({ ...t });
  spec.tolerations = next;
}

/**
 * `AddOrUpdateDaemonPodTolerations`: daemon pods tolerate not-ready and unreachable (NoExecute,
 * forever), disk/memory/pid pressure and unschedulable (NoSchedule), and — for hostNetwork pods,
 * as in Kubernetes — network-unavailable (NoSchedule).
 */
export function addDaemonPodTolerations(spec: KObject['spec']): void {
  addOrUpdateToleration(spec, { key: TAINT_NOT_READY, operator: 'Exists', effect: 'NoExecute' });
  addOrUpdateToleration(spec, { key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute' });
  addOrUpdateToleration(spec, { key: TAINT_DISK_PRESSURE, operator: 'Exists', effect: 'NoSchedule' });
  addOrUpdateToleration(spec, { key: TAINT_MEMORY_PRESSURE, operator: 'Exists', effect: 'NoSchedule' });
  addOrUpdateToleration(spec, { key: TAINT_PID_PRESSURE, operator: 'Exists', effect: 'NoSchedule' });
  addOrUpdateToleration(spec, { key: TAINT_UNSCHEDULABLE, operator: 'Exists', effect: 'NoSchedule' });
  if (spec.hostNetwork) addOrUpdateToleration(spec, { key: TAINT_NETWORK_UNAVAILABLE, operator: 'Exists', effect: 'NoSchedule' });
}

/**
 * `NodeShouldRunDaemonPod`: shouldRun — a new daemon pod belongs on the node; shouldContinueRunning —
 * an existing one may stay (it tolerates every NoExecute taint even if a NoSchedule one now
 * keeps new pods away).
 */
export function nodeShouldRunDaemonPod(node: KObject, ds: KObject): { shouldRun: boolean; shouldContinueRunning: boolean } {
  const tspec = ds.spec?.template?.spec ?? {};
  if (tspec.nodeName && tspec.nodeName !== node.metadata.name) return { shouldRun: false, shouldContinueRunning: false };
  const spec = JSON.parse(JSON.stringify(tspec));
  addDaemonPodTolerations(spec);
  if (!requiredNodeAffinityMatches(spec, node)) return { shouldRun: false, shouldContinueRunning: false };
  const taints: Taint[] = node.spec?.taints ?? [];
  const untolerated = findUntoleratedTaint(taints, spec.tolerations, (t) => t.effect === 'NoExecute' || t.effect === 'NoSchedule');
  if (untolerated) {
    const noExecute = findUntoleratedTaint(taints, spec.tolerations, (t) => t.effect === 'NoExecute');
    return { shouldRun: false, shouldContinueRunning: !noExecute };
  }
  return { shouldRun: true, shouldContinueRunning: true };
}

/**
 * `ReplaceDaemonSetPodNodeNameNodeAffinity`: the required node affinity becomes exactly
 * `metadata.name In [node]`, so the scheduler can only place the pod on that node.
 */
export function replaceNodeNameAffinity(affinity: KObject['spec'] | undefined, nodeName: string): KObject['spec'] {
  const a = affinity ? JSON.parse(JSON.stringify(affinity)) : {};
  a.nodeAffinity = a.nodeAffinity ?? {};
  a.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = {
    nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }],
  };
  return a;
}

/** `GetTargetNodeName`: spec.nodeName, else the node named by a `metadata.name In [x]` affinity field. */
export function targetNodeName(pod: KObject): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms: NodeSelectorTerm[] = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const t of terms) {
    for (const f of t.matchFields ?? []) {
      if (f.key === 'metadata.name' && f.operator === 'In') return f.values?.length === 1 ? f.values[0] : undefined;
    }
  }
  return undefined;
}
