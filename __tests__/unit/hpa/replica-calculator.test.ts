import type { KObject } from '../../../src/api/types';
import {
  averageValueReplicas,
  behaviorWithDefaults,
  convertDesiredWithBehaviorRate,
  convertDesiredWithRules,
  resourceReplicas,
  stabilize,
  stabilizeWithBehavior,
  type PodSample,
} from '../../../src/controllers/hpa/replica-calculator';

const NOW = Date.UTC(2024, 0, 1, 1, 0, 0);
const LONG_AGO = new Date(NOW - 3600_000).toISOString();

function pod(name: string, o: { cpu?: string; mem?: string; phase?: string; ready?: boolean; readySince?: string; start?: string; deleting?: boolean } = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(o.deleting ? { deletionTimestamp: LONG_AGO } : {}) },
    spec: { containers: [{ name: 'c', resources: { requests: { ...(o.cpu !== undefined ? { cpu: o.cpu } : {}), ...(o.mem !== undefined ? { memory: o.mem } : {}) } } }] },
    status: {
      phase: o.phase ?? 'Running',
      startTime: o.start ?? LONG_AGO,
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: o.readySince ?? LONG_AGO }],
    },
  };
}

const samples = (xs: Record<string, number>): Map<string, PodSample> => new Map(Object.entries(xs).map(([k, v]) => [k, { value: v, timestamp: NOW - 5_000, windowMs: 15_000 }]));
const opts = { now: NOW };

describe('resourceReplicas (Utilization of requests)', () => {
  test.each<[string, number, number, string[], Record<string, number>, number, number]>([
    // name, current, target %, pods (cpu request 500m each), usage (millicores), want replicas, want utilization
    ['scale up: ceil(3 × 100/50)', 3, 50, ['a', 'b', 'c'], { a: 500, b: 500, c: 500 }, 6, 100],
    ['within 10% tolerance: unchanged', 3, 50, ['a', 'b', 'c'], { a: 270, b: 270, c: 270 }, 3, 54],
    ['just outside tolerance', 3, 50, ['a', 'b', 'c'], { a: 280, b: 280, c: 280 }, 4, 56],
    ['scale down: ceil(4 × 10/50)', 4, 50, ['a', 'b', 'c', 'd'], { a: 50, b: 50, c: 50, d: 50 }, 1, 10],
    ['the issue example: 1 pod at 200% of a 50% target', 1, 50, ['a'], { a: 1000 }, 4, 200],
  ])('%s', (_n, current, target, names, usage, want, wantUtil) => {
    const r = resourceReplicas(current, target, 'cpu', names.map((n) => pod(n, { cpu: '500m' })), samples(usage), opts);
    expect(r.replicas).toBe(want);
    expect(r.utilization).toBe(wantUtil);
  });

  test('missing metrics: 0 on scale-up, 100% on scale-down; direction changes keep the size', () => {
    const ps = ['a', 'b', 'c', 'd'].map((n) => pod(n, { cpu: '1' }));
    // scale up: a,b at 100% of 1 core with target 50 → ratio 2; c,d missing count 0 → ratio 1.0 → unchanged
    expect(resourceReplicas(4, 50, 'cpu', ps, samples({ a: 1000, b: 1000 }), opts).replicas).toBe(4);
    // stronger load: a,b at 200% → ratio 4 → with missing at 0: ratio 2 → ceil(2 × 4) = 8
    expect(resourceReplicas(4, 50, 'cpu', ps, samples({ a: 2000, b: 2000 }), opts).replicas).toBe(8);
    // scale down: a,b idle, missing c,d count as 100% → ratio (0+0+100+100)/4/50 = 1.0 → unchanged
    expect(resourceReplicas(4, 50, 'cpu', ps, samples({ a: 0, b: 0 }), opts).replicas).toBe(4);
  });

  test('unready pods count 0 on a scale-up; Pending pods are unready; deleted/Failed pods are ignored', () => {
    const ps = [pod('a', { cpu: '1' }), pod('b', { cpu: '1', phase: 'Pending' }), pod('c', { cpu: '1', deleting: true }), pod('d', { cpu: '1', phase: 'Failed' })];
    // a at 200% of target 50 → ratio 4; b unready (0): ratio (200+0)/2/50 = 2 → 4
    expect(resourceReplicas(2, 50, 'cpu', ps, samples({ a: 2000, c: 5000, d: 5000 }), opts).replicas).toBe(4);
  });

  test('cpu of a pod that just became ready is not trusted within the initialisation period', () => {
    const fresh = pod('b', { cpu: '1', start: new Date(NOW - 60_000).toISOString(), readySince: new Date(NOW - 10_000).toISOString() });
    const r = resourceReplicas(2, 50, 'cpu', [pod('a', { cpu: '1' }), fresh], samples({ a: 1000, b: 3000 }), opts);
    // b's sample (taken 5 s ago) is within a window of its readiness → unready → 0 on scale-up
    expect(r.replicas).toBe(2 * 1); // ratio (2 + 0)/2 = 1 → unchanged
  });

  test('a container without a request is an error', () => {
    expect(() => resourceReplicas(1, 50, 'cpu', [pod('a', {})], samples({ a: 1 }), opts)).toThrow('missing request for cpu in container c of Pod a');
  });

  test('no samples for ready pods is an error', () => {
    expect(() => resourceReplicas(1, 50, 'cpu', [pod('a', { cpu: '1', phase: 'Pending' })], samples({ a: 1 }), opts)).toThrow('did not receive metrics for targeted pods (pods might be unready)');
  });

  test('memory utilization uses memory requests', () => {
    const ps = ['a', 'b'].map((n) => pod(n, { mem: '100Mi' }));
    const mi = 1024 * 1024 * 1000; // milli-bytes per MiB
    expect(resourceReplicas(2, 60, 'memory', ps, samples({ a: 90 * mi, b: 90 * mi }), opts).replicas).toBe(3);
  });
});

describe('averageValueReplicas', () => {
  test('average per pod over target average', () => {
    const ps = ['a', 'b'].map((n) => pod(n));
    const r = averageValueReplicas(2, 100, 'cpu', ps, samples({ a: 300, b: 300 }), opts);
    expect(r).toMatchObject({ replicas: 6, rawAverage: 300 });
  });
});

describe('normalisation', () => {
  test('stabilization window keeps the highest recent recommendation on scale-down', () => {
    let h = [{ replicas: 5, at: NOW - 200_000 }];
    const s = stabilize(h, 2, NOW, 300_000);
    expect(s.replicas).toBe(5);
    h = s.history;
    expect(stabilize(h, 2, NOW + 101_000, 300_000).replicas).toBe(2);
  });

  test.each([
    [2, 10, 1, 20, 4, 'ScaleUpLimit'], // max(2 × 2, 4)
    [5, 12, 1, 20, 10, 'ScaleUpLimit'], // max(2 × 5, 4)
    [5, 30, 1, 8, 8, 'TooManyReplicas'],
    [5, 0, 2, 8, 2, 'TooFewReplicas'],
    [5, 6, 1, 8, 6, 'DesiredWithinRange'],
  ])('convertDesiredWithRules(current %i, desired %i, min %i, max %i) → %i (%s)', (current, desired, min, max, want, reason) => {
    const r = convertDesiredWithRules(current, desired, min, max);
    expect(r.reason).toBe(reason);
    expect(r.replicas).toBe(want);
  });

  test('behavior defaults: +4 pods or +100% per 15 s up, 300 s window and -100% down', () => {
    const b = behaviorWithDefaults(undefined, 300);
    expect(b.scaleDown.stabilizationWindowSeconds).toBe(300);
    // scale up from 2 to 20: max(2+4, 2×2) = 6
    expect(convertDesiredWithBehaviorRate(2, 20, 1, 50, b.scaleUp, b.scaleDown, [], [], NOW).replicas).toBe(6);
    // a scale-up of 4 in the last 15 s counts: period start 6-4 = 2 → limit 6
    expect(convertDesiredWithBehaviorRate(6, 20, 1, 50, b.scaleUp, b.scaleDown, [{ change: 4, at: NOW - 5_000 }], [], NOW).replicas).toBe(6);
    // Pods policy 1 per 60 s down
    const slow = { selectPolicy: 'Max', policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] };
    expect(convertDesiredWithBehaviorRate(6, 1, 1, 50, b.scaleUp, slow, [], [], NOW)).toMatchObject({ replicas: 5, reason: 'ScaleDownLimit' });
    expect(convertDesiredWithBehaviorRate(6, 1, 1, 50, b.scaleUp, { ...slow, selectPolicy: 'Disabled' }, [], [], NOW).replicas).toBe(6);
  });

  test('stabilizeWithBehavior: up window takes the lowest, down window the highest', () => {
    const h = [
      { replicas: 3, at: NOW - 30_000 },
      { replicas: 8, at: NOW - 100_000 },
    ];
    expect(stabilizeWithBehavior(h, 5, 10, NOW, 60_000, 300_000)).toMatchObject({ replicas: 5, reason: 'ScaleUpStabilized' });
    expect(stabilizeWithBehavior(h, 5, 2, NOW, 0, 300_000)).toMatchObject({ replicas: 5, reason: 'ScaleDownStabilized' });
    expect(stabilizeWithBehavior(h, 5, 2, NOW, 0, 20_000).replicas).toBe(2);
  });
});
