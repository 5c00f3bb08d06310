import type { KObject } from '../../api/types';
import { scaledValueFromIntOrPercent } from '../util/int-or-percent';
import { byCreation, rfc3339 } from '../util/pod';
import { semanticEqual, semanticNormalize } from '../util/semantic';

/**
 * Pure Deployment logic, following Kubernetes' pkg/controller/deployment/util: rolling-update
 * arithmetic (maxSurge/maxUnavailable fenceposts, proportional scaling), revision and replica
 * annotations, new/old ReplicaSet selection and the status and conditions. No I/O here; the
 * controller (deployment-controller.ts) applies the results.
 */

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';
export const ROLLBACK_TO_ANNOTATION = 'deprecated.deployment.rollback.to';
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';
export const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause';
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
/** Longest `revision-history` annotation kept (Kubernetes' default MaxRevHistoryLengthInChars). */
export const MAX_REV_HISTORY_LENGTH = 2000;

// Condition types and reasons (apps/v1 and deployment util).
export const PROGRESSING = 'Progressing';
export const AVAILABLE = 'Available';
export const REPLICA_FAILURE = 'ReplicaFailure';
export const REASON = {
  replicaSetUpdated: 'ReplicaSetUpdated',
  failedRSCreate: 'ReplicaSetCreateError',
  newReplicaSet: 'NewReplicaSetCreated',
  foundNewRS: 'FoundNewReplicaSet',
  newRSAvailable: 'NewReplicaSetAvailable',
  timedOut: 'ProgressDeadlineExceeded',
  paused: 'DeploymentPaused',
  resumed: 'DeploymentResumed',
  minimumReplicasAvailable: 'MinimumReplicasAvailable',
  minimumReplicasUnavailable: 'MinimumReplicasUnavailable',
} as const;

export interface DeploymentCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastUpdateTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  conditions?: DeploymentCondition[];
  collisionCount?: number;
}

// ---- replica counts -------------------------------------------------------------------------------

/** spec.replicas with the API default (1). */
export function specReplicas(o: KObject | undefined): number {
  const r = o?.spec?.replicas;
  return typeof r === 'number' ? r : 1;
}

function statusField(rs: KObject, f: string): number {
  const v = rs.status?.[f];
  return typeof v === 'number' ? v : 0;
}

type MaybeRS = KObject | undefined | null;
const present = (l: MaybeRS[]): KObject[] => l.filter((x): x is KObject => !!x);

/** Sum of spec.replicas. */
export function replicaCount(rss: MaybeRS[]): number {
  return present(rss).reduce((n, rs) => n + specReplicas(rs), 0);
}
/** Sum of status.replicas. */
export function actualReplicaCount(rss: MaybeRS[]): number {
  return present(rss).reduce((n, rs) => n + statusField(rs, 'replicas'), 0);
}
export function readyReplicaCount(rss: MaybeRS[]): number {
  return present(rss).reduce((n, rs) => n + statusField(rs, 'readyReplicas'), 0);
}
export function availableReplicaCount(rss: MaybeRS[]): number {
  return present(rss).reduce((n, rs) => n + statusField(rs, 'availableReplicas'), 0);
}

/** ReplicaSets with spec.replicas > 0. */
export function filterActiveReplicaSets(rss: MaybeRS[]): KObject[] {
  return present(rss).filter((rs) => specReplicas(rs) > 0);
}

// ---- strategy arithmetic ---------------------------------------------------------------------------

export function isRollingUpdate(d: KObject): boolean {
  return (d.spec?.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
}

/**
 * `ResolveFenceposts`: maxSurge rounded up, maxUnavailable rounded down, both against the desired
 * replicas; when both resolve to 0, maxUnavailable becomes 1 so a rollout can make progress.
 */
export function resolveFenceposts(maxSurge: number | string | undefined, maxUnavailable: number | string | undefined, desired: number): { surge: number; unavailable: number } {
  const surge = scaledValueFromIntOrPercent(maxSurge ?? '25%', desired, true);
  let unavailable = scaledValueFromIntOrPercent(maxUnavailable ?? '25%', desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

/** How many pods may exist above the desired count during a rolling update (0 for Recreate). */
export function maxSurge(d: KObject): number {
  if (!isRollingUpdate(d)) return 0;
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  return resolveFenceposts(ru.maxSurge, ru.maxUnavailable, specReplicas(d)).surge;
}

/** How many pods may be unavailable during a rolling update, never more than the desired count. */
export function maxUnavailable(d: KObject): number {
  const desired = specReplicas(d);
  if (!isRollingUpdate(d) || desired === 0) return 0;
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  const { unavailable } = resolveFenceposts(ru.maxSurge, ru.maxUnavailable, desired);
  return Math.min(unavailable, desired);
}

/**
 * `NewRSNewReplicas`: the size the new ReplicaSet may grow to now. RollingUpdate: up to
 * `replicas + maxSurge` pods in total, never above `replicas`; Recreate: `replicas`.
 */
export function newRSNewReplicas(d: KObject, allRSs: MaybeRS[], newRS: KObject): number {
  const desired = specReplicas(d);
  if (!isRollingUpdate(d)) return desired;
  const current = replicaCount(allRSs);
  const maxTotal = desired + maxSurge(d);
  if (current >= maxTotal) return specReplicas(newRS);
  const scaleUp = Math.min(maxTotal - current, desired - specReplicas(newRS));
  return specReplicas(newRS) + scaleUp;
}

function intAnnotation(o: KObject, key: string): number | undefined {
  const v = o.metadata.annotations?.[key];
  if (v === undefined || !/^-?\d+$/.test(v)) return undefined;
  return Number(v);
}

/** True when the new ReplicaSet is fully scaled up and available (`IsSaturated`). */
export function isSaturated(d: KObject, rs: MaybeRS): boolean {
  if (!rs) return false;
  const desired = intAnnotation(rs, DESIRED_REPLICAS_ANNOTATION);
  return specReplicas(rs) === specReplicas(d) && desired === specReplicas(d) && statusField(rs, 'availableReplicas') === specReplicas(d);
}

/** `getReplicaSetFraction`: this ReplicaSet's share of a proportional scale. */
function replicaSetFraction(rs: KObject, d: KObject): number {
  if (specReplicas(d) === 0) return -specReplicas(rs);
  const deploymentReplicas = specReplicas(d) + maxSurge(d);
  let annotated = intAnnotation(rs, MAX_REPLICAS_ANNOTATION);
  if (annotated === undefined) annotated = d.status?.replicas ?? 0;
  if (!annotated) return 0;
  const newSize = (specReplicas(rs) * deploymentReplicas) / annotated;
  // Go's math.Round: half away from zero.
  const rounded = Math.sign(newSize) * Math.round(Math.abs(newSize));
  return rounded - specReplicas(rs);
}

/**
 * `GetProportion`: how many replicas to add to (or remove from) `rs` when a Deployment is scaled
 * in the middle of a rollout, bounded by what is left to distribute.
 */
export function getProportion(rs: MaybeRS, d: KObject, toAdd: number, added: number): number {
  if (!rs || specReplicas(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const fraction = replicaSetFraction(rs, d);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

/**
 * Proportional scaling (`scale` for RollingUpdate with several active ReplicaSets): the new size
 * of every active ReplicaSet so that together they reach `replicas + maxSurge`; ReplicaSets are
 * served largest first (newer first when growing, older first when shrinking); the rounding
 * leftover goes to the first.
 */
export function proportionalScale(d: KObject, activeRSs: KObject[]): Map<string, number> {
  const all = [...activeRSs];
  const allowedSize = specReplicas(d) > 0 ? specReplicas(d) + maxSurge(d) : 0;
  const toAdd = allowedSize - replicaCount(all);
  if (toAdd > 0) all.sort(bySizeNewer);
  else if (toAdd < 0) all.sort(bySizeOlder);
  const sizes = new Map<string, number>();
  let added = 0;
  for (const rs of all) {
    if (toAdd !== 0) {
      const p = getProportion(rs, d, toAdd, added);
      sizes.set(rs.metadata.name!, specReplicas(rs) + p);
      added += p;
    } else sizes.set(rs.metadata.name!, specReplicas(rs));
  }
  const leftover = toAdd - added;
  if (leftover !== 0 && all.length) {
    const first = all[0].metadata.name!;
    sizes.set(first, Math.max(0, sizes.get(first)! + leftover));
  }
  return sizes;
}

// ---- sorting ---------------------------------------------------------------------------------------

function ts(o: KObject): number {
  const v = Date.parse(o.metadata.creationTimestamp ?? '');
  return Number.isNaN(v) ? 0 : v;
}

/** Oldest first, ties by name (`ReplicaSetsByCreationTimestamp`). */
export const byCreationOldest = byCreation;

/** Larger first; ties: older first (`ReplicaSetsBySizeOlder`). */
export function bySizeOlder(a: KObject, b: KObject): number {
  if (specReplicas(a) !== specReplicas(b)) return specReplicas(b) - specReplicas(a);
  return byCreation(a, b);
}

/** Larger first; ties: newer first (`ReplicaSetsBySizeNewer`). */
export function bySizeNewer(a: KObject, b: KObject): number {
  if (specReplicas(a) !== specReplicas(b)) return specReplicas(b) - specReplicas(a);
  return byCreation(b, a);
}

/** Lower revision first; ties by creation (`ReplicaSetsByRevision`). */
export function byRevision(a: KObject, b: KObject): number {
  const ra = revisionOf(a);
  const rb = revisionOf(b);
  if (ra !== rb) return ra - rb;
  return ts(a) - ts(b) || byCreation(a, b);
}

// ---- revisions and templates ------------------------------------------------------------------------

/** The revision annotation as a number (0 when absent or not a number). */
export function revisionOf(o: KObject): number {
  return intAnnotation(o, REVISION_ANNOTATION) ?? 0;
}

export function maxRevision(rss: MaybeRS[]): number {
  return present(rss).reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
}

function withoutHashLabel(t: KObject['spec']): unknown {
  const c = JSON.parse(JSON.stringify(t ?? {}));
  if (c.metadata?.labels) {
    delete c.metadata.labels[POD_TEMPLATE_HASH_LABEL];
    if (!Object.keys(c.metadata.labels).length) delete c.metadata.labels;
  }
  if (c.metadata && !Object.keys(c.metadata).length) delete c.metadata;
  return c;
}

/**
 * Pod templates semantically equal apart from the pod-template-hash label (`EqualIgnoreHash`);
 * see util/semantic.ts for what "semantically" covers.
 */
export function equalIgnoreHash(t1: KObject['spec'], t2: KObject['spec']): boolean {
  return semanticEqual(withoutHashLabel(t1), withoutHashLabel(t2));
}

/** The pod-template-hash of a Deployment template: computeHash of its semantic form. */
export function podTemplateHashInput(template: KObject['spec']): unknown {
  return semanticNormalize(template ?? {});
}

/** The oldest ReplicaSet whose template equals the Deployment's, if any (`FindNewReplicaSet`). */
export function findNewReplicaSet(d: KObject, rsList: KObject[]): KObject | undefined {
  return [...rsList].sort(byCreation).find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
}

/** Every ReplicaSet but the new one. */
export function findOldReplicaSets(rsList: KObject[], newRS: MaybeRS): KObject[] {
  return rsList.filter((rs) => !newRS || rs.metadata.uid !== newRS.metadata.uid);
}

/** Annotations a Deployment never copies to its ReplicaSets (`skipCopyAnnotation`). */
export const SKIP_COPY_ANNOTATIONS = new Set([LAST_APPLIED_ANNOTATION, REVISION_ANNOTATION, REVISION_HISTORY_ANNOTATION, DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION, ROLLBACK_TO_ANNOTATION]);

/** Copies the Deployment's annotations (but the skipped ones) onto the ReplicaSet. */
export function copyDeploymentAnnotationsToReplicaSet(d: KObject, rs: KObject): boolean {
  let changed = false;
  const ann = (rs.metadata.annotations ??= {});
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (SKIP_COPY_ANNOTATIONS.has(k) || ann[k] === v) continue;
    ann[k] = v;
    changed = true;
  }
  return changed;
}

/** Sets desired-replicas and max-replicas; true when something changed. */
export function setReplicasAnnotations(rs: KObject, desired: number, max: number): boolean {
  const ann = (rs.metadata.annotations ??= {});
  let changed = false;
  if (ann[DESIRED_REPLICAS_ANNOTATION] !== String(desired)) {
    ann[DESIRED_REPLICAS_ANNOTATION] = String(desired);
    changed = true;
  }
  if (ann[MAX_REPLICAS_ANNOTATION] !== String(max)) {
    ann[MAX_REPLICAS_ANNOTATION] = String(max);
    changed = true;
  }
  return changed;
}

export function replicasAnnotationsNeedUpdate(rs: KObject, desired: number, max: number): boolean {
  const ann = rs.metadata.annotations ?? {};
  return ann[DESIRED_REPLICAS_ANNOTATION] !== String(desired) || ann[MAX_REPLICAS_ANNOTATION] !== String(max);
}

/**
 * `SetNewReplicaSetAnnotations`: copies the Deployment's annotations, raises the revision to
 * `newRevision` when lower (remembering a superseded revision in revision-history, as happens on
 * rollback), and for a ReplicaSet about to be created sets desired/max replicas. Mutates `rs`;
 * true when annotations changed.
 */
export function setNewReplicaSetAnnotations(d: KObject, rs: KObject, newRevision: number, exists: boolean, historyLimitChars = MAX_REV_HISTORY_LENGTH): boolean {
  let changed = copyDeploymentAnnotationsToReplicaSet(d, rs);
  const ann = (rs.metadata.annotations ??= {});
  const oldRevision = ann[REVISION_ANNOTATION];
  const had = oldRevision !== undefined;
  let oldRev = 0;
  if (had && oldRevision !== '') {
    if (!/^-?\d+$/.test(oldRevision)) return false;
    oldRev = Number(oldRevision);
  }
  if (oldRev < newRevision) {
    ann[REVISION_ANNOTATION] = String(newRevision);
    changed = true;
  }
  if (had && oldRev < newRevision) {
    const hist = ann[REVISION_HISTORY_ANNOTATION] ?? '';
    let olds = hist.split(',');
    if (olds[0].length === 0) ann[REVISION_HISTORY_ANNOTATION] = oldRevision;
    else {
      let total = hist.length + oldRevision.length + 1;
      let start = 0;
      while (total > historyLimitChars && start < olds.length) {
        total -= olds[start].length + 1;
        start++;
      }
      if (total <= historyLimitChars) {
        olds = [...olds.slice(start), oldRevision];
        ann[REVISION_HISTORY_ANNOTATION] = olds.join(',');
      }
    }
  }
  if (!exists && setReplicasAnnotations(rs, specReplicas(d), specReplicas(d) + maxSurge(d))) changed = true;
  return changed;
}

/** Sets the Deployment's revision annotation; true when it changed. */
export function setDeploymentRevision(d: KObject, revision: number): boolean {
  const ann = (d.metadata.annotations ??= {});
  if (ann[REVISION_ANNOTATION] === String(revision)) return false;
  ann[REVISION_ANNOTATION] = String(revision);
  return true;
}

/** The RS template for a Deployment: its template plus the pod-template-hash label. */
export function newReplicaSetTemplate(d: KObject, hash: string): KObject['spec'] {
  const t = JSON.parse(JSON.stringify(d.spec?.template ?? {}));
  t.metadata = t.metadata ?? {};
  t.metadata.labels = { ...(t.metadata.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
  return t;
}

/** The Deployment selector plus `pod-template-hash: <hash>` in matchLabels. */
export function selectorWithHash(selector: KObject['spec'], hash: string): KObject['spec'] {
  const s = JSON.parse(JSON.stringify(selector ?? {}));
  s.matchLabels = { ...(s.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
  return s;
}

// ---- conditions ---------------------------------------------------------------------------------------

export function getCondition(status: DeploymentStatus | undefined, type: string): DeploymentCondition | undefined {
  return (status?.conditions ?? []).find((c) => c.type === type);
}

export function newCondition(type: string, status: DeploymentCondition['status'], reason: string, message: string, nowMs: number): DeploymentCondition {
  const t = rfc3339(nowMs);
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

/**
 * `SetDeploymentCondition`: no change when status and reason are the same; keeps
 * lastTransitionTime when only the reason changes; the condition moves to the end of the list.
 */
export function setCondition(status: DeploymentStatus, cond: DeploymentCondition): void {
  const cur = getCondition(status, cond.type);
  if (cur && cur.status === cond.status && cur.reason === cond.reason) return;
  const c = { ...cond };
  if (cur && cur.status === c.status) c.lastTransitionTime = cur.lastTransitionTime;
  status.conditions = [...(status.conditions ?? []).filter((x) => x.type !== cond.type), c];
}

export function removeCondition(status: DeploymentStatus, type: string): void {
  if (!status.conditions) return;
  status.conditions = status.conditions.filter((c) => c.type !== type);
  if (!status.conditions.length) delete status.conditions;
}

export function hasProgressDeadline(d: KObject): boolean {
  const p = d.spec?.progressDeadlineSeconds;
  return typeof p === 'number' && p !== 2147483647;
}

// ---- status -------------------------------------------------------------------------------------------

/** `calculateStatus`: counts from the ReplicaSets plus the Available condition. */
export function calculateStatus(allRSs: MaybeRS[], newRS: MaybeRS, d: KObject, nowMs: number): DeploymentStatus {
  const available = availableReplicaCount(allRSs);
  const total = replicaCount(allRSs);
  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation ?? 0,
    replicas: actualReplicaCount(allRSs),
    updatedReplicas: actualReplicaCount([newRS]),
    readyReplicas: readyReplicaCount(allRSs),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, total - available),
    conditions: (d.status?.conditions ?? []).map((c: DeploymentCondition) => ({ ...c })),
    collisionCount: d.status?.collisionCount,
  };
  if (available >= specReplicas(d) - maxUnavailable(d)) {
    setCondition(status, newCondition(AVAILABLE, 'True', REASON.minimumReplicasAvailable, 'Deployment has minimum availability.', nowMs));
  } else {
    setCondition(status, newCondition(AVAILABLE, 'False', REASON.minimumReplicasUnavailable, 'Deployment does not have minimum availability.', nowMs));
  }
  return status;
}

/** Every desired replica updated and available, and the spec observed (`DeploymentComplete`). */
export function deploymentComplete(d: KObject, s: DeploymentStatus): boolean {
  const n = specReplicas(d);
  return (s.updatedReplicas ?? 0) === n && (s.replicas ?? 0) === n && (s.availableReplicas ?? 0) === n && (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
}

/** Progress since the last status: more updated/ready/available pods or fewer old ones. */
export function deploymentProgressing(d: KObject, s: DeploymentStatus): boolean {
  const old: DeploymentStatus = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (s.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) || newOld < oldOld || (s.readyReplicas ?? 0) > (old.readyReplicas ?? 0) || (s.availableReplicas ?? 0) > (old.availableReplicas ?? 0);
}

/** No progress for progressDeadlineSeconds since the Progressing condition's lastUpdateTime. */
export function deploymentTimedOut(d: KObject, s: DeploymentStatus, nowMs: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const c = getCondition(s, PROGRESSING);
  if (!c) return false;
  if (c.reason === REASON.newRSAvailable) return false;
  if (c.reason === REASON.timedOut) return true;
  const from = Date.parse(c.lastUpdateTime ?? '');
  if (Number.isNaN(from)) return false;
  return from + d.spec.progressDeadlineSeconds * 1000 < nowMs;
}

/**
 * Milliseconds until a progressing Deployment would time out (`requeueStuckDeployment`), or
 * undefined when no deadline applies.
 */
export function msUntilProgressDeadline(d: KObject, s: DeploymentStatus, nowMs: number): number | undefined {
  const c = getCondition(s, PROGRESSING);
  if (!hasProgressDeadline(d) || !c) return undefined;
  if (deploymentComplete(d, s) || c.reason === REASON.timedOut) return undefined;
  const from = Date.parse(c.lastUpdateTime ?? '');
  if (Number.isNaN(from)) return undefined;
  const after = from + d.spec.progressDeadlineSeconds * 1000 - nowMs;
  return after < 1000 ? 1000 : after + 1000;
}

/** Drops zero-valued fields like Go's omitempty does for DeploymentStatus. */
export function serializeStatus(s: DeploymentStatus): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (v === undefined || v === null || v === 0) continue;
    if (Array.isArray(v) && !v.length) continue;
    out[k] = v;
  }
  return out;
}

/**
 * `FindActiveOrLatest`: the only active ReplicaSet, or (none active) the new one or the newest
 * old one; undefined when several are active.
 */
export function findActiveOrLatest(newRS: MaybeRS, oldRSs: KObject[]): KObject | undefined {
  if (!newRS && !oldRSs.length) return undefined;
  const olds = [...oldRSs].sort((a, b) => byCreation(b, a));
  const active = filterActiveReplicaSets([...olds, newRS]);
  if (active.length === 0) return newRS ?? olds[0];
  if (active.length === 1) return active[0];
  return undefined;
}

// ---- rolling update planning --------------------------------------------------------------------------

/** One ReplicaSet resize decided by a planner. */
export interface ScaleStep {
  name: string;
  from: number;
  to: number;
}

/**
 * `reconcileNewReplicaSet`: the new ReplicaSet's next size, or undefined when it is right. A new
 * ReplicaSet above the desired count shrinks to it; below, it grows by what maxSurge allows.
 */
export function planNewReplicaSetScale(d: KObject, allRSs: MaybeRS[], newRS: KObject): number | undefined {
  const cur = specReplicas(newRS);
  if (cur === specReplicas(d)) return undefined;
  if (cur > specReplicas(d)) return specReplicas(d);
  const next = newRSNewReplicas(d, allRSs, newRS);
  return next === cur ? undefined : next;
}

/**
 * `reconcileOldReplicaSets`: how far old ReplicaSets may shrink now. At most
 * `allPods - (replicas - maxUnavailable) - unavailable pods of the new ReplicaSet` go: first
 * the unavailable replicas of old ReplicaSets (`cleanupUnhealthyReplicas`, oldest first), then
 * available ones while more than `replicas - maxUnavailable` pods stay available
 * (`scaleDownOldReplicaSetsForRollingUpdate`, oldest first). `oldRSs` are the active old ones.
 */
export function planOldReplicaSetsScaleDown(d: KObject, allRSs: MaybeRS[], oldRSs: KObject[], newRS: KObject): ScaleStep[] {
  const steps: ScaleStep[] = [];
  if (replicaCount(oldRSs) === 0) return steps;
  const minAvailable = specReplicas(d) - maxUnavailable(d);
  const newRSUnavailable = specReplicas(newRS) - statusField(newRS, 'availableReplicas');
  const maxScaledDown = replicaCount(allRSs) - minAvailable - newRSUnavailable;
  if (maxScaledDown <= 0) return steps;

  // Work on copies so the second phase sees the first phase's sizes.
  const olds = [...oldRSs].sort(byCreation).map((rs) => ({ rs, size: specReplicas(rs) }));
  let cleaned = 0;
  for (const o of olds) {
    if (cleaned >= maxScaledDown) break;
    const available = statusField(o.rs, 'availableReplicas');
    if (o.size === 0 || o.size === available) continue;
    const n = Math.min(maxScaledDown - cleaned, o.size - available);
    steps.push({ name: o.rs.metadata.name!, from: o.size, to: o.size - n });
    o.size -= n;
    cleaned += n;
  }
  const availablePods = availableReplicaCount([...oldRSs, newRS]);
  if (availablePods <= minAvailable) return steps;
  const totalScaleDown = availablePods - minAvailable;
  let scaled = 0;
  for (const o of olds) {
    if (scaled >= totalScaleDown) break;
    if (o.size === 0) continue;
    const n = Math.min(o.size, totalScaleDown - scaled);
    steps.push({ name: o.rs.metadata.name!, from: o.size, to: o.size - n });
    o.size -= n;
    scaled += n;
  }
  return steps;
}
