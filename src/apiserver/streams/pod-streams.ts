/**
 * PodStreams: the API server's StreamHandler for `pods/log`, `pods/exec`, `pods/attach` and
 * `pods/portforward`.
 *
 * - log: query → PodLogOptions; the resolver picks the container (previous instance with
 *   `previous`); the runtime's log stream is piped out (logs.ts).
 * - exec / attach: the query, the negotiated subprotocol and the target container are all
 *   checked BEFORE the upgrade, so every refusal is an ordinary HTTP error with a Status body
 *   (kubectl ≥ 1.30 then retries over SPDY and shows the same error). The container must be
 *   running. After the upgrade a session runs to its end (remote-command.ts) over a WebSocket
 *   (`Upgrade: websocket`, channel.ts) or SPDY/3.1 (`Upgrade: SPDY/3.1`, spdy-transport.ts).
 * - portforward: handed to PortForwardHandler (portforward.ts): SPDY/3.1, SPDY tunnelled in a
 *   WebSocket, or WebSocket channels; pod connections go to the pod IP.
 *
 * Failures after the upgrade never propagate to the API server: they end the session (status
 * on the error channel when possible) and are logged at -v 1.
 *
 * Concurrency: sessions are independent; `close()` (API server shutdown) drops every live
 * session, since upgraded sockets are no longer tracked by the HTTP server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { ApiError, BadRequestError } from '../../util/errors';
import { Logger, silentLogger } from '../../util/log';
import type { StreamHandler } from '../server';
import { negotiateSpdyProtocol, negotiateWebSocketProtocol, parseProtocolHeader, SUPPORTED_SPDY_PROTOCOLS, SUPPORTED_WEBSOCKET_PROTOCOLS, type ChannelProtocol } from './channel';
import { realStreamClock, type StreamClock } from './clock';
import { openLogStream, pipeLogs } from './logs';
import { parseLogQuery, parseRemoteCommandQuery, type RemoteCommandQuery } from './options';
import { PortForwardHandler, type PortForwardOptions } from './portforward';
import { openAttach, openExec, runRemoteCommand, type CommandTransport } from './remote-command';
import type { StreamResolver, StreamTarget } from './resolver';
import { SpdyTransport } from './spdy-transport';
import { acceptWebSocket, WebSocketTransport } from './websocket';

export interface PodStreamsOptions {
  resolver: StreamResolver;
  log?: Logger;
  clock?: StreamClock;
  /** WebSocket keepalive ping period; 0 disables (default 30 s). */
  pingIntervalMs?: number;
  /** How long a SPDY client may take to open its streams (default 30 s). */
  streamCreationTimeoutMs?: number;
  /** Largest WebSocket message / SPDY frame accepted from a client (default 1 MiB). */
  maxFrameBytes?: number;
  /** pods/portforward: how pods are found and dialled (defaults: through `resolver`, TCP). */
  portForward?: PortForwardOptions;
}

type UpgradeKind = 'websocket' | 'spdy';

function upgradeKind(req: IncomingMessage): UpgradeKind | undefined {
  const u = (req.headers.upgrade ?? '').toLowerCase();
  if (u === 'websocket') return 'websocket';
  if (u.startsWith('spdy/3')) return 'spdy';
  return undefined;
}

export class PodStreams implements StreamHandler {
  private readonly resolver: StreamResolver;
  private readonly log: Logger;
  private readonly clock: StreamClock;
  private readonly wss: WebSocketServer;
  private readonly sessions = new Set<CommandTransport>();
  /** Every upgrade socket still open, in whatever phase (handshake, session, closing). */
  private readonly sockets = new Set<Duplex>();
  private closed = false;
  private readonly portForward: PortForwardHandler;

  constructor(private readonly opts: PodStreamsOptions) {
    this.resolver = opts.resolver;
    this.log = opts.log ?? silentLogger;
    this.clock = opts.clock ?? realStreamClock;
    this.portForward = new PortForwardHandler({
      resolver: opts.resolver,
      log: this.log,
      clock: this.clock,
      streamCreationTimeoutMs: opts.streamCreationTimeoutMs,
      maxFrameBytes: opts.maxFrameBytes,
      ...opts.portForward,
    });
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: opts.maxFrameBytes ?? 1 << 20,
      // The protocol was negotiated before the upgrade (see handleUpgrade); echo that choice.
      handleProtocols: (_offered, req) => (req as IncomingMessage & { negotiated?: string }).negotiated ?? false,
    });
  }

  /** Number of live exec/attach sessions. */
  get activeSessions(): number {
    return this.sessions.size;
  }

  /** Number of live port-forward sessions. */
  get activePortForwards(): number {
    return this.portForward.activeSessions;
  }

  async handleLog(_req: IncomingMessage, res: ServerResponse, ns: string, pod: string, q: URLSearchParams): Promise<void> {
    const query = parseLogQuery(q, pod, this.clock.now());
    const target = this.resolver.resolve(ns, pod, query.container, query.previous);
    const src = await openLogStream(target, query, pod);
    // Errors from here on cannot become a Status: the headers are out.
    await pipeLogs(src, res, query);
  }

  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ns: string, pod: string, sub: string, q: URLSearchParams): Promise<void> {
    if (this.closed) throw new ApiError(503, 'ServiceUnavailable', 'the API server is shutting down');
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (sub === 'portforward') return this.portForward.handleUpgrade(req, socket, head, ns, pod, q);
    if (sub !== 'exec' && sub !== 'attach') throw new BadRequestError(`pods/${sub} is not supported by this cluster`);
    const kind = upgradeKind(req);
    if (!kind) throw new BadRequestError(`unsupported upgrade ${JSON.stringify(req.headers.upgrade ?? '')}: use websocket or SPDY/3.1`);
    const query = parseRemoteCommandQuery(q, sub);
    const proto = this.negotiate(req, kind);
    const target = this.resolver.resolve(ns, pod, query.container, false);
    await this.checkRunning(target, pod, sub);

    let transport: CommandTransport;
    try {
      transport = await this.upgrade(kind, req, socket, head, proto, query);
    } catch (e) {
      if (e instanceof ApiError) throw e;
      this.log.v(1, 'stream upgrade failed', { pod: `${ns}/${pod}`, sub, error: (e as Error).message });
      if (!socket.destroyed) socket.destroy();
      return;
    }
    this.sessions.add(transport);
    const open = sub === 'exec' ? () => openExec(target.runtime, target.containerId, query) : () => openAttach(target.runtime, target.containerId, query);
    this.log.v(2, 'stream session started', { pod: `${ns}/${pod}`, container: target.containerName, sub, transport: kind, protocol: proto.name });
    void runRemoteCommand(transport, query, open, this.log)
      .catch((e: unknown) => this.log.error('stream session failed', { pod: `${ns}/${pod}`, sub, error: String(e) }))
      .finally(() => {
        this.sessions.delete(transport);
        this.log.v(2, 'stream session ended', { pod: `${ns}/${pod}`, sub });
      });
  }

  /** Drops every live session; later upgrades are refused. Idempotent. */
  close(): void {
    this.closed = true;
    this.portForward.close();
    for (const t of this.sessions) t.destroy();
    this.sessions.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.wss.close();
  }

  private negotiate(req: IncomingMessage, kind: UpgradeKind): ChannelProtocol {
    if (kind === 'websocket') {
      const offered = parseProtocolHeader(req.headers['sec-websocket-protocol']);
      const proto = negotiateWebSocketProtocol(offered);
      if (!proto) {
        throw new BadRequestError(`requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${SUPPORTED_WEBSOCKET_PROTOCOLS.join(' ')}]`);
      }
      return proto;
    }
    const offered = parseProtocolHeader(req.headers['x-stream-protocol-version']);
    const proto = negotiateSpdyProtocol(offered);
    if (!proto) {
      throw new BadRequestError(`unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server supports [${SUPPORTED_SPDY_PROTOCOLS.join(' ')}]`);
    }
    return proto;
  }

  private async checkRunning(target: StreamTarget, pod: string, sub: string): Promise<void> {
    let state: string;
    try {
      state = (await target.runtime.containerStatus(target.containerId)).state;
    } catch {
      state = 'unknown';
    }
    if (state !== 'running') {
      throw new BadRequestError(`container not found ("${target.containerName}")`);
    }
    if (sub === 'attach' && !target.runtime.attach) throw new BadRequestError(`pods/attach is not supported by the container runtime of pod ${pod}`);
  }

  private async upgrade(kind: UpgradeKind, req: IncomingMessage, socket: Duplex, head: Buffer, proto: ChannelProtocol, q: RemoteCommandQuery): Promise<CommandTransport> {
    if (kind === 'websocket') {
      (req as IncomingMessage & { negotiated?: string }).negotiated = proto.name;
      const ws = await acceptWebSocket(this.wss, req, socket, head);
      return new WebSocketTransport(ws, proto, { clock: this.clock, pingIntervalMs: this.opts.pingIntervalMs, readsStdout: q.stdout, readsStderr: q.stderr });
    }
    return SpdyTransport.accept(socket, head, proto, q, {
      clock: this.clock,
      streamCreationTimeoutMs: this.opts.streamCreationTimeoutMs,
      maxFrameBytes: this.opts.maxFrameBytes,
      onProtocolError: (m) => this.log.v(1, 'SPDY protocol error', { error: m }),
    });
  }
}
