/**
 * metrics.k8s.io (`kubectl top`) and the HPA (`kubectl autoscale`, `kubectl get hpa`) with the
 * real kubectl against an in-process cluster whose metrics come from a StaticMetricsSource.
 */
import * as fs from 'node:fs';
import { startTestCluster, eventually } from '../helpers/cluster';
import { metricsAPIGroup, metricsCollectorFor, StaticMetricsSource, type MetricsCollector } from '../../src/apiserver/metrics';
import { realClock } from '../../src/controller/workqueue';
import { silentLogger } from '../../src/util/log';
import { kubectl, RI, simulateKubelets, tmpDir, writeKubeconfig } from './jobs-harness';

jest.setTimeout(120_000);

describe('kubectl top and autoscale', () => {
  let t: Awaited<ReturnType<typeof startTestCluster>>;
  let kubeconfig: string;
  let dir: string;
  let sim: ReturnType<typeof simulateKubelets>;
  let source: StaticMetricsSource;
  let collector: MetricsCollector;

  beforeAll(async () => {
    t = await startTestCluster({ controllerSettings: { hpaSyncPeriodMs: 1_000 } });
    dir = tmpDir('minictl-top-');
    const info = t.cluster.info();
    kubeconfig = writeKubeconfig(dir, info.server, info.token, info.caCertPem);
    sim = simulateKubelets(t.cluster.registry, ['node-1', 'node-2']);
    // The wiring a cluster does once (see src/apiserver/metrics/index.ts).
    collector = metricsCollectorFor({ registry: t.cluster.registry, informers: t.cluster.informers, clock: realClock, log: silentLogger, settings: {} });
    source = new StaticMetricsSource();
    collector.setSource(source);
    t.cluster.apiserver.extraGroups.push(metricsAPIGroup(collector));
  });
  afterAll(async () => {
    sim?.stop();
    await t?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const setUsage = (app: string, milli: number, mib: number) => {
    for (const p of t.cluster.registry.list(RI.pods, 'default').items) {
      if (p.metadata.labels?.app === app) source.setPod('default', p.metadata.name!, [{ name: 'web', cpuNanoCores: milli * 1e6, memoryBytes: mib * 1024 * 1024 }], { windowMs: 1_000 });
    }
  };

  test('discovery lists metrics.k8s.io; kubectl top pod and node', async () => {
    const apis = await kubectl(kubeconfig, ['api-resources', '--api-group=metrics.k8s.io', '--no-headers']);
    expect(apis.stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/)[0]).sort()).toEqual(['nodes', 'pods']);
    expect((await kubectl(kubeconfig, ['create', 'deployment', 'web', '--image=busybox', '--replicas=2'])).code).toBe(0);
    await eventually(() => expect(t.cluster.registry.list(RI.pods, 'default').items.filter((p) => p.metadata.labels?.app === 'web' && p.status?.phase === 'Running')).toHaveLength(2), 30_000, 100);
    setUsage('web', 120, 48);
    await collector.collectNow();
    const top = await kubectl(kubeconfig, ['top', 'pod', '-l', 'app=web', '--no-headers']);
    expect(top.stderr).toBe('');
    const lines = top.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/));
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l.slice(1)).toEqual(['120m', '48Mi']);
    const containers = await kubectl(kubeconfig, ['top', 'pod', lines[0][0], '--containers', '--no-headers']);
    expect(containers.stdout.trim().split(/\s+/)).toEqual([lines[0][0], 'web', '120m', '48Mi']);
    const nodes = await kubectl(kubeconfig, ['top', 'node', '--no-headers']);
    const rows = nodes.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/));
    expect(rows.map((r) => r[0])).toEqual(['node-1', 'node-2']);
    const totalCpu = rows.reduce((n, r) => n + parseInt(r[1], 10), 0);
    expect(totalCpu).toBe(240); // the two pods' usage, wherever the scheduler put them
    expect(rows[0][2]).toMatch(/^\d+%$/);
    const raw = await kubectl(kubeconfig, ['get', '--raw', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods']);
    const list = JSON.parse(raw.stdout);
    expect(list).toMatchObject({ kind: 'PodMetricsList', apiVersion: 'metrics.k8s.io/v1beta1' });
    expect(list.items[0]).toMatchObject({ kind: 'PodMetrics', window: '1s', containers: [{ name: 'web', usage: { cpu: '120m', memory: '48Mi' } }] });
    const missing = await kubectl(kubeconfig, ['top', 'pod', 'nope']);
    expect(missing.code).not.toBe(0);
  });

  test('kubectl autoscale creates an HPA that scales the Deployment up under load', async () => {
    // a request is needed for Utilization targets
    expect((await kubectl(kubeconfig, ['set', 'resources', 'deployment', 'web', '--requests=cpu=200m'])).code).toBe(0);
    await eventually(() => {
      const pods = t.cluster.registry.list(RI.pods, 'default').items.filter((p) => p.metadata.labels?.app === 'web' && !p.metadata.deletionTimestamp && p.status?.phase === 'Running');
      expect(pods).toHaveLength(2);
      expect(pods.every((p) => p.spec.containers[0].resources?.requests?.cpu === '200m')).toBe(true);
    }, 30_000, 100);
    const a = await kubectl(kubeconfig, ['autoscale', 'deployment', 'web', '--cpu-percent=50', '--min=1', '--max=5']);
    expect(a.stderr).toBe('');
    expect(a.stdout.trim()).toBe('horizontalpodautoscaler.autoscaling/web autoscaled');
    const hpa = t.cluster.registry.get(RI.hpas, 'default', 'web');
    expect(hpa.spec).toMatchObject({ minReplicas: 1, maxReplicas: 5, scaleTargetRef: { kind: 'Deployment', name: 'web' } });
    // 200% of the request on both pods: ceil(2 × 200/50) = 8, capped at 5
    await new Promise((r) => setTimeout(r, 1_100)); // samples must postdate readiness by one window
    setUsage('web', 400, 48);
    await collector.collectNow();
    await eventually(() => expect(t.cluster.registry.get(RI.deployments, 'default', 'web').spec.replicas).toBe(5), 30_000, 200);
    const ev = await kubectl(kubeconfig, ['get', 'events', '--field-selector', 'involvedObject.kind=HorizontalPodAutoscaler', '-o', 'jsonpath={.items[*].message}']);
    expect(ev.stdout).toContain('New size: 5; reason: cpu resource utilization (percentage of request) above target');
    const get = await kubectl(kubeconfig, ['get', 'hpa', 'web', '--no-headers']);
    expect(get.stdout).toMatch(/^web\s+Deployment\/web\s+cpu: 200%\/50%\s+1\s+5\s+/);
  });
});
