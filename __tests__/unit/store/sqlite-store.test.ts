import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SqliteStore, type StoreEvent } from '../../../src/store/sqlite-store';
import { AlreadyExistsError, ConflictError, ExpiredError, NotFoundError } from '../../../src/util/errors';

const obj = (name: string, extra: object = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, ...extra });
const key = (name: string) => `/core/configmaps/default/${name}`;

describe('SqliteStore', () => {
  let s: SqliteStore;
  beforeEach(() => (s = new SqliteStore({ path: ':memory:' })));
  afterEach(() => s.close());

  test('revisions are monotonic and become resourceVersions', () => {
    const a = s.create(key('a'), obj('a'));
    const b = s.create(key('b'), obj('b'));
    expect(a.metadata.resourceVersion).toBe('1');
    expect(b.metadata.resourceVersion).toBe('2');
    const a2 = s.update(key('a'), obj('a', { data: { x: '1' } }), 1);
    expect(a2.metadata.resourceVersion).toBe('3');
    expect(s.revision()).toBe(3);
  });

  test('create twice is AlreadyExists; missing is NotFound; stale revision is Conflict', () => {
    s.create(key('a'), obj('a'));
    expect(() => s.create(key('a'), obj('a'))).toThrow(AlreadyExistsError);
    expect(() => s.update(key('zz'), obj('zz'))).toThrow(NotFoundError);
    expect(() => s.delete(key('zz'))).toThrow(NotFoundError);
    s.update(key('a'), obj('a', { data: {} }), 1);
    expect(() => s.update(key('a'), obj('a'), 1)).toThrow(ConflictError);
    expect(() => s.delete(key('a'), 1)).toThrow(ConflictError);
  });

  test('objects handed out are frozen', () => {
    const a = s.create(key('a'), obj('a'));
    expect(() => {
      (a.metadata as { name: string }).name = 'x';
    }).toThrow(TypeError);
  });

  test('list filters by prefix and namespace', () => {
    s.create(key('a'), obj('a'));
    s.create('/core/configmaps/other/b', { ...obj('b'), metadata: { name: 'b', namespace: 'other' } });
    s.create('/core/secrets/default/c', obj('c'));
    expect(s.list('/core/configmaps/').items.map((o) => o.metadata.name).sort()).toEqual(['a', 'b']);
    expect(s.list('/core/configmaps/other/').items.map((o) => o.metadata.name)).toEqual(['b']);
  });

  test('watch replays after a revision then streams live, in order', () => {
    s.create(key('a'), obj('a'));
    s.create(key('b'), obj('b'));
    const seen: string[] = [];
    const stop = s.watch('/core/configmaps/', 1, (e: StoreEvent) => seen.push(`${e.type}:${e.object.metadata.name}:${e.revision}`));
    s.update(key('a'), obj('a', { data: { k: 'v' } }));
    s.delete(key('b'));
    stop();
    s.create(key('c'), obj('c'));
    expect(seen).toEqual(['ADDED:b:2', 'MODIFIED:a:3', 'DELETED:b:4']);
  });

  test('writes made inside a listener are delivered after the current event', () => {
    const order: string[] = [];
    s.watch('/', 0, (e) => {
      order.push('l1:' + e.object.metadata.name);
      if (e.object.metadata.name === 'a') s.create(key('b'), obj('b'));
    });
    s.watch('/', 0, (e) => order.push('l2:' + e.object.metadata.name));
    s.create(key('a'), obj('a'));
    expect(order).toEqual(['l1:a', 'l2:a', 'l1:b', 'l2:b']);
  });

  test('compaction answers 410 for older revisions but keeps live objects', () => {
    for (let i = 0; i < 10; i++) s.create(key('o' + i), obj('o' + i));
    s.update(key('o0'), obj('o0', { data: {} }));
    s.compact(0, 5);
    expect(() => s.watch('/', 3, () => undefined)).toThrow(ExpiredError);
    expect(() => s.watch('/', 5, () => undefined)).not.toThrow();
    expect(s.list('/core/configmaps/').items).toHaveLength(10);
  });

  test('state and history survive reopening the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-'));
    const file = path.join(dir, 'db');
    const a = new SqliteStore({ path: file });
    a.create(key('a'), obj('a'));
    a.create(key('b'), obj('b'));
    a.delete(key('b'));
    a.close();
    const b = new SqliteStore({ path: file });
    expect(b.revision()).toBe(3);
    expect(b.get(key('a'))?.metadata.resourceVersion).toBe('1');
    expect(b.get(key('b'))).toBeUndefined();
    const seen: string[] = [];
    b.watch('/', 1, (e) => seen.push(`${e.type}:${e.object.metadata.name}`));
    expect(seen).toEqual(['ADDED:b', 'DELETED:b']);
    expect(b.create(key('c'), obj('c')).metadata.resourceVersion).toBe('4');
    b.close();
    fs.rmSync(dir, { recursive: true });
  });
});
