import type { KObject } from '../../api/types';
import { SKIP, unresolvable, type CycleState, type FilterPlugin, type Handle, type PreFilterPlugin, type Status } from '../framework';
import type { NodeInfo } from '../node-info';
import type { PodInfo } from '../pod-info';
import { findBestMatchForClaim, isWaitForFirstConsumer, podClaimNames, volumeNodeAffinityMatches } from '../../controllers/volume/util';

export const VOLUME_BINDING = 'VolumeBinding';
export const ERR_REASON_NODE_CONFLICT = 'node(s) had volume node affinity conflict';
export const ERR_REASON_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind";
export const ERR_REASON_UNBOUND_IMMEDIATE = 'pod has unbound immediate PersistentVolumeClaims';
/** StorageClass provisioner meaning "no dynamic provisioning" (pre-created local volumes only). */
const NO_PROVISIONER = 'kubernetes.io/no-provisioner';
const STATE_KEY = 'PreFilter' + VOLUME_BINDING;

interface PodVolumes {
  /** volumes bound to the pod's claims */
  bound: KObject[];
  /** unbound claims of WaitForFirstConsumer classes, with their class */
  delayed: { claim: KObject; sc: KObject | undefined }[];
}

/**
 * kube-scheduler's VolumeBinding, for what the in-process binder needs:
 * - PreFilter: every claim the pod uses must exist and not be deleting (else unresolvable
 *   `persistentvolumeclaim "<name>" not found` / `... is being deleted`); an unbound claim of an
 *   Immediate class rejects the pod (`pod has unbound immediate PersistentVolumeClaims`) until the
 *   binder binds it. Pods without claims skip the plugin.
 * - Filter: a bound volume's required nodeAffinity must admit the node (`node(s) had volume node
 *   affinity conflict`); a WaitForFirstConsumer claim needs, on that node, an available matching
 *   volume or a class that provisions dynamically (`node(s) didn't find available persistent
 *   volumes to bind`). The binder then binds/provisions for the node the pod was bound to.
 * Rejected pods are retried on claim, volume, class and node changes.
 */
export class VolumeBinding implements PreFilterPlugin, FilterPlugin {
  readonly name = VOLUME_BINDING;
  readonly events = ['PvcChange', 'PvChange', 'StorageClassChange', 'NodeAdd', 'NodeUpdate'] as const;

  constructor(private readonly handle: Handle) {}

  preFilter(state: CycleState, pod: PodInfo): Status | null {
    const storage = this.handle.storage;
    const names = podClaimNames(pod.pod);
    if (!storage || !names.length) return SKIP;
    const pv: PodVolumes = { bound: [], delayed: [] };
    for (const n of names) {
      const c = storage.claim(pod.namespace, n);
      if (!c) return unresolvable(VOLUME_BINDING, `persistentvolumeclaim "${n}" not found`);
      if (c.metadata.deletionTimestamp) return unresolvable(VOLUME_BINDING, `persistentvolumeclaim "${n}" is being deleted`);
      if (c.spec?.volumeName) {
        const v = storage.volume(c.spec.volumeName);
        if (!v) return unresolvable(VOLUME_BINDING, 'pvc(s) bound to non-existent pv(s)');
        pv.bound.push(v);
        continue;
      }
      const cls: string = c.spec?.storageClassName ?? '';
      const sc = cls ? storage.storageClass(cls) : undefined;
      if (!isWaitForFirstConsumer(sc)) return unresolvable(VOLUME_BINDING, ERR_REASON_UNBOUND_IMMEDIATE);
      pv.delayed.push({ claim: c, sc });
    }
    state.write(STATE_KEY, pv);
    return null;
  }

  filter(state: CycleState, _pod: PodInfo, node: NodeInfo): Status | null {
    const pv = state.read<PodVolumes>(STATE_KEY);
    if (!pv) return null;
    const ref = { name: node.name, labels: node.labels };
    for (const v of pv.bound) if (!volumeNodeAffinityMatches(v, ref)) return unresolvable(VOLUME_BINDING, ERR_REASON_NODE_CONFLICT);
    if (pv.delayed.length) {
      const all = this.handle.storage?.volumes() ?? [];
      for (const { claim, sc } of pv.delayed) {
        if (findBestMatchForClaim(claim, all, { node: ref, delayBinding: true })) continue;
        if (sc?.provisioner && sc.provisioner !== NO_PROVISIONER) continue;
        return unresolvable(VOLUME_BINDING, ERR_REASON_BIND_CONFLICT);
      }
    }
    return null;
  }
}
