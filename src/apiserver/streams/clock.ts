/**
 * The time source of the stream handlers (log `sinceSeconds`, SPDY stream-creation and close
 * grace timers, WebSocket keepalive pings). Structurally compatible with the fake runtime's
 * `FakeClock`/`ManualClock`, so tests drive both with one clock.
 */
export interface StreamClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Wall-clock time; timers do not keep the process alive. */
export const realStreamClock: StreamClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};
