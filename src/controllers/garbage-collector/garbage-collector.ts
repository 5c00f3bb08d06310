import type { KObject } from '../../api/types';
import { RESOURCES, resourceFor, type ResourceInfo } from '../../api/scheme';
import { objectKey, type Registry } from '../../apiserver/registry';
import { Controller } from '../../controller/controller';
import { NotFoundError } from '../../util/errors';
import type { Logger } from '../../util/log';

/**
 * The garbage collector: follows every object's ownerReferences.
 * - An object all of whose owners are gone is deleted (background cascading).
 * - An owner being deleted with the `foregroundDeletion` finalizer has its dependents deleted
 *   first; the finalizer is removed when none is left.
 * - An owner with the `orphan` finalizer has its ownerReference removed from every dependent, then
 *   the finalizer removed.
 * Reconciles object keys (`/group/resource/ns/name`), always from the current store state.
 */
function parseKey(key: string): { ri: ResourceInfo; ns?: string; name: string } | undefined {
  const parts = key.split('/');
  const ri = resourceFor(parts[1] === 'core' ? '' : parts[1], parts[2]);
  if (!ri) return undefined;
  return ri.namespaced ? { ri, ns: parts[3], name: parts[4] } : { ri, name: parts[3] };
}

export function garbageCollector(registry: Registry, log: Logger): Controller {
  const store = registry.store;
  const keyByUid = new Map<string, string>();
  const dependents = new Map<string, Set<string>>();
  let unsubscribe: (() => void) | undefined;

  const index = (key: string, o: KObject | undefined, prev: KObject | undefined, enqueue: (k: string) => void) => {
    for (const r of prev?.metadata.ownerReferences ?? []) dependents.get(r.uid)?.delete(key);
    if (prev?.metadata.uid && !o) {
      keyByUid.delete(prev.metadata.uid);
      // the owner is gone: look at its dependents
      for (const d of dependents.get(prev.metadata.uid) ?? []) enqueue(d);
    }
    if (!o) return;
    if (o.metadata.uid) keyByUid.set(o.metadata.uid, key);
    for (const r of o.metadata.ownerReferences ?? []) {
      let s = dependents.get(r.uid);
      if (!s) dependents.set(r.uid, (s = new Set()));
      s.add(key);
    }
    if (o.metadata.ownerReferences?.length || o.metadata.deletionTimestamp) enqueue(key);
    if (o.metadata.deletionTimestamp) for (const r of o.metadata.ownerReferences ?? []) { const ok = keyByUid.get(r.uid); if (ok) enqueue(ok); }
  };

  const ownerExists = (uid: string): boolean => {
    const k = keyByUid.get(uid);
    if (!k) return false;
    return store.get(k)?.metadata.uid === uid;
  };

  const removeFinalizer = (p: { ri: ResourceInfo; ns?: string; name: string }, f: string) => {
    registry.guaranteedUpdate(p.ri, p.ns, p.name, (cur) => {
      cur.metadata.finalizers = (cur.metadata.finalizers ?? []).filter((x) => x !== f);
      return cur;
    });
  };

  return new Controller({
    name: 'garbage-collector',
    log,
    workers: 1,
    setup: (enqueue) => {
      // Index everything, then follow all changes in the store.
      const rev = store.revision();
      for (const ri of RESOURCES) {
        for (const o of registry.list(ri, undefined).items) index(objectKey(ri, o.metadata.namespace, o.metadata.name), o, undefined, enqueue);
      }
      unsubscribe = store.watch('/', rev, (ev) => index(ev.key, ev.type === 'DELETED' ? undefined : ev.object, ev.prevObject, enqueue));
    },
    teardown: () => unsubscribe?.(),
    reconcile: (key) => {
      const p = parseKey(key);
      if (!p) return;
      const o = store.get(key);
      if (!o) return;
      const uid = o.metadata.uid!;
      if (o.metadata.deletionTimestamp) {
        const fins = o.metadata.finalizers ?? [];
        const deps = [...(dependents.get(uid) ?? [])].filter((k) => store.get(k));
        if (fins.includes('orphan')) {
          for (const dk of deps) {
            const dp = parseKey(dk);
            if (!dp) continue;
            try {
              registry.guaranteedUpdate(dp.ri, dp.ns, dp.name, (cur) => {
                cur.metadata.ownerReferences = (cur.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
                if (!cur.metadata.ownerReferences.length) delete cur.metadata.ownerReferences;
                return cur;
              });
            } catch (e) {
              if (!(e instanceof NotFoundError)) throw e;
            }
          }
          removeFinalizer(p, 'orphan');
          return;
        }
        if (fins.includes('foregroundDeletion')) {
          for (const dk of deps) {
            const d = store.get(dk);
            const dp = parseKey(dk);
            if (!d || !dp || d.metadata.deletionTimestamp) continue;
            try {
              registry.delete(dp.ri, dp.ns, dp.name, { propagationPolicy: 'Foreground' });
            } catch (e) {
              if (!(e instanceof NotFoundError)) throw e;
            }
          }
          if (deps.filter((k) => store.get(k)).length === 0) {
            removeFinalizer(p, 'foregroundDeletion');
            return;
          }
          return { requeueAfterMs: 1000 };
        }
      }
      const refs = o.metadata.ownerReferences ?? [];
      if (!refs.length) return;
      const alive = refs.filter((r) => ownerExists(r.uid));
      if (alive.length === refs.length) {
        // An owner deleting in the foreground takes this dependent with it.
        for (const r of refs) {
          const owner = store.get(keyByUid.get(r.uid)!);
          if (owner?.metadata.deletionTimestamp && owner.metadata.finalizers?.includes('foregroundDeletion') && !o.metadata.deletionTimestamp) {
            registry.delete(p.ri, p.ns, p.name, { propagationPolicy: 'Foreground' });
            return;
          }
        }
        return;
      }
      if (alive.length === 0) {
        if (!o.metadata.deletionTimestamp) {
          log.v(1, 'deleting object whose owners are gone', { key });
          registry.delete(p.ri, p.ns, p.name, { propagationPolicy: 'Background' });
        }
        return;
      }
      registry.guaranteedUpdate(p.ri, p.ns, p.name, (cur) => {
        cur.metadata.ownerReferences = (cur.metadata.ownerReferences ?? []).filter((r) => ownerExists(r.uid));
        return cur;
      });
    },
  });
}

