import { MAX_NODE_SCORE, SKIP, type CycleState, type Handle, type PreScorePlugin, type ScorePlugin, type Status } from '../framework';
import type { NodeInfo } from '../node-info';
import { normalizedImageName, type PodInfo } from '../pod-info';

export const IMAGE_LOCALITY = 'ImageLocality';
const MB = 1024 * 1024;
const MIN_THRESHOLD = 23 * MB;
const MAX_CONTAINER_THRESHOLD = 1000 * MB;
const PRESCORE_KEY = 'PreScore' + IMAGE_LOCALITY;

/**
 * ImageLocality: prefers nodes that already report the pod's images (node.status.images), each
 * image's size scaled by the fraction of nodes having it, so a rare large image counts most.
 */
export class ImageLocality implements PreScorePlugin, ScorePlugin {
  readonly name = IMAGE_LOCALITY;
  constructor(private readonly handle: Handle) {}

  preScore(state: CycleState, pod: PodInfo): Status | null {
    const images = pod.images.map(normalizedImageName).filter((i) => this.handle.imageNodeCount(i) > 0);
    if (!images.length) return SKIP;
    state.write(PRESCORE_KEY, images);
    return null;
  }

  score(state: CycleState, pod: PodInfo, node: NodeInfo): number {
    const images = state.read<string[]>(PRESCORE_KEY) ?? [];
    const total = this.handle.nodeInfos().length || 1;
    let sum = 0;
    for (const img of images) {
      const size = node.images.get(img);
      if (size !== undefined) sum += size * (this.handle.imageNodeCount(img) / total);
    }
    const max = MAX_CONTAINER_THRESHOLD * Math.max(1, pod.images.length);
    if (sum < MIN_THRESHOLD) sum = MIN_THRESHOLD;
    else if (sum > max) sum = max;
    return Math.trunc((MAX_NODE_SCORE * (sum - MIN_THRESHOLD)) / (max - MIN_THRESHOLD));
  }
}
