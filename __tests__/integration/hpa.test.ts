import type { KObject } from '../../src/api/types';
import { hpaController } from '../../src/controllers/hpa/hpa-controller';
import { MetricsCollector } from '../../src/apiserver/metrics/collector';
import { StaticMetricsSource } from '../../src/apiserver/metrics/metrics-source';
import { Bench, RI } from './jobs-harness';

describe('HPA controller with the metrics pipeline (ManualClock, real store)', () => {
  let b: Bench;
  let source: StaticMetricsSource;
  let collector: MetricsCollector;
  beforeEach(async () => {
    b = new Bench(Date.UTC(2024, 0, 1));
    source = new StaticMetricsSource();
    collector = new MetricsCollector({ informers: b.informers, source, clock: b.clock, resolutionMs: 15_000 });
    await b.start(collector);
    await b.start(hpaController(b.ctx, { metrics: collector, syncPeriodMs: 15_000 }));
    b.registry.create(RI.nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
  });
  afterEach(() => b.stop());

  const deployment = (name: string, replicas: number) =>
    b.registry.create(RI.deployments, 'default', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '200m', memory: '64Mi' } } }] } },
      },
    });
  /** What the ReplicaSet controller, scheduler and kubelet would do: one Running pod per replica. */
  const syncPods = (name: string, cpuMillis: number) => {
    const d = b.get(RI.deployments, 'default', name);
    const have = b.list(RI.pods, 'default', { app: name });
    for (let i = have.length; i < d.spec.replicas; i++) {
      const p = b.registry.create(RI.pods, 'default', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `${name}-${i}`, labels: { app: name } },
        spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '200m', memory: '64Mi' } } }] },
      });
      b.bind(p, 'node-1');
      b.setPodStatus(p, 'Running');
    }
    for (const p of have.slice(d.spec.replicas)) b.registry.delete(RI.pods, 'default', p.metadata.name!);
    for (const p of b.list(RI.pods, 'default', { app: name })) source.setPod('default', p.metadata.name!, [{ name: 'c', cpuNanoCores: cpuMillis * 1e6, memoryBytes: 32 * 1024 * 1024 }]);
  };
  const hpa = (name: string, spec: Record<string, unknown> = {}): KObject =>
    b.registry.create(RI.hpas, 'default', {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
        minReplicas: 1,
        maxReplicas: 5,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }],
        ...spec,
      },
    });
  const status = (name: string) => b.get(RI.hpas, 'default', name).status;
  const cond = (name: string, type: string) => status(name).conditions.find((c: { type: string }) => c.type === type);
  const replicas = (name: string) => b.get(RI.deployments, 'default', name).spec.replicas;

  test('scales up under load, holds for the stabilization window, then scales down', async () => {
    deployment('web', 1);
    syncPods('web', 400); // 200% of the 200m request
    await b.advance(30_000); // samples newer than readiness + window
    hpa('web');
    await b.settle();
    expect(replicas('web')).toBe(4);
    expect(b.events.find((e) => e.reason === 'SuccessfulRescale')).toMatchObject({
      kind: 'HorizontalPodAutoscaler',
      message: 'New size: 4; reason: cpu resource utilization (percentage of request) above target',
    });
    expect(status('web')).toMatchObject({
      currentReplicas: 1,
      desiredReplicas: 4,
      lastScaleTime: '2024-01-01T00:00:30Z',
      currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 200, averageValue: '400m' } } }],
    });
    expect(cond('web', 'AbleToScale')).toMatchObject({ status: 'True', reason: 'SucceededRescale', message: 'the HPA controller was able to update the target scale to 4' });
    expect(cond('web', 'ScalingActive')).toMatchObject({ status: 'True', reason: 'ValidMetricFound', message: 'the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)' });
    expect(cond('web', 'ScalingLimited')).toMatchObject({ status: 'False', reason: 'DesiredWithinRange' });

    // load goes away
    syncPods('web', 10);
    await b.advance(60_000);
    expect(replicas('web')).toBe(4);
    expect(status('web')).toMatchObject({ currentReplicas: 4, desiredReplicas: 4 });
    expect(cond('web', 'AbleToScale')).toMatchObject({ reason: 'ScaleDownStabilized' });
    await b.advance(240_000);
    expect(replicas('web')).toBe(1);
    expect(b.events.filter((e) => e.reason === 'SuccessfulRescale').map((e) => e.message)).toEqual([
      'New size: 4; reason: cpu resource utilization (percentage of request) above target',
      'New size: 1; reason: All metrics below target',
    ]);
  });

  test('maxReplicas limits (ScalingLimited TooManyReplicas); behavior without a down window scales down at once', async () => {
    deployment('api', 2);
    syncPods('api', 1000); // 500%
    await b.advance(30_000);
    hpa('api', { maxReplicas: 3, behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } });
    await b.settle();
    expect(replicas('api')).toBe(3);
    expect(cond('api', 'ScalingLimited')).toMatchObject({ status: 'True', reason: 'TooManyReplicas' });
    syncPods('api', 10);
    await b.advance(15_000);
    await b.advance(15_000);
    expect(replicas('api')).toBe(1);
  });

  test('AverageValue on memory', async () => {
    deployment('mem', 2);
    syncPods('mem', 10); // 32Mi each
    await b.advance(30_000);
    hpa('mem', { metrics: [{ type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '16Mi' } } }] });
    await b.settle();
    expect(replicas('mem')).toBe(4);
    expect(status('mem').currentMetrics).toEqual([{ type: 'Resource', resource: { name: 'memory', current: { averageValue: '33554432' } } }]); // DecimalSI, as Kubernetes prints it
  });

  test('no metrics: ScalingActive False FailedGetResourceMetric, no scaling', async () => {
    deployment('dark', 2);
    await b.advance(30_000);
    hpa('dark');
    await b.settle();
    expect(replicas('dark')).toBe(2);
    expect(cond('dark', 'ScalingActive')).toMatchObject({
      status: 'False',
      reason: 'FailedGetResourceMetric',
      message: 'the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API',
    });
    expect(b.reasons('dark')).toEqual(expect.arrayContaining(['FailedGetResourceMetric', 'FailedComputeMetricsReplicas']));
    expect(status('dark')).toMatchObject({ currentReplicas: 2, desiredReplicas: 2 });
  });

  test('a missing target: AbleToScale False FailedGetScale', async () => {
    hpa('ghost');
    await b.settle();
    expect(cond('ghost', 'AbleToScale')).toMatchObject({ status: 'False', reason: 'FailedGetScale', message: `the HPA controller was unable to get the target's current scale: deployments.apps "ghost" not found` });
  });

  test('replicas below minReplicas are raised without metrics', async () => {
    deployment('low', 1);
    hpa('low', { minReplicas: 3 });
    await b.settle();
    expect(replicas('low')).toBe(3);
    expect(b.events.find((e) => e.reason === 'SuccessfulRescale')!.message).toBe('New size: 3; reason: Current number of replicas below Spec.MinReplicas');
  });

  test('the collector drops pods that stop running', async () => {
    deployment('c', 2);
    syncPods('c', 100);
    await b.advance(15_000);
    expect(collector.podMetrics('default').map((s) => s.name)).toEqual(['c-0', 'c-1']);
    b.registry.delete(RI.pods, 'default', 'c-1', { gracePeriodSeconds: 0 });
    await b.advance(15_000);
    expect(collector.podMetrics('default').map((s) => s.name)).toEqual(['c-0']);
    expect(collector.nodeMetrics()).toMatchObject([{ name: 'node-1', cpuNanoCores: 100e6, memoryBytes: 32 * 1024 * 1024 }]);
  });
});
