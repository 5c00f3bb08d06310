import { Code, MAX_NODE_SCORE, SKIP, Status, type CycleState, type FilterPlugin, type PreScorePlugin, type ScorePlugin } from '../framework';
import type { NodeInfo } from '../node-info';
import type { PodInfo } from '../pod-info';

export const NODE_RESOURCES_FIT = 'NodeResourcesFit';
export const NODE_RESOURCES_BALANCED_ALLOCATION = 'NodeResourcesBalancedAllocation';

export interface InsufficientResource {
  resource: string;
  reason: string;
  requested: number;
  used: number;
  capacity: number;
  /** the request exceeds the node's whole allocatable: preemption cannot help */
  unresolvable: boolean;
}

/**
 * kube's fitsRequest: pod count against allocatable pods, then cpu, memory, ephemeral-storage and
 * extended resources against allocatable minus what the node's pods request.
 */
export function fitsRequest(pod: PodInfo, node: NodeInfo): InsufficientResource[] {
  const out: InsufficientResource[] = [];
  const a = node.allocatable;
  const u = node.requested;
  if (node.pods.size + 1 > a.pods) out.push({ resource: 'pods', reason: 'Too many pods', requested: 1, used: node.pods.size, capacity: a.pods, unresolvable: false });
  const r = pod.requests;
  if (r.milliCPU === 0 && r.memory === 0 && r.ephemeralStorage === 0 && !r.scalar?.size) return out;
  if (r.milliCPU > 0 && r.milliCPU > a.milliCPU - u.milliCPU) {
    out.push({ resource: 'cpu', reason: 'Insufficient cpu', requested: r.milliCPU, used: u.milliCPU, capacity: a.milliCPU, unresolvable: r.milliCPU > a.milliCPU });
  }
  if (r.memory > 0 && r.memory > a.memory - u.memory) {
    out.push({ resource: 'memory', reason: 'Insufficient memory', requested: r.memory, used: u.memory, capacity: a.memory, unresolvable: r.memory > a.memory });
  }
  if (r.ephemeralStorage > 0 && r.ephemeralStorage > a.ephemeralStorage - u.ephemeralStorage) {
    out.push({
      resource: 'ephemeral-storage',
      reason: 'Insufficient ephemeral-storage',
      requested: r.ephemeralStorage,
      used: u.ephemeralStorage,
      capacity: a.ephemeralStorage,
      unresolvable: r.ephemeralStorage > a.ephemeralStorage,
    });
  }
  if (r.scalar) {
    for (const [name, q] of r.scalar) {
      if (q === 0) continue;
      const cap = a.scalar?.get(name) ?? 0;
      const used = u.scalar?.get(name) ?? 0;
      if (q > cap - used) out.push({ resource: name, reason: `Insufficient ${name}`, requested: q, used, capacity: cap, unresolvable: q > cap });
    }
  }
  return out;
}

/**
 * NodeResourcesFit. Filter: the node must have room for the pod's requests (Unschedulable; or
 * UnschedulableAndUnresolvable when a request exceeds the node's whole allocatable).
 * Score (LeastAllocated, cpu and memory weight 1): more free capacity after placing the pod is
 * better, counting the non-zero default requests of best-effort containers.
 */
export class NodeResourcesFit implements FilterPlugin, ScorePlugin {
  readonly name = NODE_RESOURCES_FIT;
  readonly events = ['NodeAdd', 'NodeUpdate', 'AssignedPodDelete', 'AssignedPodUpdate'] as const;
  private readonly statuses = new Map<string, Status>();

  filter(_s: CycleState, pod: PodInfo, node: NodeInfo): Status | null {
    // fast path: the common case of a pod that fits
    const a = node.allocatable;
    const u = node.requested;
    const r = pod.requests;
    if (
      node.pods.size + 1 <= a.pods &&
      r.milliCPU <= a.milliCPU - u.milliCPU &&
      r.memory <= a.memory - u.memory &&
      r.ephemeralStorage <= a.ephemeralStorage - u.ephemeralStorage &&
      !r.scalar?.size
    ) {
      return null;
    }
    const ins = fitsRequest(pod, node);
    if (!ins.length) return null;
    const code = ins.some((i) => i.unresolvable) ? Code.UnschedulableAndUnresolvable : Code.Unschedulable;
    const key = code + '|' + ins.map((i) => i.reason).join('|');
    let st = this.statuses.get(key);
    if (!st) {
      st = new Status(code, ins.map((i) => i.reason), NODE_RESOURCES_FIT);
      if (this.statuses.size < 1000) this.statuses.set(key, st);
    }
    return st;
  }

  score(_s: CycleState, pod: PodInfo, node: NodeInfo): number {
    let total = 0;
    let weights = 0;
    const ac = node.allocatable.milliCPU;
    if (ac > 0) {
      total += leastRequestedScore(node.nonZeroMilliCPU + pod.nonZeroMilliCPU, ac);
      weights++;
    }
    const am = node.allocatable.memory;
    if (am > 0) {
      total += leastRequestedScore(node.nonZeroMemory + pod.nonZeroMemory, am);
      weights++;
    }
    return weights ? Math.trunc(total / weights) : 0;
  }
}

function leastRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.trunc(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

/**
 * NodeResourcesBalancedAllocation: prefers nodes whose cpu and memory utilisation (with the pod)
 * stay close to each other: score = (1 - |cpuFraction - memFraction| / 2) * 100.
 */
export class NodeResourcesBalancedAllocation implements PreScorePlugin, ScorePlugin {
  readonly name = NODE_RESOURCES_BALANCED_ALLOCATION;

  preScore(_s: CycleState, pod: PodInfo): Status | null {
    return pod.requests.milliCPU === 0 && pod.requests.memory === 0 ? SKIP : null;
  }

  score(_s: CycleState, pod: PodInfo, node: NodeInfo): number {
    const fr: number[] = [];
    const ac = node.allocatable.milliCPU;
    if (ac > 0) fr.push(Math.min(1, (node.requested.milliCPU + pod.requests.milliCPU) / ac));
    const am = node.allocatable.memory;
    if (am > 0) fr.push(Math.min(1, (node.requested.memory + pod.requests.memory) / am));
    const std = fr.length === 2 ? Math.abs((fr[0] - fr[1]) / 2) : 0;
    return Math.trunc((1 - std) * MAX_NODE_SCORE);
  }
}
