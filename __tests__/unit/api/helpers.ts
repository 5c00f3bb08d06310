/** Shared fixtures for the admission unit tests: valid objects of each kind and error helpers. */
import { applyDefaults } from '../../../src/api/defaults';
import { validateObject } from '../../../src/api/validation';
import type { KObject } from '../../../src/api/types';
import type { FieldError } from '../../../src/util/errors';

export type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** Defaults a copy of `obj` (and of `old`) and validates it. */
export function check(obj: Any, old?: Any): FieldError[] {
  const o = clone(obj) as KObject;
  applyDefaults(o);
  let prev: KObject | undefined;
  if (old) {
    prev = clone(old) as KObject;
    applyDefaults(prev);
  }
  return validateObject(o, prev);
}

/** Defaults a copy and returns it. */
export function defaulted<T extends Any>(obj: T): T {
  const o = clone(obj);
  applyDefaults(o as unknown as KObject);
  return o;
}

export function fmt(errs: FieldError[]): string {
  return errs.map((e) => `${e.type} ${e.field}: ${e.message}`).join('\n');
}

/** Deep-set by dotted path with [i] indexes: set(o, 'spec.containers[0].image', 'x'). */
export function set(o: Any, path: string, v: unknown): Any {
  const parts = path.replace(/\[(\d+)\]/g, '.$1').split('.');
  let cur: Any = o;
  for (let i = 0; i < parts.length - 1; i++) {
    const k = parts[i];
    if (cur[k] === undefined || cur[k] === null || typeof cur[k] !== 'object') cur[k] = /^\d+$/.test(parts[i + 1]) ? [] : {};
    cur = cur[k];
  }
  const last = parts[parts.length - 1];
  if (v === undefined) delete cur[last];
  else cur[last] = v;
  return o;
}

export function withField(obj: Any, path: string, v: unknown): Any {
  return set(clone(obj), path, v);
}

export const META = (name = 'web', namespace = 'default'): Any => ({ name, namespace, uid: 'uid-1', resourceVersion: '1', creationTimestamp: '2024-01-01T00:00:00Z' });

export const container = (name = 'app', image = 'nginx:1.25'): Any => ({ name, image });

export const podSpec = (): Any => ({ containers: [container()] });

export const pod = (): Any => ({ apiVersion: 'v1', kind: 'Pod', metadata: META('web'), spec: podSpec() });

export const template = (labels: Any = { app: 'web' }): Any => ({ metadata: { labels }, spec: podSpec() });

export const deployment = (): Any => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: META('web'),
  spec: { selector: { matchLabels: { app: 'web' } }, template: template() },
});

export const replicaSet = (): Any => ({ ...deployment(), kind: 'ReplicaSet' });

export const statefulSet = (): Any => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: META('db'),
  spec: { serviceName: 'db', selector: { matchLabels: { app: 'web' } }, template: template() },
});

export const daemonSet = (): Any => ({ ...deployment(), kind: 'DaemonSet' });

export const jobTemplate = (): Any => {
  const t = template({ app: 'batch' });
  t.spec.restartPolicy = 'Never';
  return t;
};

export const job = (): Any => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: META('pi'), spec: { template: jobTemplate() } });

export const cronJob = (): Any => ({
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: META('tick'),
  spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: jobTemplate() } } },
});

export const service = (): Any => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: META('web'),
  spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
});

export const configMap = (): Any => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: META('cfg'), data: { 'app.conf': 'x=1' } });

export const secret = (): Any => ({ apiVersion: 'v1', kind: 'Secret', metadata: META('s'), data: { password: 'cGFzcw==' } });

export const namespace = (name = 'dev'): Any => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, uid: 'u' } });

export const node = (): Any => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', uid: 'u' }, spec: {}, status: { capacity: { cpu: '4', memory: '8Gi', pods: '110' } } });

export const pvc = (): Any => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: META('data'),
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
});

export const pv = (): Any => ({
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: { name: 'pv1', uid: 'u' },
  spec: { capacity: { storage: '5Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/data/pv1' } },
});

export const storageClass = (): Any => ({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'standard', uid: 'u' }, provisioner: 'rancher.io/local-path' });

export const ingress = (): Any => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: META('ing'),
  spec: {
    rules: [{ host: 'example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }],
  },
});

export const hpa = (): Any => ({
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: META('web'),
  spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 5 },
});

export const pdb = (): Any => ({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: META('web'), spec: { minAvailable: 1, selector: { matchLabels: { app: 'web' } } } });

/** One valid object of every served kind. */
export function allValid(): Any[] {
  return [
    pod(),
    deployment(),
    replicaSet(),
    statefulSet(),
    daemonSet(),
    job(),
    cronJob(),
    service(),
    configMap(),
    secret(),
    namespace(),
    node(),
    pvc(),
    pv(),
    storageClass(),
    ingress(),
    hpa(),
    pdb(),
    { apiVersion: 'v1', kind: 'Endpoints', metadata: META('web'), subsets: [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }] }] },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: META('default') },
    { apiVersion: 'v1', kind: 'Event', metadata: META('web.17a'), involvedObject: { kind: 'Pod', name: 'web', namespace: 'default' }, reason: 'Scheduled', type: 'Normal', count: 1 },
    { apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: META('web-abc'), revision: 1, data: {} },
    { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: META('lock'), spec: { holderIdentity: 'me', leaseDurationSeconds: 15 } },
    { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nginx', uid: 'u' }, spec: { controller: 'k8s.io/ingress-nginx' } },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: META('web-x'),
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true } }],
      ports: [{ port: 80, name: 'http' }],
    },
  ];
}

/** Deep-get by dotted path with [i] indexes. */
export function get(o: unknown, path: string): unknown {
  const parts = path.replace(/\[(\d+)\]/g, '.$1').split('.');
  let cur: unknown = o;
  for (const p of parts) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Any)[p];
  }
  return cur;
}

/**
 * Asserts `errs` contains an error on `field` whose message equals `message` (string) or
 * matches it (RegExp), optionally of `type`.
 */
export function expectError(errs: FieldError[], field: string, message: string | RegExp, type?: string): void {
  const hit = errs.find(
    (e) => e.field === field && (typeof message === 'string' ? e.message === message : message.test(e.message)) && (!type || e.type === type),
  );
  if (!hit) throw new Error(`expected error on ${field} ${type ?? ''} ${String(message)}; got:\n${fmt(errs) || '(none)'}`);
}

export function expectValid(errs: FieldError[]): void {
  if (errs.length) throw new Error(`expected no errors; got:\n${fmt(errs)}`);
}
