import type { Handle, Plugin } from '../framework';
import { ImageLocality, IMAGE_LOCALITY } from './image-locality';
import { InterPodAffinity, INTER_POD_AFFINITY } from './inter-pod-affinity';
import { NodeAffinity, NODE_AFFINITY } from './node-affinity';
import { NodeName } from './node-name';
import { NodePorts } from './node-ports';
import { NodeResourcesBalancedAllocation, NodeResourcesFit, NODE_RESOURCES_BALANCED_ALLOCATION, NODE_RESOURCES_FIT } from './node-resources';
import { NodeUnschedulable } from './node-unschedulable';
import { PodTopologySpread, POD_TOPOLOGY_SPREAD } from './pod-topology-spread';
import { TaintToleration, TAINT_TOLERATION } from './taint-toleration';
import { VolumeBinding } from './volume-binding';

/** Score weights of kube-scheduler's default profile. */
export const DEFAULT_WEIGHTS: Readonly<Record<string, number>> = {
  [TAINT_TOLERATION]: 3,
  [NODE_AFFINITY]: 2,
  [NODE_RESOURCES_FIT]: 1,
  [POD_TOPOLOGY_SPREAD]: 2,
  [INTER_POD_AFFINITY]: 2,
  [NODE_RESOURCES_BALANCED_ALLOCATION]: 1,
  [IMAGE_LOCALITY]: 1,
};

/**
 * The default profile, in kube-scheduler's order (the first rejecting Filter names the reason a
 * node is unsuitable, so the order shapes FailedScheduling messages).
 */
export function defaultPlugins(handle: Handle): Plugin[] {
  return [
    new NodeUnschedulable(),
    new NodeName(),
    new TaintToleration(),
    new NodeAffinity(),
    new NodePorts(),
    new NodeResourcesFit(),
    new VolumeBinding(handle),
    new PodTopologySpread(handle),
    new InterPodAffinity(handle),
    new NodeResourcesBalancedAllocation(),
    new ImageLocality(handle),
  ];
}
