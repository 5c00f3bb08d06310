/**
 * NodeManager on a real store + apiserver with FakeRuntime-backed nodes: registration, labels,
 * status and leases, heartbeat, stop/start, add/remove through the API (as `minictl node` does),
 * unmanaged nodes, and a daemon restart on the same data directory.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTestCluster, eventually } from '../helpers/cluster';
import { Cluster } from '../../src/manager/cluster';
import type { KObject, ListObject } from '../../src/api/types';
import type { HttpClient } from '../../src/client/http-client';
import { ApiError } from '../../src/util/errors';
import { FakeRuntime } from '../../src/kubelet/runtime/fake/fake-runtime';
import { resourceFor } from '../../src/api/scheme';

const NODES = resourceFor('', 'nodes')!;

jest.setTimeout(60_000);

const MERGE = { 'Content-Type': 'application/merge-patch+json' };
const LEASES = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases';

type Started = Awaited<ReturnType<typeof startTestCluster>>;

function ready(n: KObject | undefined): boolean {
  return !!n && (n.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
}

async function getNode(c: HttpClient, name: string): Promise<KObject | undefined> {
  try {
    return await c.request<KObject>('GET', `/api/v1/nodes/${name}`);
  } catch (e) {
    if (e instanceof ApiError && e.code === 404) return undefined;
    throw e;
  }
}

async function lease(c: HttpClient, name: string): Promise<KObject | undefined> {
  try {
    return await c.request<KObject>('GET', `${LEASES}/${name}`);
  } catch (e) {
    if (e instanceof ApiError && e.code === 404) return undefined;
    throw e;
  }
}

function pod(name: string, node: string): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { nodeName: node, containers: [{ name: 'app', image: 'minictl/busybox:local', command: ['sleep', '3600'] }], terminationGracePeriodSeconds: 0 },
  };
}

describe('fake-runtime nodes', () => {
  let t: Started;
  let c: HttpClient;
  beforeAll(async () => {
    t = await startTestCluster({ nodes: 2, nodeRuntime: 'fake', nodeCpus: '2', nodeMemory: '4Gi', nodeManager: { leaseRenewPeriodMs: 200, statusReportPeriodMs: 1000 } });
    c = t.client;
  });
  afterAll(async () => t.stop());

  test('start registers <profile> (control plane) and <profile>-m02, Ready, with labels, capacity, addresses and nodeInfo', async () => {
    // Ready when start() resolved: no polling needed.
    const list = await c.request<ListObject>('GET', '/api/v1/nodes');
    expect(list.items.map((n) => n.metadata.name)).toEqual(['it', 'it-m02']);
    const [cp, w] = list.items;
    expect(ready(cp) && ready(w)).toBe(true);
    expect(cp.metadata.labels).toMatchObject({ 'kubernetes.io/hostname': 'it', 'kubernetes.io/os': 'linux', 'beta.kubernetes.io/os': 'linux', 'node-role.kubernetes.io/control-plane': '' });
    expect(cp.metadata.labels!['kubernetes.io/arch']).toMatch(/^(amd64|arm64|[a-z0-9]+)$/);
    expect(w.metadata.labels!['node-role.kubernetes.io/control-plane']).toBeUndefined();
    expect(cp.metadata.annotations).toMatchObject({ 'minictl.io/managed': 'true', 'minictl.io/runtime': 'fake' });
    expect(cp.spec.podCIDR).toBe('10.244.1.0/24');
    expect(w.spec.podCIDR).toBe('10.244.2.0/24');
    expect(w.status.capacity).toMatchObject({ cpu: '2', memory: `${4 * 1024 * 1024}Ki`, pods: '110' });
    expect(w.status.allocatable).toEqual(w.status.capacity);
    expect(w.status.addresses).toEqual([
      { type: 'InternalIP', address: '10.244.2.1' },
      { type: 'Hostname', address: 'it-m02' },
    ]);
    expect(w.status.nodeInfo).toMatchObject({ kubeletVersion: 'v1.32.0-minictl', containerRuntimeVersion: 'fake://0.1.0', operatingSystem: 'linux' });
    expect(w.status.conditions.map((x: { type: string }) => x.type)).toEqual(['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready']);
    expect(w.status.daemonEndpoints).toEqual({ kubeletEndpoint: { Port: 10250 } });
    expect(t.cluster.nodeManager!.kubeletFor('it')).toBeDefined();
    expect(t.cluster.nodeManager!.runtimeFor('it-m02')).toBeInstanceOf(FakeRuntime);
  });

  test('each node heartbeats through its Lease in kube-node-lease', async () => {
    const l1 = (await lease(c, 'it-m02'))!;
    expect(l1.spec).toMatchObject({ holderIdentity: 'it-m02', leaseDurationSeconds: 40 });
    expect(l1.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Node', name: 'it-m02' })]);
    expect(l1.spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    await eventually(async () => {
      const l2 = (await lease(c, 'it-m02'))!;
      expect(Date.parse(l2.spec.renewTime)).toBeGreaterThan(Date.parse(l1.spec.renewTime));
    });
  });

  test('a Ready condition overwritten by someone else is re-posted while the kubelet runs', async () => {
    const n = (await getNode(c, 'it-m02'))!;
    const conditions = n.status.conditions.map((x: { type: string }) => (x.type === 'Ready' ? { ...x, status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' } : x));
    await c.request('PUT', '/api/v1/nodes/it-m02/status', { ...n, status: { ...n.status, conditions } });
    await eventually(async () => expect(ready(await getNode(c, 'it-m02'))).toBe(true));
  });

  test('a pod bound to a node runs there; node stop stops kubelet, containers and heartbeat; node start brings them back', async () => {
    await c.request('POST', '/api/v1/namespaces/default/pods', pod('p1', 'it-m02'));
    const rt = t.cluster.nodeManager!.runtimeFor('it-m02')!;
    await eventually(async () => {
      const p = await c.request<KObject>('GET', '/api/v1/namespaces/default/pods/p1');
      expect(p.status?.phase).toBe('Running');
    }, 20_000);
    expect((await rt.listContainers()).some((x) => x.containerName === 'app')).toBe(true);

    await c.request('PATCH', '/api/v1/nodes/it-m02', { metadata: { annotations: { 'minictl.io/stopped': 'true' } } }, MERGE);
    await eventually(async () => {
      expect(t.cluster.nodeManager!.kubeletFor('it-m02')).toBeUndefined();
      expect(await rt.listContainers()).toEqual([]);
    });
    const frozen = (await lease(c, 'it-m02'))!.spec.renewTime;
    await new Promise((r) => setTimeout(r, 800)); // four renewal periods
    expect((await lease(c, 'it-m02'))!.spec.renewTime).toBe(frozen);
    // the other node keeps heartbeating
    const other = (await lease(c, 'it'))!.spec.renewTime;
    await eventually(async () => expect((await lease(c, 'it'))!.spec.renewTime).not.toBe(other));

    await c.request('PATCH', '/api/v1/nodes/it-m02', { metadata: { annotations: { 'minictl.io/stopped': null } } }, MERGE);
    await eventually(async () => {
      expect(t.cluster.nodeManager!.kubeletFor('it-m02')).toBeDefined();
      expect(Date.parse((await lease(c, 'it-m02'))!.spec.renewTime)).toBeGreaterThan(Date.parse(frozen));
      expect(ready(await getNode(c, 'it-m02'))).toBe(true);
    });
    await eventually(async () => expect((await rt.listContainers()).some((x) => x.containerName === 'app')).toBe(true), 20_000);
  });

  test('a node added through the API gets a kubelet; deleting it removes kubelet, lease and its pods', async () => {
    await c.request('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'it-m03', annotations: { 'minictl.io/managed': 'true', 'minictl.io/cpus': '500m' } } });
    await eventually(async () => {
      const n = await getNode(c, 'it-m03');
      expect(ready(n)).toBe(true);
      expect(n!.spec.podCIDR).toBe('10.244.3.0/24');
      expect(n!.status.capacity.cpu).toBe('500m');
      expect(await lease(c, 'it-m03')).toBeDefined();
    });
    await c.request('POST', '/api/v1/namespaces/default/pods', pod('p3', 'it-m03'));
    await eventually(async () => expect((await c.request<KObject>('GET', '/api/v1/namespaces/default/pods/p3')).status?.phase).toBe('Running'), 20_000);
    const rt = t.cluster.nodeManager!.runtimeFor('it-m03')!;
    await c.request('DELETE', '/api/v1/nodes/it-m03');
    await eventually(async () => {
      expect(t.cluster.nodeManager!.kubeletFor('it-m03')).toBeUndefined();
      expect(await lease(c, 'it-m03')).toBeUndefined();
      expect(await rt.listContainers({ all: true })).toEqual([]);
      await expect(c.request('GET', '/api/v1/namespaces/default/pods/p3')).rejects.toMatchObject({ code: 404 });
    });
    // its pod range is free again
    await c.request('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'it-m04', annotations: { 'minictl.io/managed': 'true' } } });
    await eventually(async () => expect((await getNode(c, 'it-m04'))?.spec?.podCIDR).toBe('10.244.3.0/24'));
    await c.request('DELETE', '/api/v1/nodes/it-m04');
  });

  test('simulated nodes get pod ranges outside the Docker range and a fake runtime', async () => {
    await c.request('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'it-s0001', annotations: { 'minictl.io/managed': 'true', 'minictl.io/simulated': 'true' } } });
    await eventually(async () => {
      const n = await getNode(c, 'it-s0001');
      expect(ready(n)).toBe(true);
      expect(n!.spec.podCIDR).toBe('100.64.1.0/24');
      expect(n!.metadata.annotations!['minictl.io/runtime']).toBeUndefined();
    });
    await c.request('DELETE', '/api/v1/nodes/it-s0001');
  });

  test('nodes without the managed annotation are left alone', async () => {
    await c.request('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'external-1' } });
    await new Promise((r) => setTimeout(r, 600));
    expect(await lease(c, 'external-1')).toBeUndefined();
    expect(t.cluster.nodeManager!.kubeletFor('external-1')).toBeUndefined();
    const n = (await getNode(c, 'external-1'))!;
    expect(n.status?.conditions).toBeUndefined();
    expect(n.metadata.labels?.['kubernetes.io/hostname']).toBeUndefined();
    await c.request('DELETE', '/api/v1/nodes/external-1');
  });
});

describe('daemon restart', () => {
  test('a restarted cluster re-creates kubelets for its existing nodes and adds none', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minictl-it-restart-'));
    const opts = { profile: 'rs', dataDir: dir, port: 0, nodeRuntime: 'fake' as const, nodeManager: { leaseRenewPeriodMs: 200 } };
    try {
      const a = new Cluster({ ...opts, nodes: 3 });
      await a.start();
      a.registry.guaranteedUpdate(NODES, undefined, 'rs-m03', (n) => {
        n.metadata.annotations = { ...n.metadata.annotations, 'minictl.io/stopped': 'true' };
        return n;
      });
      await eventually(() => expect(a.nodeManager!.runningNodes()).toEqual(['rs', 'rs-m02']));
      const before = a.registry.list(NODES, undefined).items;
      await a.stop();

      const b = new Cluster({ ...opts, nodes: 1 });
      await b.start();
      try {
        const after = b.registry.list(NODES, undefined).items;
        expect(after.map((n) => [n.metadata.name, n.metadata.uid, n.spec.podCIDR])).toEqual(before.map((n) => [n.metadata.name, n.metadata.uid, n.spec.podCIDR]));
        expect(b.nodeManager!.runningNodes()).toEqual(['rs', 'rs-m02']);
        expect(b.nodeManager!.kubeletFor('rs-m03')).toBeUndefined();
      } finally {
        await b.stop();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A Docker engine holding networks only (what node networks need), in memory. */
function fakeEngine() {
  type Net = { Id: string; Name: string; Labels: Record<string, string>; IPAM: { Config: Array<{ Subnet: string; Gateway: string }> }; Containers: Record<string, unknown> };
  const nets = new Map<string, Net>();
  const find = (idOrName: string) => nets.get(idOrName) ?? [...nets.values()].find((n) => n.Id === idOrName);
  const notFound = () => Object.assign(new Error('network not found'), { statusCode: 404 });
  const docker = {
    info: async () => ({ OperatingSystem: 'Debian GNU/Linux 12 (bookworm)' }),
    ping: async () => 'OK',
    listContainers: async () => [],
    listNetworks: async (o?: { filters?: { label?: string[] } }) =>
      [...nets.values()].filter((n) => (o?.filters?.label ?? []).every((l) => n.Labels[l.split('=')[0]] === l.split('=')[1])),
    createNetwork: async (o: { Name: string; Labels: Record<string, string>; IPAM: { Config: Array<{ Subnet: string; Gateway: string }> } }) => {
      if (nets.has(o.Name)) throw Object.assign(new Error('network exists'), { statusCode: 409 });
      nets.set(o.Name, { Id: `id-${o.Name}`, Name: o.Name, Labels: o.Labels, IPAM: o.IPAM, Containers: {} });
    },
    getNetwork: (idOrName: string) => ({
      inspect: async () => find(idOrName) ?? Promise.reject(notFound()),
      disconnect: async () => undefined,
      remove: async () => {
        const n = find(idOrName);
        if (!n) throw notFound();
        nets.delete(n.Name);
      },
    }),
  };
  return { nets, docker: docker as never };
}

describe('docker nodes where cross-node rules are not permitted', () => {
  test('nodes get their networks and stay Ready; the degraded cross-node networking is reported on them', async () => {
    const engine = fakeEngine();
    const denied = async () => ({ code: 4, stdout: '', stderr: 'iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)' });
    const t = await startTestCluster({
      nodes: 2,
      nodeRuntime: 'docker',
      network: false,
      nodeManager: { docker: engine.docker, iptables: denied, runtimeFactory: (r) => new FakeRuntime({ profile: 'it', node: r.node, podCidr: r.podCidr }) },
    });
    try {
      expect([...engine.nets.keys()].sort()).toEqual(['minictl-it-it', 'minictl-it-it-m02']);
      expect(engine.nets.get('minictl-it-it-m02')!.IPAM.Config[0]).toEqual({ Subnet: '10.244.2.0/24', Gateway: '10.244.2.1' });
      const cross = t.cluster.nodeManager!.crossNodeStatus();
      expect(cross?.status).toBe('degraded');
      await eventually(async () => {
        for (const name of ['it', 'it-m02']) {
          const n = (await getNode(t.client, name))!;
          expect(ready(n)).toBe(true);
          expect(n.metadata.annotations!['minictl.io/cross-node-network']).toMatch(/^degraded: iptables not permitted \(run as root\)/);
          expect(n.metadata.annotations!['minictl.io/runtime']).toBe('docker');
        }
      });
      expect((await getNode(t.client, 'it-m02'))!.status.addresses[0]).toEqual({ type: 'InternalIP', address: '10.244.2.1' });
      await t.client.request('DELETE', '/api/v1/nodes/it-m02');
      await eventually(() => expect([...engine.nets.keys()]).toEqual(['minictl-it-it']));
    } finally {
      await t.stop();
    }
  });
});
