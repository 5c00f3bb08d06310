/**
 * The built-in ingress controller (IngressClass `minictl`, controller `minictl.io/ingress`): an
 * HTTP and an HTTPS reverse proxy on the host routing by host and path (routes.ts) to the
 * ready endpoints of the backend Service port (round-robin), with TLS certificates from
 * `kubernetes.io/tls` Secrets chosen by SNI.
 *
 * Contracts:
 * - Listens on `host:httpPort` (default 127.0.0.1:80) and `host:httpsPort` (443); a port that
 *   cannot be bound (taken, or below 1024 without root) falls back to a free port, reported by
 *   `addresses()` (shown by `minictl status`) and in each Ingress's
 *   `status.loadBalancer.ingress[0].ports`.
 * - Routing reads the informer caches on every request (rebuilding the route table after
 *   Ingress or IngressClass changes), so changes apply to the next request.
 * - No matching rule and no default backend: 404 page. Backend Service or port missing, or no
 *   ready endpoint: 503 page. Endpoint unreachable: 502 page (after trying the others).
 * - WebSocket/Upgrade requests are tunnelled. X-Forwarded-For/-Host/-Proto/-Port and X-Real-IP
 *   are set; the Host header is passed through.
 * - Status: every Ingress of ours gets `status.loadBalancer.ingress: [{ip: <host>}]` (plus ports
 *   when not 80/443); Ingresses no longer ours lose it.
 * - `stop()` closes listeners and open connections.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { KObject } from '../../api/types';
import { resourceFor } from '../../api/scheme';
import type { Registry } from '../../apiserver/registry';
import type { InformerFactory, Informer } from '../../client/informer';
import { Controller } from '../../controller/controller';
import type { Clock } from '../../controller/workqueue';
import { deepEqual } from '../../util/equal';
import { NotFoundError } from '../../util/errors';
import type { Logger } from '../../util/log';
import { silentLogger } from '../../util/log';
import { Balancer } from '../proxy/balancer';
import { usableEndpoints, type EndpointsView, type ServiceEndpoint } from '../proxy/endpoints-view';
import { selfSignedCertificate } from './default-cert';
import { buildRouteTable, isOurIngress, matchRoute, requestHost, tlsFor, type BackendRef, type RouteTable } from './routes';

const INGRESSES = resourceFor('networking.k8s.io', 'ingresses')!;
const CLASSES = resourceFor('networking.k8s.io', 'ingressclasses')!;
const SERVICES = resourceFor('', 'services')!;
const SECRETS = resourceFor('', 'secrets')!;

export interface IngressControllerOptions {
  registry: Registry;
  informers: InformerFactory;
  endpoints: EndpointsView;
  log?: Logger;
  clock?: Clock;
  host?: string;
  /** preferred ports (default 80 / 443); 0 = any free port */
  httpPort?: number;
  httpsPort?: number;
}

export interface IngressAddresses {
  http?: string;
  https?: string;
  /** why a preferred port was not used */
  notes: string[];
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-authenticate', 'proxy-authorization'];

function page(status: number, title: string, detail: string): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  return `<!DOCTYPE html>\n<html><head><title>${status} ${esc(title)}</title></head>\n<body><center><h1>${status} ${esc(title)}</h1></center>\n<hr><center>minictl ingress</center>\n<p style="text-align:center;color:#666">${esc(detail)}</p>\n</body></html>\n`;
}

export class IngressController {
  private readonly log: Logger;
  private readonly host: string;
  private readonly ingresses: Informer;
  private readonly classes: Informer;
  private readonly services: Informer;
  private readonly secrets: Informer;
  private readonly balancer = new Balancer();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 512, keepAliveMsecs: 10_000 });
  private readonly sockets = new Set<net.Socket>();
  private readonly contexts = new Map<string, tls.SecureContext>();
  private table?: RouteTable;
  private httpServer?: http.Server;
  private httpsServer?: https.Server;
  private statusController?: Controller;
  private defaultContext?: tls.SecureContext;
  private ports = { http: 0, https: 0 };
  private readonly notes: string[] = [];

  constructor(private readonly opts: IngressControllerOptions) {
    this.log = opts.log ?? silentLogger;
    this.host = opts.host ?? '127.0.0.1';
    this.ingresses = opts.informers.for(INGRESSES);
    this.classes = opts.informers.for(CLASSES);
    this.services = opts.informers.for(SERVICES);
    this.secrets = opts.informers.for(SECRETS);
  }

  addresses(): IngressAddresses {
    return {
      http: this.ports.http ? `${this.host}:${this.ports.http}` : undefined,
      https: this.ports.https ? `${this.host}:${this.ports.https}` : undefined,
      notes: [...this.notes],
    };
  }

  async start(signal: AbortSignal): Promise<void> {
    const invalidate = () => {
      this.table = undefined;
    };
    this.ingresses.addHandlers({ onAdd: invalidate, onUpdate: invalidate, onDelete: invalidate });
    this.classes.addHandlers({ onAdd: invalidate, onUpdate: invalidate, onDelete: invalidate });
    this.secrets.addHandlers({
      onUpdate: (o) => this.contexts.delete(o.metadata.uid ?? ''),
      onDelete: (o) => this.contexts.delete(o.metadata.uid ?? ''),
    });
    for (const i of [this.classes, this.services, this.secrets, this.ingresses]) i.start();
    const cert = selfSignedCertificate();
    this.defaultContext = tls.createSecureContext({ cert: cert.certPem, key: cert.keyPem });

    this.httpServer = http.createServer((req, res) => this.onRequest(req, res, 'http'));
    this.httpsServer = https.createServer({ cert: cert.certPem, key: cert.keyPem, SNICallback: (sn, cb) => cb(null, this.contextFor(sn)) }, (req, res) => this.onRequest(req, res, 'https'));
    for (const [srv, proto] of [
      [this.httpServer, 'http'],
      [this.httpsServer, 'https'],
    ] as const) {
      srv.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket as net.Socket, head, proto));
      srv.on('connection', (s: net.Socket) => {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
      });
      srv.on('clientError', (_e, s) => s.destroy());
    }
    this.ports.http = await this.listen(this.httpServer, this.opts.httpPort ?? 80, 'HTTP');
    this.ports.https = await this.listen(this.httpsServer, this.opts.httpsPort ?? 443, 'HTTPS');

    this.statusController = new Controller({
      name: 'ingress-status',
      log: this.log,
      clock: this.opts.clock,
      setup: (enqueue) => {
        const key = (o: KObject) => enqueue(`${o.metadata.namespace}/${o.metadata.name}`);
        this.ingresses.addHandlers({ onAdd: key, onUpdate: (_o, n) => key(n) });
        this.classes.addHandlers({
          onAdd: () => this.ingresses.list().forEach(key),
          onUpdate: () => this.ingresses.list().forEach(key),
          onDelete: () => this.ingresses.list().forEach(key),
        });
      },
      reconcile: (k) => this.reconcileStatus(k),
    });
    await this.statusController.start(signal);
    signal.addEventListener('abort', () => void this.stop(), { once: true });
  }

  private async listen(srv: http.Server | https.Server, preferred: number, what: string): Promise<number> {
    const tryPort = (port: number) =>
      new Promise<number>((resolve, reject) => {
        const onErr = (e: Error) => reject(e);
        srv.once('error', onErr);
        srv.listen({ port, host: this.host, exclusive: true }, () => {
          srv.off('error', onErr);
          resolve((srv.address() as net.AddressInfo).port);
        });
      });
    try {
      return await tryPort(preferred);
    } catch (e) {
      if (preferred === 0) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      const port = await tryPort(0);
      const why = code === 'EACCES' ? 'needs root' : code === 'EADDRINUSE' ? 'is in use' : String(code ?? e);
      this.notes.push(`${what} port ${preferred} ${why}; listening on ${this.host}:${port} instead`);
      this.log.warn(`ingress ${what} port ${preferred} ${why}; using ${port}`);
      return port;
    }
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.agent.destroy();
    await Promise.all(
      [this.httpServer, this.httpsServer].map((s) => (s && s.listening ? new Promise<void>((r) => s.close(() => r())) : undefined)),
    );
  }

  async stopped(): Promise<void> {
    await this.statusController?.stopped();
  }

  private routeTable(): RouteTable {
    if (!this.table) {
      const classes = this.classes.list();
      this.table = buildRouteTable(this.ingresses.list().filter((i) => isOurIngress(i, classes)));
    }
    return this.table;
  }

  private contextFor(servername: string): tls.SecureContext {
    const entry = tlsFor(this.routeTable(), servername);
    if (!entry) return this.defaultContext!;
    const secret = this.secrets.get(entry.namespace, entry.secretName);
    const crt = secret?.data?.['tls.crt'];
    const key = secret?.data?.['tls.key'];
    if (!secret || !crt || !key) return this.defaultContext!;
    const ck = secret.metadata.uid ?? '';
    const cached = this.contexts.get(ck);
    if (cached) return cached;
    try {
      const ctx = tls.createSecureContext({ cert: Buffer.from(crt, 'base64'), key: Buffer.from(key, 'base64') });
      this.contexts.set(ck, ctx);
      return ctx;
    } catch (e) {
      this.log.warn('invalid TLS secret for ingress', { secret: `${entry.namespace}/${entry.secretName}`, error: String(e) });
      return this.defaultContext!;
    }
  }

  /** The endpoints of a backend, or an error page to send. */
  private resolveBackend(b: BackendRef | undefined): { eps: ServiceEndpoint[]; key: string } | { status: number; title: string; detail: string } {
    if (!b) return { status: 404, title: 'Not Found', detail: 'no Ingress rule matches this host and path, and no default backend is set' };
    const svc = this.services.get(b.namespace, b.service);
    if (!svc) return { status: 503, title: 'Service Temporarily Unavailable', detail: `service ${b.namespace}/${b.service} does not exist` };
    const sp = ((svc.spec?.ports ?? []) as { name?: string; port: number; protocol?: string }[]).find((p) => (b.port.name ? p.name === b.port.name : p.port === b.port.number) && (p.protocol ?? 'TCP') === 'TCP');
    if (!sp) return { status: 503, title: 'Service Temporarily Unavailable', detail: `service ${b.namespace}/${b.service} has no port ${b.port.name ?? b.port.number}` };
    const eps = usableEndpoints(this.opts.endpoints.endpointsFor(b.namespace, b.service, sp.name ?? '', 'TCP'));
    if (!eps.length) return { status: 503, title: 'Service Temporarily Unavailable', detail: `service ${b.namespace}/${b.service} has no ready endpoints` };
    return { eps, key: `${b.namespace}/${b.service}:${sp.name ?? ''}` };
  }

  private forwardedHeaders(req: http.IncomingMessage, proto: string): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    const connTokens = String(req.headers.connection ?? '')
      .toLowerCase()
      .split(',')
      .map((s) => s.trim());
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined || HOP_BY_HOP.includes(k) || connTokens.includes(k)) continue;
      out[k] = v;
    }
    const client = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const prior = req.headers['x-forwarded-for'];
    out['x-forwarded-for'] = prior ? `${prior}, ${client}` : client;
    out['x-real-ip'] = client;
    out['x-forwarded-host'] = req.headers.host ?? '';
    out['x-forwarded-proto'] = proto;
    out['x-forwarded-port'] = String(proto === 'https' ? this.ports.https : this.ports.http);
    return out;
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse, proto: string): void {
    const m = matchRoute(this.routeTable(), requestHost(req.headers.host), req.url ?? '/');
    const r = this.resolveBackend(m.backend);
    if ('status' in r) {
      res.writeHead(r.status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(page(r.status, r.title, r.detail));
      return;
    }
    const headers = this.forwardedHeaders(req, proto);
    const tried = new Set<string>();
    const attempt = (): void => {
      const ep = this.balancer.pick(r.key, r.eps, undefined, undefined, tried);
      if (!ep) {
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'text/html; charset=utf-8' });
          res.end(page(502, 'Bad Gateway', `no endpoint of ${r.key} accepted the connection`));
        } else res.destroy();
        return;
      }
      tried.add(`${ep.ip}:${ep.port}`);
      let started = false;
      const up = http.request({ host: ep.ip, port: ep.port, method: req.method, path: req.url, headers, agent: this.agent }, (ur) => {
        started = true;
        const h: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(ur.headers)) if (v !== undefined && !HOP_BY_HOP.includes(k)) h[k] = v;
        res.writeHead(ur.statusCode ?? 502, ur.statusMessage, h);
        ur.pipe(res);
        ur.on('error', () => res.destroy());
      });
      up.on('error', (e: NodeJS.ErrnoException) => {
        if (!started && !res.headersSent && (e.code === 'ECONNREFUSED' || e.code === 'EHOSTUNREACH') && !req.readableEnded && req.readableLength === 0) {
          attempt();
          return;
        }
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'text/html; charset=utf-8' });
          res.end(page(502, 'Bad Gateway', `${ep.ip}:${ep.port}: ${e.code ?? e.message}`));
        } else res.destroy();
      });
      res.on('close', () => {
        if (!res.writableFinished) up.destroy();
      });
      req.pipe(up);
    };
    attempt();
  }

  private onUpgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer, proto: string): void {
    socket.on('error', () => socket.destroy());
    const m = matchRoute(this.routeTable(), requestHost(req.headers.host), req.url ?? '/');
    const r = this.resolveBackend(m.backend);
    if ('status' in r) {
      socket.end(`HTTP/1.1 ${r.status} ${r.title}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${r.detail}\n`);
      return;
    }
    const ep = this.balancer.pick(r.key, r.eps);
    if (!ep) {
      socket.destroy();
      return;
    }
    const up = net.connect({ host: ep.ip, port: ep.port }, () => {
      const h = this.forwardedHeaders(req, proto);
      h.connection = 'Upgrade';
      if (req.headers.upgrade) h.upgrade = req.headers.upgrade;
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (const [k, v] of Object.entries(h)) for (const x of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${x}`);
      up.write(lines.join('\r\n') + '\r\n\r\n');
      if (head.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    this.sockets.add(up);
    up.on('close', () => {
      this.sockets.delete(up);
      socket.destroy();
    });
    up.on('error', () => socket.destroy());
    socket.on('close', () => up.destroy());
  }

  private desiredStatus(): unknown {
    const ports: { port: number; protocol: string }[] = [];
    if (this.ports.http && this.ports.http !== 80) ports.push({ port: this.ports.http, protocol: 'TCP' });
    if (this.ports.https && this.ports.https !== 443) ports.push({ port: this.ports.https, protocol: 'TCP' });
    return { ingress: [{ ip: this.host, ...(ports.length ? { ports } : {}) }] };
  }

  private reconcileStatus(k: string): void {
    const i = k.indexOf('/');
    const ns = k.slice(0, i);
    const name = k.slice(i + 1);
    const ing = this.ingresses.get(ns, name);
    if (!ing || ing.metadata.deletionTimestamp) return;
    const ours = isOurIngress(ing, this.classes.list());
    const cur = ing.status?.loadBalancer ?? {};
    let want: unknown;
    if (ours) want = this.desiredStatus();
    else if ((cur.ingress ?? []).some((x: { ip?: string }) => x.ip === this.host)) want = {};
    else return;
    if (deepEqual(cur, want)) return;
    try {
      this.opts.registry.guaranteedUpdate(
        INGRESSES,
        ns,
        name,
        (o) => {
          o.status = { ...(o.status ?? {}), loadBalancer: want };
          return o;
        },
        { subresource: 'status' },
      );
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
  }
}
