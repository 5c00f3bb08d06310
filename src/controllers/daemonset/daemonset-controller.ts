import type { KObject } from '../../api/types';
import { resourceFor } from '../../api/scheme';
import { fromLabelSelector, matchesLabels } from '../../api/selectors';
import { Controller, type ReconcileResult } from '../../controller/controller';
import { namespacedName } from '../../client/informer';
import { AlreadyExistsError, NotFoundError } from '../../util/errors';
import { deepEqual } from '../../util/equal';
import type { ControllerContext } from '../context';
import { isNamespaceTerminating } from '../util/api-errors';
import { SLOW_START_INITIAL_BATCH_SIZE, slowStartBatch } from '../util/batch';
import { claimObjects, controllerRefOf, newControllerRef, ownerStillValid } from '../util/controller-ref';
import { ControllerExpectations } from '../util/expectations';
import { computeHash } from '../util/hash';
import { CONTROLLER_REVISION_HASH_LABEL, maxRevision, newControllerRevision, revisionMatchesTemplate, revisionNumber, sortRevisions, templatePatchData } from '../util/history';
import { controllerIndexFor } from '../util/owner-index';
import { DelayedEnqueue } from '../util/requeue';
import { nextAvailabilityCheckMs, podFromTemplate } from '../util/pod';
import { omitEmpty, writeStatus } from '../util/status';
import { addDaemonPodTolerations, replaceNodeNameAffinity, targetNodeName } from './predicates';
import { POD_TEMPLATE_GENERATION_LABEL, daemonSetStatusCounts, planRollingUpdate, podsShouldBeOnNode, templateGeneration, type NodePods } from './update';

/**
 * The DaemonSet controller (Kubernetes' pkg/controller/daemon): one pod per eligible node.
 *
 * - Eligibility: template nodeName, nodeSelector, required node affinity, and node taints against
 *   the template tolerations plus the daemon tolerations (not-ready/unreachable NoExecute;
 *   disk/memory/pid-pressure and unschedulable NoSchedule; network-unavailable for hostNetwork).
 *   A pod stays on a node that gained a NoSchedule taint as long as it tolerates all NoExecute ones.
 * - Placement: like Kubernetes, each pod gets a required node affinity `metadata.name In [node]`
 *   and the scheduler binds it. With the setting `daemonSetDirectBinding: true` (for clusters
 *   without a scheduler) the pod is created with spec.nodeName set instead.
 * - Nodes added later get a pod; pods on nodes that became ineligible are deleted; pods bound to
 *   nodes that no longer exist are force-deleted (what Kubernetes' pod GC does), unbound ones
 *   targeting them are deleted.
 * - Failed daemon pods are deleted and recreated with per-node exponential back-off
 *   (1 s doubling to 15 min) and a FailedDaemonPod warning.
 * - RollingUpdate (maxUnavailable, or maxSurge for create-before-delete) and OnDelete.
 * - ControllerRevisions `<ds>-<hash>` with `controller-revision-hash` on revisions and pods;
 *   old revisions beyond revisionHistoryLimit not used by any pod are deleted.
 * - Status: desiredNumberScheduled, currentNumberScheduled, numberMisscheduled, numberReady,
 *   numberAvailable, numberUnavailable, updatedNumberScheduled, observedGeneration, collisionCount.
 * - Expectations as in the ReplicaSet controller; events SuccessfulCreate `Created pod: <name>`,
 *   SuccessfulDelete `Deleted pod: <name>`, FailedCreate, FailedDaemonPod.
 */
export interface DaemonSetControllerOptions {
  /** most pods created/deleted per sync (Kubernetes' BurstReplicas for DaemonSets, 250) */
  burstReplicas?: number;
  workers?: number;
}

const DS_RI = resourceFor('apps', 'daemonsets')!;
const POD_RI = resourceFor('', 'pods')!;
const NODE_RI = resourceFor('', 'nodes')!;
const CR_RI = resourceFor('apps', 'controllerrevisions')!;

const BACKOFF_INITIAL_MS = 1000;
const BACKOFF_MAX_MS = 15 * 60_000;

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

function selectorOf(o: KObject): (labels: Record<string, string> | undefined) => boolean {
  const sel = fromLabelSelector(o.spec?.selector);
  return (labels) => sel !== null && matchesLabels(sel, labels);
}

export function daemonSetController(ctx: ControllerContext, opts: DaemonSetControllerOptions = {}): Controller {
  const { registry, clock } = ctx;
  const log = ctx.log.child('daemonset-controller');
  const recorder = ctx.recorder('daemonset-controller');
  const burst = opts.burstReplicas ?? 250;
  const directBinding = ctx.settings.daemonSetDirectBinding === true;
  const dsInf = ctx.informers.for(DS_RI);
  const podInf = ctx.informers.for(POD_RI);
  const nodeInf = ctx.informers.for(NODE_RI);
  const crInf = ctx.informers.for(CR_RI);
  const podIndex = controllerIndexFor(podInf);
  const crIndex = controllerIndexFor(crInf);
  const expectations = new ControllerExpectations(clock);
  /** failed-pod back-off per `<ds uid>/<node>` */
  const backoff = new Map<string, { delayMs: number; until: number }>();

  const dsFor = (o: KObject): KObject | undefined => {
    const ref = controllerRefOf(o);
    if (!ref || ref.kind !== 'DaemonSet') return undefined;
    const ds = dsInf.get(o.metadata.namespace, ref.name);
    return ds && ds.metadata.uid === ref.uid ? ds : undefined;
  };

  /** Claimed daemon pods by target node; pods without a target node are ignored. */
  const nodesToDaemonPods = (ds: KObject): NodePods => {
    const sel = selectorOf(ds);
    const claimed = claimObjects({
      registry,
      ri: POD_RI,
      owner: ds,
      matches: (p) => sel(p.metadata.labels),
      candidates: podIndex.candidates(ds.metadata.uid!, ds.metadata.namespace!),
      canAdopt: () => ownerStillValid(registry, DS_RI, ds),
      log,
    });
    const m: NodePods = new Map();
    for (const p of claimed) {
      const node = targetNodeName(p);
      if (!node) continue;
      let l = m.get(node);
      if (!l) m.set(node, (l = []));
      l.push(p);
    }
    return m;
  };

  // ---- history -------------------------------------------------------------------------------------

  /**
   * `constructHistory`: the revision matching the current template (created, or renumbered to
   * max(old)+1 when an older one matches — a rollback) and the old ones. A name clash with
   * different data bumps status.collisionCount and throws (requeue).
   */
  const constructHistory = (ds: KObject): { cur: KObject; old: KObject[] } => {
    const sel = selectorOf(ds);
    const histories = claimObjects({
      registry,
      ri: CR_RI,
      owner: ds,
      matches: (r) => sel(r.metadata.labels),
      candidates: crIndex.candidates(ds.metadata.uid!, ds.metadata.namespace!),
      canAdopt: () => ownerStillValid(registry, DS_RI, ds),
      log,
    });
    const current: KObject[] = [];
    const old: KObject[] = [];
    for (let h of histories) {
      if (!h.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL]) {
        h = registry.guaranteedUpdate(CR_RI, h.metadata.namespace, h.metadata.name!, (c) => {
          c.metadata.labels = { ...(c.metadata.labels ?? {}), [CONTROLLER_REVISION_HASH_LABEL]: c.metadata.name! };
          return c;
        });
      }
      if (revisionMatchesTemplate(h, ds.spec?.template)) current.push(h);
      else old.push(h);
    }
    const currRevision = maxRevision(old) + 1;
    if (!current.length) return { cur: snapshot(ds, currRevision), old };
    let cur = dedupCurHistories(ds, current);
    if (revisionNumber(cur) < currRevision) {
      cur = registry.guaranteedUpdate(CR_RI, cur.metadata.namespace, cur.metadata.name!, (c) => {
        c.revision = currRevision;
        return c;
      });
    }
    return { cur, old };
  };

  const snapshot = (ds: KObject, revision: number): KObject => {
    const hash = computeHash(ds.spec?.template, ds.status?.collisionCount);
    const cr = newControllerRevision({
      owner: ds,
      templateLabels: ds.spec?.template?.metadata?.labels,
      extraLabels: (h) => ({ [CONTROLLER_REVISION_HASH_LABEL]: h }),
      annotations: ds.metadata.annotations,
      data: templatePatchData(ds.spec?.template),
      revision,
      hash,
    });
    try {
      return registry.create(CR_RI, ds.metadata.namespace, cr);
    } catch (e) {
      if (!(e instanceof AlreadyExistsError)) throw e;
      const existing = registry.get(CR_RI, ds.metadata.namespace, cr.metadata.name!);
      if (revisionMatchesTemplate(existing, ds.spec?.template)) return existing;
      const fresh = registry.get(DS_RI, ds.metadata.namespace, ds.metadata.name!);
      if ((fresh.status?.collisionCount ?? null) === (ds.status?.collisionCount ?? null)) {
        writeStatus(registry, DS_RI, fresh, { ...(fresh.status ?? {}), collisionCount: (fresh.status?.collisionCount ?? 0) + 1 });
        log.v(1, 'controller revision hash collision, bumped collisionCount', { daemonSet: namespacedName(ds) });
      }
      throw e;
    }
  };

  /** Keeps the highest-revision duplicate, moves pods of the others to its hash, deletes them. */
  const dedupCurHistories = (ds: KObject, current: KObject[]): KObject => {
    if (current.length === 1) return current[0];
    const sorted = sortRevisions(current);
    const keep = sorted[sorted.length - 1];
    const keepHash = keep.metadata.labels![CONTROLLER_REVISION_HASH_LABEL];
    for (const dup of sorted.slice(0, -1)) {
      const dupHash = dup.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL];
      for (const p of podIndex.owned(ds.metadata.uid!)) {
        if (p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] !== dupHash) continue;
        try {
          registry.guaranteedUpdate(POD_RI, p.metadata.namespace, p.metadata.name!, (c) => {
            c.metadata.labels = { ...(c.metadata.labels ?? {}), [CONTROLLER_REVISION_HASH_LABEL]: keepHash };
            return c;
          });
        } catch (e) {
          if (!(e instanceof NotFoundError)) throw e;
        }
      }
      try {
        registry.delete(CR_RI, dup.metadata.namespace, dup.metadata.name!);
      } catch (e) {
        if (!(e instanceof NotFoundError)) throw e;
      }
    }
    return keep;
  };

  const cleanupHistory = (ds: KObject, old: KObject[]): void => {
    const toKeep = ds.spec?.revisionHistoryLimit ?? 10;
    let toKill = old.length - toKeep;
    if (toKill <= 0) return;
    const live = new Set<string>();
    for (const p of podIndex.owned(ds.metadata.uid!)) {
      const h = p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL];
      if (h) live.add(h);
    }
    for (const h of sortRevisions(old)) {
      if (toKill <= 0) break;
      if (live.has(h.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] ?? '')) continue;
      try {
        registry.delete(CR_RI, h.metadata.namespace, h.metadata.name!, { preconditions: { uid: h.metadata.uid } });
      } catch (e) {
        if (!(e instanceof NotFoundError)) throw e;
      }
      toKill--;
    }
  };

  // ---- pods ----------------------------------------------------------------------------------------

  /** `syncNodes`: creates daemon pods on the nodes and deletes the named pods, with expectations. */
  const syncNodes = async (ds: KObject, podsToDelete: string[], nodesNeeding: string[], hash: string, key: string): Promise<void> => {
    const creates = nodesNeeding.slice(0, burst);
    const deletes = podsToDelete.slice(0, burst);
    const ns = ds.metadata.namespace!;
    expectations.setExpectations(key, creates.length, deletes.map((n) => `${ns}/${n}`));
    const template = JSON.parse(JSON.stringify(ds.spec.template));
    addDaemonPodTolerations((template.spec = template.spec ?? {}));
    template.metadata = template.metadata ?? {};
    template.metadata.labels = { ...(template.metadata.labels ?? {}) };
    const gen = templateGeneration(ds);
    if (gen !== undefined) template.metadata.labels[POD_TEMPLATE_GENERATION_LABEL] = gen;
    if (hash) template.metadata.labels[CONTROLLER_REVISION_HASH_LABEL] = hash;
    const errors: unknown[] = [];
    const { successes, error } = await slowStartBatch(creates.length, SLOW_START_INITIAL_BATCH_SIZE, (i) => {
      const pod = podFromTemplate(template, ds.metadata.name!, newControllerRef(ds));
      if (directBinding) pod.spec.nodeName = creates[i];
      else pod.spec.affinity = replaceNodeNameAffinity(pod.spec.affinity, creates[i]);
      try {
        const created = registry.create(POD_RI, ns, pod);
        recorder.event(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
      } catch (e) {
        if (isNamespaceTerminating(e)) return;
        recorder.event(ds, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`);
        throw e;
      }
    });
    if (creates.length - successes > 0) expectations.lowerCreations(key, creates.length - successes);
    if (error) errors.push(error);
    const nodes = new Set(nodeInf.list().map((n) => n.metadata.name));
    for (const name of deletes) {
      const pod = podInf.get(ns, name);
      try {
        // A pod bound to a node that no longer exists has no kubelet to finish a graceful delete.
        const gone = !!pod?.spec?.nodeName && !nodes.has(pod.spec.nodeName);
        registry.delete(POD_RI, ns, name, gone ? { gracePeriodSeconds: 0 } : {});
        recorder.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`);
      } catch (e) {
        if (!(e instanceof NotFoundError)) {
          recorder.event(ds, 'Warning', 'FailedDelete', `Error deleting: ${(e as Error).message}`);
          errors.push(e);
        }
      }
      expectations.deletionObserved(key, `${ns}/${name}`);
    }
    if (errors.length) throw errors[0];
  };

  /** `manage`: per node create/remove; returns the earliest failed-pod back-off to wait for. */
  const manage = async (ds: KObject, nodes: KObject[], hash: string, key: string): Promise<number | undefined> => {
    const nodePods = nodesToDaemonPods(ds);
    const now = clock.now();
    const needing: string[] = [];
    const toDelete: string[] = [];
    let retryAfter: number | undefined;
    for (const node of nodes) {
      const d = podsShouldBeOnNode(node, nodePods.get(node.metadata.name!), ds, hash, now);
      if (d.create) needing.push(node.metadata.name!);
      toDelete.push(...d.remove);
      for (const p of d.failed) {
        const bk = `${ds.metadata.uid}/${node.metadata.name}`;
        const b = backoff.get(bk);
        if (b && now < b.until) {
          retryAfter = Math.min(retryAfter ?? Infinity, b.until - now);
          continue;
        }
        const delayMs = b ? Math.min(b.delayMs * 2, BACKOFF_MAX_MS) : BACKOFF_INITIAL_MS;
        backoff.set(bk, { delayMs, until: now + delayMs });
        recorder.event(ds, 'Warning', 'FailedDaemonPod', `Found failed daemon pod ${p.metadata.namespace}/${p.metadata.name} on node ${node.metadata.name}, will try to kill it`);
        toDelete.push(p.metadata.name!);
      }
    }
    // Daemon pods whose node is gone.
    const running = new Set(nodes.map((n) => n.metadata.name));
    for (const [nodeName, pods] of nodePods) {
      if (running.has(nodeName)) continue;
      for (const p of pods) toDelete.push(p.metadata.name!);
    }
    await syncNodes(ds, toDelete, needing, hash, key);
    return retryAfter;
  };

  const updateStatus = (ds: KObject, nodes: KObject[], hash: string, updateObservedGen: boolean): number | undefined => {
    const cur = dsInf.get(ds.metadata.namespace, ds.metadata.name!);
    if (!cur || cur.metadata.uid !== ds.metadata.uid) return undefined;
    const now = clock.now();
    const nodePods = nodesToDaemonPods(cur);
    const c = daemonSetStatusCounts(cur, nodes, nodePods, hash, now);
    const prev = cur.status ?? {};
    const status = omitEmpty(
      {
        currentNumberScheduled: c.currentNumberScheduled,
        numberMisscheduled: c.numberMisscheduled,
        desiredNumberScheduled: c.desiredNumberScheduled,
        numberReady: c.numberReady,
        observedGeneration: updateObservedGen ? (ds.metadata.generation ?? 0) : (prev.observedGeneration ?? 0),
        updatedNumberScheduled: c.updatedNumberScheduled,
        numberAvailable: c.numberAvailable,
        numberUnavailable: c.numberUnavailable,
        collisionCount: prev.collisionCount,
        conditions: prev.conditions,
      },
      ['observedGeneration', 'updatedNumberScheduled', 'numberAvailable', 'numberUnavailable', 'conditions'],
    );
    if (status.collisionCount === undefined) delete status.collisionCount;
    if (!deepEqual(prev, status)) writeStatus(registry, DS_RI, cur, status);
    const mrs = cur.spec?.minReadySeconds ?? 0;
    if (mrs > 0 && c.numberReady !== c.numberAvailable) return nextAvailabilityCheckMs([...nodePods.values()].flat(), mrs, now) ?? mrs * 1000;
    return undefined;
  };

  const delayed = new DelayedEnqueue(clock);

  return new Controller({
    name: 'daemonset-controller',
    log,
    clock,
    workers: opts.workers ?? 2,
    teardown: () => delayed.stop(),
    setup: (enqueue) => {
      delayed.bind(enqueue);
      const enq = (ds: KObject | undefined) => ds && enqueue(namespacedName(ds));
      const enqAll = () => {
        for (const ds of dsInf.list()) enq(ds);
      };
      const podDeleted = (pod: KObject) => {
        const ds = dsFor(pod);
        if (!ds) return;
        const key = namespacedName(ds);
        expectations.deletionObserved(key, namespacedName(pod));
        enqueue(key);
      };
      const orphanOwners = (pod: KObject) => dsInf.list(pod.metadata.namespace).filter((ds) => selectorOf(ds)(pod.metadata.labels));
      dsInf.addHandlers({ onAdd: enq, onUpdate: (_o, n) => enq(n), onDelete: (ds) => expectations.delete(namespacedName(ds)) });
      podInf.addHandlers({
        onAdd: (pod) => {
          if (pod.metadata.deletionTimestamp) return podDeleted(pod);
          const ds = dsFor(pod);
          if (ds) {
            expectations.creationObserved(namespacedName(ds));
            return enq(ds);
          }
          if (!controllerRefOf(pod)) for (const x of orphanOwners(pod)) enq(x);
        },
        onUpdate: (old, cur) => {
          if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
          if (cur.metadata.deletionTimestamp) return podDeleted(cur);
          const oldRef = controllerRefOf(old);
          const curRef = controllerRefOf(cur);
          if (oldRef && oldRef.uid !== curRef?.uid) enq(dsFor(old));
          if (curRef) return enq(dsFor(cur));
          if (oldRef || !deepEqual(old.metadata.labels ?? {}, cur.metadata.labels ?? {})) for (const x of orphanOwners(cur)) enq(x);
        },
        onDelete: podDeleted,
      });
      nodeInf.addHandlers({
        onAdd: enqAll,
        onUpdate: (old, cur) => {
          if (deepEqual(old.metadata.labels ?? {}, cur.metadata.labels ?? {}) && deepEqual(old.spec ?? {}, cur.spec ?? {})) return;
          enqAll();
        },
        onDelete: enqAll,
      });
      crInf.addHandlers({ onDelete: (cr) => enq(dsFor(cr)) });
      dsInf.start();
      podInf.start();
      nodeInf.start();
      crInf.start();
    },
    reconcile: async (key): Promise<ReconcileResult | void> => {
      const [ns, name] = splitKey(key);
      const ds = dsInf.get(ns, name);
      if (!ds) {
        expectations.delete(key);
        return;
      }
      if (ds.metadata.deletionTimestamp) return;
      const nodes = nodeInf.list();
      const { cur, old } = constructHistory(ds);
      const hash = cur.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] ?? '';
      if (!expectations.satisfied(key)) {
        updateStatus(ds, nodes, hash, false);
        return;
      }
      let retryAfter: number | undefined;
      let syncError: unknown;
      try {
        retryAfter = await manage(ds, nodes, hash, key);
        if (expectations.satisfied(key) && ds.spec?.updateStrategy?.type === 'RollingUpdate') {
          const plan = planRollingUpdate(ds, nodes, nodesToDaemonPods(ds), hash, clock.now());
          if (plan.deletePods.length || plan.createOn.length) await syncNodes(ds, plan.deletePods, plan.createOn, hash, key);
        }
        cleanupHistory(ds, old);
      } catch (e) {
        syncError = e;
      }
      const statusRetry = updateStatus(ds, nodes, hash, true);
      if (syncError) throw syncError;
      const next = [retryAfter, statusRetry].filter((x): x is number => x !== undefined);
      if (next.length) delayed.after(key, Math.min(...next));
    },
  });
}
