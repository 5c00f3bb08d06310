import { startTestCluster, eventually } from '../helpers/cluster';
import type { HttpClient } from '../../src/client/http-client';
import type { KObject, ListObject } from '../../src/api/types';

/**
 * The scheduler in a running cluster: Node objects created by the test (no kubelets), pods
 * created through the API, placements and FailedScheduling messages read back through the API.
 */
jest.setTimeout(60_000);

type Started = Awaited<ReturnType<typeof startTestCluster>>;
let t: Started;
let c: HttpClient;

beforeEach(async () => {
  // no node heartbeats here: keep node-lifecycle from marking the test nodes NotReady
  t = await startTestCluster({ controllerSettings: { nodeMonitorGracePeriodMs: 3_600_000, podEvictionTimeoutMs: 3_600_000 } });
  c = t.client;
});
afterEach(async () => t.stop());

interface NodeOpts {
  cpu?: string;
  memory?: string;
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
}

async function addNode(name: string, o: NodeOpts = {}): Promise<void> {
  const alloc = { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: '110' };
  await c.request('POST', '/api/v1/nodes', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) } },
    spec: o.taints ? { taints: o.taints } : {},
    status: { capacity: alloc, allocatable: alloc, conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }] },
  });
}

async function addPod(name: string, spec: Record<string, unknown> = {}, labels: Record<string, string> = {}): Promise<void> {
  await c.request('POST', '/api/v1/namespaces/default/pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
  });
}

const getPod = (name: string) => c.request<KObject>('GET', `/api/v1/namespaces/default/pods/${name}`);

async function nodeOf(name: string): Promise<string> {
  return eventually(async () => {
    const p = await getPod(name);
    if (!p.spec.nodeName) throw new Error(`${name} not bound yet`);
    return p.spec.nodeName as string;
  });
}

async function placements(names: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const n of names) out[n] = await nodeOf(n);
  return out;
}

function countBy(xs: string[]): Record<string, number> {
  const m: Record<string, number> = {};
  for (const x of xs) m[x] = (m[x] ?? 0) + 1;
  return m;
}

async function failedScheduling(name: string): Promise<string[]> {
  const l = await c.request<ListObject>('GET', `/api/v1/namespaces/default/events?fieldSelector=involvedObject.name=${name}`);
  return l.items.filter((e) => e.reason === 'FailedScheduling').map((e) => e.message as string);
}

/** Waits until the pod is Pending with PodScheduled=False/Unschedulable and returns the message. */
async function unschedulableMessage(name: string): Promise<string> {
  return eventually(async () => {
    const p = await getPod(name);
    expect(p.spec.nodeName).toBeUndefined();
    const cond = (p.status?.conditions ?? []).find((x: { type: string }) => x.type === 'PodScheduled');
    if (!cond || cond.status !== 'False') throw new Error('not marked unschedulable yet');
    expect(cond.reason).toBe('Unschedulable');
    return cond.message as string;
  });
}

const cpu = (q: string) => [{ name: 'c', image: 'busybox', resources: { requests: { cpu: q } } }];

test('spreads 6 pods over 3 nodes evenly and records Scheduled events and PodScheduled=True', async () => {
  for (const n of ['node-1', 'node-2', 'node-3']) await addNode(n);
  const names = Array.from({ length: 6 }, (_, i) => `web-${i}`);
  for (const n of names) await addPod(n, { containers: cpu('100m') });
  const where = await placements(names);
  expect(Object.values(countBy(Object.values(where))).sort()).toEqual([2, 2, 2]);
  const p = await getPod('web-0');
  expect((p.status.conditions as { type: string; status: string }[]).find((x) => x.type === 'PodScheduled')?.status).toBe('True');
  const ev = await eventually(async () => {
    const l = await c.request<ListObject>('GET', '/api/v1/namespaces/default/events?fieldSelector=involvedObject.name=web-0');
    const s = l.items.find((e) => e.reason === 'Scheduled');
    if (!s) throw new Error('no Scheduled event');
    return s;
  });
  expect(ev.message).toBe(`Successfully assigned default/web-0 to ${where['web-0']}`);
  expect(ev.source).toEqual({ component: 'default-scheduler' });
});

test('a pod too big stays Pending with the exact FailedScheduling message, then lands on a bigger node', async () => {
  const cp = [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }];
  await addNode('cp-1', { cpu: '2', taints: cp });
  await addNode('cp-2', { cpu: '2', taints: cp });
  await addNode('small', { cpu: '2' });
  await addPod('big', { containers: cpu('3') });
  const want =
    '0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.';
  expect(await unschedulableMessage('big')).toBe(want);
  expect(await eventually(async () => {
    const m = await failedScheduling('big');
    if (!m.length) throw new Error('no event yet');
    return m;
  })).toEqual([want]);
  const p = await getPod('big');
  expect(p.status.phase).toBe('Pending');
  await addNode('large', { cpu: '8' });
  expect(await nodeOf('big')).toBe('large');
});

test('taints and tolerations: NoSchedule keeps pods off unless tolerated; PreferNoSchedule is avoided', async () => {
  await addNode('tainted', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] });
  await addNode('soft', { taints: [{ key: 'spot', effect: 'PreferNoSchedule' }] });
  await addNode('plain');
  const names = ['a', 'b', 'c', 'd'];
  for (const n of names) await addPod(n);
  const where = await placements(names);
  expect(Object.values(where)).not.toContain('tainted');
  await addPod('tolerant', {
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }],
    nodeSelector: { 'kubernetes.io/hostname': 'tainted' },
  });
  expect(await nodeOf('tolerant')).toBe('tainted');
  // only the PreferNoSchedule node left for a pod that cannot use 'plain' or 'tainted'
  await addPod('pref', { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'NotIn', values: ['plain'] }] }] } } } });
  expect(await nodeOf('pref')).toBe('soft');
  await addPod('nowhere', { nodeSelector: { 'kubernetes.io/hostname': 'tainted' } });
  expect(await unschedulableMessage('nowhere')).toBe(
    "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
  );
});

test('nodeSelector and required/preferred node affinity', async () => {
  await addNode('ssd-a', { labels: { disk: 'ssd', zone: 'a', cores: '16' } });
  await addNode('ssd-b', { labels: { disk: 'ssd', zone: 'b', cores: '4' } });
  await addNode('hdd-a', { labels: { disk: 'hdd', zone: 'a', cores: '16' } });
  await addPod('sel', { nodeSelector: { disk: 'hdd' } });
  expect(await nodeOf('sel')).toBe('hdd-a');
  await addPod('req', {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }, { key: 'cores', operator: 'Gt', values: ['8'] }] }],
        },
      },
    },
  });
  expect(await nodeOf('req')).toBe('ssd-a');
  await addPod('pref', {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'disk', operator: 'Exists' }] }] },
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] } }],
      },
    },
  });
  expect(await nodeOf('pref')).toBe('ssd-b');
  await addPod('none', { nodeSelector: { disk: 'nvme' } });
  expect(await unschedulableMessage('none')).toBe(
    "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
  );
  // labelling a node makes the pod schedulable
  await c.request('PATCH', '/api/v1/nodes/hdd-a', { metadata: { labels: { disk: 'nvme' } } }, { 'Content-Type': 'application/merge-patch+json' });
  expect(await nodeOf('none')).toBe('hdd-a');
});

test('required pod anti-affinity by hostname: one per node; the extra replica waits for a node', async () => {
  for (const n of ['n1', 'n2', 'n3']) await addNode(n);
  const anti = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'kubernetes.io/hostname' }] } };
  const names = ['db-0', 'db-1', 'db-2'];
  for (const n of names) await addPod(n, { affinity: anti }, { app: 'db' });
  const where = await placements(names);
  expect(new Set(Object.values(where)).size).toBe(3);
  await addPod('db-3', { affinity: anti }, { app: 'db' });
  expect(await unschedulableMessage('db-3')).toBe(
    "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
  );
  // deleting a replica frees its node
  await c.request('DELETE', '/api/v1/namespaces/default/pods/db-1?gracePeriodSeconds=0');
  expect(await nodeOf('db-3')).toBe(where['db-1']);
});

test('required pod affinity by zone follows the target pod', async () => {
  await addNode('a1', { labels: { zone: 'a' } });
  await addNode('b1', { labels: { zone: 'b' } });
  await addNode('b2', { labels: { zone: 'b' } });
  await addPod('cache', { nodeSelector: { 'kubernetes.io/hostname': 'a1' } }, { app: 'cache' });
  await nodeOf('cache');
  const aff = { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'cache' } }, topologyKey: 'zone' }] } };
  await addPod('web', { affinity: aff });
  expect(await nodeOf('web')).toBe('a1');
});

test('topology spread: maxSkew 1 over zones with DoNotSchedule', async () => {
  await addNode('a1', { labels: { zone: 'a' } });
  await addNode('a2', { labels: { zone: 'a' } });
  await addNode('b1', { labels: { zone: 'b' } });
  const spread = { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } } }] };
  const names = ['w0', 'w1', 'w2', 'w3'];
  for (const n of names) {
    await addPod(n, spread, { app: 'web' });
    await nodeOf(n);
  }
  const where = await placements(names);
  const zones = Object.values(where).map((n) => (n.startsWith('a') ? 'a' : 'b'));
  expect(countBy(zones)).toEqual({ a: 2, b: 2 });
  // pinned to zone b (nodeAffinityPolicy Honor: only zone b counts, so the skew holds)
  await addPod('w4', { ...spread, nodeSelector: { zone: 'b' } }, { app: 'web' });
  expect(await nodeOf('w4')).toBe('b1');
  // with nodeAffinityPolicy Ignore zone a counts too: b would have 4 against a's 2
  const ignore = { topologySpreadConstraints: [{ ...spread.topologySpreadConstraints[0], nodeAffinityPolicy: 'Ignore' }] };
  await addPod('w5', { ...ignore, nodeSelector: { zone: 'b' } }, { app: 'web' });
  expect(await unschedulableMessage('w5')).toBe(
    "0/3 nodes are available: 1 node(s) didn't match pod topology spread constraints, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.",
  );
});

test('hostPort conflicts keep a second pod off the node', async () => {
  await addNode('n1');
  await addNode('n2');
  const port = { containers: [{ name: 'c', image: 'busybox', ports: [{ containerPort: 80, hostPort: 8080 }] }] };
  for (const n of ['p1', 'p2']) await addPod(n, port);
  const where = await placements(['p1', 'p2']);
  expect(where.p1).not.toBe(where.p2);
  await addPod('p3', port);
  expect(await unschedulableMessage('p3')).toBe(
    "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.",
  );
  await addPod('other-port', { containers: [{ name: 'c', image: 'busybox', ports: [{ containerPort: 80, hostPort: 9090 }] }] });
  await nodeOf('other-port');
});

test('a cordoned node is skipped; uncordoning makes it usable again', async () => {
  await addNode('n1');
  await addNode('n2');
  await c.request('PATCH', '/api/v1/nodes/n1', { spec: { unschedulable: true } }, { 'Content-Type': 'application/strategic-merge-patch+json' });
  const names = ['a', 'b', 'c'];
  for (const n of names) await addPod(n);
  expect(Object.values(await placements(names))).toEqual(['n2', 'n2', 'n2']);
  await c.request('PATCH', '/api/v1/nodes/n2', { spec: { unschedulable: true } }, { 'Content-Type': 'application/strategic-merge-patch+json' });
  await addPod('d');
  expect(await unschedulableMessage('d')).toBe('0/2 nodes are available: 2 node(s) were unschedulable. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.');
  await c.request('PATCH', '/api/v1/nodes/n1', { spec: { unschedulable: null } }, { 'Content-Type': 'application/strategic-merge-patch+json' });
  expect(await nodeOf('d')).toBe('n1');
});

test('a NotReady node is skipped with the not-ready taint wording', async () => {
  await addNode('n1');
  const n = await c.request<KObject>('GET', '/api/v1/nodes/n1');
  n.status.conditions = [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: 'stopped' }];
  await c.request('PUT', '/api/v1/nodes/n1/status', n);
  await addPod('p');
  expect(await unschedulableMessage('p')).toBe(
    '0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.',
  );
  const m = await c.request<KObject>('GET', '/api/v1/nodes/n1');
  m.status.conditions = [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'ok' }];
  await c.request('PUT', '/api/v1/nodes/n1/status', m);
  expect(await nodeOf('p')).toBe('n1');
});

test('pods for another scheduler and pods with nodeName are left alone; no nodes at all is reported', async () => {
  await addPod('mine');
  expect(await unschedulableMessage('mine')).toBe('no nodes available to schedule pods');
  await addPod('theirs', { schedulerName: 'other-scheduler' });
  await addNode('n1', { cpu: '1' });
  expect(await nodeOf('mine')).toBe('n1');
  const theirs = await getPod('theirs');
  expect(theirs.spec.nodeName).toBeUndefined();
  expect(theirs.status.conditions ?? []).toEqual([]);
  // a pod created with nodeName counts against the node's resources
  await addPod('direct', { nodeName: 'n1', containers: cpu('900m') });
  await addPod('after', { containers: cpu('500m') });
  expect(await unschedulableMessage('after')).toBe('0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.');
});

test('priority: a higher-priority pod preempts a lower-priority one and is bound once it is gone', async () => {
  await addNode('n1', { cpu: '2' });
  await addPod('low', { priority: 0, containers: cpu('1500m') });
  await nodeOf('low');
  await addPod('high', { priority: 1000, containers: cpu('1500m') });
  const victim = await eventually(async () => {
    const p = await getPod('low');
    if (!p.metadata.deletionTimestamp) throw new Error('not evicted yet');
    return p;
  });
  expect((victim.status.conditions as { type: string; reason?: string }[]).find((x) => x.type === 'DisruptionTarget')?.reason).toBe('PreemptionByScheduler');
  const nominated = await eventually(async () => {
    const p = await getPod('high');
    if (!p.status?.nominatedNodeName) throw new Error('not nominated yet');
    return p.status.nominatedNodeName as string;
  });
  expect(nominated).toBe('n1');
  const evs = await c.request<ListObject>('GET', '/api/v1/namespaces/default/events?fieldSelector=involvedObject.name=low');
  expect(evs.items.some((e) => e.reason === 'Preempted' && /^Preempted by pod .+ on node n1$/.test(e.message as string))).toBe(true);
  // no kubelet here: finish the graceful deletion like a kubelet would
  await c.request('DELETE', '/api/v1/namespaces/default/pods/low?gracePeriodSeconds=0');
  expect(await nodeOf('high')).toBe('n1');
});

test('a higher-priority pending pod is scheduled first', async () => {
  await addNode('n1', { cpu: '1' });
  const cordon = (v: boolean | null) => c.request('PATCH', '/api/v1/nodes/n1', { spec: { unschedulable: v } }, { 'Content-Type': 'application/strategic-merge-patch+json' });
  await cordon(true);
  await addPod('low', { priority: 1, preemptionPolicy: 'Never', containers: cpu('800m') });
  await addPod('high', { priority: 100, preemptionPolicy: 'Never', containers: cpu('800m') });
  await unschedulableMessage('low');
  await unschedulableMessage('high');
  // let both back-offs (1 s after the first attempt) run out, so the node event moves both to activeQ at once
  await new Promise((r) => setTimeout(r, 1100));
  await cordon(null);
  expect(await nodeOf('high')).toBe('n1');
  expect(await unschedulableMessage('low')).toBe('0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.');
});

test('a Deployment\'s replicas are spread over the nodes (ReplicaSet-owned pods get the default spreading)', async () => {
  for (const n of ['n1', 'n2', 'n3']) await addNode(n);
  await c.request('POST', '/apis/apps/v1/namespaces/default/deployments', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: { replicas: 6, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
  });
  const nodes = await eventually(async () => {
    const l = await c.request<ListObject>('GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb');
    const bound = l.items.filter((p) => p.spec.nodeName).map((p) => p.spec.nodeName as string);
    if (bound.length < 6) throw new Error(`${bound.length} of 6 bound`);
    return bound;
  }, 30_000);
  expect(countBy(nodes)).toEqual({ n1: 2, n2: 2, n3: 2 });
});
