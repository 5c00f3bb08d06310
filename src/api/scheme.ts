/**
 * The scheme: every served resource, its group/version/kind, scope and discovery data.
 * The API server, the CLI and the printers all look resources up here.
 */
export interface ResourceInfo {
  group: string; // '' for core
  version: string;
  resource: string; // plural, e.g. 'deployments'
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  verbs: string[];
  /** subresource names served, e.g. ['status', 'scale'] */
  subresources: string[];
  /** other served versions, converted to and from `version` (the storage version) by src/api/conversion.ts */
  alternateVersions?: string[];
}

const ALL = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function r(
  group: string,
  version: string,
  resource: string,
  kind: string,
  namespaced: boolean,
  opts: { shortNames?: string[]; categories?: string[]; subresources?: string[]; verbs?: string[]; singular?: string; alternateVersions?: string[] } = {},
): ResourceInfo {
  return {
    group,
    version,
    resource,
    kind,
    namespaced,
    singular: opts.singular ?? kind.toLowerCase(),
    shortNames: opts.shortNames,
    categories: opts.categories,
    verbs: opts.verbs ?? ALL,
    subresources: opts.subresources ?? [],
    ...(opts.alternateVersions ? { alternateVersions: opts.alternateVersions } : {}),
  };
}

export const RESOURCES: ResourceInfo[] = [
  r('', 'v1', 'namespaces', 'Namespace', false, { shortNames: ['ns'], subresources: ['status', 'finalize'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] }),
  r('', 'v1', 'pods', 'Pod', true, { shortNames: ['po'], categories: ['all'], subresources: ['status', 'binding', 'eviction', 'log', 'exec', 'attach', 'portforward'] }),
  r('', 'v1', 'nodes', 'Node', false, { shortNames: ['no'], subresources: ['status'] }),
  r('', 'v1', 'services', 'Service', true, { shortNames: ['svc'], categories: ['all'], subresources: ['status'], verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] }),
  r('', 'v1', 'endpoints', 'Endpoints', true, { shortNames: ['ep'], singular: 'endpoints' }),
  r('', 'v1', 'configmaps', 'ConfigMap', true, { shortNames: ['cm'] }),
  r('', 'v1', 'secrets', 'Secret', true),
  r('', 'v1', 'events', 'Event', true, { shortNames: ['ev'] }),
  r('', 'v1', 'serviceaccounts', 'ServiceAccount', true, { shortNames: ['sa'] }),
  r('', 'v1', 'persistentvolumes', 'PersistentVolume', false, { shortNames: ['pv'], subresources: ['status'] }),
  r('', 'v1', 'persistentvolumeclaims', 'PersistentVolumeClaim', true, { shortNames: ['pvc'], subresources: ['status'] }),
  r('apps', 'v1', 'deployments', 'Deployment', true, { shortNames: ['deploy'], categories: ['all'], subresources: ['status', 'scale'] }),
  r('apps', 'v1', 'replicasets', 'ReplicaSet', true, { shortNames: ['rs'], categories: ['all'], subresources: ['status', 'scale'] }),
  r('apps', 'v1', 'statefulsets', 'StatefulSet', true, { shortNames: ['sts'], categories: ['all'], subresources: ['status', 'scale'] }),
  r('apps', 'v1', 'daemonsets', 'DaemonSet', true, { shortNames: ['ds'], categories: ['all'], subresources: ['status'] }),
  r('apps', 'v1', 'controllerrevisions', 'ControllerRevision', true),
  r('batch', 'v1', 'jobs', 'Job', true, { categories: ['all'], subresources: ['status'] }),
  r('batch', 'v1', 'cronjobs', 'CronJob', true, { shortNames: ['cj'], categories: ['all'], subresources: ['status'] }),
  r('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', true, { shortNames: ['pdb'], subresources: ['status'] }),
  r('coordination.k8s.io', 'v1', 'leases', 'Lease', true),
  r('networking.k8s.io', 'v1', 'ingresses', 'Ingress', true, { shortNames: ['ing'], subresources: ['status'] }),
  r('networking.k8s.io', 'v1', 'ingressclasses', 'IngressClass', false),
  r('storage.k8s.io', 'v1', 'storageclasses', 'StorageClass', false, { shortNames: ['sc'] }),
  r('autoscaling', 'v2', 'horizontalpodautoscalers', 'HorizontalPodAutoscaler', true, { shortNames: ['hpa'], categories: ['all'], subresources: ['status'], alternateVersions: ['v1'] }),
  r('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice', true),
];

/** Subresources whose kind differs from the parent's (discovery and request decoding). */
export const SUBRESOURCE_KINDS: Record<string, { group: string; version: string; kind: string; verbs: string[] }> = {
  'pods/binding': { group: '', version: 'v1', kind: 'Binding', verbs: ['create'] },
  'pods/eviction': { group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] },
  'pods/log': { group: '', version: 'v1', kind: 'Pod', verbs: ['get'] },
  'pods/exec': { group: '', version: 'v1', kind: 'PodExecOptions', verbs: ['create', 'get'] },
  'pods/attach': { group: '', version: 'v1', kind: 'PodAttachOptions', verbs: ['create', 'get'] },
  'pods/portforward': { group: '', version: 'v1', kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
  'namespaces/finalize': { group: '', version: 'v1', kind: 'Namespace', verbs: ['update'] },
  scale: { group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] },
  status: { group: '', version: '', kind: '', verbs: ['get', 'patch', 'update'] },
};

const byGR = new Map<string, ResourceInfo>();
const byGK = new Map<string, ResourceInfo>();
for (const ri of RESOURCES) {
  byGR.set(`${ri.group}/${ri.resource}`, ri);
  byGK.set(`${ri.group}/${ri.kind}`, ri);
}

export function groupVersion(ri: { group: string; version: string }): string {
  return ri.group ? `${ri.group}/${ri.version}` : ri.version;
}

export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

export function resourceFor(group: string, resource: string): ResourceInfo | undefined {
  return byGR.get(`${group}/${resource}`);
}

export function resourceForKind(group: string, kind: string): ResourceInfo | undefined {
  return byGK.get(`${group}/${kind}`);
}

/** True when `version` of the resource is served (its storage version or an alternate one). */
export function servesVersion(ri: ResourceInfo, version: string): boolean {
  return ri.version === version || !!ri.alternateVersions?.includes(version);
}

/** Looks up by apiVersion + kind, e.g. ('apps/v1', 'Deployment'). The version must be served. */
export function resourceForObject(apiVersion: string, kind: string): ResourceInfo | undefined {
  const { group, version } = parseApiVersion(apiVersion);
  const ri = byGK.get(`${group}/${kind}`);
  return ri && servesVersion(ri, version) ? ri : undefined;
}

/**
 * Resolves what a user types on a command line (`po`, `pods`, `pod`, `deploy`, `deployments.apps`,
 * `Deployment`) to a resource, the way kubectl's RESTMapper does.
 */
export function resolveResourceName(name: string): ResourceInfo | undefined {
  const lower = name.toLowerCase();
  const dot = lower.indexOf('.');
  const base = dot < 0 ? lower : lower.slice(0, dot);
  const group = dot < 0 ? undefined : lower.slice(dot + 1);
  for (const ri of RESOURCES) {
    if (group !== undefined && ri.group !== group) continue;
    if (ri.resource === base || ri.singular === base || ri.kind.toLowerCase() === base || ri.shortNames?.includes(base)) return ri;
  }
  return undefined;
}

/** `deployments.apps`, or `pods` for core: the qualified resource used in error messages. */
export function qualifiedResource(ri: { group: string; resource: string }): string {
  return ri.group ? `${ri.resource}.${ri.group}` : ri.resource;
}
