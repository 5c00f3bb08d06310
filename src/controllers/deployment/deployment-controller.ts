import type { KObject } from '../../api/types';
import { resourceFor } from '../../api/scheme';
import { fromLabelSelector, matchesLabels } from '../../api/selectors';
import { Controller, type ReconcileResult } from '../../controller/controller';
import { namespacedName } from '../../client/informer';
import { AlreadyExistsError, NotFoundError } from '../../util/errors';
import { deepEqual } from '../../util/equal';
import type { ControllerContext } from '../context';
import { claimObjects, controllerRefOf, isControlledBy, newControllerRef, ownerStillValid } from '../util/controller-ref';
import { computeHash } from '../util/hash';
import { controllerIndexFor } from '../util/owner-index';
import { DelayedEnqueue } from '../util/requeue';
import { writeStatus } from '../util/status';
import {
  DESIRED_REPLICAS_ANNOTATION,
  PROGRESSING,
  REASON,
  REPLICA_FAILURE,
  REVISION_ANNOTATION,
  actualReplicaCount,
  byRevision,
  calculateStatus,
  deploymentComplete,
  deploymentProgressing,
  deploymentTimedOut,
  equalIgnoreHash,
  filterActiveReplicaSets,
  findActiveOrLatest,
  findNewReplicaSet,
  findOldReplicaSets,
  getCondition,
  hasProgressDeadline,
  isRollingUpdate,
  isSaturated,
  maxRevision,
  maxSurge,
  msUntilProgressDeadline,
  newCondition,
  newRSNewReplicas,
  newReplicaSetTemplate,
  planNewReplicaSetScale,
  planOldReplicaSetsScaleDown,
  podTemplateHashInput,
  proportionalScale,
  removeCondition,
  replicasAnnotationsNeedUpdate,
  selectorWithHash,
  serializeStatus,
  setCondition,
  setDeploymentRevision,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
  specReplicas,
  type DeploymentCondition,
  type DeploymentStatus,
} from './util';

/**
 * The Deployment controller (Kubernetes' pkg/controller/deployment). A Deployment owns
 * ReplicaSets named `<deployment>-<pod-template-hash>`; the one whose template equals the
 * Deployment's (ignoring the hash label) is the *new* ReplicaSet, all others are *old*.
 *
 * - RollingUpdate grows the new ReplicaSet while the total stays within `replicas + maxSurge`
 *   and shrinks old ones while availability stays above `replicas - maxUnavailable`; Recreate
 *   scales old ReplicaSets to 0, waits until their pods are gone, then scales the new one up.
 * - Scaling a Deployment in the middle of a rollout distributes the change proportionally
 *   (max-replicas annotation); paused Deployments are only scaled.
 * - Revisions: the new ReplicaSet gets revision max(old)+1 (`deployment.kubernetes.io/revision`
 *   on it and on the Deployment); reusing an old ReplicaSet — what `kubectl rollout undo`
 *   produces — bumps its revision and records the previous one in `revision-history`. The
 *   Deployment's annotations (except kubectl's last-applied and the controller's own) are
 *   copied to the new ReplicaSet, so `kubernetes.io/change-cause` shows in `rollout history`.
 * - Old ReplicaSets beyond revisionHistoryLimit with no replicas are deleted.
 * - Status: observedGeneration, replicas, updatedReplicas, readyReplicas, availableReplicas,
 *   unavailableReplicas, collisionCount; conditions Available (MinimumReplicasAvailable /
 *   MinimumReplicasUnavailable), Progressing (NewReplicaSetCreated, FoundNewReplicaSet,
 *   ReplicaSetUpdated, NewReplicaSetAvailable, ProgressDeadlineExceeded, DeploymentPaused,
 *   DeploymentResumed, ReplicaSetCreateError) and ReplicaFailure copied from ReplicaSets.
 * - Events on the Deployment: ScalingReplicaSet `Scaled up replica set <rs> from 0 to 3`,
 *   `Scaled down replica set <rs> from 3 to 2` (Kubernetes ≥1.29 wording), FailedCreate.
 *
 * The pod-template-hash is minictl's stable hash of the template (see util/hash.ts), not
 * byte-identical to Kubernetes'. Reconcile keys are `namespace/name`; errors requeue with back-off;
 * a Deployment waiting for its progress deadline is requeued for that moment.
 */
export interface DeploymentControllerOptions {
  workers?: number;
}

const D_RI = resourceFor('apps', 'deployments')!;
const RS_RI = resourceFor('apps', 'replicasets')!;
const POD_RI = resourceFor('', 'pods')!;

function clone<T>(o: T): T {
  return JSON.parse(JSON.stringify(o));
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

function selectorOf(o: KObject): (labels: Record<string, string> | undefined) => boolean {
  const sel = fromLabelSelector(o.spec?.selector);
  return (labels) => sel !== null && matchesLabels(sel, labels);
}

function normalizeStatus(s: unknown): Record<string, unknown> {
  return serializeStatus((s ?? {}) as DeploymentStatus);
}

/** Per-reconcile state: the working copy of the Deployment and the requested requeue. */
interface Sync {
  d: KObject & { status: DeploymentStatus };
  requeueAfterMs?: number;
}

export function deploymentController(ctx: ControllerContext, opts: DeploymentControllerOptions = {}): Controller {
  const { registry, clock } = ctx;
  const log = ctx.log.child('deployment-controller');
  const recorder = ctx.recorder('deployment-controller');
  const dInf = ctx.informers.for(D_RI);
  const rsInf = ctx.informers.for(RS_RI);
  const podInf = ctx.informers.for(POD_RI);
  const rsIndex = controllerIndexFor(rsInf);
  const podIndex = controllerIndexFor(podInf);

  // ---- writes --------------------------------------------------------------------------------------

  /** Writes the ReplicaSet's replicas, minReadySeconds and annotations from `rs`. */
  const updateRS = (rs: KObject): KObject =>
    registry.guaranteedUpdate(RS_RI, rs.metadata.namespace, rs.metadata.name!, (cur) => {
      if (cur.metadata.uid !== rs.metadata.uid) throw new NotFoundError(RS_RI.resource, rs.metadata.name!, RS_RI.group);
      cur.spec.replicas = rs.spec.replicas;
      if (rs.spec.minReadySeconds) cur.spec.minReadySeconds = rs.spec.minReadySeconds;
      else delete cur.spec.minReadySeconds;
      cur.metadata.annotations = { ...(rs.metadata.annotations ?? {}) };
      return cur;
    });

  /**
   * Persists the working Deployment: the revision annotation (metadata — Kubernetes writes it
   * through UpdateStatus, whose strategy keeps annotations; here it needs a main-resource update
   * that leaves spec and generation alone) and the status.
   */
  const persist = (s: Sync): void => {
    const d = s.d;
    const rev = d.metadata.annotations?.[REVISION_ANNOTATION];
    const cur = dInf.get(d.metadata.namespace, d.metadata.name!);
    if (rev !== undefined && cur && cur.metadata.annotations?.[REVISION_ANNOTATION] !== rev) {
      registry.guaranteedUpdate(D_RI, d.metadata.namespace, d.metadata.name!, (c) => {
        if (c.metadata.uid !== d.metadata.uid) throw new NotFoundError(D_RI.resource, d.metadata.name!, D_RI.group);
        c.metadata.annotations = { ...(c.metadata.annotations ?? {}), [REVISION_ANNOTATION]: rev };
        return c;
      });
    }
    writeStatus(registry, D_RI, d, normalizeStatus(d.status));
  };

  const scaleReplicaSet = (rs: KObject, newScale: number, d: KObject): { scaled: boolean; rs: KObject } => {
    const oldScale = specReplicas(rs);
    const sizeNeedsUpdate = oldScale !== newScale;
    const max = specReplicas(d) + maxSurge(d);
    if (!sizeNeedsUpdate && !replicasAnnotationsNeedUpdate(rs, specReplicas(d), max)) return { scaled: false, rs };
    const copy = clone(rs);
    copy.spec.replicas = newScale;
    setReplicasAnnotations(copy, specReplicas(d), max);
    const updated = updateRS(copy);
    if (sizeNeedsUpdate) {
      recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled ${oldScale < newScale ? 'up' : 'down'} replica set ${rs.metadata.name} from ${oldScale} to ${newScale}`);
    }
    return { scaled: sizeNeedsUpdate, rs: updated };
  };

  const scaleReplicaSetAndRecordEvent = (rs: KObject, newScale: number, d: KObject): { scaled: boolean; rs: KObject } => {
    if (specReplicas(rs) === newScale) return { scaled: false, rs };
    return scaleReplicaSet(rs, newScale, d);
  };

  // ---- reading -------------------------------------------------------------------------------------

  const getReplicaSetsForDeployment = (d: KObject): KObject[] =>
    claimObjects({
      registry,
      ri: RS_RI,
      owner: d,
      matches: (rs) => selectorOf(d)(rs.metadata.labels),
      candidates: rsIndex.candidates(d.metadata.uid!, d.metadata.namespace!),
      canAdopt: () => ownerStillValid(registry, D_RI, d),
      log,
    });

  /** Pods of each owned ReplicaSet that match the Deployment selector, by ReplicaSet uid. */
  const getPodMap = (d: KObject, rsList: KObject[]): Map<string, KObject[]> => {
    const matches = selectorOf(d);
    const m = new Map<string, KObject[]>();
    for (const rs of rsList) m.set(rs.metadata.uid!, podIndex.owned(rs.metadata.uid!).filter((p) => matches(p.metadata.labels)));
    return m;
  };

  /**
   * `getNewReplicaSet`: the new ReplicaSet with its revision synced, created when absent and
   * `create` is set. Also records the revision and the first Progressing condition on the
   * Deployment. A name collision with a foreign ReplicaSet bumps status.collisionCount and throws.
   */
  const getNewReplicaSet = (s: Sync, rsList: KObject[], oldRSs: KObject[], create: boolean): KObject | undefined => {
    const d = s.d;
    const now = clock.now();
    const existing = findNewReplicaSet(d, rsList);
    const newRevision = maxRevision(oldRSs) + 1;
    if (existing) {
      const copy = clone(existing);
      const annotationsUpdated = setNewReplicaSetAnnotations(d, copy, newRevision, true);
      const minReadyNeedsUpdate = (copy.spec.minReadySeconds ?? 0) !== (d.spec.minReadySeconds ?? 0);
      if (annotationsUpdated || minReadyNeedsUpdate) {
        copy.spec.minReadySeconds = d.spec.minReadySeconds ?? 0;
        return updateRS(copy);
      }
      let needsUpdate = setDeploymentRevision(d, Number(copy.metadata.annotations?.[REVISION_ANNOTATION] ?? newRevision));
      if (hasProgressDeadline(d) && !getCondition(d.status, PROGRESSING)) {
        setCondition(d.status, newCondition(PROGRESSING, 'True', REASON.foundNewRS, `Found new replica set "${copy.metadata.name}"`, now));
        needsUpdate = true;
      }
      if (needsUpdate) persist(s);
      return copy;
    }
    if (!create) return undefined;

    const hash = computeHash(podTemplateHashInput(d.spec.template), d.status.collisionCount);
    const template = newReplicaSetTemplate(d, hash);
    const newRS: KObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        ownerReferences: [newControllerRef(d)],
        labels: { ...template.metadata.labels },
      },
      spec: {
        replicas: 0,
        ...(d.spec.minReadySeconds ? { minReadySeconds: d.spec.minReadySeconds } : {}),
        selector: selectorWithHash(d.spec.selector, hash),
        template,
      },
    };
    const newReplicasCount = newRSNewReplicas(d, [...oldRSs, newRS], newRS);
    newRS.spec.replicas = newReplicasCount;
    setNewReplicaSetAnnotations(d, newRS, newRevision, false);
    let created: KObject;
    let alreadyExists = false;
    try {
      created = registry.create(RS_RI, d.metadata.namespace, newRS);
    } catch (e) {
      if (e instanceof AlreadyExistsError) {
        alreadyExists = true;
        const rs = registry.tryGet(RS_RI, d.metadata.namespace, newRS.metadata.name!);
        if (rs && isControlledBy(rs, d.metadata.uid) && equalIgnoreHash(d.spec.template, rs.spec?.template)) {
          created = rs;
        } else {
          // A hash collision: bump collisionCount so the next sync computes another name.
          d.status.collisionCount = (d.status.collisionCount ?? 0) + 1;
          writeStatus(registry, D_RI, d, normalizeStatus(d.status));
          log.v(1, 'pod-template-hash collision, bumped collisionCount', { deployment: namespacedName(d), collisionCount: d.status.collisionCount });
          throw e;
        }
      } else {
        const msg = `Failed to create new replica set "${newRS.metadata.name}": ${(e as Error).message}`;
        if (hasProgressDeadline(d)) {
          setCondition(d.status, newCondition(PROGRESSING, 'False', REASON.failedRSCreate, msg, now));
          try {
            writeStatus(registry, D_RI, d, normalizeStatus(d.status));
          } catch {
            // best effort, the error below requeues
          }
        }
        recorder.event(d, 'Warning', 'FailedCreate', msg);
        throw e;
      }
    }
    if (!alreadyExists && newReplicasCount > 0) {
      recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${created.metadata.name} from 0 to ${newReplicasCount}`);
    }
    let needsUpdate = setDeploymentRevision(d, newRevision);
    if (!alreadyExists && hasProgressDeadline(d)) {
      setCondition(d.status, newCondition(PROGRESSING, 'True', REASON.newReplicaSet, `Created new replica set "${created.metadata.name}"`, now));
      needsUpdate = true;
    }
    if (needsUpdate) persist(s);
    return created;
  };

  const getAllReplicaSetsAndSyncRevision = (s: Sync, rsList: KObject[], create: boolean): { newRS?: KObject; oldRSs: KObject[] } => {
    const existing = findNewReplicaSet(s.d, rsList);
    const oldRSs = findOldReplicaSets(rsList, existing);
    const newRS = getNewReplicaSet(s, rsList, oldRSs, create);
    return { newRS, oldRSs };
  };

  // ---- status --------------------------------------------------------------------------------------

  const syncDeploymentStatus = (s: Sync, allRSs: (KObject | undefined)[], newRS: KObject | undefined): void => {
    const status = calculateStatus(allRSs, newRS, s.d, clock.now());
    if (deepEqual(normalizeStatus(s.d.status), normalizeStatus(status))) return;
    s.d.status = status;
    writeStatus(registry, D_RI, s.d, normalizeStatus(status));
  };

  /** ReplicaFailure conditions of the new ReplicaSet, else of any ReplicaSet. */
  const replicaFailures = (allRSs: (KObject | undefined)[], newRS: KObject | undefined): DeploymentCondition[] => {
    const toDeploymentCondition = (c: Record<string, string>): DeploymentCondition => ({
      type: REPLICA_FAILURE,
      status: c.status as DeploymentCondition['status'],
      lastUpdateTime: c.lastTransitionTime,
      lastTransitionTime: c.lastTransitionTime,
      reason: c.reason,
      message: c.message,
    });
    const of = (rs: KObject | undefined) => ((rs?.status?.conditions ?? []) as Record<string, string>[]).filter((c) => c.type === REPLICA_FAILURE).map(toDeploymentCondition);
    const fromNew = of(newRS);
    if (fromNew.length) return fromNew;
    return allRSs.flatMap(of);
  };

  /** `syncRolloutStatus`: status plus the Progressing condition (progress, completion, deadline). */
  const syncRolloutStatus = (s: Sync, allRSs: (KObject | undefined)[], newRS: KObject | undefined): void => {
    const d = s.d;
    const now = clock.now();
    const status = calculateStatus(allRSs, newRS, d, now);
    if (!hasProgressDeadline(d)) removeCondition(status, PROGRESSING);
    const currentCond = getCondition(d.status, PROGRESSING);
    const isComplete = status.replicas === status.updatedReplicas && currentCond?.reason === REASON.newRSAvailable;
    if (hasProgressDeadline(d) && !isComplete) {
      if (deploymentComplete(d, status)) {
        const msg = newRS ? `ReplicaSet "${newRS.metadata.name}" has successfully progressed.` : `Deployment "${d.metadata.name}" has successfully progressed.`;
        setCondition(status, newCondition(PROGRESSING, 'True', REASON.newRSAvailable, msg, now));
      } else if (deploymentProgressing(d, status)) {
        const msg = newRS ? `ReplicaSet "${newRS.metadata.name}" is progressing.` : `Deployment "${d.metadata.name}" is progressing.`;
        const cond = newCondition(PROGRESSING, 'True', REASON.replicaSetUpdated, msg, now);
        if (currentCond) {
          if (currentCond.status === 'True') cond.lastTransitionTime = currentCond.lastTransitionTime;
          removeCondition(status, PROGRESSING);
        }
        setCondition(status, cond);
      } else if (deploymentTimedOut(d, status, now)) {
        const msg = newRS ? `ReplicaSet "${newRS.metadata.name}" has timed out progressing.` : `Deployment "${d.metadata.name}" has timed out progressing.`;
        setCondition(status, newCondition(PROGRESSING, 'False', REASON.timedOut, msg, now));
      }
    }
    const failures = replicaFailures(allRSs, newRS);
    if (failures.length) setCondition(status, failures[0]);
    else removeCondition(status, REPLICA_FAILURE);

    if (!deepEqual(normalizeStatus(d.status), normalizeStatus(status))) {
      d.status = status;
      writeStatus(registry, D_RI, d, normalizeStatus(status));
    }
    const after = msUntilProgressDeadline(d, status, now);
    if (after !== undefined) s.requeueAfterMs = after;
  };

  /** Sets Progressing Unknown DeploymentPaused/DeploymentResumed when pausing or resuming. */
  const checkPausedConditions = (s: Sync): void => {
    const d = s.d;
    if (!hasProgressDeadline(d)) return;
    const cond = getCondition(d.status, PROGRESSING);
    if (cond?.reason === REASON.timedOut) return;
    const pausedCondExists = cond?.reason === REASON.paused;
    const now = clock.now();
    let needsUpdate = false;
    if (d.spec.paused && !pausedCondExists) {
      setCondition(d.status, newCondition(PROGRESSING, 'Unknown', REASON.paused, 'Deployment is paused', now));
      needsUpdate = true;
    } else if (!d.spec.paused && pausedCondExists) {
      setCondition(d.status, newCondition(PROGRESSING, 'Unknown', REASON.resumed, 'Deployment is resumed', now));
      needsUpdate = true;
    }
    if (needsUpdate) writeStatus(registry, D_RI, d, normalizeStatus(d.status));
  };

  // ---- cleanup, scaling ----------------------------------------------------------------------------

  /** Deletes old, empty ReplicaSets beyond revisionHistoryLimit, lowest revisions first. */
  const cleanupDeployment = (oldRSs: KObject[], d: KObject): void => {
    const limit = d.spec?.revisionHistoryLimit;
    if (typeof limit !== 'number') return;
    const cleanable = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp);
    const diff = cleanable.length - limit;
    if (diff <= 0) return;
    cleanable.sort(byRevision);
    for (let i = 0; i < diff; i++) {
      const rs = cleanable[i];
      if ((rs.status?.replicas ?? 0) !== 0 || specReplicas(rs) !== 0 || (rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0) || rs.metadata.deletionTimestamp) continue;
      log.v(2, 'deleting old replica set beyond revisionHistoryLimit', { replicaSet: namespacedName(rs) });
      try {
        registry.delete(RS_RI, rs.metadata.namespace, rs.metadata.name!, { preconditions: { uid: rs.metadata.uid } });
      } catch (e) {
        if (!(e instanceof NotFoundError)) throw e;
      }
    }
  };

  /** `scale`: applies a changed spec.replicas to the ReplicaSets (proportionally mid-rollout). */
  const scale = (d: KObject, newRS: KObject | undefined, oldRSs: KObject[]): void => {
    const activeOrLatest = findActiveOrLatest(newRS, oldRSs);
    if (activeOrLatest) {
      if (specReplicas(activeOrLatest) !== specReplicas(d)) scaleReplicaSetAndRecordEvent(activeOrLatest, specReplicas(d), d);
      return;
    }
    if (isSaturated(d, newRS)) {
      for (const old of filterActiveReplicaSets(oldRSs)) scaleReplicaSetAndRecordEvent(old, 0, d);
      return;
    }
    if (isRollingUpdate(d)) {
      const all = filterActiveReplicaSets([...oldRSs, newRS]);
      const sizes = proportionalScale(d, all);
      for (const rs of all) scaleReplicaSet(rs, sizes.get(rs.metadata.name!)!, d);
    }
  };

  /** `sync`: scaling events and paused Deployments — no rollout, only sizes and status. */
  const sync = (s: Sync, rsList: KObject[]): void => {
    const { newRS, oldRSs } = getAllReplicaSetsAndSyncRevision(s, rsList, false);
    scale(s.d, newRS, oldRSs);
    if (s.d.spec.paused) cleanupDeployment(oldRSs, s.d);
    const fresh = refresh([...oldRSs, newRS]);
    syncDeploymentStatus(s, fresh, refreshOne(newRS));
  };

  /** Current cached versions of ReplicaSets (after this sync's writes). */
  const refreshOne = (rs: KObject | undefined): KObject | undefined => {
    if (!rs) return undefined;
    const cur = rsInf.get(rs.metadata.namespace, rs.metadata.name!);
    return cur && cur.metadata.uid === rs.metadata.uid ? cur : rs;
  };
  const refresh = (l: (KObject | undefined)[]): (KObject | undefined)[] => l.map(refreshOne);

  const isScalingEvent = (s: Sync, rsList: KObject[]): boolean => {
    const { newRS, oldRSs } = getAllReplicaSetsAndSyncRevision(s, rsList, false);
    for (const rs of filterActiveReplicaSets([...oldRSs, newRS])) {
      const v = rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION];
      if (v === undefined || !/^\d+$/.test(v)) continue;
      if (Number(v) !== specReplicas(s.d)) return true;
    }
    return false;
  };

  // ---- rolling update ------------------------------------------------------------------------------

  const reconcileNewReplicaSet = (allRSs: (KObject | undefined)[], newRS: KObject, d: KObject): boolean => {
    const next = planNewReplicaSetScale(d, allRSs, newRS);
    return next !== undefined && scaleReplicaSetAndRecordEvent(newRS, next, d).scaled;
  };

  /** Applies planOldReplicaSetsScaleDown; true when any old ReplicaSet shrank. */
  const reconcileOldReplicaSets = (allRSs: (KObject | undefined)[], oldRSs: KObject[], newRS: KObject, d: KObject): boolean => {
    const byName = new Map(oldRSs.map((rs) => [rs.metadata.name!, rs]));
    let scaled = false;
    for (const step of planOldReplicaSetsScaleDown(d, allRSs, oldRSs, newRS)) {
      const rs = byName.get(step.name)!;
      const r = scaleReplicaSetAndRecordEvent(rs, step.to, d);
      byName.set(step.name, r.rs);
      if (r.scaled) scaled = true;
    }
    return scaled;
  };

  const rolloutRolling = (s: Sync, rsList: KObject[]): void => {
    const { newRS, oldRSs } = getAllReplicaSetsAndSyncRevision(s, rsList, true);
    const allRSs = [...oldRSs, newRS];
    if (!newRS) return;
    if (reconcileNewReplicaSet(allRSs, newRS, s.d)) return syncRolloutStatus(s, refresh(allRSs), refreshOne(newRS));
    if (reconcileOldReplicaSets(allRSs, filterActiveReplicaSets(oldRSs), newRS, s.d)) return syncRolloutStatus(s, refresh(allRSs), refreshOne(newRS));
    if (deploymentComplete(s.d, s.d.status)) cleanupDeployment(oldRSs, s.d);
    syncRolloutStatus(s, refresh(allRSs), refreshOne(newRS));
  };

  // ---- recreate ------------------------------------------------------------------------------------

  const oldPodsRunning = (newRS: KObject | undefined, oldRSs: KObject[], podMap: Map<string, KObject[]>): boolean => {
    if (actualReplicaCount(oldRSs) > 0) return true;
    for (const [uid, pods] of podMap) {
      if (newRS && newRS.metadata.uid === uid) continue;
      for (const p of pods) {
        const phase = p.status?.phase;
        if (phase === 'Failed' || phase === 'Succeeded') continue;
        return true;
      }
    }
    return false;
  };

  const rolloutRecreate = (s: Sync, rsList: KObject[], podMap: Map<string, KObject[]>): void => {
    let { newRS, oldRSs } = getAllReplicaSetsAndSyncRevision(s, rsList, false);
    let allRSs = [...oldRSs, newRS];
    let scaledDown = false;
    for (const rs of filterActiveReplicaSets(oldRSs)) if (scaleReplicaSetAndRecordEvent(rs, 0, s.d).scaled) scaledDown = true;
    if (scaledDown) return syncRolloutStatus(s, refresh(allRSs), refreshOne(newRS));
    if (oldPodsRunning(newRS, oldRSs.map((r) => refreshOne(r)!), podMap)) return syncRolloutStatus(s, refresh(allRSs), refreshOne(newRS));
    if (!newRS) {
      ({ newRS, oldRSs } = getAllReplicaSetsAndSyncRevision(s, getReplicaSetsForDeployment(s.d), true));
      allRSs = [...oldRSs, newRS];
    }
    if (newRS) scaleReplicaSetAndRecordEvent(newRS, specReplicas(s.d), s.d);
    if (deploymentComplete(s.d, s.d.status)) cleanupDeployment(oldRSs, s.d);
    syncRolloutStatus(s, refresh(allRSs), refreshOne(newRS));
  };

  // ---- controller ----------------------------------------------------------------------------------

  const deploymentForRS = (rs: KObject): KObject | undefined => {
    const ref = controllerRefOf(rs);
    if (!ref || ref.kind !== 'Deployment') return undefined;
    const d = dInf.get(rs.metadata.namespace, ref.name);
    return d && d.metadata.uid === ref.uid ? d : undefined;
  };

  const deploymentsMatching = (rs: KObject): KObject[] => dInf.list(rs.metadata.namespace).filter((d) => selectorOf(d)(rs.metadata.labels));

  const delayed = new DelayedEnqueue(clock);

  return new Controller({
    name: 'deployment-controller',
    log,
    clock,
    workers: opts.workers ?? 5,
    teardown: () => delayed.stop(),
    setup: (enqueue) => {
      delayed.bind(enqueue);
      const enqueueD = (d: KObject | undefined) => d && enqueue(namespacedName(d));
      dInf.addHandlers({ onAdd: enqueueD, onUpdate: (_o, n) => enqueueD(n), onDelete: enqueueD });
      rsInf.addHandlers({
        onAdd: (rs) => {
          const d = deploymentForRS(rs);
          if (d) return enqueueD(d);
          if (!controllerRefOf(rs) && !rs.metadata.deletionTimestamp) for (const x of deploymentsMatching(rs)) enqueueD(x);
        },
        onUpdate: (old, cur) => {
          if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
          const oldRef = controllerRefOf(old);
          const curRef = controllerRefOf(cur);
          const refChanged = !deepEqual(oldRef ?? null, curRef ?? null);
          if (refChanged && oldRef) enqueueD(deploymentForRS(old));
          if (curRef) return enqueueD(deploymentForRS(cur));
          if (refChanged || !deepEqual(old.metadata.labels ?? {}, cur.metadata.labels ?? {})) for (const x of deploymentsMatching(cur)) enqueueD(x);
        },
        onDelete: (rs) => enqueueD(deploymentForRS(rs)),
      });
      podInf.addHandlers({
        onDelete: (pod) => {
          const ref = controllerRefOf(pod);
          if (!ref || ref.kind !== 'ReplicaSet') return;
          const rs = rsInf.get(pod.metadata.namespace, ref.name);
          const d = rs && rs.metadata.uid === ref.uid ? deploymentForRS(rs) : undefined;
          if (d && d.spec?.strategy?.type === 'Recreate') enqueueD(d);
        },
      });
      dInf.start();
      rsInf.start();
      podInf.start();
    },
    reconcile: (key): ReconcileResult | void => {
      const [ns, name] = splitKey(key);
      const cached = dInf.get(ns, name);
      if (!cached) return;
      const d = clone(cached) as Sync['d'];
      d.status = (d.status ?? {}) as DeploymentStatus;
      const s: Sync = { d };
      const sel = d.spec?.selector;
      if (!sel || (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length)) {
        recorder.event(d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
        if ((d.status.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) {
          d.status.observedGeneration = d.metadata.generation;
          writeStatus(registry, D_RI, d, normalizeStatus(d.status));
        }
        return;
      }
      try {
        const rsList = getReplicaSetsForDeployment(d);
        const podMap = getPodMap(d, rsList);
        if (d.metadata.deletionTimestamp) {
          const { newRS, oldRSs } = getAllReplicaSetsAndSyncRevision(s, rsList, false);
          syncDeploymentStatus(s, [...oldRSs, newRS], newRS);
          return;
        }
        checkPausedConditions(s);
        if (d.spec.paused) return sync(s, rsList);
        if (isScalingEvent(s, rsList)) return sync(s, getReplicaSetsForDeployment(d));
        if (d.spec?.strategy?.type === 'Recreate') rolloutRecreate(s, getReplicaSetsForDeployment(d), podMap);
        else rolloutRolling(s, getReplicaSetsForDeployment(d));
      } catch (e) {
        if (e instanceof NotFoundError && !dInf.get(ns, name)) return;
        throw e;
      }
      if (s.requeueAfterMs !== undefined) delayed.after(key, s.requeueAfterMs);
      return;
    },
  });
}
