import type { KObject } from '../../api/types';
import { resourceFor } from '../../api/scheme';
import { Controller } from '../../controller/controller';
import { AlreadyExistsError, ApiError, NotFoundError } from '../../util/errors';
import { deepEqual } from '../../util/equal';
import type { ControllerContext } from '../context';
import { controllerRef, finishedCondition, isJobFinished, parseTime, rfc3339 } from '../job/job-util';
import { DelayedRequeue } from '../job/requeue';
import { compileSchedule, mostRecentScheduleTime, nextScheduleDelay } from './schedule';

/**
 * The CronJob controller (batch/v1), following kube-controller-manager's cronjob controller v2:
 *
 * - Keeps `status.active` in step with the Jobs it owns (finished ones leave with a
 *   SawCompletedJob event, vanished ones with MissingJob) and `status.lastSuccessfulTime`.
 * - At each activation of `spec.schedule` in `spec.timeZone` (default: UTC, as minikube's
 *   controller manager runs) it creates Job `<cronjob>-<scheduled time in minutes since epoch>`
 *   from `spec.jobTemplate`, annotated `batch.kubernetes.io/cronjob-scheduled-timestamp` (RFC 3339
 *   in the zone) and owned by the CronJob; the name makes creation idempotent.
 * - Only the most recent missed activation is started; more than 100 missed ones raise a
 *   TooManyMissedTimes warning, and with `startingDeadlineSeconds` an activation older than the
 *   deadline is skipped (MissSchedule) and bounds the count.
 * - `concurrencyPolicy`: Allow; Forbid skips while a Job is active (JobAlreadyActive); Replace
 *   deletes the active Jobs first. `suspend` stops new Jobs only.
 * - Finished Jobs beyond `successfulJobsHistoryLimit` / `failedJobsHistoryLimit` are deleted,
 *   oldest first (by start time).
 * The controller wakes 100 ms after the next activation on the injected clock.
 */
export interface CronJobControllerOptions {
  /** zone of schedules without `spec.timeZone` (default UTC) */
  defaultTimeZone?: string;
  workers?: number;
}

export const CRONJOB_SCHEDULED_TIMESTAMP = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

interface JobRef {
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
}

function clone<T>(o: T): T {
  return o === undefined ? o : JSON.parse(JSON.stringify(o));
}

/** Go's RFC1123Z in UTC: `Mon, 02 Jan 2006 15:04:05 +0000`. */
function rfc1123z(ms: number): string {
  return new Date(ms).toUTCString().replace('GMT', '+0000');
}

/** The Job name for an activation: minutes since the epoch, as Kubernetes names them. */
export function jobNameFor(cronJobName: string, scheduledMs: number): string {
  return `${cronJobName}-${Math.floor(scheduledMs / 60_000)}`;
}

export function cronJobController(ctx: ControllerContext, opts: CronJobControllerOptions = {}): Controller {
  const { registry, clock } = ctx;
  const log = ctx.log.child('cronjob-controller');
  const recorder = ctx.recorder('cronjob-controller');
  const cjRI = resourceFor('batch', 'cronjobs')!;
  const jobsRI = resourceFor('batch', 'jobs')!;
  const cronjobs = ctx.informers.for(cjRI);
  const jobs = ctx.informers.for(jobsRI);
  const defaultTz = opts.defaultTimeZone ?? 'UTC';
  let requeue: DelayedRequeue;

  const deleteJob = (cj: KObject, ns: string, name: string, uid?: string): boolean => {
    try {
      registry.delete(jobsRI, ns, name, { propagationPolicy: 'Background', ...(uid ? { preconditions: { uid } } : {}) });
      recorder.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${name}`);
      return true;
    } catch (e) {
      if (e instanceof NotFoundError) return true;
      if (e instanceof ApiError && e.code === 409) return true;
      recorder.event(cj, 'Warning', 'FailedDelete', `Deleted job: ${(e as Error).message}`);
      throw e;
    }
  };

  const cleanupFinished = (cj: KObject, owned: KObject[]): void => {
    const spec = cj.spec ?? {};
    const byStart = (a: KObject, b: KObject): number => {
      const sa = parseTime(a.status?.startTime);
      const sb = parseTime(b.status?.startTime);
      if (sa === undefined || sb === undefined) return sa === undefined ? (sb === undefined ? cmp(a, b) : 1) : -1;
      return sa === sb ? cmp(a, b) : sa - sb;
    };
    const cmp = (a: KObject, b: KObject) => (a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0);
    const prune = (list: KObject[], limit: unknown) => {
      if (typeof limit !== 'number' || list.length <= limit) return;
      const sorted = [...list].sort(byStart);
      for (const j of sorted.slice(0, sorted.length - limit)) deleteJob(cj, j.metadata.namespace!, j.metadata.name!, j.metadata.uid);
    };
    const finished = owned.filter((j) => isJobFinished(j) && !j.metadata.deletionTimestamp);
    prune(finished.filter((j) => finishedCondition(j)!.type === 'Complete'), spec.successfulJobsHistoryLimit);
    prune(finished.filter((j) => finishedCondition(j)!.type === 'Failed'), spec.failedJobsHistoryLimit);
  };

  const reconcile = (key: string): void => {
    const [ns, name] = key.split('/');
    const cj = cronjobs.get(ns, name);
    if (!cj) {
      requeue.forget(key);
      return;
    }
    const now = clock.now();
    const spec = cj.spec ?? {};
    const status = clone(cj.status ?? {});
    let active: JobRef[] = status.active ?? [];
    const owned = jobs.list(ns).filter((j) => controllerRef(j)?.uid === cj.metadata.uid);

    // 1. Reconcile the active list with the Jobs that exist.
    const children = new Set<string>();
    for (const j of owned) {
      children.add(j.metadata.uid!);
      const found = active.some((a) => a.uid === j.metadata.uid);
      const fin = finishedCondition(j);
      if (!found && !fin) {
        recorder.event(cj, 'Warning', 'UnexpectedJob', `Saw a job that the controller did not create or forgot: ${j.metadata.name}`);
      } else if (found && fin) {
        active = active.filter((a) => a.uid !== j.metadata.uid);
        recorder.event(cj, 'Normal', 'SawCompletedJob', `Saw completed job: ${j.metadata.name}, condition: ${fin.type}`);
      }
      const completed = parseTime(j.status?.completionTime);
      if (fin?.type === 'Complete' && completed !== undefined) {
        const last = parseTime(status.lastSuccessfulTime);
        if (last === undefined || completed > last) status.lastSuccessfulTime = j.status.completionTime;
      }
    }
    for (const a of [...active]) {
      if (a.uid && children.has(a.uid)) continue;
      if (a.name && registry.tryGet(jobsRI, ns, a.name)?.metadata.uid === a.uid) continue;
      recorder.event(cj, 'Normal', 'MissingJob', `Active job went missing: ${a.name}`);
      active = active.filter((x) => x !== a);
    }

    const finish = (requeueAfterMs?: number): void => {
      if (!cj.metadata.deletionTimestamp) cleanupFinished(cj, owned);
      const next = { ...status, active: active.length ? active : undefined };
      const cleaned = JSON.parse(JSON.stringify(next));
      if (!deepEqual(cleaned, cj.status ?? {})) {
        registry.guaranteedUpdate(
          cjRI,
          ns,
          name,
          (cur) => {
            if (cur.metadata.uid !== cj.metadata.uid) throw new NotFoundError('cronjobs.batch', name, 'batch');
            cur.status = cleaned;
            return cur;
          },
          { subresource: 'status' },
        );
      }
      if (requeueAfterMs !== undefined) requeue.after(key, requeueAfterMs);
    };

    if (cj.metadata.deletionTimestamp) return finish();
    const compiled = compileSchedule(String(spec.schedule ?? ''), typeof spec.timeZone === 'string' ? spec.timeZone : undefined, defaultTz);
    if (!compiled.schedule) {
      recorder.event(cj, 'Warning', compiled.reason, compiled.error);
      return finish();
    }
    if (spec.suspend === true) return finish();
    const sched = compiled.schedule;
    const created = parseTime(cj.metadata.creationTimestamp) ?? now;
    const lastSchedule = parseTime(status.lastScheduleTime);
    const sds: number | undefined = typeof spec.startingDeadlineSeconds === 'number' ? spec.startingDeadlineSeconds : undefined;
    const later = () => nextScheduleDelay(sched, now, created, parseTime(status.lastScheduleTime));

    // 2. Is an activation due?
    const mr = mostRecentScheduleTime(sched, now, created, lastSchedule, sds, true);
    if (mr.error !== undefined) {
      recorder.event(cj, 'Warning', 'InvalidSchedule', `invalid schedule: ${spec.schedule} : ${mr.error}`);
      return finish();
    }
    if (mr.missed === 'many') {
      recorder.event(cj, 'Warning', 'TooManyMissedTimes', 'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew');
      log.info('too many missed times', { cronjob: key });
    }
    const scheduled = mr.mostRecent;
    if (scheduled === undefined) return finish(later());
    if (sds !== undefined && scheduled + sds * 1000 < now) {
      recorder.event(cj, 'Warning', 'MissSchedule', `Missed scheduled time to start a job: ${rfc1123z(scheduled)}`);
      return finish(later());
    }
    const jobName = jobNameFor(name, scheduled);
    if (active.some((a) => a.name === jobName) || lastSchedule === scheduled) return finish(later());
    if (spec.concurrencyPolicy === 'Forbid' && active.length > 0) {
      recorder.event(cj, 'Normal', 'JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid');
      return finish(later());
    }
    if (spec.concurrencyPolicy === 'Replace') {
      for (const a of [...active]) {
        if (!a.name) continue;
        const j = jobs.get(ns, a.name);
        if (j && j.metadata.uid === a.uid) deleteJob(cj, ns, a.name, a.uid);
        active = active.filter((x) => x !== a);
      }
    }

    // 3. Start the Job.
    const jt = spec.jobTemplate ?? {};
    const job: KObject = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: jobName,
        namespace: ns,
        labels: { ...(jt.metadata?.labels ?? {}) },
        annotations: { ...(jt.metadata?.annotations ?? {}), [CRONJOB_SCHEDULED_TIMESTAMP]: sched.zone.format(scheduled) },
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name, uid: cj.metadata.uid!, controller: true, blockOwnerDeletion: true }],
      },
      spec: clone(jt.spec ?? {}),
    };
    let createdJob: KObject;
    try {
      createdJob = registry.create(jobsRI, ns, job);
      recorder.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${jobName}`);
    } catch (e) {
      if (e instanceof AlreadyExistsError) {
        const existing = registry.tryGet(jobsRI, ns, jobName);
        if (!existing || controllerRef(existing)?.uid !== cj.metadata.uid) return finish(later());
        if (active.some((a) => a.uid === existing.metadata.uid)) return finish(later());
        createdJob = existing;
      } else if (e instanceof ApiError && e.code === 403) {
        return finish();
      } else {
        recorder.event(cj, 'Warning', 'FailedCreate', `Error creating job: ${(e as Error).message}`);
        finish();
        throw e;
      }
    }
    active = [
      ...active,
      { kind: 'Job', namespace: ns, name: createdJob.metadata.name, uid: createdJob.metadata.uid, apiVersion: 'batch/v1', resourceVersion: createdJob.metadata.resourceVersion },
    ];
    status.lastScheduleTime = rfc3339(scheduled);
    return finish(nextScheduleDelay(sched, now, created, scheduled));
  };

  return new Controller({
    name: 'cronjob-controller',
    log,
    clock,
    workers: opts.workers ?? 1,
    setup: (enqueue) => {
      requeue = new DelayedRequeue(clock, enqueue);
      const onCj = (o: KObject) => enqueue(`${o.metadata.namespace}/${o.metadata.name}`);
      cronjobs.addHandlers({ onAdd: onCj, onUpdate: (_o, n) => onCj(n), onDelete: onCj });
      const onJob = (j: KObject) => {
        const ref = controllerRef(j);
        if (ref && ref.kind === 'CronJob') enqueue(`${j.metadata.namespace}/${ref.name}`);
      };
      jobs.addHandlers({ onAdd: onJob, onUpdate: (_o, n) => onJob(n), onDelete: onJob });
      cronjobs.start();
      jobs.start();
    },
    teardown: () => requeue?.stop(),
    reconcile,
  });
}
