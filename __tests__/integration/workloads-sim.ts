/**
 * Test doubles for the workload integration tests: a simulated scheduler (binds pods) and a
 * simulated kubelet (marks bound pods Running/Ready, finishes graceful deletions), driven by a
 * small polling loop over the in-process registry. Neither depends on src/scheduler or
 * src/kubelet.
 */
import { resourceFor } from '../../src/api/scheme';
import type { KObject } from '../../src/api/types';
import type { Registry } from '../../src/apiserver/registry';

const PODS = resourceFor('', 'pods')!;
const NODES = resourceFor('', 'nodes')!;

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface SimOptions {
  /** bind unscheduled pods (default true) */
  schedule?: boolean;
  /** pods that must never become ready (default: an image containing "bad") */
  broken?: (pod: KObject) => boolean;
  intervalMs?: number;
}

export class ClusterSim {
  private timer?: NodeJS.Timeout;
  private rr = 0;
  /** pods held NotReady by the test (namespace/name) */
  readonly notReady = new Set<string>();
  /** nodes whose "kubelet" is stopped: nothing there changes */
  readonly frozenNodes = new Set<string>();
  /** highest number of pods of a selector seen at once (see track) */
  private tracked: { match: (p: KObject) => boolean; maxTotal: number; minAvailable: number }[] = [];

  constructor(
    readonly registry: Registry,
    private readonly opts: SimOptions = {},
  ) {}

  addNode(name: string, extra: { labels?: Record<string, string>; taints?: unknown[]; unschedulable?: boolean } = {}): KObject {
    return this.registry.create(NODES, undefined, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...(extra.labels ?? {}) } },
      spec: { ...(extra.taints ? { taints: extra.taints } : {}), ...(extra.unschedulable ? { unschedulable: true } : {}) },
      status: {
        conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: now(), lastTransitionTime: now(), reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
        allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
        capacity: { cpu: '4', memory: '8Gi', pods: '110' },
      },
    });
  }

  start(): this {
    this.timer = setInterval(() => this.tick(), this.opts.intervalMs ?? 15);
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * Records, on every tick, the number of pods matching `match` (not terminating) and how many of
   * them are ready, to check rolling-update bounds.
   */
  track(match: (p: KObject) => boolean): { maxTotal: number; minAvailable: number } {
    const t = { match, maxTotal: 0, minAvailable: Number.MAX_SAFE_INTEGER };
    this.tracked.push(t);
    return t;
  }

  private nodeFor(pod: KObject, nodes: KObject[]): string | undefined {
    const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    for (const t of terms) {
      for (const f of t.matchFields ?? []) if (f.key === 'metadata.name' && f.operator === 'In') return f.values?.[0];
    }
    const ready = nodes.filter((n) => !n.spec?.unschedulable && !(n.spec?.taints ?? []).some((t: { effect: string }) => t.effect === 'NoSchedule'));
    if (!ready.length) return undefined;
    return ready[this.rr++ % ready.length].metadata.name;
  }

  tick(): void {
    try {
      const nodes = this.registry.list(NODES, undefined).items;
      const nodeNames = new Set(nodes.map((n) => n.metadata.name));
      const pods = this.registry.list(PODS, undefined).items;
      for (const p of pods) this.step(p, nodes, nodeNames);
      if (this.tracked.length) {
        const cur = this.registry.list(PODS, undefined).items;
        for (const t of this.tracked) {
          const mine = cur.filter((p) => t.match(p) && !p.metadata.deletionTimestamp);
          t.maxTotal = Math.max(t.maxTotal, mine.length);
          const ready = cur.filter((p) => t.match(p) && (p.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'));
          t.minAvailable = Math.min(t.minAvailable, ready.length);
        }
      }
    } catch {
      // the cluster may be stopping
    }
  }

  private step(p: KObject, nodes: KObject[], nodeNames: Set<string>): void {
    const ns = p.metadata.namespace!;
    const name = p.metadata.name!;
    const key = `${ns}/${name}`;
    const node = p.spec?.nodeName as string | undefined;
    if (node && this.frozenNodes.has(node)) return;
    try {
      if (p.metadata.deletionTimestamp) {
        this.registry.delete(PODS, ns, name, { gracePeriodSeconds: 0 });
        return;
      }
      if (!node) {
        if (this.opts.schedule === false) return;
        const target = this.nodeFor(p, nodes);
        if (!target || !nodeNames.has(target)) return;
        this.registry.guaranteedUpdate(PODS, ns, name, (cur) => {
          if (cur.spec.nodeName) return cur;
          cur.spec.nodeName = target;
          return cur;
        }, { subresource: 'binding' });
        return;
      }
      const phase = p.status?.phase;
      if (phase === 'Failed' || phase === 'Succeeded') return;
      const broken = (this.opts.broken ?? ((x: KObject) => (x.spec?.containers ?? []).some((c: { image?: string }) => (c.image ?? '').includes('bad'))))(p);
      const wantReady = !broken && !this.notReady.has(key);
      const isReady = (p.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
      const wantPhase = broken ? 'Pending' : 'Running';
      if (phase === wantPhase && isReady === wantReady) return;
      this.registry.guaranteedUpdate(PODS, ns, name, (cur) => {
        const t = now();
        cur.status = {
          ...(cur.status ?? {}),
          phase: wantPhase,
          podIP: cur.status?.podIP ?? `10.244.0.${1 + (Math.abs(hashCode(name)) % 250)}`,
          startTime: cur.status?.startTime ?? t,
          conditions: [
            { type: 'PodScheduled', status: 'True', lastTransitionTime: t },
            { type: 'Initialized', status: 'True', lastTransitionTime: t },
            { type: 'ContainersReady', status: wantReady ? 'True' : 'False', lastTransitionTime: t },
            { type: 'Ready', status: wantReady ? 'True' : 'False', lastTransitionTime: t },
          ],
        };
        return cur;
      }, { subresource: 'status' });
    } catch {
      // raced with a controller; next tick
    }
  }

  /** Marks a pod Failed (container exited), as a kubelet would. */
  failPod(ns: string, name: string): void {
    this.registry.guaranteedUpdate(PODS, ns, name, (cur) => {
      cur.status = { ...(cur.status ?? {}), phase: 'Failed', conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: now() }] };
      return cur;
    }, { subresource: 'status' });
  }
}

function hashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

export function podsOf(registry: Registry, ns: string, pred: (p: KObject) => boolean = () => true): KObject[] {
  return registry.list(PODS, ns).items.filter(pred);
}

export function eventsFor(registry: Registry, ns: string, name: string): { reason: string; message: string; type: string }[] {
  return registry
    .list(resourceFor('', 'events')!, ns)
    .items.filter((e) => e.involvedObject?.name === name)
    .map((e) => ({ reason: e.reason, message: e.message, type: e.type }));
}
