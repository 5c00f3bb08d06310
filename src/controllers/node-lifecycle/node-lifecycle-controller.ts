import type { KObject } from '../../api/types';
import { resourceFor } from '../../api/scheme';
import { Controller } from '../../controller/controller';
import { ApiError, NotFoundError } from '../../util/errors';
import { deepEqual } from '../../util/equal';
import type { ControllerContext } from '../context';
import { findCondition, isPodTerminal, rfc3339, type Condition } from '../job/job-util';
import { DelayedRequeue } from '../job/requeue';
import {
  evictionDeadline,
  MANAGED_TAINT_KEYS,
  TAINT_DISK_PRESSURE,
  TAINT_MEMORY_PRESSURE,
  TAINT_NETWORK_UNAVAILABLE,
  TAINT_NOT_READY,
  TAINT_PID_PRESSURE,
  TAINT_UNREACHABLE,
  TAINT_UNSCHEDULABLE,
  type Taint,
} from './taints';

/**
 * The node lifecycle controller (kube-controller-manager's nodelifecycle + taint-eviction):
 *
 * - Health: a node is heard from when its Lease in `kube-node-lease` is renewed or its Ready
 *   condition's lastHeartbeatTime changes; the time of that observation is taken on the
 *   controller's clock (no cross-clock comparison). Silent for `nodeMonitorGracePeriodMs`
 *   (default 20 s; `nodeStartupGracePeriodMs`, default 60 s, for a node that never posted Ready),
 *   its Ready/MemoryPressure/DiskPressure/PIDPressure conditions become Unknown, reason
 *   NodeStatusUnknown "Kubelet stopped posting node status." (NodeStatusNeverUpdated "Kubelet
 *   never posted node status." for a node without Ready), event NodeNotReady, and the pods on it
 *   get Ready=False.
 * - Taints mirror state: Ready=False → `node.kubernetes.io/not-ready` NoSchedule+NoExecute,
 *   Ready=Unknown → `node.kubernetes.io/unreachable` NoSchedule+NoExecute, pressure conditions →
 *   their NoSchedule taints, `spec.unschedulable` (cordon) → `node.kubernetes.io/unschedulable`
 *   NoSchedule. They are removed when the condition clears (kubelet back: event NodeReady).
 * - Taint-based eviction: a pod on a node with NoExecute taints is deleted once it no longer
 *   tolerates them: at once without a matching toleration, after the smallest matching
 *   tolerationSeconds, never with tolerations without seconds (DaemonSet pods). For the
 *   not-ready/unreachable taints the wait is capped at `podEvictionTimeoutMs` (default 30 s;
 *   Kubernetes' default tolerations are 300 s), and the deletion is forced (grace 0): the
 *   kubelet is gone, so controllers replace the pods elsewhere at once. Event
 *   TaintManagerEviction on the pod.
 * Deadlines are met with timers on the injected clock, not by polling.
 */
export interface NodeLifecycleOptions {
  nodeMonitorGracePeriodMs?: number;
  nodeStartupGracePeriodMs?: number;
  podEvictionTimeoutMs?: number;
}

const LEASE_NS = 'kube-node-lease';
const UNKNOWN_REASON = 'NodeStatusUnknown';
const UNKNOWN_MESSAGE = 'Kubelet stopped posting node status.';
const NEVER_REASON = 'NodeStatusNeverUpdated';
const NEVER_MESSAGE = 'Kubelet never posted node status.';
const HEALTH_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

interface NodeHealth {
  /** when the controller last saw a heartbeat (controller clock) */
  probe: number;
  leaseRenew?: string;
  readyHeartbeat?: string;
  /** Ready status last reported by an event (for NodeReady / NodeNotReady events) */
  lastReady?: string;
}

function numSetting(v: unknown, dflt: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : dflt;
}

export function nodeLifecycleController(ctx: ControllerContext, opts: NodeLifecycleOptions = {}): Controller {
  const { registry, clock } = ctx;
  const log = ctx.log.child('node-lifecycle-controller');
  const recorder = ctx.recorder('node-controller');
  const evictRecorder = ctx.recorder('taint-eviction-controller');
  const grace = opts.nodeMonitorGracePeriodMs ?? numSetting(ctx.settings.nodeMonitorGracePeriodMs, 20_000);
  const startupGrace = opts.nodeStartupGracePeriodMs ?? numSetting(ctx.settings.nodeStartupGracePeriodMs, 60_000);
  const evictionTimeout = opts.podEvictionTimeoutMs ?? numSetting(ctx.settings.podEvictionTimeoutMs, 30_000);
  const nodesRI = resourceFor('', 'nodes')!;
  const podsRI = resourceFor('', 'pods')!;
  const nodes = ctx.informers.for(nodesRI);
  const pods = ctx.informers.for(podsRI);
  const leases = ctx.informers.for(resourceFor('coordination.k8s.io', 'leases')!);
  const health = new Map<string, NodeHealth>();
  /** node name → pod keys bound to it (an informer index) */
  const podsByNode = new Map<string, Set<string>>();
  let requeue: DelayedRequeue;

  const indexPod = (p: KObject, add: boolean): void => {
    const n = p.spec?.nodeName;
    if (!n) return;
    const k = `${p.metadata.namespace}/${p.metadata.name}`;
    let s = podsByNode.get(n);
    if (add) {
      if (!s) podsByNode.set(n, (s = new Set()));
      s.add(k);
    } else if (s) {
      s.delete(k);
      if (!s.size) podsByNode.delete(n);
    }
  };

  const podsOn = (node: string): KObject[] => {
    const out: KObject[] = [];
    for (const k of podsByNode.get(node) ?? []) {
      const [ns, name] = k.split('/');
      const p = pods.get(ns, name);
      if (p && p.spec?.nodeName === node) out.push(p);
    }
    return out;
  };

  const hasNoExecute = (n: KObject | undefined): boolean => (n?.spec?.taints ?? []).some((t: Taint) => t.effect === 'NoExecute');

  /** Desired managed taints for a node's current conditions and spec. */
  const desiredTaints = (node: KObject, now: string): Taint[] => {
    const conds: Condition[] = node.status?.conditions ?? [];
    const existing: Taint[] = node.spec?.taints ?? [];
    const keep = (key: string, effect: string): Taint => {
      const prev = existing.find((t) => t.key === key && t.effect === effect);
      if (effect !== 'NoExecute') return { key, effect };
      return { key, effect, timeAdded: prev?.timeAdded ?? now };
    };
    const out: Taint[] = [];
    const ready = findCondition(conds, 'Ready');
    if (ready?.status === 'False') out.push(keep(TAINT_NOT_READY, 'NoSchedule'), keep(TAINT_NOT_READY, 'NoExecute'));
    else if (ready?.status === 'Unknown') out.push(keep(TAINT_UNREACHABLE, 'NoSchedule'), keep(TAINT_UNREACHABLE, 'NoExecute'));
    const pressure: [string, string][] = [
      ['MemoryPressure', TAINT_MEMORY_PRESSURE],
      ['DiskPressure', TAINT_DISK_PRESSURE],
      ['PIDPressure', TAINT_PID_PRESSURE],
      ['NetworkUnavailable', TAINT_NETWORK_UNAVAILABLE],
    ];
    for (const [type, key] of pressure) if (findCondition(conds, type)?.status === 'True') out.push(keep(key, 'NoSchedule'));
    if (node.spec?.unschedulable === true) out.push(keep(TAINT_UNSCHEDULABLE, 'NoSchedule'));
    return out;
  };

  const syncTaints = (node: KObject, now: number): KObject => {
    const nowStr = rfc3339(now);
    const want = desiredTaints(node, nowStr);
    const cur: Taint[] = node.spec?.taints ?? [];
    const others = cur.filter((t) => !MANAGED_TAINT_KEYS.has(t.key));
    const managedCur = cur.filter((t) => MANAGED_TAINT_KEYS.has(t.key));
    const sameManaged =
      managedCur.length === want.length && want.every((w) => managedCur.some((c) => c.key === w.key && c.effect === w.effect && (w.effect !== 'NoExecute' || c.timeAdded === w.timeAdded)));
    if (sameManaged) return node;
    try {
      return registry.guaranteedUpdate(nodesRI, undefined, node.metadata.name!, (n) => {
        if (n.metadata.uid !== node.metadata.uid) throw new NotFoundError('nodes', node.metadata.name!);
        const fresh = desiredTaints(n, nowStr);
        const keepOthers = (n.spec?.taints ?? []).filter((t: Taint) => !MANAGED_TAINT_KEYS.has(t.key));
        const taints = [...keepOthers, ...fresh];
        n.spec = { ...(n.spec ?? {}), taints: taints.length ? taints : undefined };
        if (!taints.length) delete n.spec.taints;
        return n;
      });
    } catch (e) {
      if (e instanceof NotFoundError) return node;
      throw e;
    } finally {
      log.v(2, 'node taints', { node: node.metadata.name, taints: [...others, ...want].map((t) => `${t.key}:${t.effect}`) });
    }
  };

  /** Marks the node's health conditions Unknown; returns the updated node (or the same one). */
  const markUnknown = (node: KObject, h: NodeHealth, now: number): KObject => {
    const nowStr = rfc3339(now);
    try {
      return registry.guaranteedUpdate(
        nodesRI,
        undefined,
        node.metadata.name!,
        (n) => {
          if (n.metadata.uid !== node.metadata.uid) throw new NotFoundError('nodes', node.metadata.name!);
          const conds: Condition[] = [...(n.status?.conditions ?? [])];
          const ready = findCondition(conds, 'Ready');
          // The kubelet spoke in the meantime: leave its report alone.
          if (ready && (ready as { lastHeartbeatTime?: string }).lastHeartbeatTime !== h.readyHeartbeat) return n;
          if (!ready) {
            const since = n.metadata.creationTimestamp ?? nowStr;
            conds.push({ type: 'Ready', status: 'Unknown', reason: NEVER_REASON, message: NEVER_MESSAGE, lastHeartbeatTime: since, lastTransitionTime: nowStr } as Condition);
          }
          for (let i = 0; i < conds.length; i++) {
            const c = conds[i];
            if (!HEALTH_CONDITIONS.includes(c.type) || c.status === 'Unknown') continue;
            conds[i] = { ...c, status: 'Unknown', reason: UNKNOWN_REASON, message: UNKNOWN_MESSAGE, lastTransitionTime: nowStr };
          }
          n.status = { ...(n.status ?? {}), conditions: conds };
          return n;
        },
        { subresource: 'status' },
      );
    } catch (e) {
      if (e instanceof NotFoundError) return node;
      throw e;
    }
  };

  const markPodsNotReady = (node: KObject, now: number): void => {
    const nowStr = rfc3339(now);
    for (const p of podsOn(node.metadata.name!)) {
      if (isPodTerminal(p) || p.metadata.deletionTimestamp) continue;
      const ready = findCondition(p.status?.conditions, 'Ready');
      if (!ready || ready.status === 'False') continue;
      try {
        registry.guaranteedUpdate(
          podsRI,
          p.metadata.namespace,
          p.metadata.name!,
          (cur) => {
            if (cur.metadata.uid !== p.metadata.uid) throw new NotFoundError('pods', p.metadata.name!);
            const conds = (cur.status?.conditions ?? []).map((c: Condition) => (c.type === 'Ready' && c.status !== 'False' ? { ...c, status: 'False', lastTransitionTime: nowStr } : c));
            cur.status = { ...(cur.status ?? {}), conditions: conds };
            return cur;
          },
          { subresource: 'status' },
        );
        recorder.event(p, 'Warning', 'NodeNotReady', 'Node is not ready');
      } catch (e) {
        if (!(e instanceof NotFoundError)) throw e;
      }
    }
  };

  /** Taint-based eviction; returns the earliest future deadline, if any. */
  const evictPods = (node: KObject, now: number): number | undefined => {
    const noExecute: Taint[] = (node.spec?.taints ?? []).filter((t: Taint) => t.effect === 'NoExecute');
    if (!noExecute.length) return undefined;
    const lifecycle = (t: Taint) => t.key === TAINT_NOT_READY || t.key === TAINT_UNREACHABLE;
    const nodeGone = noExecute.some(lifecycle);
    let next: number | undefined;
    for (const p of podsOn(node.metadata.name!)) {
      if (isPodTerminal(p)) continue;
      if (p.metadata.deletionTimestamp && (!nodeGone || p.metadata.deletionGracePeriodSeconds === 0)) continue;
      const deadline = evictionDeadline(p, noExecute, now, (t) => (lifecycle(t) ? evictionTimeout : undefined));
      if (deadline === null) continue;
      if (deadline > now) {
        if (next === undefined || deadline < next) next = deadline;
        continue;
      }
      // Already being deleted on a dead node: the kubelet cannot finish it, force it.
      if (!p.metadata.deletionTimestamp) evictRecorder.event(p, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${p.metadata.namespace}/${p.metadata.name}`);
      try {
        registry.delete(podsRI, p.metadata.namespace, p.metadata.name!, { ...(nodeGone ? { gracePeriodSeconds: 0 } : {}), preconditions: { uid: p.metadata.uid } });
      } catch (e) {
        if (!(e instanceof NotFoundError) && !(e instanceof ApiError && e.code === 409)) throw e;
      }
    }
    return next;
  };

  const reconcile = (name: string): void => {
    let node = nodes.get(undefined, name);
    if (!node) {
      health.delete(name);
      requeue.forget(name);
      return;
    }
    const now = clock.now();
    const lease = leases.get(LEASE_NS, name);
    const leaseRenew: string | undefined = lease?.spec?.renewTime;
    const ready = findCondition(node.status?.conditions, 'Ready') as (Condition & { lastHeartbeatTime?: string }) | undefined;
    const readyHeartbeat = ready?.lastHeartbeatTime;
    let h = health.get(name);
    if (!h) {
      h = { probe: now, leaseRenew, readyHeartbeat, lastReady: ready?.status };
      health.set(name, h);
    } else if (h.leaseRenew !== leaseRenew || h.readyHeartbeat !== readyHeartbeat) {
      h.probe = now;
      h.leaseRenew = leaseRenew;
      h.readyHeartbeat = readyHeartbeat;
    }

    // 1. Health: a silent node becomes Unknown.
    const limit = h.probe + (ready ? grace : startupGrace);
    let wake: number | undefined;
    if (now >= limit) {
      const stale = !ready || HEALTH_CONDITIONS.some((t) => {
        const c = findCondition(node!.status?.conditions, t);
        return c !== undefined && c.status !== 'Unknown';
      });
      if (stale) {
        node = markUnknown(node, h, now);
        h.readyHeartbeat = (findCondition(node.status?.conditions, 'Ready') as { lastHeartbeatTime?: string } | undefined)?.lastHeartbeatTime;
      }
    } else {
      wake = limit;
    }

    // 2. Events and pods on Ready transitions.
    const readyNow = findCondition(node.status?.conditions, 'Ready')?.status;
    if (readyNow !== h.lastReady) {
      if (readyNow === 'True') recorder.event(node, 'Normal', 'NodeReady', `Node ${name} status is now: NodeReady`);
      else if (h.lastReady === 'True' || h.lastReady === undefined) recorder.event(node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
      h.lastReady = readyNow;
    }
    if (readyNow !== undefined && readyNow !== 'True') markPodsNotReady(node, now);

    // 3. Taints, then taint-based eviction.
    node = syncTaints(node, now);
    const next = evictPods(node, now);
    if (next !== undefined && (wake === undefined || next < wake)) wake = next;
    if (wake !== undefined) requeue.after(name, wake - now);
  };

  return new Controller({
    name: 'node-lifecycle-controller',
    log,
    clock,
    setup: (enqueue) => {
      requeue = new DelayedRequeue(clock, enqueue);
      nodes.addHandlers({
        onAdd: (n) => enqueue(n.metadata.name!),
        onUpdate: (o, n) => {
          if (!deepEqual(o.spec, n.spec) || !deepEqual(o.status?.conditions, n.status?.conditions)) enqueue(n.metadata.name!);
        },
        onDelete: (n) => enqueue(n.metadata.name!),
      });
      leases.addHandlers({
        onAdd: (l) => l.metadata.namespace === LEASE_NS && enqueue(l.metadata.name!),
        onUpdate: (_o, l) => l.metadata.namespace === LEASE_NS && enqueue(l.metadata.name!),
      });
      pods.addHandlers({
        onAdd: (p) => {
          indexPod(p, true);
          if (p.spec?.nodeName && hasNoExecute(nodes.get(undefined, p.spec.nodeName))) enqueue(p.spec.nodeName);
        },
        onUpdate: (o, p) => {
          if (o.spec?.nodeName !== p.spec?.nodeName) indexPod(o, false);
          indexPod(p, true);
          if (p.spec?.nodeName && hasNoExecute(nodes.get(undefined, p.spec.nodeName)) && !deepEqual(o.spec?.tolerations, p.spec?.tolerations)) enqueue(p.spec.nodeName);
          if (p.spec?.nodeName && !o.spec?.nodeName && hasNoExecute(nodes.get(undefined, p.spec.nodeName))) enqueue(p.spec.nodeName);
        },
        onDelete: (p) => indexPod(p, false),
      });
      nodes.start();
      leases.start();
      pods.start();
    },
    teardown: () => requeue?.stop(),
    reconcile,
  });
}
