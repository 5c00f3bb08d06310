import { Backoff, formatGoDuration } from '../../../src/kubelet/backoff';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, set: (v: number) => (t = v), add: (d: number) => (t += d) };
}

describe('container restart back-off (kubelet doBackOff)', () => {
  /**
   * Simulate a container that crashes `runMs` after each start; the kubelet restarts it as
   * soon as it is out of back-off. Returns the wait before each restart.
   */
  function schedule(crashes: number, runMs: number): number[] {
    const c = clock();
    const b = new Backoff(c);
    const key = 'pod_ns_uid_app';
    const waits: number[] = [];
    for (let i = 0; i < crashes; i++) {
      c.add(runMs); // runs, then exits
      const finishedAt = c.now();
      let waited = 0;
      while (b.isInBackOffSince(key, finishedAt)) {
        const r = b.remainingSince(key, finishedAt);
        expect(r).toBeGreaterThan(0);
        c.add(r);
        waited += r;
      }
      b.next(key, finishedAt);
      waits.push(waited);
    }
    return waits;
  }

  test.each([
    ['quick crashes', 9, 1000, [0, 10, 20, 40, 80, 160, 300, 300, 300].map((s) => s * 1000)],
    // The delay counts from the exit, whatever the run time.
    ['crash after 5 s', 4, 5000, [0, 10, 20, 40].map((s) => s * 1000)],
  ])('%s', (_n, crashes, runMs, want) => {
    expect(schedule(crashes, runMs)).toEqual(want);
  });

  test('resets when the container ran longer than twice the maximum', () => {
    const c = clock();
    const b = new Backoff(c);
    b.next('k', c.now());
    b.next('k', c.now());
    expect(b.get('k')).toBe(20_000);
    c.add(600_001);
    expect(b.isInBackOffSince('k', c.now())).toBe(false);
    b.next('k', c.now());
    expect(b.get('k')).toBe(10_000);
  });

  test('image pull back-off counts from the last update', () => {
    const c = clock();
    const b = new Backoff(c);
    expect(b.isInBackOffSinceUpdate('img')).toBe(false);
    b.next('img');
    expect(b.isInBackOffSinceUpdate('img')).toBe(true);
    expect(b.remainingSinceUpdate('img')).toBe(10_000);
    c.add(9_999);
    expect(b.isInBackOffSinceUpdate('img')).toBe(true);
    c.add(1);
    expect(b.isInBackOffSinceUpdate('img')).toBe(false);
    b.next('img');
    expect(b.get('img')).toBe(20_000);
  });

  test('resetPrefix and gc forget keys', () => {
    const c = clock();
    const b = new Backoff(c);
    b.next('uid1_a');
    b.next('uid1_b');
    b.next('uid2_a');
    b.resetPrefix('uid1_');
    expect([b.get('uid1_a'), b.get('uid1_b'), b.get('uid2_a')]).toEqual([0, 0, 10_000]);
    c.add(600_001);
    b.gc();
    expect(b.get('uid2_a')).toBe(0);
  });
});

describe('formatGoDuration', () => {
  test.each([
    [0, '0s'],
    [250, '250ms'],
    [1500, '1.5s'],
    [10_000, '10s'],
    [80_000, '1m20s'],
    [160_000, '2m40s'],
    [300_000, '5m0s'],
    [3_600_000, '1h0m0s'],
    [3_723_000, '1h2m3s'],
  ])('%d ms → %s', (ms, want) => {
    expect(formatGoDuration(ms)).toBe(want);
  });
});
