import { PodWorkers, type SyncResult } from '../../../src/kubelet/pod-workers';
import { ManualClock } from '../../../src/kubelet/runtime/fake/fake-runtime';
import { silentLogger } from '../../../src/util/log';

const flush = async (n = 5): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('PodWorkers', () => {
  test('one sync per pod at a time; requests while syncing coalesce into one more sync', async () => {
    const clock = new ManualClock(0);
    const gates: Array<{ promise: Promise<void>; resolve: () => void }> = [];
    let active = 0;
    let maxActive = 0;
    const calls: string[] = [];
    const w = new PodWorkers({
      clock,
      log: silentLogger,
      sync: async (uid) => {
        calls.push(uid);
        active++;
        maxActive = Math.max(maxActive, active);
        const g = deferred();
        gates.push(g);
        await g.promise;
        active--;
      },
    });
    w.enqueue('a');
    w.enqueue('a');
    await flush();
    expect(calls).toEqual(['a']);
    w.enqueue('a');
    w.enqueue('a');
    w.enqueue('b');
    await flush();
    expect(calls).toEqual(['a', 'b']); // b runs alongside a
    gates[0].resolve();
    await flush();
    expect(calls).toEqual(['a', 'b', 'a']); // exactly one more sync of a
    gates[1].resolve();
    gates[2].resolve();
    await flush();
    expect(calls).toHaveLength(3);
    expect(maxActive).toBe(2);
  });

  test('requeueAfterMs schedules on the clock; the earliest pending time wins; done drops the worker', async () => {
    const clock = new ManualClock(0);
    const results: SyncResult[] = [{ requeueAfterMs: 5000 }, {}, { done: true }];
    const at: number[] = [];
    const w = new PodWorkers({ clock, log: silentLogger, sync: async () => (at.push(clock.now()), results.shift() ?? {}) });
    w.enqueue('a');
    await flush();
    w.enqueueAfter('a', 8000);
    w.enqueueAfter('a', 2000);
    await clock.advance(1999);
    expect(at).toEqual([0]);
    await clock.advance(1);
    expect(at).toEqual([0, 2000]);
    await clock.advance(10_000);
    expect(at).toEqual([0, 2000]); // the 5000 ms requeue was replaced by the earlier 2000 ms one
    w.enqueue('a');
    await flush();
    expect(at).toEqual([0, 2000, 12_000]);
    expect(w.uids()).toEqual([]);
  });

  test('a failing sync is retried with back-off', async () => {
    const clock = new ManualClock(0);
    const at: number[] = [];
    let fail = 3;
    const w = new PodWorkers({
      clock,
      log: silentLogger,
      errorBackoffMs: { initial: 100, max: 250 },
      sync: async () => {
        at.push(clock.now());
        if (fail-- > 0) throw new Error('boom');
      },
    });
    w.enqueue('a');
    await clock.advance(1000);
    expect(at).toEqual([0, 100, 300, 550]);
  });

  test('pause holds syncs, resume releases them; shutdown waits for the sync in flight', async () => {
    const clock = new ManualClock(0);
    const calls: string[] = [];
    const gate = deferred();
    const w = new PodWorkers({
      clock,
      log: silentLogger,
      sync: async (uid) => {
        calls.push(uid);
        if (uid === 'slow') await gate.promise;
      },
    });
    w.pause();
    w.enqueue('a');
    await flush();
    expect(calls).toEqual([]);
    w.resume();
    await flush();
    expect(calls).toEqual(['a']);
    w.enqueue('slow');
    await flush();
    let down = false;
    const p = w.shutdown().then(() => (down = true));
    await flush();
    expect(down).toBe(false);
    gate.resolve();
    await p;
    w.enqueue('b');
    await flush();
    expect(calls).toEqual(['a', 'slow']);
  });
});
