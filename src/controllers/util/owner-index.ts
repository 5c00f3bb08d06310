import type { KObject } from '../../api/types';
import { namespacedName, type Informer } from '../../client/informer';
import { controllerRefOf } from './controller-ref';

/**
 * An index over one informer's cache: objects by the uid of their controller (the ownerReference
 * with `controller: true`) and objects without a controller by namespace. Controllers use it to
 * find what they own and what they might adopt without scanning every object in the cluster.
 *
 * One index exists per informer (see `controllerIndexFor`); it is kept current by informer
 * handlers, which run synchronously after each cache change, so it is always as fresh as the
 * informer's lister.
 */
export class ControllerIndex {
  private readonly byController = new Map<string, Map<string, KObject>>();
  private readonly orphansByNs = new Map<string, Map<string, KObject>>();
  private readonly placement = new Map<string, { uid?: string; ns: string }>();

  constructor(informer: Informer) {
    informer.addHandlers({
      onAdd: (o) => this.put(o),
      onUpdate: (_old, o) => this.put(o),
      onDelete: (o) => this.remove(namespacedName(o)),
    });
  }

  /** Objects whose controller has this uid. */
  owned(uid: string): KObject[] {
    const m = this.byController.get(uid);
    return m ? [...m.values()] : [];
  }

  /** Objects in the namespace without a controller. */
  orphans(ns: string): KObject[] {
    const m = this.orphansByNs.get(ns);
    return m ? [...m.values()] : [];
  }

  /** Owned by `uid` plus orphans of the namespace: everything a controller may claim. */
  candidates(uid: string, ns: string): KObject[] {
    return [...this.owned(uid), ...this.orphans(ns)];
  }

  private put(o: KObject): void {
    const key = namespacedName(o);
    this.remove(key);
    const ns = o.metadata.namespace ?? '';
    const uid = controllerRefOf(o)?.uid;
    const bucketMap = uid ? this.byController : this.orphansByNs;
    const bucketKey = uid ?? ns;
    let m = bucketMap.get(bucketKey);
    if (!m) bucketMap.set(bucketKey, (m = new Map()));
    m.set(key, o);
    this.placement.set(key, { uid, ns });
  }

  private remove(key: string): void {
    const p = this.placement.get(key);
    if (!p) return;
    this.placement.delete(key);
    const bucketMap = p.uid ? this.byController : this.orphansByNs;
    const bucketKey = p.uid ?? p.ns;
    const m = bucketMap.get(bucketKey);
    if (!m) return;
    m.delete(key);
    if (!m.size) bucketMap.delete(bucketKey);
  }
}

const indexes = new WeakMap<Informer, ControllerIndex>();

/** The shared ControllerIndex of an informer, created (and its handlers registered) on first use. */
export function controllerIndexFor(informer: Informer): ControllerIndex {
  let ix = indexes.get(informer);
  if (!ix) {
    ix = new ControllerIndex(informer);
    indexes.set(informer, ix);
  }
  return ix;
}
