/**
 * Pod workers: one logical worker per pod UID that serialises every sync of that pod (a pod
 * is never synced twice at once), while different pods sync concurrently.
 *
 * - `enqueue(uid)` asks for a sync as soon as possible: if the pod is syncing now, exactly one
 *   more sync follows it (requests coalesce while waiting). The sync starts on a later
 *   microtask, never inside `enqueue`'s caller (an informer handler must only enqueue).
 * - `enqueueAfter(uid, ms)` schedules a sync on the injected clock; the earliest pending
 *   time wins.
 * - The sync function returns `{ requeueAfterMs }` to be looked at again, or `{ done: true }`
 *   when the pod is finished (its worker state is dropped). Throwing requeues with a per-pod
 *   back-off (1 s doubling to 30 s), reset by the next successful sync.
 * - `pause()` holds new syncs (queued requests are kept); `resume()` releases them.
 * - `shutdown()` stops everything and resolves once in-flight syncs have returned.
 */
import type { Clock } from '../controller/workqueue';
import type { Logger } from '../util/log';

export interface SyncResult {
  requeueAfterMs?: number;
  done?: boolean;
}

export interface PodWorkersOptions {
  clock: Clock;
  sync: (uid: string) => Promise<SyncResult | void>;
  log: Logger;
  /** Back-off after a failed sync; default 1000 ms doubling to 30 000 ms. */
  errorBackoffMs?: { initial: number; max: number };
}

interface WorkerState {
  running: boolean;
  dirty: boolean;
  timer?: unknown;
  timerAt?: number;
  failures: number;
  idle?: Promise<void>;
  resolveIdle?: () => void;
}

export class PodWorkers {
  private readonly workers = new Map<string, WorkerState>();
  private paused = false;
  private closed = false;

  constructor(private readonly opts: PodWorkersOptions) {}

  /** UIDs with worker state (queued, scheduled or syncing). */
  uids(): string[] {
    return [...this.workers.keys()];
  }

  isSyncing(uid: string): boolean {
    return !!this.workers.get(uid)?.running;
  }

  enqueue(uid: string): void {
    if (this.closed) return;
    const w = this.state(uid);
    w.dirty = true;
    this.kick(uid, w);
  }

  enqueueAfter(uid: string, ms: number): void {
    if (this.closed) return;
    if (ms <= 0) return this.enqueue(uid);
    const w = this.state(uid);
    const at = this.opts.clock.now() + ms;
    if (w.timer !== undefined && w.timerAt !== undefined && w.timerAt <= at) return;
    if (w.timer !== undefined) this.opts.clock.clearTimeout(w.timer);
    w.timerAt = at;
    w.timer = this.opts.clock.setTimeout(() => {
      w.timer = undefined;
      w.timerAt = undefined;
      this.enqueue(uid);
    }, ms);
  }

  /** Drop a pod's pending timer and queued request (an in-flight sync finishes normally). */
  forget(uid: string): void {
    const w = this.workers.get(uid);
    if (!w) return;
    if (w.timer !== undefined) this.opts.clock.clearTimeout(w.timer);
    w.timer = undefined;
    w.dirty = false;
    if (!w.running) this.workers.delete(uid);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    for (const [uid, w] of this.workers) this.kick(uid, w);
  }

  /** Resolves once no sync is running (new ones may start afterwards unless paused). */
  async drain(): Promise<void> {
    for (;;) {
      const running = [...this.workers.values()].filter((w) => w.running && w.idle).map((w) => w.idle!);
      if (!running.length) return;
      await Promise.all(running);
    }
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    for (const w of this.workers.values()) {
      if (w.timer !== undefined) this.opts.clock.clearTimeout(w.timer);
      w.timer = undefined;
      w.dirty = false;
    }
    await this.drain();
    this.workers.clear();
  }

  private state(uid: string): WorkerState {
    let w = this.workers.get(uid);
    if (!w) {
      w = { running: false, dirty: false, failures: 0 };
      this.workers.set(uid, w);
    }
    return w;
  }

  private kick(uid: string, w: WorkerState): void {
    if (w.running || !w.dirty || this.paused || this.closed) return;
    w.running = true;
    w.idle = new Promise((r) => (w.resolveIdle = r));
    void this.loop(uid, w);
  }

  private async loop(uid: string, w: WorkerState): Promise<void> {
    try {
      await Promise.resolve();
      while (w.dirty && !this.paused && !this.closed) {
        w.dirty = false;
        let r: SyncResult | void;
        try {
          r = await this.opts.sync(uid);
          w.failures = 0;
        } catch (e) {
          w.failures++;
          const b = this.opts.errorBackoffMs ?? { initial: 1000, max: 30_000 };
          const delay = Math.min(b.max, b.initial * 2 ** (w.failures - 1));
          this.opts.log.warn('pod sync failed', { podUid: uid, error: (e as Error)?.message ?? String(e), retryMs: delay });
          if (!this.closed) this.enqueueAfter(uid, delay);
          continue;
        }
        if (r?.done) {
          if (w.timer !== undefined) this.opts.clock.clearTimeout(w.timer);
          w.timer = undefined;
          if (!w.dirty) break;
          continue;
        }
        if (r?.requeueAfterMs !== undefined && !this.closed) this.enqueueAfter(uid, r.requeueAfterMs);
      }
    } finally {
      w.running = false;
      w.resolveIdle?.();
      w.idle = undefined;
      if (!w.dirty && w.timer === undefined && this.workers.get(uid) === w) this.workers.delete(uid);
      else if (w.dirty) this.kick(uid, w);
    }
  }
}
