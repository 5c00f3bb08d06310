/**
 * Bounded parallelism for starting pods on one node.
 *
 * Creating and starting containers is the expensive part of a pod sync, and the container
 * engine serialises much of it (network set-up, mounts, the shim); a burst of pods started
 * all at once finishes each pod late and, on a small machine, no sooner overall. `StartSlots`
 * lets at most `limit` pod syncs do that work at a time; the others wait in arrival order, so
 * pods become Running one after another instead of all at the end.
 *
 * Each pod sync takes a `StartLease`: `hold()` before runtime work that creates or starts
 * something (resolves at once when the lease already holds a slot), `release()` before a wait
 * that is not runtime work (an image pull, a lifecycle hook, a grace period) and when the sync
 * ends. A lease that released and holds again is served before leases that never held one, so
 * a pod that has begun is finished before new pods begin. `cancelWait()` ends a wait from
 * outside the sync (the pod is being deleted): its `hold()` resolves false.
 *
 * Concurrency: single-threaded (Node.js). A slot freed is handed to the next waiter
 * synchronously, so the number of holders never exceeds `limit`.
 */
interface Waiter {
  grant: (granted: boolean) => void;
}

export class StartSlots {
  private active = 0;
  private readonly resumed: Waiter[] = [];
  private readonly fresh: Waiter[] = [];
  private readonly unlimited: boolean;

  /** `limit` < 1 or not finite: no limit. */
  constructor(readonly limit: number) {
    this.unlimited = !(limit >= 1) || !Number.isFinite(limit);
  }

  lease(): StartLease {
    return new StartLease(this);
  }

  /** Holders now, and leases waiting for a slot. */
  stats(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.resumed.length + this.fresh.length };
  }

  /** @internal A slot now (true), or a waiter queued behind the others. */
  acquire(w: Waiter, resumed: boolean): boolean {
    if (this.unlimited || (this.active < this.limit && !this.resumed.length && !this.fresh.length)) {
      this.active++;
      return true;
    }
    (resumed ? this.resumed : this.fresh).push(w);
    return false;
  }

  /** @internal Give a slot back: it passes to the next waiter, if any. */
  free(): void {
    const next = this.resumed.shift() ?? this.fresh.shift();
    if (next) next.grant(true); // `active` is unchanged: the slot changes hands
    else this.active--;
  }

  /** @internal Remove a waiter from the queues; false when it was not queued. */
  withdraw(w: Waiter): boolean {
    for (const q of [this.resumed, this.fresh]) {
      const i = q.indexOf(w);
      if (i >= 0) {
        q.splice(i, 1);
        return true;
      }
    }
    return false;
  }
}

export class StartLease {
  private state: 'idle' | 'waiting' | 'held' = 'idle';
  private used = false;
  private waiter?: Waiter;
  private waiting?: Promise<boolean>;

  constructor(private readonly slots: StartSlots) {}

  get held(): boolean {
    return this.state === 'held';
  }

  get isWaiting(): boolean {
    return this.state === 'waiting';
  }

  /**
   * Resolves true once this lease holds a slot (at once when it already does), false when the
   * wait was cancelled (`cancelWait` or `release`). Concurrent calls share one wait.
   */
  hold(): Promise<boolean> {
    if (this.state === 'held') return Promise.resolve(true);
    if (this.state === 'waiting') return this.waiting!;
    let grant!: (granted: boolean) => void;
    const waiting = new Promise<boolean>((r) => (grant = r));
    const w: Waiter = {
      grant: (granted) => {
        if (this.waiter !== w) return;
        this.waiter = undefined;
        this.waiting = undefined;
        this.state = granted ? 'held' : 'idle';
        grant(granted);
      },
    };
    if (this.slots.acquire(w, this.used)) {
      this.state = 'held';
      return Promise.resolve(true);
    }
    this.state = 'waiting';
    this.waiter = w;
    this.waiting = waiting;
    return waiting;
  }

  /** Give the slot back, or stop waiting for one; no-op when idle. */
  release(): void {
    if (this.state === 'waiting') return this.cancelWait();
    if (this.state !== 'held') return;
    this.state = 'idle';
    this.used = true;
    this.slots.free();
  }

  /** Stop waiting for a slot (the pending `hold()` resolves false); no-op unless waiting. */
  cancelWait(): void {
    const w = this.waiter;
    if (this.state !== 'waiting' || !w) return;
    this.slots.withdraw(w);
    w.grant(false);
  }
}
