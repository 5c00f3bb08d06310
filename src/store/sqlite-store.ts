import Database from 'better-sqlite3';
import type { KObject } from '../api/types';
import { AlreadyExistsError, ConflictError, ExpiredError, NotFoundError } from '../util/errors';

/**
 * SQLite-backed object store, modelled on kine: an append-only `log` table whose row id is the
 * revision (= the resourceVersion of every object written at that revision), and a `kv` table
 * pointing each live key at its newest log row.
 *
 * Contracts:
 * - One monotonic revision for the whole store. Every write commits before it returns
 *   (WAL; `synchronous=NORMAL` survives a killed process, `fsync: true` also survives power loss).
 * - update/delete with an expected revision fail with ConflictError (409) on mismatch.
 * - Objects handed out are deep-frozen and shared: callers clone before mutating.
 * - watch(prefix, afterRev) replays every change after `afterRev` then streams live changes in
 *   revision order; a revision older than the compaction point throws ExpiredError (410).
 * - Listeners run synchronously after the commit; writes made from inside a listener are queued
 *   and delivered after the current event to every listener, so order is preserved.
 */
export type StoreEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: StoreEventType;
  key: string;
  revision: number;
  object: KObject;
  /** state before this change (MODIFIED and DELETED), when known */
  prevObject?: KObject;
}

export type StoreListener = (ev: StoreEvent) => void;

export interface StoreOptions {
  /** file path or ':memory:' */
  path: string;
  /** fsync every commit (synchronous=FULL). Default false: survives process kill, not power loss. */
  fsync?: boolean;
  /** events kept in memory for fast watch replay */
  historySize?: number;
}

interface Entry {
  rev: number;
  obj: KObject;
}

const TYPE_CODE: Record<StoreEventType, number> = { ADDED: 0, MODIFIED: 1, DELETED: 2 };
const CODE_TYPE: StoreEventType[] = ['ADDED', 'MODIFIED', 'DELETED'];

/** `/group/resource/` from a key `/group/resource/[ns/]name`. */
function resourcePrefixOf(key: string): string {
  const i = key.indexOf('/', 1);
  const j = key.indexOf('/', i + 1);
  return key.slice(0, j + 1);
}

export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as Record<string, unknown>)) deepFreeze(v);
  }
  return o;
}

export class SqliteStore {
  private readonly db: Database.Database;
  private readonly byResource = new Map<string, Map<string, Entry>>();
  private rev = 0;
  private compacted = 0;
  private readonly history: StoreEvent[] = [];
  private readonly historySize: number;
  private readonly listeners = new Set<{ prefix: string; fn: StoreListener }>();
  private readonly pending: StoreEvent[] = [];
  private dispatching = false;
  private readonly stmts: {
    insertLog: Database.Statement;
    upsertKv: Database.Statement;
    deleteKv: Database.Statement;
    setMeta: Database.Statement;
    replay: Database.Statement;
  };
  private readonly writeTx: (key: string, type: StoreEventType, value: string, live: boolean) => number;

  constructor(opts: StoreOptions) {
    this.historySize = opts.historySize ?? 20000;
    this.db = new Database(opts.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${opts.fsync ? 'FULL' : 'NORMAL'}`);
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS log (rev INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, type INTEGER NOT NULL, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, rev INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
    `);
    this.stmts = {
      insertLog: this.db.prepare('INSERT INTO log (key, type, value) VALUES (?, ?, ?)'),
      upsertKv: this.db.prepare('INSERT INTO kv (key, rev) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET rev = excluded.rev'),
      deleteKv: this.db.prepare('DELETE FROM kv WHERE key = ?'),
      setMeta: this.db.prepare('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v'),
      replay: this.db.prepare('SELECT rev, key, type, value FROM log WHERE rev > ? ORDER BY rev'),
    };
    this.writeTx = this.db.transaction((key: string, type: StoreEventType, value: string, live: boolean) => {
      const rev = Number(this.stmts.insertLog.run(key, TYPE_CODE[type], value).lastInsertRowid);
      if (live) this.stmts.upsertKv.run(key, rev);
      else this.stmts.deleteKv.run(key);
      return rev;
    });
    this.load();
  }

  private load(): void {
    const maxRow = this.db.prepare('SELECT MAX(rev) AS r FROM log').get() as { r: number | null };
    const seq = this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'log'").get() as { seq: number } | undefined;
    this.rev = Math.max(maxRow.r ?? 0, seq?.seq ?? 0);
    const c = this.db.prepare("SELECT v FROM meta WHERE k = 'compacted'").get() as { v: number } | undefined;
    this.compacted = c?.v ?? 0;
    const rows = this.db.prepare('SELECT kv.key AS key, kv.rev AS rev, log.value AS value FROM kv JOIN log ON log.rev = kv.rev').iterate() as IterableIterator<{ key: string; rev: number; value: string }>;
    for (const row of rows) {
      this.indexFor(row.key).set(row.key, { rev: row.rev, obj: deepFreeze(JSON.parse(row.value)) });
    }
  }

  private indexFor(key: string): Map<string, Entry> {
    const p = resourcePrefixOf(key);
    let m = this.byResource.get(p);
    if (!m) {
      m = new Map();
      this.byResource.set(p, m);
    }
    return m;
  }

  /** The newest revision written. */
  revision(): number {
    return this.rev;
  }

  /** Revisions at or below this cannot be replayed. */
  compactedRevision(): number {
    return this.compacted;
  }

  get(key: string): KObject | undefined {
    return this.byResource.get(resourcePrefixOf(key))?.get(key)?.obj;
  }

  /** Every live object whose key starts with `prefix` (which must include the resource segment). */
  list(prefix: string): { items: KObject[]; revision: number } {
    const m = this.byResource.get(resourcePrefixOf(prefix));
    const items: KObject[] = [];
    if (m) {
      const all = prefix === resourcePrefixOf(prefix);
      for (const [k, e] of m) if (all || k.startsWith(prefix)) items.push(e.obj);
    }
    return { items, revision: this.rev };
  }

  count(prefix: string): number {
    return this.byResource.get(resourcePrefixOf(prefix))?.size ?? 0;
  }

  private commit(key: string, type: StoreEventType, obj: KObject, prev: KObject | undefined): KObject {
    const next = this.rev + 1;
    const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(next) } };
    const rev = this.writeTx(key, type, JSON.stringify(stored), type !== 'DELETED');
    if (rev !== next) {
      // AUTOINCREMENT never reuses ids, so this means something outside wrote to the file.
      stored.metadata.resourceVersion = String(rev);
    }
    this.rev = rev;
    deepFreeze(stored);
    if (type === 'DELETED') this.indexFor(key).delete(key);
    else this.indexFor(key).set(key, { rev, obj: stored });
    const ev: StoreEvent = { type, key, revision: rev, object: stored, prevObject: prev };
    this.history.push(ev);
    if (this.history.length > this.historySize * 1.25) this.history.splice(0, this.history.length - this.historySize);
    this.publish(ev);
    return stored;
  }

  create(key: string, obj: KObject, resource = 'objects', name = key): KObject {
    if (this.get(key)) throw new AlreadyExistsError(resource, name);
    return this.commit(key, 'ADDED', obj, undefined);
  }

  /** Replaces the object at key. `expectedRev` (when given) must equal the stored revision. */
  update(key: string, obj: KObject, expectedRev?: number, resource = 'objects', name = key): KObject {
    const cur = this.byResource.get(resourcePrefixOf(key))?.get(key);
    if (!cur) throw new NotFoundError(resource, name);
    if (expectedRev !== undefined && expectedRev !== cur.rev) {
      throw new ConflictError(resource, name, 'the object has been modified; please apply your changes to the latest version and try again');
    }
    return this.commit(key, 'MODIFIED', obj, cur.obj);
  }

  delete(key: string, expectedRev?: number, resource = 'objects', name = key): KObject {
    const cur = this.byResource.get(resourcePrefixOf(key))?.get(key);
    if (!cur) throw new NotFoundError(resource, name);
    if (expectedRev !== undefined && expectedRev !== cur.rev) {
      throw new ConflictError(resource, name, 'the object has been modified; please apply your changes to the latest version and try again');
    }
    return this.commit(key, 'DELETED', cur.obj, cur.obj);
  }

  private publish(ev: StoreEvent): void {
    this.pending.push(ev);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      while (this.pending.length) {
        const e = this.pending.shift()!;
        for (const l of [...this.listeners]) {
          if (!e.key.startsWith(l.prefix)) continue;
          try {
            l.fn(e);
          } catch {
            // A listener's failure must not break the write path or other listeners.
          }
        }
      }
    } finally {
      this.dispatching = false;
    }
  }

  /**
   * Calls `fn` for every change under `prefix` after revision `afterRev` (replayed first), then for
   * each new change. Returns the unsubscribe function.
   */
  watch(prefix: string, afterRev: number, fn: StoreListener): () => void {
    if (afterRev < this.compacted) {
      throw new ExpiredError(`too old resource version: ${afterRev} (${this.compacted})`);
    }
    if (afterRev < this.rev) {
      for (const ev of this.eventsAfter(afterRev)) if (ev.key.startsWith(prefix)) fn(ev);
    }
    const l = { prefix, fn };
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private eventsAfter(afterRev: number): StoreEvent[] {
    const first = this.history[0];
    if (first && first.revision <= afterRev + 1) {
      // binary search the in-memory history
      let lo = 0;
      let hi = this.history.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.history[mid].revision <= afterRev) lo = mid + 1;
        else hi = mid;
      }
      return this.history.slice(lo);
    }
    const out: StoreEvent[] = [];
    const lastByKey = new Map<string, KObject>();
    for (const row of this.stmts.replay.iterate(afterRev) as IterableIterator<{ rev: number; key: string; type: number; value: string }>) {
      const object = deepFreeze(JSON.parse(row.value)) as KObject;
      const type = CODE_TYPE[row.type];
      out.push({ type, key: row.key, revision: row.rev, object, prevObject: lastByKey.get(row.key) });
      lastByKey.set(row.key, object);
    }
    return out;
  }

  /**
   * Drops history at or below `rev` (default: all but the newest `keep` revisions). Live objects
   * are never dropped. Watches from older revisions then answer 410.
   */
  compact(keep = 10000, rev = this.rev - keep): number {
    if (rev <= this.compacted) return 0;
    const res = this.db.prepare('DELETE FROM log WHERE rev <= ? AND rev NOT IN (SELECT rev FROM kv)').run(rev);
    this.stmts.setMeta.run('compacted', rev);
    this.compacted = rev;
    let i = 0;
    while (i < this.history.length && this.history[i].revision <= rev) i++;
    this.history.splice(0, i);
    return res.changes;
  }

  close(): void {
    this.listeners.clear();
    if (this.db.open) this.db.close();
  }
}
