import * as https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { ClusterPKI } from './certs';
import type { Registry } from './registry';
import { parsePath, type ResourceRequest } from './router';
import { apiGroupDoc, apiGroupList, apiResourceList, apiVersions, VERSION_INFO } from './discovery';
import { handleResource, sendError, sendJSON, type HandlerContext } from './handlers';
import { ApiError, NotFoundError, RequestEntityTooLargeError, UnauthorizedError } from '../util/errors';
import { Logger, silentLogger } from '../util/log';

/**
 * The HTTPS API server: 127.0.0.1 only, bearer-token authentication, Kubernetes REST paths.
 * Health and version endpoints are public, as in Kubernetes. Stream subresources (log, exec,
 * attach, portforward) and extra API groups are delegated to pluggable handlers.
 */
export interface StreamHandler {
  /** GET pods/P/log */
  handleLog(req: IncomingMessage, res: ServerResponse, ns: string, pod: string, q: URLSearchParams): Promise<void>;
  /** exec, attach, portforward as WebSocket (or SPDY) upgrades */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ns: string, pod: string, sub: string, q: URLSearchParams): Promise<void>;
  /** exec/attach/portforward without an upgrade header */
  handlePlain?(req: IncomingMessage, res: ServerResponse, ns: string, pod: string, sub: string, q: URLSearchParams): Promise<void>;
  /** Drop live upgraded sessions (the HTTP server no longer tracks their sockets); called by close(). */
  close?(): void;
}

/** Serves an extra API path prefix (e.g. /apis/metrics.k8s.io). Returns false when not handled. */
export type ExtraHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean> | boolean;

export interface ApiServerOptions {
  registry: Registry;
  pki: ClusterPKI;
  token: string;
  host?: string;
  port?: number;
  log?: Logger;
  maxBodyBytes?: number;
  isReady?: () => boolean;
  bookmarkIntervalMs?: number;
}

export class ApiServer {
  private server?: https.Server;
  private readonly tokenBuf: Buffer;
  private readonly log: Logger;
  private readonly ctx: HandlerContext;
  streams?: StreamHandler;
  extraGroups: { name: string; versions: string[]; handler: ExtraHandler }[] = [];

  constructor(private readonly opts: ApiServerOptions) {
    this.tokenBuf = Buffer.from(opts.token);
    this.log = opts.log ?? silentLogger;
    this.ctx = { registry: opts.registry, bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 15000, watches: new Set() };
  }

  /** Listens; resolves with the bound port. */
  async listen(): Promise<number> {
    const server = https.createServer(
      { cert: this.opts.pki.serverCertPem, key: this.opts.pki.serverKeyPem, ca: this.opts.pki.caCertPem, requestCert: false, keepAlive: true } as https.ServerOptions,
      (req, res) => void this.handle(req, res),
    );
    server.keepAliveTimeout = 120_000;
    server.headersTimeout = 60_000;
    server.requestTimeout = 0; // watches and streams are long
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.handleUpgrade(req, socket, head));
    server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.streams?.close?.();
    for (const w of this.ctx.watches) w.end();
    this.ctx.watches.clear();
    const s = this.server;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }

  private authenticated(req: IncomingMessage): boolean {
    const h = req.headers.authorization;
    if (!h || !h.startsWith('Bearer ')) return false;
    const b = Buffer.from(h.slice(7).trim());
    return b.length === this.tokenBuf.length && timingSafeEqual(b, this.tokenBuf);
  }

  private readBody(req: IncomingMessage): () => Promise<Buffer> {
    const limit = this.opts.maxBodyBytes ?? 3 * 1024 * 1024;
    return () =>
      new Promise<Buffer>((resolve, reject) => {
        const len = Number(req.headers['content-length'] ?? 0);
        if (len > limit) {
          req.resume();
          reject(new RequestEntityTooLargeError(limit));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        req.on('data', (c: Buffer) => {
          size += c.length;
          if (size > limit) {
            req.removeAllListeners('data');
            req.resume();
            reject(new RequestEntityTooLargeError(limit));
            return;
          }
          chunks.push(c);
        });
        req.on('end', () => resolve(Buffer.concat(chunks)));
        req.on('error', reject);
      });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'https://localhost');
    } catch {
      return sendError(res, new ApiError(400, 'BadRequest', 'malformed request URL'));
    }
    try {
      const p = url.pathname;
      if (p === '/healthz' || p === '/livez' || p === '/readyz') {
        const ok = p !== '/readyz' || (this.opts.isReady?.() ?? true);
        res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(ok ? 'ok' : 'not ready');
        return;
      }
      if (p === '/version' || p === '/version/') return sendJSON(res, 200, VERSION_INFO);
      if (!this.authenticated(req)) throw new UnauthorizedError();
      await this.route(req, res, url);
    } catch (e) {
      if (!(e instanceof ApiError) || e.code >= 500) this.log.error('request failed', { method: req.method, url: req.url, error: (e as Error).stack ?? String(e) });
      sendError(res, e);
    } finally {
      this.log.v(3, 'request', { method: req.method, url: req.url, code: res.statusCode, ms: Date.now() - started });
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const p = url.pathname.replace(/\/+$/, '') || '/';
    for (const g of this.extraGroups) {
      if (p.startsWith(`/apis/${g.name}`)) {
        if (await g.handler(req, res, url)) return;
      }
    }
    const target = parsePath(p);
    if (target.type === 'other') return this.serveOther(req, res, target.path);
    const rr = target as ResourceRequest;
    if (rr.ri.resource === 'pods' && rr.subresource && ['log', 'exec', 'attach', 'portforward'].includes(rr.subresource)) {
      if (!rr.namespace || !rr.name) throw new NotFoundError('pods', rr.name ?? '');
      this.opts.registry.get(rr.ri, rr.namespace, rr.name); // 404 for an unknown pod
      if (!this.streams) throw new ApiError(503, 'ServiceUnavailable', `pods/${rr.subresource} is not available: this cluster runs no kubelet`);
      if (rr.subresource === 'log') return this.streams.handleLog(req, res, rr.namespace, rr.name, url.searchParams);
      if (this.streams.handlePlain) return this.streams.handlePlain(req, res, rr.namespace, rr.name, rr.subresource, url.searchParams);
      throw new ApiError(400, 'BadRequest', `pods/${rr.subresource} requires a WebSocket or SPDY upgrade`);
    }
    return handleResource(this.ctx, req, res, rr, url.searchParams, this.readBody(req));
  }

  private serveOther(req: IncomingMessage, res: ServerResponse, p: string): void {
    if (req.method !== 'GET') throw new ApiError(405, 'MethodNotAllowed', `${req.method} is not supported on ${p}`);
    if (p === '/api') return sendJSON(res, 200, apiVersions());
    if (p === '/apis') return sendJSON(res, 200, apiGroupList(this.extraGroups));
    if (p === '/openapi/v2') {
      // An empty protobuf document: kubectl then skips client-side schema validation.
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': 0 });
      res.end();
      return;
    }
    if (p === '/openapi/v3') return sendJSON(res, 200, { paths: {} });
    const m = /^\/api\/(v1)$/.exec(p);
    if (m) return sendJSON(res, 200, apiResourceList('', m[1]));
    const g = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(p);
    if (g) {
      const doc = g[2] ? apiResourceList(g[1], g[2]) : apiGroupDoc(g[1]);
      if (doc) return sendJSON(res, 200, doc);
    }
    const e = new NotFoundError('', '');
    (e as { message: string }).message = `the server could not find the requested resource`;
    throw e;
  }

  private async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const reject = (e: ApiError): void => {
      const body = JSON.stringify(e.toStatus());
      socket.end(`HTTP/1.1 ${e.code} ${e.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    try {
      if (!this.authenticated(req)) return reject(new UnauthorizedError());
      const url = new URL(req.url ?? '/', 'https://localhost');
      const target = parsePath(url.pathname);
      if (target.type !== 'resource' || target.ri.resource !== 'pods' || !target.subresource || !['exec', 'attach', 'portforward'].includes(target.subresource) || !target.namespace || !target.name) {
        return reject(new ApiError(400, 'BadRequest', 'upgrade is only supported for pods/exec, pods/attach and pods/portforward'));
      }
      this.opts.registry.get(target.ri, target.namespace, target.name);
      if (!this.streams) return reject(new ApiError(503, 'ServiceUnavailable', `pods/${target.subresource} is not available: this cluster runs no kubelet`));
      await this.streams.handleUpgrade(req, socket, head, target.namespace, target.name, target.subresource, url.searchParams);
    } catch (e) {
      if (e instanceof ApiError) reject(e);
      else {
        this.log.error('upgrade failed', { url: req.url, error: String(e) });
        socket.destroy();
      }
    }
  }
}
