import type { KObject } from '../../api/types';
import { resourceFor } from '../../api/scheme';
import { Controller } from '../../controller/controller';
import { ApiError, NotFoundError } from '../../util/errors';
import { deepEqual } from '../../util/equal';
import type { ControllerContext } from '../context';
import { DelayedRequeue } from './requeue';
import {
  backoffRemaining,
  byDeletionPreference,
  completionIndex,
  controllerRef,
  ensureConditionStatus,
  findCondition,
  finishedCondition,
  formatIndexes,
  isPodActive,
  isPodReady,
  isPodTerminal,
  JOB_COMPLETION_INDEX,
  JOB_COMPLETION_INDEX_ENV,
  JOB_TRACKING_FINALIZER,
  parseIndexes,
  parseTime,
  podFinishTime,
  rfc3339,
  totalRestarts,
  updateBackoffRecord,
  type BackoffRecord,
  type Condition,
} from './job-util';

/**
 * The Job controller (batch/v1), following kube-controller-manager's job controller of 1.31+:
 *
 * - Pods are created from `spec.template` with the Job's controller ownerReference, the
 *   `batch.kubernetes.io/job-tracking` finalizer and (Indexed) the completion index as label,
 *   annotation, hostname `<job>-<index>` and env JOB_COMPLETION_INDEX.
 * - Finished pods are counted with the finalizer protocol: their uids go to
 *   `status.uncountedTerminatedPods` first, then the finalizer is removed, then they move into
 *   `status.succeeded`/`failed`. Counts therefore survive pod deletion (GC, eviction, users).
 *   Pods the controller itself deletes (excess, suspend, finished Job) lose the finalizer before
 *   deletion and are not counted as failures.
 * - A failed pod is replaced after a back-off of 10 s doubling per consecutive failure, capped at
 *   6 minutes (both injectable), measured on the injected clock from the failure time.
 * - `backoffLimit` (failures, or container restarts with restartPolicy OnFailure) and
 *   `activeDeadlineSeconds` make the Job fail: condition FailureTarget, active pods deleted, then
 *   Failed once no pod is terminating (reasons BackoffLimitExceeded / DeadlineExceeded).
 *   Success adds SuccessCriteriaMet, then Complete (reason CompletionsReached) and completionTime.
 * - `suspend` deletes active pods (condition Suspended); resuming resets `startTime`.
 * - `ttlSecondsAfterFinished` deletes a finished Job (foreground) after that many seconds.
 * Events: SuccessfulCreate, SuccessfulDelete, FailedCreate, Completed, BackoffLimitExceeded,
 * DeadlineExceeded, Suspended, Resumed.
 *
 * Not implemented: podFailurePolicy, successPolicy, backoffLimitPerIndex, manualSelector adoption
 * of orphan pods, slow-start batching of pod creation. The back-off record lives in memory and
 * resets when the process restarts.
 */
export interface JobControllerOptions {
  /** first pod-failure back-off (default 10 s) */
  podFailureBackoffMs?: number;
  /** back-off cap (default 6 min) */
  maxPodFailureBackoffMs?: number;
  workers?: number;
}

const MAX_PODS_PER_SYNC = 500;
const ORPHAN = 'orphan:';

interface JobStatus {
  active?: number;
  ready?: number;
  terminating?: number;
  succeeded?: number;
  failed?: number;
  startTime?: string;
  completionTime?: string;
  completedIndexes?: string;
  conditions?: Condition[];
  uncountedTerminatedPods?: { succeeded?: string[]; failed?: string[] };
  [k: string]: unknown;
}

function clone<T>(o: T): T {
  return o === undefined ? o : JSON.parse(JSON.stringify(o));
}

function hasTrackingFinalizer(p: KObject): boolean {
  return (p.metadata.finalizers ?? []).includes(JOB_TRACKING_FINALIZER);
}

export function jobController(ctx: ControllerContext, opts: JobControllerOptions = {}): Controller {
  const { registry, clock } = ctx;
  const log = ctx.log.child('job-controller');
  const recorder = ctx.recorder('job-controller');
  const jobsRI = resourceFor('batch', 'jobs')!;
  const podsRI = resourceFor('', 'pods')!;
  const jobs = ctx.informers.for(jobsRI);
  const pods = ctx.informers.for(podsRI);
  const baseBackoff = opts.podFailureBackoffMs ?? 10_000;
  const maxBackoff = opts.maxPodFailureBackoffMs ?? 360_000;
  const backoffs = new Map<string, BackoffRecord>();
  let requeue: DelayedRequeue;

  const ownerJobKey = (p: KObject): string | undefined => {
    const ref = controllerRef(p);
    if (!ref || ref.kind !== 'Job' || !ref.apiVersion.startsWith('batch/')) return undefined;
    return `${p.metadata.namespace}/${ref.name}`;
  };

  const isOrphan = (p: KObject): boolean => {
    const ref = controllerRef(p);
    if (!ref || ref.kind !== 'Job') return true;
    const j = jobs.get(p.metadata.namespace, ref.name);
    return !j || j.metadata.uid !== ref.uid;
  };

  const podsOf = (job: KObject): KObject[] =>
    pods.list(job.metadata.namespace).filter((p) => {
      const ref = controllerRef(p);
      return !!ref && ref.uid === job.metadata.uid;
    });

  const removeFinalizer = (p: KObject): KObject | undefined => {
    try {
      return registry.guaranteedUpdate(podsRI, p.metadata.namespace, p.metadata.name!, (cur) => {
        if (cur.metadata.uid !== p.metadata.uid) throw new NotFoundError('pods', p.metadata.name!);
        cur.metadata.finalizers = (cur.metadata.finalizers ?? []).filter((f) => f !== JOB_TRACKING_FINALIZER);
        return cur;
      });
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  };

  /** Deletes pods on the controller's own initiative: not counted as failures. */
  const deletePods = (job: KObject, victims: KObject[]): number => {
    let n = 0;
    for (const p of victims) {
      if (hasTrackingFinalizer(p)) removeFinalizer(p);
      try {
        registry.delete(podsRI, p.metadata.namespace, p.metadata.name!, { preconditions: { uid: p.metadata.uid } });
        recorder.event(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
        n++;
      } catch (e) {
        if (!(e instanceof NotFoundError) && !(e instanceof ApiError && e.code === 409)) throw e;
      }
    }
    return n;
  };

  const createPod = (job: KObject, index: number | undefined): boolean => {
    const t = job.spec?.template ?? {};
    const meta = t.metadata ?? {};
    const labels: Record<string, string> = { ...(meta.labels ?? {}) };
    const annotations: Record<string, string> = { ...(meta.annotations ?? {}) };
    const spec = clone(t.spec ?? {});
    const name = job.metadata.name!;
    let generateName = `${name}-`;
    if (index !== undefined) {
      labels[JOB_COMPLETION_INDEX] = String(index);
      annotations[JOB_COMPLETION_INDEX] = String(index);
      generateName = `${name}-${index}-`;
      spec.hostname = `${name}-${index}`;
      for (const k of ['containers', 'initContainers']) {
        for (const c of spec[k] ?? []) {
          c.env = c.env ?? [];
          if (!c.env.some((e: { name?: string }) => e.name === JOB_COMPLETION_INDEX_ENV)) {
            c.env.push({ name: JOB_COMPLETION_INDEX_ENV, valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${JOB_COMPLETION_INDEX}']` } } });
          }
        }
      }
    }
    if (generateName.length > 58) generateName = generateName.slice(0, 58);
    const pod: KObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName,
        namespace: job.metadata.namespace,
        labels,
        ...(Object.keys(annotations).length ? { annotations } : {}),
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name, uid: job.metadata.uid!, controller: true, blockOwnerDeletion: true }],
        finalizers: [JOB_TRACKING_FINALIZER],
      },
      spec,
    };
    try {
      const created = registry.create(podsRI, job.metadata.namespace, pod);
      recorder.event(job, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.code === 403) return false; // namespace terminating
      recorder.event(job, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`);
      throw e;
    }
  };

  const writeStatus = (job: KObject, status: JobStatus): void => {
    registry.guaranteedUpdate(
      jobsRI,
      job.metadata.namespace,
      job.metadata.name!,
      (cur) => {
        if (cur.metadata.uid !== job.metadata.uid) throw new NotFoundError('jobs.batch', job.metadata.name!, 'batch');
        cur.status = status;
        return cur;
      },
      { subresource: 'status' },
    );
  };

  const reconcileOrphan = (ns: string, name: string): void => {
    const p = pods.get(ns, name);
    if (!p || !hasTrackingFinalizer(p) || !isOrphan(p)) return;
    removeFinalizer(p);
  };

  const reconcile = (key: string): { requeueAfterMs?: number } | void => {
    if (key.startsWith(ORPHAN)) {
      const [ns, name] = key.slice(ORPHAN.length).split('/');
      return reconcileOrphan(ns, name);
    }
    const [ns, name] = key.split('/');
    const job = jobs.get(ns, name);
    if (!job) {
      requeue.forget(key);
      return;
    }
    const uid = job.metadata.uid!;
    const now = clock.now();
    const nowStr = rfc3339(now);
    const jobPods = podsOf(job);
    const spec = job.spec ?? {};

    // A Job being deleted (foreground) only releases its pods.
    if (job.metadata.deletionTimestamp) {
      for (const p of jobPods) if (hasTrackingFinalizer(p)) removeFinalizer(p);
      return;
    }

    const finished = finishedCondition(job);
    if (finished) return reconcileFinished(job, jobPods, finished, now);

    const indexed = spec.completionMode === 'Indexed';
    const completions: number | undefined = typeof spec.completions === 'number' ? spec.completions : undefined;
    const parallelism: number = typeof spec.parallelism === 'number' ? spec.parallelism : 1;
    const backoffLimit: number = typeof spec.backoffLimit === 'number' ? spec.backoffLimit : 6;
    const suspended = spec.suspend === true;
    const replaceOnlyFailed = spec.podReplacementPolicy === 'Failed';

    const st: JobStatus = clone(job.status ?? {});
    const unc = { succeeded: new Set(st.uncountedTerminatedPods?.succeeded ?? []), failed: new Set(st.uncountedTerminatedPods?.failed ?? []) };
    let succeeded = st.succeeded ?? 0;
    let failed = st.failed ?? 0;
    const doneIdx = indexed ? parseIndexes(st.completedIndexes, completions ?? 0) : new Set<number>();
    const byUid = new Map(jobPods.map((p) => [p.metadata.uid!, p]));
    let wakeAt: number | undefined;
    const wake = (at: number) => {
      if (wakeAt === undefined || at < wakeAt) wakeAt = at;
    };

    // 1. Uncounted pods whose finalizer is gone are counted for good.
    const settle = (): void => {
      for (const u of [...unc.succeeded]) {
        const p = byUid.get(u);
        if (!p || !hasTrackingFinalizer(p)) {
          unc.succeeded.delete(u);
          if (!indexed) succeeded++;
        }
      }
      for (const u of [...unc.failed]) {
        const p = byUid.get(u);
        if (!p || !hasTrackingFinalizer(p)) {
          unc.failed.delete(u);
          failed++;
        }
      }
    };
    settle();

    // 2. Newly finished pods: record them as uncounted, then release their finalizers.
    const isFailed = (p: KObject): boolean => {
      if (p.status?.phase === 'Failed') return true;
      if (replaceOnlyFailed) return false;
      return !!p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded';
    };
    const newlyFinished: { succeeded: boolean; at: number }[] = [];
    const toRelease: KObject[] = [];
    for (const p of jobPods) {
      const pu = p.metadata.uid!;
      if (!hasTrackingFinalizer(p)) continue;
      if (unc.succeeded.has(pu) || unc.failed.has(pu)) {
        toRelease.push(p);
        continue;
      }
      if (p.status?.phase === 'Succeeded') {
        const ix = completionIndex(p);
        if (indexed && (ix === undefined || ix >= (completions ?? 0))) {
          toRelease.push(p);
          continue;
        }
        unc.succeeded.add(pu);
        if (indexed) doneIdx.add(ix!);
        newlyFinished.push({ succeeded: true, at: podFinishTime(p, now) });
        toRelease.push(p);
      } else if (isFailed(p)) {
        unc.failed.add(pu);
        newlyFinished.push({ succeeded: false, at: podFinishTime(p, now) });
        toRelease.push(p);
      }
    }
    if (newlyFinished.length) {
      backoffs.set(uid, updateBackoffRecord(backoffs.get(uid) ?? { failuresAfterLastSuccess: 0 }, newlyFinished));
      const interim: JobStatus = {
        ...st,
        succeeded: indexed ? doneIdx.size : succeeded,
        failed,
        uncountedTerminatedPods: uncountedOf(unc),
        ...(indexed ? { completedIndexes: formatIndexes(doneIdx) || undefined } : {}),
      };
      writeStatus(job, interim);
    }
    for (const p of toRelease) {
      // A pod still terminating on a live node keeps its finalizer until it stops, so that its
      // object (and containers) are not dropped before the kubelet is done with it.
      const deadline = parseTime(p.metadata.deletionTimestamp);
      const stillTerminating = !isPodTerminal(p) && !!p.spec?.nodeName && (p.metadata.deletionGracePeriodSeconds ?? 0) > 0 && deadline !== undefined && now < deadline;
      if (stillTerminating) {
        wake(deadline!);
        continue;
      }
      const updated = removeFinalizer(p);
      if (updated) byUid.set(p.metadata.uid!, updated);
      else byUid.delete(p.metadata.uid!);
    }
    settle();
    if (indexed) succeeded = doneIdx.size;
    const failedTotal = failed + unc.failed.size;
    const succeededTotal = indexed ? doneIdx.size : succeeded + unc.succeeded.size;

    // 3. Conditions, then pod management.
    let conds: Condition[] = st.conditions ?? [];
    let startTime = st.startTime;
    const current = () => podsOf(job);
    let active = current().filter(isPodActive);
    const limitedRestarts = spec.template?.spec?.restartPolicy === 'OnFailure' && (backoffLimit === 0 ? totalRestarts(active) > 0 : totalRestarts(active) >= backoffLimit);

    let finishing = [findCondition(conds, 'FailureTarget'), findCondition(conds, 'SuccessCriteriaMet')].find((c) => c?.status === 'True');
    if (!finishing) {
      if (failedTotal > backoffLimit || limitedRestarts) {
        finishing = newCondition('FailureTarget', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit', nowStr);
      } else if (!suspended && typeof spec.activeDeadlineSeconds === 'number' && startTime) {
        const deadline = parseTime(startTime)! + spec.activeDeadlineSeconds * 1000;
        if (now >= deadline) finishing = newCondition('FailureTarget', 'DeadlineExceeded', 'Job was active longer than specified deadline', nowStr);
        else wake(deadline);
      }
    }

    if (finishing) {
      deletePods(job, active);
      active = [];
    } else {
      // Suspension.
      const [c1, suspendChanged] = suspended
        ? ensureConditionStatus(conds, 'Suspended', 'True', 'JobSuspended', 'Job suspended', nowStr)
        : ensureConditionStatus(conds, 'Suspended', 'False', 'JobResumed', 'Job resumed', nowStr);
      conds = c1;
      if (suspendChanged) {
        if (suspended) recorder.event(job, 'Normal', 'Suspended', 'Job suspended');
        else {
          recorder.event(job, 'Normal', 'Resumed', 'Job resumed');
          startTime = nowStr;
        }
      }
      if (!startTime && !suspended) {
        startTime = nowStr;
        if (typeof spec.activeDeadlineSeconds === 'number') wake(now + spec.activeDeadlineSeconds * 1000);
      }

      if (suspended) {
        deletePods(job, active);
        active = [];
      } else if (indexed) {
        active = manageIndexed(job, active, doneIdx, completions ?? 0, parallelism, wake, now);
      } else {
        active = manageNonIndexed(job, active, succeededTotal, completions, parallelism, wake, now);
      }
      const complete = completions === undefined ? succeededTotal > 0 && active.length === 0 : succeededTotal >= completions && active.length === 0;
      if (complete && !suspended) finishing = newCondition('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods', nowStr);
    }

    let completionTime = st.completionTime;
    const left = current();
    const terminating = left.filter((p) => !!p.metadata.deletionTimestamp && !isPodTerminal(p)).length;
    if (finishing) {
      if (!findCondition(conds, finishing.type)) conds = [...conds, finishing];
      if (active.length === 0 && terminating === 0 && unc.succeeded.size === 0 && unc.failed.size === 0) {
        const success = finishing.type === 'SuccessCriteriaMet';
        conds = [...conds, newCondition(success ? 'Complete' : 'Failed', finishing.reason!, finishing.message!, nowStr)];
        if (success) {
          completionTime = nowStr;
          recorder.event(job, 'Normal', 'Completed', 'Job completed');
        } else {
          recorder.event(job, 'Warning', finishing.reason!, finishing.message!);
        }
        if (typeof spec.ttlSecondsAfterFinished === 'number') wake(now + spec.ttlSecondsAfterFinished * 1000);
      } else {
        wake(now + 1000);
      }
    }

    const status: JobStatus = {
      ...st,
      conditions: conds.length ? conds : undefined,
      startTime,
      completionTime,
      active: active.length,
      ready: active.filter(isPodReady).length,
      terminating,
      succeeded,
      failed,
      uncountedTerminatedPods: uncountedOf(unc),
    };
    if (indexed) status.completedIndexes = formatIndexes(doneIdx) || undefined;
    const cleaned = JSON.parse(JSON.stringify(status));
    const fresh = jobs.get(ns, name) ?? job;
    if (!deepEqual(cleaned, fresh.status ?? {})) writeStatus(job, cleaned);
    if (wakeAt !== undefined) requeue.after(key, wakeAt - now);
    return;
  };

  const manageNonIndexed = (
    job: KObject,
    active: KObject[],
    succeeded: number,
    completions: number | undefined,
    parallelism: number,
    wake: (at: number) => void,
    now: number,
  ): KObject[] => {
    let want: number;
    // A work-queue Job (no completions) leaves running pods alone once one has succeeded.
    if (completions === undefined) want = succeeded > 0 ? active.length : parallelism;
    else want = Math.max(0, Math.min(parallelism, completions - succeeded));
    if (active.length > want) {
      const victims = [...active].sort(byDeletionPreference).slice(0, active.length - want);
      deletePods(job, victims);
      const gone = new Set(victims.map((v) => v.metadata.uid));
      return active.filter((p) => !gone.has(p.metadata.uid));
    }
    if (active.length < want) {
      const remaining = backoffRemaining(backoffs.get(job.metadata.uid!) ?? { failuresAfterLastSuccess: 0 }, now, baseBackoff, maxBackoff);
      if (remaining > 0) {
        wake(now + remaining);
        return active;
      }
      const n = Math.min(want - active.length, MAX_PODS_PER_SYNC);
      for (let i = 0; i < n; i++) if (!createPod(job, undefined)) break;
      return podsOf(job).filter(isPodActive);
    }
    return active;
  };

  const manageIndexed = (
    job: KObject,
    active: KObject[],
    done: Set<number>,
    completions: number,
    parallelism: number,
    wake: (at: number) => void,
    now: number,
  ): KObject[] => {
    const victims: KObject[] = [];
    const byIndex = new Map<number, KObject[]>();
    for (const p of active) {
      const ix = completionIndex(p);
      if (ix === undefined || ix >= completions || done.has(ix)) victims.push(p);
      else byIndex.set(ix, [...(byIndex.get(ix) ?? []), p]);
    }
    for (const [, ps] of byIndex) {
      if (ps.length > 1) {
        const sorted = [...ps].sort(byDeletionPreference);
        victims.push(...sorted.slice(0, ps.length - 1));
        ps.splice(0, ps.length, sorted[sorted.length - 1]);
      }
    }
    const want = Math.max(0, Math.min(parallelism, completions - done.size));
    const activeIdx = [...byIndex.keys()].sort((a, b) => b - a);
    while (activeIdx.length > want) {
      const ix = activeIdx.shift()!;
      victims.push(...byIndex.get(ix)!);
      byIndex.delete(ix);
    }
    if (victims.length) deletePods(job, victims);
    if (byIndex.size < want) {
      const remaining = backoffRemaining(backoffs.get(job.metadata.uid!) ?? { failuresAfterLastSuccess: 0 }, now, baseBackoff, maxBackoff);
      if (remaining > 0) {
        wake(now + remaining);
      } else {
        let n = Math.min(want - byIndex.size, MAX_PODS_PER_SYNC);
        for (let ix = 0; ix < completions && n > 0; ix++) {
          if (done.has(ix) || byIndex.has(ix)) continue;
          if (!createPod(job, ix)) break;
          n--;
        }
      }
    }
    return podsOf(job).filter(isPodActive);
  };

  const reconcileFinished = (job: KObject, jobPods: KObject[], finished: Condition, now: number): { requeueAfterMs?: number } | void => {
    const key = `${job.metadata.namespace}/${job.metadata.name}`;
    const active = jobPods.filter(isPodActive);
    if (active.length) deletePods(job, active);
    for (const p of podsOf(job)) if (hasTrackingFinalizer(p)) removeFinalizer(p);
    backoffs.delete(job.metadata.uid!);
    const ttl = job.spec?.ttlSecondsAfterFinished;
    if (typeof ttl !== 'number') return;
    const finishedAt = (finished.type === 'Complete' ? parseTime(job.status?.completionTime) : undefined) ?? parseTime(finished.lastTransitionTime) ?? now;
    const expireAt = finishedAt + ttl * 1000;
    if (now < expireAt) {
      requeue.after(key, expireAt - now);
      return;
    }
    try {
      registry.delete(jobsRI, job.metadata.namespace, job.metadata.name!, { propagationPolicy: 'Foreground', preconditions: { uid: job.metadata.uid } });
      log.v(2, 'deleted finished job after its TTL', { job: key, ttlSecondsAfterFinished: ttl });
    } catch (e) {
      if (!(e instanceof NotFoundError) && !(e instanceof ApiError && e.code === 409)) throw e;
    }
  };

  return new Controller({
    name: 'job-controller',
    log,
    clock,
    workers: opts.workers ?? 2,
    setup: (enqueue) => {
      requeue = new DelayedRequeue(clock, enqueue);
      const onJob = (j: KObject) => enqueue(`${j.metadata.namespace}/${j.metadata.name}`);
      jobs.addHandlers({
        onAdd: onJob,
        onUpdate: (_o, n) => onJob(n),
        onDelete: (j) => {
          onJob(j);
          for (const p of pods.list(j.metadata.namespace)) {
            if (controllerRef(p)?.uid === j.metadata.uid && hasTrackingFinalizer(p)) enqueue(`${ORPHAN}${p.metadata.namespace}/${p.metadata.name}`);
          }
        },
      });
      const onPod = (p: KObject) => {
        const k = ownerJobKey(p);
        if (k) enqueue(k);
        if (hasTrackingFinalizer(p) && isOrphan(p)) enqueue(`${ORPHAN}${p.metadata.namespace}/${p.metadata.name}`);
      };
      pods.addHandlers({ onAdd: onPod, onUpdate: (_o, n) => onPod(n), onDelete: onPod });
      jobs.start();
      pods.start();
    },
    teardown: () => requeue?.stop(),
    reconcile,
  });
}

function newCondition(type: string, reason: string, message: string, now: string): Condition {
  return { type, status: 'True', reason, message, lastProbeTime: now, lastTransitionTime: now };
}

function uncountedOf(unc: { succeeded: Set<string>; failed: Set<string> }): { succeeded?: string[]; failed?: string[] } {
  const out: { succeeded?: string[]; failed?: string[] } = {};
  if (unc.succeeded.size) out.succeeded = [...unc.succeeded].sort();
  if (unc.failed.size) out.failed = [...unc.failed].sort();
  return out;
}
