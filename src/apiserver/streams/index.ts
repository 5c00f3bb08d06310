/** Pod stream subresources (log, exec, attach) for the API server. */
export { PodStreams, type PodStreamsOptions } from './pod-streams';
export { kubeletResolver, selectContainer, containerUnavailableError, type StreamResolver, type StreamTarget, type KubeletStreamSource } from './resolver';
export type { StreamClock } from './clock';
