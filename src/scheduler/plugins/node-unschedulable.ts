import { unresolvable, type CycleState, type FilterPlugin, type Status } from '../framework';
import { TAINT_UNSCHEDULABLE, type NodeInfo } from '../node-info';
import { tolerationsTolerate, type PodInfo } from '../pod-info';

export const NODE_UNSCHEDULABLE = 'NodeUnschedulable';
export const ERR_REASON_UNSCHEDULABLE = 'node(s) were unschedulable';

const UNSCHEDULABLE_TAINT = { key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' };
const REJECT = unresolvable(NODE_UNSCHEDULABLE, ERR_REASON_UNSCHEDULABLE);

/** Cordoned nodes (spec.unschedulable) only take pods tolerating node.kubernetes.io/unschedulable:NoSchedule. */
export class NodeUnschedulable implements FilterPlugin {
  readonly name = NODE_UNSCHEDULABLE;
  readonly events = ['NodeAdd', 'NodeUpdate'] as const;

  filter(_s: CycleState, pod: PodInfo, node: NodeInfo): Status | null {
    if (!node.unschedulable) return null;
    return tolerationsTolerate(pod.tolerations, UNSCHEDULABLE_TAINT) ? null : REJECT;
  }
}
