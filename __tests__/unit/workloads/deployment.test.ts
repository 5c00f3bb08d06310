import type { KObject } from '../../../src/api/types';
import {
  MAX_REPLICAS_ANNOTATION,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  calculateStatus,
  deploymentComplete,
  deploymentProgressing,
  deploymentTimedOut,
  equalIgnoreHash,
  findActiveOrLatest,
  findNewReplicaSet,
  getProportion,
  maxSurge,
  maxUnavailable,
  newCondition,
  newRSNewReplicas,
  planNewReplicaSetScale,
  planOldReplicaSetsScaleDown,
  proportionalScale,
  resolveFenceposts,
  serializeStatus,
  setCondition,
  setNewReplicaSetAnnotations,
  type DeploymentStatus,
} from '../../../src/controllers/deployment/util';

function dep(replicas: number, strategy: Record<string, unknown> = { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } }, extra: Partial<KObject> = {}): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd', namespace: 'default', uid: 'd-uid', generation: 1, annotations: {}, ...(extra.metadata ?? {}) },
    spec: { replicas, strategy, progressDeadlineSeconds: 600, template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'c', image: 'v1' }] } }, ...(extra.spec ?? {}) },
    status: extra.status ?? {},
  };
}

function rs(name: string, replicas: number, available = replicas, o: { created?: string; maxReplicas?: number; actual?: number } = {}): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name,
      namespace: 'default',
      uid: name,
      creationTimestamp: o.created ?? '2024-01-01T00:00:00Z',
      annotations: o.maxReplicas !== undefined ? { [MAX_REPLICAS_ANNOTATION]: String(o.maxReplicas) } : {},
    },
    spec: { replicas },
    status: { replicas: o.actual ?? replicas, readyReplicas: available, availableReplicas: available },
  };
}

const ru = (maxSurge: number | string, maxUnavailable: number | string) => ({ type: 'RollingUpdate', rollingUpdate: { maxSurge, maxUnavailable } });

describe('fenceposts', () => {
  it.each([
    ['0%', '0%', 0, 0, 1],
    ['39%', '39%', 10, 4, 3],
    ['25%', '25%', 10, 3, 2],
    ['25%', '25%', 1, 1, 0],
    [0, 0, 5, 0, 1],
    [2, 0, 5, 2, 0],
    ['100%', 0, 3, 3, 0],
  ])('maxSurge %p maxUnavailable %p of %p → surge %p, unavailable %p', (s, u, n, ws, wu) => {
    expect(resolveFenceposts(s, u, n as number)).toEqual({ surge: ws, unavailable: wu });
  });

  it('rejects non-percentage strings', () => {
    expect(() => resolveFenceposts('oops', '25%', 10)).toThrow();
  });

  it('Recreate has neither surge nor unavailability; unavailability is capped at replicas', () => {
    expect(maxSurge(dep(3, { type: 'Recreate' }))).toBe(0);
    expect(maxUnavailable(dep(3, { type: 'Recreate' }))).toBe(0);
    expect(maxUnavailable(dep(2, ru(0, 5)))).toBe(2);
    expect(maxUnavailable(dep(0, ru(0, 5)))).toBe(0);
  });
});

describe('NewRSNewReplicas', () => {
  it.each([
    // replicas, maxSurge, new RS size, old RS sizes, expected new size
    [1, 1, 0, [1], 1],
    [1, 1, 1, [1], 1],
    [3, 1, 0, [3], 1],
    [3, 1, 1, [2], 2],
    [10, '25%', 0, [10], 3],
    [10, '25%', 3, [8], 5],
    [3, 0, 0, [3], 0],
  ])('replicas %p surge %p new %p olds %p → %p', (n, s, cur, olds, want) => {
    const d = dep(n as number, ru(s as number, 1));
    const newRS = rs('new', cur as number);
    expect(newRSNewReplicas(d, [...(olds as number[]).map((x, i) => rs(`old${i}`, x)), newRS], newRS)).toBe(want);
  });

  it('Recreate scales straight to replicas', () => {
    expect(newRSNewReplicas(dep(5, { type: 'Recreate' }), [rs('new', 0)], rs('new', 0))).toBe(5);
  });
});

describe('old ReplicaSet scale-down', () => {
  it('removes unavailable old replicas first, then available ones down to minAvailable', () => {
    const d = dep(10, ru(3, 2));
    const old = rs('old', 10, 8);
    const newRS = rs('new', 3, 0);
    // allPods 13, minAvailable 8, new unavailable 3 → maxScaledDown 2; both are the old RS's unavailable ones
    expect(planOldReplicaSetsScaleDown(d, [old, newRS], [old], newRS)).toEqual([{ name: 'old', from: 10, to: 8 }]);
  });

  it('scales down available old pods once the new ones are available', () => {
    const d = dep(4, ru(1, 1));
    const old = rs('old', 4, 4);
    const newRS = rs('new', 1, 1);
    // available 5, minAvailable 3 → 2 may go
    expect(planOldReplicaSetsScaleDown(d, [old, newRS], [old], newRS)).toEqual([{ name: 'old', from: 4, to: 2 }]);
  });

  it('does nothing while the new pods are not available and the budget is spent', () => {
    const d = dep(4, ru(1, 0));
    const old = rs('old', 4, 4);
    const newRS = rs('new', 1, 0);
    expect(planOldReplicaSetsScaleDown(d, [old, newRS], [old], newRS)).toEqual([]);
  });

  it('takes from the oldest ReplicaSet first', () => {
    const d = dep(4, ru(0, 2));
    const a = rs('a', 2, 2, { created: '2024-01-01T00:00:00Z' });
    const b = rs('b', 2, 2, { created: '2024-01-02T00:00:00Z' });
    const newRS = rs('new', 0, 0);
    expect(planOldReplicaSetsScaleDown(d, [a, b, newRS], [b, a], newRS)).toEqual([{ name: 'a', from: 2, to: 0 }]);
  });
});

/**
 * A complete rolling update simulated with the planners: each round the controller acts (new RS
 * first, old RSs if the new one did not move), then the "kubelet" makes every pod of the round
 * before available. The surge and availability bounds must hold at every step.
 */
function simulate(replicas: number, surge: number | string, unavailable: number | string): { rounds: number; maxTotal: number; minAvailable: number } {
  const d = dep(replicas, ru(surge, unavailable));
  const oldRS = rs('old', replicas, replicas);
  const newRS = rs('new', 0, 0);
  const limitTotal = replicas + maxSurge(d);
  const limitAvail = replicas - maxUnavailable(d);
  let maxTotal = 0;
  let minAvailable = Number.MAX_SAFE_INTEGER;
  let rounds = 0;
  const observe = () => {
    maxTotal = Math.max(maxTotal, oldRS.spec.replicas + newRS.spec.replicas);
    minAvailable = Math.min(minAvailable, oldRS.status.availableReplicas + newRS.status.availableReplicas);
  };
  while (!(newRS.spec.replicas === replicas && newRS.status.availableReplicas === replicas && oldRS.spec.replicas === 0) && rounds < 100) {
    rounds++;
    const next = planNewReplicaSetScale(d, [oldRS, newRS], newRS);
    if (next !== undefined) newRS.spec.replicas = next;
    else for (const s of planOldReplicaSetsScaleDown(d, [oldRS, newRS], oldRS.spec.replicas > 0 ? [oldRS] : [], newRS)) oldRS.spec.replicas = s.to;
    // pods of scaled-down old replicas disappear at once; new pods become available next round
    oldRS.status.availableReplicas = Math.min(oldRS.status.availableReplicas, oldRS.spec.replicas);
    observe();
    newRS.status.availableReplicas = newRS.spec.replicas;
  }
  expect(maxTotal).toBeLessThanOrEqual(limitTotal);
  expect(minAvailable).toBeGreaterThanOrEqual(limitAvail);
  return { rounds, maxTotal, minAvailable };
}

describe('simulated rolling updates keep the bounds', () => {
  it.each([
    [3, '25%', '25%'],
    [4, 1, 1],
    [10, '25%', '25%'],
    [10, 0, 1],
    [10, 3, 0],
    [5, '100%', 0],
    [1, 1, 0],
    [7, '50%', '50%'],
  ])('replicas %p maxSurge %p maxUnavailable %p', (n, s, u) => {
    const r = simulate(n as number, s as number, u as number);
    expect(r.rounds).toBeLessThan(100);
  });

  it('maxSurge 100% replaces everything in two steps', () => {
    expect(simulate(5, '100%', 0).maxTotal).toBe(10);
  });
});

describe('proportional scaling', () => {
  it('splits an increase by each ReplicaSet size and gives the leftover to the largest', () => {
    // 10 → 15 replicas mid-rollout, maxSurge 3 (max-replicas annotation 13 from the old scale)
    const d = dep(15, ru(3, 2), { status: { replicas: 13 } });
    const a = rs('a', 8, 8, { maxReplicas: 13, created: '2024-01-01T00:00:00Z' });
    const b = rs('b', 5, 0, { maxReplicas: 13, created: '2024-01-02T00:00:00Z' });
    const sizes = proportionalScale(d, [a, b]);
    // allowed 18, to add 5: a gets round(8*18/13)-8 = 3, b gets round(5*18/13)-5 = 2
    expect(Object.fromEntries(sizes)).toEqual({ a: 11, b: 7 });
    expect(getProportion(a, d, 5, 0)).toBe(3);
  });

  it('scales down proportionally', () => {
    const d = dep(5, ru(1, 1), { status: { replicas: 11 } });
    const a = rs('a', 6, 6, { maxReplicas: 11 });
    const b = rs('b', 5, 0, { maxReplicas: 11, created: '2024-01-02T00:00:00Z' });
    const sizes = proportionalScale(d, [a, b]);
    expect(sizes.get('a')! + sizes.get('b')!).toBe(6);
  });

  it('findActiveOrLatest picks the single active ReplicaSet or the newest', () => {
    const n = rs('new', 0);
    const o1 = rs('o1', 0, 0, { created: '2024-01-01T00:00:00Z' });
    const o2 = rs('o2', 3, 3, { created: '2024-01-02T00:00:00Z' });
    expect(findActiveOrLatest(n, [o1, o2])!.metadata.name).toBe('o2');
    expect(findActiveOrLatest(undefined, [o1, rs('o3', 0, 0, { created: '2024-01-03T00:00:00Z' })])!.metadata.name).toBe('o3');
    expect(findActiveOrLatest(rs('new', 1), [o2])).toBeUndefined();
  });
});

describe('revisions and templates', () => {
  it('finds the new ReplicaSet by template ignoring the pod-template-hash label', () => {
    const d = dep(3);
    const a = { ...rs('a', 3), spec: { replicas: 3, template: { metadata: { labels: { app: 'd', 'pod-template-hash': 'abc' } }, spec: { containers: [{ name: 'c', image: 'v1' }] } } } };
    const b = { ...rs('b', 0), spec: { replicas: 0, template: { metadata: { labels: { app: 'd', 'pod-template-hash': 'xyz' } }, spec: { containers: [{ name: 'c', image: 'v0' }] } } } };
    expect(equalIgnoreHash(a.spec.template, d.spec.template)).toBe(true);
    // what kubectl rollout undo sends back: Go's zero values (creationTimestamp: null, empty structs)
    const fromKubectl = { metadata: { creationTimestamp: null, labels: { app: 'd' } }, spec: { containers: [{ name: 'c', image: 'v1', resources: {} }] } };
    expect(equalIgnoreHash(a.spec.template, fromKubectl)).toBe(true);
    expect(equalIgnoreHash(a.spec.template, { ...fromKubectl, spec: { containers: [{ name: 'c', image: 'v2' }] } })).toBe(false);
    expect(findNewReplicaSet(d, [b, a])!.metadata.name).toBe('a');
  });

  it('copies annotations, raises the revision and records the superseded one (rollback)', () => {
    const d = dep(3, undefined, { metadata: { name: 'd', annotations: { 'kubernetes.io/change-cause': 'undo', 'kubectl.kubernetes.io/last-applied-configuration': '{}', [REVISION_ANNOTATION]: '2' } } });
    const fresh = rs('new', 0);
    expect(setNewReplicaSetAnnotations(d, fresh, 3, false)).toBe(true);
    expect(fresh.metadata.annotations).toEqual({ 'kubernetes.io/change-cause': 'undo', [REVISION_ANNOTATION]: '3', 'deployment.kubernetes.io/desired-replicas': '3', [MAX_REPLICAS_ANNOTATION]: '4' });

    const old = rs('old', 0);
    old.metadata.annotations = { [REVISION_ANNOTATION]: '1' };
    setNewReplicaSetAnnotations(d, old, 3, true);
    expect(old.metadata.annotations![REVISION_ANNOTATION]).toBe('3');
    expect(old.metadata.annotations![REVISION_HISTORY_ANNOTATION]).toBe('1');
    old.metadata.annotations![REVISION_ANNOTATION] = '3';
    setNewReplicaSetAnnotations(d, old, 5, true);
    expect(old.metadata.annotations![REVISION_HISTORY_ANNOTATION]).toBe('1,3');
    // never lowers a revision
    expect(setNewReplicaSetAnnotations(d, old, 2, true)).toBe(false);
    expect(old.metadata.annotations![REVISION_ANNOTATION]).toBe('5');
  });
});

describe('status and conditions', () => {
  const t0 = Date.parse('2024-01-01T00:00:00Z');

  it('SetDeploymentCondition keeps lastTransitionTime when only the reason changes', () => {
    const s: DeploymentStatus = {};
    setCondition(s, newCondition('Progressing', 'True', 'NewReplicaSetCreated', 'm', t0));
    setCondition(s, newCondition('Progressing', 'True', 'ReplicaSetUpdated', 'm2', t0 + 5000));
    expect(s.conditions).toEqual([{ type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: 'm2', lastUpdateTime: '2024-01-01T00:00:05Z', lastTransitionTime: '2024-01-01T00:00:00Z' }]);
    setCondition(s, newCondition('Progressing', 'True', 'ReplicaSetUpdated', 'ignored', t0 + 9000));
    expect(s.conditions![0].message).toBe('m2');
  });

  it('calculates counts and the Available condition', () => {
    const d = dep(4, ru(1, 1));
    const s = calculateStatus([rs('old', 2, 2), rs('new', 3, 1)], rs('new', 3, 1), d, t0);
    expect(serializeStatus(s)).toEqual({
      observedGeneration: 1,
      replicas: 5,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      unavailableReplicas: 2,
      conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.', lastUpdateTime: '2024-01-01T00:00:00Z', lastTransitionTime: '2024-01-01T00:00:00Z' }],
    });
    const s2 = calculateStatus([rs('new', 4, 2)], rs('new', 4, 2), d, t0);
    expect(s2.conditions![0]).toMatchObject({ status: 'False', reason: 'MinimumReplicasUnavailable' });
  });

  it('complete / progressing / timed out', () => {
    const d = dep(3, undefined, { status: { replicas: 4, updatedReplicas: 1, readyReplicas: 3, availableReplicas: 3 } });
    expect(deploymentComplete(d, { replicas: 3, updatedReplicas: 3, availableReplicas: 3, observedGeneration: 1 })).toBe(true);
    expect(deploymentComplete(d, { replicas: 3, updatedReplicas: 3, availableReplicas: 2, observedGeneration: 1 })).toBe(false);
    expect(deploymentProgressing(d, { replicas: 4, updatedReplicas: 2, readyReplicas: 3, availableReplicas: 3 })).toBe(true);
    expect(deploymentProgressing(d, { replicas: 4, updatedReplicas: 1, readyReplicas: 3, availableReplicas: 3 })).toBe(false);
    const cond = (reason: string, at: number) => ({ conditions: [newCondition('Progressing', 'True', reason, '', at)] });
    expect(deploymentTimedOut(d, cond('ReplicaSetUpdated', t0), t0 + 601_000)).toBe(true);
    expect(deploymentTimedOut(d, cond('ReplicaSetUpdated', t0), t0 + 599_000)).toBe(false);
    expect(deploymentTimedOut(d, cond('NewReplicaSetAvailable', t0), t0 + 9_999_000)).toBe(false);
  });
});
