import { Code, fitErrorMessage, newDiagnosis, unresolvable, type CycleState, type Diagnosis, type Framework, type NominatedPods, type Status } from './framework';
import type { NodeInfo } from './node-info';
import { matchesLabels, type Selector } from '../api/selectors';
import { moreImportantPod, type PodInfo } from './pod-info';

/**
 * DefaultPreemption (a PostFilter): when no node fits a pod, find a node where evicting pods of
 * strictly lower priority would let it fit, choose the victims so that as many of them as
 * possible are spared (most important first), and pick the node whose victims matter least.
 * The caller evicts the victims and nominates the node; the pod is retried once they are gone.
 *
 * PodDisruptionBudgets are honoured as in Kubernetes: victims whose eviction would exceed a
 * budget's status.disruptionsAllowed are spared first, and nodes needing fewer such violations win.
 * Messages follow Kubernetes: `preemption: 0/3 nodes are available: 1 No preemption victims found
 * for incoming pod, 2 Preemption is not helpful for scheduling.`
 */
export const PREEMPTION_NOT_HELPFUL = 'Preemption is not helpful for scheduling';
export const NO_VICTIMS = 'No preemption victims found for incoming pod';
export const NOT_ELIGIBLE_NEVER = 'not eligible due to preemptionPolicy=Never.';
export const NOT_ELIGIBLE_TERMINATING = 'not eligible due to a terminating pod on the nominated node.';

const NOT_HELPFUL = unresolvable('', PREEMPTION_NOT_HELPFUL);
const NO_VICTIMS_STATUS = unresolvable('', NO_VICTIMS);

export interface Candidate {
  node: string;
  /** most important first */
  victims: PodInfo[];
  /** victims whose eviction exceeds a PodDisruptionBudget */
  pdbViolations: number;
}

/** The parts of a PodDisruptionBudget preemption reads. */
export interface DisruptionBudget {
  namespace: string;
  /** null or empty: matches no pod */
  selector: Selector | null;
  disruptionsAllowed: number;
  /** pods already being evicted under this budget (status.disruptedPods) */
  disruptedPods: ReadonlySet<string>;
}

export interface PreemptionResult {
  /** PostFilter message ("" when a candidate was found) */
  message: string;
  candidate?: Candidate;
}

export interface PreemptionOptions {
  framework: Framework;
  nominated?: NominatedPods;
  random?: () => number;
  /** at least this many candidates are evaluated (kube: minCandidateNodesAbsolute 100) */
  minCandidateNodesAbsolute?: number;
  /** ... or this percentage of the nodes (kube: minCandidateNodesPercentage 10) */
  minCandidateNodesPercentage?: number;
  /** the PodDisruptionBudgets of a namespace (default: none) */
  budgets?: (namespace: string) => DisruptionBudget[];
}

export class DefaultPreemption {
  constructor(private readonly opts: PreemptionOptions) {}

  /**
   * Evaluates preemption for `pod` after a failed cycle (`state` is that cycle's state after
   * PreFilter). Pure: nothing is written; the caller acts on the returned candidate.
   */
  preempt(pod: PodInfo, state: CycleState, d: Diagnosis): PreemptionResult {
    const fw = this.opts.framework;
    if (pod.preemptionPolicy === 'Never') return { message: `preemption: ${NOT_ELIGIBLE_NEVER}` };
    const nom = pod.pod.status?.nominatedNodeName as string | undefined;
    if (nom) {
      const st = d.nodeToStatus.get(nom);
      const ni = fw.handle.nodeInfo(nom);
      if (!(st && st.code === Code.UnschedulableAndUnresolvable) && ni) {
        for (const p of ni.pods.values()) if (p.terminating && p.priority < pod.priority) return { message: `preemption: ${NOT_ELIGIBLE_TERMINATING}` };
      }
    }
    const all = fw.handle.nodeInfos();
    const statuses = newDiagnosis();
    const potential: NodeInfo[] = [];
    for (const n of all) {
      const st = d.nodeToStatus.get(n.name);
      if (st && st.code === Code.Unschedulable) potential.push(n);
      else statuses.nodeToStatus.set(n.name, NOT_HELPFUL);
    }
    if (!potential.length) return { message: `preemption: ${fitErrorMessage(all.length, statuses)}` };
    const want = this.numCandidates(all.length);
    const offset = Math.floor((this.opts.random ?? Math.random)() * potential.length);
    const candidates: Candidate[] = [];
    for (let k = 0; k < potential.length && candidates.length < want; k++) {
      const node = potential[(offset + k) % potential.length];
      const r = this.selectVictimsOnNode(state.clone(), pod, node.clone());
      if (r.victims) candidates.push({ node: node.name, victims: r.victims, pdbViolations: r.pdbViolations ?? 0 });
      else statuses.nodeToStatus.set(node.name, r.status!);
    }
    if (!candidates.length) {
      statuses.absentStatus = NOT_HELPFUL;
      return { message: `preemption: ${fitErrorMessage(all.length, statuses)}` };
    }
    return { message: '', candidate: pickOneNodeForPreemption(candidates) };
  }

  private numCandidates(numNodes: number): number {
    let n = Math.trunc((numNodes * (this.opts.minCandidateNodesPercentage ?? 10)) / 100);
    const abs = this.opts.minCandidateNodesAbsolute ?? 100;
    if (n < abs) n = abs;
    return Math.min(n, numNodes);
  }

  /**
   * kube's SelectVictimsOnNode: remove every lower-priority pod; if the pod then fits, add them
   * back most important first, keeping out only those without which it does not fit.
   * `state` and `node` are private copies and are modified.
   */
  selectVictimsOnNode(state: CycleState, pod: PodInfo, node: NodeInfo): { victims?: PodInfo[]; pdbViolations?: number; status?: Status } {
    const fw = this.opts.framework;
    const potential = [...node.pods.values()].filter((p) => p.priority < pod.priority);
    if (!potential.length) return { status: NO_VICTIMS_STATUS };
    const remove = (p: PodInfo) => {
      node.removePod(p);
      for (const pf of fw.preFilterPlugins) if (!state.skipFilter.has(pf.name)) pf.removePod?.(state, pod, p, node);
    };
    const add = (p: PodInfo) => {
      node.addPod(p);
      for (const pf of fw.preFilterPlugins) if (!state.skipFilter.has(pf.name)) pf.addPod?.(state, pod, p, node);
    };
    for (const p of potential) remove(p);
    const st = fw.runFilterWithNominated(state, pod, node, this.opts.nominated);
    if (st) return { status: st };
    const byImportance = (a: PodInfo, b: PodInfo) => (moreImportantPod(a, b) ? -1 : moreImportantPod(b, a) ? 1 : 0);
    potential.sort(byImportance);
    const { violating, nonViolating } = filterPodsWithPDBViolation(potential, this.opts.budgets);
    const victims: PodInfo[] = [];
    const reprieve = (p: PodInfo): boolean => {
      add(p);
      if (!fw.runFilterWithNominated(state, pod, node, this.opts.nominated)) return true;
      remove(p);
      victims.push(p);
      return false;
    };
    let pdbViolations = 0;
    for (const p of violating) if (!reprieve(p)) pdbViolations++;
    for (const p of nonViolating) reprieve(p);
    if (violating.length && nonViolating.length) victims.sort(byImportance);
    return { victims, pdbViolations };
  }
}

/**
 * kube's filterPodsWithPDBViolation: walking the victims (most important first), each one matching
 * a budget uses one of its allowed disruptions; those beyond the allowance violate it.
 */
export function filterPodsWithPDBViolation(pods: readonly PodInfo[], budgets?: (ns: string) => DisruptionBudget[]): { violating: PodInfo[]; nonViolating: PodInfo[] } {
  const violating: PodInfo[] = [];
  const nonViolating: PodInfo[] = [];
  const allowed = new Map<DisruptionBudget, number>();
  for (const p of pods) {
    let violated = false;
    if (budgets && Object.keys(p.labels).length) {
      for (const b of budgets(p.namespace)) {
        if (b.namespace !== p.namespace || !b.selector || !b.selector.length || !matchesLabels(b.selector, p.labels)) continue;
        if (b.disruptedPods.has(p.name)) continue;
        const left = (allowed.get(b) ?? b.disruptionsAllowed) - 1;
        allowed.set(b, left);
        if (left < 0) violated = true;
      }
    }
    (violated ? violating : nonViolating).push(p);
  }
  return { violating, nonViolating };
}

/**
 * kube's pickOneNodeForPreemption: fewest PDB violations, then the lowest highest-victim priority,
 * then the lowest sum of priorities, then fewest victims, then the latest start of the
 * highest-priority victims.
 */
export function pickOneNodeForPreemption(cs: readonly Candidate[]): Candidate {
  if (cs.length === 1) return cs[0];
  const OFFSET = 2 ** 31;
  const key = (c: Candidate) => {
    const highest = c.victims.length ? c.victims[0].priority : -Infinity;
    let sum = 0;
    for (const v of c.victims) sum += v.priority + OFFSET;
    let latest = -Infinity;
    for (const v of c.victims) if (v.priority === highest && v.startTime > latest) latest = v.startTime;
    return { pdb: c.pdbViolations, highest, sum, count: c.victims.length, latest };
  };
  let best = cs[0];
  let bk = key(best);
  for (let i = 1; i < cs.length; i++) {
    const k = key(cs[i]);
    const better =
      k.pdb !== bk.pdb
        ? k.pdb < bk.pdb
        : k.highest !== bk.highest
          ? k.highest < bk.highest
          : k.sum !== bk.sum
            ? k.sum < bk.sum
            : k.count !== bk.count
              ? k.count < bk.count
              : k.latest > bk.latest;
    if (better) {
      best = cs[i];
      bk = k;
    }
  }
  return best;
}
