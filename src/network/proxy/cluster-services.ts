/**
 * The Services every cluster has: `default/kubernetes` (the API server, 10.96.0.1:443) and
 * `kube-system/kube-dns` (cluster DNS, 10.96.0.10:53 UDP and TCP). Both are selector-less: the
 * daemon itself writes their Endpoints (here), pointing at a host address pods can reach and the
 * port the daemon listens on there; the mirroring controller turns those into EndpointSlices
 * like any other Service's, so the proxy and DNS need no special case.
 *
 * `bootstrapClusterServices` creates the Services when missing (idempotent). The
 * ClusterServicesReconciler keeps them and their Endpoints as set by `setTargets` — it re-creates a
 * deleted Service and rewrites Endpoints someone changed. Level-triggered, one key per Service.
 */
import type { KObject } from '../../api/types';
import { resourceFor } from '../../api/scheme';
import type { Registry } from '../../apiserver/registry';
import type { InformerFactory } from '../../client/informer';
import { Controller } from '../../controller/controller';
import type { Clock } from '../../controller/workqueue';
import type { Runnable } from '../../manager/runnable';
import { deepEqual } from '../../util/equal';
import { AlreadyExistsError, ApiError } from '../../util/errors';
import type { Logger } from '../../util/log';
import { DNS_SERVICE_IP, KUBERNETES_SERVICE_IP } from '../ipam/service-allocator';

const SERVICES = resourceFor('', 'services')!;
const ENDPOINTS = resourceFor('', 'endpoints')!;

export const KUBERNETES_SERVICE = { namespace: 'default', name: 'kubernetes' } as const;
export const DNS_SERVICE = { namespace: 'kube-system', name: 'kube-dns' } as const;

export interface HostTarget {
  ip: string;
  port: number;
}

export function kubernetesServiceManifest(apiPort = 6443): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { type: 'ClusterIP', clusterIP: KUBERNETES_SERVICE_IP, ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: apiPort }], sessionAffinity: 'None' },
  };
}

export function dnsServiceManifest(): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'kube-dns',
      namespace: 'kube-system',
      labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' },
      annotations: { 'minictl.io/served-by': 'the minictl daemon (in-process cluster DNS)' },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP: DNS_SERVICE_IP,
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
      ],
      sessionAffinity: 'None',
    },
  };
}

function ensureCreated(registry: Registry, obj: KObject): void {
  if (registry.tryGet(SERVICES, obj.metadata.namespace, obj.metadata.name!)) return;
  try {
    registry.create(SERVICES, obj.metadata.namespace, obj);
  } catch (e) {
    if (e instanceof AlreadyExistsError) return;
    // The fixed address is taken by a user's Service: take any address rather than none.
    if (e instanceof ApiError && e.code === 422) {
      registry.create(SERVICES, obj.metadata.namespace, { ...obj, spec: { ...obj.spec, clusterIP: undefined } });
      return;
    }
    throw e;
  }
}

/** Creates `default/kubernetes` and `kube-system/kube-dns` when missing. */
export function bootstrapClusterServices(registry: Registry, apiPort?: number): void {
  ensureCreated(registry, kubernetesServiceManifest(apiPort));
  ensureCreated(registry, dnsServiceManifest());
}

export function kubernetesEndpointsSubsets(t: HostTarget | undefined): unknown[] {
  return t ? [{ addresses: [{ ip: t.ip }], ports: [{ name: 'https', port: t.port, protocol: 'TCP' }] }] : [];
}

export function dnsEndpointsSubsets(t: HostTarget | undefined): unknown[] {
  return t
    ? [
        {
          addresses: [{ ip: t.ip }],
          ports: [
            { name: 'dns', port: t.port, protocol: 'UDP' },
            { name: 'dns-tcp', port: t.port, protocol: 'TCP' },
          ],
        },
      ]
    : [];
}

export interface ClusterServicesReconcilerOptions {
  registry: Registry;
  informers: InformerFactory;
  log: Logger;
  clock?: Clock;
  apiPort?: number;
}

export class ClusterServicesReconciler implements Runnable {
  readonly name = 'cluster-services';
  private readonly controller: Controller;
  private targets: { apiserver?: HostTarget; dns?: HostTarget } = {};
  private enqueue?: (k: string) => void;

  constructor(private readonly opts: ClusterServicesReconcilerOptions) {
    const services = opts.informers.for(SERVICES);
    const endpoints = opts.informers.for(ENDPOINTS);
    const keyOf = (o: KObject) => `${o.metadata.namespace}/${o.metadata.name}`;
    const ours = (k: string) => k === `${KUBERNETES_SERVICE.namespace}/${KUBERNETES_SERVICE.name}` || k === `${DNS_SERVICE.namespace}/${DNS_SERVICE.name}`;
    this.controller = new Controller({
      name: 'cluster-services',
      log: opts.log,
      clock: opts.clock,
      setup: (enqueue) => {
        this.enqueue = enqueue;
        const h = (o: KObject) => {
          const k = keyOf(o);
          if (ours(k)) enqueue(k);
        };
        services.addHandlers({ onUpdate: (_o, n) => h(n), onDelete: h });
        endpoints.addHandlers({ onAdd: h, onUpdate: (_o, n) => h(n), onDelete: h });
        services.start();
        endpoints.start();
        enqueue(`${KUBERNETES_SERVICE.namespace}/${KUBERNETES_SERVICE.name}`);
        enqueue(`${DNS_SERVICE.namespace}/${DNS_SERVICE.name}`);
      },
      reconcile: (k) => this.reconcile(k),
    });
  }

  /** Where pods reach the API server and cluster DNS on the host (undefined: no Endpoints). */
  setTargets(t: { apiserver?: HostTarget; dns?: HostTarget }): void {
    if (deepEqual(t, this.targets)) return;
    this.targets = { ...t };
    this.enqueue?.(`${KUBERNETES_SERVICE.namespace}/${KUBERNETES_SERVICE.name}`);
    this.enqueue?.(`${DNS_SERVICE.namespace}/${DNS_SERVICE.name}`);
  }

  start(signal: AbortSignal): Promise<void> {
    return this.controller.start(signal);
  }

  stopped(): Promise<void> {
    return this.controller.stopped();
  }

  private reconcile(k: string): void {
    const reg = this.opts.registry;
    const isApi = k === `${KUBERNETES_SERVICE.namespace}/${KUBERNETES_SERVICE.name}`;
    const ref = isApi ? KUBERNETES_SERVICE : DNS_SERVICE;
    const svc = reg.tryGet(SERVICES, ref.namespace, ref.name);
    if (!svc) {
      if (!reg.tryGet(resourceFor('', 'namespaces')!, undefined, ref.namespace)) return;
      ensureCreated(reg, isApi ? kubernetesServiceManifest(this.opts.apiPort) : dnsServiceManifest());
    } else if (svc.metadata.deletionTimestamp) return;
    const subsets = isApi ? kubernetesEndpointsSubsets(this.targets.apiserver) : dnsEndpointsSubsets(this.targets.dns);
    const cur = reg.tryGet(ENDPOINTS, ref.namespace, ref.name);
    if (!cur) {
      const labels = isApi ? undefined : { 'k8s-app': 'kube-dns' };
      reg.create(ENDPOINTS, ref.namespace, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: ref.name, namespace: ref.namespace, ...(labels ? { labels } : {}) }, ...(subsets.length ? { subsets } : {}) });
      return;
    }
    if (deepEqual(cur.subsets ?? [], subsets)) return;
    const next = JSON.parse(JSON.stringify(cur)) as KObject;
    if (subsets.length) next.subsets = subsets;
    else delete next.subsets;
    reg.update(ENDPOINTS, ref.namespace, ref.name, next);
  }
}
