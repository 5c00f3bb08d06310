import { WorkQueue, type Clock } from '../../../src/controller/workqueue';

class FakeClock implements Clock {
  t = 0;
  timers: { at: number; fn: () => void; id: number }[] = [];
  private n = 0;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.n;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== h);
  }
  advance(ms: number): void {
    this.t += ms;
    const due = this.timers.filter((x) => x.at <= this.t);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const d of due) d.fn();
  }
}

describe('WorkQueue', () => {
  test('dedupes waiting keys and never hands a key out twice at once', async () => {
    const q = new WorkQueue(new FakeClock());
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.length).toBe(2);
    const k = await q.get();
    expect(k).toBe('a');
    q.add('a'); // while processing: queued again only after done()
    expect(await q.get()).toBe('b');
    expect(q.length).toBe(0);
    q.done('a');
    expect(q.length).toBe(1);
    expect(await q.get()).toBe('a');
  });

  test('addAfter keeps the earliest of several delays', () => {
    const c = new FakeClock();
    const q = new WorkQueue(c);
    q.addAfter('k', 600_000);
    q.addAfter('k', 5_000);
    c.advance(5_000);
    expect(q.length).toBe(1);
    const c2 = new FakeClock();
    const q2 = new WorkQueue(c2);
    q2.addAfter('k', 1000);
    q2.addAfter('k', 9000);
    c2.advance(1000);
    expect(q2.length).toBe(1);
  });

  test('rate-limited requeue backs off exponentially until forget()', () => {
    const c = new FakeClock();
    const q = new WorkQueue(c, 5, 1000);
    q.addRateLimited('x');
    expect(c.timers[0].at).toBe(5);
    c.advance(5);
    q.addRateLimited('x');
    expect(c.timers[0].at - c.t).toBe(10);
    expect(q.numRequeues('x')).toBe(2);
    q.forget('x');
    expect(q.numRequeues('x')).toBe(0);
  });

  test('shutdown releases waiting workers', async () => {
    const q = new WorkQueue(new FakeClock());
    const p = q.get();
    q.shutdown();
    expect(await p).toBeUndefined();
  });
});
