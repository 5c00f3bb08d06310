/**
 * pods/portforward through the real API server (TLS, token auth, routing) at the wire level:
 * SPDY/3.1 as kubectl ≤ 1.30 speaks it, the same SPDY tunnelled in a WebSocket (kubectl ≥ 1.31)
 * and WebSocket channels as @kubernetes/client-node speaks them. The pod is an API object whose
 * status says podIP 127.0.0.1, where this test listens with small TCP servers (echo, HTTP,
 * firehose, sink); no container runtime is involved.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import * as zlib from 'node:zlib';
import * as crypto from 'node:crypto';
import { WebSocket, type RawData } from 'ws';
import { resourceFor } from '../../src/api/scheme';
import { ensurePKI, ensureToken } from '../../src/apiserver/certs';
import { Registry } from '../../src/apiserver/registry';
import { ApiServer } from '../../src/apiserver/server';
import { PodStreams, type StreamResolver } from '../../src/apiserver/streams';
import { registryPodTarget } from '../../src/apiserver/streams/portforward-target';
import {
  decodeHeaderBlock,
  encodeDataFrame,
  encodeHeaderBlock,
  encodeRstStream,
  encodeSynStream,
  FLAG_FIN,
  FRAME,
  HeaderDecompressor,
  RST,
  SPDY3_DICTIONARY,
  SpdyFrameReader,
} from '../../src/apiserver/streams/spdy';
import { ManualClock } from '../../src/kubelet/runtime/fake/fake-runtime';
import { bootstrapCluster } from '../../src/manager/bootstrap';
import { SqliteStore } from '../../src/store/sqlite-store';
import { BadRequestError } from '../../src/util/errors';

// `ws` exposes its frame codec for custom transports; the tunnel's `SPDY/3.1+…` subprotocol is
// not a valid token for its client, so the tunnel client below does the handshake itself.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Receiver, Sender } = require('ws') as { Receiver: new (o: object) => NodeJS.WritableStream & NodeJS.EventEmitter; Sender: new (s: net.Socket) => { send(d: Buffer, o: object, cb?: () => void): void; close(code: number, data: string, mask: boolean, cb?: () => void): void } };

jest.setTimeout(60_000);

const PODS = resourceFor('', 'pods')!;

async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() - start > timeoutMs) throw e;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

let store: SqliteStore;
let apiserver: ApiServer;
let registry: Registry;
let streams: PodStreams;
let clock: ManualClock;
let dir: string;
let server: URL;
let token: string;
let ca: string;
let webUid: string;
const throughput: Record<string, string> = {};

// ---------------------------------------------------------------------------------------
// Pod-side servers on 127.0.0.1

const servers: net.Server[] = [];
/** Pod-side connections currently open, per server. */
const open = { echo: 0, sink: 0 };
let echoPort: number;
let httpPort: number;
let firehosePort: number;
let sinkPort: number;
let greeterPort: number;
let refusedPort: number;
let firehoseWritten = 0;
const BIG = crypto.randomBytes(32 << 20);

function listen(s: net.Server): Promise<number> {
  servers.push(s);
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as net.AddressInfo).port)));
}

async function startPodServers(): Promise<void> {
  echoPort = await listen(
    net.createServer({ allowHalfOpen: true }, (c) => {
      open.echo++;
      c.on('close', () => open.echo--);
      c.on('error', () => undefined);
      c.pipe(c);
    }),
  );
  const h = http.createServer((req, res) => {
    if (req.url === '/big') {
      res.writeHead(200, { 'Content-Length': BIG.length });
      res.end(BIG);
    } else {
      res.end(`hello from ${req.url}`);
    }
  });
  httpPort = await listen(h);
  // Writes 1 MiB chunks as long as the connection takes them (up to 256 MiB).
  firehosePort = await listen(
    net.createServer((c) => {
      const chunk = Buffer.alloc(1 << 20, 7);
      c.on('error', () => undefined);
      const pump = (): void => {
        while (firehoseWritten < 256 << 20 && !c.destroyed) {
          firehoseWritten += chunk.length;
          if (!c.write(chunk)) return void c.once('drain', pump);
        }
        c.end();
      };
      pump();
    }),
  );
  // Counts what it receives and answers with the count once the client half-closed.
  sinkPort = await listen(
    net.createServer({ allowHalfOpen: true }, (c) => {
      open.sink++;
      c.on('close', () => open.sink--);
      const hash = crypto.createHash('sha256');
      let n = 0;
      c.on('data', (d: Buffer) => {
        n += d.length;
        hash.update(d);
      });
      c.on('end', () => c.end(`got ${n} ${hash.digest('hex')}`));
      c.on('error', () => undefined);
    }),
  );
  greeterPort = await listen(net.createServer((c) => c.end('hello and goodbye')));
  const tmp = net.createServer();
  refusedPort = await new Promise<number>((resolve) => tmp.listen(0, '127.0.0.1', () => resolve((tmp.address() as net.AddressInfo).port)));
  await new Promise((r) => tmp.close(r));
}

const noResolver: StreamResolver = {
  resolve() {
    throw new BadRequestError('no kubelet in this test');
  },
};

function addPod(name: string, nodeName: string | undefined, ip: string | undefined): string {
  const pod = registry.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { nodeName, containers: [{ name: 'app', image: 'app:1' }] } });
  if (ip) registry.update(PODS, 'default', name, { ...pod, status: { phase: 'Running', podIP: ip } }, { subresource: 'status' });
  return pod.metadata.uid!;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minictl-pf-'));
  const pki = ensurePKI(dir);
  token = ensureToken(dir);
  ca = pki.caCertPem;
  store = new SqliteStore({ path: ':memory:' });
  registry = new Registry(store);
  bootstrapCluster(registry);
  apiserver = new ApiServer({ registry, pki, token });
  server = new URL(`https://127.0.0.1:${await apiserver.listen()}`);
  clock = new ManualClock(Date.UTC(2024, 0, 1));
  streams = new PodStreams({ resolver: noResolver, clock, portForward: { pods: registryPodTarget(registry) } });
  apiserver.streams = streams;
  await startPodServers();
  webUid = addPod('web', 'node-1', '127.0.0.1');
  addPod('pending', undefined, undefined);
  addPod('noip', 'node-1', undefined);
});

afterAll(async () => {
  await apiserver.close();
  store.close();
  for (const s of servers) {
    s.close();
    (s as net.Server & { closeAllConnections?: () => void }).closeAllConnections?.();
  }
  fs.rmSync(dir, { recursive: true, force: true });
  // eslint-disable-next-line no-console
  console.log(`port-forward throughput, in-process API server and test clients (32 MiB): ${JSON.stringify(throughput)}`);
});

const PF = '/api/v1/namespaces/default/pods/web/portforward';

// ---------------------------------------------------------------------------------------
// A SPDY/3.1 client over any byte transport (a TLS socket, or a WebSocket tunnel)

interface StreamState {
  data: Buffer[];
  fin: boolean;
  rst?: number;
  replied: boolean;
  waiters: (() => void)[];
}

class SpdyClient {
  private readonly reader = new SpdyFrameReader(16 << 20);
  private readonly inflater = new HeaderDecompressor();
  private readonly deflate = zlib.createDeflate({ dictionary: SPDY3_DICTIONARY });
  private readonly compressed: Buffer[] = [];
  private next = 1;
  readonly streams = new Map<number, StreamState>();
  goAway = false;

  constructor(private readonly send: (b: Buffer) => void) {
    this.deflate.on('data', (d: Buffer) => this.compressed.push(d));
  }

  private compress(block: Buffer): Promise<Buffer> {
    return new Promise((resolve) => {
      this.deflate.write(block);
      this.deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve(Buffer.concat(this.compressed.splice(0))));
    });
  }

  private state(id: number): StreamState {
    let s = this.streams.get(id);
    if (!s) {
      s = { data: [], fin: false, replied: false, waiters: [] };
      this.streams.set(id, s);
    }
    return s;
  }

  private wake(s: StreamState): void {
    for (const w of s.waiters.splice(0)) w();
  }

  feed(chunk: Buffer): void {
    for (const f of this.reader.push(chunk)) {
      if (!f.control) {
        const s = this.state(f.streamId);
        if (f.data.length) s.data.push(Buffer.from(f.data));
        if (f.flags & FLAG_FIN) s.fin = true;
        this.wake(s);
        continue;
      }
      if (f.type === FRAME.SYN_REPLY) {
        const s = this.state(f.payload.readUInt32BE(0) & 0x7fffffff);
        decodeHeaderBlock(this.inflater.inflate(f.payload.subarray(4)));
        s.replied = true;
        this.wake(s);
      } else if (f.type === FRAME.RST_STREAM) {
        const s = this.state(f.payload.readUInt32BE(0) & 0x7fffffff);
        s.rst = f.payload.readUInt32BE(4);
        this.wake(s);
      } else if (f.type === FRAME.GOAWAY) {
        this.goAway = true;
      }
    }
  }

  /** Opens a stream with `headers`; resolves with its id once replied to or reset. */
  async open(headers: Record<string, string | number>, opts: { fin?: boolean; id?: number } = {}): Promise<number> {
    const id = opts.id ?? this.next;
    this.next = id + 2;
    const block = await this.compress(encodeHeaderBlock(Object.entries(headers).map(([k, v]) => [k, String(v)])));
    this.send(encodeSynStream(id, block, opts.fin ? FLAG_FIN : 0));
    await this.until(id, (s) => s.replied || s.rst !== undefined);
    return id;
  }

  /** Opens the error and data streams of one forwarded connection, as kubectl does. */
  async connect(port: number, requestID: number | string): Promise<{ error: number; data: number }> {
    const error = await this.open({ streamType: 'error', port, requestID });
    this.write(error, Buffer.alloc(0), true);
    const data = await this.open({ streamType: 'data', port, requestID });
    return { error, data };
  }

  write(id: number, d: Buffer | string, fin = false): void {
    const buf = Buffer.isBuffer(d) ? d : Buffer.from(d);
    for (let off = 0; off < buf.length || (off === 0 && buf.length === 0); off += 32 * 1024) {
      const last = off + 32 * 1024 >= buf.length;
      this.send(encodeDataFrame(id, buf.subarray(off, off + 32 * 1024), fin && last ? FLAG_FIN : 0));
      if (buf.length === 0) break;
    }
  }

  reset(id: number): void {
    this.send(encodeRstStream(id, RST.CANCEL));
  }

  text(id: number): string {
    return this.bytes(id).toString();
  }

  bytes(id: number): Buffer {
    return Buffer.concat(this.streams.get(id)?.data ?? []);
  }

  get(id: number): StreamState {
    return this.state(id);
  }

  /** Resolves once the server half-closed (FIN) or reset stream `id`. */
  ended(id: number): Promise<void> {
    return this.until(id, (s) => s.fin || s.rst !== undefined);
  }

  until(id: number, pred: (s: StreamState) => boolean): Promise<void> {
    const s = this.state(id);
    if (pred(s)) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (pred(s)) resolve();
        else s.waiters.push(check);
      };
      s.waiters.push(check);
    });
  }
}

interface Upgraded {
  status: number;
  head: string;
  body: string;
  client: SpdyClient;
  sock: tls.TLSSocket;
  closed: Promise<void>;
}

/** `Upgrade: SPDY/3.1` as kubectl ≤ 1.30 sends it (POST, X-Stream-Protocol-Version). */
function spdyDirect(urlPath = PF, versions = ['portforward.k8s.io']): Promise<Upgraded> {
  return rawUpgrade(urlPath, ['Connection: Upgrade', 'Upgrade: SPDY/3.1', ...versions.map((v) => `X-Stream-Protocol-Version: ${v}`)], 'POST', (sock, client) => {
    sock.on('data', (c: Buffer) => client.feed(c));
    return (b) => sock.write(b);
  });
}

/** A WebSocket offering `SPDY/3.1+portforward.k8s.io`, with SPDY in its binary messages. */
function spdyTunnel(urlPath = PF, protocol = 'SPDY/3.1+portforward.k8s.io'): Promise<Upgraded> {
  const key = crypto.randomBytes(16).toString('base64');
  return rawUpgrade(urlPath, ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', `Sec-WebSocket-Key: ${key}`, `Sec-WebSocket-Protocol: ${protocol}`], 'GET', (sock, client) => {
    const receiver = new Receiver({ isServer: false, binaryType: 'nodebuffer' });
    receiver.on('message', (d: Buffer) => client.feed(d));
    receiver.on('conclude', () => sock.end());
    sock.on('data', (c: Buffer) => receiver.write(c));
    const sender = new Sender(sock);
    return (b) => sender.send(b, { binary: true, fin: true, mask: true });
  });
}

function rawUpgrade(urlPath: string, headers: string[], method: string, attach: (sock: tls.TLSSocket, client: SpdyClient) => (b: Buffer) => void): Promise<Upgraded> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: server.hostname, port: Number(server.port), ca, servername: 'localhost' });
    const closed = new Promise<void>((r) => sock.on('close', () => r()));
    sock.on('error', () => undefined);
    sock.write([`${method} ${urlPath} HTTP/1.1`, 'Host: localhost', `Authorization: Bearer ${token}`, ...headers, '', ''].join('\r\n'));
    let buf = Buffer.alloc(0);
    const onHead = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.off('data', onHead);
      const head = buf.subarray(0, end).toString();
      const status = Number(head.split(' ')[1]);
      const rest = buf.subarray(end + 4);
      let sendFn: (b: Buffer) => void = () => undefined;
      const client = new SpdyClient((b) => sendFn(b));
      const up: Upgraded = { status, head, body: rest.toString(), client, sock, closed };
      if (status === 101) {
        sendFn = attach(sock, client);
        if (rest.length) sock.emit('data', rest);
      } else {
        sock.on('data', (c: Buffer) => (up.body += c.toString()));
      }
      resolve(up);
    };
    sock.on('data', onHead);
    sock.once('error', reject);
  });
}

async function refused(p: Promise<Upgraded>): Promise<{ status: number; body: Record<string, unknown> }> {
  const up = await p;
  await up.closed;
  return { status: up.status, body: JSON.parse(up.body) };
}

// ---------------------------------------------------------------------------------------

describe.each([
  ['SPDY/3.1', spdyDirect],
  ['SPDY/3.1 in a WebSocket', spdyTunnel],
])('port-forward over %s', (name, connect) => {
  test('handshake, an echo round trip, FIN both ways, nothing on the error stream', async () => {
    const up = await connect();
    expect(up.status).toBe(101);
    if (name === 'SPDY/3.1') {
      expect(up.head).toMatch(/\r\nUpgrade: SPDY\/3\.1\r\n/);
      expect(up.head).toMatch(/\r\nX-Stream-Protocol-Version: portforward\.k8s\.io(\r\n|$)/);
    } else {
      expect(up.head).toMatch(/\r\nSec-WebSocket-Protocol: SPDY\/3\.1\+portforward\.k8s\.io(\r\n|$)/i);
    }
    const c = up.client;
    const { error, data } = await c.connect(echoPort, 0);
    c.write(data, 'ping ');
    await c.until(data, () => c.text(data) === 'ping ');
    c.write(data, 'pong', true);
    await c.ended(data);
    await c.ended(error);
    expect(c.text(data)).toBe('ping pong');
    expect(c.get(data).fin).toBe(true);
    expect(c.text(error)).toBe('');
    expect(c.get(error).fin).toBe(true);
    up.sock.destroy();
  });

  test('connection refused: the kubelet-style message on the error stream', async () => {
    const up = await connect();
    const c = up.client;
    const { error, data } = await c.connect(refusedPort, 0);
    await c.ended(error);
    await c.ended(data);
    expect(c.text(error)).toBe(`error forwarding port ${refusedPort} to pod ${webUid}, uid : dial tcp4 127.0.0.1:${refusedPort}: connect: connection refused`);
    expect(c.text(data)).toBe('');
    // The session stays usable for the next connection.
    const next = await c.connect(echoPort, 1);
    c.write(next.data, 'still here', true);
    await c.ended(next.data);
    expect(c.text(next.data)).toBe('still here');
    up.sock.destroy();
  });

  test('32 MiB download and upload', async () => {
    const up = await connect();
    const c = up.client;
    let t0 = process.hrtime.bigint();
    const get = await c.connect(httpPort, 0);
    c.write(get.data, 'GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await c.ended(get.data);
    const down = Number(process.hrtime.bigint() - t0) / 1e9;
    const res = c.bytes(get.data);
    expect(res.subarray(res.length - BIG.length).equals(BIG)).toBe(true);
    t0 = process.hrtime.bigint();
    const put = await c.connect(sinkPort, 1);
    c.write(put.data, BIG, true);
    await c.ended(put.data);
    const upSecs = Number(process.hrtime.bigint() - t0) / 1e9;
    expect(c.text(put.data)).toBe(`got ${BIG.length} ${crypto.createHash('sha256').update(BIG).digest('hex')}`);
    throughput[name] = `down ${(32 / down).toFixed(0)} MB/s, up ${(32 / upSecs).toFixed(0)} MB/s`;
    up.sock.destroy();
  });
});

describe('port-forward over SPDY/3.1: streams and their pairing', () => {
  test('pairs by requestID in any order; concurrent connections stay apart', async () => {
    const { client: c, sock } = await spdyDirect();
    const aErr = await c.open({ streamType: 'error', port: echoPort, requestID: 'a' });
    const bErr = await c.open({ streamType: 'error', port: echoPort, requestID: 'b' });
    const bData = await c.open({ streamType: 'data', port: echoPort, requestID: 'b' });
    const cData = await c.open({ streamType: 'data', port: echoPort, requestID: 'c' });
    const aData = await c.open({ streamType: 'data', port: echoPort, requestID: 'a' });
    const cErr = await c.open({ streamType: 'error', port: echoPort, requestID: 'c' });
    c.write(aData, 'to a', true);
    c.write(bData, 'to b', true);
    c.write(cData, 'to c', true);
    await Promise.all([aData, bData, cData, aErr, bErr, cErr].map((id) => c.ended(id)));
    expect([c.text(aData), c.text(bData), c.text(cData)]).toEqual(['to a', 'to b', 'to c']);
    expect([c.text(aErr), c.text(bErr), c.text(cErr)]).toEqual(['', '', '']);
    sock.destroy();
  });

  test('50 connections at once on one session', async () => {
    const { client: c, sock } = await spdyDirect();
    const conns = await Promise.all(Array.from({ length: 50 }, (_, i) => c.connect(echoPort, i)));
    conns.forEach(({ data }, i) => c.write(data, `message ${i}`, true));
    await Promise.all(conns.map(({ data }) => c.ended(data)));
    expect(conns.map(({ data }) => c.text(data))).toEqual(Array.from({ length: 50 }, (_, i) => `message ${i}`));
    await eventually(() => expect(open.echo).toBe(0));
    sock.destroy();
  });

  test('clients without requestID: the error stream id, and the data stream id − 2', async () => {
    const { client: c, sock } = await spdyDirect();
    const error = await c.open({ streamType: 'error', port: echoPort });
    const data = await c.open({ streamType: 'data', port: echoPort });
    expect(data).toBe(error + 2);
    c.write(data, 'legacy', true);
    await c.ended(data);
    expect(c.text(data)).toBe('legacy');
    sock.destroy();
  });

  test.each([
    ['no port', { streamType: 'data', requestID: 1 }],
    ['port 0', { streamType: 'data', port: 0, requestID: 1 }],
    ['port 70000', { streamType: 'data', port: 70000, requestID: 1 }],
    ['port abc', { streamType: 'data', port: 'abc', requestID: 1 }],
    ['no streamType', { port: echoPort, requestID: 1 }],
    ['streamType stdin', { streamType: 'stdin', port: echoPort, requestID: 1 }],
  ])('a stream with %s is reset; the session goes on', async (_name, headers) => {
    const { client: c, sock } = await spdyDirect();
    const bad = await c.open(headers as Record<string, string | number>);
    expect(c.get(bad).rst).toBe(RST.CANCEL);
    const ok = await c.connect(echoPort, 2);
    c.write(ok.data, 'fine', true);
    await c.ended(ok.data);
    expect(c.text(ok.data)).toBe('fine');
    sock.destroy();
  });

  test('a second stream of one type for a request: reported on the error stream and reset', async () => {
    const { client: c, sock } = await spdyDirect();
    const { error, data } = await c.connect(echoPort, 7);
    // A completed pair leaves the table (as in the kubelet): the same requestID starts a new pair.
    const again = await c.open({ streamType: 'data', port: echoPort, requestID: 7 });
    expect(c.get(again).replied).toBe(true);
    expect(c.get(again).rst).toBeUndefined();
    const lone = await c.open({ streamType: 'error', port: echoPort, requestID: 8 });
    const dup2 = await c.open({ streamType: 'error', port: echoPort, requestID: 8 });
    expect(c.get(dup2).rst).toBe(RST.CANCEL);
    await c.until(lone, () => c.text(lone).length > 0);
    expect(c.text(lone)).toBe('error processing stream for request 8: error stream already assigned');
    c.write(data, 'unaffected', true);
    await c.ended(data);
    expect(c.text(data)).toBe('unaffected');
    expect(c.text(error)).toBe('');
    sock.destroy();
  });

  test('an error stream whose data stream never comes times out', async () => {
    const { client: c, sock } = await spdyDirect();
    const error = await c.open({ streamType: 'error', port: echoPort, requestID: 9 });
    await clock.advance(29_000);
    expect(c.get(error).fin).toBe(false);
    await clock.advance(1_000);
    await c.ended(error);
    expect(c.text(error)).toMatch(/^\(conn=default\/web#\d+, request=9\) timed out waiting for streams$/);
    sock.destroy();
  });

  test('the pod answers after the client half-closed (1 MiB up, then the reply)', async () => {
    const { client: c, sock } = await spdyDirect();
    const { data } = await c.connect(sinkPort, 0);
    const payload = crypto.randomBytes(1 << 20);
    c.write(data, payload, true);
    await c.ended(data);
    expect(c.text(data)).toBe(`got ${payload.length} ${crypto.createHash('sha256').update(payload).digest('hex')}`);
    sock.destroy();
  });

  test('a client that resets its data stream or disconnects closes the pod connection', async () => {
    const { client: c, sock } = await spdyDirect();
    const first = await c.connect(echoPort, 0);
    c.write(first.data, 'x');
    await c.until(first.data, () => c.text(first.data) === 'x');
    expect(open.echo).toBe(1);
    c.reset(first.data);
    await c.ended(first.error);
    await eventually(() => expect(open.echo).toBe(0));
    const second = await c.connect(echoPort, 1);
    c.write(second.data, 'y');
    await c.until(second.data, () => c.text(second.data) === 'y');
    expect(open.echo).toBe(1);
    sock.destroy();
    await eventually(() => expect(open.echo).toBe(0));
    await eventually(() => expect(streams.activePortForwards).toBe(0));
  });

  test('a client that stops reading holds the pod back (backpressure)', async () => {
    const { client: c, sock } = await spdyDirect();
    firehoseWritten = 0;
    const { data } = await c.connect(firehosePort, 0);
    await c.until(data, () => c.bytes(data).length > 0);
    sock.pause();
    await new Promise((r) => setTimeout(r, 1500));
    // Socket buffers in the kernel and in both processes hold some MiB; the rest waits.
    expect(firehoseWritten).toBeLessThan(64 << 20);
    sock.destroy();
  });

  test('garbage after the upgrade ends that connection only', async () => {
    const bad = await spdyDirect();
    bad.sock.write(Buffer.from([0x80, 0x03, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff]));
    await bad.closed;
    const { client: c, sock } = await spdyDirect();
    const { data } = await c.connect(echoPort, 0);
    c.write(data, 'ok', true);
    await c.ended(data);
    expect(c.text(data)).toBe('ok');
    sock.destroy();
  });
});

describe('port-forward refusals (Status before any upgrade)', () => {
  test('unsupported stream protocol, pods without node or IP, unknown pods', async () => {
    const proto = await refused(spdyDirect(PF, ['v4.channel.k8s.io']));
    expect(proto.status).toBe(400);
    expect(proto.body.message).toBe('unable to upgrade: unable to negotiate protocol: client supports [v4.channel.k8s.io], server accepts [portforward.k8s.io]');
    const pending = await refused(spdyDirect('/api/v1/namespaces/default/pods/pending/portforward'));
    expect(pending).toMatchObject({ status: 400, body: { kind: 'Status', reason: 'BadRequest', message: 'pod pending does not have a host assigned' } });
    const noip = await refused(spdyTunnel('/api/v1/namespaces/default/pods/noip/portforward'));
    expect(noip.status).toBe(400);
    expect(noip.body.message).toMatch(/^pod noip does not have an IP address yet/);
    const missing = await refused(spdyTunnel('/api/v1/namespaces/default/pods/nope/portforward'));
    expect(missing.status).toBe(404);
    const tunnel = await refused(spdyTunnel(PF, 'SPDY/3.1+v4.channel.k8s.io'));
    expect(tunnel.status).toBe(400);
    expect(tunnel.body.message).toContain('requested protocol(s) are not supported: [SPDY/3.1+v4.channel.k8s.io]');
  });
});

// ---------------------------------------------------------------------------------------
// WebSocket channels, as @kubernetes/client-node uses them

const CLIENT_NODE_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];

interface WsSession {
  ws: WebSocket;
  protocol: Promise<string>;
  frames: { channel: number; data: Buffer }[];
  closed: Promise<number>;
  channel(ch: number): Buffer;
}

function wsOpen(query: string, protocols = CLIENT_NODE_PROTOCOLS, pod = 'web'): WsSession {
  const ws = new WebSocket(`wss://${server.host}/api/v1/namespaces/default/pods/${pod}/portforward?${query}`, protocols, { ca, headers: { Authorization: `Bearer ${token}` } });
  const frames: WsSession['frames'] = [];
  ws.on('message', (d: RawData, isBinary: boolean) => {
    const b = d as Buffer;
    if (isBinary) frames.push({ channel: b[0], data: b.subarray(1) });
    else frames.push({ channel: b.toString().charCodeAt(0) - 48, data: Buffer.from(b.toString().slice(1), 'base64') });
  });
  const protocol = new Promise<string>((resolve, reject) => {
    ws.on('open', () => resolve(ws.protocol));
    ws.on('unexpected-response', (_req, res: http.IncomingMessage) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => reject(Object.assign(new Error(body), { status: res.statusCode, body })));
    });
    ws.on('error', reject);
  });
  protocol.catch(() => undefined);
  return {
    ws,
    protocol,
    frames,
    closed: new Promise((resolve) => ws.on('close', (code) => resolve(code))),
    channel: (ch) => Buffer.concat(frames.filter((f) => f.channel === ch).map((f) => f.data)),
  };
}

async function wsRefused(query: string, protocols?: string[], pod?: string): Promise<{ status: number; message: string }> {
  try {
    await wsOpen(query, protocols, pod).protocol;
  } catch (e) {
    const err = e as { status: number; body: string };
    return { status: err.status, message: JSON.parse(err.body).message };
  }
  throw new Error('expected the upgrade to be refused');
}

function le(port: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(port);
  return b;
}

describe('port-forward over WebSocket channels (client-node)', () => {
  test('v4 from client-node\'s offer; the port first on channels 0 and 1 (little-endian); echo', async () => {
    const s = wsOpen(`ports=${echoPort}`);
    expect(await s.protocol).toBe('v4.channel.k8s.io');
    await eventually(() => expect(s.frames.length).toBeGreaterThanOrEqual(2));
    expect(s.frames[0]).toEqual({ channel: 0, data: le(echoPort) });
    expect(s.frames[1]).toEqual({ channel: 1, data: le(echoPort) });
    s.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('over channels')]));
    await eventually(() => expect(s.channel(0).subarray(2).toString()).toBe('over channels'));
    await eventually(() => expect(open.echo).toBe(1));
    s.ws.close();
    await s.closed;
    await eventually(() => expect(open.echo).toBe(0));
  });

  test('the pod closing its connection closes the WebSocket (1000)', async () => {
    const s = wsOpen(`ports=${greeterPort}`);
    expect(await s.closed).toBe(1000);
    expect(s.channel(0).subarray(2).toString()).toBe('hello and goodbye');
    expect(s.channel(1)).toEqual(le(greeterPort));
  });

  test('connection refused: the message on the error channel, then close', async () => {
    const s = wsOpen(`ports=${refusedPort}`);
    expect(await s.closed).toBe(1000);
    expect(s.channel(1).subarray(2).toString()).toBe(`error forwarding port ${refusedPort} to pod ${webUid}, uid : dial tcp4 127.0.0.1:${refusedPort}: connect: connection refused`);
  });

  test('two ports: channels 0/1 and 2/3', async () => {
    const s = wsOpen(`ports=${echoPort},${greeterPort}`, ['v4.channel.k8s.io']);
    await s.protocol;
    await eventually(() => expect(s.channel(2).subarray(2).toString()).toBe('hello and goodbye'));
    s.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('first port')]));
    await eventually(() => expect(s.channel(0).subarray(2).toString()).toBe('first port'));
    expect(s.channel(2).subarray(0, 2)).toEqual(le(greeterPort));
    s.ws.close();
    await s.closed;
  });

  test('v4.base64.channel.k8s.io: text messages', async () => {
    const s = wsOpen(`ports=${echoPort}`, ['v4.base64.channel.k8s.io']);
    expect(await s.protocol).toBe('v4.base64.channel.k8s.io');
    s.ws.send('0' + Buffer.from('in base64').toString('base64'));
    await eventually(() => expect(s.channel(0).subarray(2).toString()).toBe('in base64'));
    s.ws.close();
    await s.closed;
  });

  test('refusals: no ports, a bad port, only unsupported protocols, a pod without IP', async () => {
    expect(await wsRefused('')).toEqual({ status: 400, message: 'query parameter "ports" is required' });
    expect(await wsRefused('ports=0')).toEqual({ status: 400, message: 'port "0" must be > 0' });
    expect((await wsRefused('ports=http')).message).toBe('unable to parse "http" as a port: strconv.ParseUint: parsing "http": invalid syntax');
    expect((await wsRefused(`ports=${echoPort}`, ['v5.channel.k8s.io'])).message).toMatch(/^requested protocol\(s\) are not supported: \[v5.channel.k8s.io\]/);
    expect((await wsRefused(`ports=${echoPort}`, undefined, 'noip')).status).toBe(400);
  });
});

describe('shutdown', () => {
  test('close() drops live port-forward sessions and their pod connections', async () => {
    const { client: c, closed } = await spdyDirect();
    const { data } = await c.connect(echoPort, 0);
    c.write(data, 'z');
    await c.until(data, () => c.text(data) === 'z');
    const s = wsOpen(`ports=${echoPort}`);
    await s.protocol;
    await eventually(() => expect(streams.activePortForwards).toBe(2));
    streams.close();
    await closed;
    await s.closed;
    await eventually(() => expect(open.echo).toBe(0));
    expect(streams.activePortForwards).toBe(0);
    expect((await refused(spdyDirect())).status).toBe(503);
  });
});
