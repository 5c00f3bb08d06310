/**
 * The SPDY/3.1 transport of remote commands (kubectl ≤ 1.29, and kubectl ≥ 1.30 when its
 * WebSocket attempt was refused).
 *
 * Handshake: `101 Switching Protocols` with `Upgrade: SPDY/3.1` and the negotiated
 * `X-Stream-Protocol-Version`. The client then opens one stream per channel, each with a
 * `streamType` header (`error`, `stdin`, `stdout`, `stderr`, `resize`), waiting for our reply to
 * each. The session starts once every stream the query asked for exists (error always; stdin,
 * stdout, stderr as requested; resize with a tty); a client that does not open them within
 * `streamCreationTimeoutMs` (default 30 s) is disconnected, as the kubelet does.
 *
 * `finish` writes the status on the error stream (JSON for v4, text for older versions), half-
 * closes every stream and sends GOAWAY; the client closes the connection (or it is destroyed
 * after a grace period). Stdin EOF is the client's FIN on the stdin stream.
 */
import type { Duplex } from 'node:stream';
import { CHANNEL_STDERR, CHANNEL_STDOUT, encodeStatus, ResizeDecoder, type ChannelProtocol, type StreamStatus } from './channel';
import { realStreamClock, type StreamClock } from './clock';
import type { RemoteCommandQuery } from './options';
import type { CommandTransport, TransportHandlers } from './remote-command';
import { GOAWAY, RST, SpdyServerSession, type SpdyStream } from './spdy';

export interface SpdyTransportOptions {
  clock?: StreamClock;
  streamCreationTimeoutMs?: number;
  /** How long to wait for the client to close after GOAWAY (default 10 s). */
  closeGraceMs?: number;
  maxFrameBytes?: number;
  onProtocolError?: (message: string) => void;
}

type StreamType = 'error' | 'stdin' | 'stdout' | 'stderr' | 'resize';
const STREAM_TYPES: StreamType[] = ['error', 'stdin', 'stdout', 'stderr', 'resize'];

/** The stream types a client opens for `q` (see client-go remotecommand v2–v4). */
export function expectedStreams(q: RemoteCommandQuery, proto: ChannelProtocol): Set<StreamType> {
  const s = new Set<StreamType>(['error']);
  if (q.stdin) s.add('stdin');
  if (q.stdout) s.add('stdout');
  if (q.stderr && !q.tty) s.add('stderr');
  if (q.tty && proto.name !== 'channel.k8s.io' && proto.name !== 'v2.channel.k8s.io') s.add('resize');
  return s;
}

/** Writes the 101 answer for a SPDY upgrade. */
export function writeSpdyUpgradeResponse(socket: Duplex, proto: ChannelProtocol): void {
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${proto.name}\r\n\r\n`);
}

export class SpdyTransport implements CommandTransport {
  private handlers?: TransportHandlers;
  private finished = false;
  private closedNotified = false;
  private readonly resize = new ResizeDecoder();
  private readonly closeGraceMs: number;

  private constructor(
    private readonly session: SpdyServerSession,
    private readonly streams: Map<StreamType, SpdyStream>,
    readonly protocol: ChannelProtocol,
    opts: SpdyTransportOptions,
  ) {
    this.closeGraceMs = opts.closeGraceMs ?? 10_000;
  }

  /**
   * Upgrades `socket` and waits for the client's streams. Rejects (after destroying the
   * connection) when the client closes or times out first.
   */
  static accept(socket: Duplex, head: Buffer, proto: ChannelProtocol, q: RemoteCommandQuery, opts: SpdyTransportOptions = {}): Promise<SpdyTransport> {
    const clock = opts.clock ?? realStreamClock;
    const wanted = expectedStreams(q, proto);
    writeSpdyUpgradeResponse(socket, proto);
    const session = new SpdyServerSession(socket, { maxFrameBytes: opts.maxFrameBytes, onProtocolError: opts.onProtocolError, clock });
    const streams = new Map<StreamType, SpdyStream>();
    return new Promise<SpdyTransport>((resolve, reject) => {
      let settled = false;
      const timer = clock.setTimeout(() => {
        fail(new Error(`timed out waiting for the client to create streams (have ${[...streams.keys()].join(', ') || 'none'})`));
      }, opts.streamCreationTimeoutMs ?? 30_000);
      const fail = (e: Error): void => {
        if (settled) return;
        settled = true;
        clock.clearTimeout(timer);
        session.destroy();
        reject(e);
      };
      session.on('close', () => fail(new Error('the client closed the connection before creating its streams')));
      session.on('stream', (s: SpdyStream) => {
        const type = (s.header('streamtype') ?? '') as StreamType;
        if (settled || !STREAM_TYPES.includes(type) || streams.has(type)) {
          s.reset(RST.REFUSED_STREAM);
          return;
        }
        s.accept();
        streams.set(type, s);
        if ([...wanted].every((t) => streams.has(t))) {
          settled = true;
          clock.clearTimeout(timer);
          resolve(new SpdyTransport(session, streams, proto, opts));
        }
      });
      session.feed(head);
    });
  }

  bind(handlers: TransportHandlers): void {
    this.handlers = handlers;
    const stdin = this.streams.get('stdin');
    if (stdin) {
      stdin.on('data', (d: Buffer) => handlers.stdin(d));
      stdin.on('end', () => handlers.stdinEnd());
      if (stdin.ended) handlers.stdinEnd();
    }
    const resize = this.streams.get('resize');
    if (resize) {
      resize.on('data', (d: Buffer) => {
        for (const s of this.resize.push(d)) handlers.resize(s);
      });
    }
    this.session.on('drain', () => handlers.drain());
    this.session.on('close', () => this.notifyClosed());
    if (this.session.isClosed) this.notifyClosed();
  }

  write(channel: typeof CHANNEL_STDOUT | typeof CHANNEL_STDERR, data: Buffer): boolean {
    if (this.finished) return true;
    const s = this.streams.get(channel === CHANNEL_STDOUT ? 'stdout' : 'stderr');
    return s ? s.write(data) : true;
  }

  finish(status: StreamStatus): void {
    if (this.finished) return;
    this.finished = true;
    const payload = encodeStatus(this.protocol, status);
    const err = this.streams.get('error');
    if (err && payload) err.write(payload);
    for (const s of this.streams.values()) s.end();
    this.session.goAway(GOAWAY.OK, this.closeGraceMs);
  }

  destroy(): void {
    this.session.destroy();
  }

  private notifyClosed(): void {
    if (this.closedNotified || this.finished) return;
    this.closedNotified = true;
    this.handlers?.closed();
  }
}
