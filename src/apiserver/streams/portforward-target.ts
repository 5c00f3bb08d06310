/**
 * Finding the pod a port-forward reaches: its uid and an IP reachable from the daemon's host.
 *
 * Two lookups, both throwing ApiErrors that become the HTTP answer before any upgrade:
 * - `registryPodTarget`: from the pod object (`spec.nodeName`, `status.podIP`), as the API
 *   server does. The one to use.
 * - `resolverPodTarget`: for a PodStreams built with only a StreamResolver. The resolver yields
 *   the runtime of the pod's node and one of its containers; the runtime yields the sandbox,
 *   whose IP is the pod IP. A pod with several app containers cannot be resolved this way
 *   (the resolver insists on a container name); that is a 400 naming the fix.
 */
import { resourceFor } from '../../api/scheme';
import { ApiError, BadRequestError } from '../../util/errors';
import type { Registry } from '../registry';
import type { PodForwardTarget } from './portforward-connection';
import type { StreamResolver } from './resolver';

/** Resolves `namespace/name` to the pod to forward to; throws an ApiError when it cannot. */
export type PodTargetLookup = (namespace: string, name: string) => PodForwardTarget | Promise<PodForwardTarget>;

const PODS = resourceFor('', 'pods')!;

/** From the pod object: 404 for an unknown pod, 400 while it has no node or no IP. */
export function registryPodTarget(registry: Pick<Registry, 'get'>): PodTargetLookup {
  return (namespace, name) => {
    const pod = registry.get(PODS, namespace, name);
    if (!pod.spec?.nodeName) throw new BadRequestError(`pod ${name} does not have a host assigned`);
    const ip: unknown = pod.status?.podIP;
    if (typeof ip !== 'string' || ip === '') throw new BadRequestError(`pod ${name} does not have an IP address yet (phase ${pod.status?.phase ?? 'Pending'})`);
    return { namespace, name, uid: pod.metadata.uid ?? '', ip };
  };
}

/** Through the kubelet: the sandbox of the pod's (only) app container. */
export function resolverPodTarget(resolver: StreamResolver): PodTargetLookup {
  return async (namespace, name) => {
    let target;
    try {
      target = resolver.resolve(namespace, name, undefined, false);
    } catch (e) {
      if (e instanceof ApiError && e.code === 400 && /container name must be specified/.test(e.message)) {
        throw new BadRequestError(`port-forward to pod ${name}: pods with several containers need a pod lookup (PodStreamsOptions.portForward.pods)`);
      }
      throw e;
    }
    let infos;
    try {
      infos = await target.runtime.listContainers();
    } catch (e) {
      throw new ApiError(500, 'InternalError', `Internal error occurred: listing containers for pod ${name}: ${(e as Error).message}`);
    }
    const sameId = (a: string, b: string | undefined): boolean => !!b && (a === b || a.startsWith(b) || b.startsWith(a));
    const app = infos.find((c) => sameId(c.id, target.containerId));
    const sandbox = app && infos.find((c) => c.sandbox && c.ip && (sameId(c.id, app.sandboxId) || c.podUid === app.podUid));
    if (!app || !sandbox?.ip) throw new BadRequestError(`pod ${name} does not have an IP address yet`);
    return { namespace, name, uid: app.podUid, ip: sandbox.ip };
  };
}
