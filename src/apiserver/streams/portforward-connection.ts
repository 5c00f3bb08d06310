/**
 * One forwarded TCP connection of `pods/portforward`, independent of the wire protocol: the
 * pod side is a TCP connection to the pod's IP and port; the client side is whatever the
 * transport offers (a SPDY data + error stream pair, or a pair of WebSocket channels), seen
 * through `ForwardClient`.
 *
 * Contract (as the kubelet's port forwarder behaves):
 * - the pod connection is dialled at `start`; client bytes that arrive earlier are buffered;
 * - a failed dial writes `error forwarding port P to pod UID, uid : <cause>` on the client's
 *   error stream (kubectl prints it), then the connection ends;
 * - bytes are copied both ways with backpressure: a congested client pauses the pod socket
 *   until the transport drains; a congested pod socket asks the transport to pause its input;
 * - half-closes travel both ways: the client ending its data stream ends the pod socket's
 *   writing side, the pod ending its side ends the client's data stream;
 * - the connection is over once the pod socket is fully closed (or the client aborted); then
 *   `ForwardClient.close` runs exactly once and `done` resolves. A reset of an established pod
 *   connection is treated as its end, not reported as an error (kubectl would drop the whole
 *   port-forward on an error).
 * Nothing here throws; socket errors end the connection.
 */
import * as net from 'node:net';
import type { StreamClock } from './clock';

/** The pod a port-forward session reaches. */
export interface PodForwardTarget {
  namespace: string;
  name: string;
  uid: string;
  /** The pod IP, reachable from the daemon's host. */
  ip: string;
}

/** Opens the pod-side connection; rejects with an Error whose message is Go-styled (see `dialErrorMessage`). */
export type PortDialer = (ip: string, port: number) => Promise<net.Socket>;

/** The client side of one forwarded connection, as a transport provides it. */
export interface ForwardClient {
  /** Pod bytes for the client; false when congested (the transport calls `clientDrained` later). */
  send(data: Buffer): boolean;
  /** The pod will send nothing more. */
  sendEnd(): void;
  /** A failure text for the client's error stream. */
  sendError(message: string): void;
  /** The connection is over: close what remains open on the client side. Called once. */
  close(): void;
  /** Stop / restart delivering client bytes (the pod socket is congested). Balanced calls. */
  pauseInput(): void;
  resumeInput(): void;
}

/** Client bytes buffered while the pod connection is being dialled, before input is paused. */
const MAX_PENDING_BYTES = 256 * 1024;
/**
 * Unsent bytes on the pod socket above which the transport's input pauses (until 'drain').
 * Well above the socket's own 16 KiB mark, so that an upload does not stop and start the whole
 * client connection at every frame.
 */
const POD_HIGH_WATER_MARK = 1 << 20;

/** Go's wording for the usual connect failures (`dial tcp4 IP:PORT: connect: …`). */
export function dialErrorMessage(ip: string, port: number, err: NodeJS.ErrnoException): string {
  const addr = net.isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
  const net4 = net.isIPv6(ip) ? 'tcp6' : 'tcp4';
  const why: Record<string, string> = {
    ECONNREFUSED: 'connect: connection refused',
    EHOSTUNREACH: 'connect: no route to host',
    ENETUNREACH: 'connect: network is unreachable',
    ETIMEDOUT: 'i/o timeout',
    ECONNRESET: 'connect: connection reset by peer',
  };
  return `dial ${net4} ${addr}: ${why[err.code ?? ''] ?? err.message}`;
}

/** The error-stream text for a failed forward, in the kubelet's words. */
export function forwardErrorMessage(port: number, target: PodForwardTarget, cause: string): string {
  return `error forwarding port ${port} to pod ${target.uid}, uid : ${cause}`;
}

/**
 * The default dialer: a TCP connection to `ip:port` (through `connect`, net.connect unless a
 * test injects one), given up after `timeoutMs` (then `i/o timeout`). The socket allows
 * half-open connections.
 */
export function tcpDialer(clock: StreamClock, timeoutMs = 10_000, connect: (o: net.NetConnectOpts) => net.Socket = net.connect): PortDialer {
  return (ip, port) =>
    new Promise<net.Socket>((resolve, reject) => {
      const sock = connect({ host: ip, port, allowHalfOpen: true });
      const timer = clock.setTimeout(() => {
        sock.destroy();
        reject(new Error(dialErrorMessage(ip, port, Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }))));
      }, timeoutMs);
      sock.once('connect', () => {
        clock.clearTimeout(timer);
        sock.removeAllListeners('error');
        resolve(sock);
      });
      sock.once('error', (e: NodeJS.ErrnoException) => {
        clock.clearTimeout(timer);
        sock.destroy();
        reject(new Error(dialErrorMessage(ip, port, e)));
      });
    });
}

export class ForwardedConnection {
  private socket?: net.Socket;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private clientEnded = false;
  private finished = false;
  /** The pod socket is paused because the client is congested. */
  private podPaused = false;
  /** We asked the transport to pause its input. */
  private inputPaused = false;
  private resolveDone!: () => void;
  /** Resolves once the connection is over. */
  readonly done = new Promise<void>((r) => (this.resolveDone = r));

  constructor(
    private readonly client: ForwardClient,
    readonly target: PodForwardTarget,
    readonly port: number,
    private readonly dial: PortDialer,
    private readonly onError?: (message: string) => void,
  ) {}

  /** Dials the pod and starts copying; resolves when the connection is over. Never rejects. */
  async start(): Promise<void> {
    let sock: net.Socket;
    try {
      sock = await this.dial(this.target.ip, this.port);
    } catch (e) {
      if (!this.finished) {
        const msg = forwardErrorMessage(this.port, this.target, (e as Error)?.message ?? String(e));
        this.onError?.(msg);
        this.client.sendError(msg);
        this.finish();
      }
      return this.done;
    }
    if (this.finished) {
      sock.destroy();
      return this.done;
    }
    this.socket = sock;
    sock.on('data', (d: Buffer) => {
      if (this.finished) return;
      if (!this.client.send(d)) {
        this.podPaused = true;
        sock.pause();
      }
    });
    sock.on('end', () => {
      if (!this.finished) this.client.sendEnd();
    });
    sock.on('drain', () => this.setInputPaused(false));
    // Resets and other failures after the connect end the connection ('close' follows).
    sock.on('error', () => undefined);
    sock.on('close', () => this.finish());
    for (const d of this.pending.splice(0)) sock.write(d);
    this.pendingBytes = 0;
    if (this.clientEnded) sock.end();
    else this.setInputPaused(sock.writableLength > POD_HIGH_WATER_MARK);
    return this.done;
  }

  /** Bytes from the client's data stream. */
  clientData(d: Buffer): void {
    if (this.finished || this.clientEnded || d.length === 0) return;
    const sock = this.socket;
    if (!sock) {
      this.pending.push(d);
      this.pendingBytes += d.length;
      if (this.pendingBytes > MAX_PENDING_BYTES) this.setInputPaused(true);
      return;
    }
    if (!sock.writable) return;
    // A write beyond the mark returned false, so 'drain' will follow.
    sock.write(d);
    if (sock.writableLength > POD_HIGH_WATER_MARK) this.setInputPaused(true);
  }

  /** The client half-closed its data stream. */
  clientEnd(): void {
    if (this.clientEnded || this.finished) return;
    this.clientEnded = true;
    if (this.socket && this.socket.writable) this.socket.end();
  }

  /** The client went away (reset, or its connection closed): drop the pod connection. */
  abort(): void {
    this.clientEnded = true;
    this.socket?.destroy();
    this.finish();
  }

  /** The transport can take more bytes. */
  clientDrained(): void {
    if (!this.podPaused || this.finished) return;
    this.podPaused = false;
    this.socket?.resume();
  }

  get isDone(): boolean {
    return this.finished;
  }

  private setInputPaused(paused: boolean): void {
    if (paused === this.inputPaused) return;
    this.inputPaused = paused;
    if (paused) this.client.pauseInput();
    else this.client.resumeInput();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.pending = [];
    this.setInputPaused(false);
    this.client.close();
    this.resolveDone();
  }
}
