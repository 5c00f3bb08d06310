import type { Clock } from '../../controller/workqueue';

/**
 * Controller expectations (Kubernetes' `UIDTrackingControllerExpectations`): before creating or
 * deleting N objects a controller records that it expects to observe N creations/deletions; the
 * informer handlers lower the counts as the events arrive. While expectations are pending the
 * controller does not act on its (possibly stale) view again, so a burst of events never makes
 * it create or delete twice. Deletions are tracked by object key so that seeing a pod first
 * marked for deletion and later removed counts once. Expectations older than `ttlMs` (default
 * 5 minutes) are considered satisfied, so a lost event cannot wedge a controller.
 *
 * Not thread-safe by design: everything runs on the one Node.js event loop.
 */
interface Record_ {
  add: number;
  del: number;
  deleteKeys: Set<string>;
  at: number;
}

export class ControllerExpectations {
  private readonly records = new Map<string, Record_>();

  constructor(
    private readonly clock: Pick<Clock, 'now'>,
    private readonly ttlMs = 5 * 60_000,
  ) {}

  /** True when nothing is pending for the controller key (or the record expired). */
  satisfied(key: string): boolean {
    const r = this.records.get(key);
    if (!r) return true;
    if (r.add <= 0 && r.del <= 0) return true;
    return this.clock.now() - r.at > this.ttlMs;
  }

  expectCreations(key: string, n: number): void {
    this.records.set(key, { add: n, del: 0, deleteKeys: new Set(), at: this.clock.now() });
  }

  /** Expects the deletion of these object keys (namespace/name). */
  expectDeletions(key: string, objectKeys: string[]): void {
    this.records.set(key, { add: 0, del: objectKeys.length, deleteKeys: new Set(objectKeys), at: this.clock.now() });
  }

  /** Expects `add` creations and `del` deletions of not-yet-known objects (DaemonSet style). */
  setExpectations(key: string, add: number, objectKeysToDelete: string[]): void {
    this.records.set(key, { add, del: objectKeysToDelete.length, deleteKeys: new Set(objectKeysToDelete), at: this.clock.now() });
  }

  creationObserved(key: string): void {
    const r = this.records.get(key);
    if (r && r.add > 0) r.add--;
  }

  /** Lowers the deletion count once per expected object key; unknown keys are ignored. */
  deletionObserved(key: string, objectKey: string): void {
    const r = this.records.get(key);
    if (!r || !r.deleteKeys.has(objectKey)) return;
    r.deleteKeys.delete(objectKey);
    if (r.del > 0) r.del--;
  }

  /** Gives up on creations that will never be observed (the create call failed). */
  lowerCreations(key: string, n: number): void {
    const r = this.records.get(key);
    if (r) r.add = Math.max(0, r.add - n);
  }

  delete(key: string): void {
    this.records.delete(key);
  }

  /** For tests and diagnostics: the pending counts. */
  pending(key: string): { add: number; del: number } | undefined {
    const r = this.records.get(key);
    return r ? { add: r.add, del: r.del } : undefined;
  }
}
