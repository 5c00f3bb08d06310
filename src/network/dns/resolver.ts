/**
 * Cluster DNS answers, following the Kubernetes DNS specification (what CoreDNS's kubernetes
 * plugin serves), for the zone `<domain>` (default cluster.local):
 *
 *   <svc>.<ns>.svc.<domain>            A     ClusterIP; headless: the ready endpoints' addresses;
 *                                            ExternalName: CNAME to spec.externalName
 *   <host>.<svc>.<ns>.svc.<domain>     A     a headless Service's endpoint, by hostname
 *                                            (StatefulSet pod-0) or dashed address (10-244-1-5)
 *   _<port>._<proto>.<svc>.<ns>.svc.<domain>  SRV  named ports (target the Service, or each
 *                                            endpoint of a headless one, with A additionals)
 *   <svc>.<ns>.svc.<domain>            SRV   every port of the Service
 *   <a-b-c-d>.<ns>.pod.<domain>        A     a.b.c.d
 *   d.c.b.a.in-addr.arpa               PTR   Service ClusterIPs and headless endpoints
 *
 * Names in the zone that do not exist are NXDOMAIN; existing names without records of the asked
 * type answer NOERROR with no records (AAAA for every cluster name: the cluster is IPv4-only);
 * negative answers carry the zone's SOA. Two conveniences outside the zone, for clients that
 * send names without search domains: a single label `svc` is looked up in the namespace of the
 * pod asking (known by its address), and `svc.ns` when namespace `ns` exists and holds `svc`.
 * Everything else is left to the upstream resolvers ('forward').
 *
 * Pure over a DnsCatalog: no I/O, synchronous.
 */
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet, Question } from 'dns-packet';
import type { KObject } from '../../api/types';
import { dashedIp, isIPv4 } from '../ipam/ipv4';
import type { EndpointAddressInfo } from '../proxy/endpoints-view';

export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';
export const DEFAULT_DNS_TTL = 5;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** What the resolver reads about the cluster. */
export interface DnsCatalog {
  service(ns: string, name: string): KObject | undefined;
  namespaceExists(ns: string): boolean;
  /** addresses behind a Service (from its EndpointSlices) */
  addresses(ns: string, service: string): EndpointAddressInfo[];
  /** namespace of the pod with this IP (the client asking), if any */
  namespaceOfIP(ip: string): string | undefined;
  /** Services whose ClusterIP is `ip` */
  serviceByClusterIP(ip: string): KObject | undefined;
  /** a headless endpoint with this address: its Service and hostname */
  endpointByIP(ip: string): { ns: string; service: string; hostname?: string } | undefined;
}

export interface ResolverOptions {
  domain?: string;
  ttl?: number;
}

export type Resolution =
  /** a complete answer */
  | { kind: 'answer'; response: Packet }
  /** not a cluster name: ask the upstream resolvers */
  | { kind: 'forward' }
  /** an ExternalName pointing outside the zone: `response` holds the CNAME; append upstream's answers for `target` */
  | { kind: 'chase'; response: Packet; target: string; qtype: string };

interface Built {
  rcode: number;
  answers: Answer[];
  additionals?: Answer[];
  chase?: string;
}

const FLAG_AA = dnsPacket.AUTHORITATIVE_ANSWER;
const FLAG_RD = dnsPacket.RECURSION_DESIRED;
const FLAG_RA = dnsPacket.RECURSION_AVAILABLE;

export class ClusterDnsResolver {
  readonly domain: string;
  readonly ttl: number;

  constructor(
    private readonly catalog: DnsCatalog,
    opts: ResolverOptions = {},
  ) {
    this.domain = (opts.domain ?? DEFAULT_CLUSTER_DOMAIN).toLowerCase().replace(/\.$/, '');
    this.ttl = opts.ttl ?? DEFAULT_DNS_TTL;
  }

  resolve(query: DecodedPacket, clientIp?: string): Resolution {
    const q = query.questions?.[0];
    if (!q) return { kind: 'answer', response: this.reply(query, { rcode: RCODE.FORMERR, answers: [] }, false) };
    const name = q.name.toLowerCase().replace(/\.$/, '');
    if (name === this.domain || name.endsWith('.' + this.domain)) {
      const rel = name === this.domain ? '' : name.slice(0, -(this.domain.length + 1));
      const built = this.inZone(q, rel);
      return this.finish(query, q, built);
    }
    if (name.endsWith('.in-addr.arpa')) {
      const built = this.ptr(q, name);
      return built ? this.finish(query, q, built) : { kind: 'forward' };
    }
    const labels = name.split('.');
    if (labels.length === 1 && clientIp) {
      const ns = this.catalog.namespaceOfIP(clientIp);
      if (ns && this.catalog.service(ns, labels[0])) return this.finish(query, q, this.serviceRecords(q, ns, labels[0]));
    }
    if (labels.length === 2 && this.catalog.namespaceExists(labels[1]) && this.catalog.service(labels[1], labels[0])) {
      return this.finish(query, q, this.serviceRecords(q, labels[1], labels[0]));
    }
    return { kind: 'forward' };
  }

  private finish(query: DecodedPacket, q: Question, b: Built): Resolution {
    const response = this.reply(query, b, true);
    if (b.chase) return { kind: 'chase', response, target: b.chase, qtype: q.type };
    return { kind: 'answer', response };
  }

  /** A response packet for `query` with our flags (AA when authoritative), SOA on negative answers, EDNS echoed. */
  reply(query: DecodedPacket, b: Built, authoritative: boolean): Packet {
    const negative = b.rcode === RCODE.NXDOMAIN || (b.rcode === RCODE.NOERROR && b.answers.length === 0);
    const additionals: Answer[] = [...(b.additionals ?? [])];
    const opt = (query.additionals ?? []).find((a) => a.type === 'OPT');
    if (opt) additionals.push({ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] } as unknown as Answer);
    return {
      id: query.id,
      type: 'response',
      flags: (authoritative ? FLAG_AA : 0) | FLAG_RA | ((query.flags ?? 0) & FLAG_RD) | (b.rcode & 0xf),
      questions: query.questions,
      answers: b.answers,
      authorities: authoritative && negative ? [this.soa()] : [],
      additionals,
    };
  }

  soa(): Answer {
    return {
      type: 'SOA',
      name: this.domain,
      ttl: this.ttl,
      class: 'IN',
      data: { mname: `ns.dns.${this.domain}`, rname: `hostmaster.${this.domain}`, serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: this.ttl },
    };
  }

  private inZone(q: Question, rel: string): Built {
    const parts = rel === '' ? [] : rel.split('.');
    if (parts.length === 0) {
      if (q.type === 'SOA') return { rcode: RCODE.NOERROR, answers: [this.soa()] };
      if (q.type === 'NS') return { rcode: RCODE.NOERROR, answers: [{ type: 'NS', name: q.name, ttl: this.ttl, class: 'IN', data: `ns.dns.${this.domain}` }] };
      return nodata();
    }
    const kind = parts[parts.length - 1];
    const p = parts.slice(0, -1);
    if (kind === 'svc') {
      if (p.length === 0) return nodata();
      const ns = p[p.length - 1];
      if (p.length === 1) return this.catalog.namespaceExists(ns) ? nodata() : nxdomain();
      if (p.length === 2) return this.serviceRecords(q, ns, p[0]);
      if (p.length === 3) {
        if (p[0].startsWith('_')) return this.catalog.service(ns, p[1]) ? nodata() : nxdomain();
        return this.endpointRecords(q, ns, p[1], p[0]);
      }
      if (p.length === 4 && p[0].startsWith('_') && p[1].startsWith('_')) return this.srvRecords(q, ns, p[2], p[0].slice(1), p[1].slice(1));
      return nxdomain();
    }
    if (kind === 'pod') {
      if (p.length === 0) return nodata();
      if (p.length === 1) return this.catalog.namespaceExists(p[0]) ? nodata() : nxdomain();
      if (p.length === 2) {
        const ip = p[0].replace(/-/g, '.');
        if (!isIPv4(ip)) return nxdomain();
        if (q.type === 'A' || isAny(q)) return { rcode: RCODE.NOERROR, answers: [this.a(q.name, ip)] };
        return nodata();
      }
      return nxdomain();
    }
    return nxdomain();
  }

  private fqdn(ns: string, svc: string): string {
    return `${svc}.${ns}.svc.${this.domain}`;
  }

  private a(name: string, ip: string): Answer {
    return { type: 'A', name, ttl: this.ttl, class: 'IN', data: ip };
  }

  private readyAddresses(ns: string, svc: string): EndpointAddressInfo[] {
    return this.catalog.addresses(ns, svc).filter((a) => a.ready);
  }

  private serviceRecords(q: Question, ns: string, name: string): Built {
    const svc = this.catalog.service(ns, name);
    if (!svc) return nxdomain();
    const spec = svc.spec ?? {};
    if (spec.type === 'ExternalName') {
      const target = String(spec.externalName ?? '').replace(/\.$/, '');
      if (!target) return nodata();
      const cname: Answer = { type: 'CNAME', name: q.name, ttl: this.ttl, class: 'IN', data: target };
      if (q.type === 'CNAME') return { rcode: RCODE.NOERROR, answers: [cname] };
      const t = target.toLowerCase();
      if (t === this.domain || t.endsWith('.' + this.domain)) {
        const rel = t === this.domain ? '' : t.slice(0, -(this.domain.length + 1));
        // One level only: an ExternalName pointing at another ExternalName stops at the CNAME.
        const inner: Built = this.isExternalName(rel) ? nodata() : this.inZone({ ...q, name: target }, rel);
        return { rcode: inner.rcode, answers: [cname, ...inner.answers], additionals: inner.additionals };
      }
      return { rcode: RCODE.NOERROR, answers: [cname], chase: target };
    }
    const headless = spec.clusterIP === 'None';
    if (q.type === 'A' || isAny(q)) {
      if (!headless) return spec.clusterIP ? { rcode: RCODE.NOERROR, answers: [this.a(q.name, spec.clusterIP)] } : nodata();
      return { rcode: RCODE.NOERROR, answers: this.readyAddresses(ns, name).map((a) => this.a(q.name, a.ip)) };
    }
    if (q.type === 'SRV') {
      const answers: Answer[] = [];
      const additionals: Answer[] = [];
      for (const sp of (spec.ports ?? []) as { name?: string; port: number; protocol?: string }[]) {
        const b = this.srvFor(q.name, ns, name, svc, sp);
        answers.push(...b.answers);
        additionals.push(...(b.additionals ?? []));
      }
      return { rcode: RCODE.NOERROR, answers, additionals: dedupe(additionals) };
    }
    return nodata();
  }

  private isExternalName(rel: string): boolean {
    const p = rel.split('.');
    return p.length === 3 && p[2] === 'svc' && this.catalog.service(p[1], p[0])?.spec?.type === 'ExternalName';
  }

  private srvFor(qname: string, ns: string, name: string, svc: KObject, sp: { name?: string; port: number; protocol?: string }): Built {
    const spec = svc.spec ?? {};
    const proto = sp.protocol ?? 'TCP';
    if (spec.type === 'ExternalName') {
      return { rcode: RCODE.NOERROR, answers: [this.srv(qname, String(spec.externalName).replace(/\.$/, ''), sp.port, 100)] };
    }
    if (spec.clusterIP !== 'None') {
      const target = this.fqdn(ns, name);
      return { rcode: RCODE.NOERROR, answers: [this.srv(qname, target, sp.port, 100)], additionals: spec.clusterIP ? [this.a(target, spec.clusterIP)] : [] };
    }
    const eps = this.readyAddresses(ns, name).filter((a) => a.ports.some((p) => p.name === (sp.name ?? '') && p.protocol === proto));
    const weight = eps.length ? Math.max(1, Math.floor(100 / eps.length)) : 100;
    const answers: Answer[] = [];
    const additionals: Answer[] = [];
    for (const a of eps) {
      const port = a.ports.find((p) => p.name === (sp.name ?? '') && p.protocol === proto)!.port;
      const target = `${a.hostname ?? dashedIp(a.ip)}.${this.fqdn(ns, name)}`;
      answers.push(this.srv(qname, target, port, weight));
      additionals.push(this.a(target, a.ip));
    }
    return { rcode: RCODE.NOERROR, answers, additionals };
  }

  private srv(name: string, target: string, port: number, weight: number): Answer {
    return { type: 'SRV', name, ttl: this.ttl, class: 'IN', data: { priority: 0, weight, port, target } };
  }

  private srvRecords(q: Question, ns: string, name: string, portName: string, proto: string): Built {
    const svc = this.catalog.service(ns, name);
    if (!svc) return nxdomain();
    const sp = ((svc.spec?.ports ?? []) as { name?: string; port: number; protocol?: string }[]).find(
      (p) => (p.name ?? '').toLowerCase() === portName && (p.protocol ?? 'TCP').toLowerCase() === proto,
    );
    if (!sp) return nxdomain();
    if (q.type !== 'SRV' && !isAny(q)) return nodata();
    const b = this.srvFor(q.name, ns, name, svc, sp);
    return { ...b, additionals: dedupe(b.additionals ?? []) };
  }

  private endpointRecords(q: Question, ns: string, service: string, host: string): Built {
    const svc = this.catalog.service(ns, service);
    if (!svc || svc.spec?.clusterIP !== 'None') return nxdomain();
    const hits = this.readyAddresses(ns, service).filter((a) => (a.hostname ?? '').toLowerCase() === host || dashedIp(a.ip) === host);
    if (!hits.length) return nxdomain();
    if (q.type === 'A' || isAny(q)) return { rcode: RCODE.NOERROR, answers: hits.map((a) => this.a(q.name, a.ip)) };
    return nodata();
  }

  private ptr(q: Question, name: string): Built | undefined {
    const rev = name.slice(0, -'.in-addr.arpa'.length).split('.');
    if (rev.length !== 4) return undefined;
    const ip = rev.reverse().join('.');
    if (!isIPv4(ip)) return undefined;
    let target: string | undefined;
    const svc = this.catalog.serviceByClusterIP(ip);
    if (svc) target = this.fqdn(svc.metadata.namespace!, svc.metadata.name!);
    else {
      const ep = this.catalog.endpointByIP(ip);
      if (ep) target = `${ep.hostname ?? dashedIp(ip)}.${this.fqdn(ep.ns, ep.service)}`;
    }
    if (!target) return undefined;
    if (q.type !== 'PTR' && !isAny(q)) return nodata();
    return { rcode: RCODE.NOERROR, answers: [{ type: 'PTR', name: q.name, ttl: this.ttl, class: 'IN', data: target }] };
  }
}

/** dns-packet names type 255 'ANY' (its typings omit it). */
function isAny(q: Question): boolean {
  return (q.type as string) === 'ANY';
}

function nodata(): Built {
  return { rcode: RCODE.NOERROR, answers: [] };
}

function nxdomain(): Built {
  return { rcode: RCODE.NXDOMAIN, answers: [] };
}

function dedupe(as: Answer[]): Answer[] {
  const seen = new Set<string>();
  return as.filter((a) => {
    const k = `${a.type}|${a.name}|${JSON.stringify((a as { data?: unknown }).data)}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** An error response (SERVFAIL, REFUSED, NOTIMP …) to `query`, without records. */
export function errorResponse(query: { id?: number; flags?: number; questions?: Question[] }, rcode: number): Packet {
  return {
    id: query.id,
    type: 'response',
    flags: FLAG_RA | ((query.flags ?? 0) & FLAG_RD) | (rcode & 0xf),
    questions: query.questions ?? [],
    answers: [],
    authorities: [],
    additionals: [],
  };
}
