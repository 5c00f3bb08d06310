import type { Clock } from '../controller/workqueue';
import type { ClusterEvent } from './framework';
import type { PodInfo } from './pod-info';

/**
 * The scheduling queue (kube-scheduler's PriorityQueue):
 * - activeQ: pods ready to be tried, highest spec.priority first, then oldest first;
 * - backoffQ: pods that failed recently, released when their back-off (1 s doubling to 10 s per
 *   attempt) expires;
 * - unschedulable: pods no node fits; they move back (to backoffQ while still backing off, else to
 *   activeQ) when a cluster event arrives that one of the plugins that rejected them registered
 *   for, or after `maxUnschedulableMs` (5 min) regardless;
 * - gated: pods with spec.schedulingGates, held until the gates are removed.
 * Keys are namespace/name; a pod being scheduled ("in flight") is in none of the sets.
 * Single-threaded: the informer handlers and the scheduling loop call in turn.
 */
export interface QueuedPodInfo {
  info: PodInfo;
  /** when the pod (re-)entered the queue: activeQ order and back-off base */
  timestamp: number;
  /** when the pod first entered the queue (end-to-end latency) */
  initialTimestamp: number;
  attempts: number;
  /** plugins that rejected the pod in its last attempt; empty = any event may help */
  unschedulablePlugins: Set<string>;
  where: 'active' | 'backoff' | 'unschedulable' | 'gated' | 'inflight' | 'gone';
  heapIndex: number;
}

export interface QueueOptions {
  clock: Clock;
  /** plugin name → the events it registered */
  eventsByPlugin: ReadonlyMap<string, ReadonlySet<ClusterEvent>>;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  maxUnschedulableMs?: number;
  /** how often pods stuck in unschedulable are checked against maxUnschedulableMs */
  leftoverFlushIntervalMs?: number;
}

class Heap {
  readonly items: QueuedPodInfo[] = [];
  constructor(private readonly less: (a: QueuedPodInfo, b: QueuedPodInfo) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): QueuedPodInfo | undefined {
    return this.items[0];
  }

  push(x: QueuedPodInfo): void {
    x.heapIndex = this.items.length;
    this.items.push(x);
    this.up(x.heapIndex);
  }

  pop(): QueuedPodInfo | undefined {
    if (!this.items.length) return undefined;
    const top = this.items[0];
    this.removeAt(0);
    return top;
  }

  remove(x: QueuedPodInfo): void {
    const i = x.heapIndex;
    if (i >= 0 && i < this.items.length && this.items[i] === x) this.removeAt(i);
  }

  fix(x: QueuedPodInfo): void {
    const i = x.heapIndex;
    if (i < 0 || i >= this.items.length || this.items[i] !== x) return;
    this.up(i);
    this.down(x.heapIndex);
  }

  private removeAt(i: number): void {
    const last = this.items.pop()!;
    const removed = i < this.items.length ? this.items[i] : last;
    removed.heapIndex = -1;
    if (i < this.items.length) {
      this.items[i] = last;
      last.heapIndex = i;
      this.up(i);
      this.down(last.heapIndex);
    }
  }

  private up(i: number): void {
    const a = this.items;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i], a[p])) break;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const a = this.items;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && this.less(a[l], a[m])) m = l;
      if (r < a.length && this.less(a[r], a[m])) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(i: number, j: number): void {
    const a = this.items;
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
    a[i].heapIndex = i;
    a[j].heapIndex = j;
  }
}

export class SchedulingQueue {
  private readonly active = new Heap((a, b) => (a.info.priority !== b.info.priority ? a.info.priority > b.info.priority : a.timestamp < b.timestamp));
  private readonly backoff = new Heap((a, b) => this.backoffExpiry(a) < this.backoffExpiry(b));
  private readonly unschedulable = new Map<string, QueuedPodInfo>();
  private readonly gated = new Map<string, QueuedPodInfo>();
  private readonly all = new Map<string, QueuedPodInfo>();
  private waiter?: () => void;
  private closed = false;
  private backoffTimer: unknown;
  private backoffTimerAt = Infinity;
  private leftoverTimer: unknown;
  private readonly clock: Clock;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxUnschedulableMs: number;
  private readonly leftoverIntervalMs: number;

  constructor(private readonly opts: QueueOptions) {
    this.clock = opts.clock;
    this.initialBackoffMs = opts.initialBackoffMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.maxUnschedulableMs = opts.maxUnschedulableMs ?? 5 * 60_000;
    this.leftoverIntervalMs = opts.leftoverFlushIntervalMs ?? 30_000;
    this.scheduleLeftoverFlush();
  }

  /** kube's calculateBackoffDuration: initial, doubled per further attempt, capped. */
  backoffDuration(attempts: number): number {
    let d = this.initialBackoffMs;
    for (let i = 1; i < attempts; i++) {
      if (d > this.maxBackoffMs - d) return this.maxBackoffMs;
      d += d;
    }
    return Math.min(d, this.maxBackoffMs);
  }

  backoffExpiry(q: QueuedPodInfo): number {
    return q.timestamp + this.backoffDuration(q.attempts);
  }

  private isBackingOff(q: QueuedPodInfo): boolean {
    return q.attempts > 0 && this.backoffExpiry(q) > this.clock.now();
  }

  /** A new pending pod (or a re-add of a known one, which is treated as an update). */
  add(info: PodInfo): void {
    if (this.closed) return;
    const cur = this.all.get(info.key);
    if (cur) return this.update(info);
    const now = this.clock.now();
    const q: QueuedPodInfo = { info, timestamp: now, initialTimestamp: now, attempts: 0, unschedulablePlugins: new Set(), where: 'active', heapIndex: -1 };
    this.all.set(info.key, q);
    if (info.gated) {
      q.where = 'gated';
      this.gated.set(info.key, q);
      return;
    }
    this.pushActive(q);
  }

  /**
   * A newer version of a pending pod. An unschedulable pod whose spec or labels changed is retried;
   * a pod whose gates were all removed enters activeQ. A pod in flight keeps the new version for
   * its requeue.
   */
  update(info: PodInfo, specChanged = true): void {
    const q = this.all.get(info.key);
    if (!q) return this.add(info);
    if (q.info.uid !== info.uid) {
      this.delete(info.key);
      return this.add(info);
    }
    const priorityChanged = q.info.priority !== info.priority;
    q.info = info;
    switch (q.where) {
      case 'gated':
        if (!info.gated) {
          this.gated.delete(info.key);
          this.pushActive(q);
        }
        break;
      case 'active':
        if (priorityChanged) this.active.fix(q);
        break;
      case 'unschedulable':
        if (specChanged) {
          this.unschedulable.delete(info.key);
          this.requeue(q);
        }
        break;
      default:
        break;
    }
  }

  /** The pod is gone (deleted, bound elsewhere, or no longer ours). */
  delete(key: string): void {
    const q = this.all.get(key);
    if (!q) return;
    this.all.delete(key);
    this.detach(q);
    q.where = 'gone';
  }

  private detach(q: QueuedPodInfo): void {
    if (q.where === 'active') this.active.remove(q);
    else if (q.where === 'backoff') this.backoff.remove(q);
    else if (q.where === 'unschedulable') this.unschedulable.delete(q.info.key);
    else if (q.where === 'gated') this.gated.delete(q.info.key);
  }

  has(key: string): boolean {
    return this.all.has(key);
  }

  get(key: string): QueuedPodInfo | undefined {
    return this.all.get(key);
  }

  /** The next pod to schedule, or undefined when activeQ is empty. Marks it in flight. */
  tryPop(): QueuedPodInfo | undefined {
    const q = this.active.pop();
    if (!q) return undefined;
    q.where = 'inflight';
    q.attempts++;
    return q;
  }

  /** Waits for a pod; resolves undefined once the queue is closed. */
  async pop(): Promise<QueuedPodInfo | undefined> {
    for (;;) {
      if (this.closed) return undefined;
      const q = this.tryPop();
      if (q) return q;
      await new Promise<void>((r) => (this.waiter = r));
    }
  }

  /**
   * The attempt failed. `plugins` are those that rejected the pod; with `error` the pod goes
   * straight to backoffQ (an internal error or a failed binding), otherwise to unschedulable.
   */
  addUnschedulable(q: QueuedPodInfo, plugins: Set<string>, error = false): void {
    if (q.where === 'gone' || this.closed) return;
    q.timestamp = this.clock.now();
    q.unschedulablePlugins = plugins;
    if (error) {
      this.pushBackoff(q);
      return;
    }
    q.where = 'unschedulable';
    this.unschedulable.set(q.info.key, q);
  }

  /** Forgets a pod that was scheduled (the informer will report it bound). */
  done(q: QueuedPodInfo): void {
    if (q.where !== 'inflight') return;
    this.all.delete(q.info.key);
    q.where = 'gone';
  }

  /** A cluster event: retry the unschedulable pods one of whose rejecting plugins registered for it. */
  moveAllToActiveOrBackoff(event: ClusterEvent, filter?: (q: QueuedPodInfo) => boolean): number {
    if (!this.unschedulable.size) return 0;
    let moved = 0;
    for (const q of [...this.unschedulable.values()]) {
      if (!this.interested(q, event)) continue;
      if (filter && !filter(q)) continue;
      this.unschedulable.delete(q.info.key);
      this.requeue(q);
      moved++;
    }
    return moved;
  }

  private interested(q: QueuedPodInfo, event: ClusterEvent): boolean {
    if (q.unschedulablePlugins.size === 0) return true;
    for (const p of q.unschedulablePlugins) if (this.opts.eventsByPlugin.get(p)?.has(event)) return true;
    return false;
  }

  private requeue(q: QueuedPodInfo): void {
    if (this.isBackingOff(q)) this.pushBackoff(q);
    else this.pushActive(q);
  }

  private pushActive(q: QueuedPodInfo): void {
    q.where = 'active';
    this.active.push(q);
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w();
    }
  }

  private pushBackoff(q: QueuedPodInfo): void {
    q.where = 'backoff';
    this.backoff.push(q);
    this.armBackoffTimer();
  }

  private armBackoffTimer(): void {
    const top = this.backoff.peek();
    if (!top) return;
    const at = this.backoffExpiry(top);
    if (this.backoffTimer !== undefined && this.backoffTimerAt <= at) return;
    if (this.backoffTimer !== undefined) this.clock.clearTimeout(this.backoffTimer);
    this.backoffTimerAt = at;
    this.backoffTimer = this.clock.setTimeout(
      () => {
        this.backoffTimer = undefined;
        this.backoffTimerAt = Infinity;
        this.flushBackoffCompleted();
      },
      Math.max(0, at - this.clock.now()),
    );
  }

  /** Moves pods whose back-off expired to activeQ (timer-driven; callable directly in tests). */
  flushBackoffCompleted(): void {
    const now = this.clock.now();
    for (;;) {
      const top = this.backoff.peek();
      if (!top || this.backoffExpiry(top) > now) break;
      this.backoff.pop();
      this.pushActive(top);
    }
    this.armBackoffTimer();
  }

  private scheduleLeftoverFlush(): void {
    if (this.closed) return;
    this.leftoverTimer = this.clock.setTimeout(() => {
      this.flushUnschedulableLeftover();
      this.scheduleLeftoverFlush();
    }, this.leftoverIntervalMs);
  }

  /** Retries pods that have been unschedulable for longer than maxUnschedulableMs. */
  flushUnschedulableLeftover(): void {
    const now = this.clock.now();
    for (const q of [...this.unschedulable.values()]) {
      if (now - q.timestamp < this.maxUnschedulableMs) continue;
      this.unschedulable.delete(q.info.key);
      this.requeue(q);
    }
  }

  /** Sizes of the sub-queues (for status and tests). */
  stats(): { active: number; backoff: number; unschedulable: number; gated: number } {
    return { active: this.active.size, backoff: this.backoff.size, unschedulable: this.unschedulable.size, gated: this.gated.size };
  }

  close(): void {
    this.closed = true;
    if (this.backoffTimer !== undefined) this.clock.clearTimeout(this.backoffTimer);
    if (this.leftoverTimer !== undefined) this.clock.clearTimeout(this.leftoverTimer);
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}
