/**
 * Volume expansion of bound claims (kube's expand controller + external resizer + the kubelet's
 * filesystem resize, collapsed into bookkeeping: a hostPath directory has no size to grow).
 *
 * When a Bound claim's spec.resources.requests.storage exceeds its status.capacity.storage and its
 * StorageClass has allowVolumeExpansion: true (admission refuses the update otherwise), the
 * volume's spec.capacity.storage is raised to the request (Normal event Resizing), then the
 * claim's status.capacity and status.allocatedResources take the new size and its Resizing /
 * FileSystemResizePending conditions are dropped (Normal VolumeResizeSuccessful and
 * FileSystemResizeSuccessful). Idempotent; throws on write failure (the caller requeues).
 */
import type { KObject } from '../../api/types';
import { resourceFor } from '../../api/scheme';
import { tryParseQuantity } from '../../api/quantity';
import type { Registry } from '../../apiserver/registry';
import type { EventRecorder } from '../../client/events';
import { requestedStorage, volumeCapacity } from './util';

const PVC_RI = resourceFor('', 'persistentvolumeclaims')!;
const PV_RI = resourceFor('', 'persistentvolumes')!;

export interface ExpandInput {
  registry: Registry;
  recorder: EventRecorder;
  claim: KObject;
  pv: KObject;
  sc: KObject | undefined;
}

/** Whether the claim asks for more than its status reports and its class allows growing. */
export function needsExpansion(claim: KObject, sc: KObject | undefined): boolean {
  if (claim.status?.phase !== 'Bound' || !sc || sc.allowVolumeExpansion !== true) return false;
  const have = tryParseQuantity(claim.status?.capacity?.storage);
  return have !== undefined && requestedStorage(claim) > have;
}

export function expandClaimIfNeeded({ registry, recorder, claim, pv, sc }: ExpandInput): boolean {
  if (!needsExpansion(claim, sc)) return false;
  const want = claim.spec.resources.requests.storage as string;
  const resizer = (sc?.provisioner as string) ?? '';
  if (volumeCapacity(pv) < requestedStorage(claim)) {
    recorder.event(claim, 'Normal', 'Resizing', `External resizer is resizing volume ${pv.metadata.name}`);
    registry.guaranteedUpdate(PV_RI, undefined, pv.metadata.name!, (o) => {
      o.spec.capacity = { ...(o.spec.capacity ?? {}), storage: want };
      return o;
    });
    recorder.event(claim, 'Normal', 'VolumeResizeSuccessful', `resize volume "${pv.metadata.name}" by resizer "${resizer}" succeeded`);
  }
  const updated = registry.guaranteedUpdate(
    PVC_RI,
    claim.metadata.namespace,
    claim.metadata.name!,
    (o) => {
      o.status = { ...(o.status ?? {}) };
      o.status.capacity = { ...(o.status.capacity ?? {}), storage: want };
      o.status.allocatedResources = { ...(o.status.allocatedResources ?? {}), storage: want };
      const conds = ((o.status.conditions ?? []) as { type: string }[]).filter((c) => c.type !== 'Resizing' && c.type !== 'FileSystemResizePending');
      if (conds.length) o.status.conditions = conds;
      else delete o.status.conditions;
      return o;
    },
    { subresource: 'status' },
  );
  recorder.event(updated, 'Normal', 'FileSystemResizeSuccessful', `MountVolume.NodeExpandVolume succeeded for volume "${pv.metadata.name}"`);
  return true;
}
