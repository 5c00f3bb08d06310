/**
 * A read-side index over EndpointSlices, by Service: what the service proxy, the host listeners,
 * the ingress controller and cluster DNS ask ("which addresses back port `http` of default/web?").
 * Kept current by informer handlers (synchronously, like the informer's own cache); `subscribe`
 * tells consumers which Service changed so they can resync.
 */
import type { KObject } from '../../api/types';
import { namespacedName, type Informer } from '../../client/informer';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface ServiceEndpoint {
  ip: string;
  /** the port serving the requested Service port (the resolved targetPort) */
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  hostname?: string;
  nodeName?: string;
  /** `namespace/name` of the pod behind it, when known */
  pod?: string;
}

export interface EndpointAddressInfo {
  ip: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  hostname?: string;
  nodeName?: string;
  pod?: string;
  ports: { name: string; port: number; protocol: string }[];
}

type Listener = (ns: string, service: string) => void;

interface SlicePort {
  name?: string;
  port?: number;
  protocol?: string;
}

interface SliceEndpointJson {
  addresses?: string[];
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  hostname?: string;
  nodeName?: string;
  targetRef?: { namespace?: string; name?: string };
}

export class EndpointsView {
  private readonly byService = new Map<string, Map<string, KObject>>();
  private readonly listeners = new Set<Listener>();

  constructor(readonly slices: Informer) {
    slices.addHandlers({
      onAdd: (s) => this.put(undefined, s),
      onUpdate: (o, s) => this.put(o, s),
      onDelete: (s) => this.remove(s),
    });
  }

  /** Calls `fn(ns, service)` after the endpoints of a Service changed. Returns an unsubscribe. */
  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private svcKey(s: KObject): string | undefined {
    const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
    return svc ? `${s.metadata.namespace}/${svc}` : undefined;
  }

  private put(old: KObject | undefined, s: KObject): void {
    const ok = old && this.svcKey(old);
    const nk = this.svcKey(s);
    if (old && ok && ok !== nk) this.remove(old);
    if (!nk) return;
    let m = this.byService.get(nk);
    if (!m) this.byService.set(nk, (m = new Map()));
    m.set(namespacedName(s), s);
    this.emit(nk);
  }

  private remove(s: KObject): void {
    const k = this.svcKey(s);
    if (!k) return;
    const m = this.byService.get(k);
    if (!m) return;
    m.delete(namespacedName(s));
    if (m.size === 0) this.byService.delete(k);
    this.emit(k);
  }

  private emit(k: string): void {
    const i = k.indexOf('/');
    for (const l of this.listeners) l(k.slice(0, i), k.slice(i + 1));
  }

  slicesFor(ns: string, service: string): KObject[] {
    return [...(this.byService.get(`${ns}/${service}`)?.values() ?? [])];
  }

  /** Every Service (`ns/name`) that has at least one slice. */
  services(): string[] {
    return [...this.byService.keys()];
  }

  /**
   * Endpoints of one Service port (matched by the port's name and protocol), deduplicated by
   * address:port, sorted by address.
   */
  endpointsFor(ns: string, service: string, portName: string, protocol = 'TCP'): ServiceEndpoint[] {
    const seen = new Map<string, ServiceEndpoint>();
    for (const s of this.slicesFor(ns, service)) {
      const sp = ((s.ports ?? []) as SlicePort[]).find((p) => (p.name ?? '') === portName && (p.protocol ?? 'TCP') === protocol);
      if (!sp || typeof sp.port !== 'number') continue;
      for (const e of (s.endpoints ?? []) as SliceEndpointJson[]) {
        const ip = e.addresses?.[0];
        if (!ip) continue;
        const k = `${ip}:${sp.port}`;
        const ep: ServiceEndpoint = {
          ip,
          port: sp.port,
          ready: e.conditions?.ready !== false,
          serving: e.conditions?.serving ?? e.conditions?.ready !== false,
          terminating: e.conditions?.terminating === true,
        };
        if (e.hostname) ep.hostname = e.hostname;
        if (e.nodeName) ep.nodeName = e.nodeName;
        if (e.targetRef?.name) ep.pod = `${e.targetRef.namespace ?? ns}/${e.targetRef.name}`;
        const prev = seen.get(k);
        if (!prev || (!prev.ready && ep.ready)) seen.set(k, ep);
      }
    }
    return [...seen.values()].sort((a, b) => compareIp(a.ip, b.ip) || a.port - b.port);
  }

  /** Address-level view (DNS): one entry per address with all its ports. */
  addresses(ns: string, service: string): EndpointAddressInfo[] {
    const byIp = new Map<string, EndpointAddressInfo>();
    for (const s of this.slicesFor(ns, service)) {
      const ports = ((s.ports ?? []) as SlicePort[]).filter((p) => typeof p.port === 'number').map((p) => ({ name: p.name ?? '', port: p.port!, protocol: p.protocol ?? 'TCP' }));
      for (const e of (s.endpoints ?? []) as SliceEndpointJson[]) {
        const ip = e.addresses?.[0];
        if (!ip) continue;
        let a = byIp.get(ip);
        if (!a) {
          a = {
            ip,
            ready: e.conditions?.ready !== false,
            serving: e.conditions?.serving ?? e.conditions?.ready !== false,
            terminating: e.conditions?.terminating === true,
            ports: [],
          };
          if (e.hostname) a.hostname = e.hostname;
          if (e.nodeName) a.nodeName = e.nodeName;
          if (e.targetRef?.name) a.pod = `${e.targetRef.namespace ?? ns}/${e.targetRef.name}`;
          byIp.set(ip, a);
        }
        for (const p of ports) if (!a.ports.some((x) => x.name === p.name && x.protocol === p.protocol)) a.ports.push(p);
      }
    }
    return [...byIp.values()].sort((a, b) => compareIp(a.ip, b.ip));
  }
}

/**
 * The endpoints traffic should go to: the ready ones; when none is ready, those still serving
 * while terminating (so connections drain during a rollout instead of failing).
 */
export function usableEndpoints<T extends { ready: boolean; serving: boolean; terminating: boolean }>(eps: T[]): T[] {
  const ready = eps.filter((e) => e.ready);
  if (ready.length) return ready;
  return eps.filter((e) => e.serving && e.terminating);
}

export function compareIp(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}
