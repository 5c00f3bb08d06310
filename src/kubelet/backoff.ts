/**
 * Per-key exponential back-off with the semantics of client-go's `flowcontrol.Backoff`, as
 * the kubelet uses it for container restarts (CrashLoopBackOff) and image pulls
 * (ImagePullBackOff): the first `next` of a key sets the initial delay, every further `next`
 * doubles it up to the maximum, and a key whose last update is older than twice the maximum
 * starts over.
 *
 * Container restarts (kuberuntime `doBackOff`): when a container has exited and should be
 * restarted, `isInBackOffSince(key, finishedAt)` decides whether to wait; if not, `next(key,
 * finishedAt)` is recorded and the container is restarted at once. Hence with the defaults
 * (10 s, 5 min) the first restart is immediate and the following ones wait 10 s, 20 s, 40 s,
 * … 5 min after the previous instance finished.
 *
 * Times are milliseconds since the epoch; the current time comes from the injected clock.
 * Not thread-safe (Node is single-threaded; callers serialise per key).
 */
export interface BackoffClock {
  now(): number;
}

export const CONTAINER_BACKOFF_INITIAL_MS = 10_000;
export const CONTAINER_BACKOFF_MAX_MS = 300_000;

interface Entry {
  backoffMs: number;
  lastUpdate: number;
}

export class Backoff {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: BackoffClock,
    readonly initialMs = CONTAINER_BACKOFF_INITIAL_MS,
    readonly maxMs = CONTAINER_BACKOFF_MAX_MS,
  ) {}

  /** The current delay of `key` (0 when unknown). */
  get(key: string): number {
    return this.entries.get(key)?.backoffMs ?? 0;
  }

  /** Record an event at `eventTime`: start at the initial delay or double the current one. */
  next(key: string, eventTime: number = this.clock.now()): void {
    const e = this.entries.get(key);
    if (!e || this.hasExpired(eventTime, e.lastUpdate)) {
      this.entries.set(key, { backoffMs: this.initialMs, lastUpdate: eventTime });
      return;
    }
    e.backoffMs = Math.min(e.backoffMs * 2, this.maxMs);
    e.lastUpdate = eventTime;
  }

  /** True while less than the key's delay has passed since `eventTime` (now − eventTime < delay). */
  isInBackOffSince(key: string, eventTime: number): boolean {
    const e = this.entries.get(key);
    if (!e || this.hasExpired(eventTime, e.lastUpdate)) return false;
    return this.clock.now() - eventTime < e.backoffMs;
  }

  /** True while `eventTime` is less than the key's delay after its last update. */
  isInBackOffSinceUpdate(key: string, eventTime: number = this.clock.now()): boolean {
    const e = this.entries.get(key);
    if (!e || this.hasExpired(eventTime, e.lastUpdate)) return false;
    return eventTime - e.lastUpdate < e.backoffMs;
  }

  /** Milliseconds until `isInBackOffSince(key, eventTime)` turns false (0 when not backing off). */
  remainingSince(key: string, eventTime: number): number {
    if (!this.isInBackOffSince(key, eventTime)) return 0;
    return Math.max(0, eventTime + this.get(key) - this.clock.now());
  }

  /** Milliseconds until `isInBackOffSinceUpdate(key)` turns false. */
  remainingSinceUpdate(key: string): number {
    const e = this.entries.get(key);
    if (!e || !this.isInBackOffSinceUpdate(key)) return 0;
    return Math.max(0, e.lastUpdate + e.backoffMs - this.clock.now());
  }

  reset(key: string): void {
    this.entries.delete(key);
  }

  /** Drop every key starting with `prefix` (e.g. all keys of a removed pod). */
  resetPrefix(prefix: string): void {
    for (const k of [...this.entries.keys()]) if (k.startsWith(prefix)) this.entries.delete(k);
  }

  /** Forget keys idle for more than twice the maximum delay. */
  gc(): void {
    const now = this.clock.now();
    for (const [k, e] of this.entries) if (this.hasExpired(now, e.lastUpdate)) this.entries.delete(k);
  }

  private hasExpired(eventTime: number, lastUpdate: number): boolean {
    return eventTime - lastUpdate > this.maxMs * 2;
  }
}

/** A duration the way Go's `time.Duration.String` prints it: `10s`, `1m20s`, `5m0s`, `1.5s`, `250ms`. */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let rest = Math.abs(ms);
  if (rest < 1000) return `${neg ? '-' : ''}${trimNum(rest)}ms`;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = trimNum(rest / 1000);
  let out = '';
  if (h) out += `${h}h`;
  if (h || m) out += `${m}m`;
  out += `${s}s`;
  return (neg ? '-' : '') + out;
}

function trimNum(n: number): string {
  return String(Math.round(n * 1e6) / 1e6);
}
