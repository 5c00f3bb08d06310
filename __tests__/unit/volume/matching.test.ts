import type { KObject } from '../../../src/api/types';
import {
  canReleaseClaimFinalizer,
  canReleaseVolumeFinalizer,
  claimInUse,
  defaultClass,
  findBestMatchForClaim,
  podClaimNames,
  volumeNodeAffinityMatches,
} from '../../../src/controllers/volume/util';
import { StorageAdmission } from '../../../src/controllers/volume/admission';
import { resourceFor } from '../../../src/api/scheme';

function pv(name: string, storage: string, o: { modes?: string[]; cls?: string; labels?: Record<string, string>; phase?: string; claimRef?: Record<string, string>; deleting?: boolean; nodes?: string[]; mode?: string } = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, labels: o.labels, ...(o.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}) },
    spec: {
      capacity: { storage },
      accessModes: o.modes ?? ['ReadWriteOnce'],
      storageClassName: o.cls,
      claimRef: o.claimRef,
      volumeMode: o.mode,
      ...(o.nodes ? { nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: o.nodes }] }] } } } : {}),
    },
    status: { phase: o.phase ?? 'Available' },
  } as KObject;
}

function pvc(storage: string, o: { modes?: string[]; cls?: string; selector?: unknown; name?: string; uid?: string; mode?: string } = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: o.name ?? 'c', namespace: 'ns', uid: o.uid ?? 'u1' },
    spec: { accessModes: o.modes ?? ['ReadWriteOnce'], resources: { requests: { storage } }, storageClassName: o.cls ?? '', selector: o.selector, volumeMode: o.mode },
  } as KObject;
}

const names = (v: KObject | undefined) => v?.metadata.name;

describe('findBestMatchForClaim', () => {
  const cases: [string, KObject, KObject[], string | undefined][] = [
    ['smallest volume that fits', pvc('2Gi'), [pv('a', '10Gi'), pv('b', '3Gi'), pv('c', '1Gi'), pv('d', '2Gi')], 'd'],
    ['nothing big enough', pvc('20Gi'), [pv('a', '10Gi')], undefined],
    ['class must be equal', pvc('1Gi', { cls: 'fast' }), [pv('a', '1Gi'), pv('b', '5Gi', { cls: 'fast' })], 'b'],
    ['no class matches only classless volumes', pvc('1Gi'), [pv('a', '1Gi', { cls: 'fast' })], undefined],
    ['label selector', pvc('1Gi', { selector: { matchLabels: { tier: 'gold' } } }), [pv('a', '1Gi'), pv('b', '9Gi', { labels: { tier: 'gold' } })], 'b'],
    ['access modes must be a superset', pvc('1Gi', { modes: ['ReadWriteMany'] }), [pv('a', '1Gi'), pv('b', '4Gi', { modes: ['ReadWriteOnce', 'ReadWriteMany'] })], 'b'],
    ['fewest access modes preferred over smaller size', pvc('1Gi'), [pv('a', '1Gi', { modes: ['ReadWriteOnce', 'ReadWriteMany'] }), pv('b', '5Gi')], 'b'],
    ['bound and released volumes are skipped', pvc('1Gi'), [pv('a', '1Gi', { phase: 'Released' }), pv('b', '1Gi', { claimRef: { name: 'x', namespace: 'ns' } }), pv('c', '2Gi')], 'c'],
    ['volumes being deleted are skipped', pvc('1Gi'), [pv('a', '1Gi', { deleting: true }), pv('b', '2Gi')], 'b'],
    ['volume mode must be equal', pvc('1Gi', { mode: 'Block' }), [pv('a', '1Gi'), pv('b', '1Gi', { mode: 'Block' })], 'b'],
    ['a volume pre-bound to the claim wins over a smaller one', pvc('1Gi'), [pv('a', '1Gi'), pv('b', '5Gi', { claimRef: { name: 'c', namespace: 'ns' } })], 'b'],
    ['pre-bound with the claim uid', pvc('1Gi'), [pv('b', '5Gi', { claimRef: { name: 'c', namespace: 'ns', uid: 'u1' } })], 'b'],
    ['pre-bound to another uid of the same name', pvc('1Gi'), [pv('b', '5Gi', { claimRef: { name: 'c', namespace: 'ns', uid: 'old' } })], undefined],
  ];
  test.each(cases)('%s', (_n, claim, vols, want) => {
    expect(names(findBestMatchForClaim(claim, vols))).toBe(want);
  });

  test('node-aware matching (WaitForFirstConsumer) honours volume node affinity', () => {
    const vols = [pv('n1', '1Gi', { nodes: ['node-1'] }), pv('n2', '1Gi', { nodes: ['node-2'] })];
    expect(names(findBestMatchForClaim(pvc('1Gi'), vols, { delayBinding: true }))).toBeUndefined();
    expect(names(findBestMatchForClaim(pvc('1Gi'), vols, { delayBinding: true, node: { name: 'node-2', labels: { 'kubernetes.io/hostname': 'node-2' } } }))).toBe('n2');
    expect(names(findBestMatchForClaim(pvc('1Gi'), vols, { delayBinding: true, node: { name: 'node-3', labels: { 'kubernetes.io/hostname': 'node-3' } } }))).toBeUndefined();
  });
});

test('volumeNodeAffinityMatches', () => {
  const node = { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } };
  expect(volumeNodeAffinityMatches(pv('a', '1Gi'), node)).toBe(true);
  expect(volumeNodeAffinityMatches(pv('a', '1Gi', { nodes: ['node-1', 'node-2'] }), node)).toBe(true);
  expect(volumeNodeAffinityMatches(pv('a', '1Gi', { nodes: ['node-2'] }), node)).toBe(false);
});

test('defaultClass: the newest class marked default', () => {
  const sc = (name: string, ts: string, def: boolean) => ({ metadata: { name, creationTimestamp: ts, annotations: def ? { 'storageclass.kubernetes.io/is-default-class': 'true' } : {} } }) as KObject;
  expect(defaultClass([sc('a', '2024-01-01T00:00:00Z', true), sc('b', '2024-02-01T00:00:00Z', true), sc('c', '2024-03-01T00:00:00Z', false)])?.metadata.name).toBe('b');
  expect(defaultClass([sc('c', '2024-03-01T00:00:00Z', false)])).toBeUndefined();
});

describe('protection', () => {
  const pod = (name: string, claim: string, phase = 'Running', ns = 'ns') => ({ metadata: { name, namespace: ns }, spec: { volumes: [{ name: 'd', persistentVolumeClaim: { claimName: claim } }] }, status: { phase } }) as KObject;
  const deleting = { ...pvc('1Gi'), metadata: { name: 'c', namespace: 'ns', uid: 'u1', deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['kubernetes.io/pvc-protection'] } } as KObject;

  test('podClaimNames: claims and generic ephemeral volumes', () => {
    expect(podClaimNames({ metadata: { name: 'p' }, spec: { volumes: [{ name: 'a', persistentVolumeClaim: { claimName: 'x' } }, { name: 'tmp', ephemeral: {} }, { name: 'e', emptyDir: {} }] } } as KObject)).toEqual(['x', 'p-tmp']);
  });

  test.each([
    ['running pod', [pod('p', 'c')], false],
    ['pending pod', [pod('p', 'c', 'Pending')], false],
    ['succeeded pod', [pod('p', 'c', 'Succeeded')], true],
    ['failed pod', [pod('p', 'c', 'Failed')], true],
    ['pod of another claim', [pod('p', 'other')], true],
    ['same claim name in another namespace', [pod('p', 'c', 'Running', 'other')], true],
    ['no pods', [], true],
  ] as [string, KObject[], boolean][])('claim finalizer release with %s', (_n, pods, want) => {
    expect(canReleaseClaimFinalizer(deleting, pods)).toBe(want);
    expect(claimInUse(deleting, pods)).toBe(!want);
  });

  test('a claim not being deleted keeps its finalizer', () => {
    expect(canReleaseClaimFinalizer({ ...deleting, metadata: { ...deleting.metadata, deletionTimestamp: undefined } } as KObject, [])).toBe(false);
  });

  test('volume finalizer: released only when not Bound', () => {
    const v = (phase: string) => ({ metadata: { name: 'v', deletionTimestamp: 't', finalizers: ['kubernetes.io/pv-protection'] }, status: { phase } }) as KObject;
    expect(canReleaseVolumeFinalizer(v('Bound'))).toBe(false);
    for (const ph of ['Available', 'Released', 'Failed']) expect(canReleaseVolumeFinalizer(v(ph))).toBe(true);
  });
});

describe('StorageAdmission', () => {
  const classes = [
    { metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }, allowVolumeExpansion: true },
    { metadata: { name: 'fixed' } },
  ] as KObject[];
  const adm = new StorageAdmission(() => classes);
  const PVC = resourceFor('', 'persistentvolumeclaims')!;
  const PV = resourceFor('', 'persistentvolumes')!;

  test('defaults the class only when unset, and adds the protection finalizers', () => {
    const a = pvc('1Gi');
    delete a.spec.storageClassName;
    adm.admit({ operation: 'CREATE', ri: PVC, obj: a, dryRun: false });
    expect(a.spec.storageClassName).toBe('standard');
    expect(a.metadata.finalizers).toEqual(['kubernetes.io/pvc-protection']);
    const b = pvc('1Gi', { cls: '' });
    adm.admit({ operation: 'CREATE', ri: PVC, obj: b, dryRun: false });
    expect(b.spec.storageClassName).toBe('');
    const v = pv('v', '1Gi');
    adm.admit({ operation: 'CREATE', ri: PV, obj: v, dryRun: false });
    expect(v.metadata.finalizers).toEqual(['kubernetes.io/pv-protection']);
  });

  test('growing a claim needs a class that allows expansion', () => {
    expect(() => adm.admit({ operation: 'UPDATE', ri: PVC, obj: pvc('2Gi', { cls: 'standard' }), old: pvc('1Gi', { cls: 'standard' }), dryRun: false })).not.toThrow();
    expect(() => adm.admit({ operation: 'UPDATE', ri: PVC, obj: pvc('2Gi', { cls: 'fixed' }), old: pvc('1Gi', { cls: 'fixed' }), dryRun: false })).toThrow(/must support resize/);
    expect(() => adm.admit({ operation: 'UPDATE', ri: PVC, obj: pvc('2Gi'), old: pvc('1Gi'), dryRun: false })).toThrow(/must support resize/);
  });
});
