import type { KObject } from '../api/types';
import type { Selector } from '../api/selectors';
import type { NodeInfo } from './node-info';
import type { PodInfo } from './pod-info';

/**
 * The scheduling framework in miniature, after kube-scheduler's: plugins implement extension
 * points (PreFilter, Filter, PreScore, Score with NormalizeScore), the framework runs them in
 * profile order, and a failed cycle is described by a Diagnosis whose message uses Kubernetes'
 * wording (`0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {…}.`).
 *
 * Contracts: everything here is synchronous and single-threaded; a cycle reads the scheduler
 * cache directly (nothing mutates it while a cycle runs). Plugins return `null` for success so the
 * hot path allocates nothing.
 */

export const Code = {
  Success: 0,
  Error: 1,
  Unschedulable: 2,
  UnschedulableAndUnresolvable: 3,
  Skip: 4,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

export const MAX_NODE_SCORE = 100;

export class Status {
  constructor(
    readonly code: Code,
    readonly reasons: readonly string[],
    readonly plugin = '',
  ) {}

  /** kube's Status.Message(): the reasons joined by ", ". */
  message(): string {
    return this.reasons.join(', ');
  }

  isRejected(): boolean {
    return this.code === Code.Unschedulable || this.code === Code.UnschedulableAndUnresolvable;
  }
}

export function unschedulable(plugin: string, ...reasons: string[]): Status {
  return new Status(Code.Unschedulable, reasons, plugin);
}

export function unresolvable(plugin: string, ...reasons: string[]): Status {
  return new Status(Code.UnschedulableAndUnresolvable, reasons, plugin);
}

export const SKIP = new Status(Code.Skip, []);

/** Plugin state that must be copied when preemption evaluates a node on a private copy. */
export interface StateData {
  clone(): StateData;
}

/** Per-cycle scratch space shared by a pod's plugins (kube's CycleState). */
export class CycleState {
  private readonly data = new Map<string, unknown>();
  readonly skipFilter = new Set<string>();
  readonly skipScore = new Set<string>();

  read<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }

  write(key: string, v: unknown): void {
    this.data.set(key, v);
  }

  clone(): CycleState {
    const c = new CycleState();
    for (const [k, v] of this.data) c.data.set(k, v && typeof (v as StateData).clone === 'function' ? (v as StateData).clone() : v);
    for (const s of this.skipFilter) c.skipFilter.add(s);
    for (const s of this.skipScore) c.skipScore.add(s);
    return c;
  }
}

/**
 * Cluster changes that may make a pod schedulable again. A plugin lists the events that can undo
 * its rejection; the queue moves a pod out of the unschedulable set only on those.
 */
export type ClusterEvent =
  | 'NodeAdd'
  | 'NodeUpdate'
  | 'NodeDelete'
  | 'AssignedPodAdd'
  | 'AssignedPodUpdate'
  | 'AssignedPodDelete'
  | 'NamespaceUpdate'
  | 'PvcChange'
  | 'PvChange'
  | 'StorageClassChange';

/** Claims, volumes and classes as the scheduler's informers see them (read by VolumeBinding). */
export interface StorageListers {
  claim(ns: string, name: string): KObject | undefined;
  volume(name: string): KObject | undefined;
  storageClass(name: string): KObject | undefined;
  volumes(): readonly KObject[];
}

/** What plugins may read besides the pod and the node at hand. */
export interface Handle {
  /** every node that has a Node object, in the scheduler's iteration order */
  nodeInfos(): readonly NodeInfo[];
  nodeInfo(name: string): NodeInfo | undefined;
  namespaceLabels(ns: string): Record<string, string> | undefined;
  /** kube's DefaultSelector: services, ReplicaSets, StatefulSets, RCs selecting the pod; null when none */
  defaultSpreadSelector(pod: PodInfo): Selector | null;
  /** how many nodes report `image` (normalized) in status.images */
  imageNodeCount(image: string): number;
  /** true when some pod on some node has a pod (anti-)affinity term */
  havePodsWithAffinity(): boolean;
  havePodsWithRequiredAntiAffinity(): boolean;
  /** PersistentVolumeClaims/Volumes/StorageClasses; absent when the scheduler has no storage informers */
  storage?: StorageListers;
}

export interface Plugin {
  readonly name: string;
  /** events that may make a pod this plugin rejected schedulable (EnqueueExtensions) */
  readonly events?: readonly ClusterEvent[];
}

export interface PreFilterPlugin extends Plugin {
  /**
   * Precomputes per-pod state. May return SKIP (its Filter is then not run for this pod), a
   * rejection (the pod fits no node), or narrow the candidate nodes via `narrow`.
   */
  preFilter(state: CycleState, pod: PodInfo, narrow: (names: ReadonlySet<string>) => void): Status | null;
  /** Keeps the precomputed state right when preemption removes (or nominated pods add) a pod. */
  addPod?(state: CycleState, pod: PodInfo, added: PodInfo, node: NodeInfo): void;
  removePod?(state: CycleState, pod: PodInfo, removed: PodInfo, node: NodeInfo): void;
}

export interface FilterPlugin extends Plugin {
  filter(state: CycleState, pod: PodInfo, node: NodeInfo): Status | null;
}

export interface PreScorePlugin extends Plugin {
  /** Returns SKIP when the plugin has nothing to score for this pod. */
  preScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): Status | null;
}

export interface ScorePlugin extends Plugin {
  /** Raw score of one feasible node. */
  score(state: CycleState, pod: PodInfo, node: NodeInfo): number;
  /** Rescales raw scores (index-aligned with `nodes`) into 0..MAX_NODE_SCORE in place. */
  normalizeScore?(state: CycleState, pod: PodInfo, scores: number[], nodes: readonly NodeInfo[]): void;
}

function isPreFilter(p: Plugin): p is PreFilterPlugin {
  return typeof (p as PreFilterPlugin).preFilter === 'function';
}
function isFilter(p: Plugin): p is FilterPlugin {
  return typeof (p as FilterPlugin).filter === 'function';
}
function isPreScore(p: Plugin): p is PreScorePlugin {
  return typeof (p as PreScorePlugin).preScore === 'function';
}
function isScore(p: Plugin): p is ScorePlugin {
  return typeof (p as ScorePlugin).score === 'function';
}

/** kube's DefaultNormalizeScore: scale to 0..max by the largest score, optionally reversed. */
export function defaultNormalizeScore(scores: number[], reverse: boolean, max = MAX_NODE_SCORE): void {
  let maxCount = 0;
  for (const s of scores) if (s > maxCount) maxCount = s;
  if (maxCount === 0) {
    if (reverse) for (let i = 0; i < scores.length; i++) scores[i] = max;
    return;
  }
  for (let i = 0; i < scores.length; i++) {
    let s = Math.trunc((max * scores[i]) / maxCount);
    if (reverse) s = max - s;
    scores[i] = s;
  }
}

/**
 * Why a pod fits no node: per-node statuses, the status of nodes a PreFilter excluded, and the
 * messages of PreFilter/PostFilter failures.
 */
export interface Diagnosis {
  nodeToStatus: Map<string, Status>;
  /** status of every node absent from nodeToStatus (set when a PreFilter narrowed the nodes) */
  absentStatus?: Status;
  unschedulablePlugins: Set<string>;
  preFilterMsg?: string;
  postFilterMsg?: string;
}

export function newDiagnosis(): Diagnosis {
  return { nodeToStatus: new Map(), unschedulablePlugins: new Set() };
}

export const NO_NODES_AVAILABLE = 'no nodes available to schedule pods';

/**
 * kube's FitError.Error(): `0/N nodes are available: <PreFilterMsg | sorted "count reason" list>.`
 * followed by the PostFilter (preemption) message.
 */
export function fitErrorMessage(numAllNodes: number, d: Diagnosis): string {
  let msg = `0/${numAllNodes} nodes are available:`;
  if (d.preFilterMsg) {
    msg += ` ${d.preFilterMsg}.`;
  } else {
    const counts = new Map<string, number>();
    for (const st of d.nodeToStatus.values()) for (const r of st.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
    if (d.absentStatus && d.nodeToStatus.size < numAllNodes) {
      for (const r of d.absentStatus.reasons) counts.set(r, (counts.get(r) ?? 0) + numAllNodes - d.nodeToStatus.size);
    }
    const parts: string[] = [];
    for (const [r, n] of counts) parts.push(`${n} ${r}`);
    parts.sort();
    if (parts.length) msg += ` ${parts.join(', ')}.`;
  }
  if (d.postFilterMsg) msg += ` ${d.postFilterMsg}`;
  return msg;
}

export interface ScoredPlugin {
  plugin: ScorePlugin;
  weight: number;
}

export interface ScheduleResult {
  node: NodeInfo;
  evaluatedNodes: number;
  feasibleNodes: number;
}

export interface FitFailure {
  numAllNodes: number;
  diagnosis: Diagnosis;
  /** state after PreFilter, reused by PostFilter (preemption) */
  state: CycleState;
}

/** Pods nominated to nodes by preemption, consulted by filters (kube's nominator). */
export interface NominatedPods {
  /** nominated pods on `node` with priority >= `priority`, other than `uid` */
  forNode(node: string, priority: number, uid: string): PodInfo[];
}

export interface FrameworkOptions {
  /** 0 = adaptive like kube-scheduler (50% minus 1% per 125 nodes, at least 5%); 100 = all nodes */
  percentageOfNodesToScore?: number;
  random?: () => number;
}

const MIN_FEASIBLE_NODES_TO_FIND = 100;
const MIN_FEASIBLE_NODES_PERCENTAGE = 5;

/** Runs a profile's plugins for one pod: filtering with node sampling, scoring, host selection. */
export class Framework {
  readonly preFilterPlugins: PreFilterPlugin[];
  readonly filterPlugins: FilterPlugin[];
  readonly preScorePlugins: PreScorePlugin[];
  readonly scorePlugins: ScoredPlugin[];
  /** plugin name → events that may make a pod it rejected schedulable */
  readonly eventsByPlugin = new Map<string, ReadonlySet<ClusterEvent>>();
  private nextStartNodeIndex = 0;
  private readonly random: () => number;
  private readonly percentage: number;

  constructor(
    readonly handle: Handle,
    plugins: readonly Plugin[],
    weights: Readonly<Record<string, number>>,
    opts: FrameworkOptions = {},
  ) {
    this.preFilterPlugins = plugins.filter(isPreFilter);
    this.filterPlugins = plugins.filter(isFilter);
    this.preScorePlugins = plugins.filter(isPreScore);
    this.scorePlugins = plugins.filter(isScore).map((p) => ({ plugin: p, weight: weights[p.name] ?? 1 }));
    for (const p of plugins) this.eventsByPlugin.set(p.name, new Set(p.events ?? []));
    this.random = opts.random ?? Math.random;
    this.percentage = opts.percentageOfNodesToScore ?? 0;
  }

  /** How many feasible nodes to look for before scoring (kube's numFeasibleNodesToFind). */
  numFeasibleNodesToFind(numAllNodes: number): number {
    if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND || this.percentage >= 100) return numAllNodes;
    let pct = this.percentage;
    if (pct <= 0) {
      pct = 50 - Math.trunc(numAllNodes / 125);
      if (pct < MIN_FEASIBLE_NODES_PERCENTAGE) pct = MIN_FEASIBLE_NODES_PERCENTAGE;
    }
    const n = Math.trunc((numAllNodes * pct) / 100);
    return n < MIN_FEASIBLE_NODES_TO_FIND ? MIN_FEASIBLE_NODES_TO_FIND : n;
  }

  /** Runs PreFilter plugins. Returns a rejection, or the node-name restriction (undefined = all). */
  runPreFilter(state: CycleState, pod: PodInfo): { status?: Status; nodeNames?: Set<string>; narrowedBy: string[] } {
    let nodeNames: Set<string> | undefined;
    const narrowedBy: string[] = [];
    for (const p of this.preFilterPlugins) {
      let narrowed: ReadonlySet<string> | undefined;
      const st = p.preFilter(state, pod, (names) => (narrowed = names));
      if (st) {
        if (st.code === Code.Skip) {
          state.skipFilter.add(p.name);
          continue;
        }
        return { status: st.plugin ? st : new Status(st.code, st.reasons, p.name), narrowedBy };
      }
      if (narrowed) {
        narrowedBy.push(p.name);
        if (!nodeNames) nodeNames = new Set(narrowed);
        else for (const n of nodeNames) if (!narrowed.has(n)) nodeNames.delete(n);
      }
    }
    return { nodeNames, narrowedBy };
  }

  /** Runs Filter plugins in order; the first rejection wins. */
  runFilter(state: CycleState, pod: PodInfo, node: NodeInfo): Status | null {
    const skip = state.skipFilter;
    const fs = this.filterPlugins;
    for (let i = 0; i < fs.length; i++) {
      const p = fs[i];
      if (skip.size && skip.has(p.name)) continue;
      const st = p.filter(state, pod, node);
      if (st) return st;
    }
    return null;
  }

  /**
   * kube's RunFilterPluginsWithNominatedPods: when pods of equal or higher priority are nominated
   * to the node, the pod must fit with them added, and without them.
   */
  runFilterWithNominated(state: CycleState, pod: PodInfo, node: NodeInfo, nominated: NominatedPods | undefined): Status | null {
    const noms = nominated?.forNode(node.name, pod.priority, pod.uid);
    if (noms && noms.length) {
      const n2 = node.clone();
      const s2 = state.clone();
      for (const np of noms) {
        n2.addPod(np);
        for (const p of this.preFilterPlugins) if (!s2.skipFilter.has(p.name)) p.addPod?.(s2, pod, np, n2);
      }
      const st = this.runFilter(s2, pod, n2);
      if (st) return st;
    }
    return this.runFilter(state, pod, node);
  }

  /**
   * One scheduling attempt: PreFilter, Filter over the nodes (starting where the previous cycle
   * stopped, stopping after numFeasibleNodesToFind), then PreScore/Score and host selection.
   */
  schedulePod(pod: PodInfo, nominated?: NominatedPods): ScheduleResult | FitFailure {
    const all = this.handle.nodeInfos();
    const state = new CycleState();
    const diagnosis = newDiagnosis();
    if (all.length === 0) {
      diagnosis.preFilterMsg = NO_NODES_AVAILABLE;
      return { numAllNodes: 0, diagnosis, state };
    }
    const pre = this.runPreFilter(state, pod);
    if (pre.status) {
      diagnosis.preFilterMsg = pre.status.message();
      if (pre.status.plugin) diagnosis.unschedulablePlugins.add(pre.status.plugin);
      for (const n of all) diagnosis.nodeToStatus.set(n.name, pre.status);
      return { numAllNodes: all.length, diagnosis, state };
    }
    let nodes: readonly NodeInfo[] = all;
    let startIndex = this.nextStartNodeIndex;
    if (pre.nodeNames) {
      const picked: NodeInfo[] = [];
      for (const name of pre.nodeNames) {
        const ni = this.handle.nodeInfo(name);
        if (ni && ni.node) picked.push(ni);
      }
      nodes = picked;
      startIndex = 0;
      diagnosis.absentStatus = unresolvable('', `node(s) didn't satisfy plugin(s) [${[...new Set(pre.narrowedBy)].sort().join(' ')}]`);
      for (const p of pre.narrowedBy) diagnosis.unschedulablePlugins.add(p);
    }
    const want = this.numFeasibleNodesToFind(nodes.length);
    const feasible: NodeInfo[] = [];
    const n = nodes.length;
    let evaluated = 0;
    for (let k = 0; k < n && feasible.length < want; k++) {
      const node = nodes[(startIndex + k) % n];
      evaluated++;
      const st = nominated ? this.runFilterWithNominated(state, pod, node, nominated) : this.runFilter(state, pod, node);
      if (st === null) feasible.push(node);
      else {
        diagnosis.nodeToStatus.set(node.name, st);
        if (st.plugin) diagnosis.unschedulablePlugins.add(st.plugin);
      }
    }
    if (!pre.nodeNames && n > 0) this.nextStartNodeIndex = (startIndex + evaluated) % n;
    if (feasible.length === 0) return { numAllNodes: all.length, diagnosis, state };
    if (feasible.length === 1) return { node: feasible[0], evaluatedNodes: evaluated, feasibleNodes: 1 };
    const totals = this.prioritize(state, pod, feasible);
    return { node: this.selectHost(feasible, totals), evaluatedNodes: evaluated, feasibleNodes: feasible.length };
  }

  /** PreScore, Score, NormalizeScore and weights; returns the weighted total per node. */
  prioritize(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): number[] {
    for (const p of this.preScorePlugins) {
      const st = p.preScore(state, pod, nodes);
      if (st && st.code === Code.Skip) state.skipScore.add(p.name);
    }
    const totals = new Array<number>(nodes.length).fill(0);
    const scores = new Array<number>(nodes.length);
    for (const { plugin, weight } of this.scorePlugins) {
      if (state.skipScore.has(plugin.name)) continue;
      for (let i = 0; i < nodes.length; i++) scores[i] = plugin.score(state, pod, nodes[i]);
      plugin.normalizeScore?.(state, pod, scores, nodes);
      for (let i = 0; i < nodes.length; i++) totals[i] += scores[i] * weight;
    }
    return totals;
  }

  /** Highest total wins; ties are broken uniformly at random (reservoir sampling). */
  selectHost(nodes: readonly NodeInfo[], totals: readonly number[]): NodeInfo {
    let best = 0;
    let ties = 1;
    for (let i = 1; i < nodes.length; i++) {
      if (totals[i] > totals[best]) {
        best = i;
        ties = 1;
      } else if (totals[i] === totals[best]) {
        ties++;
        if (Math.floor(this.random() * ties) === 0) best = i;
      }
    }
    return nodes[best];
  }
}
