/**
 * Storage admission, as Kubernetes' DefaultStorageClass, StorageObjectInUseProtection and
 * PersistentVolumeClaimResize admission plugins:
 * - CREATE PersistentVolumeClaim without spec.storageClassName (absent or null, not "") gets the
 *   default StorageClass (annotation storageclass.kubernetes.io/is-default-class=true; newest
 *   wins when several are marked), if any.
 * - CREATE PersistentVolumeClaim / PersistentVolume gets the `kubernetes.io/pvc-protection` /
 *   `kubernetes.io/pv-protection` finalizer.
 * - UPDATE growing a claim's spec.resources.requests.storage is refused (403) unless its class
 *   exists and has allowVolumeExpansion: true.
 * Stateless and synchronous: classes are read from the registry on each call.
 */
import type { KObject } from '../../api/types';
import { resourceFor } from '../../api/scheme';
import type { AdmissionAttributes, AdmissionPlugin, Registry } from '../../apiserver/registry';
import { ApiError } from '../../util/errors';
import { PV_PROTECTION_FINALIZER, PVC_PROTECTION_FINALIZER, claimClass, defaultClass, requestedStorage, withFinalizer } from './util';

const SC_RI = resourceFor('storage.k8s.io', 'storageclasses')!;

export class StorageAdmission implements AdmissionPlugin {
  readonly name = 'StorageAdmission';

  constructor(private readonly listClasses: () => KObject[]) {}

  admit(a: AdmissionAttributes): void {
    const kind = a.ri.kind;
    if (a.ri.group !== '' || (kind !== 'PersistentVolumeClaim' && kind !== 'PersistentVolume')) return;
    const o = a.obj;
    if (a.operation === 'CREATE') {
      o.metadata.finalizers = withFinalizer(o, kind === 'PersistentVolume' ? PV_PROTECTION_FINALIZER : PVC_PROTECTION_FINALIZER);
      if (kind === 'PersistentVolumeClaim' && o.spec && (o.spec.storageClassName === undefined || o.spec.storageClassName === null)) {
        const def = defaultClass(this.listClasses());
        if (def) o.spec.storageClassName = def.metadata.name;
      }
      return;
    }
    if (kind === 'PersistentVolumeClaim' && a.old && requestedStorage(o) > requestedStorage(a.old)) {
      const cls = claimClass(o);
      const sc = cls ? this.listClasses().find((c) => c.metadata.name === cls) : undefined;
      if (!sc || sc.allowVolumeExpansion !== true) {
        throw new ApiError(
          403,
          'Forbidden',
          `persistentvolumeclaims "${o.metadata.name}" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize`,
          { name: o.metadata.name, kind: 'persistentvolumeclaims' },
        );
      }
    }
  }
}

/** The admission plugin reading classes from `registry`. */
export function storageAdmission(registry: Registry): StorageAdmission {
  return new StorageAdmission(() => registry.list(SC_RI, undefined).items);
}
