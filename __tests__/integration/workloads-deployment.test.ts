/**
 * ReplicaSet and Deployment controllers on a real store + API server, with the simulated
 * scheduler/kubelet of workloads-sim.ts marking pods Running/Ready.
 */
import { resourceFor } from '../../src/api/scheme';
import type { KObject } from '../../src/api/types';
import { eventually, startTestCluster } from '../helpers/cluster';
import { ClusterSim, eventsFor, podsOf } from './workloads-sim';

jest.setTimeout(60_000);

const RS = resourceFor('apps', 'replicasets')!;
const DEP = resourceFor('apps', 'deployments')!;
const PODS = resourceFor('', 'pods')!;

type TC = Awaited<ReturnType<typeof startTestCluster>>;
let tc: TC;
let sim: ClusterSim;

beforeAll(async () => {
  tc = await startTestCluster();
  sim = new ClusterSim(tc.cluster.registry);
  for (const n of ['node-1', 'node-2', 'node-3']) sim.addNode(n);
  sim.start();
});

afterAll(async () => {
  sim.stop();
  await tc.stop();
});

const reg = () => tc.cluster.registry;

function deployment(name: string, extra: Record<string, unknown> = {}, image = 'nginx:1.25'): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image }] } },
      ...extra,
    },
  };
}

function rsOf(name: string): KObject[] {
  const d = reg().get(DEP, 'default', name);
  return reg()
    .list(RS, 'default')
    .items.filter((rs) => rs.metadata.ownerReferences?.some((r) => r.uid === d.metadata.uid));
}

function rolloutComplete(name: string): KObject {
  const d = reg().get(DEP, 'default', name);
  const s = d.status ?? {};
  const n = d.spec.replicas;
  if (!(d.metadata.generation! <= (s.observedGeneration ?? 0))) throw new Error('generation not observed');
  if ((s.updatedReplicas ?? 0) < n) throw new Error(`updated ${s.updatedReplicas}/${n}`);
  if ((s.replicas ?? 0) > (s.updatedReplicas ?? 0)) throw new Error(`old replicas pending: ${s.replicas} > ${s.updatedReplicas}`);
  if ((s.availableReplicas ?? 0) < (s.updatedReplicas ?? 0)) throw new Error(`available ${s.availableReplicas}`);
  return d;
}

describe('ReplicaSet', () => {
  const rs = (name: string, replicas: number): KObject => ({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name },
    spec: { replicas, selector: { matchLabels: { rs: name } }, template: { metadata: { labels: { rs: name, tier: 'x' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
  });

  it('creates owned pods, reports status and replaces a deleted pod', async () => {
    const created = reg().create(RS, 'default', rs('frontend', 3));
    const pods = await eventually(() => {
      const p = podsOf(reg(), 'default', (x) => x.metadata.labels?.rs === 'frontend' && !x.metadata.deletionTimestamp);
      if (p.length !== 3) throw new Error(`${p.length} pods`);
      return p;
    });
    for (const p of pods) {
      expect(p.metadata.name).toMatch(/^frontend-[a-z0-9]{5}$/);
      expect(p.metadata.labels).toEqual({ rs: 'frontend', tier: 'x' });
      expect(p.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'frontend', uid: created.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    }
    await eventually(() => {
      const s = reg().get(RS, 'default', 'frontend').status;
      expect(s).toMatchObject({ replicas: 3, fullyLabeledReplicas: 3, readyReplicas: 3, availableReplicas: 3, observedGeneration: 1 });
    });
    const ev = eventsFor(reg(), 'default', 'frontend');
    expect(ev.filter((e) => e.reason === 'SuccessfulCreate').length).toBe(3);
    expect(ev.find((e) => e.reason === 'SuccessfulCreate')!.message).toMatch(/^Created pod: frontend-[a-z0-9]{5}$/);

    const victim = pods[0].metadata.name!;
    reg().delete(PODS, 'default', victim);
    await eventually(() => {
      const p = podsOf(reg(), 'default', (x) => x.metadata.labels?.rs === 'frontend' && !x.metadata.deletionTimestamp);
      expect(p.length).toBe(3);
      expect(p.map((x) => x.metadata.name)).not.toContain(victim);
      expect(reg().get(RS, 'default', 'frontend').status.readyReplicas).toBe(3);
    });
  });

  it('scales down deleting not-ready pods first, and never double-creates', async () => {
    reg().create(RS, 'default', rs('scaler', 4));
    const pods = await eventually(() => {
      const p = podsOf(reg(), 'default', (x) => x.metadata.labels?.rs === 'scaler');
      if (p.length !== 4 || reg().get(RS, 'default', 'scaler').status?.readyReplicas !== 4) throw new Error('not ready');
      return p;
    });
    const sick = pods[2].metadata.name!;
    sim.notReady.add(`default/${sick}`);
    await eventually(() => expect(reg().get(RS, 'default', 'scaler').status.readyReplicas).toBe(3));
    reg().guaranteedUpdate(RS, 'default', 'scaler', (cur) => ({ ...cur, spec: { ...cur.spec, replicas: 3 } }));
    await eventually(() => {
      const left = podsOf(reg(), 'default', (x) => x.metadata.labels?.rs === 'scaler');
      expect(left.map((x) => x.metadata.name).sort()).toEqual(pods.map((x) => x.metadata.name).filter((n) => n !== sick).sort());
    });
    const ev = eventsFor(reg(), 'default', 'scaler');
    expect(ev.filter((e) => e.reason === 'SuccessfulCreate').length).toBe(4);
    expect(ev).toContainEqual({ reason: 'SuccessfulDelete', message: `Deleted pod: ${sick}`, type: 'Normal' });
    sim.notReady.delete(`default/${sick}`);
  });

  it('counts pods as available only after minReadySeconds, re-checking on its own', async () => {
    const r = rs('slow', 2);
    r.spec.minReadySeconds = 3;
    reg().create(RS, 'default', r);
    await eventually(() => expect(reg().get(RS, 'default', 'slow').status).toMatchObject({ replicas: 2, readyReplicas: 2 }));
    const readyAt = Date.now();
    expect(reg().get(RS, 'default', 'slow').status.availableReplicas).toBeUndefined();
    await eventually(() => expect(reg().get(RS, 'default', 'slow').status.availableReplicas).toBe(2), 10_000);
    expect(Date.now() - readyAt).toBeGreaterThanOrEqual(500);
  });

  it('adopts matching orphans and releases pods whose labels stop matching', async () => {
    const orphan = reg().create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'orphan-1', labels: { rs: 'adopter', tier: 'x' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    const owner = reg().create(RS, 'default', rs('adopter', 2));
    await eventually(() => {
      const o = reg().get(PODS, 'default', 'orphan-1');
      expect(o.metadata.ownerReferences?.[0]?.uid).toBe(owner.metadata.uid);
      expect(podsOf(reg(), 'default', (x) => x.metadata.labels?.rs === 'adopter').length).toBe(2);
    });
    expect(orphan.metadata.uid).toBe(reg().get(PODS, 'default', 'orphan-1').metadata.uid);
    reg().guaranteedUpdate(PODS, 'default', 'orphan-1', (cur) => ({ ...cur, metadata: { ...cur.metadata, labels: { rs: 'other' } } }));
    await eventually(() => {
      expect(reg().get(PODS, 'default', 'orphan-1').metadata.ownerReferences).toBeUndefined();
      expect(podsOf(reg(), 'default', (x) => x.metadata.labels?.rs === 'adopter' && !x.metadata.deletionTimestamp).length).toBe(2);
    });
  });
});

describe('Deployment', () => {
  it('creates <name>-<pod-template-hash>, revision annotations and completes the rollout', async () => {
    reg().create(DEP, 'default', deployment('web'));
    const d = await eventually(() => rolloutComplete('web'));
    const [rs] = rsOf('web');
    const hash = rs.metadata.labels!['pod-template-hash'];
    expect(hash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{6,10}$/);
    expect(rs.metadata.name).toBe(`web-${hash}`);
    expect(rs.spec.selector.matchLabels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(rs.spec.template.metadata.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(rs.metadata.annotations).toMatchObject({ 'deployment.kubernetes.io/revision': '1', 'deployment.kubernetes.io/desired-replicas': '3', 'deployment.kubernetes.io/max-replicas': '4' });
    expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('1');
    expect(d.status).toMatchObject({ replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, observedGeneration: 1 });
    expect(d.status.unavailableReplicas).toBeUndefined();
    const conds = Object.fromEntries(d.status.conditions.map((c: { type: string; reason: string; status: string }) => [c.type, `${c.status}/${c.reason}`]));
    expect(conds).toEqual({ Available: 'True/MinimumReplicasAvailable', Progressing: 'True/NewReplicaSetAvailable' });
    for (const p of podsOf(reg(), 'default', (x) => x.metadata.labels?.app === 'web')) expect(p.metadata.labels!['pod-template-hash']).toBe(hash);
    expect(eventsFor(reg(), 'default', 'web')).toContainEqual({ type: 'Normal', reason: 'ScalingReplicaSet', message: `Scaled up replica set web-${hash} from 0 to 3` });
  });

  it('rolls out a new image within maxSurge/maxUnavailable, then rolls back with a JSON patch like kubectl rollout undo', async () => {
    reg().create(DEP, 'default', deployment('roll', { replicas: 4, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } }));
    await eventually(() => rolloutComplete('roll'));
    const [rs1] = rsOf('roll');
    const bounds = sim.track((p) => p.metadata.labels?.app === 'roll');
    reg().guaranteedUpdate(DEP, 'default', 'roll', (cur) => {
      cur.metadata.annotations = { ...(cur.metadata.annotations ?? {}), 'kubernetes.io/change-cause': 'image 1.26' };
      cur.spec.template.spec.containers[0].image = 'nginx:1.26';
      return cur;
    });
    await eventually(() => {
      const d = rolloutComplete('roll');
      expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
    }, 20_000);
    expect(bounds.maxTotal).toBeLessThanOrEqual(5);
    expect(bounds.minAvailable).toBeGreaterThanOrEqual(3);
    const all = rsOf('roll');
    expect(all.length).toBe(2);
    const rs2 = all.find((r) => r.metadata.uid !== rs1.metadata.uid)!;
    expect(rs2.metadata.annotations).toMatchObject({ 'deployment.kubernetes.io/revision': '2', 'kubernetes.io/change-cause': 'image 1.26' });
    expect(reg().get(RS, 'default', rs1.metadata.name!).spec.replicas).toBe(0);
    const ev = eventsFor(reg(), 'default', 'roll').filter((e) => e.reason === 'ScalingReplicaSet').map((e) => e.message);
    expect(ev).toContain(`Scaled up replica set ${rs2.metadata.name} from 0 to 1`);
    expect(ev.some((m) => m.startsWith(`Scaled down replica set ${rs1.metadata.name} from 4 to`))).toBe(true);

    // kubectl rollout undo: the old ReplicaSet's template (hash label removed) and annotations
    const old = reg().get(RS, 'default', rs1.metadata.name!);
    const template = JSON.parse(JSON.stringify(old.spec.template));
    delete template.metadata.labels['pod-template-hash'];
    template.metadata.creationTimestamp = null; // kubectl marshals the Go struct: zero time is null
    const dep = reg().get(DEP, 'default', 'roll');
    const annotations: Record<string, string> = {};
    for (const [k, v] of Object.entries(dep.metadata.annotations ?? {})) if (k.startsWith('deployment.kubernetes.io/')) annotations[k] = v;
    for (const [k, v] of Object.entries(old.metadata.annotations ?? {})) if (!k.startsWith('deployment.kubernetes.io/')) annotations[k] = v;
    const resp = await tc.client.request('PATCH', '/apis/apps/v1/namespaces/default/deployments/roll', [
      { op: 'replace', path: '/spec/template', value: template },
      { op: 'replace', path: '/metadata/annotations', value: annotations },
    ], { 'Content-Type': 'application/json-patch+json' });
    expect(resp).toBeTruthy();
    await eventually(() => {
      const d = rolloutComplete('roll');
      expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('3');
    }, 20_000);
    const after = rsOf('roll');
    expect(after.length).toBe(2);
    const reused = reg().get(RS, 'default', rs1.metadata.name!);
    expect(reused.spec.replicas).toBe(4);
    expect(reused.metadata.annotations).toMatchObject({ 'deployment.kubernetes.io/revision': '3', 'deployment.kubernetes.io/revision-history': '1' });
    expect(reg().get(RS, 'default', rs2.metadata.name!).spec.replicas).toBe(0);
  });

  it('scales proportionally, honours revisionHistoryLimit and restarts via a template annotation', async () => {
    reg().create(DEP, 'default', deployment('hist', { replicas: 2, revisionHistoryLimit: 1 }));
    await eventually(() => rolloutComplete('hist'));
    for (let i = 1; i <= 3; i++) {
      reg().guaranteedUpdate(DEP, 'default', 'hist', (cur) => {
        cur.spec.template.metadata.annotations = { 'kubectl.kubernetes.io/restartedAt': `2024-01-01T00:00:0${i}Z` };
        return cur;
      });
      await eventually(() => {
        const d = rolloutComplete('hist');
        expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe(String(i + 1));
      }, 20_000);
    }
    await eventually(() => expect(rsOf('hist').length).toBe(2));
    const revs = rsOf('hist').map((r) => Number(r.metadata.annotations!['deployment.kubernetes.io/revision'])).sort();
    expect(revs).toEqual([3, 4]);
    // kubectl scale
    await tc.client.request('PATCH', '/apis/apps/v1/namespaces/default/deployments/hist/scale', { spec: { replicas: 5 } }, { 'Content-Type': 'application/merge-patch+json' });
    await eventually(() => {
      const d = rolloutComplete('hist');
      expect(d.status.availableReplicas).toBe(5);
      expect(podsOf(reg(), 'default', (p) => p.metadata.labels?.app === 'hist' && !p.metadata.deletionTimestamp).length).toBe(5);
    });
    const newRS = rsOf('hist').find((r) => r.spec.replicas === 5)!;
    expect(newRS.metadata.annotations?.['deployment.kubernetes.io/desired-replicas']).toBe('5');
  });

  it('pauses and resumes: no rollout while paused, conditions DeploymentPaused/DeploymentResumed', async () => {
    reg().create(DEP, 'default', deployment('pz', { replicas: 2 }));
    await eventually(() => rolloutComplete('pz'));
    reg().guaranteedUpdate(DEP, 'default', 'pz', (cur) => ({ ...cur, spec: { ...cur.spec, paused: true } }));
    await eventually(() => {
      const c = reg().get(DEP, 'default', 'pz').status.conditions.find((x: { type: string }) => x.type === 'Progressing');
      expect(c).toMatchObject({ status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' });
    });
    reg().guaranteedUpdate(DEP, 'default', 'pz', (cur) => {
      cur.spec.template.spec.containers[0].image = 'nginx:2';
      return cur;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(rsOf('pz').length).toBe(1);
    expect(reg().get(DEP, 'default', 'pz').status.observedGeneration).toBe(reg().get(DEP, 'default', 'pz').metadata.generation);
    reg().guaranteedUpdate(DEP, 'default', 'pz', (cur) => ({ ...cur, spec: { ...cur.spec, paused: false } }));
    await eventually(() => {
      rolloutComplete('pz');
      expect(rsOf('pz').length).toBe(2);
    }, 20_000);
  });

  it('reports ProgressDeadlineExceeded when the new pods never become ready', async () => {
    // created with the default deadline (600 s): the controller has a re-check pending far ahead,
    // which the shortened deadline must override
    reg().create(DEP, 'default', deployment('stuck', { replicas: 2 }));
    await eventually(() => rolloutComplete('stuck'));
    reg().guaranteedUpdate(DEP, 'default', 'stuck', (cur) => {
      cur.spec.template.spec.containers[0].image = 'bad/image:nope';
      return cur;
    });
    await eventually(() => expect(rsOf('stuck').length).toBe(2));
    reg().guaranteedUpdate(DEP, 'default', 'stuck', (cur) => ({ ...cur, spec: { ...cur.spec, progressDeadlineSeconds: 2 } }));
    await eventually(() => {
      const d = reg().get(DEP, 'default', 'stuck');
      const c = d.status.conditions.find((x: { type: string }) => x.type === 'Progressing');
      expect(c).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
      expect(c.message).toMatch(/^ReplicaSet "stuck-[a-z0-9]+" has timed out progressing\.$/);
    }, 15_000);
    // the old pods stay available (maxUnavailable 25% of 2 rounds down to 0)
    expect(reg().get(DEP, 'default', 'stuck').status.availableReplicas).toBe(2);
  });

  it('Recreate: old pods are gone before new ones are created', async () => {
    reg().create(DEP, 'default', deployment('rec', { replicas: 2, strategy: { type: 'Recreate' } }));
    await eventually(() => rolloutComplete('rec'));
    const [old] = rsOf('rec');
    let overlap = false;
    const t = setInterval(() => {
      const pods = podsOf(reg(), 'default', (p) => p.metadata.labels?.app === 'rec');
      const hashes = new Set(pods.map((p) => p.metadata.labels!['pod-template-hash']));
      if (hashes.size > 1) overlap = true;
    }, 5);
    reg().guaranteedUpdate(DEP, 'default', 'rec', (cur) => {
      cur.spec.template.spec.containers[0].image = 'nginx:9';
      return cur;
    });
    await eventually(() => {
      rolloutComplete('rec');
      expect(rsOf('rec').length).toBe(2);
    }, 20_000);
    clearInterval(t);
    expect(overlap).toBe(false);
    expect(reg().get(RS, 'default', old.metadata.name!).spec.replicas).toBe(0);
  });
});
