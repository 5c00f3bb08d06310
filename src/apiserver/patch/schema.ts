import { hasOwn } from './json-util';

/**
 * Patch metadata of the built-in Kubernetes types: the `patchStrategy` and
 * `patchMergeKey` struct tags of k8s.io/api (core/v1, apps/v1, batch/v1, policy/v1,
 * autoscaling/v2, networking/v1) and ObjectMeta in k8s.io/apimachinery.
 *
 * The table is keyed by type name and then by field name, like the Go structs, so a rule
 * holds wherever that type appears: `PodSpec.containers` covers `spec.containers` of a
 * Pod, `spec.template.spec.containers` of a Deployment/ReplicaSet/StatefulSet/DaemonSet/
 * Job/ReplicationController and `spec.jobTemplate.spec.template.spec.containers` of a
 * CronJob. Only fields that carry a strategy, or lead to one, are listed; every other map
 * merges and every other list is replaced whole (tolerations, args, command, envFrom,
 * taints, containerStatuses, ...).
 */
export interface FieldSchema {
  /**
   * `patchStrategy:"merge"` on a list. Lists of objects merge element-wise by `mergeKey`;
   * lists of scalars (finalizers, podCIDRs) merge as a set. Absent: the list is replaced.
   */
  merge?: boolean;
  /** `patchMergeKey`: the member identifying an element of a merged list of objects. */
  mergeKey?: string;
  /**
   * `patchStrategy` includes `retainKeys`: on a map field (Deployment `spec.strategy`) the
   * map, on a list field (PodSpec `volumes`) each element, keeps only the keys the client
   * names. Strategic merge patches carry this as the `$retainKeys` directive; server-side
   * apply keeps only the keys present in the applied value.
   */
  retainKeys?: boolean;
  /** `patchStrategy:"replace"` on a map: the patch value replaces the map whole. */
  replace?: boolean;
  /** Type of the value (of each element for lists), a key of TYPES. */
  type?: string;
}

export type TypeSchema = Readonly<Record<string, FieldSchema>>;

const conditionsByType: FieldSchema = { merge: true, mergeKey: 'type' };
const withConditions: TypeSchema = { conditions: conditionsByType };

function resource(spec?: string, status?: string, extra: Record<string, FieldSchema> = {}): TypeSchema {
  const t: Record<string, FieldSchema> = { metadata: { type: 'ObjectMeta' }, ...extra };
  if (spec) t.spec = { type: spec };
  if (status) t.status = { type: status };
  return t;
}

const TYPES: Readonly<Record<string, TypeSchema>> = {
  // k8s.io/apimachinery meta/v1
  ObjectMeta: {
    finalizers: { merge: true },
    ownerReferences: { merge: true, mergeKey: 'uid' },
  },

  // core/v1 pod types
  PodTemplateSpec: { metadata: { type: 'ObjectMeta' }, spec: { type: 'PodSpec' } },
  PodSpec: {
    volumes: { merge: true, mergeKey: 'name', retainKeys: true },
    initContainers: { merge: true, mergeKey: 'name', type: 'Container' },
    containers: { merge: true, mergeKey: 'name', type: 'Container' },
    ephemeralContainers: { merge: true, mergeKey: 'name', type: 'Container' },
    imagePullSecrets: { merge: true, mergeKey: 'name' },
    hostAliases: { merge: true, mergeKey: 'ip' },
    topologySpreadConstraints: { merge: true, mergeKey: 'topologyKey' },
    schedulingGates: { merge: true, mergeKey: 'name' },
    resourceClaims: { merge: true, mergeKey: 'name', retainKeys: true },
  },
  // Container and EphemeralContainer (EphemeralContainerCommon) share these tags.
  Container: {
    ports: { merge: true, mergeKey: 'containerPort' },
    env: { merge: true, mergeKey: 'name' },
    volumeMounts: { merge: true, mergeKey: 'mountPath' },
    volumeDevices: { merge: true, mergeKey: 'devicePath' },
  },
  PodStatus: {
    conditions: conditionsByType,
    podIPs: { merge: true, mergeKey: 'ip' },
    hostIPs: { merge: true, mergeKey: 'ip' },
    resourceClaimStatuses: { merge: true, mergeKey: 'name', retainKeys: true },
  },

  // core/v1 other types
  ServiceSpec: { ports: { merge: true, mergeKey: 'port' } },
  NodeSpec: { podCIDRs: { merge: true } },
  NodeStatus: { conditions: conditionsByType, addresses: { merge: true, mergeKey: 'type' } },
  ConditionsStatus: withConditions,
  ReplicationControllerSpec: { template: { type: 'PodTemplateSpec' } },

  // apps/v1
  DeploymentSpec: { template: { type: 'PodTemplateSpec' }, strategy: { retainKeys: true } },
  ReplicaSetSpec: { template: { type: 'PodTemplateSpec' } },
  StatefulSetSpec: { template: { type: 'PodTemplateSpec' } },
  DaemonSetSpec: { template: { type: 'PodTemplateSpec' } },

  // batch/v1
  JobSpec: { template: { type: 'PodTemplateSpec' } },
  JobTemplateSpec: { metadata: { type: 'ObjectMeta' }, spec: { type: 'JobSpec' } },
  CronJobSpec: { jobTemplate: { type: 'JobTemplateSpec' } },

  // policy/v1
  PodDisruptionBudgetSpec: { selector: { replace: true } },

  // Top-level kinds.
  Pod: resource('PodSpec', 'PodStatus'),
  PodTemplate: resource(undefined, undefined, { template: { type: 'PodTemplateSpec' } }),
  ReplicationController: resource('ReplicationControllerSpec', 'ConditionsStatus'),
  Deployment: resource('DeploymentSpec', 'ConditionsStatus'),
  ReplicaSet: resource('ReplicaSetSpec', 'ConditionsStatus'),
  StatefulSet: resource('StatefulSetSpec', 'ConditionsStatus'),
  DaemonSet: resource('DaemonSetSpec', 'ConditionsStatus'),
  Job: resource('JobSpec', 'ConditionsStatus'),
  CronJob: resource('CronJobSpec'),
  Service: resource('ServiceSpec', 'ConditionsStatus'),
  Node: resource('NodeSpec', 'NodeStatus'),
  Namespace: resource(undefined, 'ConditionsStatus'),
  PersistentVolumeClaim: resource(undefined, 'ConditionsStatus'),
  ServiceAccount: resource(undefined, undefined, { secrets: { merge: true, mergeKey: 'name' } }),
  PodDisruptionBudget: resource('PodDisruptionBudgetSpec', 'ConditionsStatus'),
  HorizontalPodAutoscaler: resource(undefined, 'ConditionsStatus'),
  ServiceCIDR: resource(undefined, 'ConditionsStatus'),
  // Built-in kinds whose only strategic fields are in ObjectMeta.
  ObjectWithMetadata: resource(),
};

const METADATA_ONLY_KINDS = [
  'ConfigMap',
  'Secret',
  'Endpoints',
  'EndpointSlice',
  'Event',
  'LimitRange',
  'ResourceQuota',
  'PersistentVolume',
  'StorageClass',
  'Role',
  'ClusterRole',
  'RoleBinding',
  'ClusterRoleBinding',
  'Ingress',
  'IngressClass',
  'NetworkPolicy',
  'Lease',
  'PriorityClass',
  'ControllerRevision',
  'Scale',
];

const KIND_ROOTS: Readonly<Record<string, string>> = {
  Pod: 'Pod',
  PodTemplate: 'PodTemplate',
  ReplicationController: 'ReplicationController',
  Deployment: 'Deployment',
  ReplicaSet: 'ReplicaSet',
  StatefulSet: 'StatefulSet',
  DaemonSet: 'DaemonSet',
  Job: 'Job',
  CronJob: 'CronJob',
  Service: 'Service',
  Node: 'Node',
  Namespace: 'Namespace',
  PersistentVolumeClaim: 'PersistentVolumeClaim',
  ServiceAccount: 'ServiceAccount',
  PodDisruptionBudget: 'PodDisruptionBudget',
  HorizontalPodAutoscaler: 'HorizontalPodAutoscaler',
  ServiceCIDR: 'ServiceCIDR',
  ...Object.fromEntries(METADATA_ONLY_KINDS.map((k) => [k, 'ObjectWithMetadata'])),
};

/**
 * The root type of a kind (e.g. `Deployment`), or undefined for kinds the table does not
 * know (custom resources): those get no strategic behaviour, i.e. every map merges and
 * every list is replaced, as with a JSON merge patch.
 */
export function rootTypeForKind(kind: string): string | undefined {
  return hasOwn(KIND_ROOTS, kind) ? KIND_ROOTS[kind] : undefined;
}

/** True when `kind` has strategic merge metadata in the table. */
export function isKnownKind(kind: string): boolean {
  return rootTypeForKind(kind) !== undefined;
}

/** Patch metadata of `field` inside a value of type `type`; undefined when there is none. */
export function fieldSchemaOf(type: string | undefined, field: string): FieldSchema | undefined {
  if (type === undefined || !hasOwn(TYPES, type)) return undefined;
  const t = TYPES[type];
  return hasOwn(t, field) ? t[field] : undefined;
}
