import type { Runnable } from '../manager/runnable';
import type { Logger } from '../util/log';
import { WorkQueue, realClock, type Clock } from './workqueue';

/**
 * A level-triggered controller: event sources add keys to the queue, workers call
 * `reconcile(key)`, which must re-read current state. Throwing requeues with back-off; returning
 * `{ requeueAfterMs }` schedules another look.
 */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

export interface ControllerOptions {
  name: string;
  reconcile: (key: string) => Promise<ReconcileResult | void> | ReconcileResult | void;
  /** Called once at start, before workers run: register event handlers that call `enqueue`. */
  setup: (enqueue: (key: string) => void, signal: AbortSignal) => Promise<void> | void;
  teardown?: () => void;
  workers?: number;
  log: Logger;
  clock?: Clock;
}

export class Controller implements Runnable {
  readonly name: string;
  readonly queue: WorkQueue;
  private loops: Promise<void>[] = [];

  constructor(private readonly opts: ControllerOptions) {
    this.name = opts.name;
    this.queue = new WorkQueue(opts.clock ?? realClock);
  }

  async start(signal: AbortSignal): Promise<void> {
    await this.opts.setup((k) => this.queue.add(k), signal);
    signal.addEventListener('abort', () => {
      this.queue.shutdown();
      this.opts.teardown?.();
    });
    for (let i = 0; i < (this.opts.workers ?? 1); i++) this.loops.push(this.worker());
  }

  async stopped(): Promise<void> {
    await Promise.all(this.loops);
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        const r = await this.opts.reconcile(key);
        this.queue.forget(key);
        if (r && r.requeueAfterMs !== undefined) this.queue.addAfter(key, r.requeueAfterMs);
      } catch (e) {
        this.opts.log.v(1, 'reconcile failed, requeued', { controller: this.name, key, error: (e as Error).message, retries: this.queue.numRequeues(key) });
        this.queue.addRateLimited(key);
      } finally {
        this.queue.done(key);
      }
    }
  }
}
