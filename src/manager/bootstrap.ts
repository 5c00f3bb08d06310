import { resourceFor } from '../api/scheme';
import type { Registry } from '../apiserver/registry';
import { AlreadyExistsError } from '../util/errors';

/** Objects every cluster has from the start. Idempotent: existing objects are left alone. */
export function bootstrapCluster(registry: Registry): void {
  const ns = resourceFor('', 'namespaces')!;
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    ensure(() => registry.create(ns, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name } } }));
  }
  const sc = resourceFor('storage.k8s.io', 'storageclasses')!;
  ensure(() =>
    registry.create(sc, undefined, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
      provisioner: 'minictl.io/hostpath',
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'Immediate',
      allowVolumeExpansion: true,
    }),
  );
  const ic = resourceFor('networking.k8s.io', 'ingressclasses')!;
  ensure(() =>
    registry.create(ic, undefined, {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: { name: 'minictl', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
      spec: { controller: 'minictl.io/ingress' },
    }),
  );
}

function ensure(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof AlreadyExistsError)) throw e;
  }
}
