import type { KObject } from '../api/types';
import { addResources, emptyResources, normalizedImageName, parseResourceList, subtractResources, type HostPort, type PodInfo, type Resources, type Taint } from './pod-info';

/**
 * The scheduler's view of one node: the Node object's labels, taints and allocatable, plus the
 * pods bound or assumed on it with their summed requests and host ports, kept incrementally so a
 * filter or score is O(1) per node (kube-scheduler's NodeInfo).
 *
 * Readiness: a node whose Ready condition is False (or Unknown) is treated as carrying the
 * `node.kubernetes.io/not-ready` (or `unreachable`) NoSchedule taint even before the node-lifecycle
 * controller adds it, so such nodes are skipped with Kubernetes' own wording unless tolerated.
 * A node without any Ready condition is schedulable, as in Kubernetes.
 */
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';

let generationCounter = 0;

export class NodeInfo {
  node?: KObject;
  labels: Readonly<Record<string, string>> = {};
  taints: readonly Taint[] = [];
  unschedulable = false;
  allocatable: Resources & { pods: number } = { milliCPU: 0, memory: 0, ephemeralStorage: 0, pods: 0 };
  /** requests of the pods on the node (NodeResourcesFit) */
  readonly requested: Resources = emptyResources();
  /** cpu/memory with non-zero defaults (scoring) */
  nonZeroMilliCPU = 0;
  nonZeroMemory = 0;
  readonly pods = new Map<string, PodInfo>();
  /** pods with any pod (anti-)affinity term */
  podsWithAffinity = 0;
  /** pods with required anti-affinity terms */
  podsWithRequiredAntiAffinity = 0;
  /** `proto/port` → host IP → count */
  readonly usedPorts = new Map<string, Map<string, number>>();
  /** normalized image name → size in bytes, from node.status.images */
  images = new Map<string, number>();
  generation = ++generationCounter;

  constructor(readonly name: string) {}

  setNode(node: KObject): void {
    this.node = node;
    this.labels = (node.metadata.labels ?? {}) as Record<string, string>;
    this.unschedulable = node.spec?.unschedulable === true;
    const taints: Taint[] = Array.isArray(node.spec?.taints) ? [...node.spec.taints] : [];
    const ready = (node.status?.conditions ?? []).find((c: { type?: string }) => c?.type === 'Ready') as { status?: string } | undefined;
    if (ready && ready.status !== 'True') {
      const key = ready.status === 'False' ? TAINT_NOT_READY : TAINT_UNREACHABLE;
      if (!taints.some((t) => t.key === key && t.effect === 'NoSchedule')) taints.push({ key, effect: 'NoSchedule' });
    }
    this.taints = taints;
    const alloc = node.status?.allocatable && Object.keys(node.status.allocatable).length ? node.status.allocatable : node.status?.capacity;
    this.allocatable = parseResourceList(alloc);
    const images = new Map<string, number>();
    for (const img of Array.isArray(node.status?.images) ? node.status.images : []) {
      for (const n of Array.isArray(img?.names) ? img.names : []) if (typeof n === 'string') images.set(normalizedImageName(n), Number(img.sizeBytes) || 0);
    }
    this.images = images;
    this.generation = ++generationCounter;
  }

  addPod(p: PodInfo): void {
    this.pods.set(p.uid, p);
    addResources(this.requested, p.requests);
    this.nonZeroMilliCPU += p.nonZeroMilliCPU;
    this.nonZeroMemory += p.nonZeroMemory;
    if (p.hasAffinity) this.podsWithAffinity++;
    if (p.requiredAntiAffinityTerms.length) this.podsWithRequiredAntiAffinity++;
    for (const hp of p.hostPorts) this.addPort(hp, 1);
    this.generation = ++generationCounter;
  }

  /** Removes the pod with `p.uid`; returns false when it was not on the node. */
  removePod(p: PodInfo): boolean {
    const cur = this.pods.get(p.uid);
    if (!cur) return false;
    this.pods.delete(p.uid);
    subtractResources(this.requested, cur.requests);
    this.nonZeroMilliCPU -= cur.nonZeroMilliCPU;
    this.nonZeroMemory -= cur.nonZeroMemory;
    if (cur.hasAffinity) this.podsWithAffinity--;
    if (cur.requiredAntiAffinityTerms.length) this.podsWithRequiredAntiAffinity--;
    for (const hp of cur.hostPorts) this.addPort(hp, -1);
    this.generation = ++generationCounter;
    return true;
  }

  private addPort(hp: HostPort, delta: number): void {
    const k = `${hp.protocol}/${hp.port}`;
    let m = this.usedPorts.get(k);
    if (!m) this.usedPorts.set(k, (m = new Map()));
    const n = (m.get(hp.ip) ?? 0) + delta;
    if (n > 0) m.set(hp.ip, n);
    else m.delete(hp.ip);
    if (!m.size) this.usedPorts.delete(k);
  }

  /** kube's HostPortInfo.CheckConflict: 0.0.0.0 conflicts with every IP on the same protocol/port. */
  portConflicts(hp: HostPort): boolean {
    const m = this.usedPorts.get(`${hp.protocol}/${hp.port}`);
    if (!m) return false;
    if (hp.ip === '0.0.0.0') return m.size > 0;
    return m.has(hp.ip) || m.has('0.0.0.0');
  }

  /** A deep-enough copy for preemption's dry runs (pods, requests and ports are copied). */
  clone(): NodeInfo {
    const c = new NodeInfo(this.name);
    c.node = this.node;
    c.labels = this.labels;
    c.taints = this.taints;
    c.unschedulable = this.unschedulable;
    c.allocatable = this.allocatable;
    c.images = this.images;
    for (const p of this.pods.values()) c.addPod(p);
    return c;
  }
}
