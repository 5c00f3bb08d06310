import { matchesLabels, type Selector } from '../../api/selectors';
import { MAX_NODE_SCORE, SKIP, unresolvable, unschedulable, type CycleState, type FilterPlugin, type Handle, type PreFilterPlugin, type PreScorePlugin, type ScorePlugin, type StateData, type Status } from '../framework';
import type { NodeInfo } from '../node-info';
import { findUntoleratedTaint, LABEL_HOSTNAME, LABEL_ZONE, podMatchesNodeSelectorAndAffinity, type PodInfo, type TopologySpreadConstraint } from '../pod-info';

export const POD_TOPOLOGY_SPREAD = 'PodTopologySpread';
export const ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints";
export const ERR_REASON_NODE_LABEL_NOT_MATCH = ERR_REASON_CONSTRAINTS_NOT_MATCH + ' (missing required label)';

const PREFILTER_KEY = 'PreFilter' + POD_TOPOLOGY_SPREAD;
const PRESCORE_KEY = 'PreScore' + POD_TOPOLOGY_SPREAD;
const REJECT_SKEW = unschedulable(POD_TOPOLOGY_SPREAD, ERR_REASON_CONSTRAINTS_NOT_MATCH);
const REJECT_LABEL = unresolvable(POD_TOPOLOGY_SPREAD, ERR_REASON_NODE_LABEL_NOT_MATCH);

/** Scoring defaults applied to pods without constraints that belong to a Service or controller. */
const SYSTEM_DEFAULT_CONSTRAINTS: readonly Omit<TopologySpreadConstraint, 'selector'>[] = [
  { topologyKey: LABEL_HOSTNAME, maxSkew: 3, whenUnsatisfiable: 'ScheduleAnyway', minDomains: 1, nodeAffinityPolicy: 'Honor', nodeTaintsPolicy: 'Ignore' },
  { topologyKey: LABEL_ZONE, maxSkew: 5, whenUnsatisfiable: 'ScheduleAnyway', minDomains: 1, nodeAffinityPolicy: 'Honor', nodeTaintsPolicy: 'Ignore' },
];

function hasAllKeys(labels: Readonly<Record<string, string>>, cs: readonly TopologySpreadConstraint[]): boolean {
  for (const c of cs) if (!Object.prototype.hasOwnProperty.call(labels, c.topologyKey)) return false;
  return true;
}

/** nodeAffinityPolicy (default Honor) and nodeTaintsPolicy (default Ignore) of one constraint. */
function matchesInclusionPolicies(c: TopologySpreadConstraint, pod: PodInfo, node: NodeInfo): boolean {
  if (c.nodeAffinityPolicy !== 'Ignore' && !podMatchesNodeSelectorAndAffinity(pod, node.labels, node.name)) return false;
  if (c.nodeTaintsPolicy === 'Honor' && findUntoleratedTaint(node.taints, pod.tolerations)) return false;
  return true;
}

/** Pods of `ns` on the node matching `sel`, terminating pods excluded. */
export function countPodsMatchSelector(node: NodeInfo, sel: Selector | null, ns: string): number {
  if (sel === null) return 0;
  let n = 0;
  for (const p of node.pods.values()) {
    if (p.terminating || p.namespace !== ns) continue;
    if (matchesLabels(sel, p.labels)) n++;
  }
  return n;
}

class SpreadFilterState implements StateData {
  constructor(
    readonly constraints: TopologySpreadConstraint[],
    /** per constraint: topology value → matching pods */
    readonly counts: Map<string, number>[],
    /** per constraint: the smallest count (critical path) */
    readonly min: number[],
  ) {}

  clone(): SpreadFilterState {
    return new SpreadFilterState(this.constraints, this.counts.map((m) => new Map(m)), [...this.min]);
  }

  recomputeMin(i: number): void {
    let m = Infinity;
    for (const v of this.counts[i].values()) if (v < m) m = v;
    this.min[i] = m;
  }
}

interface SpreadScoreState {
  constraints: TopologySpreadConstraint[];
  ignored: Set<string>;
  /** per constraint (non-hostname keys): topology value → matching pods */
  counts: Map<string, number>[];
  weights: number[];
}

/**
 * PodTopologySpread. Filter (whenUnsatisfiable DoNotSchedule): placing the pod on the node must
 * keep `matching pods in the node's domain + self - global minimum <= maxSkew` (minimum taken as 0
 * while fewer than minDomains domains exist); nodes missing a topology key are rejected.
 * Score (ScheduleAnyway constraints, or the system defaults hostname/3 and zone/5 for pods owned
 * by a Service or controller): fewer matching pods in the node's domains is better.
 */
export class PodTopologySpread implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = POD_TOPOLOGY_SPREAD;
  readonly events = ['NodeAdd', 'NodeUpdate', 'NodeDelete', 'AssignedPodAdd', 'AssignedPodUpdate', 'AssignedPodDelete'] as const;

  constructor(private readonly handle: Handle) {}

  preFilter(state: CycleState, pod: PodInfo): Status | null {
    const cs = pod.topologySpreadConstraints.filter((c) => c.whenUnsatisfiable === 'DoNotSchedule');
    if (!cs.length) return SKIP;
    const counts = cs.map(() => new Map<string, number>());
    for (const node of this.handle.nodeInfos()) {
      if (!hasAllKeys(node.labels, cs)) continue;
      for (let i = 0; i < cs.length; i++) {
        const c = cs[i];
        if (!matchesInclusionPolicies(c, pod, node)) continue;
        const v = node.labels[c.topologyKey];
        counts[i].set(v, (counts[i].get(v) ?? 0) + countPodsMatchSelector(node, c.selector, pod.namespace));
      }
    }
    const s = new SpreadFilterState(cs, counts, cs.map(() => Infinity));
    for (let i = 0; i < cs.length; i++) s.recomputeMin(i);
    state.write(PREFILTER_KEY, s);
    return null;
  }

  addPod(state: CycleState, pod: PodInfo, added: PodInfo, node: NodeInfo): void {
    this.update(state, pod, added, node, 1);
  }

  removePod(state: CycleState, pod: PodInfo, removed: PodInfo, node: NodeInfo): void {
    this.update(state, pod, removed, node, -1);
  }

  private update(state: CycleState, pod: PodInfo, other: PodInfo, node: NodeInfo, delta: number): void {
    const s = state.read<SpreadFilterState>(PREFILTER_KEY);
    if (!s || other.namespace !== pod.namespace || !hasAllKeys(node.labels, s.constraints)) return;
    for (let i = 0; i < s.constraints.length; i++) {
      const c = s.constraints[i];
      if (c.selector === null || !matchesLabels(c.selector, other.labels)) continue;
      if (!matchesInclusionPolicies(c, pod, node)) continue;
      const v = node.labels[c.topologyKey];
      s.counts[i].set(v, (s.counts[i].get(v) ?? 0) + delta);
      s.recomputeMin(i);
    }
  }

  filter(state: CycleState, pod: PodInfo, node: NodeInfo): Status | null {
    const s = state.read<SpreadFilterState>(PREFILTER_KEY);
    if (!s) return null;
    for (let i = 0; i < s.constraints.length; i++) {
      const c = s.constraints[i];
      if (!Object.prototype.hasOwnProperty.call(node.labels, c.topologyKey)) return REJECT_LABEL;
      let min = s.min[i];
      if (!Number.isFinite(min) || s.counts[i].size < c.minDomains) min = 0;
      const self = c.selector !== null && matchesLabels(c.selector, pod.labels) ? 1 : 0;
      const n = s.counts[i].get(node.labels[c.topologyKey]) ?? 0;
      if (n + self - min > c.maxSkew) return REJECT_SKEW;
    }
    return null;
  }

  preScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): Status | null {
    let cs: TopologySpreadConstraint[];
    const own = pod.topologySpreadConstraints.length > 0;
    if (own) cs = pod.topologySpreadConstraints.filter((c) => c.whenUnsatisfiable === 'ScheduleAnyway');
    else {
      const sel = this.handle.defaultSpreadSelector(pod);
      cs = sel && sel.length ? SYSTEM_DEFAULT_CONSTRAINTS.map((c) => ({ ...c, selector: sel })) : [];
    }
    if (!cs.length) return SKIP;
    const requireAll = own;
    const ignored = new Set<string>();
    const counts = cs.map(() => new Map<string, number>());
    const sizes = cs.map(() => 0);
    for (const node of nodes) {
      if (requireAll && !hasAllKeys(node.labels, cs)) {
        ignored.add(node.name);
        continue;
      }
      for (let i = 0; i < cs.length; i++) {
        const c = cs[i];
        if (c.topologyKey === LABEL_HOSTNAME) continue;
        const v = node.labels[c.topologyKey];
        if (v === undefined) continue;
        if (!counts[i].has(v)) {
          counts[i].set(v, 0);
          sizes[i]++;
        }
      }
    }
    for (const node of this.handle.nodeInfos()) {
      if (requireAll && !hasAllKeys(node.labels, cs)) continue;
      for (let i = 0; i < cs.length; i++) {
        const c = cs[i];
        if (c.topologyKey === LABEL_HOSTNAME) continue;
        const v = node.labels[c.topologyKey];
        if (v === undefined || !counts[i].has(v)) continue;
        if (!matchesInclusionPolicies(c, pod, node)) continue;
        counts[i].set(v, counts[i].get(v)! + countPodsMatchSelector(node, c.selector, pod.namespace));
      }
    }
    const weights = cs.map((c, i) => Math.log((c.topologyKey === LABEL_HOSTNAME ? nodes.length - ignored.size : sizes[i]) + 2));
    const st: SpreadScoreState = { constraints: cs, ignored, counts, weights };
    state.write(PRESCORE_KEY, st);
    return null;
  }

  score(state: CycleState, pod: PodInfo, node: NodeInfo): number {
    const s = state.read<SpreadScoreState>(PRESCORE_KEY);
    if (!s || s.ignored.has(node.name)) return 0;
    let score = 0;
    for (let i = 0; i < s.constraints.length; i++) {
      const c = s.constraints[i];
      const v = node.labels[c.topologyKey];
      if (v === undefined) continue;
      const cnt = c.topologyKey === LABEL_HOSTNAME ? countPodsMatchSelector(node, c.selector, pod.namespace) : (s.counts[i].get(v) ?? 0);
      score += cnt * s.weights[i] + (c.maxSkew - 1);
    }
    return Math.round(score);
  }

  normalizeScore(state: CycleState, _pod: PodInfo, scores: number[], nodes: readonly NodeInfo[]): void {
    const s = state.read<SpreadScoreState>(PRESCORE_KEY);
    if (!s) return;
    let min = Infinity;
    let max = 0;
    for (let i = 0; i < scores.length; i++) {
      if (s.ignored.has(nodes[i].name)) continue;
      if (scores[i] < min) min = scores[i];
      if (scores[i] > max) max = scores[i];
    }
    for (let i = 0; i < scores.length; i++) {
      if (s.ignored.has(nodes[i].name)) scores[i] = 0;
      else if (max === 0) scores[i] = MAX_NODE_SCORE;
      else scores[i] = Math.trunc((MAX_NODE_SCORE * (max + min - scores[i])) / max);
    }
  }
}
