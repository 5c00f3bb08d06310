import { defaultNormalizeScore, SKIP, unresolvable, type CycleState, type FilterPlugin, type PreScorePlugin, type ScorePlugin, type Status } from '../framework';
import type { NodeInfo } from '../node-info';
import { findUntoleratedTaint, tolerationsTolerate, type PodInfo, type Toleration } from '../pod-info';

export const TAINT_TOLERATION = 'TaintToleration';
const PRESCORE_KEY = 'PreScore' + TAINT_TOLERATION;

/**
 * Filter: a node with a NoSchedule or NoExecute taint the pod does not tolerate is rejected with
 * `node(s) had untolerated taint {key: value}` (the first such taint in node order).
 * Score: fewer untolerated PreferNoSchedule taints is better (normalized, reversed).
 */
export class TaintToleration implements FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = TAINT_TOLERATION;
  readonly events = ['NodeAdd', 'NodeUpdate'] as const;
  private readonly cache = new Map<string, Status>();

  filter(_s: CycleState, pod: PodInfo, node: NodeInfo): Status | null {
    if (node.taints.length === 0) return null;
    const t = findUntoleratedTaint(node.taints, pod.tolerations);
    if (!t) return null;
    const reason = `node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`;
    let st = this.cache.get(reason);
    if (!st) {
      st = unresolvable(TAINT_TOLERATION, reason);
      if (this.cache.size < 1000) this.cache.set(reason, st);
    }
    return st;
  }

  preScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): Status | null {
    // without PreferNoSchedule taints every node would score the same: nothing to do
    let any = false;
    for (const n of nodes) {
      for (const t of n.taints) if (t.effect === 'PreferNoSchedule') any = true;
      if (any) break;
    }
    if (!any) return SKIP;
    const ts = pod.tolerations.filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
    state.write(PRESCORE_KEY, ts);
    return null;
  }

  score(state: CycleState, _pod: PodInfo, node: NodeInfo): number {
    if (node.taints.length === 0) return 0;
    const ts = state.read<Toleration[]>(PRESCORE_KEY) ?? [];
    let n = 0;
    for (const t of node.taints) if (t.effect === 'PreferNoSchedule' && !tolerationsTolerate(ts, t)) n++;
    return n;
  }

  normalizeScore(_s: CycleState, _p: PodInfo, scores: number[]): void {
    defaultNormalizeScore(scores, true);
  }
}
