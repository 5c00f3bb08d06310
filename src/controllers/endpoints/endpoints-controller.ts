/**
 * The endpoints controllers.
 *
 * `endpointsController` reconciles, per Service with a selector, both its core/v1 Endpoints
 * (same name) and its discovery.k8s.io/v1 EndpointSlices (labelled
 * `kubernetes.io/service-name=<svc>`, `endpointslice.kubernetes.io/managed-by=
 * endpointslice-controller.k8s.io`, owned by the Service) from the pods the selector matches;
 * see compute.ts for the rules. Pod changes (IP, readiness, labels, deletion) are reconciled as
 * soon as the informer sees them, so readiness changes reach Endpoints and slices in
 * milliseconds. When a Service goes away its Endpoints and slices are deleted at once (without
 * waiting for the garbage collector). Selector-less Services' Endpoints are left to their owner.
 *
 * `endpointSliceMirroringController` mirrors the Endpoints of selector-less Services (e.g. the
 * `kubernetes` and `kube-dns` Services, whose Endpoints the daemon writes) into EndpointSlices
 * managed by `endpointslicemirroring-controller.k8s.io`, so slice consumers (proxy, DNS,
 * ingress) see every Service the same way.
 *
 * Both are level-triggered (reconcile(namespace/name) re-reads the informer caches); a Service key
 * is never reconciled twice at once; failed writes requeue with back-off.
 */
import type { KObject } from '../../api/types';
import { resourceFor } from '../../api/scheme';
import { matchesLabels, type Selector } from '../../api/selectors';
import type { Registry } from '../../apiserver/registry';
import type { Informer } from '../../client/informer';
import { Controller } from '../../controller/controller';
import { deepEqual } from '../../util/equal';
import { AlreadyExistsError, NotFoundError } from '../../util/errors';
import type { ControllerContext } from '../context';
import {
  MANAGED_BY_LABEL,
  MIRRORING_CONTROLLER_NAME,
  SERVICE_NAME_LABEL,
  SLICE_CONTROLLER_NAME,
  ZONE_LABEL,
  desiredSlices,
  desiredSubsets,
  endpointLabels,
  mirroredSlices,
  portsKey,
  type DesiredSlice,
  type EndpointPort,
} from './compute';

const SERVICES = resourceFor('', 'services')!;
const PODS = resourceFor('', 'pods')!;
const ENDPOINTS = resourceFor('', 'endpoints')!;
const SLICES = resourceFor('discovery.k8s.io', 'endpointslices')!;
const NODES = resourceFor('', 'nodes')!;

/** The Service's selector, or undefined when it has none (nil or empty selects nothing). */
export function serviceSelector(svc: KObject): Selector | undefined {
  const sel = svc.spec?.selector;
  if (!sel || typeof sel !== 'object' || Object.keys(sel).length === 0) return undefined;
  return Object.entries(sel as Record<string, string>).map(([key, v]) => ({ key, op: 'in' as const, values: [String(v)] }));
}

function key(ns: string | undefined, name: string): string {
  return `${ns}/${name}`;
}

function splitKey(k: string): [string, string] {
  const i = k.indexOf('/');
  return [k.slice(0, i), k.slice(i + 1)];
}

function isNotFound(e: unknown): boolean {
  return e instanceof NotFoundError;
}

/** Services of the pod's namespace whose selector matches any of the label sets. */
function servicesSelecting(services: Informer, ns: string, labelSets: (Record<string, string> | undefined)[]): string[] {
  const out: string[] = [];
  for (const svc of services.list(ns)) {
    const sel = serviceSelector(svc);
    if (!sel) continue;
    if (labelSets.some((l) => matchesLabels(sel, l ?? {}))) out.push(key(ns, svc.metadata.name!));
  }
  return out;
}

/** Fields of a pod the endpoints depend on. */
function podEndpointState(p: KObject): unknown {
  return [
    p.status?.podIP,
    p.status?.phase,
    (p.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready')?.status,
    p.metadata.deletionTimestamp,
    p.spec?.nodeName,
    p.spec?.hostname,
    p.spec?.subdomain,
    p.metadata.uid,
  ];
}

/**
 * Makes the stored slices of one Service (those with `managedBy`) equal to `desired`, reusing
 * slices with the same port set and writing only what changed.
 */
function syncSlices(registry: Registry, slices: Informer, svc: KObject, desired: DesiredSlice[], managedBy: string): void {
  const ns = svc.metadata.namespace!;
  const name = svc.metadata.name!;
  const existing = slices.list(ns).filter((s) => s.metadata.labels?.[SERVICE_NAME_LABEL] === name && s.metadata.labels?.[MANAGED_BY_LABEL] === managedBy);
  const labels = endpointLabels(svc, { [SERVICE_NAME_LABEL]: name, [MANAGED_BY_LABEL]: managedBy });
  const owner = [{ apiVersion: 'v1', kind: 'Service', name, uid: svc.metadata.uid!, controller: true, blockOwnerDeletion: true }];
  const unused = new Set(existing);
  const same = (s: KObject, d: DesiredSlice) =>
    deepEqual(normalizePorts(s.ports), d.ports) && deepEqual(s.endpoints ?? [], d.endpoints) && deepEqual(s.metadata.labels ?? {}, labels) && deepEqual(s.metadata.ownerReferences ?? [], owner) && s.addressType === 'IPv4';
  const pending: DesiredSlice[] = [];
  // Keep slices that already hold exactly what is wanted.
  for (const d of desired) {
    const hit = [...unused].find((s) => same(s, d));
    if (hit) unused.delete(hit);
    else pending.push(d);
  }
  for (const d of pending) {
    const reuse = [...unused].find((s) => portsKey(normalizePorts(s.ports)) === d.portsKey) ?? [...unused][0];
    const body = (base: KObject): KObject => ({
      ...base,
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { ...base.metadata, labels, ownerReferences: owner },
      addressType: 'IPv4',
      endpoints: d.endpoints,
      ports: d.ports,
    });
    if (reuse) {
      unused.delete(reuse);
      registry.update(SLICES, ns, reuse.metadata.name!, body(JSON.parse(JSON.stringify(reuse))));
    } else {
      registry.create(SLICES, ns, body({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { generateName: `${name}-`, namespace: ns } }));
    }
  }
  for (const s of unused) deleteQuietly(registry, SLICES, ns, s.metadata.name!);
}

function normalizePorts(ports: unknown): EndpointPort[] {
  if (!Array.isArray(ports)) return [];
  return ports.map((p) => {
    const o: EndpointPort = { name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' };
    if (p.appProtocol) o.appProtocol = p.appProtocol;
    return o;
  });
}

function deleteQuietly(registry: Registry, ri: typeof SLICES, ns: string, name: string): void {
  try {
    registry.delete(ri, ns, name);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

function deleteManagedSlices(registry: Registry, slices: Informer, ns: string, name: string, managedBy: string): void {
  for (const s of slices.list(ns)) {
    if (s.metadata.labels?.[SERVICE_NAME_LABEL] === name && s.metadata.labels?.[MANAGED_BY_LABEL] === managedBy) deleteQuietly(registry, SLICES, ns, s.metadata.name!);
  }
}

export function endpointsController(ctx: ControllerContext): Controller {
  const { registry } = ctx;
  const services = ctx.informers.for(SERVICES);
  const pods = ctx.informers.for(PODS);
  const endpoints = ctx.informers.for(ENDPOINTS);
  const slices = ctx.informers.for(SLICES);
  const nodes = ctx.informers.for(NODES);
  const zoneOf = (node: string) => nodes.get(undefined, node)?.metadata.labels?.[ZONE_LABEL];

  const reconcile = (k: string): void => {
    const [ns, name] = splitKey(k);
    const svc = services.get(ns, name);
    if (!svc || svc.metadata.deletionTimestamp) {
      if (endpoints.get(ns, name)) deleteQuietly(registry, ENDPOINTS, ns, name);
      deleteManagedSlices(registry, slices, ns, name, SLICE_CONTROLLER_NAME);
      return;
    }
    const sel = serviceSelector(svc);
    if (!sel || svc.spec?.type === 'ExternalName') {
      deleteManagedSlices(registry, slices, ns, name, SLICE_CONTROLLER_NAME);
      return;
    }
    const selected = pods.list(ns, sel);
    syncSlices(registry, slices, svc, desiredSlices(svc, selected, zoneOf), SLICE_CONTROLLER_NAME);

    const subsets = desiredSubsets(svc, selected);
    const labels = endpointLabels(svc);
    const cur = endpoints.get(ns, name);
    if (!cur) {
      try {
        registry.create(ENDPOINTS, ns, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: ns, labels }, ...(subsets.length ? { subsets } : {}) });
      } catch (e) {
        if (!(e instanceof AlreadyExistsError)) throw e;
        throw new Error(`endpoints ${ns}/${name} appeared meanwhile; retrying`);
      }
    } else if (!deepEqual(cur.subsets ?? [], subsets) || !deepEqual(cur.metadata.labels ?? {}, labels)) {
      const next = JSON.parse(JSON.stringify(cur)) as KObject;
      next.metadata.labels = labels;
      if (subsets.length) next.subsets = subsets;
      else delete next.subsets;
      registry.update(ENDPOINTS, ns, name, next);
    }
  };

  return new Controller({
    name: 'endpoints',
    log: ctx.log,
    clock: ctx.clock,
    workers: 4,
    setup: (enqueue) => {
      services.addHandlers({
        onAdd: (s) => enqueue(key(s.metadata.namespace, s.metadata.name!)),
        onUpdate: (_o, s) => enqueue(key(s.metadata.namespace, s.metadata.name!)),
        onDelete: (s) => enqueue(key(s.metadata.namespace, s.metadata.name!)),
      });
      pods.addHandlers({
        onAdd: (p) => servicesSelecting(services, p.metadata.namespace!, [p.metadata.labels]).forEach(enqueue),
        onUpdate: (o, p) => {
          if (deepEqual(o.metadata.labels ?? {}, p.metadata.labels ?? {}) && deepEqual(podEndpointState(o), podEndpointState(p)) && deepEqual(o.spec?.containers?.map((c: { ports?: unknown }) => c.ports), p.spec?.containers?.map((c: { ports?: unknown }) => c.ports))) return;
          servicesSelecting(services, p.metadata.namespace!, [o.metadata.labels, p.metadata.labels]).forEach(enqueue);
        },
        onDelete: (p) => servicesSelecting(services, p.metadata.namespace!, [p.metadata.labels]).forEach(enqueue),
      });
      endpoints.addHandlers({
        onUpdate: (_o, e) => enqueue(key(e.metadata.namespace, e.metadata.name!)),
        onDelete: (e) => enqueue(key(e.metadata.namespace, e.metadata.name!)),
      });
      slices.addHandlers({
        onUpdate: (_o, s) => {
          if (s.metadata.labels?.[MANAGED_BY_LABEL] === SLICE_CONTROLLER_NAME) enqueue(key(s.metadata.namespace, s.metadata.labels[SERVICE_NAME_LABEL]));
        },
        onDelete: (s) => {
          if (s.metadata.labels?.[MANAGED_BY_LABEL] === SLICE_CONTROLLER_NAME && s.metadata.labels[SERVICE_NAME_LABEL]) enqueue(key(s.metadata.namespace, s.metadata.labels[SERVICE_NAME_LABEL]));
        },
      });
      nodes.start();
      endpoints.start();
      slices.start();
      pods.start();
      services.start();
    },
    reconcile,
  });
}

export function endpointSliceMirroringController(ctx: ControllerContext): Controller {
  const { registry } = ctx;
  const services = ctx.informers.for(SERVICES);
  const endpoints = ctx.informers.for(ENDPOINTS);
  const slices = ctx.informers.for(SLICES);
  const reconcile = (k: string): void => {
    const [ns, name] = splitKey(k);
    const svc = services.get(ns, name);
    const ep = endpoints.get(ns, name);
    const mirror = svc && !svc.metadata.deletionTimestamp && !serviceSelector(svc) && svc.spec?.type !== 'ExternalName' && ep && ep.metadata.labels?.['endpointslice.kubernetes.io/skip-mirror'] !== 'true';
    if (!mirror) {
      deleteManagedSlices(registry, slices, ns, name, MIRRORING_CONTROLLER_NAME);
      return;
    }
    syncSlices(registry, slices, svc, mirroredSlices(ep), MIRRORING_CONTROLLER_NAME);
  };
  return new Controller({
    name: 'endpointslice-mirroring',
    log: ctx.log,
    clock: ctx.clock,
    setup: (enqueue) => {
      const byObj = (o: KObject) => enqueue(key(o.metadata.namespace, o.metadata.name!));
      services.addHandlers({ onAdd: byObj, onUpdate: (_o, n) => byObj(n), onDelete: byObj });
      endpoints.addHandlers({ onAdd: byObj, onUpdate: (_o, n) => byObj(n), onDelete: byObj });
      slices.addHandlers({
        onUpdate: (_o, s) => {
          if (s.metadata.labels?.[MANAGED_BY_LABEL] === MIRRORING_CONTROLLER_NAME) enqueue(key(s.metadata.namespace, s.metadata.labels[SERVICE_NAME_LABEL]));
        },
        onDelete: (s) => {
          if (s.metadata.labels?.[MANAGED_BY_LABEL] === MIRRORING_CONTROLLER_NAME && s.metadata.labels[SERVICE_NAME_LABEL]) enqueue(key(s.metadata.namespace, s.metadata.labels[SERVICE_NAME_LABEL]));
        },
      });
      slices.start();
      endpoints.start();
      services.start();
    },
    reconcile,
  });
}
