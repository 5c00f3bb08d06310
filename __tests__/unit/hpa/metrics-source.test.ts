import type { KObject } from '../../../src/api/types';
import { RuntimeMetricsSource } from '../../../src/apiserver/metrics/metrics-source';
import { cpuQuantity, goDuration, memoryQuantity, metricsDiscovery, podMetricsObject } from '../../../src/apiserver/metrics/metrics-api';
import { FakeRuntime, ManualClock } from '../../../src/kubelet/runtime/fake/fake-runtime';

describe('RuntimeMetricsSource (FakeRuntime)', () => {
  test('sums per pod from the running app containers of running nodes', async () => {
    const clock = new ManualClock();
    const rt = new FakeRuntime({ node: 'node-1', clock, images: ['busybox'] });
    rt.setContainerScript('app', { stats: { cpuNanoCores: 250_000_000, memoryBytes: 64 * 1024 * 1024 } });
    rt.setContainerScript('side', { stats: { cpuNanoCores: 5_000_000, memoryBytes: 1024 * 1024 } });
    const sb = await rt.runPodSandbox({ podUid: 'uid-1', podName: 'web', namespace: 'default' });
    for (const name of ['app', 'side']) await rt.startContainer(await rt.createContainer(sb.id, { name, image: 'busybox' }));
    const stopped = await rt.createContainer(sb.id, { name: 'done', image: 'busybox' }); // never started
    expect(stopped).toBeDefined();

    const pod = (uid: string, node: string): KObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default', uid }, spec: { nodeName: node } });
    const src = new RuntimeMetricsSource({ runningNodes: () => ['node-1'], runtimeFor: (n) => (n === 'node-1' ? rt : undefined) });
    const got = await src.collect([pod('uid-1', 'node-1'), pod('uid-2', 'node-1'), pod('uid-3', 'node-2')]);
    expect([...got.keys()]).toEqual(['uid-1']);
    expect(got.get('uid-1')!.containers).toEqual([
      { name: 'app', cpuNanoCores: 250_000_000, memoryBytes: 64 * 1024 * 1024 },
      { name: 'side', cpuNanoCores: 5_000_000, memoryBytes: 1024 * 1024 },
    ]);
    expect(await src.podUsage('default', 'web', pod('uid-1', 'node-1'))).toBeDefined();
    const down = new RuntimeMetricsSource({ runningNodes: () => [], runtimeFor: () => rt });
    expect((await down.collect([pod('uid-1', 'node-1')])).size).toBe(0);
  });
});

describe('metrics.k8s.io encoding', () => {
  test.each([
    [0, '0'],
    [1_234, '1234n'],
    [12_000_000, '12m'],
    [250_000_000, '250m'],
    [1_500_000_000, '1500m'],
    [2_000_000_000, '2'],
  ])('cpu %i nanocores → %s', (n, q) => expect(cpuQuantity(n)).toBe(q));

  test.each([
    [0, '0'],
    [1024, '1Ki'],
    [48 * 1024 * 1024, '48Mi'],
    [1_000_001, '1000001'],
  ])('memory %i bytes → %s', (b, q) => expect(memoryQuantity(b)).toBe(q));

  test.each([
    [15_000, '15s'],
    [1_500, '1.5s'],
    [90_000, '1m30s'],
    [3_600_000, '1h0m0s'],
  ])('window %i ms → %s', (ms, s) => expect(goDuration(ms)).toBe(s));

  test('PodMetrics object and discovery documents', () => {
    const o = podMetricsObject({ namespace: 'ns', name: 'p', uid: 'u', labels: { a: 'b' }, timestamp: Date.UTC(2024, 0, 1), windowMs: 15_000, containers: [{ name: 'c', cpuNanoCores: 1e6, memoryBytes: 2048 }] }, Date.UTC(2024, 0, 1, 0, 0, 5));
    expect(o).toEqual({
      kind: 'PodMetrics',
      apiVersion: 'metrics.k8s.io/v1beta1',
      metadata: { name: 'p', namespace: 'ns', creationTimestamp: '2024-01-01T00:00:05Z', labels: { a: 'b' } },
      timestamp: '2024-01-01T00:00:00Z',
      window: '15s',
      containers: [{ name: 'c', usage: { cpu: '1m', memory: '2Ki' } }],
    });
    const d = metricsDiscovery();
    expect(d.resources).toMatchObject({ groupVersion: 'metrics.k8s.io/v1beta1', resources: [{ name: 'nodes', kind: 'NodeMetrics', namespaced: false }, { name: 'pods', kind: 'PodMetrics', namespaced: true }] });
  });
});
