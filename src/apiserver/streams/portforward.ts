/**
 * `pods/portforward`: the three ways clients speak it, and the sessions behind them.
 *
 * - `Upgrade: SPDY/3.1` with `X-Stream-Protocol-Version: portforward.k8s.io` (kubectl ≤ 1.30,
 *   and newer kubectl when the WebSocket attempt is refused): 101 with the same headers, then
 *   SPDY streams (portforward-spdy.ts).
 * - `Upgrade: websocket` offering `SPDY/3.1+portforward.k8s.io` (kubectl ≥ 1.31): the same SPDY
 *   session tunnelled in binary WebSocket messages (the bytes of the messages, concatenated,
 *   are the SPDY connection); the chosen subprotocol is echoed.
 * - `Upgrade: websocket` with `v4.channel.k8s.io`, `v4.base64.channel.k8s.io` or no
 *   subprotocol and `?ports=…` (@kubernetes/client-node): channels (portforward-websocket.ts).
 *
 * Everything that can be refused is refused before the upgrade, as an ApiError (400 for an
 * unsupported upgrade or protocol, bad `ports`, a pod without node or IP; 404 for an unknown
 * pod); kubectl ≥ 1.31 then retries over SPDY and prints the same message. After the upgrade
 * nothing is thrown: failures end the session or the single forwarded connection, and pod
 * connection failures are reported on the client's error stream.
 *
 * The pod is reached at its IP from the daemon's host (node networks are routable from it);
 * unlike the kubelet, which connects to localhost inside the pod's network namespace, this
 * means a port bound only to the pod's 127.0.0.1 is not reachable.
 *
 * Concurrency: sessions are independent; `close()` drops them all and refuses new ones.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer, type WebSocket } from 'ws';
import { ApiError, BadRequestError } from '../../util/errors';
import { Logger, silentLogger } from '../../util/log';
import { parseProtocolHeader } from './channel';
import { realStreamClock, type StreamClock } from './clock';
import { tcpDialer, type PortDialer } from './portforward-connection';
import { SpdyPortForwardSession } from './portforward-spdy';
import { resolverPodTarget, type PodTargetLookup } from './portforward-target';
import { negotiatePortForwardWebSocket, parsePortsQuery, PORT_FORWARD_WEBSOCKET_PROTOCOLS, WebSocketPortForwardSession } from './portforward-websocket';
import type { StreamResolver } from './resolver';
import { SpdyServerSession } from './spdy';
import { writeSpdyUpgradeResponse } from './spdy-transport';

/** The SPDY stream protocol of port-forward (`X-Stream-Protocol-Version`). */
export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
/** WebSocket subprotocol prefix of SPDY tunnelled in WebSocket (kubectl ≥ 1.31). */
export const SPDY_TUNNEL_PREFIX = 'SPDY/3.1+';

/** What a cluster may configure about port-forward (PodStreamsOptions.portForward). */
export interface PortForwardOptions {
  /** Finds the pod's uid and IP; default: through the StreamResolver (portforward-target.ts). */
  pods?: PodTargetLookup;
  /** Opens pod connections; default: TCP to the pod IP. */
  dial?: PortDialer;
  /** Connect timeout of the default dialer (default 10 s). */
  connectTimeoutMs?: number;
}

export interface PortForwardHandlerOptions extends PortForwardOptions {
  resolver: StreamResolver;
  log?: Logger;
  clock?: StreamClock;
  /** How long a client may take to open both streams of a connection (default 30 s). */
  streamCreationTimeoutMs?: number;
  /** Largest SPDY frame accepted (default 1 MiB); WebSocket messages may carry 16 MiB. */
  maxFrameBytes?: number;
}

type Negotiated = { kind: 'spdy' } | { kind: 'tunnel'; subprotocol: string } | { kind: 'channels'; subprotocol: string; ports: number[] };

/** What the handshake callbacks of `ws` learn about the negotiation. */
type PortForwardRequest = IncomingMessage & { negotiatedPortForward?: string; tunnelProtocol?: string };

interface Session {
  destroy(): void;
  done: Promise<void>;
}

/**
 * Picks how a port-forward request will be served, or throws the 400 for it. Pure: looks at
 * the `Upgrade`, `X-Stream-Protocol-Version` and `Sec-WebSocket-Protocol` headers and `q`.
 */
export function negotiatePortForward(headers: IncomingMessage['headers'], q: URLSearchParams): Negotiated {
  const upgrade = String(headers.upgrade ?? '').toLowerCase();
  if (upgrade.startsWith('spdy/3')) {
    const offered = parseProtocolHeader(headers['x-stream-protocol-version']);
    if (offered.length > 0 && !offered.includes(PORT_FORWARD_PROTOCOL)) {
      throw new BadRequestError(`unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server accepts [${PORT_FORWARD_PROTOCOL}]`);
    }
    return { kind: 'spdy' };
  }
  if (upgrade !== 'websocket') throw new BadRequestError(`unsupported upgrade ${JSON.stringify(headers.upgrade ?? '')}: use websocket or SPDY/3.1`);
  const offered = parseProtocolHeader(headers['sec-websocket-protocol']);
  const tunnels = offered.filter((p) => p.startsWith(SPDY_TUNNEL_PREFIX));
  if (tunnels.length > 0) {
    const sub = tunnels.find((p) => p.slice(SPDY_TUNNEL_PREFIX.length) === PORT_FORWARD_PROTOCOL);
    if (!sub) throw new BadRequestError(`requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${SPDY_TUNNEL_PREFIX}${PORT_FORWARD_PROTOCOL}]`);
    return { kind: 'tunnel', subprotocol: sub };
  }
  const proto = negotiatePortForwardWebSocket(offered);
  if (!proto) {
    throw new BadRequestError(`requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${[...PORT_FORWARD_WEBSOCKET_PROTOCOLS, SPDY_TUNNEL_PREFIX + PORT_FORWARD_PROTOCOL].join(' ')}]`);
  }
  return { kind: 'channels', subprotocol: proto.name, ports: parsePortsQuery(q) };
}

export class PortForwardHandler {
  private readonly log: Logger;
  private readonly clock: StreamClock;
  private readonly pods: PodTargetLookup;
  private readonly dial: PortDialer;
  private readonly wss: WebSocketServer;
  private readonly sessions = new Set<Session>();
  private closed = false;

  constructor(private readonly opts: PortForwardHandlerOptions) {
    this.log = opts.log ?? silentLogger;
    this.clock = opts.clock ?? realStreamClock;
    this.pods = opts.pods ?? resolverPodTarget(opts.resolver);
    this.dial = opts.dial ?? tcpDialer(this.clock, opts.connectTimeoutMs);
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: 16 << 20,
      handleProtocols: (_offered, req) => (req as PortForwardRequest).negotiatedPortForward ?? false,
    });
    // `ws` refuses `/` in subprotocol names (not an RFC 6455 token character), so the tunnel's
    // `SPDY/3.1+…` offer is taken off the request before the handshake and answered here.
    this.wss.on('headers', (headers: string[], req: PortForwardRequest) => {
      if (req.tunnelProtocol) headers.push(`Sec-WebSocket-Protocol: ${req.tunnelProtocol}`);
    });
  }

  /** Number of live port-forward sessions (one per client connection). */
  get activeSessions(): number {
    return this.sessions.size;
  }

  /**
   * Serves one `pods/portforward` upgrade. Throws an ApiError to refuse it (the caller answers
   * with the Status); once upgraded, resolves at once and the session runs on its own.
   */
  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ns: string, pod: string, q: URLSearchParams): Promise<void> {
    if (this.closed) throw new ApiError(503, 'ServiceUnavailable', 'the API server is shutting down');
    const how = negotiatePortForward(req.headers, q);
    if (how.kind !== 'spdy') checkWebSocketHandshake(req);
    const target = await this.pods(ns, pod);
    const where = { pod: `${ns}/${pod}`, ip: target.ip };
    const onForwardError = (message: string): void => this.log.v(1, 'port-forward failed', { ...where, error: message });
    const track = (s: Session, transport: string): void => {
      this.sessions.add(s);
      this.log.v(2, 'port-forward session started', { ...where, transport });
      void s.done.then(() => {
        this.sessions.delete(s);
        this.log.v(2, 'port-forward session ended', where);
      });
    };
    const spdySession = (input: Duplex, transport: string): SpdyServerSession => {
      const session = new SpdyServerSession(input, {
        maxFrameBytes: this.opts.maxFrameBytes,
        clock: this.clock,
        onProtocolError: (m) => this.log.v(1, 'SPDY protocol error', { ...where, error: m }),
      });
      const pf = new SpdyPortForwardSession(session, input, {
        target,
        dial: this.dial,
        clock: this.clock,
        streamCreationTimeoutMs: this.opts.streamCreationTimeoutMs,
        onForwardError,
      });
      track(pf, transport);
      return session;
    };

    if (how.kind === 'spdy') {
      writeSpdyUpgradeResponse(socket, { name: PORT_FORWARD_PROTOCOL, base64: false, statusJson: false, closeSignal: false });
      spdySession(socket, 'spdy').feed(head);
      return;
    }
    const pfReq = req as PortForwardRequest;
    if (how.kind === 'tunnel') {
      delete req.headers['sec-websocket-protocol'];
      pfReq.tunnelProtocol = how.subprotocol;
    } else {
      pfReq.negotiatedPortForward = how.subprotocol || undefined;
    }
    // Listeners are attached inside the callback: a message could follow the handshake at once.
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      if (this.closed) {
        ws.terminate();
        return;
      }
      if (how.kind === 'tunnel') {
        const duplex = createWebSocketStream(ws);
        duplex.on('error', () => undefined);
        spdySession(duplex, 'spdy-in-websocket');
        return;
      }
      const proto = negotiatePortForwardWebSocket(how.subprotocol ? [how.subprotocol] : [])!;
      track(new WebSocketPortForwardSession(ws, proto, how.ports, { target, dial: this.dial, onForwardError }), `websocket ${how.subprotocol || '(binary)'}`);
    });
  }

  /** Drops every live session; later upgrades are refused. Idempotent. */
  close(): void {
    this.closed = true;
    for (const s of this.sessions) s.destroy();
    this.sessions.clear();
    this.wss.close();
  }
}

/** The checks `ws` would otherwise answer with a bare 400 of its own. */
function checkWebSocketHandshake(req: IncomingMessage): void {
  const key = req.headers['sec-websocket-key'];
  if (req.method !== 'GET') throw new BadRequestError('a WebSocket upgrade must use GET');
  if (typeof key !== 'string' || !/^[+/0-9A-Za-z]{22}==$/.test(key)) throw new BadRequestError('missing or invalid Sec-WebSocket-Key');
  if (req.headers['sec-websocket-version'] !== '13') throw new BadRequestError('unsupported Sec-WebSocket-Version (13 required)');
}
