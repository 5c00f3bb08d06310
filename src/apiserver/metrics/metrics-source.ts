import type { KObject } from '../../api/types';
import type { ContainerRuntime } from '../../kubelet/runtime/container-runtime';

/**
 * Where resource usage comes from. The metrics collector asks a MetricsSource for the usage of
 * running pods (and optionally of nodes); the metrics.k8s.io API and the HPA read the collector's
 * cache, never the source directly.
 */

export interface ContainerUsage {
  name: string;
  /** CPU in nanocores (1 core = 1e9), averaged over the source's sampling window */
  cpuNanoCores: number;
  /** memory working set in bytes */
  memoryBytes: number;
}

export interface PodUsage {
  containers: ContainerUsage[];
  /** when the sample was taken (ms); default: the collection time */
  timestamp?: number;
  /** the sampling window (ms); default: the collector's resolution */
  windowMs?: number;
}

export interface NodeUsage {
  cpuNanoCores: number;
  memoryBytes: number;
  timestamp?: number;
  windowMs?: number;
}

export interface MetricsSource {
  /**
   * Usage of one pod's app containers, or undefined when the source knows nothing of it (not
   * running, node gone). Must not throw for an unknown pod; may reject on engine errors.
   */
  podUsage(namespace: string, pod: string, podObject?: KObject): Promise<PodUsage | undefined> | PodUsage | undefined;
  /** Usage of a whole node; when absent the collector sums the node's pods. */
  nodeUsage?(node: string): Promise<NodeUsage | undefined> | NodeUsage | undefined;
  /**
   * Batch form of podUsage, keyed by pod uid; used in preference to podUsage when present so a
   * source can share work (one container listing per node).
   */
  collect?(pods: KObject[]): Promise<Map<string, PodUsage>>;
}

/** A source that reports what the test (or a simulator) sets; unknown pods have no metrics. */
export class StaticMetricsSource implements MetricsSource {
  private readonly pods = new Map<string, PodUsage>();
  private readonly nodes = new Map<string, NodeUsage>();

  setPod(namespace: string, pod: string, containers: ContainerUsage[], extra: Omit<PodUsage, 'containers'> = {}): void {
    this.pods.set(`${namespace}/${pod}`, { containers, ...extra });
  }

  deletePod(namespace: string, pod: string): void {
    this.pods.delete(`${namespace}/${pod}`);
  }

  setNode(node: string, usage: NodeUsage): void {
    this.nodes.set(node, usage);
  }

  podUsage(namespace: string, pod: string): PodUsage | undefined {
    return this.pods.get(`${namespace}/${pod}`);
  }

  nodeUsage(node: string): NodeUsage | undefined {
    return this.nodes.get(node);
  }
}

/** What RuntimeMetricsSource needs of the node manager (src/kubelet/node-manager.ts). */
export interface NodeRuntimes {
  /** names of the nodes whose kubelet runs */
  runningNodes(): string[];
  runtimeFor(nodeName: string): ContainerRuntime | undefined;
}

/**
 * Usage from the container runtimes of the running nodes (Docker stats, or the fake runtime's
 * scripted stats): per node one container listing, then `stats` of each running app container,
 * `concurrency` at a time (Docker takes about a second per call). Containers are matched to
 * pods by the pod-uid label the kubelet writes.
 */
export class RuntimeMetricsSource implements MetricsSource {
  constructor(
    private readonly nodes: NodeRuntimes,
    private readonly concurrency = 16,
  ) {}

  async podUsage(_namespace: string, _pod: string, podObject?: KObject): Promise<PodUsage | undefined> {
    if (!podObject) return undefined;
    return (await this.collect([podObject])).get(podObject.metadata.uid!);
  }

  async collect(pods: KObject[]): Promise<Map<string, PodUsage>> {
    const out = new Map<string, PodUsage>();
    const running = new Set(this.nodes.runningNodes());
    const byNode = new Map<string, Set<string>>();
    for (const p of pods) {
      const n = p.spec?.nodeName;
      if (!n || !running.has(n)) continue;
      let s = byNode.get(n);
      if (!s) byNode.set(n, (s = new Set()));
      s.add(p.metadata.uid!);
    }
    const jobs: (() => Promise<void>)[] = [];
    await Promise.all(
      [...byNode].map(async ([node, uids]) => {
        const rt = this.nodes.runtimeFor(node);
        if (!rt) return;
        let containers;
        try {
          containers = await rt.listContainers();
        } catch {
          return; // engine unavailable: no metrics for this node this round
        }
        for (const c of containers) {
          if (c.sandbox || c.state !== 'running' || !uids.has(c.podUid)) continue;
          jobs.push(async () => {
            try {
              const s = await rt.stats(c.id);
              let u = out.get(c.podUid);
              if (!u) out.set(c.podUid, (u = { containers: [], timestamp: Date.now() }));
              u.containers.push({ name: c.containerName, cpuNanoCores: Math.max(0, Math.round(s.cpuNanoCores)), memoryBytes: Math.max(0, Math.round(s.memoryBytes)) });
            } catch {
              // the container went away between listing and stats
            }
          });
        }
      }),
    );
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) await jobs[next++]();
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, jobs.length) }, worker));
    for (const u of out.values()) u.containers.sort((a, b) => (a.name < b.name ? -1 : 1));
    return out;
  }
}
