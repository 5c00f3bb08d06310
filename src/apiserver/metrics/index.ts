import type { Registry } from '../registry';
import type { ControllerContext } from '../../controllers/context';
import type { ExtraHandler } from '../server';
import { MetricsCollector } from './collector';
import { metricsAPIGroup } from './metrics-api';
import { RuntimeMetricsSource, type NodeRuntimes } from './metrics-source';

export { MetricsCollector, type ResourceMetricsProvider, type PodMetricsSample, type NodeMetricsSample } from './collector';
export { metricsAPIGroup, METRICS_GROUP, METRICS_VERSION } from './metrics-api';
export { RuntimeMetricsSource, StaticMetricsSource, type MetricsSource, type NodeRuntimes, type ContainerUsage, type PodUsage } from './metrics-source';

/**
 * The cluster's one metrics collector, shared by the HPA controller and the metrics.k8s.io API
 * group. Created on first use for a registry (from the controller context's informers, clock
 * and `settings.metricsResolutionMs`); later calls for the same registry return it. Wiring, once
 * per cluster:
 *
 *   const metrics = metricsCollectorFor(ctx);                        // also a Runnable
 *   metrics.setSource(new RuntimeMetricsSource(cluster.nodeManager)); // where usage comes from
 *   cluster.apiserver.extraGroups.push(metricsAPIGroup(metrics));    // kubectl top
 */
const collectors = new WeakMap<Registry, MetricsCollector>();

export function metricsCollectorFor(ctx: Pick<ControllerContext, 'registry' | 'informers' | 'clock' | 'log' | 'settings'>): MetricsCollector {
  let c = collectors.get(ctx.registry);
  if (!c) {
    const res = ctx.settings.metricsResolutionMs;
    c = new MetricsCollector({
      informers: ctx.informers,
      clock: ctx.clock,
      log: ctx.log.child('metrics-collector'),
      resolutionMs: typeof res === 'number' && res > 0 ? res : 15_000,
    });
    collectors.set(ctx.registry, c);
  }
  return c;
}

/**
 * Serves metrics.k8s.io from the cluster's collector and feeds it from the kubelets' container
 * runtimes: `installMetricsServer(ctx, cluster.apiserver, cluster.nodeManager)`. Without
 * `nodes` the API is served but stays empty until a source is set. Idempotent per apiserver.
 */
export function installMetricsServer(
  ctx: Pick<ControllerContext, 'registry' | 'informers' | 'clock' | 'log' | 'settings'>,
  apiserver: { extraGroups: { name: string; versions: string[]; handler: ExtraHandler }[] },
  nodes?: NodeRuntimes,
): MetricsCollector {
  const c = metricsCollectorFor(ctx);
  if (nodes) c.setSource(new RuntimeMetricsSource(nodes));
  if (!apiserver.extraGroups.some((g) => g.name === 'metrics.k8s.io')) apiserver.extraGroups.push(metricsAPIGroup(c));
  return c;
}
