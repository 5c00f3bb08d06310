import type { KObject, OwnerReference } from '../../api/types';
import { resourceFor } from '../../api/scheme';
import { labelSelectorMatches } from '../../api/selectors';
import type { Registry } from '../../apiserver/registry';
import { isPodReady, parseTime, rfc3339 } from '../job/job-util';

/**
 * PodDisruptionBudget arithmetic shared by the disruption controller (which keeps
 * `status` current) and the eviction subresource (which consumes `status.disruptionsAllowed`),
 * following Kubernetes' disruption controller:
 * - expectedPods: for an integer `minAvailable`, the number of selected pods; otherwise the sum
 *   of the scales (spec.replicas) of the pods' controllers (Deployment via its ReplicaSet,
 *   ReplicaSet, StatefulSet). A selected pod without a controller makes that sum unknowable
 *   ("unmanaged"); a controller that cannot be found is an error (the budget then fails safe:
 *   no disruption allowed, condition reason SyncFailed).
 * - desiredHealthy: minAvailable (an int, or a percentage of expectedPods rounded up), or
 *   expectedPods - maxUnavailable (percentage rounded up), at least 0.
 * - currentHealthy: selected pods that are Ready, not being deleted and not in
 *   `status.disruptedPods` (evicted in the last 2 minutes and not yet seen deleted).
 * - disruptionsAllowed = max(0, currentHealthy - desiredHealthy), 0 when expectedPods is 0.
 */

/** How long an eviction keeps a pod out of currentHealthy before the controller gives up on it. */
export const DELETION_TIMEOUT_MS = 2 * 60_000;

export interface ControllerScale {
  uid: string;
  scale: number;
}

/** Finds the scale of a pod's controller; undefined when the controller is unknown/not found. */
export type ScaleFinder = (ref: OwnerReference, namespace: string) => ControllerScale | undefined;

export interface PdbComputation {
  expectedPods: number;
  desiredHealthy: number;
  currentHealthy: number;
  disruptionsAllowed: number;
  /** pod name → eviction time, still within the deletion timeout */
  disruptedPods: Record<string, string>;
  /** when the earliest disruptedPods entry expires (ms), if any */
  recheckAt?: number;
  unmanagedPods: string[];
  /** set when the expected count cannot be computed */
  error?: string;
  /** pods in disruptedPods that outlived the timeout without being deleted */
  notDeleted: string[];
}

/** The scale of the Deployment, ReplicaSet or StatefulSet that controls a pod, read through the registry. */
export function registryScaleFinder(registry: Registry): ScaleFinder {
  const rsRI = resourceFor('apps', 'replicasets')!;
  const deployRI = resourceFor('apps', 'deployments')!;
  const stsRI = resourceFor('apps', 'statefulsets')!;
  return (ref, ns) => {
    if (ref.kind === 'ReplicaSet' && ref.apiVersion.startsWith('apps/')) {
      const rs = registry.tryGet(rsRI, ns, ref.name);
      if (!rs || rs.metadata.uid !== ref.uid) return undefined;
      const owner = (rs.metadata.ownerReferences ?? []).find((r) => r.controller === true);
      if (owner && owner.kind === 'Deployment') {
        const d = registry.tryGet(deployRI, ns, owner.name);
        if (!d || d.metadata.uid !== owner.uid) return undefined;
        return { uid: d.metadata.uid!, scale: d.spec?.replicas ?? 1 };
      }
      return { uid: rs.metadata.uid!, scale: rs.spec?.replicas ?? 1 };
    }
    if (ref.kind === 'StatefulSet' && ref.apiVersion.startsWith('apps/')) {
      const s = registry.tryGet(stsRI, ns, ref.name);
      if (!s || s.metadata.uid !== ref.uid) return undefined;
      return { uid: s.metadata.uid!, scale: s.spec?.replicas ?? 1 };
    }
    return undefined;
  };
}

/** `10`, `"10"` or `"25%"` of `total` (percentages rounded up). Undefined for other values. */
export function scaledValue(v: unknown, total: number): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^\d+%$/.test(v)) return Math.ceil((parseInt(v, 10) * total) / 100);
  if (typeof v === 'string' && /^\d+$/.test(v)) return parseInt(v, 10);
  return undefined;
}

/** The pods a budget selects: same namespace, label selector match (an empty selector selects all). */
export function podsForPdb(pdb: KObject, pods: KObject[]): KObject[] {
  return pods.filter((p) => p.metadata.namespace === pdb.metadata.namespace && labelSelectorMatches(pdb.spec?.selector, p.metadata.labels));
}

export function computePdb(pdb: KObject, pods: KObject[], findScale: ScaleFinder, now: number): PdbComputation {
  const spec = pdb.spec ?? {};
  const out: PdbComputation = { expectedPods: 0, desiredHealthy: 0, currentHealthy: 0, disruptionsAllowed: 0, disruptedPods: {}, unmanagedPods: [], notDeleted: [] };

  const expectedScale = (): number | undefined => {
    const scales = new Map<string, number>();
    for (const p of pods) {
      const ref = (p.metadata.ownerReferences ?? []).find((r) => r.controller === true);
      if (!ref) {
        out.unmanagedPods.push(p.metadata.name!);
        continue;
      }
      if (scales.has(ref.uid)) continue;
      const s = findScale(ref, p.metadata.namespace!);
      if (!s) {
        out.error = `found no controllers for pod "${p.metadata.name}"`;
        return undefined;
      }
      scales.set(s.uid, s.scale);
    }
    let n = 0;
    for (const v of scales.values()) n += v;
    return n;
  };

  if (spec.maxUnavailable !== undefined && spec.maxUnavailable !== null) {
    const e = expectedScale();
    if (e === undefined) return out;
    out.expectedPods = e;
    const mu = scaledValue(spec.maxUnavailable, e);
    if (mu === undefined) {
      out.error = `invalid value for IntOrString: ${JSON.stringify(spec.maxUnavailable)}`;
      return out;
    }
    out.desiredHealthy = Math.max(0, e - mu);
  } else if (spec.minAvailable !== undefined && spec.minAvailable !== null) {
    if (typeof spec.minAvailable === 'number') {
      out.desiredHealthy = spec.minAvailable;
      out.expectedPods = pods.length;
    } else {
      const e = expectedScale();
      if (e === undefined) return out;
      out.expectedPods = e;
      const ma = scaledValue(spec.minAvailable, e);
      if (ma === undefined) {
        out.error = `invalid value for IntOrString: ${JSON.stringify(spec.minAvailable)}`;
        return out;
      }
      out.desiredHealthy = ma;
    }
  }

  // disruptedPods still pending deletion
  const prev: Record<string, string> = pdb.status?.disruptedPods ?? {};
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    const at = parseTime(prev[p.metadata.name!]);
    if (at === undefined) continue;
    const expires = at + DELETION_TIMEOUT_MS;
    if (expires <= now) {
      out.notDeleted.push(p.metadata.name!);
    } else {
      out.disruptedPods[p.metadata.name!] = prev[p.metadata.name!];
      if (out.recheckAt === undefined || expires < out.recheckAt) out.recheckAt = expires;
    }
  }
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    if (out.disruptedPods[p.metadata.name!] !== undefined) continue;
    if (isPodReady(p)) out.currentHealthy++;
  }
  const allowed = out.currentHealthy - out.desiredHealthy;
  out.disruptionsAllowed = out.expectedPods <= 0 || allowed <= 0 ? 0 : allowed;
  return out;
}

export interface PdbCondition {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

/**
 * Sets the DisruptionAllowed condition (SufficientPods / InsufficientPods / SyncFailed), keeping
 * lastTransitionTime when the status does not change (meta.SetStatusCondition semantics).
 */
export function withDisruptionAllowed(conds: PdbCondition[] | undefined, allowed: boolean, reason: string, message: string, generation: number | undefined, now: number): PdbCondition[] {
  const list = [...(conds ?? [])];
  const i = list.findIndex((c) => c.type === 'DisruptionAllowed');
  const status: 'True' | 'False' = allowed ? 'True' : 'False';
  const prev = i >= 0 ? list[i] : undefined;
  const c: PdbCondition = {
    type: 'DisruptionAllowed',
    status,
    reason,
    message,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : rfc3339(now),
  };
  if (i >= 0) list[i] = c;
  else list.push(c);
  return list;
}
