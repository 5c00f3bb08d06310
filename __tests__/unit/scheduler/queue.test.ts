import { ManualClock } from '../../../src/kubelet/runtime/fake/fake-runtime';
import type { ClusterEvent } from '../../../src/scheduler/framework';
import { SchedulingQueue } from '../../../src/scheduler/queue';
import { info, pod } from './helpers';

function newQueue(clock = new ManualClock()) {
  const events = new Map<string, ReadonlySet<ClusterEvent>>([
    ['NodeResourcesFit', new Set<ClusterEvent>(['NodeAdd', 'AssignedPodDelete'])],
    ['TaintToleration', new Set<ClusterEvent>(['NodeAdd', 'NodeUpdate'])],
  ]);
  return { clock, q: new SchedulingQueue({ clock, eventsByPlugin: events }) };
}

describe('SchedulingQueue', () => {
  test('activeQ: higher priority first, then first in', async () => {
    const { q, clock } = newQueue();
    q.add(info(pod('low', { priority: 0 })));
    await clock.advance(1);
    q.add(info(pod('high', { priority: 100 })));
    await clock.advance(1);
    q.add(info(pod('low2', { priority: 0 })));
    expect([q.tryPop()!.info.name, q.tryPop()!.info.name, q.tryPop()!.info.name]).toEqual(['high', 'low', 'low2']);
    expect(q.tryPop()).toBeUndefined();
    q.close();
  });

  test('back-off doubles from 1 s to at most 10 s', () => {
    const { q } = newQueue();
    expect([1, 2, 3, 4, 5, 6].map((n) => q.backoffDuration(n))).toEqual([1000, 2000, 4000, 8000, 10000, 10000]);
    q.close();
  });

  test('unschedulable pods move only on events their rejecting plugins registered; back-off is honoured', async () => {
    const { q, clock } = newQueue();
    q.add(info(pod('p')));
    const qp = q.tryPop()!;
    q.addUnschedulable(qp, new Set(['NodeResourcesFit']));
    expect(q.stats()).toMatchObject({ unschedulable: 1, active: 0 });
    expect(q.moveAllToActiveOrBackoff('NodeUpdate')).toBe(0);
    expect(q.moveAllToActiveOrBackoff('AssignedPodDelete')).toBe(1);
    // still within its 1 s back-off: backoffQ
    expect(q.stats()).toMatchObject({ backoff: 1, active: 0 });
    await clock.advance(999);
    expect(q.stats().active).toBe(0);
    await clock.advance(1);
    expect(q.stats()).toMatchObject({ backoff: 0, active: 1 });
    expect(q.tryPop()!.attempts).toBe(2);
    q.close();
  });

  test('after the back-off an event moves the pod straight to activeQ', async () => {
    const { q, clock } = newQueue();
    q.add(info(pod('p')));
    q.addUnschedulable(q.tryPop()!, new Set(['TaintToleration']));
    await clock.advance(5000);
    q.moveAllToActiveOrBackoff('NodeUpdate');
    expect(q.stats().active).toBe(1);
    q.close();
  });

  test('pods stuck unschedulable are retried after 5 minutes', async () => {
    const { q, clock } = newQueue();
    q.add(info(pod('p')));
    q.addUnschedulable(q.tryPop()!, new Set(['TaintToleration']));
    await clock.advance(4 * 60_000);
    expect(q.stats().unschedulable).toBe(1);
    await clock.advance(90_000);
    expect(q.stats()).toMatchObject({ unschedulable: 0, active: 1 });
    q.close();
  });

  test('an update of spec or labels retries an unschedulable pod; a status-only update does not', async () => {
    const { q, clock } = newQueue();
    const p = pod('p');
    q.add(info(p));
    q.addUnschedulable(q.tryPop()!, new Set(['TaintToleration']));
    q.update(info({ ...p, status: { phase: 'Pending', conditions: [] } }), false);
    expect(q.stats().unschedulable).toBe(1);
    await clock.advance(2000);
    q.update(info({ ...p, spec: { ...p.spec, tolerations: [{ operator: 'Exists' }] } }), true);
    expect(q.stats()).toMatchObject({ unschedulable: 0, active: 1 });
    expect(q.tryPop()!.info.tolerations).toEqual([{ operator: 'Exists' }]);
    q.close();
  });

  test('gated pods wait until their scheduling gates are removed', () => {
    const { q } = newQueue();
    const p = pod('g', { schedulingGates: [{ name: 'x' }] });
    q.add(info(p));
    expect(q.tryPop()).toBeUndefined();
    expect(q.stats().gated).toBe(1);
    q.update(info({ ...p, spec: { ...p.spec, schedulingGates: [] } }));
    expect(q.tryPop()!.info.name).toBe('g');
    q.close();
  });

  test('delete removes a pod from any sub-queue; errors go to backoffQ', () => {
    const { q } = newQueue();
    q.add(info(pod('a')));
    q.add(info(pod('b')));
    q.delete('default/a');
    const b = q.tryPop()!;
    expect(b.info.name).toBe('b');
    q.addUnschedulable(b, new Set(), true);
    expect(q.stats().backoff).toBe(1);
    q.delete('default/b');
    expect(q.stats()).toEqual({ active: 0, backoff: 0, unschedulable: 0, gated: 0 });
    q.close();
  });

  test('pop waits for a pod and resolves undefined on close', async () => {
    const { q } = newQueue();
    const waiting = q.pop();
    q.add(info(pod('a')));
    expect((await waiting)!.info.name).toBe('a');
    const again = q.pop();
    q.close();
    expect(await again).toBeUndefined();
  });
});
