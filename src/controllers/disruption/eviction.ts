import type { KObject } from '../../api/types';
import { resourceFor } from '../../api/scheme';
import type { Registry } from '../../apiserver/registry';
import { ApiError, ConflictError } from '../../util/errors';
import { isPodReady, rfc3339 } from '../job/job-util';
import { podsForPdb, withDisruptionAllowed } from './pdb';

/**
 * Admission of a pods/eviction request against PodDisruptionBudgets, as the Kubernetes eviction
 * REST storage does it. Call before deleting the pod; returns normally when the eviction may
 * proceed, throws an ApiError otherwise:
 * - terminal, Pending or already-deleting pods, and pods no budget selects, are always evictable;
 * - more than one budget selecting the pod: 500 (unsupported, as in Kubernetes);
 * - an unready pod is evictable with `unhealthyPodEvictionPolicy: AlwaysAllow`, or (default
 *   IfHealthyBudget) while the budget has currentHealthy >= desiredHealthy > 0;
 * - otherwise the budget's status must be current (observedGeneration) and allow a disruption:
 *   429 TooManyRequests "Cannot evict pod as it would violate the pod's disruption budget." with a
 *   DisruptionBudget cause, which `kubectl drain` retries every 5 s. An admitted eviction
 *   decrements `status.disruptionsAllowed` and records the pod in `status.disruptedPods`, so
 *   concurrent evictions cannot overdraw the budget before the disruption controller catches up.
 * `now` is injectable for tests. With `dryRun` the budget is checked but not written.
 */
export function admitEviction(registry: Registry, pod: KObject, opts: { dryRun?: boolean; now?: number } = {}): void {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || pod.metadata.deletionTimestamp) return;
  const pdbRI = resourceFor('policy', 'poddisruptionbudgets')!;
  const now = opts.now ?? Date.now();
  for (let attempt = 0; ; attempt++) {
    const pdbs = registry.list(pdbRI, pod.metadata.namespace).items.filter((b) => podsForPdb(b, [pod]).length > 0);
    if (pdbs.length === 0) return;
    if (pdbs.length > 1) throw new ApiError(500, 'InternalError', 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
    const pdb = pdbs[0];
    const st = pdb.status ?? {};
    if (!isPodReady(pod)) {
      if (pdb.spec?.unhealthyPodEvictionPolicy === 'AlwaysAllow') return;
      if ((st.currentHealthy ?? 0) >= (st.desiredHealthy ?? 0) && (st.desiredHealthy ?? 0) > 0) return;
    }
    const violation = (message: string): ApiError =>
      new ApiError(429, 'TooManyRequests', "Cannot evict pod as it would violate the pod's disruption budget.", {
        causes: [{ reason: 'DisruptionBudget', message }],
      });
    if ((st.observedGeneration ?? 0) < (pdb.metadata.generation ?? 0) || st.observedGeneration === undefined) {
      throw violation(`The disruption budget ${pdb.metadata.name} is still being processed by the server.`);
    }
    const allowed: number = st.disruptionsAllowed ?? 0;
    if (allowed < 0) throw new ApiError(403, 'Forbidden', 'pdb disruptions allowed is negative');
    if (Object.keys(st.disruptedPods ?? {}).length > 2000) {
      throw new ApiError(403, 'Forbidden', 'DisruptedPods map too big - too many evictions not confirmed by PDB controller');
    }
    if (allowed === 0) {
      throw violation(`The disruption budget ${pdb.metadata.name} needs ${st.desiredHealthy ?? 0} healthy pods and has ${st.currentHealthy ?? 0} currently`);
    }
    if (opts.dryRun) return;
    const next = JSON.parse(JSON.stringify(pdb)) as KObject;
    next.status = { ...st, disruptionsAllowed: allowed - 1, disruptedPods: { ...(st.disruptedPods ?? {}), [pod.metadata.name!]: rfc3339(now) } };
    if (allowed - 1 === 0) next.status.conditions = withDisruptionAllowed(st.conditions, false, 'InsufficientPods', '', pdb.metadata.generation, now);
    try {
      registry.update(pdbRI, pdb.metadata.namespace, pdb.metadata.name!, next, { subresource: 'status' });
      return;
    } catch (e) {
      if (e instanceof ConflictError && attempt < 5) continue;
      throw e;
    }
  }
}
