/**
 * `pods/portforward` over SPDY/3.1, protocol `portforward.k8s.io` (kubectl ≤ 1.30 directly
 * after `Upgrade: SPDY/3.1`; kubectl ≥ 1.31 inside a WebSocket, see portforward.ts).
 *
 * For every local connection the client opens two streams carrying the headers `streamType`
 * (`error` or `data`), `port` and `requestID` — the error stream first, which the client
 * half-closes at once. The server pairs them by requestID; once both exist it dials the pod
 * and copies between the data stream and the pod connection (portforward-connection.ts).
 *
 * As the kubelet does:
 * - a stream without a valid `port` (1–65535) or `streamType` header is reset;
 * - a stream without `requestID` (very old clients) gets one from its stream id: the error
 *   stream's own id, the data stream's id − 2;
 * - a second stream of one type for a requestID writes `error processing stream for request
 *   R: data stream already assigned` on the pair's error stream (and is reset);
 * - a pair not complete within `streamCreationTimeoutMs` (default 30 s) gets `(conn=…,
 *   request=R) timed out waiting for streams` on its error stream and is dropped.
 * When the pod connection is over the error stream (after any failure text) and the data
 * stream are half-closed. The SPDY connection ends when the client closes it; then every pod
 * connection of the session is dropped.
 *
 * Backpressure: pod → client pauses above 1 MiB unsent and waits for the session's `drain`; client → pod pauses reading
 * the whole SPDY connection while any pod socket is congested (SPDY/3.1 windows are not used,
 * as with spdystream).
 */
import type { Duplex } from 'node:stream';
import type { StreamClock } from './clock';
import { ForwardedConnection, type ForwardClient, type PodForwardTarget, type PortDialer } from './portforward-connection';
import { RST, SpdyServerSession, type SpdyStream } from './spdy';

export type ForwardStreamType = 'error' | 'data';

export interface ForwardStreamHeaders {
  type: ForwardStreamType;
  port: number;
  requestId: string;
}

/**
 * Validates a stream's headers as the kubelet does; `streamId` supplies the requestID of old
 * clients. Returns the reason text for an invalid stream.
 */
export function parseForwardStreamHeaders(headers: Map<string, string[]>, streamId: number): ForwardStreamHeaders | { error: string } {
  const first = (n: string): string => headers.get(n)?.[0] ?? '';
  const portString = first('port');
  if (portString === '') return { error: '"port" header is required' };
  if (!/^\d+$/.test(portString) || Number(portString) > 65535) {
    return { error: `unable to parse "${portString}" as a port: strconv.ParseUint: parsing ${JSON.stringify(portString)}: ${/^\d+$/.test(portString) ? 'value out of range' : 'invalid syntax'}` };
  }
  const port = Number(portString);
  if (port < 1) return { error: `port "${portString}" must be > 0` };
  const type = first('streamtype');
  if (type === '') return { error: '"streamType" header is required' };
  if (type !== 'error' && type !== 'data') return { error: `invalid stream type "${type}"` };
  let requestId = first('requestid');
  if (requestId === '') requestId = String(type === 'error' ? streamId : streamId - 2);
  return { type, port, requestId };
}

/** The two streams of one forwarded connection, as they arrive. */
export interface StreamPair<S> {
  requestId: string;
  error?: S;
  data?: S;
}

export type PairAddResult<S> = { complete: boolean; pair: StreamPair<S> } | { error: string; pair: StreamPair<S> };

/**
 * Pairs error and data streams by requestID. A pair leaves the table when it completes or when
 * `streamCreationTimeoutMs` passes after its first stream (then `onTimeout` gets it). Pure
 * bookkeeping: no I/O apart from the timers of `clock`.
 */
export class StreamPairer<S> {
  private readonly pairs = new Map<string, { pair: StreamPair<S>; timer: unknown }>();

  constructor(
    private readonly clock: StreamClock,
    private readonly timeoutMs: number,
    private readonly onTimeout: (pair: StreamPair<S>) => void,
  ) {}

  /** Incomplete pairs waiting for their second stream. */
  get waiting(): number {
    return this.pairs.size;
  }

  add(requestId: string, type: ForwardStreamType, stream: S): PairAddResult<S> {
    let entry = this.pairs.get(requestId);
    if (!entry) {
      const pair: StreamPair<S> = { requestId };
      const timer = this.clock.setTimeout(() => {
        if (this.pairs.get(requestId)?.pair !== pair) return;
        this.pairs.delete(requestId);
        this.onTimeout(pair);
      }, this.timeoutMs);
      entry = { pair, timer };
      this.pairs.set(requestId, entry);
    }
    const { pair } = entry;
    if (pair[type] !== undefined) return { error: `${type} stream already assigned`, pair };
    pair[type] = stream;
    const complete = pair.error !== undefined && pair.data !== undefined;
    if (complete) {
      this.clock.clearTimeout(entry.timer);
      this.pairs.delete(requestId);
    }
    return { complete, pair };
  }

  /** Forgets every waiting pair (the connection closed). */
  clear(): void {
    for (const e of this.pairs.values()) this.clock.clearTimeout(e.timer);
    this.pairs.clear();
  }
}

/**
 * Bytes the connection may hold unsent before pod sockets pause (until the session drains).
 * Well above the socket's own 16 KiB mark, so that a fast download does not stop and start
 * the pod socket at every frame.
 */
const SEND_HIGH_WATER_MARK = 1 << 20;

/** Numbers sessions in timeout messages (the kubelet prints its connection there). */
let sessionSeq = 0;

export interface SpdyPortForwardOptions {
  target: PodForwardTarget;
  dial: PortDialer;
  clock: StreamClock;
  streamCreationTimeoutMs?: number;
  /** Called with the text of every forward failure (for the daemon's log). */
  onForwardError?: (message: string) => void;
}

/**
 * Serves port-forward streams on an established SPDY session. `input` is the duplex the
 * session reads from (paused while a pod socket is congested). `done` resolves once the
 * session has closed and every pod connection is over.
 */
export class SpdyPortForwardSession {
  private readonly pairer: StreamPairer<SpdyStream>;
  private readonly connections = new Set<ForwardedConnection>();
  private pausedBy = 0;
  private resolveDone!: () => void;
  readonly done = new Promise<void>((r) => (this.resolveDone = r));
  private closed = false;

  constructor(
    private readonly session: SpdyServerSession,
    private readonly input: Duplex,
    private readonly opts: SpdyPortForwardOptions,
  ) {
    const connName = `${opts.target.namespace}/${opts.target.name}#${++sessionSeq}`;
    this.pairer = new StreamPairer<SpdyStream>(opts.clock, opts.streamCreationTimeoutMs ?? 30_000, (pair) => {
      const msg = `(conn=${connName}, request=${pair.requestId}) timed out waiting for streams`;
      opts.onForwardError?.(msg);
      if (pair.error) {
        pair.error.write(Buffer.from(msg));
        pair.error.end();
      }
      pair.data?.reset(RST.CANCEL);
    });
    session.on('stream', (s: SpdyStream) => this.onStream(s));
    session.on('drain', () => {
      for (const c of this.connections) c.clientDrained();
    });
    session.on('close', () => this.onClose());
    if (session.isClosed) this.onClose();
  }

  /** Forwarded connections in progress. */
  get activeConnections(): number {
    return this.connections.size;
  }

  /** Drop the SPDY connection and every pod connection. */
  destroy(): void {
    this.session.destroy();
    this.onClose();
  }

  private onStream(s: SpdyStream): void {
    const h = parseForwardStreamHeaders(s.headers, s.id);
    if ('error' in h) {
      this.opts.onForwardError?.(`rejected stream ${s.id}: ${h.error}`);
      s.reset(RST.CANCEL);
      return;
    }
    const r = this.pairer.add(h.requestId, h.type, s);
    if ('error' in r) {
      const msg = `error processing stream for request ${h.requestId}: ${r.error}`;
      this.opts.onForwardError?.(msg);
      r.pair.error?.write(Buffer.from(msg));
      s.reset(RST.CANCEL);
      return;
    }
    s.accept();
    if (r.complete) this.forward(r.pair.error!, r.pair.data!, h.port);
  }

  private forward(errorStream: SpdyStream, dataStream: SpdyStream, port: number): void {
    let paused = false;
    const client: ForwardClient = {
      send: (d) => {
        dataStream.write(d);
        return this.input.writableLength <= SEND_HIGH_WATER_MARK;
      },
      sendEnd: () => dataStream.end(),
      sendError: (m) => errorStream.write(Buffer.from(m)),
      close: () => {
        errorStream.end();
        dataStream.end();
      },
      pauseInput: () => {
        if (paused) return;
        paused = true;
        if (this.pausedBy++ === 0) this.input.pause();
      },
      resumeInput: () => {
        if (!paused) return;
        paused = false;
        if (--this.pausedBy === 0 && !this.closed) this.input.resume();
      },
    };
    const conn = new ForwardedConnection(client, this.opts.target, port, this.opts.dial, this.opts.onForwardError);
    this.connections.add(conn);
    dataStream.on('data', (d: Buffer) => conn.clientData(d));
    // A FIN, a reset or the end of the SPDY connection: the client sends nothing more.
    dataStream.on('end', () => (this.session.isClosed ? conn.abort() : conn.clientEnd()));
    if (dataStream.ended) conn.clientEnd();
    void conn.start().then(() => {
      this.connections.delete(conn);
      // The session drops a stream once it is closed both ways; let the connection go in any case.
      dataStream.removeAllListeners('data');
      dataStream.removeAllListeners('end');
    });
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.pairer.clear();
    const all = [...this.connections];
    for (const c of all) c.abort();
    void Promise.all(all.map((c) => c.done)).then(() => this.resolveDone());
  }
}
