import { SKIP, unschedulable, type CycleState, type FilterPlugin, type PreFilterPlugin, type Status } from '../framework';
import type { NodeInfo } from '../node-info';
import type { PodInfo } from '../pod-info';

export const NODE_PORTS = 'NodePorts';
export const ERR_REASON_NODE_PORTS = "node(s) didn't have free ports for the requested pod ports";

const REJECT = unschedulable(NODE_PORTS, ERR_REASON_NODE_PORTS);

/** A pod's hostPorts (per host IP and protocol; 0.0.0.0 conflicts with every IP) must be free on the node. */
export class NodePorts implements PreFilterPlugin, FilterPlugin {
  readonly name = NODE_PORTS;
  readonly events = ['NodeAdd', 'AssignedPodDelete'] as const;

  preFilter(_s: CycleState, pod: PodInfo): Status | null {
    return pod.hostPorts.length ? null : SKIP;
  }

  filter(_s: CycleState, pod: PodInfo, node: NodeInfo): Status | null {
    for (const hp of pod.hostPorts) if (node.portConflicts(hp)) return REJECT;
    return null;
  }
}
