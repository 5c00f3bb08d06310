import type { KObject } from '../api/types';
import { NodeInfo } from './node-info';
import type { PodInfo } from './pod-info';

/**
 * The scheduler cache (kube-scheduler's cache + snapshot in one, since a scheduling cycle here is
 * synchronous): NodeInfo per node with the pods bound or *assumed* on it.
 *
 * - A pod is assumed on a node as soon as the scheduler picks it, before the binding is written,
 *   so the next cycle already sees its requests. When the informer later reports the pod bound,
 *   the assumption is confirmed; if binding fails the scheduler forgets it.
 * - Pods bound to a node the cache has not seen yet are kept on a NodeInfo without a Node object;
 *   such nodes are not candidates until the Node appears.
 * - Terminal pods (Succeeded/Failed) are not kept: their resources are free.
 */
export class SchedulerCache {
  private readonly nodes = new Map<string, NodeInfo>();
  private list: NodeInfo[] = [];
  private listDirty = false;
  private readonly podStates = new Map<string, { info: PodInfo; node: string; assumed: boolean }>();
  private readonly imageCounts = new Map<string, number>();
  private affinityPods = 0;
  private antiAffinityPods = 0;

  /** Nodes with a Node object, in a stable order (insertion; removed nodes compacted). */
  nodeInfos(): readonly NodeInfo[] {
    if (this.listDirty) {
      this.list = [...this.nodes.values()].filter((n) => n.node);
      this.listDirty = false;
    }
    return this.list;
  }

  nodeInfo(name: string): NodeInfo | undefined {
    return this.nodes.get(name);
  }

  get numNodes(): number {
    return this.nodeInfos().length;
  }

  imageNodeCount(image: string): number {
    return this.imageCounts.get(image) ?? 0;
  }

  havePodsWithAffinity(): boolean {
    return this.affinityPods > 0;
  }

  havePodsWithRequiredAntiAffinity(): boolean {
    return this.antiAffinityPods > 0;
  }

  /** Adds or updates a Node. */
  setNode(node: KObject): NodeInfo {
    const name = node.metadata.name!;
    let ni = this.nodes.get(name);
    if (!ni) {
      ni = new NodeInfo(name);
      this.nodes.set(name, ni);
    }
    const had = !!ni.node;
    this.countImages(ni, -1);
    ni.setNode(node);
    this.countImages(ni, 1);
    if (!had && !this.listDirty) this.list.push(ni);
    return ni;
  }

  removeNode(name: string): void {
    const ni = this.nodes.get(name);
    if (!ni) return;
    this.countImages(ni, -1);
    if (ni.pods.size) {
      ni.node = undefined;
      ni.images = new Map();
    } else this.nodes.delete(name);
    this.listDirty = true;
  }

  private countImages(ni: NodeInfo, d: number): void {
    if (!ni.node) return;
    for (const img of ni.images.keys()) {
      const n = (this.imageCounts.get(img) ?? 0) + d;
      if (n > 0) this.imageCounts.set(img, n);
      else this.imageCounts.delete(img);
    }
  }

  private nodeFor(name: string): NodeInfo {
    let ni = this.nodes.get(name);
    if (!ni) {
      ni = new NodeInfo(name);
      this.nodes.set(name, ni);
    }
    return ni;
  }

  private place(info: PodInfo, node: string, assumed: boolean): void {
    this.nodeFor(node).addPod(info);
    this.podStates.set(info.uid, { info, node, assumed });
    if (info.hasAffinity) this.affinityPods++;
    if (info.requiredAntiAffinityTerms.length) this.antiAffinityPods++;
  }

  private unplace(uid: string): void {
    const st = this.podStates.get(uid);
    if (!st) return;
    this.podStates.delete(uid);
    const ni = this.nodes.get(st.node);
    if (ni) {
      ni.removePod(st.info);
      if (!ni.node && ni.pods.size === 0) this.nodes.delete(st.node);
    }
    if (st.info.hasAffinity) this.affinityPods--;
    if (st.info.requiredAntiAffinityTerms.length) this.antiAffinityPods--;
  }

  /** Records that `info` will be bound to `node` (before the binding is written). */
  assumePod(info: PodInfo, node: string): void {
    this.unplace(info.uid);
    this.place(info, node, true);
  }

  /** Drops an assumption after a failed binding; a confirmed (informer-reported) pod is kept. */
  forgetPod(info: PodInfo): void {
    const st = this.podStates.get(info.uid);
    if (st && st.assumed) this.unplace(info.uid);
  }

  isAssumed(uid: string): boolean {
    return this.podStates.get(uid)?.assumed === true;
  }

  /** Where the cache has the pod (bound or assumed), if anywhere. */
  nodeOf(uid: string): string | undefined {
    return this.podStates.get(uid)?.node;
  }

  /** Adds or refreshes a pod the API reports bound to `info.nodeName` (confirms an assumption). */
  addOrUpdatePod(info: PodInfo): void {
    this.unplace(info.uid);
    this.place(info, info.nodeName, false);
  }

  removePod(uid: string): void {
    this.unplace(uid);
  }

  podCount(): number {
    return this.podStates.size;
  }
}
