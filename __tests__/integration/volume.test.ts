/**
 * Storage orchestration on a real store + API server + controllers + scheduler: default-class
 * admission, hostpath provisioning, binding to pre-created volumes, protection finalizers,
 * reclaim policies, expansion, WaitForFirstConsumer and volume node affinity. Nodes are plain
 * Node objects (no kubelet): the tests set pod phases themselves.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resourceFor } from '../../src/api/scheme';
import type { KObject } from '../../src/api/types';
import { eventually, startTestCluster } from '../helpers/cluster';
import { ClusterSim, eventsFor } from './workloads-sim';

jest.setTimeout(60_000);

const PVC = resourceFor('', 'persistentvolumeclaims')!;
const PV = resourceFor('', 'persistentvolumes')!;
const SC = resourceFor('storage.k8s.io', 'storageclasses')!;
const PODS = resourceFor('', 'pods')!;
const NS = 'default';

type TC = Awaited<ReturnType<typeof startTestCluster>>;
let tc: TC;
const reg = () => tc.cluster.registry;

beforeAll(async () => {
  // no kubelets heartbeat these nodes: keep node-lifecycle from tainting them NotReady
  tc = await startTestCluster({ controllerSettings: { nodeMonitorGracePeriodMs: 3_600_000 } });
  const sim = new ClusterSim(tc.cluster.registry); // used only to create Node objects
  sim.addNode('node-1', { labels: { disk: 'ssd' } });
  sim.addNode('node-2');
  reg().create(SC, undefined, { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'keep' }, provisioner: 'minictl.io/hostpath', reclaimPolicy: 'Retain' });
  reg().create(SC, undefined, { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'late' }, provisioner: 'minictl.io/hostpath', volumeBindingMode: 'WaitForFirstConsumer' });
  reg().create(SC, undefined, { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'fixed' }, provisioner: 'minictl.io/hostpath', allowVolumeExpansion: false });
});

afterAll(async () => {
  await tc.stop();
});

function claim(name: string, extra: Record<string, unknown> = {}, storage = '1Gi'): KObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: NS },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } }, ...extra },
  } as KObject;
}

function volume(name: string, storage: string, extra: Record<string, unknown> = {}, labels?: Record<string, string>): KObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, ...(labels ? { labels } : {}) },
    spec: { capacity: { storage }, accessModes: ['ReadWriteOnce'], hostPath: { path: path.join(tc.dir, 'manual', name) }, ...extra },
  } as KObject;
}

function pod(name: string, claimName: string): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: { containers: [{ name: 'c', image: 'busybox' }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }] },
  } as KObject;
}

const getClaim = (n: string) => reg().get(PVC, NS, n);
const boundClaim = (n: string) =>
  eventually(() => {
    const c = getClaim(n);
    expect(c.status?.phase).toBe('Bound');
    return c;
  });

function setPodPhase(name: string, phase: string): void {
  reg().guaranteedUpdate(PODS, NS, name, (p) => ((p.status = { ...(p.status ?? {}), phase }), p), { subresource: 'status' });
}

const scheduledNode = (name: string) =>
  eventually(() => {
    const n = reg().get(PODS, NS, name).spec?.nodeName;
    expect(n).toBeTruthy();
    return n as string;
  });

test('a claim without a class gets the default class, a provisioned hostpath volume and is bound', async () => {
  const created = reg().create(PVC, NS, claim('data'));
  expect(created.spec.storageClassName).toBe('standard');
  expect(created.metadata.finalizers).toEqual(['kubernetes.io/pvc-protection']);
  const c = await boundClaim('data');
  const pvName = `pvc-${c.metadata.uid}`;
  expect(c.spec.volumeName).toBe(pvName);
  expect(c.status.capacity).toEqual({ storage: '1Gi' });
  expect(c.status.accessModes).toEqual(['ReadWriteOnce']);
  expect(c.metadata.annotations).toMatchObject({ 'pv.kubernetes.io/bind-completed': 'yes', 'pv.kubernetes.io/bound-by-controller': 'yes', 'volume.kubernetes.io/storage-provisioner': 'minictl.io/hostpath' });
  const pv = await eventually(() => {
    const v = reg().get(PV, undefined, pvName);
    expect(v.status.phase).toBe('Bound');
    return v;
  });
  expect(pv.spec).toMatchObject({ capacity: { storage: '1Gi' }, persistentVolumeReclaimPolicy: 'Delete', storageClassName: 'standard', claimRef: { name: 'data', namespace: NS, uid: c.metadata.uid } });
  expect(pv.metadata.annotations['pv.kubernetes.io/provisioned-by']).toBe('minictl.io/hostpath');
  expect(pv.metadata.finalizers).toEqual(['kubernetes.io/pv-protection']);
  const dir = path.join(tc.dir, 'volumes', pvName);
  expect(pv.spec.hostPath.path).toBe(dir);
  expect(fs.statSync(dir).mode & 0o777).toBe(0o777);
  await eventually(() => expect(eventsFor(reg(), NS, 'data').map((e) => `${e.reason}: ${e.message}`)).toContain(`ProvisioningSucceeded: Successfully provisioned volume ${pvName} using minictl.io/hostpath`));
});

test('pre-created volumes: smallest fit, label selector, volumeName and claimRef pre-binding', async () => {
  for (const [n, st, l] of [
    ['pv-small', '1Gi', undefined],
    ['pv-big', '5Gi', undefined],
    ['pv-huge-rwx', '6Gi', undefined],
    ['pv-fast', '10Gi', { tier: 'fast' }],
    ['pv-named', '1Gi', undefined],
  ] as const)
    reg().create(PV, undefined, volume(n, st, n.endsWith('rwx') ? { accessModes: ['ReadWriteOnce', 'ReadWriteMany'] } : {}, l as Record<string, string> | undefined));
  reg().create(PV, undefined, volume('pv-reserved', '3Gi', { claimRef: { namespace: NS, name: 'reserved' } }));
  await eventually(() => expect(reg().get(PV, undefined, 'pv-big').status.phase).toBe('Available'));
  expect(reg().get(PV, undefined, 'pv-reserved').status.phase).toBe('Available');
  reg().create(PVC, NS, claim('named', { storageClassName: '', volumeName: 'pv-named' }));
  expect((await boundClaim('named')).spec.volumeName).toBe('pv-named');
  // 2Gi: pv-big (5Gi) is the smallest fit; the RWO+RWX 6Gi volume and the labelled 10Gi one are not preferred
  reg().create(PVC, NS, claim('fit', { storageClassName: '' }, '2Gi'));
  reg().create(PVC, NS, claim('fast', { storageClassName: '', selector: { matchLabels: { tier: 'fast' } } }));
  reg().create(PVC, NS, claim('reserved', { storageClassName: '' }));
  expect((await boundClaim('fit')).spec.volumeName).toBe('pv-big');
  expect((await boundClaim('fast')).spec.volumeName).toBe('pv-fast');
  const reserved = await boundClaim('reserved');
  expect(reserved.spec.volumeName).toBe('pv-reserved');
  expect(reserved.status.capacity).toEqual({ storage: '3Gi' });
  expect(reserved.metadata.annotations['pv.kubernetes.io/bound-by-controller']).toBe('yes');
  expect(reg().get(PV, undefined, 'pv-reserved').metadata.annotations?.['pv.kubernetes.io/bound-by-controller']).toBeUndefined();
  await eventually(() => {
    for (const n of ['pv-big', 'pv-fast', 'pv-named', 'pv-reserved']) expect(reg().get(PV, undefined, n).status.phase).toBe('Bound');
    for (const n of ['pv-small', 'pv-huge-rwx']) expect(reg().get(PV, undefined, n).status.phase).toBe('Available');
  });
});

test('a claim nothing can satisfy stays Pending with a clear event; a pod using it is not scheduled until it binds', async () => {
  reg().create(PVC, NS, claim('nothing', { storageClassName: '' }, '100Gi'));
  await eventually(() => expect(eventsFor(reg(), NS, 'nothing').map((e) => `${e.type} ${e.reason}: ${e.message}`)).toContain('Warning FailedBinding: no persistent volumes available for this claim and no storage class is set'));
  expect(getClaim('nothing').status.phase).toBe('Pending');
  reg().create(PODS, NS, pod('waits', 'nothing'));
  await eventually(() => expect(eventsFor(reg(), NS, 'waits').map((e) => e.message)).toEqual(expect.arrayContaining([expect.stringMatching(/^0\/2 nodes are available: pod has unbound immediate PersistentVolumeClaims\./)])));
  reg().create(PV, undefined, volume('pv-huge', '100Gi'));
  expect((await boundClaim('nothing')).spec.volumeName).toBe('pv-huge');
  await scheduledNode('waits');
  reg().delete(PODS, NS, 'waits', { gracePeriodSeconds: 0 });
});

test('deleting a claim in use waits for the pod; Delete reclaim removes the volume and its directory', async () => {
  reg().create(PVC, NS, claim('inuse'));
  const c = await boundClaim('inuse');
  const pvName = c.spec.volumeName as string;
  const dir = path.join(tc.dir, 'volumes', pvName);
  reg().create(PODS, NS, pod('user', 'inuse'));
  await scheduledNode('user');
  setPodPhase('user', 'Running');
  const del = reg().delete(PVC, NS, 'inuse');
  expect(del.deleted).toBe(false);
  await new Promise((r) => setTimeout(r, 300));
  const pending = getClaim('inuse');
  expect(pending.metadata.deletionTimestamp).toBeTruthy();
  expect(pending.metadata.finalizers).toContain('kubernetes.io/pvc-protection');
  expect(fs.existsSync(dir)).toBe(true);
  reg().delete(PODS, NS, 'user', { gracePeriodSeconds: 0 });
  await eventually(() => expect(reg().tryGet(PVC, NS, 'inuse')).toBeUndefined());
  await eventually(() => expect(reg().tryGet(PV, undefined, pvName)).toBeUndefined());
  expect(fs.existsSync(dir)).toBe(false);
});

test('a Succeeded pod does not hold a claim', async () => {
  reg().create(PVC, NS, claim('done'));
  await boundClaim('done');
  reg().create(PODS, NS, pod('finished', 'done'));
  await scheduledNode('finished');
  setPodPhase('finished', 'Succeeded');
  reg().delete(PVC, NS, 'done');
  await eventually(() => expect(reg().tryGet(PVC, NS, 'done')).toBeUndefined());
  reg().delete(PODS, NS, 'finished', { gracePeriodSeconds: 0 });
});

test('Retain keeps the released volume and its data', async () => {
  reg().create(PVC, NS, claim('kept', { storageClassName: 'keep' }));
  const c = await boundClaim('kept');
  const pvName = c.spec.volumeName as string;
  const dir = path.join(tc.dir, 'volumes', pvName);
  fs.writeFileSync(path.join(dir, 'f'), 'x');
  reg().delete(PVC, NS, 'kept');
  await eventually(() => expect(reg().get(PV, undefined, pvName).status.phase).toBe('Released'));
  expect(reg().get(PV, undefined, pvName).spec.persistentVolumeReclaimPolicy).toBe('Retain');
  expect(fs.readFileSync(path.join(dir, 'f'), 'utf8')).toBe('x');
  // the administrator deletes it: pv-protection lets it go since it is not Bound
  reg().delete(PV, undefined, pvName);
  await eventually(() => expect(reg().tryGet(PV, undefined, pvName)).toBeUndefined());
});

test('deleting a bound volume waits (pv-protection) and the claim is Lost once it is gone', async () => {
  reg().create(PV, undefined, volume('pv-lose', '1Gi'));
  reg().create(PVC, NS, claim('lose', { storageClassName: '', volumeName: 'pv-lose' }));
  await boundClaim('lose');
  reg().delete(PV, undefined, 'pv-lose');
  await new Promise((r) => setTimeout(r, 200));
  expect(reg().get(PV, undefined, 'pv-lose').metadata.deletionTimestamp).toBeTruthy();
  // force it away (as an administrator removing the finalizer would)
  reg().guaranteedUpdate(PV, undefined, 'pv-lose', (o) => ((o.metadata.finalizers = []), o));
  await eventually(() => expect(getClaim('lose').status.phase).toBe('Lost'));
  await eventually(() => expect(eventsFor(reg(), NS, 'lose').map((e) => e.reason)).toContain('ClaimLost'));
});

test('expansion: a bigger request grows the volume and the claim status; a class without allowVolumeExpansion refuses', async () => {
  reg().create(PVC, NS, claim('grow'));
  const c = await boundClaim('grow');
  reg().guaranteedUpdate(PVC, NS, 'grow', (o) => ((o.spec.resources.requests.storage = '3Gi'), o));
  await eventually(() => expect(getClaim('grow').status.capacity).toEqual({ storage: '3Gi' }));
  expect(reg().get(PV, undefined, c.spec.volumeName).spec.capacity).toEqual({ storage: '3Gi' });
  await eventually(() => expect(eventsFor(reg(), NS, 'grow').map((e) => e.reason)).toEqual(expect.arrayContaining(['Resizing', 'VolumeResizeSuccessful', 'FileSystemResizeSuccessful'])));

  reg().create(PVC, NS, claim('nogrow', { storageClassName: 'fixed' }));
  await boundClaim('nogrow');
  expect(() => reg().guaranteedUpdate(PVC, NS, 'nogrow', (o) => ((o.spec.resources.requests.storage = '3Gi'), o))).toThrow(/only dynamically provisioned pvc can be resized/);
});

test('WaitForFirstConsumer: nothing happens until a pod using the claim is scheduled', async () => {
  reg().create(PVC, NS, claim('lazy', { storageClassName: 'late' }));
  await eventually(() => expect(eventsFor(reg(), NS, 'lazy').map((e) => e.reason)).toContain('WaitForFirstConsumer'));
  expect(getClaim('lazy').spec.volumeName).toBeUndefined();
  expect(reg().list(PV, undefined).items.some((v) => v.spec.claimRef?.name === 'lazy')).toBe(false);
  reg().create(PODS, NS, pod('consumer', 'lazy'));
  const node = await scheduledNode('consumer');
  const c = await boundClaim('lazy');
  expect(c.metadata.annotations['volume.kubernetes.io/selected-node']).toBe(node);
  reg().delete(PODS, NS, 'consumer', { gracePeriodSeconds: 0 });
});

test('volume node affinity pins pods to the node; an impossible affinity fails scheduling', async () => {
  const affinity = (node: string) => ({ required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] }] } });
  reg().create(PV, undefined, volume('pv-local', '1Gi', { hostPath: undefined, local: { path: path.join(tc.dir, 'local') }, nodeAffinity: affinity('node-2') }));
  reg().create(PV, undefined, volume('pv-nowhere', '1Gi', { nodeAffinity: affinity('node-9') }));
  reg().create(PVC, NS, claim('local', { storageClassName: '', volumeName: 'pv-local' }));
  reg().create(PVC, NS, claim('nowhere', { storageClassName: '', volumeName: 'pv-nowhere' }));
  await boundClaim('local');
  await boundClaim('nowhere');
  for (let i = 0; i < 3; i++) reg().create(PODS, NS, pod(`pinned-${i}`, 'local'));
  for (let i = 0; i < 3; i++) expect(await scheduledNode(`pinned-${i}`)).toBe('node-2');
  reg().create(PODS, NS, pod('stuck', 'nowhere'));
  await eventually(() => expect(eventsFor(reg(), NS, 'stuck').map((e) => e.message)).toEqual(expect.arrayContaining([expect.stringMatching(/^0\/2 nodes are available: 2 node\(s\) had volume node affinity conflict\./)])));
  expect(reg().get(PODS, NS, 'stuck').spec.nodeName).toBeUndefined();
  for (const p of ['pinned-0', 'pinned-1', 'pinned-2', 'stuck']) reg().delete(PODS, NS, p, { gracePeriodSeconds: 0 });
});

test('a pod whose claim does not exist is not scheduled', async () => {
  reg().create(PODS, NS, pod('orphan', 'missing'));
  await eventually(() => expect(eventsFor(reg(), NS, 'orphan').map((e) => e.message)).toEqual(expect.arrayContaining([expect.stringMatching(/^0\/2 nodes are available: persistentvolumeclaim "missing" not found\./)])));
  reg().delete(PODS, NS, 'orphan', { gracePeriodSeconds: 0 });
});
