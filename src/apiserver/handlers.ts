import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KObject } from '../api/types';
import { groupVersion, qualifiedResource, resourceFor, type ResourceInfo } from '../api/scheme';
import { labelSelectorString, parseFieldSelector, parseLabelSelector, type FieldRequirement } from '../api/selectors';
import { applyPatch, mergeForServerSideApply } from './patch';
import { fromStorageVersion, toStorageVersion } from '../api/conversion';
import { decodeBody, mediaType, parseAccept, partialObjectMetadata, toTable, type AcceptInfo } from './codec';
import type { ResourceRequest } from './router';
import { objectKey, type DeleteOptions, type Registry } from './registry';
import type { StoreEvent } from '../store/sqlite-store';
import { ApiError, BadRequestError, ConflictError, ExpiredError, InternalError, MethodNotAllowedError, NotFoundError } from '../util/errors';
import { admitEviction } from '../controllers/disruption/eviction';

/**
 * REST verbs over the registry, speaking the Kubernetes wire format: get, list, watch, create,
 * update, patch (json, merge, strategic, apply), delete, deletecollection, and the status,
 * scale, binding, eviction and finalize subresources.
 */
export interface HandlerContext {
  registry: Registry;
  /** milliseconds between watch bookmarks */
  bookmarkIntervalMs: number;
  /** Open watches, so shutdown can end them. */
  watches: Set<ServerResponse>;
}

export function sendJSON(res: ServerResponse, code: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) });
  res.end(data);
}

export function sendError(res: ServerResponse, e: unknown): void {
  const err = e instanceof ApiError ? e : new InternalError(e instanceof Error ? e.message : String(e));
  if (res.headersSent) {
    res.end();
    return;
  }
  sendJSON(res, err.code, err.toStatus());
}

function successStatus(details?: object): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', ...(details ? { details } : {}) };
}

function boolParam(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === 'true' || v === '1';
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new BadRequestError(`invalid value for query parameter ${name}: ${JSON.stringify(v)} is not an integer`);
  return n;
}

function dryRun(q: URLSearchParams): boolean {
  const v = q.getAll('dryRun');
  if (v.some((x) => x !== 'All')) throw new BadRequestError(`invalid dryRun value ${JSON.stringify(v)}: only "All" is supported`);
  return v.length > 0;
}

function selectors(q: URLSearchParams, name?: string): { labelSelector: ReturnType<typeof parseLabelSelector>; fieldSelector: FieldRequirement[] } {
  const fieldSelector = parseFieldSelector(q.get('fieldSelector'));
  if (name) fieldSelector.push({ path: 'metadata.name', op: '=', value: name });
  return { labelSelector: parseLabelSelector(q.get('labelSelector')), fieldSelector };
}

/** One object as the client asked: a Table row (printed from the stored version), metadata, or the object in `version`. */
function shapeOne(ri: ResourceInfo, o: KObject, accept: AcceptInfo, q: URLSearchParams, version = ri.version): unknown {
  if (!accept.table) o = fromStorageVersion(ri, version, o);
  if (accept.table) return toTable(ri, [o], o.metadata.resourceVersion ?? '', q.get('includeObject'));
  if (accept.partialMetadata) return partialObjectMetadata(o);
  return o;
}

export async function handleResource(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse, rr: ResourceRequest, q: URLSearchParams, readBody: () => Promise<Buffer>): Promise<void> {
  const { registry } = ctx;
  const { ri, namespace: ns, name, subresource: sub } = rr;
  const method = req.method ?? 'GET';
  const accept = parseAccept(req.headers.accept);
  const isWatch = rr.watchPath || boolParam(q, 'watch');
  const v = rr.version;
  /** request body in the storage version */
  const decodeIn = async (): Promise<unknown> => toStorageVersion(ri, v, decodeBody(await readBody(), req.headers['content-type']));
  const out = (o: KObject): KObject => fromStorageVersion(ri, v, o);

  if (sub === 'scale') return handleScale(ctx, req, res, rr, q, readBody);
  if (sub === 'binding' || sub === 'eviction') {
    if (method !== 'POST') throw new MethodNotAllowedError(`${method} is not supported on pods/${sub}`);
    const body = decodeBody(await readBody(), req.headers['content-type']);
    if (sub === 'binding') return handleBinding(ctx, res, ns!, name!, body);
    return handleEviction(ctx, res, ns!, name!, body);
  }
  if (sub && !['status', 'finalize'].includes(sub)) {
    throw new NotFoundError(`${ri.resource}/${sub}`, name ?? '');
  }

  switch (method) {
    case 'GET': {
      if (isWatch) return serveWatch(ctx, req, res, ri, ns, q, accept, name, v);
      if (name) {
        const o = registry.get(ri, ns, name);
        return sendJSON(res, 200, shapeOne(ri, o, accept, q, v));
      }
      const list = registry.list(ri, ns, selectors(q));
      if (accept.table) return sendJSON(res, 200, toTable(ri, list.items, list.metadata.resourceVersion, q.get('includeObject'), !boolParam(q, 'noHeaders')));
      if (accept.partialMetadata) {
        return sendJSON(res, 200, { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: list.metadata, items: list.items.map(partialObjectMetadata) });
      }
      return sendJSON(res, 200, v === ri.version ? list : { ...list, apiVersion: `${ri.group}/${v}`, items: list.items.map(out) });
    }
    case 'POST': {
      if (name) throw new MethodNotAllowedError(`POST is not supported on a named ${ri.kind}; use PUT or PATCH`);
      if (ri.namespaced && !ns) throw new MethodNotAllowedError(`POST requires a namespace: use /namespaces/<ns>/${ri.resource}`);
      const body = await decodeIn();
      const o = registry.create(ri, ns, body, { dryRun: dryRun(q) });
      return sendJSON(res, 201, shapeOne(ri, o, accept, q, v));
    }
    case 'PUT': {
      if (!name) throw new MethodNotAllowedError(`PUT requires a name`);
      const body = await decodeIn();
      const o = registry.update(ri, ns, name, body, { dryRun: dryRun(q), subresource: sub });
      return sendJSON(res, 200, shapeOne(ri, o, accept, q, v));
    }
    case 'PATCH': {
      if (!name) throw new MethodNotAllowedError(`PATCH requires a name`);
      const ct = mediaType(req.headers['content-type']);
      const body = decodeBody(await readBody(), req.headers['content-type']);
      if (body === undefined) throw new BadRequestError('the patch body is empty');
      const dr = dryRun(q);
      if (ct === 'application/apply-patch+yaml') {
        if (!q.get('fieldManager')) throw new BadRequestError('PATCH with application/apply-patch+yaml requires the fieldManager query parameter');
        if (!body || typeof body !== 'object' || Array.isArray(body)) throw new BadRequestError('the apply body must be an object');
        const existing = registry.tryGet(ri, ns, name);
        if (!existing) {
          if (sub) throw new NotFoundError(qualifiedResource(ri), name, ri.group);
          const o = registry.create(ri, ns, toStorageVersion(ri, v, { ...(body as object), metadata: { ...((body as KObject).metadata ?? {}), name } }), { dryRun: dr });
          return sendJSON(res, 201, shapeOne(ri, o, accept, q, v));
        }
        const o = registry.guaranteedUpdate(ri, ns, name, (cur) => toStorageVersion(ri, v, mergeForServerSideApply(out(cur), body as KObject, ri.kind)) as KObject, { dryRun: dr, subresource: sub });
        return sendJSON(res, 200, shapeOne(ri, o, accept, q, v));
      }
      const o = registry.guaranteedUpdate(ri, ns, name, (cur) => toStorageVersion(ri, v, applyPatch(out(cur), body, ct, ri.kind)) as KObject, { dryRun: dr, subresource: sub });
      return sendJSON(res, 200, shapeOne(ri, o, accept, q, v));
    }
    case 'DELETE': {
      const raw = await readBody();
      const body = decodeBody(raw, req.headers['content-type']) as Record<string, unknown> | undefined;
      const opts = deleteOptions(q, body);
      if (name) {
        const r = registry.delete(ri, ns, name, opts);
        return sendJSON(res, 200, out(r.object));
      }
      const list = registry.list(ri, ns, selectors(q));
      const deleted: KObject[] = [];
      for (const o of list.items) {
        try {
          deleted.push(out(registry.delete(ri, o.metadata.namespace, o.metadata.name!, opts).object));
        } catch (e) {
          if (!(e instanceof NotFoundError)) throw e;
        }
      }
      return sendJSON(res, 200, { apiVersion: `${ri.group ? ri.group + '/' : ''}${v}`, kind: ri.kind + 'List', metadata: { resourceVersion: String(registry.store.revision()) }, items: deleted });
    }
    default:
      throw new MethodNotAllowedError(`method ${method} is not supported`);
  }
}

function deleteOptions(q: URLSearchParams, body: Record<string, unknown> | undefined): DeleteOptions {
  if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) throw new BadRequestError('the DELETE body must be a DeleteOptions object');
  const b = body ?? {};
  const grace = intParam(q, 'gracePeriodSeconds') ?? (typeof b.gracePeriodSeconds === 'number' ? b.gracePeriodSeconds : undefined);
  let pp = q.get('propagationPolicy') ?? (b.propagationPolicy as string | undefined);
  if (pp === undefined && typeof b.orphanDependents === 'boolean') pp = b.orphanDependents ? 'Orphan' : 'Background';
  if (pp !== undefined && pp !== null && !['Foreground', 'Background', 'Orphan'].includes(pp)) {
    throw new BadRequestError(`invalid propagationPolicy ${JSON.stringify(pp)}: must be one of Foreground, Background, Orphan`);
  }
  const pre = (b.preconditions ?? undefined) as DeleteOptions['preconditions'];
  const dr = q.getAll('dryRun').length > 0 || (Array.isArray(b.dryRun) && b.dryRun.length > 0);
  return { gracePeriodSeconds: grace, propagationPolicy: (pp ?? undefined) as DeleteOptions['propagationPolicy'], preconditions: pre, dryRun: dr };
}

/** Scale subresource of deployments, replicasets and statefulsets (autoscaling/v1 Scale). */
async function handleScale(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse, rr: ResourceRequest, q: URLSearchParams, readBody: () => Promise<Buffer>): Promise<void> {
  const { registry } = ctx;
  const { ri, namespace: ns, name } = rr;
  if (!name) throw new NotFoundError(`${ri.resource}/scale`, '');
  const toScale = (o: KObject) => ({
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion, creationTimestamp: o.metadata.creationTimestamp },
    spec: { replicas: o.spec?.replicas ?? 0 },
    status: { replicas: o.status?.replicas ?? 0, selector: labelSelectorString(o.spec?.selector) },
  });
  const method = req.method;
  if (method === 'GET') return sendJSON(res, 200, toScale(registry.get(ri, ns, name)));
  if (method !== 'PUT' && method !== 'PATCH') throw new MethodNotAllowedError(`${method} is not supported on ${ri.resource}/scale`);
  const body = decodeBody(await readBody(), req.headers['content-type']);
  const ct = mediaType(req.headers['content-type']);
  const o = registry.guaranteedUpdate(ri, ns, name, (cur) => {
    const scale = toScale(cur);
    let next: unknown;
    if (method === 'PUT') next = body;
    else if (ct === 'application/apply-patch+yaml') next = mergeForServerSideApply(scale as unknown as KObject, body as KObject, 'Scale');
    else next = applyPatch(scale, body, ct, 'Scale');
    const n = next as { spec?: { replicas?: unknown }; metadata?: { resourceVersion?: string } };
    const replicas = n?.spec?.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw new ApiError(422, 'Invalid', `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be a non-negative integer`, {
        name,
        group: 'autoscaling',
        kind: 'Scale',
        causes: [{ reason: 'FieldValueInvalid', message: 'must be a non-negative integer', field: 'spec.replicas' }],
      });
    }
    if (n.metadata?.resourceVersion && n.metadata.resourceVersion !== cur.metadata.resourceVersion) {
      throw new ConflictError(qualifiedResource(ri), name, 'the object has been modified; please apply your changes to the latest version and try again', ri.group);
    }
    cur.spec = { ...(cur.spec ?? {}), replicas };
    return cur;
  });
  return sendJSON(res, 200, toScale(o));
}

function handleBinding(ctx: HandlerContext, res: ServerResponse, ns: string, name: string, body: unknown): void {
  const b = body as { target?: { kind?: string; name?: string }; metadata?: { name?: string } } | undefined;
  const node = b?.target?.name;
  if (!node || typeof node !== 'string') throw new BadRequestError('a Binding needs target.name (the node)');
  const podsRI = resourceFor('', 'pods')!;
  ctx.registry.guaranteedUpdate(
    podsRI,
    ns,
    name,
    (pod) => {
      if (pod.spec?.nodeName) throw new ConflictError('pods', name, `pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
      if (pod.metadata.deletionTimestamp) throw new ConflictError('pods', name, `pod ${name} is being deleted, cannot be assigned to a host`);
      pod.spec.nodeName = node;
      const conds = (pod.status?.conditions ?? []).filter((c: { type: string }) => c.type !== 'PodScheduled');
      conds.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });
      pod.status = { ...(pod.status ?? {}), conditions: conds };
      return pod;
    },
    { subresource: 'binding' },
  );
  sendJSON(res, 201, successStatus());
}

/**
 * The eviction API: deletes the pod unless the PodDisruptionBudget covering it allows no further
 * disruption (429 with a DisruptionBudget cause, like Kubernetes, so `kubectl drain` retries).
 * Admission uses and decrements the budget's status (see controllers/disruption/eviction.ts).
 */
function handleEviction(ctx: HandlerContext, res: ServerResponse, ns: string, name: string, body: unknown): void {
  const { registry } = ctx;
  const podsRI = resourceFor('', 'pods')!;
  const pod = registry.get(podsRI, ns, name);
  const ev = (body ?? {}) as { deleteOptions?: Record<string, unknown> };
  admitEviction(registry, pod);
  const d = ev.deleteOptions ?? {};
  registry.delete(podsRI, ns, name, {
    gracePeriodSeconds: typeof d.gracePeriodSeconds === 'number' ? d.gracePeriodSeconds : undefined,
    preconditions: d.preconditions as DeleteOptions['preconditions'],
  });
  sendJSON(res, 201, successStatus());
}

/**
 * A watch: 200 with chunked JSON lines, one event each. RV ""/"0" (or sendInitialEvents) starts
 * with synthetic ADDED events for the current state. Objects moving in or out of the selectors
 * arrive as ADDED or DELETED, as in Kubernetes.
 */
function serveWatch(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse, ri: ResourceInfo, ns: string | undefined, q: URLSearchParams, accept: AcceptInfo, name: string | undefined, version: string): void {
  const { registry } = ctx;
  const sel = selectors(q, name);
  const rvParam = q.get('resourceVersion') ?? '';
  const sendInitial = boolParam(q, 'sendInitialEvents');
  const bookmarks = boolParam(q, 'allowWatchBookmarks');
  if (sendInitial && (q.get('resourceVersionMatch') !== 'NotOlderThan' || !bookmarks)) {
    throw new ApiError(422, 'Invalid', `sendInitialEvents is only supported with resourceVersionMatch=NotOlderThan and allowWatchBookmarks=true`);
  }
  let afterRev: number | undefined;
  if (rvParam !== '' && rvParam !== '0' && !sendInitial) {
    afterRev = Number(rvParam);
    if (!Number.isInteger(afterRev) || afterRev < 0) throw new BadRequestError(`invalid resourceVersion ${JSON.stringify(rvParam)}`);
  }
  const timeoutSec = intParam(q, 'timeoutSeconds') ?? 1800;
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
  let first = true;
  const encode = (stored: KObject): unknown => {
    const o = accept.table ? stored : fromStorageVersion(ri, version, stored);
    if (accept.table) {
      const t = toTable(ri, [o], o.metadata.resourceVersion ?? '', q.get('includeObject'), first);
      first = false;
      return t;
    }
    if (accept.partialMetadata) return partialObjectMetadata(o);
    return o;
  };
  let closed = false;
  const write = (type: string, object: unknown): void => {
    if (closed) return;
    res.write(JSON.stringify({ type, object }) + '\n');
    if (res.writableLength > 64 * 1024 * 1024) finish(); // a client that stopped reading
  };
  let unsubscribe: (() => void) | undefined;
  const timers: NodeJS.Timeout[] = [];
  const finish = (): void => {
    if (closed) return;
    closed = true;
    unsubscribe?.();
    for (const t of timers) clearTimeout(t), clearInterval(t);
    ctx.watches.delete(res);
    res.end();
  };
  ctx.watches.add(res);
  req.on('close', finish);
  res.on('close', finish);

  const matches = (o: KObject | undefined) => !!o && registry.matches(o, sel);
  if (afterRev === undefined) {
    const list = registry.list(ri, ns, sel);
    for (const o of list.items) write('ADDED', encode(o));
    afterRev = Number(list.metadata.resourceVersion);
    if (sendInitial) {
      write('BOOKMARK', { kind: ri.kind, apiVersion: groupVersion(ri), metadata: { resourceVersion: String(afterRev), annotations: { 'k8s.io/initial-events-end': 'true' } } });
    }
  }
  try {
    unsubscribe = registry.watch(ri, ns, afterRev, (ev: StoreEvent) => {
      const now = matches(ev.object);
      if (ev.type === 'ADDED') {
        if (now) write('ADDED', encode(ev.object));
      } else if (ev.type === 'DELETED') {
        if (now || matches(ev.prevObject)) write('DELETED', encode(ev.object));
      } else {
        const was = ev.prevObject ? matches(ev.prevObject) : now;
        if (now && was) write('MODIFIED', encode(ev.object));
        else if (now) write('ADDED', encode(ev.object));
        else if (was) write('DELETED', encode(ev.object));
      }
    });
  } catch (e) {
    if (e instanceof ExpiredError) {
      write('ERROR', e.toStatus());
      finish();
      return;
    }
    throw e;
  }
  if (bookmarks) {
    timers.push(
      setInterval(() => {
        write('BOOKMARK', { kind: ri.kind, apiVersion: groupVersion(ri), metadata: { resourceVersion: String(registry.store.revision()) } });
      }, ctx.bookmarkIntervalMs),
    );
  }
  timers.push(setTimeout(finish, timeoutSec * 1000));
}

export { objectKey };
