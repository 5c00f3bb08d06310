import type { KObject } from '../../api/types';
import { resourceFor } from '../../api/scheme';
import { fromLabelSelector, matchesLabels } from '../../api/selectors';
import { Controller, type ReconcileResult } from '../../controller/controller';
import { namespacedName } from '../../client/informer';
import { NotFoundError } from '../../util/errors';
import { deepEqual } from '../../util/equal';
import type { ControllerContext } from '../context';
import { isNamespaceTerminating } from '../util/api-errors';
import { SLOW_START_INITIAL_BATCH_SIZE, slowStartBatch } from '../util/batch';
import { claimObjects, controllerRefOf, newControllerRef, ownerStillValid } from '../util/controller-ref';
import { ControllerExpectations } from '../util/expectations';
import { controllerIndexFor } from '../util/owner-index';
import { DelayedEnqueue } from '../util/requeue';
import { isPodActive, isPodAvailable, isPodReady, nextAvailabilityCheckMs, podFromTemplate, podsToDelete, rfc3339 } from '../util/pod';
import { omitEmpty, writeStatus } from '../util/status';

/**
 * The ReplicaSet controller (Kubernetes' pkg/controller/replicaset): keeps `spec.replicas` active
 * pods for every ReplicaSet.
 *
 * - Pods are created from the template (generateName `<rs>-`, controllerRef with
 *   blockOwnerDeletion) in slow-start batches, at most `burstReplicas` per sync; scale-down deletes
 *   the pods ranked first by `podsToDelete` (unscheduled, pending, not ready, doubled-up, newest).
 * - Orphan pods matching the selector are adopted, owned pods that stop matching are released.
 * - Expectations: after creating/deleting, the ReplicaSet is not acted on again until the informer
 *   has observed those changes, so bursts of events never double-create.
 * - Status: replicas, fullyLabeledReplicas, readyReplicas, availableReplicas (minReadySeconds),
 *   observedGeneration and the ReplicaFailure condition (FailedCreate/FailedDelete).
 * - Events on the ReplicaSet: SuccessfulCreate `Created pod: <name>`, SuccessfulDelete
 *   `Deleted pod: <name>`, FailedCreate `Error creating: …`, FailedDelete `Error deleting: …`.
 *
 * Reconcile keys are `namespace/name`. A failed create/delete is rethrown after the status is
 * written, so the key is retried with back-off.
 */
export interface ReplicaSetControllerOptions {
  /** most pods created or deleted per sync (Kubernetes' BurstReplicas, 500) */
  burstReplicas?: number;
  workers?: number;
}

const RS_RI = resourceFor('apps', 'replicasets')!;
const POD_RI = resourceFor('', 'pods')!;

export const REPLICA_FAILURE = 'ReplicaFailure';

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

function selectorMatcher(rs: KObject): (labels: Record<string, string> | undefined) => boolean {
  const sel = fromLabelSelector(rs.spec?.selector);
  return (labels) => sel !== null && matchesLabels(sel, labels);
}

/** The ReplicaSet status Kubernetes' `calculateStatus` would write for these active pods. */
export function calculateReplicaSetStatus(rs: KObject, pods: KObject[], manageError: { op: 'create' | 'delete'; message: string } | undefined, nowMs: number): Record<string, unknown> {
  const templateLabels: Record<string, string> = rs.spec?.template?.metadata?.labels ?? {};
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const p of pods) {
    const l = p.metadata.labels ?? {};
    if (Object.entries(templateLabels).every(([k, v]) => l[k] === v)) fullyLabeled++;
    if (isPodReady(p)) {
      ready++;
      if (isPodAvailable(p, rs.spec?.minReadySeconds, nowMs)) available++;
    }
  }
  let conditions: Record<string, unknown>[] = Array.isArray(rs.status?.conditions) ? rs.status.conditions.map((c: object) => ({ ...c })) : [];
  const existing = conditions.find((c) => c.type === REPLICA_FAILURE);
  if (manageError && !existing) {
    conditions.push({
      type: REPLICA_FAILURE,
      status: 'True',
      lastTransitionTime: rfc3339(nowMs),
      reason: manageError.op === 'create' ? 'FailedCreate' : 'FailedDelete',
      message: manageError.message,
    });
  } else if (!manageError && existing) {
    conditions = conditions.filter((c) => c.type !== REPLICA_FAILURE);
  }
  return omitEmpty(
    {
      replicas: pods.length,
      fullyLabeledReplicas: fullyLabeled,
      readyReplicas: ready,
      availableReplicas: available,
      observedGeneration: rs.metadata.generation ?? 0,
      conditions,
    },
    ['fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration', 'conditions'],
  );
}

export function replicaSetController(ctx: ControllerContext, opts: ReplicaSetControllerOptions = {}): Controller {
  const { registry, clock } = ctx;
  const log = ctx.log.child('replicaset-controller');
  const recorder = ctx.recorder('replicaset-controller');
  const burst = opts.burstReplicas ?? 500;
  const rsInf = ctx.informers.for(RS_RI);
  const podInf = ctx.informers.for(POD_RI);
  const podIndex = controllerIndexFor(podInf);
  const rsIndex = controllerIndexFor(rsInf);
  const expectations = new ControllerExpectations(clock);

  /** The ReplicaSet controlling the pod, if it exists in the cache with the referenced uid. */
  const rsFor = (pod: KObject): KObject | undefined => {
    const ref = controllerRefOf(pod);
    if (!ref || ref.kind !== 'ReplicaSet') return undefined;
    const rs = rsInf.get(pod.metadata.namespace, ref.name);
    return rs && rs.metadata.uid === ref.uid ? rs : undefined;
  };

  /** ReplicaSets of the namespace whose selector matches (for orphans). */
  const rsMatching = (pod: KObject): KObject[] => rsInf.list(pod.metadata.namespace).filter((rs) => selectorMatcher(rs)(pod.metadata.labels));

  /** Active pods of every ReplicaSet sharing this one's controller (siblings under a Deployment). */
  const relatedPods = (rs: KObject): KObject[] => {
    const ref = controllerRefOf(rs);
    const owners = ref ? rsIndex.owned(ref.uid) : [rs];
    return owners.flatMap((o) => podIndex.owned(o.metadata.uid!)).filter(isPodActive);
  };

  const createPod = (rs: KObject): void => {
    const pod = podFromTemplate(rs.spec.template, rs.metadata.name!, newControllerRef(rs));
    try {
      const created = registry.create(POD_RI, rs.metadata.namespace, pod);
      recorder.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
    } catch (e) {
      if (isNamespaceTerminating(e)) throw e;
      recorder.event(rs, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`);
      throw e;
    }
  };

  const manageReplicas = async (pods: KObject[], rs: KObject, key: string): Promise<{ op: 'create' | 'delete'; error: Error } | undefined> => {
    const desired = rs.spec?.replicas ?? 1;
    const diff = pods.length - desired;
    if (diff < 0) {
      const n = Math.min(-diff, burst);
      expectations.expectCreations(key, n);
      log.v(2, 'too few replicas', { replicaSet: key, need: desired, creating: n });
      const { successes, error } = await slowStartBatch(n, SLOW_START_INITIAL_BATCH_SIZE, () => createPod(rs));
      if (n - successes > 0) expectations.lowerCreations(key, n - successes);
      if (error && !isNamespaceTerminating(error)) return { op: 'create', error: error as Error };
      return undefined;
    }
    if (diff > 0) {
      const n = Math.min(diff, burst);
      const victims = podsToDelete(pods, relatedPods(rs), n);
      expectations.expectDeletions(key, victims.map(namespacedName));
      log.v(2, 'too many replicas', { replicaSet: key, need: desired, deleting: n });
      let firstError: Error | undefined;
      for (const p of victims) {
        const pk = namespacedName(p);
        try {
          registry.delete(POD_RI, p.metadata.namespace, p.metadata.name!, { preconditions: { uid: p.metadata.uid } });
          // The informer normally observed the deletion during the call; a deletion that changed
          // nothing (already pending) produces no event, so count it here. Keys count once.
          expectations.deletionObserved(key, pk);
          recorder.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
        } catch (e) {
          expectations.deletionObserved(key, pk);
          if (e instanceof NotFoundError) continue;
          recorder.event(rs, 'Warning', 'FailedDelete', `Error deleting: ${(e as Error).message}`);
          firstError ??= e as Error;
        }
      }
      return firstError ? { op: 'delete', error: firstError } : undefined;
    }
    return undefined;
  };

  const delayed = new DelayedEnqueue(clock);

  return new Controller({
    name: 'replicaset-controller',
    log,
    clock,
    workers: opts.workers ?? 5,
    teardown: () => delayed.stop(),
    setup: (enqueue) => {
      delayed.bind(enqueue);
      const enqueueRS = (rs: KObject) => enqueue(namespacedName(rs));
      const podDeleted = (pod: KObject) => {
        const rs = rsFor(pod);
        if (!rs) return;
        const key = namespacedName(rs);
        expectations.deletionObserved(key, namespacedName(pod));
        enqueue(key);
      };
      rsInf.addHandlers({
        onAdd: enqueueRS,
        onUpdate: (_o, n) => enqueueRS(n),
        onDelete: (rs) => expectations.delete(namespacedName(rs)),
      });
      podInf.addHandlers({
        onAdd: (pod) => {
          if (pod.metadata.deletionTimestamp) return podDeleted(pod);
          const rs = rsFor(pod);
          if (rs) {
            const key = namespacedName(rs);
            expectations.creationObserved(key);
            enqueue(key);
            return;
          }
          if (!controllerRefOf(pod)) for (const r of rsMatching(pod)) enqueueRS(r);
        },
        onUpdate: (old, cur) => {
          if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
          const labelsChanged = !deepEqual(old.metadata.labels ?? {}, cur.metadata.labels ?? {});
          if (cur.metadata.deletionTimestamp) {
            podDeleted(cur);
            if (labelsChanged) podDeleted(old);
            return;
          }
          const oldRef = controllerRefOf(old);
          const curRef = controllerRefOf(cur);
          const refChanged = oldRef?.uid !== curRef?.uid;
          if (refChanged && oldRef) {
            const prev = rsFor(old);
            if (prev) enqueueRS(prev);
          }
          if (curRef) {
            const rs = rsFor(cur);
            if (rs) enqueueRS(rs);
            return;
          }
          if (labelsChanged || refChanged) for (const r of rsMatching(cur)) enqueueRS(r);
        },
        onDelete: podDeleted,
      });
      rsInf.start();
      podInf.start();
    },
    reconcile: async (key): Promise<ReconcileResult | void> => {
      const [ns, name] = splitKey(key);
      const rs = rsInf.get(ns, name);
      if (!rs) {
        expectations.delete(key);
        return;
      }
      const needsSync = expectations.satisfied(key);
      const candidates = podIndex.candidates(rs.metadata.uid!, ns).filter(isPodActive);
      const pods = claimObjects({
        registry,
        ri: POD_RI,
        owner: rs,
        matches: (p) => selectorMatcher(rs)(p.metadata.labels),
        candidates,
        canAdopt: () => ownerStillValid(registry, RS_RI, rs),
        log,
      });
      let manageError: { op: 'create' | 'delete'; error: Error } | undefined;
      if (needsSync && !rs.metadata.deletionTimestamp) manageError = await manageReplicas(pods, rs, key);

      const cur = rsInf.get(ns, name);
      if (!cur || cur.metadata.uid !== rs.metadata.uid) return;
      const now = clock.now();
      const status = calculateReplicaSetStatus(cur, pods, manageError && { op: manageError.op, message: manageError.error.message }, now);
      if (!deepEqual(cur.status ?? {}, status)) {
        try {
          writeStatus(registry, RS_RI, cur, status);
        } catch (e) {
          if (!(e instanceof NotFoundError)) throw e;
          return;
        }
      }
      if (manageError) throw manageError.error;
      const next = nextAvailabilityCheckMs(pods, cur.spec?.minReadySeconds, now);
      if (next !== undefined) delayed.after(key, next);
    },
  });
}
