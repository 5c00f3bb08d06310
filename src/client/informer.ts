import type { KObject } from '../api/types';
import type { ResourceInfo } from '../api/scheme';
import type { Registry } from '../apiserver/registry';
import { matchesLabels, type Selector } from '../api/selectors';

/**
 * An in-process informer: lists one resource from the store, then follows its watch, keeping a
 * cache that listers read without an HTTP hop. Handlers run synchronously after each change is
 * applied to the cache; they should only enqueue keys.
 */
export interface InformerHandlers {
  onAdd?(o: KObject): void;
  onUpdate?(oldObj: KObject, newObj: KObject): void;
  onDelete?(o: KObject): void;
}

export function namespacedName(o: KObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name!;
}

export class Informer {
  private readonly cache = new Map<string, KObject>();
  private readonly handlers: InformerHandlers[] = [];
  private unsubscribe?: () => void;
  private synced = false;

  constructor(
    private readonly registry: Registry,
    readonly ri: ResourceInfo,
  ) {}

  addHandlers(h: InformerHandlers): void {
    this.handlers.push(h);
    if (this.synced) for (const o of this.cache.values()) h.onAdd?.(o);
  }

  /** Lists and starts watching; resolves synced. Idempotent. */
  start(): void {
    if (this.synced) return;
    const list = this.registry.list(this.ri, undefined);
    for (const o of list.items) this.cache.set(namespacedName(o), o);
    this.synced = true;
    for (const o of list.items) for (const h of this.handlers) h.onAdd?.(o);
    this.unsubscribe = this.registry.watch(this.ri, undefined, Number(list.metadata.resourceVersion), (ev) => {
      const k = namespacedName(ev.object);
      const old = this.cache.get(k);
      if (ev.type === 'DELETED') {
        this.cache.delete(k);
        for (const h of this.handlers) h.onDelete?.(ev.object);
      } else {
        this.cache.set(k, ev.object);
        for (const h of this.handlers) {
          if (old) h.onUpdate?.(old, ev.object);
          else h.onAdd?.(ev.object);
        }
      }
    });
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  // Lister
  get(ns: string | undefined, name: string): KObject | undefined {
    return this.cache.get(ns ? `${ns}/${name}` : name);
  }

  list(ns?: string, selector?: Selector): KObject[] {
    const out: KObject[] = [];
    for (const o of this.cache.values()) {
      if (ns !== undefined && o.metadata.namespace !== ns) continue;
      if (selector && !matchesLabels(selector, o.metadata.labels)) continue;
      out.push(o);
    }
    return out;
  }
}

/** One informer per resource, shared by every controller in the process. */
export class InformerFactory {
  private readonly informers = new Map<string, Informer>();
  constructor(readonly registry: Registry) {}

  for(ri: ResourceInfo): Informer {
    const k = `${ri.group}/${ri.resource}`;
    let inf = this.informers.get(k);
    if (!inf) {
      inf = new Informer(this.registry, ri);
      this.informers.set(k, inf);
    }
    return inf;
  }

  startAll(): void {
    for (const i of this.informers.values()) i.start();
  }

  stopAll(): void {
    for (const i of this.informers.values()) i.stop();
  }
}
