/**
 * The WebSocket transport of remote commands (see channel.ts for the subprotocols).
 *
 * Behaviour:
 * - right after the upgrade an empty message goes on the lowest channel the client reads
 *   (stdout, else stderr, else error), as the kubelet does, so clients know the session is up;
 * - client messages: channel 0 → stdin, 4 → resize, `[255, 0]` (v5) → stdin EOF; anything else
 *   (unknown channels, empty or undecodable messages) is ignored;
 * - `finish`: the status on channel 3 (per protocol), then close 1000;
 * - keepalive: a ping every `pingIntervalMs` (default 30 s); a client that answered neither the
 *   previous ping nor sent anything in between is terminated;
 * - backpressure: `write` returns false above `highWaterMark` buffered bytes (default 1 MiB)
 *   and `drain` fires once the buffer is below a quarter of it.
 * A broken client (reset socket, oversized or malformed frames) only ends its own session.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { ApiError } from '../../util/errors';
import {
  CHANNEL_CLOSE,
  CHANNEL_ERROR,
  CHANNEL_RESIZE,
  CHANNEL_STDERR,
  CHANNEL_STDIN,
  CHANNEL_STDOUT,
  decodeFrame,
  encodeFrame,
  encodeStatus,
  ResizeDecoder,
  type ChannelProtocol,
  type StreamStatus,
} from './channel';
import { realStreamClock, type StreamClock } from './clock';
import type { CommandTransport, TransportHandlers } from './remote-command';

export interface WebSocketTransportOptions {
  clock?: StreamClock;
  pingIntervalMs?: number;
  highWaterMark?: number;
  /** Channels the client reads, for the "session established" message. */
  readsStdout?: boolean;
  readsStderr?: boolean;
}

type Event = { kind: 'stdin'; data: Buffer } | { kind: 'stdinEnd' } | { kind: 'resize'; width: number; height: number } | { kind: 'closed' };

export class WebSocketTransport implements CommandTransport {
  private handlers?: TransportHandlers;
  private readonly queue: Event[] = [];
  private readonly resize = new ResizeDecoder();
  private readonly clock: StreamClock;
  private readonly highWaterMark: number;
  private finished = false;
  private closed = false;
  private alive = true;
  private pingTimer?: unknown;
  private congested = false;

  constructor(
    private readonly ws: WebSocket,
    readonly protocol: ChannelProtocol,
    opts: WebSocketTransportOptions = {},
  ) {
    this.clock = opts.clock ?? realStreamClock;
    this.highWaterMark = opts.highWaterMark ?? 1 << 20;
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('pong', () => (this.alive = true));
    ws.on('error', () => this.onClose());
    ws.on('close', () => this.onClose());
    const interval = opts.pingIntervalMs ?? 30_000;
    if (interval > 0) this.schedulePing(interval);
    const first = opts.readsStdout ? CHANNEL_STDOUT : opts.readsStderr ? CHANNEL_STDERR : CHANNEL_ERROR;
    this.send(encodeFrame(protocol, first, Buffer.alloc(0)));
  }

  bind(handlers: TransportHandlers): void {
    this.handlers = handlers;
    for (const e of this.queue.splice(0)) this.dispatch(e);
  }

  write(channel: typeof CHANNEL_STDOUT | typeof CHANNEL_STDERR, data: Buffer): boolean {
    if (this.finished || this.closed) return true;
    this.send(encodeFrame(this.protocol, channel, data));
    if (this.ws.bufferedAmount > this.highWaterMark) {
      this.congested = true;
      return false;
    }
    return true;
  }

  finish(status: StreamStatus): void {
    if (this.finished || this.closed) return;
    this.finished = true;
    const payload = encodeStatus(this.protocol, status);
    if (payload) this.send(encodeFrame(this.protocol, CHANNEL_ERROR, payload));
    this.stopPing();
    try {
      this.ws.close(1000);
    } catch {
      this.ws.terminate();
    }
  }

  destroy(): void {
    this.stopPing();
    this.ws.terminate();
    this.onClose();
  }

  private send(frame: Buffer | string): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(frame, { binary: typeof frame !== 'string' }, () => {
      if (this.congested && this.ws.bufferedAmount <= this.highWaterMark / 4) {
        this.congested = false;
        this.handlers?.drain();
      }
    });
  }

  private schedulePing(interval: number): void {
    this.pingTimer = this.clock.setTimeout(() => {
      if (this.closed || this.finished) return;
      if (!this.alive) {
        this.ws.terminate();
        this.onClose();
        return;
      }
      this.alive = false;
      try {
        this.ws.ping();
      } catch {
        // closing: the close event follows
      }
      this.schedulePing(interval);
    }, interval);
  }

  private stopPing(): void {
    if (this.pingTimer !== undefined) this.clock.clearTimeout(this.pingTimer);
    this.pingTimer = undefined;
  }

  private onMessage(raw: RawData, isBinary: boolean): void {
    this.alive = true;
    let msg: Buffer | string;
    if (Array.isArray(raw)) msg = Buffer.concat(raw);
    else if (raw instanceof ArrayBuffer) msg = Buffer.from(raw);
    else msg = raw;
    if (!isBinary && this.protocol.base64) msg = msg.toString('latin1');
    const f = decodeFrame(this.protocol, msg);
    if (!f) return;
    if (f.channel === CHANNEL_STDIN) {
      if (f.data.length) this.emit({ kind: 'stdin', data: Buffer.from(f.data) });
    } else if (f.channel === CHANNEL_RESIZE) {
      for (const s of this.resize.push(f.data)) this.emit({ kind: 'resize', width: s.width, height: s.height });
    } else if (f.channel === CHANNEL_CLOSE && this.protocol.closeSignal) {
      if (f.data.length > 0 && f.data[0] === CHANNEL_STDIN) this.emit({ kind: 'stdinEnd' });
    }
  }

  private onClose(): void {
    this.stopPing();
    if (this.closed) return;
    this.closed = true;
    if (!this.finished) this.emit({ kind: 'closed' });
  }

  private emit(e: Event): void {
    if (this.handlers) this.dispatch(e);
    else this.queue.push(e);
  }

  private dispatch(e: Event): void {
    const h = this.handlers!;
    switch (e.kind) {
      case 'stdin':
        return h.stdin(e.data);
      case 'stdinEnd':
        return h.stdinEnd();
      case 'resize':
        return h.resize({ width: e.width, height: e.height });
      case 'closed':
        return h.closed();
    }
  }
}

/**
 * Completes the WebSocket handshake with `protocol` already negotiated. Rejects with a 400 when
 * the request is not a valid WebSocket handshake (ws then answers it itself).
 */
export function acceptWebSocket(wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<WebSocket> {
  const key = req.headers['sec-websocket-key'];
  if (req.method !== 'GET') throw new ApiError(400, 'BadRequest', 'a WebSocket upgrade must use GET');
  if (typeof key !== 'string' || !/^[+/0-9A-Za-z]{22}==$/.test(key)) throw new ApiError(400, 'BadRequest', 'missing or invalid Sec-WebSocket-Key');
  if (req.headers['sec-websocket-version'] !== '13') throw new ApiError(400, 'BadRequest', 'unsupported Sec-WebSocket-Version (13 required)');
  return new Promise((resolve, reject) => {
    let settled = false;
    const onClose = (): void => {
      if (settled) return;
      settled = true;
      reject(new Error('the WebSocket handshake failed'));
    };
    socket.once('close', onClose);
    wss.handleUpgrade(req, socket, head, (ws) => {
      socket.off('close', onClose);
      if (settled) return;
      settled = true;
      resolve(ws);
    });
  });
}
