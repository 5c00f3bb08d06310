import type { Logger } from '../util/log';

/**
 * Everything long-running is a Runnable. `start` resolves once the component is ready (caches
 * synced, loops running); the component keeps working until `signal` aborts, then `stopped`
 * resolves when it has finished.
 */
export interface Runnable {
  readonly name: string;
  start(signal: AbortSignal): Promise<void>;
  /** Resolves when the component has wound down after abort. Optional. */
  stopped?(): Promise<void>;
}

/** Starts runnables in order (each after the previous is ready); stops them in reverse. */
export class RunnableGroup {
  private readonly items: { r: Runnable; ctl: AbortController }[] = [];
  private readonly pending: Runnable[] = [];

  add(r: Runnable): void {
    this.pending.push(r);
  }

  async start(log: Logger): Promise<void> {
    while (this.pending.length) {
      const r = this.pending.shift()!;
      const ctl = new AbortController();
      const t = Date.now();
      await r.start(ctl.signal);
      this.items.push({ r, ctl });
      log.v(1, 'started', { component: r.name, ms: Date.now() - t });
    }
  }

  async stop(graceMs: number, log: Logger): Promise<void> {
    for (const { r, ctl } of [...this.items].reverse()) {
      ctl.abort();
      if (r.stopped) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((res) => {
          timer = setTimeout(() => {
            log.warn('component did not stop in time', { component: r.name, graceMs });
            res();
          }, graceMs);
        });
        await Promise.race([r.stopped(), timeout]);
        clearTimeout(timer);
      }
    }
    this.items.length = 0;
  }
}
