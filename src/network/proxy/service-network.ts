/**
 * ServiceNetwork: the Services data plane of one cluster, as one Runnable.
 *
 *   cluster Services   `default/kubernetes` and `kube-system/kube-dns` kept, with Endpoints
 *                      pointing at a host address pods reach (a node's bridge address) and the
 *                      ports below (always on; API-only clusters point `kubernetes` at 127.0.0.1)
 *   service proxy      iptables DNAT for ClusterIPs from pods on every node (iptables-proxier.ts)
 *   cluster DNS        UDP+TCP on 0.0.0.0:<port> for pods (reached through the kube-dns
 *                      ClusterIP 10.96.0.10:53), or 127.0.0.1:<port> when iptables is not usable
 *   API relay          0.0.0.0:<port> → the API server on 127.0.0.1, behind the kubernetes Service
 *   host listeners     NodePort / LoadBalancer on 127.0.0.1 (host-proxy.ts)
 *   ingress            HTTP(S) on 127.0.0.1:80/443 or free ports (ingress-controller.ts)
 *
 * Listeners on 0.0.0.0 only answer the node pod ranges, loopback and the host's own addresses.
 * What works and what degraded (and why) is written to `<dataDir>/network.json` for
 * `minictl status`, and logged once. Without root nothing fails: ClusterIPs and cluster DNS are
 * then unreachable from pods (pods keep the host's resolvers), while NodePort, LoadBalancer
 * (ports ≥ 1024) and ingress (on free ports) still work from the host.
 *
 * Start it before the kubelets: `podDns()` (their ClusterFirst DNS config) depends on whether
 * cluster DNS is reachable from pods. Stopping removes every rule and listener it added.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { KObject } from '../../api/types';
import { resourceFor } from '../../api/scheme';
import type { Registry } from '../../apiserver/registry';
import type { Informer, InformerFactory } from '../../client/informer';
import { RegistryEventRecorder } from '../../client/events';
import type { Clock } from '../../controller/workqueue';
import type { Runnable } from '../../manager/runnable';
import type { Logger } from '../../util/log';
import { InformerDnsCatalog } from '../dns/catalog';
import { ClusterDnsResolver, DEFAULT_CLUSTER_DOMAIN } from '../dns/resolver';
import { DnsServer } from '../dns/server';
import { serviceEnvFor } from '../dns/service-env';
import { Upstream } from '../dns/upstream';
import { IngressController } from '../ingress/ingress-controller';
import { DEFAULT_SERVICE_CIDR, DNS_SERVICE_IP } from '../ipam/service-allocator';
import { cidrContains, isIPv4, parseCidr } from '../ipam/ipv4';
import type { IptablesRunner } from '../node-network';
import { ClusterServicesReconciler, type HostTarget } from './cluster-services';
import { EndpointsView } from './endpoints-view';
import { HostProxy } from './host-proxy';
import { IptablesProxier, type IptablesRestoreRunner, type ProxyStatus } from './iptables-proxier';
import { TcpForwarder } from './tcp-forwarder';

const SERVICES = resourceFor('', 'services')!;
const SLICES = resourceFor('discovery.k8s.io', 'endpointslices')!;
const NODES = resourceFor('', 'nodes')!;
const PODS = resourceFor('', 'pods')!;
const NAMESPACES = resourceFor('', 'namespaces')!;

export const NETWORK_STATUS_FILE = 'network.json';

export interface ServiceNetworkOptions {
  profile: string;
  registry: Registry;
  informers: InformerFactory;
  log: Logger;
  clock?: Clock;
  /** where network.json is written */
  dataDir: string;
  /** the API server's port on 127.0.0.1 */
  apiPort: number;
  serviceCidr?: string;
  clusterDomain?: string;
  /**
   * false: only keep the cluster Services and their Endpoints (API-only clusters, tests).
   * Default true.
   */
  dataPlane?: boolean;
  /** 'iptables' (default) or 'none' (no ClusterIP rules; pods cannot reach ClusterIPs) */
  proxyMode?: 'iptables' | 'none';
  iptables?: IptablesRunner;
  iptablesRestore?: IptablesRestoreRunner;
  /** cluster DNS: fixed port, upstream servers (default /etc/resolv.conf); false: off */
  dns?: { port?: number; upstreams?: string[] } | false;
  /** NodePort/LoadBalancer listeners on the host (default true) */
  hostPorts?: boolean;
  /** ingress controller ports (default 80/443, falling back to free ports); false: off */
  ingress?: { httpPort?: number; httpsPort?: number } | false;
  /** address of host listeners and LoadBalancer/Ingress status (default 127.0.0.1) */
  hostAddress?: string;
}

/**
 * What pods with dnsPolicy ClusterFirst get (the kubelet's `dns` option); the kubelet adds the
 * search list `<ns>.svc.<domain> svc.<domain> <domain>` and `ndots:5` itself.
 */
export interface PodDnsConfig {
  servers: string[];
}

export interface NetworkStatus {
  profile: string;
  updatedAt: string;
  serviceCidr: string;
  clusterDomain: string;
  proxy: { mode: string; status: 'ok' | 'degraded' | 'off'; reason?: string };
  dns: { serviceIP: string; listen?: string; reachableFromPods: boolean; upstreams: string[]; reason?: string };
  apiserverForPods?: string;
  hostPorts: { bound: string[]; failed: { service: string; port: number; protocol: string; error: string }[] };
  ingress?: { http?: string; https?: string; notes: string[] };
}

export function readNetworkStatus(dataDir: string): NetworkStatus | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dataDir, NETWORK_STATUS_FILE), 'utf8')) as NetworkStatus;
  } catch {
    return undefined;
  }
}

function localIPv4s(): string[] {
  const out: string[] = [];
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4') out.push(a.address);
  return out;
}

export class ServiceNetwork implements Runnable {
  readonly name = 'service-network';
  readonly clusterDomain: string;
  readonly serviceCidr: string;
  private readonly log: Logger;
  private services!: Informer;
  private nodes!: Informer;
  private endpoints!: EndpointsView;
  private clusterServices!: ClusterServicesReconciler;
  private proxier?: IptablesProxier;
  private proxyStatus: ProxyStatus | { status: 'off' } = { status: 'off' };
  dnsServer?: DnsServer;
  private upstream?: Upstream;
  private forwarder?: TcpForwarder;
  hostProxy?: HostProxy;
  ingress?: IngressController;
  private statusTimer?: NodeJS.Timeout;
  private localCache = { at: 0, ips: new Set<string>() };
  private readonly stops: (() => Promise<void> | void)[] = [];
  private dnsReason?: string;
  private started = false;

  constructor(private readonly opts: ServiceNetworkOptions) {
    this.log = opts.log.child('service-network');
    this.clusterDomain = opts.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
    this.serviceCidr = opts.serviceCidr ?? DEFAULT_SERVICE_CIDR;
  }

  /** ClusterFirst DNS for pods, or undefined while cluster DNS is not reachable from pods. */
  podDns(): PodDnsConfig | undefined {
    if (!this.dnsReachableFromPods()) return undefined;
    return { servers: [DNS_SERVICE_IP] };
  }

  /** Service environment variables for a new pod in `ns` (see service-env.ts). */
  serviceEnv(ns: string, enableServiceLinks = true): Record<string, string> {
    const inf = this.opts.informers.for(SERVICES);
    inf.start();
    return serviceEnvFor(ns, (n) => inf.list(n), enableServiceLinks);
  }

  /** The cluster DNS address on the host (tests, benchmarks, `dig @127.0.0.1 -p`). */
  dnsAddress(): { host: string; port: number } | undefined {
    return this.dnsServer?.port ? { host: this.dnsServer.host === '0.0.0.0' ? '127.0.0.1' : this.dnsServer.host, port: this.dnsServer.port } : undefined;
  }

  private dnsReachableFromPods(): boolean {
    return !!this.dnsServer?.port && this.proxyStatus.status === 'ok';
  }

  async start(signal: AbortSignal): Promise<void> {
    const o = this.opts;
    this.services = o.informers.for(SERVICES);
    this.nodes = o.informers.for(NODES);
    this.clusterServices = new ClusterServicesReconciler({ registry: o.registry, informers: o.informers, log: this.log, clock: o.clock, apiPort: o.apiPort });
    await this.clusterServices.start(signal);
    this.stops.push(() => this.clusterServices.stopped());
    if (o.dataPlane === false) {
      this.clusterServices.setTargets({ apiserver: { ip: '127.0.0.1', port: o.apiPort } });
      signal.addEventListener('abort', () => void this.stopAll(), { once: true });
      return;
    }
    const slices = o.informers.for(SLICES);
    this.endpoints = new EndpointsView(slices);
    const pods = o.informers.for(PODS);
    const namespaces = o.informers.for(NAMESPACES);
    const recorder = new RegistryEventRecorder(o.registry, 'service-proxy');

    // 1. kernel rules
    if ((o.proxyMode ?? 'iptables') === 'iptables') {
      this.proxier = new IptablesProxier({ profile: o.profile, serviceCidr: this.serviceCidr, services: this.services, nodes: this.nodes, endpoints: this.endpoints, iptables: o.iptables, iptablesRestore: o.iptablesRestore, log: this.log, clock: o.clock });
      for (const i of [this.services, this.nodes, slices]) i.start();
      const dockerHost = process.env.DOCKER_HOST;
      // Rules on this host do nothing for a remote engine's pods.
      this.proxyStatus = dockerHost && !dockerHost.startsWith('unix://') ? { status: 'degraded', reason: `the Docker engine is remote (DOCKER_HOST=${dockerHost}); run the daemon on the engine's host` } : await this.proxier.start();
      if (this.proxyStatus.status === 'ok') {
        const sync = () => this.proxier!.requestSync();
        this.services.addHandlers({ onAdd: sync, onUpdate: sync, onDelete: sync });
        this.nodes.addHandlers({
          onAdd: sync,
          onUpdate: (a, b) => {
            if (a.spec?.podCIDR !== b.spec?.podCIDR) sync();
          },
          onDelete: sync,
        });
        this.endpoints.subscribe(sync);
        this.stops.push(() => this.proxier!.stop());
        this.log.info('service proxy: iptables rules installed', { serviceRange: this.serviceCidr });
      } else {
        this.log.warn(`service proxy degraded: ClusterIPs are not reachable from pods (${this.proxyStatus.reason})`);
      }
    }
    const podsReach = this.proxyStatus.status === 'ok';

    // 2. cluster DNS
    if (o.dns !== false) {
      const catalog = new InformerDnsCatalog(this.services, namespaces, pods, this.endpoints);
      for (const i of [this.services, namespaces, pods, slices]) i.start();
      const resolver = new ClusterDnsResolver(catalog, { domain: this.clusterDomain });
      this.upstream = new Upstream({ servers: o.dns?.upstreams, exclude: [DNS_SERVICE_IP] });
      const host = podsReach ? '0.0.0.0' : '127.0.0.1';
      this.dnsServer = new DnsServer({ resolver, upstream: this.upstream, host, port: o.dns?.port ?? 0, allow: (ip) => this.allowed(ip), log: this.log });
      try {
        await this.dnsServer.start();
        this.stops.push(() => this.dnsServer!.stop());
        if (!podsReach) this.dnsReason = `pods use the host's resolvers: ${'reason' in this.proxyStatus ? this.proxyStatus.reason : 'the service proxy is off'}`;
        this.log.info('cluster DNS listening', { address: `${host}:${this.dnsServer.port}`, serviceIP: DNS_SERVICE_IP, pods: podsReach, upstreams: this.upstream.servers.map((s) => `${s.host}:${s.port}`) });
      } catch (e) {
        this.dnsReason = `cannot listen: ${(e as Error).message}`;
        this.log.warn('cluster DNS is not available', { error: (e as Error).message });
        this.dnsServer = undefined;
      }
    }

    // 3. the API server for pods
    if (podsReach) {
      this.forwarder = new TcpForwarder({ host: '0.0.0.0', target: { host: '127.0.0.1', port: o.apiPort }, allow: (ip) => this.allowed(ip) });
      try {
        await this.forwarder.start();
        this.stops.push(() => this.forwarder!.stop());
      } catch (e) {
        this.log.warn('cannot relay the API server to pods', { error: (e as Error).message });
        this.forwarder = undefined;
      }
    }
    const retarget = () => this.updateTargets();
    this.nodes.addHandlers({ onAdd: retarget, onUpdate: retarget, onDelete: retarget });
    this.nodes.start();
    this.updateTargets();
    // A node's bridge address becomes local only once its network exists: look again now and then.
    const retargetTimer = setInterval(retarget, 5000);
    retargetTimer.unref();
    this.stops.push(() => clearInterval(retargetTimer));

    // 4. NodePort / LoadBalancer on the host
    if (o.hostPorts !== false) {
      this.hostProxy = new HostProxy({ services: this.services, endpoints: this.endpoints, registry: o.registry, recorder, host: o.hostAddress, log: this.log });
      const sync = () => void this.hostProxy!.sync().then(() => this.scheduleStatus());
      this.services.addHandlers({ onAdd: sync, onUpdate: sync, onDelete: sync });
      this.services.start();
      await this.hostProxy.sync();
      // A port that was taken may be free now.
      const retry = setInterval(() => {
        if (this.hostProxy!.failures().length) sync();
      }, 10_000);
      retry.unref();
      this.stops.push(() => clearInterval(retry));
      this.stops.push(() => this.hostProxy!.stop());
    }

    // 5. ingress
    if (o.ingress !== false) {
      this.ingress = new IngressController({ registry: o.registry, informers: o.informers, endpoints: this.endpoints, log: this.log.child('ingress'), clock: o.clock, host: o.hostAddress, httpPort: o.ingress?.httpPort, httpsPort: o.ingress?.httpsPort });
      try {
        await this.ingress.start(signal);
        this.stops.push(async () => {
          await this.ingress!.stop();
          await this.ingress!.stopped();
        });
        const a = this.ingress.addresses();
        this.log.info('ingress controller listening', { http: a.http, https: a.https });
      } catch (e) {
        this.log.warn('ingress controller is not available', { error: (e as Error).message });
        this.ingress = undefined;
      }
    }
    this.started = true;
    this.writeStatus();
    signal.addEventListener('abort', () => void this.stopAll(), { once: true });
  }

  private stopping?: Promise<void>;

  private stopAll(): Promise<void> {
    if (!this.stopping) {
      this.stopping = (async () => {
        if (this.statusTimer) clearTimeout(this.statusTimer);
        for (const s of [...this.stops].reverse()) {
          try {
            await s();
          } catch (e) {
            this.log.warn('stopping a network component failed', { error: String(e) });
          }
        }
        if (this.started) fs.rmSync(path.join(this.opts.dataDir, NETWORK_STATUS_FILE), { force: true });
      })();
    }
    return this.stopping;
  }

  async stopped(): Promise<void> {
    await this.stopAll();
  }

  /** Pod ranges of the nodes, loopback and the host's own addresses. */
  private allowed(ip: string): boolean {
    if (!isIPv4(ip)) return ip === '::1';
    if (ip.startsWith('127.')) return true;
    for (const n of this.nodes.list()) {
      const c = n.spec?.podCIDR;
      if (typeof c === 'string' && c.includes('/')) {
        try {
          if (cidrContains(parseCidr(c), ip)) return true;
        } catch {
          /* malformed range: ignore */
        }
      }
    }
    const now = Date.now();
    if (now - this.localCache.at > 5000) this.localCache = { at: now, ips: new Set(localIPv4s()) };
    return this.localCache.ips.has(ip);
  }

  /**
   * The host address pods reach: the control-plane node's InternalIP (its bridge address) when it
   * is an address of this host, else another node's, else any non-loopback address of the host.
   */
  private hostIPForPods(): string | undefined {
    const local = new Set(localIPv4s());
    const nodes = [...this.nodes.list()].sort((a, b) => {
      const cp = (n: KObject) => (n.metadata.labels?.['node-role.kubernetes.io/control-plane'] !== undefined ? 0 : 1);
      return cp(a) - cp(b) || a.metadata.name!.localeCompare(b.metadata.name!);
    });
    for (const n of nodes) {
      for (const a of (n.status?.addresses ?? []) as { type: string; address: string }[]) {
        if (a.type === 'InternalIP' && local.has(a.address) && !a.address.startsWith('127.')) return a.address;
      }
    }
    return [...local].find((ip) => !ip.startsWith('127.'));
  }

  private updateTargets(): void {
    const podsReach = this.proxyStatus.status === 'ok';
    const ip = podsReach ? this.hostIPForPods() : undefined;
    const apiserver: HostTarget = ip && this.forwarder?.port ? { ip, port: this.forwarder.port } : { ip: '127.0.0.1', port: this.opts.apiPort };
    const dns: HostTarget | undefined = this.dnsServer?.port ? { ip: ip ?? '127.0.0.1', port: this.dnsServer.port } : undefined;
    this.clusterServices.setTargets({ apiserver, dns });
    this.scheduleStatus();
  }

  private scheduleStatus(): void {
    if (!this.started || this.statusTimer) return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = undefined;
      this.writeStatus();
    }, 200);
    this.statusTimer.unref();
  }

  status(): NetworkStatus {
    const ps = this.proxyStatus;
    const dnsAddr = this.dnsServer?.port ? `${this.dnsServer.host}:${this.dnsServer.port}` : undefined;
    const ip = this.proxyStatus.status === 'ok' ? this.hostIPForPods() : undefined;
    return {
      profile: this.opts.profile,
      updatedAt: new Date().toISOString(),
      serviceCidr: this.serviceCidr,
      clusterDomain: this.clusterDomain,
      proxy: { mode: this.proxier ? 'iptables' : 'none', status: ps.status, ...('reason' in ps ? { reason: ps.reason } : {}) },
      dns: { serviceIP: DNS_SERVICE_IP, listen: dnsAddr, reachableFromPods: this.dnsReachableFromPods(), upstreams: this.upstream?.servers.map((s) => `${s.host}:${s.port}`) ?? [], ...(this.dnsReason ? { reason: this.dnsReason } : {}) },
      apiserverForPods: ip && this.forwarder?.port ? `${ip}:${this.forwarder.port}` : undefined,
      hostPorts: { bound: this.hostProxy?.bound() ?? [], failed: this.hostProxy?.failures() ?? [] },
      ingress: this.ingress?.addresses(),
    };
  }

  private writeStatus(): void {
    try {
      const f = path.join(this.opts.dataDir, NETWORK_STATUS_FILE);
      fs.writeFileSync(f + '.tmp', JSON.stringify(this.status(), null, 2) + '\n', { mode: 0o600 });
      fs.renameSync(f + '.tmp', f);
    } catch (e) {
      this.log.v(1, 'cannot write network status', { error: String(e) });
    }
  }
}
