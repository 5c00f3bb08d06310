import type { KObject } from '../../api/types';
import { CONTROLLER_REVISION_HASH_LABEL } from '../util/history';
import { scaledValueFromIntOrPercent } from '../util/int-or-percent';
import { isPodAvailable, isPodReady } from '../util/pod';
import { nodeShouldRunDaemonPod } from './predicates';

/**
 * Pure DaemonSet decisions (Kubernetes' pkg/controller/daemon daemon_controller.go
 * `podsShouldBeOnNode` and update.go `rollingUpdate`): which nodes need a daemon pod and which
 * pods must go, given the daemon pods per node (`targetNodeName`) and the current revision hash.
 */

export const POD_TEMPLATE_GENERATION_LABEL = 'pod-template-generation';
export const TEMPLATE_GENERATION_ANNOTATION = 'deprecated.daemonset.template.generation';

export type NodePods = Map<string, KObject[]>;

/** The deprecated template generation annotation, when the API server set one. */
export function templateGeneration(ds: KObject): string | undefined {
  return ds.metadata.annotations?.[TEMPLATE_GENERATION_ANNOTATION];
}

/** `IsPodUpdated`: the pod carries the current revision hash (or template generation). */
export function isPodUpdated(pod: KObject, hash: string, generation: string | undefined): boolean {
  const labels = pod.metadata.labels ?? {};
  return (!!hash && labels[CONTROLLER_REVISION_HASH_LABEL] === hash) || (generation !== undefined && labels[POD_TEMPLATE_GENERATION_LABEL] === generation);
}

/** Scheduled first, then oldest, then by name (`podByCreationTimestampAndPhase`). */
export function byScheduledThenCreation(a: KObject, b: KObject): number {
  const sa = !!a.spec?.nodeName;
  const sb = !!b.spec?.nodeName;
  if (sa !== sb) return sa ? -1 : 1;
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const na = a.metadata.name ?? '';
  const nb = b.metadata.name ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}

export function surgeCount(ds: KObject, desired: number): number {
  if (ds.spec?.updateStrategy?.type !== 'RollingUpdate') return 0;
  return scaledValueFromIntOrPercent(ds.spec.updateStrategy.rollingUpdate?.maxSurge ?? 0, desired, true);
}

export function unavailableCount(ds: KObject, desired: number): number {
  if (ds.spec?.updateStrategy?.type !== 'RollingUpdate') return 0;
  return scaledValueFromIntOrPercent(ds.spec.updateStrategy.rollingUpdate?.maxUnavailable ?? 1, desired, true);
}

/** Surge is on when maxSurge is non-zero. */
export function allowsSurge(ds: KObject): boolean {
  return surgeCount(ds, 1) !== 0;
}

export interface NodeDecision {
  /** a daemon pod should be created on the node */
  create: boolean;
  /** names of pods to delete */
  remove: string[];
  /** failed pods seen on the node (the caller applies back-off, records events) */
  failed: KObject[];
}

/**
 * `podsShouldBeOnNode`: create a pod where one should run and none exists; keep the oldest
 * running pod (with surge: the oldest current and, until the new one is available, the oldest
 * old one); report failed pods; remove everything where no daemon pod may stay.
 */
export function podsShouldBeOnNode(node: KObject, pods: KObject[] | undefined, ds: KObject, hash: string, nowMs: number): NodeDecision {
  const out: NodeDecision = { create: false, remove: [], failed: [] };
  const { shouldRun, shouldContinueRunning } = nodeShouldRunDaemonPod(node, ds);
  const exists = pods !== undefined && pods.length > 0;
  if (shouldRun && !exists) {
    out.create = true;
    return out;
  }
  if (shouldContinueRunning) {
    const running: KObject[] = [];
    for (const p of pods ?? []) {
      if (p.metadata.deletionTimestamp) continue;
      if (p.status?.phase === 'Failed') out.failed.push(p);
      else if (p.status?.phase === 'Succeeded') out.remove.push(p.metadata.name!);
      else running.push(p);
    }
    running.sort(byScheduledThenCreation);
    if (!allowsSurge(ds)) {
      for (const p of running.slice(1)) out.remove.push(p.metadata.name!);
      return out;
    }
    if (running.length <= 1) {
      if (running.length === 0 && shouldRun) out.create = true;
      return out;
    }
    let oldestNew: KObject | undefined;
    let oldestOld: KObject | undefined;
    for (const p of running) {
      if (p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] === hash) {
        if (!oldestNew) {
          oldestNew = p;
          continue;
        }
      } else if (!oldestOld) {
        oldestOld = p;
        continue;
      }
      out.remove.push(p.metadata.name!);
    }
    if (oldestNew && oldestOld) {
      if (!isPodReady(oldestOld) || isPodAvailable(oldestNew, ds.spec?.minReadySeconds, nowMs)) out.remove.push(oldestOld.metadata.name!);
    }
    return out;
  }
  if (exists) for (const p of pods!) if (!p.metadata.deletionTimestamp) out.remove.push(p.metadata.name!);
  return out;
}

/**
 * `findUpdatedPodsOnNode`: the node's (non-terminating) current and old pod; ok=false when there
 * are two of either kind (the manage loop cleans that up first).
 */
export function findUpdatedPodsOnNode(ds: KObject, pods: KObject[], hash: string): { newPod?: KObject; oldPod?: KObject; ok: boolean } {
  let newPod: KObject | undefined;
  let oldPod: KObject | undefined;
  const gen = templateGeneration(ds);
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    if (isPodUpdated(p, hash, gen)) {
      if (newPod) return { ok: false };
      newPod = p;
    } else {
      if (oldPod) return { ok: false };
      oldPod = p;
    }
  }
  return { newPod, oldPod, ok: true };
}

/**
 * `updatedDesiredNodeCounts`: nodes that should run a pod (added to nodePods with no pods when
 * they have none), maxSurge and maxUnavailable resolved against that count (rounded up); when
 * both are 0, maxUnavailable is 1.
 */
export function updatedDesiredNodeCounts(ds: KObject, nodes: KObject[], nodePods: NodePods): { maxSurge: number; maxUnavailable: number; desired: number } {
  let desired = 0;
  for (const n of nodes) {
    if (!nodeShouldRunDaemonPod(n, ds).shouldRun) continue;
    desired++;
    if (!nodePods.has(n.metadata.name!)) nodePods.set(n.metadata.name!, []);
  }
  let maxUnavailable = unavailableCount(ds, desired);
  const maxSurge = surgeCount(ds, desired);
  if (desired > 0 && maxUnavailable === 0 && maxSurge === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable, desired };
}

/**
 * `rollingUpdate`: without surge, delete old pods (unavailable ones always, available ones while
 * fewer than maxUnavailable nodes are unavailable) and let the manage loop recreate them; with
 * surge, start new pods next to old ones on up to maxSurge nodes (and wherever the old pod is
 * unavailable) and delete an old pod once its replacement is available. Node iteration is by
 * name, so decisions are deterministic.
 */
export function planRollingUpdate(ds: KObject, nodes: KObject[], nodePods: NodePods, hash: string, nowMs: number): { deletePods: string[]; createOn: string[] } {
  const pods: NodePods = new Map([...nodePods].map(([k, v]) => [k, [...v]]));
  const { maxSurge, maxUnavailable, desired } = updatedDesiredNodeCounts(ds, nodes, pods);
  const mrs = ds.spec?.minReadySeconds;
  const names = [...pods.keys()].sort();
  if (maxSurge === 0) {
    let numUnavailable = 0;
    const allowedReplacement: string[] = [];
    const candidates: string[] = [];
    for (const nodeName of names) {
      const { newPod, oldPod, ok } = findUpdatedPodsOnNode(ds, pods.get(nodeName)!, hash);
      if (!ok) {
        numUnavailable++;
        continue;
      }
      if ((!oldPod && !newPod) || (oldPod && newPod)) {
        numUnavailable++;
      } else if (newPod) {
        if (!isPodAvailable(newPod, mrs, nowMs)) numUnavailable++;
      } else if (oldPod) {
        if (!isPodAvailable(oldPod, mrs, nowMs)) {
          allowedReplacement.push(oldPod.metadata.name!);
          numUnavailable++;
        } else if (numUnavailable >= maxUnavailable) {
          continue;
        } else candidates.push(oldPod.metadata.name!);
      }
    }
    const remaining = Math.min(Math.max(0, maxUnavailable - numUnavailable), candidates.length);
    return { deletePods: [...allowedReplacement, ...candidates.slice(0, remaining)], createOn: [] };
  }

  const nodeByName = new Map(nodes.map((n) => [n.metadata.name!, n]));
  const oldPodsToDelete: string[] = [];
  const shouldNotRunPodsToDelete: string[] = [];
  const candidateNewNodes: string[] = [];
  const allowedNewNodes: string[] = [];
  let numSurge = 0;
  let numAvailable = 0;
  for (const nodeName of names) {
    const { newPod, oldPod, ok } = findUpdatedPodsOnNode(ds, pods.get(nodeName)!, hash);
    if (!ok) {
      numSurge++;
      continue;
    }
    if (oldPod) {
      if (isPodAvailable(oldPod, mrs, nowMs)) numAvailable++;
    } else if (newPod && isPodAvailable(newPod, mrs, nowMs)) numAvailable++;
    if (!oldPod) continue;
    const node = nodeByName.get(nodeName);
    const shouldRun = node ? nodeShouldRunDaemonPod(node, ds).shouldRun : false;
    if (!newPod) {
      if (!isPodAvailable(oldPod, mrs, nowMs)) {
        if (!shouldRun) {
          oldPodsToDelete.push(oldPod.metadata.name!);
          continue;
        }
        allowedNewNodes.push(nodeName);
      } else {
        if (!shouldRun) {
          shouldNotRunPodsToDelete.push(oldPod.metadata.name!);
          continue;
        }
        if (numSurge >= maxSurge) continue;
        candidateNewNodes.push(nodeName);
      }
    } else {
      if (!isPodAvailable(newPod, mrs, nowMs)) {
        numSurge++;
        continue;
      }
      oldPodsToDelete.push(oldPod.metadata.name!);
    }
  }
  const deletable = Math.min(numAvailable - desired, shouldNotRunPodsToDelete.length);
  if (deletable > 0) oldPodsToDelete.push(...shouldNotRunPodsToDelete.slice(0, deletable));
  const remainingSurge = Math.min(Math.max(0, maxSurge - numSurge), candidateNewNodes.length);
  return { deletePods: oldPodsToDelete, createOn: [...allowedNewNodes, ...candidateNewNodes.slice(0, remainingSurge)] };
}

export interface DaemonSetStatusCounts {
  desiredNumberScheduled: number;
  currentNumberScheduled: number;
  numberMisscheduled: number;
  numberReady: number;
  updatedNumberScheduled: number;
  numberAvailable: number;
  numberUnavailable: number;
}

/** `updateDaemonSetStatus` counts: per node, the oldest daemon pod decides ready/available/updated. */
export function daemonSetStatusCounts(ds: KObject, nodes: KObject[], nodePods: NodePods, hash: string, nowMs: number): DaemonSetStatusCounts {
  const c: DaemonSetStatusCounts = { desiredNumberScheduled: 0, currentNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0, updatedNumberScheduled: 0, numberAvailable: 0, numberUnavailable: 0 };
  const gen = templateGeneration(ds);
  for (const node of nodes) {
    const { shouldRun } = nodeShouldRunDaemonPod(node, ds);
    const pods = nodePods.get(node.metadata.name!) ?? [];
    const scheduled = pods.length > 0;
    if (shouldRun) {
      c.desiredNumberScheduled++;
      if (!scheduled) continue;
      c.currentNumberScheduled++;
      const pod = [...pods].sort(byScheduledThenCreation)[0];
      if (isPodReady(pod)) {
        c.numberReady++;
        if (isPodAvailable(pod, ds.spec?.minReadySeconds, nowMs)) c.numberAvailable++;
      }
      if (isPodUpdated(pod, hash, gen)) c.updatedNumberScheduled++;
    } else if (scheduled) c.numberMisscheduled++;
  }
  c.numberUnavailable = c.desiredNumberScheduled - c.numberAvailable;
  return c;
}
