import type { KObject, OwnerReference } from '../../api/types';

/**
 * Pod predicates and helpers shared by the workload controllers, following
 * `k8s.io/kubernetes/pkg/api/v1/pod` and `pkg/controller` (controller_utils.go).
 */

export interface PodCondition {
  type: string;
  status: string;
  lastTransitionTime?: string;
  [k: string]: unknown;
}

function conditions(pod: KObject): PodCondition[] {
  const c = pod.status?.conditions;
  return Array.isArray(c) ? c : [];
}

export function podReadyCondition(pod: KObject): PodCondition | undefined {
  return conditions(pod).find((c) => c.type === 'Ready');
}

/** Ready condition True (set by the kubelet). */
export function isPodReady(pod: KObject): boolean {
  return podReadyCondition(pod)?.status === 'True';
}

function timeMs(t: unknown): number | undefined {
  if (typeof t !== 'string' || !t) return undefined;
  const v = Date.parse(t);
  return Number.isNaN(v) ? undefined : v;
}

/**
 * `podutil.IsPodAvailable`: ready, and (with minReadySeconds > 0) ready for longer than that —
 * the Ready condition's lastTransitionTime plus minReadySeconds lies before `nowMs`.
 */
export function isPodAvailable(pod: KObject, minReadySeconds: number | undefined, nowMs: number): boolean {
  if (!isPodReady(pod)) return false;
  const mrs = minReadySeconds ?? 0;
  if (mrs <= 0) return true;
  const t = timeMs(podReadyCondition(pod)?.lastTransitionTime);
  return t !== undefined && t + mrs * 1000 < nowMs;
}

/**
 * For a pod that is ready but not yet available: milliseconds until it becomes available
 * (at least 1). undefined when the pod is not ready or already available.
 */
export function msUntilAvailable(pod: KObject, minReadySeconds: number | undefined, nowMs: number): number | undefined {
  const mrs = minReadySeconds ?? 0;
  if (mrs <= 0 || !isPodReady(pod) || isPodAvailable(pod, mrs, nowMs)) return undefined;
  const t = timeMs(podReadyCondition(pod)?.lastTransitionTime);
  if (t === undefined) return undefined;
  return Math.max(1, t + mrs * 1000 - nowMs + 1);
}

/** The smallest msUntilAvailable over the pods, for a controller's requeueAfter. */
export function nextAvailabilityCheckMs(pods: KObject[], minReadySeconds: number | undefined, nowMs: number): number | undefined {
  let best: number | undefined;
  for (const p of pods) {
    const ms = msUntilAvailable(p, minReadySeconds, nowMs);
    if (ms !== undefined && (best === undefined || ms < best)) best = ms;
  }
  return best;
}

export function isPodTerminating(pod: KObject): boolean {
  return !!pod.metadata.deletionTimestamp;
}

/** `controller.IsPodActive`: not Succeeded/Failed and not being deleted. */
export function isPodActive(pod: KObject): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}

/** Running with the Ready condition True. */
export function isRunningAndReady(pod: KObject): boolean {
  return pod.status?.phase === 'Running' && isPodReady(pod);
}

/**
 * `controller.GetPodFromTemplate`: a pod to create for `parent` from a pod template — labels,
 * annotations and finalizers from the template metadata, generateName `<parent>-`, the
 * controllerRef, and a copy of the template spec.
 */
export function podFromTemplate(template: KObject['spec'], parentName: string, controllerRef?: OwnerReference): KObject {
  const tm = template?.metadata ?? {};
  const pod: KObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${parentName}-`,
      ...(tm.labels ? { labels: { ...tm.labels } } : {}),
      ...(tm.annotations ? { annotations: { ...tm.annotations } } : {}),
      ...(tm.finalizers ? { finalizers: [...tm.finalizers] } : {}),
    },
    spec: JSON.parse(JSON.stringify(template?.spec ?? {})),
  };
  if (controllerRef) pod.metadata.ownerReferences = [{ ...controllerRef }];
  return pod;
}

const PHASE_ORDINAL: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };
export const POD_DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';

function deletionCost(p: KObject): number {
  const v = p.metadata.annotations?.[POD_DELETION_COST_ANNOTATION];
  if (v === undefined) return 0;
  const n = Number(v);
  return Number.isInteger(n) ? n : 0;
}

function maxRestarts(p: KObject): number {
  let m = 0;
  for (const cs of p.status?.containerStatuses ?? []) m = Math.max(m, Number(cs?.restartCount ?? 0));
  return m;
}

/** true when t1 is after t2, or t1 is unset and t2 set (`afterOrZero`). */
function afterOrZero(t1: number | undefined, t2: number | undefined): boolean {
  if (t1 === undefined || t2 === undefined) return t1 === undefined;
  return t1 > t2;
}

/**
 * Orders pods so that the ones to delete first come first (`controller.ActivePodsWithRanks`):
 * unscheduled before scheduled; Pending before Unknown before Running; not ready before ready;
 * lower pod-deletion-cost first; more related pods on the same node (higher rank) first; the
 * more recently ready first; more container restarts first; newer before older.
 */
export function comparePodsForDeletion(a: KObject, b: KObject, rankA: number, rankB: number): number {
  const na = a.spec?.nodeName ?? '';
  const nb = b.spec?.nodeName ?? '';
  if (na !== nb && (na === '' || nb === '')) return na === '' ? -1 : 1;
  const pa = PHASE_ORDINAL[a.status?.phase] ?? 0;
  const pb = PHASE_ORDINAL[b.status?.phase] ?? 0;
  if (pa !== pb) return pa - pb;
  const ra = isPodReady(a);
  const rb = isPodReady(b);
  if (ra !== rb) return ra ? 1 : -1;
  const ca = deletionCost(a);
  const cb = deletionCost(b);
  if (ca !== cb) return ca - cb;
  if (rankA !== rankB) return rankB - rankA;
  if (ra && rb) {
    const ta = timeMs(podReadyCondition(a)?.lastTransitionTime);
    const tb = timeMs(podReadyCondition(b)?.lastTransitionTime);
    if (ta !== tb) return afterOrZero(ta, tb) ? -1 : 1;
  }
  const xa = maxRestarts(a);
  const xb = maxRestarts(b);
  if (xa !== xb) return xb - xa;
  const cta = timeMs(a.metadata.creationTimestamp);
  const ctb = timeMs(b.metadata.creationTimestamp);
  if (cta !== ctb) return afterOrZero(cta, ctb) ? -1 : 1;
  return 0;
}

/**
 * The `n` pods to delete on scale-down (`getPodsToDelete`). `related` are the active pods of the
 * same workload (this ReplicaSet's and its siblings under the same Deployment): a pod's rank is
 * how many of them share its node, so doubled-up nodes are thinned first.
 */
export function podsToDelete(pods: KObject[], related: KObject[], n: number): KObject[] {
  if (n <= 0) return [];
  const perNode = new Map<string, number>();
  for (const p of related) {
    const node = p.spec?.nodeName;
    if (node && isPodActive(p)) perNode.set(node, (perNode.get(node) ?? 0) + 1);
  }
  const rank = (p: KObject) => (p.spec?.nodeName ? (perNode.get(p.spec.nodeName) ?? 0) : 0);
  const ranked = pods.map((p) => ({ p, r: rank(p) }));
  ranked.sort((x, y) => comparePodsForDeletion(x.p, y.p, x.r, y.r));
  return ranked.slice(0, n).map((x) => x.p);
}

/** Sorts by creationTimestamp, then name (oldest first). */
export function byCreation(a: KObject, b: KObject): number {
  const ta = timeMs(a.metadata.creationTimestamp) ?? 0;
  const tb = timeMs(b.metadata.creationTimestamp) ?? 0;
  if (ta !== tb) return ta - tb;
  const na = a.metadata.name ?? '';
  const nb = b.metadata.name ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
