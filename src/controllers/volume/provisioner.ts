/**
 * Dynamic provisioners the persistent-volume controller runs in-process (kube's in-tree
 * provisionable volume plugins).
 *
 * `minictl.io/hostpath`: a claim gets PersistentVolume `pvc-<claim uid>` backed by the directory
 * `<dataDir>/volumes/pvc-<claim uid>`. Every simulated node is a set of containers on this host,
 * so the directory is reachable from all of them, like a network filesystem: the volume has no
 * nodeAffinity and pods using it may move between nodes. The directory is created with mode 0777
 * (chmod after mkdir, so the umask does not narrow it) so containers running as any uid can
 * write; the profile data dir above it stays 0700. Deleting removes the directory recursively;
 * only directories directly under `<dataDir>/volumes` are ever removed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { KObject } from '../../api/types';
import { ANN_PROVISIONED_BY, HOSTPATH_PROVISIONER, requestedStorage } from './util';

export interface Provisioner {
  /** the StorageClass `provisioner` this plugin serves */
  readonly name: string;
  /** Creates the backing storage and returns the PersistentVolume to create (claimRef set). Throws on I/O failure. */
  provision(claim: KObject, sc: KObject, pvName: string): KObject;
  /** Removes the backing storage of a volume this plugin provisioned; idempotent. Throws on I/O failure. */
  delete(pv: KObject): void;
}

export interface HostPathProvisionerOptions {
  /** the profile data dir; volumes go to `<dataDir>/volumes/<pv name>` */
  dataDir: string;
}

export class HostPathProvisioner implements Provisioner {
  readonly name = HOSTPATH_PROVISIONER;
  readonly root: string;

  constructor(opts: HostPathProvisionerOptions) {
    this.root = path.join(opts.dataDir, 'volumes');
  }

  dirFor(pvName: string): string {
    return path.join(this.root, pvName);
  }

  provision(claim: KObject, sc: KObject, pvName: string): KObject {
    const dir = this.dirFor(pvName);
    fs.mkdirSync(dir, { recursive: true });
    fs.chmodSync(dir, 0o777);
    const storage = claim.spec?.resources?.requests?.storage ?? String(requestedStorage(claim));
    const spec: Record<string, unknown> = {
      capacity: { storage },
      accessModes: [...((claim.spec?.accessModes ?? ['ReadWriteOnce']) as string[])],
      persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? 'Delete',
      storageClassName: sc.metadata.name,
      volumeMode: claim.spec?.volumeMode ?? 'Filesystem',
      hostPath: { path: dir, type: 'DirectoryOrCreate' },
      claimRef: {
        kind: 'PersistentVolumeClaim',
        apiVersion: 'v1',
        namespace: claim.metadata.namespace,
        name: claim.metadata.name,
        uid: claim.metadata.uid,
        resourceVersion: claim.metadata.resourceVersion,
      },
    };
    if (Array.isArray(sc.mountOptions)) spec.mountOptions = [...sc.mountOptions];
    return {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: pvName, annotations: { [ANN_PROVISIONED_BY]: this.name } },
      spec,
    } as KObject;
  }

  delete(pv: KObject): void {
    const name = pv.metadata.name!;
    if (!name || name.includes('/') || name === '.' || name === '..') return;
    fs.rmSync(this.dirFor(name), { recursive: true, force: true });
  }
}
