import { randomUUID } from 'node:crypto';
import type { KObject, ListObject } from '../api/types';
import { groupVersion, qualifiedResource, resourceFor, type ResourceInfo } from '../api/scheme';
import { applyDefaults } from '../api/defaults';
import { validateObject } from '../api/validation';
import { matchesFields, matchesLabels, type FieldRequirement, type Selector } from '../api/selectors';
import type { SqliteStore, StoreEvent } from '../store/sqlite-store';
import { deepEqual } from '../util/equal';
import { ApiError, BadRequestError, ConflictError, InvalidError, NotFoundError } from '../util/errors';

/**
 * Generic REST storage: Kubernetes object semantics (uid, generation, namespaces, finalizers,
 * graceful deletion, status subresource, admission) over the revisioned store. The HTTP handlers
 * and the in-process client both go through here, so both see identical behaviour.
 */
export interface ListOptions {
  labelSelector?: Selector;
  fieldSelector?: FieldRequirement[];
}

export interface WriteOptions {
  dryRun?: boolean;
  /** 'status' or 'finalize' for those subresources; undefined for the main resource */
  subresource?: string;
}

export interface DeleteOptions {
  dryRun?: boolean;
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface RegistryOptions {
  now?: () => Date;
  /** admission plugins run after defaulting and validation (see AdmissionPlugin) */
  admission?: AdmissionPlugin[];
}

/**
 * A mutating admission plugin (Service IP and port allocation, for instance). `admit` runs on
 * create and on updates of the main resource, after defaulting and validation and before the
 * write; it may change `obj` and throws an ApiError (e.g. InvalidError → 422) to reject the
 * request. Plugins must be synchronous and must not write to the registry themselves; state they
 * need is read from the registry, so a failed or dry-run write leaves nothing to undo.
 */
export interface AdmissionPlugin {
  readonly name: string;
  admit(a: AdmissionAttributes): void;
}

export interface AdmissionAttributes {
  operation: 'CREATE' | 'UPDATE';
  ri: ResourceInfo;
  /** the object about to be written (mutable) */
  obj: KObject;
  /** the stored object, on UPDATE */
  old?: KObject;
  dryRun: boolean;
}

const GENERATE_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
const STATUS_FREE_KINDS = new Set(['ConfigMap', 'Secret', 'Endpoints', 'Event', 'ServiceAccount', 'ControllerRevision', 'Lease', 'StorageClass', 'EndpointSlice', 'IngressClass']);

export function objectKey(ri: ResourceInfo, ns: string | undefined, name?: string): string {
  const g = ri.group || 'core';
  if (!ri.namespaced) return `/${g}/${ri.resource}/${name ?? ''}`;
  if (ns === undefined) return `/${g}/${ri.resource}/`;
  return `/${g}/${ri.resource}/${ns}/${name ?? ''}`;
}

function clone<T>(o: T): T {
  return o === undefined ? o : JSON.parse(JSON.stringify(o));
}

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const sameJSON = deepEqual;

export class ForbiddenError extends ApiError {
  constructor(message: string, details?: { name?: string; kind?: string }) {
    super(403, 'Forbidden', message, details);
  }
}

export class Registry {
  private readonly now: () => Date;
  private readonly admission: AdmissionPlugin[];
  constructor(readonly store: SqliteStore, opts: RegistryOptions = {}) {
    this.now = opts.now ?? (() => new Date());
    this.admission = [...(opts.admission ?? [])];
  }

  /** Adds a mutating admission plugin; plugins run in the order added. */
  addAdmissionPlugin(p: AdmissionPlugin): void {
    this.admission.push(p);
  }

  private qr(ri: ResourceInfo): string {
    return qualifiedResource(ri);
  }

  get(ri: ResourceInfo, ns: string | undefined, name: string): KObject {
    const o = this.store.get(objectKey(ri, ns, name));
    if (!o) throw new NotFoundError(this.qr(ri), name, ri.group);
    return o;
  }

  tryGet(ri: ResourceInfo, ns: string | undefined, name: string): KObject | undefined {
    return this.store.get(objectKey(ri, ns, name));
  }

  list(ri: ResourceInfo, ns: string | undefined, opts: ListOptions = {}): ListObject {
    const { items, revision } = this.store.list(objectKey(ri, ns));
    const filtered = items.filter((o) => this.matches(o, opts));
    filtered.sort((a, b) => {
      const an = (a.metadata.namespace ?? '') + '/' + a.metadata.name;
      const bn = (b.metadata.namespace ?? '') + '/' + b.metadata.name;
      return an < bn ? -1 : an > bn ? 1 : 0;
    });
    return { apiVersion: groupVersion(ri), kind: ri.kind + 'List', metadata: { resourceVersion: String(revision) }, items: filtered };
  }

  matches(o: KObject, opts: ListOptions): boolean {
    if (opts.labelSelector && opts.labelSelector.length && !matchesLabels(opts.labelSelector, o.metadata.labels)) return false;
    if (opts.fieldSelector && opts.fieldSelector.length && !matchesFields(opts.fieldSelector, o)) return false;
    return true;
  }

  /** Subscribes to changes of one resource (optionally one namespace) after `afterRev`. */
  watch(ri: ResourceInfo, ns: string | undefined, afterRev: number, fn: (ev: StoreEvent) => void): () => void {
    return this.store.watch(objectKey(ri, ns), afterRev, fn);
  }

  private checkNamespace(ri: ResourceInfo, ns: string | undefined, creating: boolean): void {
    if (!ri.namespaced) return;
    if (!ns) throw new BadRequestError(`the namespace of the provided object is empty; set metadata.namespace or use a namespaced URL`);
    if (!creating) return;
    const nsRI = resourceFor('', 'namespaces')!;
    const nso = this.store.get(objectKey(nsRI, undefined, ns));
    if (!nso) throw new NotFoundError('namespaces', ns);
    if (nso.metadata.deletionTimestamp) {
      throw new ForbiddenError(`${ri.kind.toLowerCase()} is forbidden: unable to create new content in namespace ${ns} because it is being terminated`, { name: ns, kind: 'namespaces' });
    }
  }

  /** Defaulting, validation, then the admission plugins (main resource only); `old` enables update rules (binding may change a pod's nodeName). */
  private admit(ri: ResourceInfo, obj: KObject, old?: KObject, subresource?: string, dryRun = false): void {
    if (subresource === 'binding') old = undefined;
    try {
      applyDefaults(obj);
    } catch (e) {
      if (e instanceof ApiError) throw e;
      throw new BadRequestError(`could not apply defaults to ${ri.kind} "${obj.metadata.name}": ${(e as Error).message}`);
    }
    let errs;
    try {
      errs = validateObject(obj, old);
    } catch (e) {
      throw new BadRequestError(`could not validate ${ri.kind} "${obj.metadata.name}": ${(e as Error).message}`);
    }
    if (errs.length) throw new InvalidError(ri.kind, ri.group, obj.metadata.name ?? '', errs);
    if (subresource === undefined) {
      for (const p of this.admission) p.admit({ operation: old ? 'UPDATE' : 'CREATE', ri, obj, old, dryRun });
    }
  }

  /** Type-checks the envelope of a client-supplied object before anything reads it. */
  private checkEnvelope(ri: ResourceInfo, obj: unknown, urlNs: string | undefined): KObject {
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new BadRequestError(`the request body must be a ${ri.kind} object`);
    const o = obj as KObject;
    const gv = groupVersion(ri);
    if (o.kind !== undefined && o.kind !== ri.kind) throw new BadRequestError(`the kind "${o.kind}" of the body does not match the URL's resource ${this.qr(ri)} (kind ${ri.kind})`);
    if (o.apiVersion !== undefined && o.apiVersion !== gv) throw new BadRequestError(`the API version "${o.apiVersion}" of the body does not match the URL's "${gv}"`);
    if (o.metadata === undefined) o.metadata = {};
    if (!o.metadata || typeof o.metadata !== 'object' || Array.isArray(o.metadata)) {
      throw new InvalidError(ri.kind, ri.group, '', [{ type: 'FieldValueTypeInvalid', field: 'metadata', message: 'Invalid value: must be an object' }]);
    }
    const m = o.metadata;
    for (const f of ['name', 'generateName', 'namespace', 'resourceVersion', 'uid'] as const) {
      if (m[f] !== undefined && m[f] !== null && typeof m[f] !== 'string') {
        throw new InvalidError(ri.kind, ri.group, '', [{ type: 'FieldValueTypeInvalid', field: `metadata.${f}`, message: `Invalid value: ${JSON.stringify(m[f])}: must be a string` }]);
      }
    }
    for (const f of ['labels', 'annotations'] as const) {
      const v = m[f];
      if (v === null) delete m[f];
      else if (v !== undefined && (typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string'))) {
        throw new InvalidError(ri.kind, ri.group, m.name ?? '', [{ type: 'FieldValueTypeInvalid', field: `metadata.${f}`, message: `Invalid value: must be a map of string keys to string values` }]);
      }
    }
    if (m.finalizers !== undefined && m.finalizers !== null && (!Array.isArray(m.finalizers) || m.finalizers.some((x) => typeof x !== 'string'))) {
      throw new InvalidError(ri.kind, ri.group, m.name ?? '', [{ type: 'FieldValueTypeInvalid', field: 'metadata.finalizers', message: 'Invalid value: must be a list of strings' }]);
    }
    if (ri.namespaced) {
      if (m.namespace && urlNs && m.namespace !== urlNs) {
        throw new BadRequestError(`the namespace of the provided object (${m.namespace}) does not match the namespace sent on the request (${urlNs})`);
      }
      if (urlNs) m.namespace = urlNs;
    } else {
      delete m.namespace;
    }
    o.apiVersion = gv;
    o.kind = ri.kind;
    return o;
  }

  create(ri: ResourceInfo, ns: string | undefined, body: unknown, opts: WriteOptions = {}): KObject {
    const obj = clone(this.checkEnvelope(ri, clone(body), ns));
    const m = obj.metadata;
    if (!m.name) {
      if (m.generateName) m.name = m.generateName + Array.from({ length: 5 }, () => GENERATE_CHARS[Math.floor(Math.random() * GENERATE_CHARS.length)]).join('');
      else throw new InvalidError(ri.kind, ri.group, '', [{ type: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
    }
    this.checkNamespace(ri, m.namespace, true);
    m.uid = randomUUID();
    m.creationTimestamp = rfc3339(this.now());
    delete m.resourceVersion;
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    delete m.managedFields;
    delete m.selfLink;
    if (!STATUS_FREE_KINDS.has(ri.kind) && obj.spec !== undefined) m.generation = 1;
    else delete m.generation;
    this.admit(ri, obj, undefined, undefined, !!opts.dryRun);
    const key = objectKey(ri, m.namespace, m.name);
    if (opts.dryRun) {
      if (this.store.get(key)) this.store.create(key, obj, this.qr(ri), m.name); // throws AlreadyExists
      return obj;
    }
    return this.store.create(key, obj, this.qr(ri), m.name);
  }

  /**
   * Replaces an object (PUT). The body's resourceVersion, when set, must match (409 otherwise).
   * On the main resource the status is kept; on `status` only the status changes.
   */
  update(ri: ResourceInfo, ns: string | undefined, name: string, body: unknown, opts: WriteOptions = {}): KObject {
    const obj = clone(this.checkEnvelope(ri, clone(body), ns));
    if (obj.metadata.name && obj.metadata.name !== name) {
      throw new BadRequestError(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    }
    obj.metadata.name = name;
    this.checkNamespace(ri, ns, false);
    const key = objectKey(ri, ns, name);
    const old = this.store.get(key);
    if (!old) throw new NotFoundError(this.qr(ri), name, ri.group);
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== old.metadata.resourceVersion) {
      throw new ConflictError(this.qr(ri), name, 'the object has been modified; please apply your changes to the latest version and try again', ri.group);
    }
    let next: KObject;
    if (opts.subresource === 'status') {
      next = { ...clone(old), status: obj.status };
    } else if (opts.subresource === 'finalize') {
      next = clone(old);
      next.spec = { ...(next.spec ?? {}), finalizers: obj.spec?.finalizers ?? [] };
    } else {
      next = obj;
      // the main resource cannot change status; a binding sets nodeName and the PodScheduled condition together
      if (ri.subresources.includes('status') && ri.kind !== 'Namespace' && opts.subresource !== 'binding') next.status = clone(old.status);
      if (ri.kind === 'Namespace') {
        next.status = clone(old.status);
        next.spec = { ...(next.spec ?? {}), finalizers: old.spec?.finalizers };
      }
    }
    const m = next.metadata;
    const om = old.metadata;
    m.uid = om.uid;
    m.creationTimestamp = om.creationTimestamp;
    m.namespace = om.namespace;
    if (om.deletionTimestamp) {
      m.deletionTimestamp = om.deletionTimestamp;
      m.deletionGracePeriodSeconds = om.deletionGracePeriodSeconds;
    } else {
      delete m.deletionTimestamp;
      delete m.deletionGracePeriodSeconds;
    }
    delete m.managedFields;
    if (om.generation !== undefined) m.generation = om.generation;
    this.admit(ri, next, old, opts.subresource, !!opts.dryRun);
    // generation counts changes of the (defaulted) spec
    if (om.generation !== undefined && !sameJSON(next.spec, old.spec)) m.generation = om.generation + 1;
    if (opts.dryRun) return next;
    const expected = Number(old.metadata.resourceVersion);
    m.resourceVersion = old.metadata.resourceVersion;
    // A no-op update writes nothing and keeps the resourceVersion, as in Kubernetes.
    if (!om.deletionTimestamp && sameJSON(next, old)) return old;
    if (om.deletionTimestamp && this.finalizersDone(next)) {
      return this.store.delete(key, expected, this.qr(ri), name);
    }
    return this.store.update(key, next, expected, this.qr(ri), name);
  }

  private finalizersDone(o: KObject): boolean {
    if ((o.metadata.finalizers ?? []).length) return false;
    if (o.kind === 'Namespace' && (o.spec?.finalizers ?? []).length) return false;
    return true;
  }

  /**
   * Read-modify-write with retries on conflict: `mutate` gets a private copy of the current object
   * and returns the desired one (used by PATCH and by controllers).
   */
  guaranteedUpdate(ri: ResourceInfo, ns: string | undefined, name: string, mutate: (cur: KObject) => KObject, opts: WriteOptions = {}): KObject {
    for (let attempt = 0; ; attempt++) {
      const cur = this.get(ri, ns, name);
      const next = mutate(clone(cur));
      if (!next || typeof next !== 'object' || Array.isArray(next)) throw new BadRequestError(`the patched ${ri.kind} is not an object`);
      if (!next.metadata || typeof next.metadata !== 'object' || Array.isArray(next.metadata)) {
        throw new InvalidError(ri.kind, ri.group, name, [{ type: 'FieldValueTypeInvalid', field: 'metadata', message: 'Invalid value: must be an object' }]);
      }
      if (next.metadata.resourceVersion === undefined) next.metadata.resourceVersion = cur.metadata.resourceVersion;
      try {
        return this.update(ri, ns, name, next, opts);
      } catch (e) {
        if (e instanceof ConflictError && attempt < 5 && next.metadata?.resourceVersion === cur.metadata.resourceVersion && this.get(ri, ns, name).metadata.resourceVersion !== cur.metadata.resourceVersion) continue;
        throw e;
      }
    }
  }

  /**
   * Deletes, honouring finalizers (deletionTimestamp set, object kept until they are gone),
   * graceful pod termination (kept until the kubelet confirms), preconditions and propagation.
   * Returns the final or the pending object and whether it is gone.
   */
  delete(ri: ResourceInfo, ns: string | undefined, name: string, opts: DeleteOptions = {}): { object: KObject; deleted: boolean } {
    const key = objectKey(ri, ns, name);
    const cur = this.store.get(key);
    if (!cur) throw new NotFoundError(this.qr(ri), name, ri.group);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== cur.metadata.uid) {
      throw new ConflictError(this.qr(ri), name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`, ri.group);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion) {
      throw new ConflictError(this.qr(ri), name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`, ri.group);
    }
    const next = clone(cur);
    const m = next.metadata;
    const finalizers = new Set(m.finalizers ?? []);
    if (!m.deletionTimestamp) {
      if (opts.propagationPolicy === 'Foreground') finalizers.add('foregroundDeletion');
      else if (opts.propagationPolicy === 'Orphan') finalizers.add('orphan');
    }
    if (finalizers.size) m.finalizers = [...finalizers];
    let grace = 0;
    if (ri.kind === 'Pod' && next.spec?.nodeName && !['Succeeded', 'Failed'].includes(next.status?.phase)) {
      grace = opts.gracePeriodSeconds ?? next.spec?.terminationGracePeriodSeconds ?? 30;
      if (grace < 0) grace = 0;
      if (m.deletionTimestamp && m.deletionGracePeriodSeconds !== undefined) grace = Math.min(grace, m.deletionGracePeriodSeconds);
    }
    const pendingNs = ri.kind === 'Namespace' && (next.spec?.finalizers ?? []).length > 0;
    if (finalizers.size === 0 && grace === 0 && !pendingNs) {
      if (opts.dryRun) return { object: cur, deleted: true };
      return { object: this.store.delete(key, undefined, this.qr(ri), name), deleted: true };
    }
    if (!m.deletionTimestamp || (m.deletionGracePeriodSeconds ?? 0) > grace) {
      m.deletionTimestamp = rfc3339(new Date(this.now().getTime() + grace * 1000));
      m.deletionGracePeriodSeconds = grace;
    }
    if (ri.kind === 'Namespace') next.status = { ...(next.status ?? {}), phase: 'Terminating' };
    if (sameJSON(next, cur) || opts.dryRun) return { object: opts.dryRun ? next : cur, deleted: false };
    return { object: this.store.update(key, next, undefined, this.qr(ri), name), deleted: false };
  }
}
