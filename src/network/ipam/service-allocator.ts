/**
 * Service IP and NodePort allocation, as an admission plugin of the Registry (the Service REST
 * storage's allocators in Kubernetes).
 *
 * Contracts:
 * - ClusterIP/LoadBalancer/NodePort Services get `spec.clusterIP` (and `clusterIPs`) from the
 *   service range (default 10.96.0.0/12) unless they ask for `None` (headless) or a specific
 *   address; a requested address must be inside the range and unused, else 422. Dynamic
 *   addresses are picked at random from above the range's static band (its first 256
 *   addresses, kept for well-known Services such as `kubernetes` at .1 and DNS at .10) and only
 *   fall back to the band when the rest is full.
 * - NodePort Services, and LoadBalancers unless `allocateLoadBalancerNodePorts: false`, get a
 *   `nodePort` per port from 30000-32767, or keep the one asked for if no other Service uses it
 *   (422 `provided port is already allocated` otherwise). Ports sharing a port number (53/TCP
 *   and 53/UDP) share one nodePort. Node ports are one pool across protocols.
 * - On update, values the client left out are kept from the stored object (clusterIP; nodePorts
 *   matched by port name), as `kubectl replace` expects. ExternalName Services have neither.
 * - Stateless: what is in use is read from the registry on every call (the store is the
 *   allocation table), so deletes release automatically and a failed write leaks nothing.
 *   Calls are synchronous, so two allocations never interleave.
 */
import type { KObject } from '../../api/types';
import type { AdmissionAttributes, AdmissionPlugin } from '../../apiserver/registry';
import { InvalidError, type FieldError } from '../../util/errors';
import { cidrContains, intToIp, ipToInt, isIPv4, parseCidr, type Cidr } from './ipv4';

export const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';
/** The `kubernetes` Service: the first address of the range. */
export const KUBERNETES_SERVICE_IP = '10.96.0.1';
/** The cluster DNS Service `kube-system/kube-dns`. */
export const DNS_SERVICE_IP = '10.96.0.10';
export const DEFAULT_NODE_PORT_RANGE = { min: 30000, max: 32767 } as const;

export interface PortRange {
  min: number;
  max: number;
}

export interface ServiceAllocatorOptions {
  /** Every Service in the cluster (all namespaces), as stored. */
  listServices: () => KObject[];
  serviceCidr?: string;
  nodePortRange?: PortRange;
  /** [0,1) source for random picks (tests) */
  random?: () => number;
}

interface SvcPort {
  name?: string;
  port?: number;
  protocol?: string;
  nodePort?: number;
}

export function needsClusterIP(spec: { type?: string } | undefined): boolean {
  return !!spec && spec.type !== 'ExternalName';
}

export function needsNodePorts(spec: { type?: string; allocateLoadBalancerNodePorts?: boolean } | undefined): boolean {
  if (!spec) return false;
  return spec.type === 'NodePort' || (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
}

export class ServiceAllocator implements AdmissionPlugin {
  readonly name = 'ServiceIPAndNodePortAllocation';
  readonly range: Cidr;
  readonly nodePorts: PortRange;
  private readonly random: () => number;
  private readonly staticBand: number;

  constructor(private readonly opts: ServiceAllocatorOptions) {
    this.range = parseCidr(opts.serviceCidr ?? DEFAULT_SERVICE_CIDR);
    if (this.range.prefix > 28) throw new RangeError(`service range ${opts.serviceCidr} is too small (at most /28)`);
    this.nodePorts = opts.nodePortRange ?? DEFAULT_NODE_PORT_RANGE;
    this.random = opts.random ?? Math.random;
    this.staticBand = Math.min(Math.max(16, this.range.size / 16), 256);
  }

  admit(a: AdmissionAttributes): void {
    if (a.ri.group !== '' || a.ri.kind !== 'Service') return;
    const obj = a.obj;
    const spec = obj.spec;
    if (!spec || typeof spec !== 'object') return;
    const others = this.opts.listServices().filter((s) => !(s.metadata.namespace === obj.metadata.namespace && s.metadata.name === obj.metadata.name));
    const errs: FieldError[] = [];
    this.admitClusterIP(spec, a.old?.spec, others, errs);
    this.admitNodePorts(spec, a.old?.spec, others, errs);
    if (errs.length) throw new InvalidError('Service', '', obj.metadata.name ?? '', errs);
  }

  private admitClusterIP(spec: KObject['spec'], old: KObject['spec'] | undefined, others: KObject[], errs: FieldError[]): void {
    if (!needsClusterIP(spec)) {
      delete spec.clusterIP;
      delete spec.clusterIPs;
      return;
    }
    let ip: string = typeof spec.clusterIP === 'string' ? spec.clusterIP : '';
    const oldIP: string = needsClusterIP(old) && typeof old?.clusterIP === 'string' ? old.clusterIP : '';
    if (ip === '' && oldIP) ip = oldIP;
    if (ip === '') {
      const used = usedIPs(others);
      const picked = this.allocateIP(used);
      if (picked === undefined) {
        errs.push({ type: 'FieldValueInvalid', field: 'spec.clusterIPs', message: `Invalid value: []: failed to allocate a serviceIP: range ${intToIp(this.range.base)}/${this.range.prefix} is full` });
        return;
      }
      ip = picked;
    } else if (ip !== 'None' && ip !== oldIP) {
      const fail = (why: string) => errs.push({ type: 'FieldValueInvalid', field: 'spec.clusterIPs', message: `Invalid value: ["${ip}"]: failed to allocate IP ${ip}: ${why}` });
      if (!isIPv4(ip)) fail('not a valid IPv4 address');
      else if (!cidrContains(this.range, ip) || ipToInt(ip) === this.range.base || ipToInt(ip) === this.range.base + this.range.size - 1) {
        fail(`the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${intToIp(this.range.base)}/${this.range.prefix}`);
      } else if (usedIPs(others).has(ip)) fail('provided IP is already allocated');
    }
    spec.clusterIP = ip;
    spec.clusterIPs = [ip];
  }

  private allocateIP(used: Set<string>): string | undefined {
    const first = this.range.base + 1;
    const last = this.range.base + this.range.size - 2;
    const dynFirst = this.range.base + this.staticBand;
    const tryBand = (lo: number, hi: number): string | undefined => {
      const n = hi - lo + 1;
      if (n <= 0) return undefined;
      const start = Math.floor(this.random() * n);
      for (let i = 0; i < n; i++) {
        const ip = intToIp(lo + ((start + i) % n));
        if (!used.has(ip)) return ip;
      }
      return undefined;
    };
    return tryBand(dynFirst, last) ?? tryBand(first, dynFirst - 1);
  }

  private admitNodePorts(spec: KObject['spec'], old: KObject['spec'] | undefined, others: KObject[], errs: FieldError[]): void {
    const ports: SvcPort[] = Array.isArray(spec.ports) ? spec.ports : [];
    const type = spec.type;
    if (type !== 'NodePort' && type !== 'LoadBalancer') {
      for (const p of ports) if (p && typeof p === 'object') delete p.nodePort;
      return;
    }
    const allocate = needsNodePorts(spec);
    const oldByName = new Map<string, number>();
    const oldSet = new Set<number>();
    if (old && (old.type === 'NodePort' || old.type === 'LoadBalancer')) {
      for (const p of (old.ports ?? []) as SvcPort[]) {
        if (p.nodePort) {
          oldByName.set(p.name ?? '', p.nodePort);
          oldSet.add(p.nodePort);
        }
      }
    }
    const used = usedNodePorts(others);
    const byPortNumber = new Map<number, number>();
    // First keep what was asked for or kept from before, so fresh picks avoid them.
    const mine = new Set<number>();
    ports.forEach((p, i) => {
      if (!p || typeof p !== 'object') return;
      if (!p.nodePort && oldByName.has(p.name ?? '')) p.nodePort = oldByName.get(p.name ?? '');
      if (!p.nodePort) return;
      if (!oldSet.has(p.nodePort) && used.has(p.nodePort)) {
        errs.push({ type: 'FieldValueInvalid', field: `spec.ports[${i}].nodePort`, message: `Invalid value: ${p.nodePort}: provided port is already allocated` });
        return;
      }
      mine.add(p.nodePort);
      if (typeof p.port === 'number') byPortNumber.set(p.port, p.nodePort);
    });
    if (!allocate) return;
    ports.forEach((p, i) => {
      if (!p || typeof p !== 'object' || p.nodePort) return;
      const shared = typeof p.port === 'number' ? byPortNumber.get(p.port) : undefined;
      if (shared !== undefined) {
        p.nodePort = shared;
        return;
      }
      const np = this.allocateNodePort(used, mine);
      if (np === undefined) {
        errs.push({ type: 'FieldValueInvalid', field: `spec.ports[${i}].nodePort`, message: `Invalid value: 0: failed to allocate a nodePort: range ${this.nodePorts.min}-${this.nodePorts.max} is full` });
        return;
      }
      p.nodePort = np;
      mine.add(np);
      if (typeof p.port === 'number') byPortNumber.set(p.port, np);
    });
  }

  private allocateNodePort(used: Set<number>, mine: Set<number>): number | undefined {
    const n = this.nodePorts.max - this.nodePorts.min + 1;
    const start = Math.floor(this.random() * n);
    for (let i = 0; i < n; i++) {
      const p = this.nodePorts.min + ((start + i) % n);
      if (!used.has(p) && !mine.has(p)) return p;
    }
    return undefined;
  }
}

function usedIPs(services: KObject[]): Set<string> {
  const out = new Set<string>();
  for (const s of services) {
    if (!needsClusterIP(s.spec)) continue;
    for (const ip of [s.spec?.clusterIP, ...(Array.isArray(s.spec?.clusterIPs) ? s.spec.clusterIPs : [])]) {
      if (typeof ip === 'string' && ip !== '' && ip !== 'None') out.add(ip);
    }
  }
  return out;
}

function usedNodePorts(services: KObject[]): Set<number> {
  const out = new Set<number>();
  for (const s of services) {
    for (const p of (s.spec?.ports ?? []) as SvcPort[]) if (p && typeof p.nodePort === 'number' && p.nodePort > 0) out.add(p.nodePort);
    if (typeof s.spec?.healthCheckNodePort === 'number' && s.spec.healthCheckNodePort > 0) out.add(s.spec.healthCheckNodePort);
  }
  return out;
}
