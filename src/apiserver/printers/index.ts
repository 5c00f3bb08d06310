/**
 * Server-side Table printing (meta.k8s.io/v1 Table), the answer to
 * `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`.
 *
 * Contract: printTable returns the column definitions for the resource's kind and one row per
 * object, in input order. Like a real API server, every row carries all cells, wide
 * (priority 1) ones included; kubectl shows priority-1 columns only with `-o wide`. Rows keep
 * the original object; the caller converts it (PartialObjectMetadata by default) and wraps
 * the result in the Table envelope (kind, apiVersion, metadata.resourceVersion). Column
 * names use Kubernetes' casing ("Up-to-date"); kubectl upper-cases them for display.
 * Kinds without a dedicated printer get NAME and AGE.
 */
import type { ResourceInfo } from '../../api/scheme';
import type { KObject } from '../../api/types';
import {
  configMapPrinter,
  endpointsPrinter,
  eventPrinter,
  namespacePrinter,
  nodePrinter,
  persistentVolumeClaimPrinter,
  persistentVolumePrinter,
  podPrinter,
  secretPrinter,
  serviceAccountPrinter,
  servicePrinter,
} from './core';
import {
  endpointSlicePrinter,
  horizontalPodAutoscalerPrinter,
  ingressClassPrinter,
  ingressPrinter,
  leasePrinter,
  podDisruptionBudgetPrinter,
  storageClassPrinter,
} from './other';
import { AGE_COL, NAME_COL, type ColumnDefinition, type KindPrinter, type TableRow } from './types';
import { since } from './util';
import {
  controllerRevisionPrinter,
  cronJobPrinter,
  daemonSetPrinter,
  deploymentPrinter,
  jobPrinter,
  replicaSetPrinter,
  statefulSetPrinter,
} from './workloads';

export type { ColumnDefinition, TableRow, TableRowCondition } from './types';
export { humanDuration } from './util';
export { podSummary, nodeRoles, nodeStatus, serviceExternalIP, servicePorts } from './core';
export { jobStatus, jobCompletions, jobDuration, deploymentReady } from './workloads';

/** Printers keyed by "<group>/<Kind>" (core group is ""). */
const PRINTERS = new Map<string, KindPrinter>([
  ['/Pod', podPrinter],
  ['/Node', nodePrinter],
  ['/Namespace', namespacePrinter],
  ['/Service', servicePrinter],
  ['/Endpoints', endpointsPrinter],
  ['/ConfigMap', configMapPrinter],
  ['/Secret', secretPrinter],
  ['/Event', eventPrinter],
  ['/ServiceAccount', serviceAccountPrinter],
  ['/PersistentVolume', persistentVolumePrinter],
  ['/PersistentVolumeClaim', persistentVolumeClaimPrinter],
  ['apps/Deployment', deploymentPrinter],
  ['apps/ReplicaSet', replicaSetPrinter],
  ['apps/StatefulSet', statefulSetPrinter],
  ['apps/DaemonSet', daemonSetPrinter],
  ['apps/ControllerRevision', controllerRevisionPrinter],
  ['batch/Job', jobPrinter],
  ['batch/CronJob', cronJobPrinter],
  ['policy/PodDisruptionBudget', podDisruptionBudgetPrinter],
  ['coordination.k8s.io/Lease', leasePrinter],
  ['networking.k8s.io/Ingress', ingressPrinter],
  ['networking.k8s.io/IngressClass', ingressClassPrinter],
  ['storage.k8s.io/StorageClass', storageClassPrinter],
  ['autoscaling/HorizontalPodAutoscaler', horizontalPodAutoscalerPrinter],
  ['discovery.k8s.io/EndpointSlice', endpointSlicePrinter],
]);

/** NAME, AGE: the fallback for kinds without their own printer. */
const defaultPrinter: KindPrinter = {
  columns: [NAME_COL, AGE_COL],
  cells: (o, now) => [o.metadata?.name ?? '', since(o.metadata?.creationTimestamp, now)],
};

/** The printer used for a resource; exposed so callers can tell whether a kind has dedicated columns. */
export function printerFor(ri: Pick<ResourceInfo, 'group' | 'kind'>): { columns: ColumnDefinition[]; dedicated: boolean } {
  const p = PRINTERS.get(`${ri.group}/${ri.kind}`);
  return { columns: (p ?? defaultPrinter).columns.map((c) => ({ ...c })), dedicated: p !== undefined };
}

/**
 * Builds the column definitions and rows for `objects` of resource `ri`. `now` (default: the
 * current time) is the reference for AGE-style cells, so tests can pin it.
 */
export function printTable(ri: ResourceInfo, objects: KObject[], now: Date = new Date()): { columnDefinitions: ColumnDefinition[]; rows: TableRow[] } {
  const printer = PRINTERS.get(`${ri.group}/${ri.kind}`) ?? defaultPrinter;
  const rows: TableRow[] = objects.map((object) => {
    const row: TableRow = { cells: printer.cells(object, now), object };
    const conditions = printer.conditions?.(object);
    if (conditions) row.conditions = conditions;
    return row;
  });
  return { columnDefinitions: printer.columns.map((c) => ({ ...c })), rows };
}
