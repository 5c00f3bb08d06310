/**
 * Pure helpers of the persistent-volume controllers and the scheduler's VolumeBinding plugin:
 * claim ↔ volume matching (kube's findMatchingVolume / findBestMatchForClaim), storage-class
 * lookups, which claims a pod uses, and the names Kubernetes gives annotations and finalizers.
 * Nothing here performs I/O.
 */
import type { KObject } from '../../api/types';
import { labelSelectorMatches } from '../../api/selectors';
import { tryParseQuantity } from '../../api/quantity';
import { compileNodeSelectorTerm, nodeSelectorTermMatches } from '../../scheduler/pod-info';

export const PVC_PROTECTION_FINALIZER = 'kubernetes.io/pvc-protection';
export const PV_PROTECTION_FINALIZER = 'kubernetes.io/pv-protection';
export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
export const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
export const ANN_PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
export const ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
export const ANN_BETA_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';
export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
export const ANN_DEFAULT_CLASS = 'storageclass.kubernetes.io/is-default-class';
export const ANN_BETA_DEFAULT_CLASS = 'storageclass.beta.kubernetes.io/is-default-class';
/** The built-in dynamic provisioner: a directory under the profile's data dir. */
export const HOSTPATH_PROVISIONER = 'minictl.io/hostpath';

export type Obj = KObject;

/** The claim's requested class: '' means "no class" (explicitly or unset). */
export function claimClass(claim: Obj): string {
  return (claim.spec?.storageClassName as string | undefined) ?? '';
}

export function volumeClass(pv: Obj): string {
  return (pv.spec?.storageClassName as string | undefined) ?? '';
}

/** Bytes of spec.resources.requests.storage (0 when absent or invalid). */
export function requestedStorage(claim: Obj): number {
  return tryParseQuantity(claim.spec?.resources?.requests?.storage) ?? 0;
}

/** Bytes of a volume's spec.capacity.storage (0 when absent or invalid). */
export function volumeCapacity(pv: Obj): number {
  return tryParseQuantity(pv.spec?.capacity?.storage) ?? 0;
}

export function isDefaultClass(sc: Obj): boolean {
  const a = sc.metadata.annotations ?? {};
  return a[ANN_DEFAULT_CLASS] === 'true' || a[ANN_BETA_DEFAULT_CLASS] === 'true';
}

/**
 * kube's GetDefaultClass: among classes marked default, the newest (ties: by name) wins;
 * undefined when none is marked.
 */
export function defaultClass(classes: readonly Obj[]): Obj | undefined {
  const defs = classes.filter(isDefaultClass);
  defs.sort((a, b) => {
    const ta = a.metadata.creationTimestamp ?? '';
    const tb = b.metadata.creationTimestamp ?? '';
    if (ta !== tb) return ta < tb ? 1 : -1;
    return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1;
  });
  return defs[0];
}

export function isWaitForFirstConsumer(sc: Obj | undefined): boolean {
  return sc?.volumeBindingMode === 'WaitForFirstConsumer';
}

/** Claim names a pod uses: persistentVolumeClaim volumes and generic ephemeral volumes (`<pod>-<volume>`). */
export function podClaimNames(pod: Obj): string[] {
  const out: string[] = [];
  for (const v of (pod.spec?.volumes ?? []) as { name?: string; persistentVolumeClaim?: { claimName?: string }; ephemeral?: unknown }[]) {
    if (v?.persistentVolumeClaim?.claimName) out.push(v.persistentVolumeClaim.claimName);
    else if (v?.ephemeral && v.name) out.push(`${pod.metadata.name}-${v.name}`);
  }
  return out;
}

/** Phase Succeeded or Failed: the pod's containers will never run again. */
export function isPodTerminated(pod: Obj): boolean {
  const ph = pod.status?.phase;
  return ph === 'Succeeded' || ph === 'Failed';
}

/** Whether a non-terminated pod in `pods` uses the claim (kube's pvc-protection "in use" test). */
export function claimInUse(claim: Obj, pods: readonly Obj[]): boolean {
  const ns = claim.metadata.namespace;
  const name = claim.metadata.name!;
  return pods.some((p) => p.metadata.namespace === ns && !isPodTerminated(p) && podClaimNames(p).includes(name));
}

/** kube's IsVolumeBoundToClaim: claimRef names the claim, and its uid (if set) is the claim's. */
export function isVolumeBoundToClaim(pv: Obj, claim: Obj): boolean {
  const ref = pv.spec?.claimRef;
  if (!ref) return false;
  if (ref.name !== claim.metadata.name || (ref.namespace ?? '') !== (claim.metadata.namespace ?? '')) return false;
  return !ref.uid || ref.uid === claim.metadata.uid;
}

/** The volume's access modes include every mode the claim asks for. */
export function accessModesSatisfied(claim: Obj, pv: Obj): boolean {
  const have = new Set<string>((pv.spec?.accessModes ?? []) as string[]);
  return ((claim.spec?.accessModes ?? []) as string[]).every((m) => have.has(m));
}

function volumeModeOf(spec: { volumeMode?: string } | undefined): string {
  return spec?.volumeMode || 'Filesystem';
}

/** A node as matching needs it: name and labels. */
export interface NodeRef {
  name: string;
  labels: Readonly<Record<string, string>>;
}

/** Whether the volume's spec.nodeAffinity.required (terms ORed) admits the node; true when absent. */
export function volumeNodeAffinityMatches(pv: Obj, node: NodeRef): boolean {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms;
  if (!Array.isArray(terms)) return true;
  return terms.some((t) => nodeSelectorTermMatches(compileNodeSelectorTerm(t), node.labels, node.name));
}

export interface MatchOptions {
  /** scheduler/WaitForFirstConsumer path: only volumes usable on this node, access modes checked per volume */
  node?: NodeRef;
  /** true when the claim's class binds on first consumer and no node is known yet: only pre-bound volumes match */
  delayBinding?: boolean;
}

/**
 * kube's findMatchingVolume over one candidate set: a volume pre-bound to the claim (claimRef)
 * wins outright; otherwise the smallest Available volume with capacity ≥ request, equal volume
 * mode and storageClassName, labels matching the claim's selector, node affinity admitting the
 * node (when given), and not being deleted.
 */
export function findMatchingVolume(claim: Obj, volumes: readonly Obj[], opts: MatchOptions = {}): Obj | undefined {
  const request = requestedStorage(claim);
  const cls = claimClass(claim);
  let best: Obj | undefined;
  for (const pv of volumes) {
    if (pv.spec?.claimRef && !isVolumeBoundToClaim(pv, claim)) continue;
    const cap = volumeCapacity(pv);
    if (cap < request) continue;
    if (volumeModeOf(claim.spec) !== volumeModeOf(pv.spec)) continue;
    if (pv.metadata.deletionTimestamp) continue;
    const affinityOk = !opts.node || volumeNodeAffinityMatches(pv, opts.node);
    if (isVolumeBoundToClaim(pv, claim)) return affinityOk ? pv : undefined;
    if (opts.delayBinding && !opts.node) continue;
    const phase = pv.status?.phase ?? 'Pending';
    if (phase !== 'Available' && phase !== 'Pending') continue;
    if (claim.spec?.selector && !labelSelectorMatches(claim.spec.selector, pv.metadata.labels)) continue;
    if (volumeClass(pv) !== cls) continue;
    if (!affinityOk) continue;
    if (opts.node && !accessModesSatisfied(claim, pv)) continue;
    if (!best || volumeCapacity(best) > cap) best = pv;
  }
  return best;
}

/**
 * kube's findBestMatchForClaim: volumes are grouped by their access-mode set; only sets that are
 * a superset of the claim's modes are tried, fewest modes first, and the first group with a match
 * answers (so an RWO claim prefers an RWO volume over a larger RWO+RWX one).
 */
export function findBestMatchForClaim(claim: Obj, volumes: readonly Obj[], opts: MatchOptions = {}): Obj | undefined {
  const groups = new Map<string, Obj[]>();
  for (const pv of volumes) {
    const modes = [...new Set<string>((pv.spec?.accessModes ?? []) as string[])].sort();
    const k = modes.join(',');
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(pv);
  }
  const keys = [...groups.keys()].filter((k) => accessModesSatisfied(claim, { metadata: {}, spec: { accessModes: k ? k.split(',') : [] } } as Obj));
  keys.sort((a, b) => (a ? a.split(',').length : 0) - (b ? b.split(',').length : 0) || (a < b ? -1 : a > b ? 1 : 0));
  for (const k of keys) {
    const m = findMatchingVolume(claim, groups.get(k)!, opts);
    if (m) return m;
  }
  return undefined;
}

export function hasFinalizer(o: Obj, f: string): boolean {
  return (o.metadata.finalizers ?? []).includes(f);
}

/** The object's finalizers with `f` added (no duplicate). */
export function withFinalizer(o: Obj, f: string): string[] {
  const fs = [...(o.metadata.finalizers ?? [])];
  if (!fs.includes(f)) fs.push(f);
  return fs;
}

export function withoutFinalizer(o: Obj, f: string): string[] {
  return (o.metadata.finalizers ?? []).filter((x) => x !== f);
}

/**
 * Whether pvc-protection may let the claim go: it is being deleted and no non-terminated pod uses
 * it. `pods` must be the namespace's current pods.
 */
export function canReleaseClaimFinalizer(claim: Obj, pods: readonly Obj[]): boolean {
  return !!claim.metadata.deletionTimestamp && hasFinalizer(claim, PVC_PROTECTION_FINALIZER) && !claimInUse(claim, pods);
}

/** Whether pv-protection may let the volume go: it is being deleted and not Bound. */
export function canReleaseVolumeFinalizer(pv: Obj): boolean {
  return !!pv.metadata.deletionTimestamp && hasFinalizer(pv, PV_PROTECTION_FINALIZER) && pv.status?.phase !== 'Bound';
}
