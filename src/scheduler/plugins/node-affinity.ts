import { defaultNormalizeScore, SKIP, unresolvable, type CycleState, type FilterPlugin, type PreFilterPlugin, type PreScorePlugin, type ScorePlugin, type Status } from '../framework';
import type { NodeInfo } from '../node-info';
import { nodeSelectorTermMatches, podMatchesNodeSelectorAndAffinity, type PodInfo } from '../pod-info';

export const NODE_AFFINITY = 'NodeAffinity';
export const ERR_REASON_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector";

const REJECT = unresolvable(NODE_AFFINITY, ERR_REASON_NODE_AFFINITY);
const CONFLICT = unresolvable(NODE_AFFINITY, 'pod affinity terms conflict');

/**
 * Filter: spec.nodeSelector and required node affinity (terms ORed; expressions with In, NotIn,
 * Exists, DoesNotExist, Gt, Lt; matchFields metadata.name). PreFilter narrows the candidate nodes
 * when every term pins metadata.name (DaemonSet pods), so those cost O(1) instead of O(nodes).
 * Score: sum of the weights of matching preferred terms, normalized.
 */
export class NodeAffinity implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = NODE_AFFINITY;
  readonly events = ['NodeAdd', 'NodeUpdate'] as const;

  preFilter(_s: CycleState, pod: PodInfo, narrow: (names: ReadonlySet<string>) => void): Status | null {
    if (!pod.nodeSelector && !pod.requiredNodeTerms) return SKIP;
    const terms = pod.requiredNodeTerms;
    if (!terms || !terms.length) return null;
    // terms are ORed: narrowing is possible only when every term pins metadata.name
    const names = new Set<string>();
    for (const t of terms) {
      let termNames: Set<string> | undefined;
      for (const r of t.fields) {
        if (r.key !== 'metadata.name' || r.operator !== 'In') continue;
        const s = new Set(r.values);
        termNames = termNames ? new Set([...termNames].filter((n) => s.has(n))) : s;
      }
      if (!termNames) return null;
      for (const n of termNames) names.add(n);
    }
    if (names.size === 0) return CONFLICT;
    narrow(names);
    return null;
  }

  filter(_s: CycleState, pod: PodInfo, node: NodeInfo): Status | null {
    return podMatchesNodeSelectorAndAffinity(pod, node.labels, node.name) ? null : REJECT;
  }

  preScore(_s: CycleState, pod: PodInfo): Status | null {
    return pod.preferredNodeTerms.length ? null : SKIP;
  }

  score(_s: CycleState, pod: PodInfo, node: NodeInfo): number {
    let n = 0;
    for (const t of pod.preferredNodeTerms) if (nodeSelectorTermMatches(t.term, node.labels, node.name)) n += t.weight;
    return n;
  }

  normalizeScore(_s: CycleState, _p: PodInfo, scores: number[]): void {
    defaultNormalizeScore(scores, false);
  }
}
