/**
 * StatefulSet controller on a real store + API server, with the simulated scheduler/kubelet of
 * workloads-sim.ts.
 */
import { resourceFor } from '../../src/api/scheme';
import type { KObject } from '../../src/api/types';
import { eventually, startTestCluster } from '../helpers/cluster';
import { ClusterSim, eventsFor, podsOf } from './workloads-sim';

jest.setTimeout(60_000);

const STS = resourceFor('apps', 'statefulsets')!;
const CR = resourceFor('apps', 'controllerrevisions')!;
const PVC = resourceFor('', 'persistentvolumeclaims')!;
const PODS = resourceFor('', 'pods')!;

type TC = Awaited<ReturnType<typeof startTestCluster>>;
let tc: TC;
let sim: ClusterSim;
const reg = () => tc.cluster.registry;

beforeAll(async () => {
  tc = await startTestCluster();
  sim = new ClusterSim(tc.cluster.registry);
  for (const n of ['node-1', 'node-2']) sim.addNode(n);
  sim.start();
});

afterAll(async () => {
  sim.stop();
  await tc.stop();
});

function sts(name: string, spec: Record<string, unknown> = {}, image = 'nginx:1'): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name },
    spec: {
      serviceName: `${name}-svc`,
      replicas: 3,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image }] } },
      ...spec,
    },
  };
}

const live = (set: string) => podsOf(reg(), 'default', (p) => p.metadata.labels?.app === set && !p.metadata.deletionTimestamp);
const names = (l: KObject[]) => l.map((p) => p.metadata.name).sort();

function revisionsOf(set: string): KObject[] {
  const s = reg().get(STS, 'default', set);
  return reg()
    .list(CR, 'default')
    .items.filter((r) => r.metadata.ownerReferences?.some((o) => o.uid === s.metadata.uid && o.controller))
    .sort((a, b) => a.revision - b.revision);
}

function statusOf(set: string) {
  return reg().get(STS, 'default', set).status ?? {};
}

describe('StatefulSet', () => {
  it('OrderedReady: creates ordinals one at a time with claims first, stable identity and revision labels', async () => {
    sim.notReady.add('default/web-0');
    reg().create(
      STS,
      'default',
      sts('web', {
        volumeClaimTemplates: [{ metadata: { name: 'www' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      }),
    );
    await eventually(() => expect(names(live('web'))).toEqual(['web-0']));
    await new Promise((r) => setTimeout(r, 300));
    expect(names(live('web'))).toEqual(['web-0']);
    const claim = reg().get(PVC, 'default', 'www-web-0');
    const pod0 = reg().get(PODS, 'default', 'web-0');
    expect(Number(claim.metadata.resourceVersion)).toBeLessThan(Number(pod0.metadata.resourceVersion));
    expect(claim.metadata.labels).toEqual({ app: 'web' });
    expect(claim.spec.resources.requests.storage).toBe('1Gi');

    sim.notReady.delete('default/web-0');
    await eventually(() => {
      expect(names(live('web'))).toEqual(['web-0', 'web-1', 'web-2']);
      expect(statusOf('web')).toMatchObject({ replicas: 3, readyReplicas: 3, availableReplicas: 3, currentReplicas: 3, updatedReplicas: 3 });
    });
    const creates = eventsFor(reg(), 'default', 'web').filter((e) => e.reason === 'SuccessfulCreate').map((e) => e.message);
    expect(creates).toEqual([
      'create Claim www-web-0 Pod web-0 in StatefulSet web success',
      'create Pod web-0 in StatefulSet web successful',
      'create Claim www-web-1 Pod web-1 in StatefulSet web success',
      'create Pod web-1 in StatefulSet web successful',
      'create Claim www-web-2 Pod web-2 in StatefulSet web success',
      'create Pod web-2 in StatefulSet web successful',
    ]);
    const revs = revisionsOf('web');
    expect(revs.length).toBe(1);
    expect(revs[0].revision).toBe(1);
    expect(revs[0].metadata.name).toMatch(/^web-[a-z0-9]+$/);
    expect(revs[0].metadata.labels?.app).toBe('web');
    expect(revs[0].data.spec.template.$patch).toBe('replace');
    const st = statusOf('web');
    expect(st.currentRevision).toBe(revs[0].metadata.name);
    expect(st.updateRevision).toBe(revs[0].metadata.name);
    expect(st.observedGeneration).toBe(1);
    expect(st.collisionCount).toBe(0);
    const p1 = reg().get(PODS, 'default', 'web-1');
    expect(p1.metadata.labels).toEqual({ app: 'web', 'statefulset.kubernetes.io/pod-name': 'web-1', 'apps.kubernetes.io/pod-index': '1', 'controller-revision-hash': revs[0].metadata.name });
    expect(p1.spec.hostname).toBe('web-1');
    expect(p1.spec.subdomain).toBe('web-svc');
    expect(p1.spec.volumes).toContainEqual({ name: 'www', persistentVolumeClaim: { claimName: 'www-web-1' } });
    expect(p1.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'StatefulSet', name: 'web', controller: true, blockOwnerDeletion: true });
  });

  it('scales down in reverse ordinal order and keeps the claims', async () => {
    const order: string[] = [];
    const stop = reg().watch(PODS, 'default', reg().store.revision(), (ev) => {
      if (ev.type === 'DELETED' && ev.object.metadata.labels?.app === 'web') order.push(ev.object.metadata.name!);
    });
    reg().guaranteedUpdate(STS, 'default', 'web', (c) => ({ ...c, spec: { ...c.spec, replicas: 1 } }));
    await eventually(() => {
      expect(names(live('web'))).toEqual(['web-0']);
      expect(order).toEqual(['web-2', 'web-1']);
      expect(statusOf('web')).toMatchObject({ replicas: 1, readyReplicas: 1 });
    });
    stop();
    for (const c of ['www-web-0', 'www-web-1', 'www-web-2']) expect(reg().tryGet(PVC, 'default', c)).toBeDefined();
    reg().guaranteedUpdate(STS, 'default', 'web', (c) => ({ ...c, spec: { ...c.spec, replicas: 3 } }));
    await eventually(() => expect(statusOf('web')).toMatchObject({ replicas: 3, readyReplicas: 3 }));
  });

  it('RollingUpdate with partition updates the highest ordinals first, then completes; undo reuses revision data', async () => {
    const [rev1] = revisionsOf('web');
    reg().guaranteedUpdate(STS, 'default', 'web', (c) => {
      c.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 1 } };
      c.spec.template.spec.containers[0].image = 'nginx:2';
      return c;
    });
    await eventually(() => {
      const s = statusOf('web');
      expect(s.updatedReplicas).toBe(2);
      expect(s.readyReplicas).toBe(3);
      const images = Object.fromEntries(live('web').map((p) => [p.metadata.name, p.spec.containers[0].image]));
      expect(images).toEqual({ 'web-0': 'nginx:1', 'web-1': 'nginx:2', 'web-2': 'nginx:2' });
    }, 20_000);
    const deletes = eventsFor(reg(), 'default', 'web').filter((e) => e.reason === 'SuccessfulDelete').map((e) => e.message);
    expect(deletes.slice(-2)).toEqual(['delete Pod web-2 in StatefulSet web successful', 'delete Pod web-1 in StatefulSet web successful']);
    const revs = revisionsOf('web');
    expect(revs.map((r) => r.revision)).toEqual([1, 2]);
    let s = statusOf('web');
    expect(s.currentRevision).toBe(rev1.metadata.name);
    expect(s.updateRevision).toBe(revs[1].metadata.name);

    reg().guaranteedUpdate(STS, 'default', 'web', (c) => {
      c.spec.updateStrategy.rollingUpdate.partition = 0;
      return c;
    });
    await eventually(() => {
      const st = statusOf('web');
      expect(st).toMatchObject({ updatedReplicas: 3, currentReplicas: 3, readyReplicas: 3, currentRevision: revs[1].metadata.name, updateRevision: revs[1].metadata.name });
    }, 20_000);

    // kubectl rollout undo statefulset: a strategic merge patch with revision 1's data
    await tc.client.request('PATCH', '/apis/apps/v1/namespaces/default/statefulsets/web', rev1.data, { 'Content-Type': 'application/strategic-merge-patch+json' });
    await eventually(() => {
      const st = statusOf('web');
      expect(st).toMatchObject({ updatedReplicas: 3, readyReplicas: 3, currentRevision: rev1.metadata.name, updateRevision: rev1.metadata.name });
      expect(live('web').every((p) => p.spec.containers[0].image === 'nginx:1')).toBe(true);
    }, 20_000);
    const after = revisionsOf('web');
    expect(after.length).toBe(2);
    expect(after.find((r) => r.metadata.name === rev1.metadata.name)!.revision).toBe(3);
    s = statusOf('web');
    expect(s.observedGeneration).toBe(reg().get(STS, 'default', 'web').metadata.generation);
  });

  it('recreates a failed pod', async () => {
    const before = reg().get(PODS, 'default', 'web-1');
    sim.failPod('default', 'web-1');
    await eventually(() => {
      const p = reg().get(PODS, 'default', 'web-1');
      expect(p.metadata.uid).not.toBe(before.metadata.uid);
      expect(statusOf('web').readyReplicas).toBe(3);
    });
    expect(eventsFor(reg(), 'default', 'web')).toContainEqual({ type: 'Warning', reason: 'RecreatingFailedPod', message: 'StatefulSet default/web is recreating failed Pod web-1' });
  });

  it('Parallel creates every ordinal without waiting; OnDelete updates only recreated pods', async () => {
    sim.notReady.add('default/par-0');
    reg().create(STS, 'default', sts('par', { podManagementPolicy: 'Parallel', updateStrategy: { type: 'OnDelete' } }));
    await eventually(() => expect(names(live('par'))).toEqual(['par-0', 'par-1', 'par-2']));
    sim.notReady.delete('default/par-0');
    await eventually(() => expect(statusOf('par').readyReplicas).toBe(3));
    reg().guaranteedUpdate(STS, 'default', 'par', (c) => {
      c.spec.template.spec.containers[0].image = 'nginx:2';
      return c;
    });
    await eventually(() => expect(statusOf('par').updateRevision).not.toBe(statusOf('par').currentRevision));
    await new Promise((r) => setTimeout(r, 300));
    expect(live('par').every((p) => p.spec.containers[0].image === 'nginx:1')).toBe(true);
    reg().delete(PODS, 'default', 'par-1');
    await eventually(() => {
      const p = reg().get(PODS, 'default', 'par-1');
      expect(p.metadata.deletionTimestamp).toBeUndefined();
      expect(p.spec.containers[0].image).toBe('nginx:2');
      expect(statusOf('par')).toMatchObject({ updatedReplicas: 1, currentReplicas: 2, readyReplicas: 3 });
    });
  });

  it('persistentVolumeClaimRetentionPolicy Delete makes the claims owned by the set', async () => {
    reg().create(
      STS,
      'default',
      sts('db', {
        replicas: 1,
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      }),
    );
    await eventually(() => expect(statusOf('db').readyReplicas).toBe(1));
    const set = reg().get(STS, 'default', 'db');
    expect(reg().get(PVC, 'default', 'data-db-0').metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: set.metadata.uid }]);
    // the default policy (Retain) leaves web's claims without owners
    expect(reg().get(PVC, 'default', 'www-web-0').metadata.ownerReferences).toBeUndefined();
  });
});
