import type { KObject } from '../../api/types';
import { resourceFor } from '../../api/scheme';
import type { InformerFactory } from '../../client/informer';
import { realClock, type Clock } from '../../controller/workqueue';
import type { Runnable } from '../../manager/runnable';
import type { Logger } from '../../util/log';
import { silentLogger } from '../../util/log';
import type { ContainerUsage, MetricsSource } from './metrics-source';

/**
 * The metrics pipeline's cache (what metrics-server keeps): every `resolutionMs` (default 15 s,
 * on the injected clock) it asks the MetricsSource for the usage of each Running pod bound to a
 * node and of each node, and keeps the latest sample; pods and nodes that are gone or report
 * nothing drop out. A collection still running when the next is due is not overlapped.
 * Readers (the metrics.k8s.io API, the HPA) get the cache synchronously.
 */
export interface PodMetricsSample {
  namespace: string;
  name: string;
  uid: string;
  labels: Record<string, string>;
  timestamp: number;
  windowMs: number;
  containers: ContainerUsage[];
}

export interface NodeMetricsSample {
  name: string;
  labels: Record<string, string>;
  timestamp: number;
  windowMs: number;
  cpuNanoCores: number;
  memoryBytes: number;
}

/** What the HPA and the metrics API read. */
export interface ResourceMetricsProvider {
  /** latest samples of the pods of a namespace (all namespaces when undefined) */
  podMetrics(namespace?: string): PodMetricsSample[];
  nodeMetrics(): NodeMetricsSample[];
}

export interface MetricsCollectorOptions {
  informers: InformerFactory;
  source?: MetricsSource;
  clock?: Clock;
  resolutionMs?: number;
  log?: Logger;
  /** concurrent podUsage calls for sources without `collect` */
  concurrency?: number;
}

export class MetricsCollector implements Runnable, ResourceMetricsProvider {
  readonly name = 'metrics-collector';
  private source?: MetricsSource;
  private readonly clock: Clock;
  private readonly resolutionMs: number;
  private readonly log: Logger;
  private pods = new Map<string, PodMetricsSample>();
  private nodes = new Map<string, NodeMetricsSample>();
  private timer?: unknown;
  private running?: Promise<void>;
  private stoppedFlag = false;

  constructor(private readonly opts: MetricsCollectorOptions) {
    this.source = opts.source;
    this.clock = opts.clock ?? realClock;
    this.resolutionMs = opts.resolutionMs ?? 15_000;
    this.log = opts.log ?? silentLogger;
  }

  /** Attaches (or replaces) the source; the next collection uses it. */
  setSource(source: MetricsSource | undefined): void {
    this.source = source;
  }

  async start(signal: AbortSignal): Promise<void> {
    this.opts.informers.for(resourceFor('', 'pods')!).start();
    this.opts.informers.for(resourceFor('', 'nodes')!).start();
    signal.addEventListener('abort', () => {
      this.stoppedFlag = true;
      if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    });
    this.schedule(0);
  }

  async stopped(): Promise<void> {
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stoppedFlag) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.running = this.collectNow().finally(() => this.schedule(this.resolutionMs));
    }, ms);
  }

  /** One collection round (also callable directly, e.g. by tests). Never rejects. */
  async collectNow(): Promise<void> {
    const source = this.source;
    if (!source) return;
    const started = this.clock.now();
    const podInf = this.opts.informers.for(resourceFor('', 'pods')!);
    const nodeInf = this.opts.informers.for(resourceFor('', 'nodes')!);
    const pods = podInf.list().filter((p) => p.spec?.nodeName && p.status?.phase === 'Running' && !p.metadata.deletionTimestamp);
    const usage = new Map<string, { containers: ContainerUsage[]; timestamp?: number; windowMs?: number }>();
    try {
      if (source.collect) {
        for (const [uid, u] of await source.collect(pods)) usage.set(uid, u);
      } else {
        let next = 0;
        const worker = async () => {
          while (next < pods.length) {
            const p = pods[next++];
            try {
              const u = await source.podUsage(p.metadata.namespace!, p.metadata.name!, p);
              if (u) usage.set(p.metadata.uid!, u);
            } catch (e) {
              this.log.v(2, 'pod usage failed', { pod: `${p.metadata.namespace}/${p.metadata.name}`, error: (e as Error).message });
            }
          }
        };
        await Promise.all(Array.from({ length: Math.min(this.opts.concurrency ?? 8, pods.length) }, worker));
      }
    } catch (e) {
      this.log.warn('metrics collection failed', { error: (e as Error).message });
      return;
    }
    const now = this.clock.now();
    const nextPods = new Map<string, PodMetricsSample>();
    const perNode = new Map<string, { cpu: number; mem: number }>();
    for (const p of pods) {
      const u = usage.get(p.metadata.uid!);
      if (!u || u.containers.length === 0) continue;
      const key = `${p.metadata.namespace}/${p.metadata.name}`;
      nextPods.set(key, {
        namespace: p.metadata.namespace!,
        name: p.metadata.name!,
        uid: p.metadata.uid!,
        labels: { ...(p.metadata.labels ?? {}) },
        timestamp: u.timestamp ?? started,
        windowMs: u.windowMs ?? this.resolutionMs,
        containers: u.containers,
      });
      const agg = perNode.get(p.spec.nodeName) ?? { cpu: 0, mem: 0 };
      for (const c of u.containers) {
        agg.cpu += c.cpuNanoCores;
        agg.mem += c.memoryBytes;
      }
      perNode.set(p.spec.nodeName, agg);
    }
    const nextNodes = new Map<string, NodeMetricsSample>();
    for (const n of nodeInf.list()) {
      const name = n.metadata.name!;
      if (!isNodeReady(n)) continue;
      let cpu: number | undefined;
      let mem: number | undefined;
      let ts = now;
      let win = this.resolutionMs;
      if (source.nodeUsage) {
        try {
          const nu = await source.nodeUsage(name);
          if (nu) {
            cpu = nu.cpuNanoCores;
            mem = nu.memoryBytes;
            ts = nu.timestamp ?? now;
            win = nu.windowMs ?? win;
          }
        } catch (e) {
          this.log.v(2, 'node usage failed', { node: name, error: (e as Error).message });
        }
      }
      if (cpu === undefined) {
        const agg = perNode.get(name) ?? { cpu: 0, mem: 0 };
        cpu = agg.cpu;
        mem = agg.mem;
      }
      nextNodes.set(name, { name, labels: { ...(n.metadata.labels ?? {}) }, timestamp: ts, windowMs: win, cpuNanoCores: cpu, memoryBytes: mem ?? 0 });
    }
    this.pods = nextPods;
    this.nodes = nextNodes;
  }

  podMetrics(namespace?: string): PodMetricsSample[] {
    const out: PodMetricsSample[] = [];
    for (const s of this.pods.values()) if (namespace === undefined || s.namespace === namespace) out.push(s);
    return out.sort((a, b) => (a.namespace + '/' + a.name < b.namespace + '/' + b.name ? -1 : 1));
  }

  nodeMetrics(): NodeMetricsSample[] {
    return [...this.nodes.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }
}

function isNodeReady(n: KObject): boolean {
  return (n.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
}
