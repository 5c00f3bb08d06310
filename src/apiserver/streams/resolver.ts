/**
 * Resolving a stream request (pod + optional container name) to a container of a runtime.
 *
 * `StreamResolver` is the seam between the API server's stream handlers and the kubelets:
 * `kubeletResolver` answers from the registry (pod spec and status, for Kubernetes' error
 * wording) and from the kubelet running the pod's node (for the runtime container id). Tests
 * supply their own resolver over a FakeRuntime.
 */
import type { KObject } from '../../api/types';
import { resourceFor } from '../../api/scheme';
import type { ContainerRuntime } from '../../kubelet/runtime/container-runtime';
import { ApiError, BadRequestError } from '../../util/errors';
import type { Registry } from '../registry';

export interface StreamTarget {
  runtime: ContainerRuntime;
  containerId: string;
  containerName: string;
}

export interface StreamResolver {
  /**
   * The container to stream from. Throws ApiError when it cannot: 404 for an unknown pod, 400
   * with Kubernetes' wording otherwise, e.g. `a container name must be specified for pod web,
   * choose one of: [a b]` or `container "x" in pod "y" is waiting to start: ContainerCreating`.
   * `previous` asks for the last terminated instance (logs --previous).
   */
  resolve(ns: string, pod: string, container: string | undefined, previous: boolean): StreamTarget;
}

/** What the resolver needs of a node's kubelet. */
export interface KubeletStreamSource {
  /** The runtime container of a pod's container (the previous instance with `previous`), if any. */
  containerFor(ns: string, pod: string, container?: string, previous?: boolean): { containerId: string; containerName: string } | undefined;
  runtime: ContainerRuntime;
}

const PODS = resourceFor('', 'pods')!;

interface ContainerSpecLike {
  name: string;
}

function names(list: unknown): string[] {
  return Array.isArray(list) ? (list as ContainerSpecLike[]).map((c) => c?.name).filter((n): n is string => typeof n === 'string') : [];
}

/**
 * Kubernetes' container selection for log/exec/attach: the named container (app, init or
 * ephemeral) or, when none is named, the only app container. Throws 400 otherwise.
 */
export function selectContainer(pod: KObject, container: string | undefined): string {
  const podName = pod.metadata.name ?? '';
  const app = names(pod.spec?.containers);
  const init = names(pod.spec?.initContainers);
  const eph = names(pod.spec?.ephemeralContainers);
  if (!container) {
    if (app.length === 1) return app[0];
    if (app.length === 0) throw new BadRequestError(`a container name must be specified for pod ${podName}`);
    let msg = `a container name must be specified for pod ${podName}, choose one of: [${app.join(' ')}]`;
    if (init.length > 0) msg += ` or one of the init containers: [${init.join(' ')}]`;
    throw new BadRequestError(msg);
  }
  if (!app.includes(container) && !init.includes(container) && !eph.includes(container)) {
    throw new BadRequestError(`container ${container} is not valid for pod ${podName}`);
  }
  return container;
}

interface ContainerStatusLike {
  name?: string;
  containerID?: string;
  state?: { waiting?: { reason?: string }; running?: unknown; terminated?: { containerID?: string } };
  lastState?: { terminated?: { containerID?: string } };
}

function findStatus(pod: KObject, name: string): ContainerStatusLike | undefined {
  for (const key of ['containerStatuses', 'initContainerStatuses', 'ephemeralContainerStatuses']) {
    const list = pod.status?.[key];
    if (!Array.isArray(list)) continue;
    const st = (list as ContainerStatusLike[]).find((s) => s?.name === name);
    if (st) return st;
  }
  return undefined;
}

/**
 * Why the container has no runtime instance to stream from, in the kubelet's words (its
 * `validateContainerLogStatus`), judged from the pod status. Always a 400.
 */
export function containerUnavailableError(pod: KObject, name: string, previous: boolean): ApiError {
  const podName = pod.metadata.name ?? '';
  const c = `container "${name}" in pod "${podName}"`;
  const st = findStatus(pod, name);
  if (previous) {
    // With no recorded previous termination, or one whose container is gone.
    return new BadRequestError(`previous terminated container "${name}" in pod "${podName}" not found`);
  }
  if (!st) {
    const hasStatuses = ['containerStatuses', 'initContainerStatuses'].some((k) => Array.isArray(pod.status?.[k]) && pod.status[k].length > 0);
    return new BadRequestError(hasStatuses ? `${c} is not available` : `${c} is waiting to start: ContainerCreating`);
  }
  const state = st.state ?? {};
  if (state.running) return new BadRequestError(`${c} is not available`);
  if (state.terminated || st.lastState?.terminated) return new BadRequestError(`${c} is terminated`);
  if (state.waiting) {
    const reason = state.waiting.reason ?? '';
    if (reason === 'ErrImagePull') return new BadRequestError(`${c} is waiting to start: image can't be pulled`);
    if (reason === 'ImagePullBackOff') return new BadRequestError(`${c} is waiting to start: trying and failing to pull image`);
    return new BadRequestError(`${c} is waiting to start: ${reason}`);
  }
  return new BadRequestError(`${c} is waiting to start - no logs yet`);
}

/**
 * The production resolver: the pod from the registry, its node's kubelet from `kubeletFor`
 * (undefined when the node has no running kubelet: 503), the container instance from the
 * kubelet. Synchronous and side-effect free; safe to call concurrently.
 */
export function kubeletResolver(registry: Registry, kubeletFor: (node: string) => KubeletStreamSource | undefined): StreamResolver {
  return {
    resolve(ns, podName, container, previous) {
      const pod = registry.get(PODS, ns, podName);
      const name = selectContainer(pod, container);
      const node: string | undefined = pod.spec?.nodeName;
      if (!node) throw containerUnavailableError(pod, name, previous);
      const kubelet = kubeletFor(node);
      if (!kubelet) throw new ApiError(503, 'ServiceUnavailable', `the kubelet of node "${node}" is not running`);
      const found = kubelet.containerFor(ns, podName, name, previous);
      if (!found) throw containerUnavailableError(pod, name, previous);
      return { runtime: kubelet.runtime, containerId: found.containerId, containerName: found.containerName };
    },
  };
}
