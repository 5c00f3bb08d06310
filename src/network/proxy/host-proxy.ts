/**
 * NodePort and LoadBalancer Services on the host: a userspace TCP/UDP listener on
 * `127.0.0.1:<nodePort>` for every NodePort/LoadBalancer port, and on `127.0.0.1:<port>` for every
 * LoadBalancer port, relaying to the Service's endpoints (pod IPs are routable from the host).
 * LoadBalancer Services get `status.loadBalancer.ingress: [{ip: 127.0.0.1}]` (with a per-port
 * `error` when their port could not be bound).
 *
 * Contracts:
 * - `sync()` (on every Service change) opens and closes listeners to match; a listener whose port
 *   stays is only re-targeted. A port that cannot be bound (in use, below 1024 without root) is
 *   reported as a Warning Event on the Service and in `failures()`, and retried on the next sync.
 * - Each new TCP connection / UDP flow picks an endpoint at that moment (round-robin, ClientIP
 *   affinity honoured) from the EndpointsView, so endpoint changes apply to the next connection;
 *   a refused connection is retried on the other endpoints. No endpoint: the connection is closed.
 * - UDP flows are kept per client address and port, and dropped after `udpIdleMs` without traffic.
 * - `stop()` closes every listener and open connection.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import type { KObject } from '../../api/types';
import { resourceFor } from '../../api/scheme';
import type { Registry } from '../../apiserver/registry';
import type { Informer } from '../../client/informer';
import type { EventRecorder } from '../../client/events';
import { deepEqual } from '../../util/equal';
import type { Logger } from '../../util/log';
import { silentLogger } from '../../util/log';
import { Balancer } from './balancer';
import { usableEndpoints, type EndpointsView } from './endpoints-view';

const SERVICES = resourceFor('', 'services')!;

export interface HostProxyOptions {
  services: Informer;
  endpoints: EndpointsView;
  registry: Registry;
  recorder?: EventRecorder;
  /** listen address (default 127.0.0.1); also the LoadBalancer ingress IP */
  host?: string;
  udpIdleMs?: number;
  log?: Logger;
}

interface Target {
  ns: string;
  service: string;
  portName: string;
  protocol: string;
  affinitySeconds?: number;
}

interface Listener {
  key: string;
  protocol: 'TCP' | 'UDP';
  port: number;
  target: Target;
  tcp?: net.Server;
  udp?: dgram.Socket;
  flows?: Map<string, { sock: dgram.Socket; timer: NodeJS.Timeout }>;
}

export interface HostPortFailure {
  service: string;
  protocol: string;
  port: number;
  error: string;
}

function svcKey(ns: string, name: string): string {
  return `${ns}/${name}`;
}

export class HostProxy {
  private readonly listeners = new Map<string, Listener>();
  private readonly failed = new Map<string, HostPortFailure>();
  /** ports two Services want (the older one gets it), by `ns/svc|PROTO/port` */
  private conflicts = new Map<string, HostPortFailure>();
  private readonly reportedConflicts = new Set<string>();
  private readonly conns = new Set<net.Socket>();
  private readonly balancer = new Balancer();
  private readonly log: Logger;
  private readonly host: string;
  private syncing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly opts: HostProxyOptions) {
    this.log = opts.log ?? silentLogger;
    this.host = opts.host ?? '127.0.0.1';
  }

  /** Ports that could not be bound, for `minictl status`. */
  failures(): HostPortFailure[] {
    return [...this.failed.values(), ...this.conflicts.values()];
  }

  /** Bound listeners as `proto/port → ns/svc`. */
  bound(): string[] {
    return [...this.listeners.values()].map((l) => `${l.protocol.toLowerCase()}/${l.port} → ${svcKey(l.target.ns, l.target.service)}`);
  }

  /** Serialized: concurrent calls run one after another. */
  sync(): Promise<void> {
    this.syncing = this.syncing.then(() => this.doSync()).catch((e) => this.log.warn('host proxy sync failed', { error: String(e) }));
    return this.syncing;
  }

  private desired(conflicts: { key: string; svc: KObject; lb: boolean; port: number; protocol: string; owner: string }[]): Map<string, { protocol: 'TCP' | 'UDP'; port: number; target: Target; svc: KObject; lb: boolean }> {
    const out = new Map<string, { protocol: 'TCP' | 'UDP'; port: number; target: Target; svc: KObject; lb: boolean }>();
    const svcs = [...this.opts.services.list()].sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || svcKey(a.metadata.namespace!, a.metadata.name!).localeCompare(svcKey(b.metadata.namespace!, b.metadata.name!)));
    for (const svc of svcs) {
      const spec = svc.spec ?? {};
      if (svc.metadata.deletionTimestamp || (spec.type !== 'NodePort' && spec.type !== 'LoadBalancer')) continue;
      const affinitySeconds = spec.sessionAffinity === 'ClientIP' ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800) : undefined;
      for (const p of (spec.ports ?? []) as { name?: string; port: number; protocol?: string; nodePort?: number }[]) {
        const protocol = p.protocol ?? 'TCP';
        if (protocol !== 'TCP' && protocol !== 'UDP') continue;
        const target: Target = { ns: svc.metadata.namespace!, service: svc.metadata.name!, portName: p.name ?? '', protocol, affinitySeconds };
        const add = (port: number, lb: boolean) => {
          const k = `${protocol}/${port}`;
          const prev = out.get(k);
          if (!prev) out.set(k, { protocol, port, target, svc, lb });
          else if (prev.svc !== svc) conflicts.push({ key: k, svc, lb, port, protocol, owner: svcKey(prev.target.ns, prev.target.service) });
        };
        if (p.nodePort) add(p.nodePort, false);
        if (spec.type === 'LoadBalancer') add(p.port, true);
      }
    }
    return out;
  }

  private async doSync(): Promise<void> {
    if (this.stopped) return;
    const conflicts: { key: string; svc: KObject; lb: boolean; port: number; protocol: string; owner: string }[] = [];
    const want = this.desired(conflicts);
    for (const [k, l] of this.listeners) {
      if (!want.has(k)) {
        this.close(l);
        this.listeners.delete(k);
      }
    }
    for (const k of [...this.failed.keys()]) if (!want.has(k)) this.failed.delete(k);
    for (const [k, w] of want) {
      const cur = this.listeners.get(k);
      if (cur) {
        cur.target = w.target;
        continue;
      }
      const l: Listener = { key: k, protocol: w.protocol, port: w.port, target: w.target };
      try {
        if (w.protocol === 'TCP') await this.listenTcp(l);
        else await this.listenUdp(l);
        this.listeners.set(k, l);
        const wasFailed = this.failed.delete(k);
        if (wasFailed) this.log.info('host port bound after earlier failure', { port: k, service: svcKey(w.target.ns, w.target.service) });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? String(e);
        const error = code === 'EADDRINUSE' ? `port ${w.port} is already in use on ${this.host}` : code === 'EACCES' ? `port ${w.port} needs root to bind` : String((e as Error).message ?? e);
        const prev = this.failed.get(k);
        this.failed.set(k, { service: svcKey(w.target.ns, w.target.service), protocol: w.protocol, port: w.port, error });
        if (!prev || prev.error !== error || prev.service !== svcKey(w.target.ns, w.target.service)) {
          this.log.warn('cannot listen for a Service on the host', { port: k, service: svcKey(w.target.ns, w.target.service), error });
          this.opts.recorder?.event(w.svc, 'Warning', w.lb ? 'LoadBalancerPortUnavailable' : 'NodePortUnavailable', `cannot listen on ${this.host}:${w.port}/${w.protocol}: ${error}`);
        }
      }
    }
    this.conflicts = new Map();
    for (const c of conflicts) {
      const name = svcKey(c.svc.metadata.namespace!, c.svc.metadata.name!);
      const error = `port ${c.port}/${c.protocol} on ${this.host} is already used by Service ${c.owner}`;
      this.conflicts.set(`${name}|${c.key}`, { service: name, protocol: c.protocol, port: c.port, error });
      if (!this.reportedConflicts.has(`${name}|${c.key}|${c.owner}`)) {
        this.reportedConflicts.add(`${name}|${c.key}|${c.owner}`);
        this.opts.recorder?.event(c.svc, 'Warning', c.lb ? 'LoadBalancerPortUnavailable' : 'NodePortUnavailable', `cannot listen on ${this.host}:${c.port}/${c.protocol}: already used by Service ${c.owner}`);
      }
    }
    this.updateLoadBalancerStatus();
  }

  /** Writes status.loadBalancer of LoadBalancer Services (and clears it from others). */
  private updateLoadBalancerStatus(): void {
    for (const svc of this.opts.services.list()) {
      if (svc.metadata.deletionTimestamp) continue;
      const isLB = svc.spec?.type === 'LoadBalancer';
      let want: unknown = {};
      if (isLB) {
        const ports = ((svc.spec.ports ?? []) as { port: number; protocol?: string }[]).map((p) => {
          const name = svcKey(svc.metadata.namespace!, svc.metadata.name!);
          const k = `${p.protocol ?? 'TCP'}/${p.port}`;
          const f = this.failed.get(k) ?? this.conflicts.get(`${name}|${k}`);
          return f && f.service === name ? { port: p.port, protocol: p.protocol ?? 'TCP', error: 'PortUnavailable' } : { port: p.port, protocol: p.protocol ?? 'TCP' };
        });
        want = { ingress: [{ ip: this.host, ...(ports.some((p) => 'error' in p) ? { ports } : {}) }] };
      } else if (!svc.status?.loadBalancer?.ingress) continue;
      if (deepEqual(svc.status?.loadBalancer ?? {}, want)) continue;
      try {
        this.opts.registry.guaranteedUpdate(
          SERVICES,
          svc.metadata.namespace,
          svc.metadata.name!,
          (cur) => {
            cur.status = { ...(cur.status ?? {}), loadBalancer: want };
            return cur;
          },
          { subresource: 'status' },
        );
      } catch (e) {
        this.log.v(1, 'updating load balancer status failed', { service: svcKey(svc.metadata.namespace!, svc.metadata.name!), error: String(e) });
      }
    }
  }

  private endpointsOf(t: Target) {
    return usableEndpoints(this.opts.endpoints.endpointsFor(t.ns, t.service, t.portName, t.protocol));
  }

  private listenTcp(l: Listener): Promise<void> {
    const server = net.createServer((client) => this.onTcp(l, client));
    server.on('error', (e) => this.log.warn('host listener error', { port: l.key, error: String(e) }));
    l.tcp = server;
    return new Promise((resolve, reject) => {
      const onErr = (e: Error) => reject(e);
      server.once('error', onErr);
      server.listen({ port: l.port, host: this.host, exclusive: true }, () => {
        server.off('error', onErr);
        resolve();
      });
    });
  }

  private onTcp(l: Listener, client: net.Socket): void {
    this.conns.add(client);
    client.on('close', () => this.conns.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const t = l.target;
    const clientIp = client.remoteAddress ?? '';
    const tried = new Set<string>();
    const attempt = (): void => {
      const ep = this.balancer.pick(`${t.ns}/${t.service}:${t.portName}/${t.protocol}`, this.endpointsOf(t), clientIp, t.affinitySeconds, tried);
      if (!ep) {
        client.destroy();
        return;
      }
      tried.add(`${ep.ip}:${ep.port}`);
      const up = net.connect({ host: ep.ip, port: ep.port });
      let connected = false;
      up.setNoDelay(true);
      up.once('connect', () => {
        connected = true;
        this.conns.add(up);
        up.on('close', () => this.conns.delete(up));
        client.setNoDelay(true);
        client.pipe(up);
        up.pipe(client);
        client.resume();
      });
      up.on('error', (e: NodeJS.ErrnoException) => {
        if (!connected && (e.code === 'ECONNREFUSED' || e.code === 'EHOSTUNREACH' || e.code === 'ETIMEDOUT') && !client.destroyed) {
          up.destroy();
          attempt();
          return;
        }
        up.destroy();
        client.destroy();
      });
      up.setTimeout(10_000, () => {
        if (!connected) up.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' }));
        else up.setTimeout(0);
      });
      client.once('close', () => up.destroy());
      up.once('close', () => {
        if (connected) client.end();
      });
    };
    attempt();
  }

  private listenUdp(l: Listener): Promise<void> {
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    l.udp = sock;
    l.flows = new Map();
    return new Promise((resolve, reject) => {
      const onErr = (e: Error) => {
        sock.close();
        reject(e);
      };
      sock.once('error', onErr);
      sock.bind(l.port, this.host, () => {
        sock.off('error', onErr);
        sock.on('error', (e) => this.log.warn('host UDP listener error', { port: l.key, error: String(e) }));
        sock.on('message', (msg, rinfo) => this.onUdp(l, msg, rinfo));
        resolve();
      });
    });
  }

  private onUdp(l: Listener, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const flows = l.flows!;
    const fk = `${rinfo.address}:${rinfo.port}`;
    const idle = this.opts.udpIdleMs ?? 60_000;
    let f = flows.get(fk);
    if (!f) {
      const t = l.target;
      const ep = this.balancer.pick(`${t.ns}/${t.service}:${t.portName}/${t.protocol}`, this.endpointsOf(t), rinfo.address, t.affinitySeconds);
      if (!ep) return;
      const up = dgram.createSocket('udp4');
      up.on('error', () => undefined);
      up.on('message', (reply) => {
        l.udp?.send(reply, rinfo.port, rinfo.address);
        const cur = flows.get(fk);
        if (cur) cur.timer.refresh();
      });
      up.connect(ep.port, ep.ip);
      const timer = setTimeout(() => {
        flows.delete(fk);
        try {
          up.close();
        } catch {
          /* closed */
        }
      }, idle);
      timer.unref();
      f = { sock: up, timer };
      flows.set(fk, f);
      up.once('connect', () => up.send(msg));
      return;
    }
    f.timer.refresh();
    try {
      f.sock.send(msg);
    } catch {
      /* not connected yet: dropped, as UDP may be */
    }
  }

  private close(l: Listener): void {
    l.tcp?.close();
    if (l.udp) {
      try {
        l.udp.close();
      } catch {
        /* closed */
      }
    }
    for (const f of l.flows?.values() ?? []) {
      clearTimeout(f.timer);
      try {
        f.sock.close();
      } catch {
        /* closed */
      }
    }
    l.flows?.clear();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.syncing;
    for (const l of this.listeners.values()) this.close(l);
    this.listeners.clear();
    for (const c of this.conns) c.destroy();
    this.conns.clear();
  }
}
