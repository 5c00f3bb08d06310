/**
 * Services against a real store + API server (no kubelets: pod status is set by the test):
 * ClusterIP/NodePort allocation through the API, the built-in Services, Endpoints and
 * EndpointSlices following pod readiness and deletion, service environment variables.
 */
import { startTestCluster, eventually } from '../helpers/cluster';
import { resourceFor } from '../../src/api/scheme';
import type { KObject } from '../../src/api/types';
import { ApiError } from '../../src/util/errors';

jest.setTimeout(60_000);

type Started = Awaited<ReturnType<typeof startTestCluster>>;
let t: Started;
const PODS = resourceFor('', 'pods')!;
const SVCS = resourceFor('', 'services')!;
const EPS = resourceFor('', 'endpoints')!;
const SLICES = resourceFor('discovery.k8s.io', 'endpointslices')!;

beforeAll(async () => {
  t = await startTestCluster();
});
afterAll(async () => {
  await t.stop();
});

function createPod(name: string, labels: Record<string, string>, port = 8080, extra: Record<string, unknown> = {}): KObject {
  return t.cluster.registry.create(PODS, 'default', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: { nodeName: 'node-a', containers: [{ name: 'c', image: 'busybox', ports: [{ name: 'http', containerPort: port }] }], ...extra },
  });
}

function setStatus(name: string, ip: string, ready: boolean): void {
  t.cluster.registry.guaranteedUpdate(
    PODS,
    'default',
    name,
    (p) => {
      p.status = { ...(p.status ?? {}), phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] };
      return p;
    },
    { subresource: 'status' },
  );
}

function slicesOf(svc: string): KObject[] {
  return t.cluster.registry.list(SLICES, 'default').items.filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === svc);
}

describe('Service allocation through the API', () => {
  test('ClusterIP from 10.96.0.0/12, NodePort in range, a taken nodePort is 422', async () => {
    const svc = await t.client.request<KObject>('POST', '/api/v1/namespaces/default/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'np' },
      spec: { type: 'NodePort', selector: { app: 'x' }, ports: [{ port: 80, nodePort: 31234 }] },
    });
    expect(svc.spec.clusterIP).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/);
    expect(svc.spec.ports[0].nodePort).toBe(31234);
    const err = await t.client
      .request('POST', '/api/v1/namespaces/default/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'np2' }, spec: { type: 'NodePort', ports: [{ port: 80, nodePort: 31234 }] } })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(422);
    expect((err as ApiError).message).toContain('provided port is already allocated');
    // deleting releases the port
    await t.client.request('DELETE', '/api/v1/namespaces/default/services/np');
    const again = await t.client.request<KObject>('POST', '/api/v1/namespaces/default/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'np2' }, spec: { type: 'NodePort', ports: [{ port: 80, nodePort: 31234 }] } });
    expect(again.spec.ports[0].nodePort).toBe(31234);
    await t.client.request('DELETE', '/api/v1/namespaces/default/services/np2');
  });

  test('the kubernetes and kube-dns Services exist at their fixed addresses, with Endpoints mirrored to slices', async () => {
    const k = t.cluster.registry.get(SVCS, 'default', 'kubernetes');
    expect(k.spec.clusterIP).toBe('10.96.0.1');
    const d = t.cluster.registry.get(SVCS, 'kube-system', 'kube-dns');
    expect(d.spec.clusterIP).toBe('10.96.0.10');
    expect(d.spec.ports.map((p: { name: string; port: number; protocol: string }) => `${p.name}:${p.port}/${p.protocol}`)).toEqual(['dns:53/UDP', 'dns-tcp:53/TCP']);
    await eventually(() => {
      const ep = t.cluster.registry.get(EPS, 'default', 'kubernetes');
      expect(ep.subsets).toEqual([{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'https', port: t.cluster.port, protocol: 'TCP' }] }]);
      const sl = slicesOf('kubernetes');
      expect(sl).toHaveLength(1);
      expect(sl[0].metadata.labels['endpointslice.kubernetes.io/managed-by']).toBe('endpointslicemirroring-controller.k8s.io');
      expect(sl[0].endpoints[0].addresses).toEqual(['127.0.0.1']);
    });
    // deleted → recreated
    t.cluster.registry.delete(SVCS, 'default', 'kubernetes');
    await eventually(() => expect(t.cluster.registry.get(SVCS, 'default', 'kubernetes').spec.clusterIP).toBe('10.96.0.1'));
  });
});

describe('Endpoints and EndpointSlices follow pods', () => {
  test('readiness, named ports, terminating pods and deletion, each within a second', async () => {
    t.cluster.registry.create(SVCS, 'default', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', labels: { team: 'a' } },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    });
    createPod('web-1', { app: 'web' }, 8080);
    createPod('web-2', { app: 'web' }, 9090);
    createPod('other', { app: 'other' });
    setStatus('web-1', '10.244.1.10', true);
    setStatus('web-2', '10.244.1.11', false);
    setStatus('other', '10.244.1.12', true);
    const fast = (fn: () => void) => eventually(fn, 1000, 10);

    await fast(() => {
      const ep = t.cluster.registry.get(EPS, 'default', 'web');
      expect(ep.metadata.labels).toEqual({ team: 'a' });
      const byPort = Object.fromEntries(ep.subsets.map((s: { ports: { port: number }[] }) => [s.ports[0].port, s]));
      expect(byPort[8080].addresses.map((a: { ip: string }) => a.ip)).toEqual(['10.244.1.10']);
      expect(byPort[9090].notReadyAddresses.map((a: { ip: string }) => a.ip)).toEqual(['10.244.1.11']);
      expect(byPort[8080].addresses[0]).toMatchObject({ nodeName: 'node-a', targetRef: { kind: 'Pod', name: 'web-1', namespace: 'default' } });
      const sl = slicesOf('web');
      expect(sl).toHaveLength(2); // one per resolved port
      for (const s of sl) {
        expect(s.addressType).toBe('IPv4');
        expect(s.metadata.ownerReferences[0]).toMatchObject({ kind: 'Service', name: 'web', controller: true });
        expect(s.metadata.labels).toMatchObject({ team: 'a', 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' });
      }
      const e2 = sl.flatMap((s) => s.endpoints).find((e) => e.addresses[0] === '10.244.1.11');
      expect(e2.conditions).toEqual({ ready: false, serving: false, terminating: false });
    });

    setStatus('web-2', '10.244.1.11', true);
    await fast(() => {
      const ips = t.cluster.registry.get(EPS, 'default', 'web').subsets.flatMap((s: { addresses?: { ip: string }[] }) => (s.addresses ?? []).map((a) => a.ip));
      expect(ips.sort()).toEqual(['10.244.1.10', '10.244.1.11']);
    });

    // a terminating pod leaves Endpoints, stays in its slice marked terminating
    t.cluster.registry.delete(PODS, 'default', 'web-1', { gracePeriodSeconds: 30 });
    await fast(() => {
      const ips = t.cluster.registry.get(EPS, 'default', 'web').subsets.flatMap((s: { addresses?: { ip: string }[] }) => (s.addresses ?? []).map((a) => a.ip));
      expect(ips).toEqual(['10.244.1.11']);
      const e1 = slicesOf('web').flatMap((s) => s.endpoints).find((e) => e.addresses[0] === '10.244.1.10');
      expect(e1.conditions).toEqual({ ready: false, serving: true, terminating: true });
    });
    t.cluster.registry.delete(PODS, 'default', 'web-1', { gracePeriodSeconds: 0 });
    await fast(() => expect(slicesOf('web').flatMap((s) => s.endpoints).map((e) => e.addresses[0])).toEqual(['10.244.1.11']));

    // the selector changes: the pods follow
    t.cluster.registry.guaranteedUpdate(SVCS, 'default', 'web', (s) => ({ ...s, spec: { ...s.spec, selector: { app: 'other' } } }));
    await fast(() => expect(slicesOf('web').flatMap((s) => s.endpoints).map((e) => e.addresses[0])).toEqual(['10.244.1.12']));

    // the Service goes: Endpoints and slices go with it
    t.cluster.registry.delete(SVCS, 'default', 'web');
    await fast(() => {
      expect(t.cluster.registry.tryGet(EPS, 'default', 'web')).toBeUndefined();
      expect(slicesOf('web')).toEqual([]);
    });
  });

  test('a headless Service publishes hostnames of pods whose subdomain names it', async () => {
    t.cluster.registry.create(SVCS, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db' }, spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ port: 5432 }] } });
    createPod('db-0', { app: 'db' }, 5432, { hostname: 'db-0', subdomain: 'db' });
    setStatus('db-0', '10.244.2.20', true);
    await eventually(() => {
      const sl = slicesOf('db');
      expect(sl[0].metadata.labels['service.kubernetes.io/headless']).toBe('');
      expect(sl[0].endpoints[0]).toMatchObject({ addresses: ['10.244.2.20'], hostname: 'db-0' });
      expect(t.cluster.registry.get(EPS, 'default', 'db').subsets[0].addresses[0].hostname).toBe('db-0');
    });
  });

  test('service environment for new pods (the kubelet\'s serviceEnv)', () => {
    t.cluster.registry.create(SVCS, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'cache-svc' }, spec: { clusterIP: '10.96.44.44', ports: [{ name: 'redis', port: 6379 }] } });
    const env = t.cluster.network!.serviceEnv('default');
    expect(env).toMatchObject({ CACHE_SVC_SERVICE_HOST: '10.96.44.44', CACHE_SVC_SERVICE_PORT: '6379', CACHE_SVC_SERVICE_PORT_REDIS: '6379', CACHE_SVC_PORT: 'tcp://10.96.44.44:6379', KUBERNETES_SERVICE_HOST: '10.96.0.1' });
    expect(t.cluster.network!.serviceEnv('kube-system').CACHE_SVC_SERVICE_HOST).toBeUndefined();
    expect(t.cluster.network!.podDns()).toBeUndefined(); // no data plane in an API-only cluster
  });
});
