import type { KObject, OwnerReference } from '../../api/types';

/**
 * Pure helpers of the Job controller (and of the CronJob controller, which reads Job
 * conditions): conditions, the pod-failure back-off, completed-index sets and pod ordering.
 */

export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
export const JOB_COMPLETION_INDEX = 'batch.kubernetes.io/job-completion-index';
export const JOB_COMPLETION_INDEX_ENV = 'JOB_COMPLETION_INDEX';

/** RFC 3339 at second precision, as metav1.Time serialises. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function parseTime(s: unknown): number | undefined {
  if (typeof s !== 'string') return undefined;
  const v = Date.parse(s);
  return Number.isNaN(v) ? undefined : v;
}

export function controllerRef(o: KObject): OwnerReference | undefined {
  return (o.metadata.ownerReferences ?? []).find((r) => r.controller === true);
}

// ---- conditions -----------------------------------------------------------------------------

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastProbeTime?: string | null;
  lastTransitionTime?: string;
}

export function findCondition(conds: Condition[] | undefined, type: string): Condition | undefined {
  return (conds ?? []).find((c) => c.type === type);
}

export function conditionTrue(conds: Condition[] | undefined, type: string): boolean {
  return findCondition(conds, type)?.status === 'True';
}

/** The Job's terminal condition (Complete or Failed with status True), if any. */
export function finishedCondition(job: KObject): Condition | undefined {
  return (job.status?.conditions ?? []).find((c: Condition) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

export function isJobFinished(job: KObject): boolean {
  return finishedCondition(job) !== undefined;
}

/**
 * Kubernetes' `ensureJobConditionStatus`: updates an existing condition of `type` when its
 * status differs, appends it when absent and `status` is True, else leaves the list alone.
 * Returns the new list and whether it changed.
 */
export function ensureConditionStatus(conds: Condition[], type: string, status: Condition['status'], reason: string, message: string, now: string): [Condition[], boolean] {
  const i = conds.findIndex((c) => c.type === type);
  if (i >= 0) {
    const c = conds[i];
    if (c.status === status) return [conds, false];
    const out = [...conds];
    out[i] = { ...c, status, reason, message, lastProbeTime: now, lastTransitionTime: now };
    return [out, true];
  }
  if (status !== 'True') return [conds, false];
  return [[...conds, { type, status, reason, message, lastProbeTime: now, lastTransitionTime: now }], true];
}

// ---- pod-failure back-off -------------------------------------------------------------------

/** Failures since the last success and when the latest one happened (ms). */
export interface BackoffRecord {
  failuresAfterLastSuccess: number;
  lastFailureTime?: number;
}

/**
 * Folds newly finished pods (any order) into the record: a success resets the failure count, a
 * failure increments it and moves `lastFailureTime` forward.
 */
export function updateBackoffRecord(rec: BackoffRecord, finished: { succeeded: boolean; at: number }[]): BackoffRecord {
  const out = { ...rec };
  // On a tie a success wins (a failure must finish strictly after the last success to count).
  for (const f of [...finished].sort((a, b) => a.at - b.at || (a.succeeded ? 1 : 0) - (b.succeeded ? 1 : 0))) {
    if (f.succeeded) {
      out.failuresAfterLastSuccess = 0;
    } else {
      out.failuresAfterLastSuccess++;
      out.lastFailureTime = Math.max(out.lastFailureTime ?? f.at, f.at);
    }
  }
  return out;
}

/** The back-off after `failures` consecutive failures: base × 2^(n-1), capped (0 for none). */
export function backoffDuration(failures: number, baseMs: number, maxMs: number): number {
  if (failures <= 0) return 0;
  let d = baseMs;
  for (let i = 1; i < failures; i++) {
    d *= 2;
    if (d >= maxMs) return maxMs;
  }
  return Math.min(d, maxMs);
}

/** Milliseconds until a replacement pod may be created (0 = now). */
export function backoffRemaining(rec: BackoffRecord, now: number, baseMs: number, maxMs: number): number {
  if (rec.failuresAfterLastSuccess <= 0 || rec.lastFailureTime === undefined) return 0;
  const d = backoffDuration(rec.failuresAfterLastSuccess, baseMs, maxMs);
  const elapsed = now - rec.lastFailureTime;
  return elapsed >= d ? 0 : d - elapsed;
}

// ---- completed indexes ----------------------------------------------------------------------

/** Parses `status.completedIndexes` ("1,3-5,7"); ignores malformed parts and indexes >= limit. */
export function parseIndexes(s: unknown, limit = Infinity): Set<number> {
  const out = new Set<number>();
  if (typeof s !== 'string' || s === '') return out;
  for (const part of s.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    for (let i = a; i <= b && i < limit; i++) out.add(i);
  }
  return out;
}

/** Formats an index set as ordered, compressed ranges ("1,3-5,7"). */
export function formatIndexes(set: Iterable<number>): string {
  const xs = [...new Set(set)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j] + 1) j++;
    parts.push(j === i ? String(xs[i]) : j === i + 1 ? `${xs[i]},${xs[j]}` : `${xs[i]}-${xs[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

// ---- pods -------------------------------------------------------------------------------------

export function podPhase(p: KObject): string | undefined {
  return p.status?.phase;
}

export function isPodTerminal(p: KObject): boolean {
  const ph = podPhase(p);
  return ph === 'Succeeded' || ph === 'Failed';
}

export function isPodReady(p: KObject): boolean {
  return conditionTrue(p.status?.conditions, 'Ready');
}

/** Active = neither terminal nor being deleted. */
export function isPodActive(p: KObject): boolean {
  return !isPodTerminal(p) && !p.metadata.deletionTimestamp;
}

/** The pod's completion index from its annotation (or label), or undefined when absent/invalid. */
export function completionIndex(p: KObject): number | undefined {
  const v = p.metadata.annotations?.[JOB_COMPLETION_INDEX] ?? p.metadata.labels?.[JOB_COMPLETION_INDEX];
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

/** When the pod finished: the latest container finishedAt, else its deletion time, else `now`. */
export function podFinishTime(p: KObject, now: number): number {
  let latest: number | undefined;
  for (const k of ['containerStatuses', 'initContainerStatuses']) {
    for (const cs of p.status?.[k] ?? []) {
      const t = parseTime(cs?.state?.terminated?.finishedAt);
      if (t !== undefined && (latest === undefined || t > latest)) latest = t;
    }
  }
  if (latest !== undefined) return latest;
  return parseTime(p.metadata.deletionTimestamp) ?? now;
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/**
 * Orders active pods most-deletable first, as Kubernetes' `activePodsForRemoval`: unscheduled
 * before scheduled, Pending before Unknown before Running, not ready before ready, newer before
 * older.
 */
export function byDeletionPreference(a: KObject, b: KObject): number {
  const sa = a.spec?.nodeName ? 1 : 0;
  const sb = b.spec?.nodeName ? 1 : 0;
  if (sa !== sb) return sa - sb;
  const pa = PHASE_RANK[podPhase(a) ?? 'Pending'] ?? 0;
  const pb = PHASE_RANK[podPhase(b) ?? 'Pending'] ?? 0;
  if (pa !== pb) return pa - pb;
  const ra = isPodReady(a) ? 1 : 0;
  const rb = isPodReady(b) ? 1 : 0;
  if (ra !== rb) return ra - rb;
  const ca = parseTime(a.metadata.creationTimestamp) ?? 0;
  const cb = parseTime(b.metadata.creationTimestamp) ?? 0;
  return cb - ca;
}

/** Sum of container restarts of the pods (backoffLimit with restartPolicy OnFailure). */
export function totalRestarts(pods: KObject[]): number {
  let n = 0;
  for (const p of pods) {
    for (const k of ['containerStatuses', 'initContainerStatuses']) {
      for (const cs of p.status?.[k] ?? []) n += typeof cs?.restartCount === 'number' ? cs.restartCount : 0;
    }
  }
  return n;
}
