import type { KObject } from '../../../src/api/types';
import {
  backoffDuration,
  backoffRemaining,
  byDeletionPreference,
  ensureConditionStatus,
  formatIndexes,
  parseIndexes,
  podFinishTime,
  updateBackoffRecord,
} from '../../../src/controllers/job/job-util';

const BASE = 10_000;
const MAX = 360_000;

describe('pod-failure back-off', () => {
  test.each([
    [0, 0],
    [1, 10_000],
    [2, 20_000],
    [3, 40_000],
    [4, 80_000],
    [5, 160_000],
    [6, 320_000],
    [7, 360_000], // capped at 6 minutes
    [20, 360_000],
  ])('%i consecutive failures → %i ms', (n, want) => {
    expect(backoffDuration(n, BASE, MAX)).toBe(want);
  });

  test('remaining time counts from the last failure', () => {
    const rec = { failuresAfterLastSuccess: 2, lastFailureTime: 1_000_000 };
    expect(backoffRemaining(rec, 1_000_000, BASE, MAX)).toBe(20_000);
    expect(backoffRemaining(rec, 1_015_000, BASE, MAX)).toBe(5_000);
    expect(backoffRemaining(rec, 1_020_000, BASE, MAX)).toBe(0);
    expect(backoffRemaining({ failuresAfterLastSuccess: 0 }, 0, BASE, MAX)).toBe(0);
  });

  test('a success resets the count; failures after it count again', () => {
    let rec = updateBackoffRecord({ failuresAfterLastSuccess: 0 }, [
      { succeeded: false, at: 10 },
      { succeeded: false, at: 20 },
    ]);
    expect(rec).toEqual({ failuresAfterLastSuccess: 2, lastFailureTime: 20 });
    rec = updateBackoffRecord(rec, [
      { succeeded: false, at: 40 },
      { succeeded: true, at: 30 },
    ]);
    expect(rec).toEqual({ failuresAfterLastSuccess: 1, lastFailureTime: 40 });
    // a failure at the same instant as a success does not count
    expect(updateBackoffRecord({ failuresAfterLastSuccess: 3 }, [{ succeeded: true, at: 50 }, { succeeded: false, at: 50 }]).failuresAfterLastSuccess).toBe(0);
  });
});

describe('completed indexes', () => {
  test.each([
    [[], ''],
    [[0], '0'],
    [[0, 1], '0,1'],
    [[0, 1, 2], '0-2'],
    [[5, 1, 3, 4, 7, 8, 9, 1], '1,3-5,7-9'],
  ])('%j ↔ %s', (xs, s) => {
    expect(formatIndexes(xs)).toBe(s);
    expect([...parseIndexes(s)].sort((a, b) => a - b)).toEqual([...new Set(xs)].sort((a, b) => a - b));
  });

  test('parse ignores junk and indexes past completions', () => {
    expect([...parseIndexes('0-3,x,9', 3)]).toEqual([0, 1, 2]);
  });
});

describe('conditions', () => {
  test('ensureConditionStatus adds True, flips existing, never adds False', () => {
    const now = '2024-01-01T00:00:00Z';
    let [c, changed] = ensureConditionStatus([], 'Suspended', 'False', 'JobResumed', 'Job resumed', now);
    expect([c, changed]).toEqual([[], false]);
    [c, changed] = ensureConditionStatus(c, 'Suspended', 'True', 'JobSuspended', 'Job suspended', now);
    expect(changed).toBe(true);
    expect(c).toEqual([{ type: 'Suspended', status: 'True', reason: 'JobSuspended', message: 'Job suspended', lastProbeTime: now, lastTransitionTime: now }]);
    [c, changed] = ensureConditionStatus(c, 'Suspended', 'True', 'JobSuspended', 'Job suspended', 'later');
    expect(changed).toBe(false);
    [c, changed] = ensureConditionStatus(c, 'Suspended', 'False', 'JobResumed', 'Job resumed', 'later');
    expect(changed).toBe(true);
    expect(c[0]).toMatchObject({ status: 'False', reason: 'JobResumed', lastTransitionTime: 'later' });
  });
});

describe('pods', () => {
  const pod = (name: string, o: { node?: string; phase?: string; ready?: boolean; created?: string } = {}): KObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, creationTimestamp: o.created ?? '2024-01-01T00:00:00Z' },
    spec: { nodeName: o.node },
    status: { phase: o.phase ?? 'Pending', conditions: [{ type: 'Ready', status: o.ready ? 'True' : 'False' }] },
  });

  test('deletion preference: unscheduled, pending, not ready, newest first', () => {
    const pods = [
      pod('running-ready', { node: 'n', phase: 'Running', ready: true }),
      pod('running-old', { node: 'n', phase: 'Running', created: '2023-01-01T00:00:00Z' }),
      pod('running-new', { node: 'n', phase: 'Running', created: '2024-06-01T00:00:00Z' }),
      pod('pending-bound', { node: 'n' }),
      pod('unbound'),
    ];
    expect(pods.sort(byDeletionPreference).map((p) => p.metadata.name)).toEqual(['unbound', 'pending-bound', 'running-new', 'running-old', 'running-ready']);
  });

  test('finish time: latest container finishedAt, else deletion time, else now', () => {
    const p = pod('p');
    expect(podFinishTime(p, 42)).toBe(42);
    p.metadata.deletionTimestamp = '2024-01-01T00:00:10Z';
    expect(podFinishTime(p, 42)).toBe(Date.parse('2024-01-01T00:00:10Z'));
    p.status.containerStatuses = [
      { state: { terminated: { finishedAt: '2024-01-01T00:00:03Z' } } },
      { state: { terminated: { finishedAt: '2024-01-01T00:00:05Z' } } },
    ];
    expect(podFinishTime(p, 42)).toBe(Date.parse('2024-01-01T00:00:05Z'));
  });
});
