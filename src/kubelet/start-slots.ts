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
 * a pod that has begun is finished before new pods begin.
 *
 * Concurrency: single-threaded (Node.js); `release()` is idempotent; a slot freed is handed to
 * the next waiter synchronously, so the count of holders never exceeds `limit`.
 */
export class StartSlots {
  private active = 0;
  private readonly resumed: Array<() => void> = [];
  private readonly fresh: Array<() => void> = [];

  /** `limit` < 1 or not finite: no limit. */
  constructor(readonly limit: number) {}

  lease(): StartLease {
    return new StartLease(this);
  }

  /** Holders now, and leases waiting for a slot. */
  stats(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.resumed.length + this.fresh.length };
  }

  /** @internal */
  acquire(resumed: boolean): Promise<void> | undefined {
    const unlimited = !(this.limit >= 1) || !Number.isFinite(this.limit);
    if (unlimited || (this.active < this.limit && !this.resumed.length && !this.fresh.length)) {
      this.active++;
      return undefined;
    }
    return new Promise<void>((resolve) => (resumed ? this.resumed : this.fresh).push(resolve));
  }

  /** @internal */
  free(): void {
    const next = this.resumed.shift() ?? this.fresh.shift();
    if (next) next(); // the slot passes to the waiter: `active` is unchanged
    else this.active--;
  }
}

export class StartLease {
  private state: 'idle' | 'waiting' | 'held' = 'idle';
  private used = false;
  private waiting?: Promise<void>;

  constructor(private readonly slots: StartSlots) {}

  get held(): boolean {
    return this.state === 'held';
  }

  /** Resolves once this lease holds a slot. Concurrent calls share one wait. */
  hold(): Promise<void> {
    if (this.state === 'held') return Promise.resolve();
    if (this.state === 'waiting') return this.waiting!;
    const p = this.slots.acquire(this.used);
    if (!p) {
      this.state = 'held';
      return Promise.resolve();
    }
    this.state = 'waiting';
    this.waiting = p.then(() => {
      this.waiting = undefined;
      if (this.state === 'waiting') this.state = 'held';
      else this.slots.free(); // released while waiting: pass the slot on
    });
    return this.waiting;
  }

  /** Give the slot back (no-op when none is held; a pending `hold` gives it back on arrival). */
  release(): void {
    if (this.state === 'idle') return;
    if (this.state === 'held') this.slots.free();
    this.state = 'idle';
    this.used = true;
  }
}
