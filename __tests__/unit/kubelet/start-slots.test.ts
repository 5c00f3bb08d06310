import { StartSlots } from '../../../src/kubelet/start-slots';

const flush = () => new Promise((r) => setImmediate(r));

describe('StartSlots', () => {
  test('at most `limit` leases hold a slot; the others are served in arrival order', async () => {
    const slots = new StartSlots(2);
    const leases = [0, 1, 2, 3].map(() => slots.lease());
    const got: number[] = [];
    leases.forEach((l, i) => void l.hold().then((ok) => ok && got.push(i)));
    await flush();
    expect(got).toEqual([0, 1]);
    expect(slots.stats()).toEqual({ active: 2, waiting: 2 });
    leases[1].release();
    await flush();
    expect(got).toEqual([0, 1, 2]);
    leases[0].release();
    await flush();
    expect(got).toEqual([0, 1, 2, 3]);
    leases[2].release();
    leases[3].release();
    expect(slots.stats()).toEqual({ active: 0, waiting: 0 });
  });

  test('hold is idempotent while held; release is idempotent', async () => {
    const slots = new StartSlots(1);
    const l = slots.lease();
    expect(await l.hold()).toBe(true);
    expect(await l.hold()).toBe(true);
    expect(slots.stats().active).toBe(1);
    l.release();
    l.release();
    expect(slots.stats().active).toBe(0);
  });

  test('a lease that held before is served ahead of leases that never held one', async () => {
    const slots = new StartSlots(1);
    const a = slots.lease();
    const b = slots.lease();
    const c = slots.lease();
    await a.hold();
    const order: string[] = [];
    void b.hold().then(() => order.push('b'));
    a.release(); // b gets the slot
    await flush();
    void c.hold().then(() => order.push('c'));
    void a.hold().then(() => order.push('a'));
    b.release();
    await flush();
    expect(order).toEqual(['b', 'a']);
    a.release();
    await flush();
    expect(order).toEqual(['b', 'a', 'c']);
    c.release();
    expect(slots.stats()).toEqual({ active: 0, waiting: 0 });
  });

  test('cancelWait ends a wait with false and leaves the queue; a held lease is unaffected', async () => {
    const slots = new StartSlots(1);
    const a = slots.lease();
    const b = slots.lease();
    const c = slots.lease();
    await a.hold();
    const pb = b.hold();
    const pc = c.hold();
    expect(b.isWaiting).toBe(true);
    b.cancelWait();
    expect(await pb).toBe(false);
    expect(b.held).toBe(false);
    a.cancelWait();
    expect(a.held).toBe(true);
    a.release();
    expect(await pc).toBe(true);
    expect(slots.stats()).toEqual({ active: 1, waiting: 0 });
    // release() while waiting also cancels
    const d = slots.lease();
    const pd = d.hold();
    d.release();
    expect(await pd).toBe(false);
    c.release();
    expect(slots.stats()).toEqual({ active: 0, waiting: 0 });
  });

  test.each([0, Infinity, -1])('limit %p means no limit', async (limit) => {
    const slots = new StartSlots(limit);
    const ls = Array.from({ length: 20 }, () => slots.lease());
    const res = await Promise.all(ls.map((l) => l.hold()));
    expect(res.every(Boolean)).toBe(true);
    expect(slots.stats()).toEqual({ active: 20, waiting: 0 });
  });
});
