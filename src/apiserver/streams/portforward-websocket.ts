/**
 * `pods/portforward` over plain WebSocket channels (@kubernetes/client-node, other non-Go
 * clients): `…/portforward?ports=P[,Q…]` with subprotocol `v4.channel.k8s.io`,
 * `v4.base64.channel.k8s.io` or none (binary), picked in the client's order.
 *
 * As the kubelet serves it:
 * - the i-th port uses channel 2i for data (both ways) and 2i+1 for errors (server → client);
 * - right after the upgrade the server writes the port number, 2 bytes little-endian, as the
 *   first message on each of these channels;
 * - each port gets exactly one pod connection, dialled at once; a failure writes
 *   `error forwarding port …` on its error channel;
 * - the protocol has no half-close: a pod connection ends when the pod ends its side or the
 *   client closes the WebSocket; once every port's connection is over the server closes the
 *   WebSocket (1000). Messages on other channels are ignored.
 * Backpressure: above `highWaterMark` buffered bytes (default 1 MiB) the pod sockets pause
 * until the WebSocket drains; a congested pod socket pauses reading from the WebSocket.
 */
import { WebSocket, type RawData } from 'ws';
import { BadRequestError } from '../../util/errors';
import { decodeFrame, encodeFrame, type ChannelProtocol } from './channel';
import { ForwardedConnection, type ForwardClient, type PodForwardTarget, type PortDialer } from './portforward-connection';

const WS_PROTOCOLS: Record<string, ChannelProtocol> = {
  'v4.channel.k8s.io': { name: 'v4.channel.k8s.io', base64: false, statusJson: false, closeSignal: false },
  'v4.base64.channel.k8s.io': { name: 'v4.base64.channel.k8s.io', base64: true, statusJson: false, closeSignal: false },
};

/** The plain WebSocket subprotocols of port-forward (besides none at all). */
export const PORT_FORWARD_WEBSOCKET_PROTOCOLS = Object.keys(WS_PROTOCOLS);

/**
 * The first offered subprotocol this server speaks for port-forward; no offer at all means
 * binary channels (`name: ''`); offers of which none is supported yield `undefined`.
 */
export function negotiatePortForwardWebSocket(offered: string[]): ChannelProtocol | undefined {
  if (offered.length === 0) return { name: '', base64: false, statusJson: false, closeSignal: false };
  for (const p of offered) {
    const proto = WS_PROTOCOLS[p];
    if (proto) return proto;
  }
  return undefined;
}

/**
 * The ports of a WebSocket port-forward: every `ports` (or the kubelet's `port`) parameter,
 * each possibly comma-separated. Throws 400 when there is none or one is not 1–65535.
 */
export function parsePortsQuery(q: URLSearchParams): number[] {
  const raw = [...q.getAll('ports'), ...q.getAll('port')];
  if (raw.length === 0) throw new BadRequestError('query parameter "ports" is required');
  const ports: number[] = [];
  for (const value of raw) {
    if (value === '') throw new BadRequestError('query parameter "ports" cannot be empty');
    for (const p of value.split(',')) {
      const s = p.trim();
      if (!/^\d+$/.test(s)) throw new BadRequestError(`unable to parse "${s}" as a port: strconv.ParseUint: parsing ${JSON.stringify(s)}: invalid syntax`);
      const n = Number(s);
      if (n > 65535) throw new BadRequestError(`unable to parse "${s}" as a port: strconv.ParseUint: parsing ${JSON.stringify(s)}: value out of range`);
      if (n < 1) throw new BadRequestError(`port "${s}" must be > 0`);
      ports.push(n);
    }
  }
  return ports;
}

/** The 2-byte little-endian port prefix of each channel. */
export function portPrefix(port: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(port);
  return b;
}

export interface WebSocketPortForwardOptions {
  target: PodForwardTarget;
  dial: PortDialer;
  highWaterMark?: number;
  onForwardError?: (message: string) => void;
}

/** One WebSocket port-forward session; `done` resolves once the WebSocket has closed. */
export class WebSocketPortForwardSession {
  private readonly connections: ForwardedConnection[] = [];
  private readonly highWaterMark: number;
  private congested = false;
  private pausedBy = 0;
  private closed = false;
  private resolveDone!: () => void;
  readonly done = new Promise<void>((r) => (this.resolveDone = r));

  constructor(
    private readonly ws: WebSocket,
    private readonly protocol: ChannelProtocol,
    ports: number[],
    private readonly opts: WebSocketPortForwardOptions,
  ) {
    this.highWaterMark = opts.highWaterMark ?? 1 << 20;
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('error', () => this.onClose());
    ws.on('close', () => this.onClose());
    ports.forEach((port, i) => {
      this.send(2 * i, portPrefix(port));
      this.send(2 * i + 1, portPrefix(port));
      this.connections.push(new ForwardedConnection(this.client(i), opts.target, port, opts.dial, opts.onForwardError));
    });
    void Promise.all(this.connections.map((c) => c.start())).then(() => this.closeNormally());
  }

  /** Drop the WebSocket and every pod connection. */
  destroy(): void {
    this.ws.terminate();
    this.onClose();
  }

  private client(i: number): ForwardClient {
    let paused = false;
    return {
      send: (d) => this.send(2 * i, d),
      // No half-close on these channels: the pod's end is the end of this connection.
      sendEnd: () => this.connections[i]?.clientEnd(),
      sendError: (m) => void this.send(2 * i + 1, Buffer.from(m)),
      close: () => undefined,
      pauseInput: () => {
        if (paused) return;
        paused = true;
        if (this.pausedBy++ === 0) this.ws.pause();
      },
      resumeInput: () => {
        if (!paused) return;
        paused = false;
        if (--this.pausedBy === 0 && !this.closed) this.ws.resume();
      },
    };
  }

  /** Sends on `channel`; false when the WebSocket is congested. */
  private send(channel: number, data: Buffer): boolean {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return true;
    const frame = encodeFrame(this.protocol, channel, data);
    this.ws.send(frame, { binary: typeof frame !== 'string' }, () => {
      if (this.congested && this.ws.bufferedAmount <= this.highWaterMark / 4) {
        this.congested = false;
        for (const c of this.connections) c.clientDrained();
      }
    });
    if (this.ws.bufferedAmount > this.highWaterMark) this.congested = true;
    return !this.congested;
  }

  private onMessage(raw: RawData, isBinary: boolean): void {
    let msg: Buffer | string;
    if (Array.isArray(raw)) msg = Buffer.concat(raw);
    else if (raw instanceof ArrayBuffer) msg = Buffer.from(raw);
    else msg = raw;
    if (!isBinary && this.protocol.base64) msg = msg.toString('latin1');
    const f = decodeFrame(this.protocol, msg);
    if (!f || f.channel % 2 !== 0) return;
    this.connections[f.channel / 2]?.clientData(Buffer.from(f.data));
  }

  private closeNormally(): void {
    if (this.closed) return;
    try {
      this.ws.close(1000);
    } catch {
      this.ws.terminate();
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.connections) c.abort();
    void Promise.all(this.connections.map((c) => c.done)).then(() => this.resolveDone());
  }
}
