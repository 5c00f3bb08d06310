/**
 * Admission validation for every served kind.
 *
 * `validateObject(obj, old?)` returns every problem found (empty = valid), as Kubernetes
 * `field.ErrorList`s read: `{type: 'FieldValueInvalid', field: 'spec.replicas', message:
 * 'Invalid value: -1: must be greater than or equal to 0'}`. `old` is given on update and enables
 * the immutability rules. Contract: never throws and never mutates its arguments, whatever JSON
 * it is handed; values of the wrong JSON type become `FieldValueTypeInvalid` errors. It expects
 * objects already passed through `applyDefaults` (defaulted enums such as
 * `imagePullPolicy` are required here).
 */
import type { FieldError } from '../../util/errors';
import type { KObject } from '../types';
import { resourceForObject } from '../scheme';
import { Ctx, Obj, isObj, typeInvalid } from './field';
import { NameValidator, validateObjectMeta, validateObjectMetaUpdate } from './meta';
import { isDNS1035Label, isDNS1123Label, isDNS1123Subdomain, isValidPathSegmentName } from './names';
import { validatePod, validatePodSpecUpdate } from './pod';
import { validateDaemonSet, validateDeployment, validateReplicaSet, validateStatefulSet } from './apps';
import { validateCronJob, validateJob } from './batch';
import {
  validateConfigMap,
  validateEndpoints,
  validateEvent,
  validateNamespace,
  validateNode,
  validatePV,
  validatePVC,
  validateSecret,
  validateService,
  validateServiceAccount,
} from './core';
import {
  validateControllerRevision,
  validateEndpointSlice,
  validateHPA,
  validateIngress,
  validateIngressClass,
  validateLease,
  validatePDB,
  validateStorageClass,
} from './other';

export { labelSelectorMatches } from './meta';
export { parseCronSchedule, type CronSchedule } from './cron';
export type { FieldErrorType } from './field';

type KindValidator = (c: Ctx, obj: Obj, old?: Obj) => void;

/** Keyed by `group/Kind` (core group empty). */
const VALIDATORS: Record<string, KindValidator> = {
  '/Pod': (c, o, old) => {
    validatePod(c, o);
    if (old) validatePodSpecUpdate(c, o.spec, old.spec);
  },
  '/Service': validateService,
  '/ConfigMap': validateConfigMap,
  '/Secret': validateSecret,
  '/Namespace': validateNamespace,
  '/Node': validateNode,
  '/PersistentVolumeClaim': validatePVC,
  '/PersistentVolume': validatePV,
  '/Endpoints': validateEndpoints,
  '/ServiceAccount': validateServiceAccount,
  '/Event': validateEvent,
  'apps/Deployment': validateDeployment,
  'apps/ReplicaSet': validateReplicaSet,
  'apps/StatefulSet': validateStatefulSet,
  'apps/DaemonSet': validateDaemonSet,
  'apps/ControllerRevision': validateControllerRevision,
  'batch/Job': validateJob,
  'batch/CronJob': validateCronJob,
  'policy/PodDisruptionBudget': validatePDB,
  'coordination.k8s.io/Lease': validateLease,
  'networking.k8s.io/Ingress': validateIngress,
  'networking.k8s.io/IngressClass': validateIngressClass,
  'storage.k8s.io/StorageClass': validateStorageClass,
  'autoscaling/HorizontalPodAutoscaler': validateHPA,
  'discovery.k8s.io/EndpointSlice': validateEndpointSlice,
};

/** Name format per kind: DNS-1123 subdomain unless listed. */
const NAME_VALIDATORS: Record<string, NameValidator> = {
  '/Namespace': isDNS1123Label,
  '/Service': isDNS1035Label,
  '/Event': isValidPathSegmentName,
};

function groupOf(apiVersion: unknown): string {
  if (typeof apiVersion !== 'string') return '';
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

export function validateObject(obj: KObject, old?: KObject): FieldError[] {
  const c = new Ctx();
  try {
    if (!isObj(obj)) {
      c.add(typeInvalid('<root>', obj, 'must be of type object'));
      return c.errs;
    }
    const kind = typeof obj.kind === 'string' ? obj.kind : '';
    const gk = `${groupOf(obj.apiVersion)}/${kind}`;
    const ri = typeof obj.apiVersion === 'string' && kind ? resourceForObject(obj.apiVersion, kind) : undefined;
    validateObjectMeta(c, obj.metadata, { nameFn: NAME_VALIDATORS[gk] ?? isDNS1123Subdomain, namespaced: ri?.namespaced });
    const oldObj = isObj(old) ? (old as Obj) : undefined;
    if (oldObj) validateObjectMetaUpdate(c, obj.metadata, oldObj.metadata);
    VALIDATORS[gk]?.(c, obj as Obj, oldObj);
  } catch (e) {
    // Defensive: a validator bug must surface as a 422, never crash the daemon.
    c.add({ type: 'InternalError', field: '<root>', message: `Internal error: ${e instanceof Error ? e.message : String(e)}` });
  }
  return c.errs;
}
