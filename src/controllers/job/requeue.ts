import type { Clock } from '../../controller/workqueue';

/**
 * Per-key "look again at time T" timers for deadline-driven controllers (job back-off and
 * deadlines, TTL, cron schedules, node grace periods, HPA sync). Unlike `WorkQueue.addAfter`,
 * a request earlier than the pending one replaces it, so the earliest deadline always wins;
 * a later request while an earlier one is pending is ignored (the earlier reconcile asks again).
 * Timers run on the injected clock. Not thread-affine: call from reconcile or handlers.
 */
export class DelayedRequeue {
  private readonly timers = new Map<string, { at: number; handle: unknown }>();
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly enqueue: (key: string) => void,
  ) {}

  /** Enqueues `key` once `delayMs` has passed (at once when <= 0). */
  after(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) {
      this.enqueue(key);
      return;
    }
    const at = this.clock.now() + delayMs;
    const cur = this.timers.get(key);
    if (cur && cur.at <= at) return;
    if (cur) this.clock.clearTimeout(cur.handle);
    const handle = this.clock.setTimeout(() => {
      const t = this.timers.get(key);
      if (t && t.handle === handle) this.timers.delete(key);
      this.enqueue(key);
    }, delayMs);
    this.timers.set(key, { at, handle });
  }

  /** Forgets the key's pending timer (the object is gone). */
  forget(key: string): void {
    const cur = this.timers.get(key);
    if (cur) this.clock.clearTimeout(cur.handle);
    this.timers.delete(key);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) this.clock.clearTimeout(t.handle);
    this.timers.clear();
  }
}
