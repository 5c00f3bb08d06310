/**
 * Printers for apps/v1 and batch/v1 kinds, matching Kubernetes' server-side table columns
 * (wide cells always included; kubectl hides priority-1 columns unless `-o wide`).
 */
import type { KObject } from '../../api/types';
import { AGE_COL, CONTAINERS_COL, IMAGES_COL, NAME_COL, SELECTOR_COL, col, type KindPrinter } from './types';
import { boolPtr, containerCells, formatLabelSelector, formatLabels, humanDuration, int, labelSelectorString, parseTime, since } from './util';

/** spec.replicas with the API default of 1 when absent. */
function desiredReplicas(o: KObject): number {
  return typeof o.spec?.replicas === 'number' ? int(o.spec.replicas) : 1;
}

function templateContainers(o: KObject): [string, string] {
  return containerCells(o.spec?.template?.spec?.containers);
}

// ---------------------------------------------------------------- Deployment

/** The Deployment READY cell: "readyReplicas/spec.replicas". */
export function deploymentReady(o: KObject): string {
  return `${int(o.status?.readyReplicas)}/${desiredReplicas(o)}`;
}

export const deploymentPrinter: KindPrinter = {
  columns: [
    NAME_COL,
    col('Ready', 'Number of the pod with ready state'),
    col('Up-to-date', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'),
    col('Available', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'),
    AGE_COL,
    CONTAINERS_COL,
    IMAGES_COL,
    SELECTOR_COL,
  ],
  cells(o, now) {
    const [names, images] = templateContainers(o);
    return [
      o.metadata?.name ?? '',
      deploymentReady(o),
      int(o.status?.updatedReplicas),
      int(o.status?.availableReplicas),
      since(o.metadata?.creationTimestamp, now),
      names,
      images,
      labelSelectorString(o.spec?.selector) ?? '<invalid>',
    ];
  },
};

// ---------------------------------------------------------------- ReplicaSet

export const replicaSetPrinter: KindPrinter = {
  columns: [
    NAME_COL,
    col('Desired', 'Replicas is the number of desired pods.', { type: 'integer' }),
    col('Current', 'Replicas is the most recently observed number of replicas.', { type: 'integer' }),
    col('Ready', 'The number of ready replicas for this replica set.', { type: 'integer' }),
    AGE_COL,
    CONTAINERS_COL,
    IMAGES_COL,
    SELECTOR_COL,
  ],
  cells(o, now) {
    const [names, images] = templateContainers(o);
    return [
      o.metadata?.name ?? '',
      desiredReplicas(o),
      int(o.status?.replicas),
      int(o.status?.readyReplicas),
      since(o.metadata?.creationTimestamp, now),
      names,
      images,
      formatLabelSelector(o.spec?.selector),
    ];
  },
};

// ---------------------------------------------------------------- StatefulSet

export const statefulSetPrinter: KindPrinter = {
  columns: [NAME_COL, col('Ready', 'Number of the pod with ready state'), AGE_COL, CONTAINERS_COL, IMAGES_COL],
  cells(o, now) {
    const [names, images] = templateContainers(o);
    return [o.metadata?.name ?? '', `${int(o.status?.readyReplicas)}/${desiredReplicas(o)}`, since(o.metadata?.creationTimestamp, now), names, images];
  },
};

// ---------------------------------------------------------------- DaemonSet

export const daemonSetPrinter: KindPrinter = {
  columns: [
    NAME_COL,
    col('Desired', 'The total number of nodes that should be running the daemon pod.', { type: 'integer' }),
    col('Current', 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.', { type: 'integer' }),
    col('Ready', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.', { type: 'integer' }),
    col('Up-to-date', 'The total number of nodes that are running updated daemon pod', { type: 'integer' }),
    col('Available', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.', { type: 'integer' }),
    col('Node Selector', 'NodeSelector is a selector which must be true for the pod to fit on a node.'),
    AGE_COL,
    CONTAINERS_COL,
    IMAGES_COL,
    SELECTOR_COL,
  ],
  cells(o, now) {
    const s = o.status ?? {};
    const [names, images] = templateContainers(o);
    return [
      o.metadata?.name ?? '',
      int(s.desiredNumberScheduled),
      int(s.currentNumberScheduled),
      int(s.numberReady),
      int(s.updatedNumberScheduled),
      int(s.numberAvailable),
      formatLabels(o.spec?.template?.spec?.nodeSelector),
      since(o.metadata?.creationTimestamp, now),
      names,
      images,
      formatLabelSelector(o.spec?.selector),
    ];
  },
};

// ---------------------------------------------------------------- ControllerRevision

/** "<kind>.<group>/<name>" lower-cased for the controlling owner, "<none>" without one. */
export function controllerName(o: KObject): string {
  const ref = (o.metadata?.ownerReferences ?? []).find((r) => r.controller === true);
  if (!ref) return '<none>';
  const apiVersion = ref.apiVersion ?? '';
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const kind = ref.kind ?? '';
  if (!kind && !group) return ref.name;
  const gk = group ? `${kind}.${group}` : kind;
  return `${gk.toLowerCase()}/${ref.name}`;
}

export const controllerRevisionPrinter: KindPrinter = {
  columns: [NAME_COL, col('Controller', 'Controller of the object'), col('Revision', 'Revision indicates the revision of the state represented by Data.'), AGE_COL],
  cells: (o, now) => [o.metadata?.name ?? '', controllerName(o), int(o.revision), since(o.metadata?.creationTimestamp, now)],
};

// ---------------------------------------------------------------- Job

function jobCondition(o: KObject, type: string): boolean {
  const conditions: { type?: string; status?: string }[] = Array.isArray(o.status?.conditions) ? o.status.conditions : [];
  const c = conditions.find((x) => x?.type === type);
  return !!c && c.status === 'True';
}

/** The Job STATUS cell: Complete, Failed, Terminating, Suspended, FailureTarget, SuccessCriteriaMet or Running. */
export function jobStatus(o: KObject): string {
  if (jobCondition(o, 'Complete')) return 'Complete';
  if (jobCondition(o, 'Failed')) return 'Failed';
  if (o.metadata?.deletionTimestamp) return 'Terminating';
  if (jobCondition(o, 'Suspended')) return 'Suspended';
  if (jobCondition(o, 'FailureTarget')) return 'FailureTarget';
  if (jobCondition(o, 'SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  return 'Running';
}

/** The COMPLETIONS cell: "succeeded/completions", or "succeeded/1 of parallelism" for work-queue jobs. */
export function jobCompletions(o: KObject): string {
  const succeeded = int(o.status?.succeeded);
  if (typeof o.spec?.completions === 'number') return `${succeeded}/${int(o.spec.completions)}`;
  const parallelism = int(o.spec?.parallelism);
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

/** The DURATION cell: "" before start, time since start while running, completion-start once done. */
export function jobDuration(o: KObject, now: Date): string {
  const start = parseTime(o.status?.startTime);
  if (start === undefined) return '';
  const end = parseTime(o.status?.completionTime);
  return humanDuration((end ?? now.getTime()) - start);
}

export const jobPrinter: KindPrinter = {
  columns: [
    NAME_COL,
    col('Status', 'Status of the job.'),
    col('Completions', 'The number of pods which reached phase Succeeded.'),
    col('Duration', 'Time required to complete the job.'),
    AGE_COL,
    CONTAINERS_COL,
    IMAGES_COL,
    SELECTOR_COL,
  ],
  cells(o, now) {
    const [names, images] = templateContainers(o);
    return [
      o.metadata?.name ?? '',
      jobStatus(o),
      jobCompletions(o),
      jobDuration(o, now),
      since(o.metadata?.creationTimestamp, now),
      names,
      images,
      formatLabelSelector(o.spec?.selector),
    ];
  },
};

// ---------------------------------------------------------------- CronJob

export const cronJobPrinter: KindPrinter = {
  columns: [
    NAME_COL,
    col('Schedule', 'The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.'),
    col('Timezone', 'The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones.'),
    col('Suspend', 'This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.', { type: 'boolean' }),
    col('Active', 'A list of pointers to currently running jobs.', { type: 'integer' }),
    col('Last Schedule', 'Information when was the last time the job was successfully scheduled.'),
    AGE_COL,
    CONTAINERS_COL,
    IMAGES_COL,
    SELECTOR_COL,
  ],
  cells(o, now) {
    const jobSpec = o.spec?.jobTemplate?.spec ?? {};
    const [names, images] = containerCells(jobSpec.template?.spec?.containers);
    const last = o.status?.lastScheduleTime ? since(o.status.lastScheduleTime, now) : '<none>';
    return [
      o.metadata?.name ?? '',
      o.spec?.schedule ?? '',
      typeof o.spec?.timeZone === 'string' ? o.spec.timeZone : '<none>',
      boolPtr(o.spec?.suspend),
      Array.isArray(o.status?.active) ? o.status.active.length : 0,
      last,
      since(o.metadata?.creationTimestamp, now),
      names,
      images,
      formatLabelSelector(jobSpec.selector),
    ];
  },
};
