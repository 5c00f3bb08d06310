import type { KObject } from '../../src/api/types';
import { disruptionController } from '../../src/controllers/disruption/disruption-controller';
import { admitEviction } from '../../src/controllers/disruption/eviction';
import { ApiError } from '../../src/util/errors';
import { Bench, RI } from './jobs-harness';

function pod(name: string, labels: Record<string, string>, owner?: KObject): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      labels,
      ...(owner ? { ownerReferences: [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name!, uid: owner.metadata.uid!, controller: true }] } : {}),
    },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
  };
}

function pdb(name: string, spec: Record<string, unknown>): KObject {
  return { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name }, spec };
}

describe('disruption controller and eviction admission (ManualClock, real store)', () => {
  let b: Bench;
  beforeEach(async () => {
    b = new Bench();
    await b.start(disruptionController(b.ctx));
  });
  afterEach(() => b.stop());

  const runningPods = (n: number, labels: Record<string, string>, owner?: KObject, prefix = 'p'): KObject[] => {
    const out: KObject[] = [];
    for (let i = 0; i < n; i++) {
      const p = b.registry.create(RI.pods, 'default', pod(`${prefix}${i}`, labels, owner));
      b.bind(p, 'node-1');
      out.push(b.setPodStatus(p, 'Running'));
    }
    return out;
  };
  const status = (name: string) => b.get(RI.pdbs, 'default', name).status;
  const evict = (p: KObject): number => {
    try {
      admitEviction(b.registry, b.get(RI.pods, 'default', p.metadata.name!), { now: b.clock.now() });
      b.registry.delete(RI.pods, 'default', p.metadata.name!);
      return 201;
    } catch (e) {
      return (e as ApiError).code;
    }
  };

  test('integer minAvailable: status fields and conditions follow pod readiness', async () => {
    const pods = runningPods(3, { app: 'web' });
    b.registry.create(RI.pdbs, 'default', pdb('web', { minAvailable: 2, selector: { matchLabels: { app: 'web' } } }));
    await b.settle();
    expect(status('web')).toEqual({
      disruptionsAllowed: 1,
      currentHealthy: 3,
      desiredHealthy: 2,
      expectedPods: 3,
      observedGeneration: 1,
      conditions: [{ type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods', message: '', observedGeneration: 1, lastTransitionTime: '2024-01-01T00:00:00Z' }],
    });
    b.setPodStatus(pods[0], 'Running', { ready: false });
    await b.settle();
    expect(status('web')).toMatchObject({ disruptionsAllowed: 0, currentHealthy: 2 });
    expect(status('web').conditions[0]).toMatchObject({ status: 'False', reason: 'InsufficientPods' });
  });

  test('eviction: admitted while allowed, decrements and records disruptedPods, then 429', async () => {
    const pods = runningPods(3, { app: 'db' });
    b.registry.create(RI.pdbs, 'default', pdb('db', { maxUnavailable: 1, selector: { matchLabels: { app: 'db' } } }));
    await b.settle();
    // maxUnavailable needs controllers: these pods are unmanaged
    expect(status('db')).toMatchObject({ disruptionsAllowed: 0, expectedPods: 0 });
    expect(b.reasons('db')).toContain('UnmanagedPods');
    b.registry.delete(RI.pdbs, 'default', 'db');
    b.registry.create(RI.pdbs, 'default', pdb('db', { minAvailable: 2, selector: { matchLabels: { app: 'db' } } }));
    await b.settle();
    // two evictions in a row before the controller runs: the second is refused
    admitEviction(b.registry, pods[0], { now: b.clock.now() });
    expect(status('db')).toMatchObject({ disruptionsAllowed: 0, disruptedPods: { p0: '2024-01-01T00:00:00Z' } });
    let err: ApiError | undefined;
    try {
      admitEviction(b.registry, pods[1], { now: b.clock.now() });
    } catch (e) {
      err = e as ApiError;
    }
    expect(err?.code).toBe(429);
    expect(err?.toStatus()).toMatchObject({
      reason: 'TooManyRequests',
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
      details: { causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget db needs 2 healthy pods and has 3 currently' }] },
    });
    // the pod was never deleted: after the 2-minute timeout it counts again
    await b.settle();
    expect(status('db')).toMatchObject({ currentHealthy: 2, disruptionsAllowed: 0 });
    await b.advance(120_001);
    expect(status('db')).toMatchObject({ currentHealthy: 3, disruptionsAllowed: 1 });
    expect(status('db').disruptedPods).toBeUndefined();
    expect(b.reasons('p0')).toContain('NotDeleted');
  });

  test('percentages count the controllers’ scale (Deployment via ReplicaSet)', async () => {
    const d = b.registry.create(RI.deployments, 'default', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api' },
      spec: { replicas: 4, selector: { matchLabels: { app: 'api' } }, template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
    });
    const rs = b.registry.create(RI.replicasets, 'default', {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'api-abc', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'api', uid: d.metadata.uid!, controller: true }] },
      spec: { replicas: 4, selector: { matchLabels: { app: 'api' } }, template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
    });
    runningPods(3, { app: 'api' }, rs); // one replica missing
    b.registry.create(RI.pdbs, 'default', pdb('api', { maxUnavailable: '25%', selector: { matchLabels: { app: 'api' } } }));
    await b.settle();
    expect(status('api')).toMatchObject({ expectedPods: 4, desiredHealthy: 3, currentHealthy: 3, disruptionsAllowed: 0 });
    b.registry.guaranteedUpdate(RI.deployments, 'default', 'api', (o) => ({ ...o, spec: { ...o.spec, replicas: 8 } }));
    await b.settle();
    expect(status('api')).toMatchObject({ expectedPods: 8, desiredHealthy: 6 });
    b.registry.create(RI.pdbs, 'default', pdb('api2', { minAvailable: '50%', selector: { matchLabels: { app: 'none' } } }));
    await b.settle();
    expect(status('api2')).toMatchObject({ expectedPods: 0, desiredHealthy: 0, disruptionsAllowed: 0 });
    expect(b.reasons('api2')).toContain('NoPods');
  });

  test('pods that are Pending, terminal or unready (healthy budget) are evictable; AlwaysAllow', async () => {
    const pods = runningPods(3, { app: 'q' });
    b.registry.create(RI.pdbs, 'default', pdb('q', { minAvailable: 3, selector: { matchLabels: { app: 'q' } } }));
    await b.settle();
    expect(evict(pods[0])).toBe(429);
    const pending = b.registry.create(RI.pods, 'default', pod('pending', { app: 'q' }));
    expect(evict(pending)).toBe(201);
    // an unready pod while the budget is unhealthy: refused (IfHealthyBudget)
    b.setPodStatus(pods[1], 'Running', { ready: false });
    await b.settle();
    expect(evict(pods[1])).toBe(429);
    b.registry.guaranteedUpdate(RI.pdbs, 'default', 'q', (o) => ({ ...o, spec: { ...o.spec, unhealthyPodEvictionPolicy: 'AlwaysAllow' } }));
    await b.settle();
    expect(evict(pods[1])).toBe(201);
    b.setPodStatus(pods[2], 'Succeeded');
    expect(evict(pods[2])).toBe(201);
  });

  test('a budget not yet observed (spec changed) refuses with "still being processed"', async () => {
    const pods = runningPods(2, { app: 'g' });
    b.registry.create(RI.pdbs, 'default', pdb('g', { minAvailable: 0, selector: { matchLabels: { app: 'g' } } }));
    // no settle: the controller has not run
    let err: ApiError | undefined;
    try {
      admitEviction(b.registry, pods[0]);
    } catch (e) {
      err = e as ApiError;
    }
    expect(err?.details?.causes?.[0].message).toBe('The disruption budget g is still being processed by the server.');
    await b.settle();
    expect(evict(pods[0])).toBe(201);
  });

  test('two budgets selecting one pod: 500', async () => {
    const [p] = runningPods(1, { app: 'two' });
    b.registry.create(RI.pdbs, 'default', pdb('a', { minAvailable: 0, selector: { matchLabels: { app: 'two' } } }));
    b.registry.create(RI.pdbs, 'default', pdb('b', { minAvailable: 0, selector: {} }));
    await b.settle();
    expect(evict(p)).toBe(500);
  });
});
