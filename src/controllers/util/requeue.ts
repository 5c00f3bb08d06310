import type { Clock } from '../../controller/workqueue';

/**
 * Delayed re-enqueueing where the earliest request wins: asking for a key in 5 s replaces a
 * pending request for the same key in 600 s (a Deployment whose progress deadline was shortened,
 * a pod that becomes available sooner than another). A later request while an earlier one is
 * pending is dropped. Used by the workload controllers instead of `requeueAfterMs`, whose
 * workqueue keeps the first pending delay whatever comes later.
 *
 * `bind` must be called (in the controller's setup) before `after`; `stop` cancels everything.
 */
export class DelayedEnqueue {
  private readonly pending = new Map<string, { at: number; handle: unknown }>();
  private enqueue?: (key: string) => void;
  private stopped = false;

  constructor(private readonly clock: Clock) {}

  bind(enqueue: (key: string) => void): void {
    this.enqueue = enqueue;
  }

  after(key: string, ms: number): void {
    if (this.stopped || !this.enqueue) return;
    const at = this.clock.now() + Math.max(0, ms);
    const cur = this.pending.get(key);
    if (cur && cur.at <= at) return;
    if (cur) this.clock.clearTimeout(cur.handle);
    const handle = this.clock.setTimeout(() => {
      this.pending.delete(key);
      if (!this.stopped) this.enqueue?.(key);
    }, Math.max(0, ms));
    this.pending.set(key, { at, handle });
  }

  stop(): void {
    this.stopped = true;
    for (const p of this.pending.values()) this.clock.clearTimeout(p.handle);
    this.pending.clear();
  }
}
