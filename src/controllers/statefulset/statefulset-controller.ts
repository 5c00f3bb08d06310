import type { KObject } from '../../api/types';
import { resourceFor } from '../../api/scheme';
import { fromLabelSelector, matchesLabels } from '../../api/selectors';
import { Controller, type ReconcileResult } from '../../controller/controller';
import { namespacedName } from '../../client/informer';
import { AlreadyExistsError, NotFoundError } from '../../util/errors';
import { deepEqual } from '../../util/equal';
import type { ControllerContext } from '../context';
import { claimObjects, controllerRefOf, isControlledBy, ownerStillValid } from '../util/controller-ref';
import { equalRevision, revisionMatchesTemplate, revisionNumber, sortRevisions } from '../util/history';
import { controllerIndexFor } from '../util/owner-index';
import { DelayedEnqueue } from '../util/requeue';
import { nextAvailabilityCheckMs } from '../util/pod';
import { isNamespaceTerminating } from '../util/api-errors';
import { writeStatus } from '../util/status';
import {
  claimsFor,
  completeRollingUpdate,
  isMemberOf,
  newStatefulSetRevision,
  ordinalOf,
  planStatefulSet,
  podRevision,
  serializeStatefulSetStatus,
  type StatefulSetAction,
} from './utils';

/**
 * The StatefulSet controller (Kubernetes' pkg/controller/statefulset): pods with stable names
 * `<set>-<ordinal>`, hostname `<pod>` and subdomain `spec.serviceName`, labels
 * `statefulset.kubernetes.io/pod-name` and `apps.kubernetes.io/pod-index`.
 *
 * - OrderedReady creates ordinals one at a time, each after its predecessors are Running and
 *   Ready (and available for minReadySeconds), and removes them in reverse; Parallel acts on all.
 * - volumeClaimTemplates become PVCs `<claim>-<set>-<ordinal>`, created before the pod and kept
 *   when it is deleted; persistentVolumeClaimRetentionPolicy `Delete` makes the set (whenDeleted)
 *   or a condemned pod (whenScaled) an owner of the claims, so the garbage collector removes them.
 * - Revisions: one ControllerRevision per template (`<set>-<hash>`, revision numbers increasing,
 *   reused and renumbered when the template returns to an earlier one — `rollout undo`); pods carry
 *   `controller-revision-hash: <revision name>`; history beyond revisionHistoryLimit is pruned.
 * - RollingUpdate replaces pods from the highest ordinal down to `partition`, one at a time;
 *   OnDelete only uses the update revision for pods that get recreated.
 * - Failed (or finished) pods are deleted and recreated.
 * - Events: SuccessfulCreate `create Pod web-0 in StatefulSet web successful`, `create Claim
 *   www-web-0 Pod web-0 in StatefulSet web success`, SuccessfulDelete `delete Pod …`,
 *   RecreatingFailedPod, FailedCreate/FailedDelete with the error.
 *
 * Reconcile keys are `namespace/name`; an action error stops the sync and requeues with back-off.
 */
export interface StatefulSetControllerOptions {
  workers?: number;
}

const STS_RI = resourceFor('apps', 'statefulsets')!;
const POD_RI = resourceFor('', 'pods')!;
const CR_RI = resourceFor('apps', 'controllerrevisions')!;
const PVC_RI = resourceFor('', 'persistentvolumeclaims')!;

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

function selectorOf(o: KObject): (labels: Record<string, string> | undefined) => boolean {
  const sel = fromLabelSelector(o.spec?.selector);
  return (labels) => sel !== null && matchesLabels(sel, labels);
}

function ownerRefTo(o: KObject) {
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name!, uid: o.metadata.uid! };
}

export function statefulSetController(ctx: ControllerContext, opts: StatefulSetControllerOptions = {}): Controller {
  const { registry, clock } = ctx;
  const log = ctx.log.child('statefulset-controller');
  const recorder = ctx.recorder('statefulset-controller');
  const stsInf = ctx.informers.for(STS_RI);
  const podInf = ctx.informers.for(POD_RI);
  const crInf = ctx.informers.for(CR_RI);
  const podIndex = controllerIndexFor(podInf);
  const crIndex = controllerIndexFor(crInf);

  const podEvent = (set: KObject, verb: 'create' | 'delete' | 'update', pod: KObject, err?: unknown) => {
    const title = verb[0].toUpperCase() + verb.slice(1);
    if (!err) recorder.event(set, 'Normal', `Successful${title}`, `${verb} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`);
    else recorder.event(set, 'Warning', `Failed${title}`, `${verb} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${(err as Error).message}`);
  };

  /** Creates the pod's claims that do not exist yet; a claim being deleted is an error. */
  const createMissingClaims = (set: KObject, pod: KObject): void => {
    const errs: string[] = [];
    const whenDeleted = set.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted;
    for (const claim of claimsFor(set, ordinalOf(pod))) {
      const existing = registry.tryGet(PVC_RI, set.metadata.namespace, claim.metadata.name!);
      if (existing) {
        if (existing.metadata.deletionTimestamp) errs.push(`pvc ${claim.metadata.name} is being deleted`);
        continue;
      }
      if (whenDeleted === 'Delete') claim.metadata.ownerReferences = [ownerRefTo(set)];
      try {
        registry.create(PVC_RI, set.metadata.namespace, claim);
        recorder.event(set, 'Normal', 'SuccessfulCreate', `create Claim ${claim.metadata.name} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} success`);
      } catch (e) {
        if (e instanceof AlreadyExistsError) continue;
        recorder.event(set, 'Warning', 'FailedCreate', `create Claim ${claim.metadata.name} for Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${(e as Error).message}`);
        errs.push(`failed to create PVC ${claim.metadata.name}: ${(e as Error).message}`);
      }
    }
    if (errs.length) throw new Error(errs.join('; '));
  };

  /** whenScaled=Delete: the condemned pod becomes an owner of its claims before it goes. */
  const markClaimsForScaleDown = (set: KObject, pod: KObject): void => {
    if (set.spec?.persistentVolumeClaimRetentionPolicy?.whenScaled !== 'Delete') return;
    for (const claim of claimsFor(set, ordinalOf(pod))) {
      try {
        registry.guaranteedUpdate(PVC_RI, set.metadata.namespace, claim.metadata.name!, (cur) => {
          const refs = cur.metadata.ownerReferences ?? [];
          if (!refs.some((r) => r.uid === pod.metadata.uid)) cur.metadata.ownerReferences = [...refs, ownerRefTo(pod)];
          return cur;
        });
      } catch (e) {
        if (!(e instanceof NotFoundError)) throw e;
      }
    }
  };

  const execute = (set: KObject, a: StatefulSetAction): void => {
    const ns = set.metadata.namespace;
    switch (a.kind) {
      case 'create': {
        createMissingClaims(set, a.pod);
        try {
          registry.create(POD_RI, ns, a.pod);
          podEvent(set, 'create', a.pod);
        } catch (e) {
          if (isNamespaceTerminating(e)) return;
          podEvent(set, 'create', a.pod, e);
          throw e;
        }
        return;
      }
      case 'claims':
        createMissingClaims(set, a.pod);
        return;
      case 'delete': {
        if (a.why === 'failed') recorder.event(set, 'Warning', 'RecreatingFailedPod', `StatefulSet ${ns}/${set.metadata.name} is recreating failed Pod ${a.pod.metadata.name}`);
        if (a.why === 'succeeded') recorder.event(set, 'Normal', 'RecreatingTerminatedPod', `StatefulSet ${ns}/${set.metadata.name} is recreating terminated Pod ${a.pod.metadata.name}`);
        if (a.why === 'scale-down') markClaimsForScaleDown(set, a.pod);
        try {
          registry.delete(POD_RI, ns, a.pod.metadata.name!, { preconditions: { uid: a.pod.metadata.uid } });
          podEvent(set, 'delete', a.pod);
        } catch (e) {
          if (e instanceof NotFoundError) return;
          podEvent(set, 'delete', a.pod, e);
          throw e;
        }
        return;
      }
      case 'update': {
        createMissingClaims(set, a.pod);
        try {
          registry.guaranteedUpdate(POD_RI, ns, a.pod.metadata.name!, (cur) => {
            if (cur.metadata.uid !== a.pod.metadata.uid) throw new NotFoundError('pods', a.pod.metadata.name!);
            cur.metadata.labels = a.pod.metadata.labels;
            cur.spec.volumes = a.pod.spec.volumes;
            return cur;
          });
          podEvent(set, 'update', a.pod);
        } catch (e) {
          if (e instanceof NotFoundError) return;
          podEvent(set, 'update', a.pod, e);
          throw e;
        }
      }
    }
  };

  /**
   * `getStatefulSetRevisions`: the current and update revisions, creating the update revision
   * (bumping collisionCount on a name clash with different data) or renumbering an equal older one.
   */
  const revisionsFor = (set: KObject, revisions: KObject[]): { current: KObject; update: KObject; collisionCount: number } => {
    const sorted = sortRevisions(revisions);
    let collisionCount = set.status?.collisionCount ?? 0;
    const next = sorted.length ? revisionNumber(sorted[sorted.length - 1]) + 1 : 1;
    const candidate = newStatefulSetRevision(set, next, collisionCount);
    const equal = sorted.filter((r) => equalRevision(r, candidate) || revisionMatchesTemplate(r, set.spec?.template));
    let update: KObject;
    if (equal.length && sorted[sorted.length - 1].metadata.uid === equal[equal.length - 1].metadata.uid) {
      update = sorted[sorted.length - 1];
    } else if (equal.length) {
      const target = equal[equal.length - 1];
      update = registry.guaranteedUpdate(CR_RI, target.metadata.namespace, target.metadata.name!, (cur) => {
        cur.revision = next;
        return cur;
      });
    } else {
      for (;;) {
        const cr = newStatefulSetRevision(set, next, collisionCount);
        try {
          update = registry.create(CR_RI, set.metadata.namespace, cr);
          break;
        } catch (e) {
          if (!(e instanceof AlreadyExistsError)) throw e;
          const exists = registry.get(CR_RI, set.metadata.namespace, cr.metadata.name!);
          if (deepEqual(exists.data ?? null, cr.data)) {
            update = exists;
            break;
          }
          collisionCount++;
        }
      }
    }
    const current = sorted.find((r) => r.metadata.name === set.status?.currentRevision) ?? update;
    return { current, update, collisionCount };
  };

  const truncateHistory = (set: KObject, pods: KObject[], revisions: KObject[], current: KObject, update: KObject): void => {
    const live = new Set<string>([current.metadata.name!, update.metadata.name!, ...pods.map(podRevision)]);
    const history = sortRevisions(revisions).filter((r) => !live.has(r.metadata.name!));
    const limit = set.spec?.revisionHistoryLimit ?? 10;
    if (history.length <= limit) return;
    for (const r of history.slice(0, history.length - limit)) {
      try {
        registry.delete(CR_RI, r.metadata.namespace, r.metadata.name!, { preconditions: { uid: r.metadata.uid } });
      } catch (e) {
        if (!(e instanceof NotFoundError)) throw e;
      }
    }
  };

  const setFor = (o: KObject): KObject | undefined => {
    const ref = controllerRefOf(o);
    if (!ref || ref.kind !== 'StatefulSet') return undefined;
    const s = stsInf.get(o.metadata.namespace, ref.name);
    return s && s.metadata.uid === ref.uid ? s : undefined;
  };

  const delayed = new DelayedEnqueue(clock);

  return new Controller({
    name: 'statefulset-controller',
    log,
    clock,
    workers: opts.workers ?? 5,
    teardown: () => delayed.stop(),
    setup: (enqueue) => {
      delayed.bind(enqueue);
      const enq = (s: KObject | undefined) => s && enqueue(namespacedName(s));
      const orphanOwners = (pod: KObject) => stsInf.list(pod.metadata.namespace).filter((s) => selectorOf(s)(pod.metadata.labels));
      stsInf.addHandlers({ onAdd: enq, onUpdate: (_o, n) => enq(n), onDelete: enq });
      podInf.addHandlers({
        onAdd: (pod) => {
          const s = setFor(pod);
          if (s) return enq(s);
          if (!controllerRefOf(pod)) for (const x of orphanOwners(pod)) enq(x);
        },
        onUpdate: (old, cur) => {
          if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
          const oldRef = controllerRefOf(old);
          const curRef = controllerRefOf(cur);
          if (oldRef && oldRef.uid !== curRef?.uid) enq(setFor(old));
          if (curRef) return enq(setFor(cur));
          if (oldRef || !deepEqual(old.metadata.labels ?? {}, cur.metadata.labels ?? {})) for (const x of orphanOwners(cur)) enq(x);
        },
        onDelete: (pod) => enq(setFor(pod)),
      });
      stsInf.start();
      podInf.start();
      crInf.start();
    },
    reconcile: (key): ReconcileResult | void => {
      const [ns, name] = splitKey(key);
      const set = stsInf.get(ns, name);
      if (!set) return;
      const sel = selectorOf(set);
      const canAdopt = () => ownerStillValid(registry, STS_RI, set);
      const revisions = claimObjects({ registry, ri: CR_RI, owner: set, matches: (r) => sel(r.metadata.labels), candidates: crIndex.candidates(set.metadata.uid!, ns), canAdopt, log });
      const pods = claimObjects({
        registry,
        ri: POD_RI,
        owner: set,
        matches: (p) => sel(p.metadata.labels) && isMemberOf(set, p),
        candidates: podIndex.candidates(set.metadata.uid!, ns),
        canAdopt,
        log,
      });
      const { current, update, collisionCount } = revisionsFor(set, revisions);
      const now = clock.now();
      const plan = planStatefulSet(set, pods, current, update, collisionCount, now);
      if (plan.waiting) log.v(3, 'statefulset waiting', { statefulSet: key, reason: plan.waiting });
      let actionError: unknown;
      for (const a of plan.actions) {
        try {
          execute(set, a);
        } catch (e) {
          actionError = e;
          break;
        }
      }
      const status = plan.status;
      completeRollingUpdate(set, status);
      const cur = stsInf.get(ns, name);
      if (cur && cur.metadata.uid === set.metadata.uid) {
        const body = serializeStatefulSetStatus(status, cur.status?.conditions);
        if (!deepEqual(cur.status ?? {}, body)) {
          try {
            writeStatus(registry, STS_RI, cur, body);
          } catch (e) {
            if (!(e instanceof NotFoundError)) throw e;
            return;
          }
        }
      }
      if (actionError) throw actionError;
      truncateHistory(set, pods, revisions.filter((r) => isControlledBy(r, set.metadata.uid)), current, update);
      const mrs = set.spec?.minReadySeconds ?? 0;
      if (mrs > 0) {
        const next = nextAvailabilityCheckMs(pods, mrs, now);
        if (next !== undefined) delayed.after(key, next);
      }
      return;
    },
  });
}
