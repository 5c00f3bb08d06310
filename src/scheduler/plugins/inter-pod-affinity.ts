import { SKIP, unresolvable, unschedulable, type CycleState, type FilterPlugin, type Handle, type PreFilterPlugin, type PreScorePlugin, type ScorePlugin, type StateData, type Status } from '../framework';
import type { NodeInfo } from '../node-info';
import { affinityTermMatches, type AffinityTerm, type PodInfo } from '../pod-info';

export const INTER_POD_AFFINITY = 'InterPodAffinity';
export const ERR_REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules";
export const ERR_REASON_AFFINITY = "node(s) didn't match pod affinity rules";
export const ERR_REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules";

const PREFILTER_KEY = 'PreFilter' + INTER_POD_AFFINITY;
const PRESCORE_KEY = 'PreScore' + INTER_POD_AFFINITY;
const REJECT_AFFINITY = unresolvable(INTER_POD_AFFINITY, ERR_REASON_AFFINITY);
const REJECT_ANTI = unschedulable(INTER_POD_AFFINITY, ERR_REASON_ANTI_AFFINITY);
const REJECT_EXISTING = unschedulable(INTER_POD_AFFINITY, ERR_REASON_EXISTING_ANTI_AFFINITY);
/** weight of existing pods' required affinity toward the incoming pod in scoring (kube default 1) */
const HARD_POD_AFFINITY_WEIGHT = 1;

const pair = (k: string, v: string) => k + '\u0000' + v;

function inc(m: Map<string, number>, k: string, d: number): void {
  const n = (m.get(k) ?? 0) + d;
  if (n === 0) m.delete(k);
  else m.set(k, n);
}

class AffinityFilterState implements StateData {
  constructor(
    /** topology pairs where an existing pod's required anti-affinity selects the incoming pod */
    readonly existingAnti: Map<string, number>,
    readonly existingAntiKeys: Set<string>,
    /** topology pairs with pods matching all of the incoming pod's required affinity terms */
    readonly affinity: Map<string, number>,
    /** topology pairs with pods matching one of the incoming pod's required anti-affinity terms */
    readonly anti: Map<string, number>,
  ) {}

  clone(): AffinityFilterState {
    return new AffinityFilterState(new Map(this.existingAnti), new Set(this.existingAntiKeys), new Map(this.affinity), new Map(this.anti));
  }
}

/**
 * InterPodAffinity. Filter: the pod's required affinity (some pod matching all terms in the
 * node's topology domain; the first pod of a self-affine group is allowed anywhere), its required
 * anti-affinity (no matching pod in the domain), and existing pods' required anti-affinity
 * against it. Namespaces come from the term's namespaces / namespaceSelector (default: the
 * pod's own). Score: preferred terms of both sides plus existing pods' required affinity.
 */
export class InterPodAffinity implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = INTER_POD_AFFINITY;
  readonly events = ['NodeAdd', 'NodeUpdate', 'AssignedPodAdd', 'AssignedPodUpdate', 'AssignedPodDelete', 'NamespaceUpdate'] as const;
  private readonly nsLabels: (ns: string) => Record<string, string> | undefined;

  constructor(private readonly handle: Handle) {
    this.nsLabels = (ns) => handle.namespaceLabels(ns);
  }

  preFilter(state: CycleState, pod: PodInfo): Status | null {
    const hasOwn = pod.requiredAffinityTerms.length > 0 || pod.requiredAntiAffinityTerms.length > 0;
    if (!hasOwn && !this.handle.havePodsWithRequiredAntiAffinity()) return SKIP;
    const s = new AffinityFilterState(new Map(), new Set(), new Map(), new Map());
    for (const node of this.handle.nodeInfos()) {
      if (node.podsWithRequiredAntiAffinity > 0) {
        for (const ep of node.pods.values()) for (const t of ep.requiredAntiAffinityTerms) this.addExisting(s, t, pod, node, 1);
      }
      if (hasOwn) for (const ep of node.pods.values()) this.addIncoming(s, pod, ep, node, 1);
    }
    state.write(PREFILTER_KEY, s);
    return null;
  }

  private addExisting(s: AffinityFilterState, t: AffinityTerm, pod: PodInfo, node: NodeInfo, d: number): void {
    const v = node.labels[t.topologyKey];
    if (v === undefined || !affinityTermMatches(t, pod, this.nsLabels)) return;
    inc(s.existingAnti, pair(t.topologyKey, v), d);
    s.existingAntiKeys.add(t.topologyKey);
  }

  private addIncoming(s: AffinityFilterState, pod: PodInfo, ep: PodInfo, node: NodeInfo, d: number): void {
    const aff = pod.requiredAffinityTerms;
    if (aff.length && aff.every((t) => affinityTermMatches(t, ep, this.nsLabels))) {
      for (const t of aff) {
        const v = node.labels[t.topologyKey];
        if (v !== undefined) inc(s.affinity, pair(t.topologyKey, v), d);
      }
    }
    for (const t of pod.requiredAntiAffinityTerms) {
      const v = node.labels[t.topologyKey];
      if (v !== undefined && affinityTermMatches(t, ep, this.nsLabels)) inc(s.anti, pair(t.topologyKey, v), d);
    }
  }

  addPod(state: CycleState, pod: PodInfo, added: PodInfo, node: NodeInfo): void {
    this.update(state, pod, added, node, 1);
  }

  removePod(state: CycleState, pod: PodInfo, removed: PodInfo, node: NodeInfo): void {
    this.update(state, pod, removed, node, -1);
  }

  private update(state: CycleState, pod: PodInfo, other: PodInfo, node: NodeInfo, d: number): void {
    const s = state.read<AffinityFilterState>(PREFILTER_KEY);
    if (!s) return;
    for (const t of other.requiredAntiAffinityTerms) this.addExisting(s, t, pod, node, d);
    this.addIncoming(s, pod, other, node, d);
  }

  filter(state: CycleState, pod: PodInfo, node: NodeInfo): Status | null {
    const s = state.read<AffinityFilterState>(PREFILTER_KEY);
    if (!s) return null;
    // required affinity
    if (pod.requiredAffinityTerms.length) {
      let podsExist = true;
      for (const t of pod.requiredAffinityTerms) {
        const v = node.labels[t.topologyKey];
        if (v === undefined) return REJECT_AFFINITY;
        if (!((s.affinity.get(pair(t.topologyKey, v)) ?? 0) > 0)) podsExist = false;
      }
      if (!podsExist) {
        const selfAffine = s.affinity.size === 0 && pod.requiredAffinityTerms.every((t) => affinityTermMatches(t, pod, this.nsLabels));
        if (!selfAffine) return REJECT_AFFINITY;
      }
    }
    // required anti-affinity
    if (s.anti.size) {
      for (const t of pod.requiredAntiAffinityTerms) {
        const v = node.labels[t.topologyKey];
        if (v !== undefined && (s.anti.get(pair(t.topologyKey, v)) ?? 0) > 0) return REJECT_ANTI;
      }
    }
    // existing pods' anti-affinity
    if (s.existingAnti.size) {
      for (const k of s.existingAntiKeys) {
        const v = node.labels[k];
        if (v !== undefined && (s.existingAnti.get(pair(k, v)) ?? 0) > 0) return REJECT_EXISTING;
      }
    }
    return null;
  }

  preScore(state: CycleState, pod: PodInfo): Status | null {
    const hasPreferred = pod.preferredAffinityTerms.length > 0 || pod.preferredAntiAffinityTerms.length > 0;
    if (!hasPreferred && !this.handle.havePodsWithAffinity()) return SKIP;
    const scores = new Map<string, Map<string, number>>();
    const add = (key: string, node: NodeInfo, w: number) => {
      const v = node.labels[key];
      if (v === undefined || w === 0) return;
      let m = scores.get(key);
      if (!m) scores.set(key, (m = new Map()));
      m.set(v, (m.get(v) ?? 0) + w);
    };
    for (const node of this.handle.nodeInfos()) {
      if (!hasPreferred && node.podsWithAffinity === 0) continue;
      for (const ep of node.pods.values()) {
        if (!hasPreferred && !ep.hasAffinity) continue;
        for (const t of pod.preferredAffinityTerms) if (affinityTermMatches(t, ep, this.nsLabels)) add(t.topologyKey, node, t.weight);
        for (const t of pod.preferredAntiAffinityTerms) if (affinityTermMatches(t, ep, this.nsLabels)) add(t.topologyKey, node, -t.weight);
        if (!ep.hasAffinity) continue;
        for (const t of ep.requiredAffinityTerms) if (affinityTermMatches(t, pod, this.nsLabels)) add(t.topologyKey, node, HARD_POD_AFFINITY_WEIGHT);
        for (const t of ep.preferredAffinityTerms) if (affinityTermMatches(t, pod, this.nsLabels)) add(t.topologyKey, node, t.weight);
        for (const t of ep.preferredAntiAffinityTerms) if (affinityTermMatches(t, pod, this.nsLabels)) add(t.topologyKey, node, -t.weight);
      }
    }
    if (scores.size === 0) return SKIP;
    state.write(PRESCORE_KEY, scores);
    return null;
  }

  score(state: CycleState, _pod: PodInfo, node: NodeInfo): number {
    const scores = state.read<Map<string, Map<string, number>>>(PRESCORE_KEY);
    if (!scores) return 0;
    let n = 0;
    for (const [key, m] of scores) {
      const v = node.labels[key];
      if (v !== undefined) n += m.get(v) ?? 0;
    }
    return n;
  }

  normalizeScore(_s: CycleState, _p: PodInfo, scores: number[]): void {
    let min = Infinity;
    let max = -Infinity;
    for (const s of scores) {
      if (s < min) min = s;
      if (s > max) max = s;
    }
    const diff = max - min;
    for (let i = 0; i < scores.length; i++) scores[i] = diff > 0 ? Math.trunc((100 * (scores[i] - min)) / diff) : 0;
  }
}
