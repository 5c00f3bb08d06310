import { SKIP, unresolvable, type CycleState, type FilterPlugin, type PreFilterPlugin, type Status } from '../framework';
import type { NodeInfo } from '../node-info';
import type { PodInfo } from '../pod-info';

export const NODE_NAME = 'NodeName';
export const ERR_REASON_NODE_NAME = "node(s) didn't match the requested node name";

const REJECT = unresolvable(NODE_NAME, ERR_REASON_NODE_NAME);

/** A pending pod that names a node (spec.nodeName set but not yet bound) fits only that node. */
export class NodeName implements PreFilterPlugin, FilterPlugin {
  readonly name = NODE_NAME;
  readonly events = ['NodeAdd'] as const;

  preFilter(_s: CycleState, pod: PodInfo): Status | null {
    return pod.nodeName ? null : SKIP;
  }

  filter(_s: CycleState, pod: PodInfo, node: NodeInfo): Status | null {
    return !pod.nodeName || pod.nodeName === node.name ? null : REJECT;
  }
}
