/**
 * Pod streams through the real API server (TLS, token auth, routing) with a FakeRuntime behind
 * a test resolver: exec and attach over WebSocket (every subprotocol) and SPDY/3.1, logs, and
 * broken clients.
 */
import * as https from 'node:https';
import type { IncomingMessage } from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import * as zlib from 'node:zlib';
import { WebSocket } from 'ws';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SqliteStore } from '../../src/store/sqlite-store';
import { Registry } from '../../src/apiserver/registry';
import { ApiServer } from '../../src/apiserver/server';
import { ensurePKI, ensureToken } from '../../src/apiserver/certs';
import { bootstrapCluster } from '../../src/manager/bootstrap';
import { resourceFor } from '../../src/api/scheme';
import { PodStreams } from '../../src/apiserver/streams';
import { containerUnavailableError, selectContainer, type StreamResolver } from '../../src/apiserver/streams/resolver';
import {
  encodeDataFrame,
  encodeHeaderBlock,
  encodeSynStream,
  decodeHeaderBlock,
  FLAG_FIN,
  FRAME,
  HeaderDecompressor,
  SPDY3_DICTIONARY,
  SpdyFrameReader,
  encodePing,
} from '../../src/apiserver/streams/spdy';
import { FakeRuntime, ManualClock, type FakeExecHandler } from '../../src/kubelet/runtime/fake/fake-runtime';
import type { ContainerRuntime, ExecSession } from '../../src/kubelet/runtime/container-runtime';

jest.setTimeout(30_000);

/** Polls until `fn` stops throwing (the shared helper pulls in the whole Cluster). */
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

const PODS = resourceFor('', 'pods')!;

class TestResolver implements StreamResolver {
  readonly current = new Map<string, string>();
  readonly previous = new Map<string, string>();
  constructor(
    private readonly registry: Registry,
    public runtime: ContainerRuntime,
  ) {}
  resolve(ns: string, pod: string, container: string | undefined, previous: boolean) {
    const p = this.registry.get(PODS, ns, pod);
    const name = selectContainer(p, container);
    const id = (previous ? this.previous : this.current).get(`${ns}/${pod}/${name}`);
    if (!id) throw containerUnavailableError(p, name, previous);
    return { runtime: this.runtime, containerId: id, containerName: name };
  }
}

/** Store + registry + API server only: the stream handlers need nothing else. */
let t: { registry: Registry; apiserver: ApiServer; store: SqliteStore; dir: string };
let clock: ManualClock;
let rt: FakeRuntime;
let resolver: TestResolver;
let streams: PodStreams;
let server: string;
let token: string;
let ca: string;
const execLog: { cmd: string[]; stdin: string }[] = [];

const handler: FakeExecHandler = (cmd, stdin) => {
  execLog.push({ cmd, stdin });
  const script = cmd.join(' ');
  if (script === 'sh -c exit 3') return { exitCode: 3, stdout: 'out\n', stderr: 'err\n' };
  if (script === 'cat') return { stdout: stdin };
  if (script === 'big') return { stdout: 'x'.repeat(3 * 1024 * 1024) };
  if (script === 'wait') return { stdout: 'done\n', delayMs: 60_000 };
  return { stdout: `ran ${script}\n` };
};

async function addPod(name: string, containers: { name: string; stdin?: boolean; tty?: boolean }[], logs: string[] = []): Promise<Record<string, string>> {
  t.registry.create(PODS, 'default', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { containers: containers.map((c) => ({ name: c.name, image: 'app:1', stdin: c.stdin, tty: c.tty })) },
  });
  const sb = await rt.runPodSandbox({ podUid: `uid-${name}`, podName: name, namespace: 'default' });
  const ids: Record<string, string> = {};
  for (const c of containers) {
    rt.setContainerScript(`default/${name}/${c.name}`, { logs });
    const id = await rt.createContainer(sb.id, { name: c.name, image: 'app:1', stdin: c.stdin, tty: c.tty });
    await rt.startContainer(id);
    resolver.current.set(`default/${name}/${c.name}`, id);
    ids[c.name] = id;
  }
  return ids;
}

beforeAll(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minictl-streams-'));
  const pki = ensurePKI(dir);
  token = ensureToken(dir);
  ca = pki.caCertPem;
  const store = new SqliteStore({ path: ':memory:' });
  const registry = new Registry(store);
  bootstrapCluster(registry);
  const apiserver = new ApiServer({ registry, pki, token });
  server = `https://127.0.0.1:${await apiserver.listen()}`;
  t = { registry, apiserver, store, dir };
  clock = new ManualClock(Date.UTC(2024, 0, 1));
  rt = new FakeRuntime({ clock, images: ['app:1'], execHandler: handler });
  resolver = new TestResolver(t.registry, rt);
  streams = new PodStreams({ resolver, clock, pingIntervalMs: 0, maxFrameBytes: 64 * 1024 });
  t.apiserver.streams = streams;
  await addPod('web', [{ name: 'app', stdin: true }], ['line 1', 'line 2', 'line 3']);
  await addPod('multi', [{ name: 'a' }, { name: 'b' }]);
  await addPod('term', [{ name: 'app', stdin: true, tty: true }]);
  await addPod('attached', [{ name: 'app', stdin: true }], ['line 1']);
});

afterAll(async () => {
  await t.apiserver.close();
  t.store.close();
  fs.rmSync(t.dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------
// WebSocket client helpers

interface Frame {
  channel: number;
  data: Buffer;
}

interface WsSession {
  ws: WebSocket;
  protocol: Promise<string>;
  frames: Frame[];
  closed: Promise<{ code: number }>;
  text(channel: number): string;
  send(channel: number, data: string | Buffer): void;
}

function wsOpen(path: string, protocols: string[] = ['v5.channel.k8s.io'], opts: { autoPong?: boolean } = {}): WsSession {
  const ws = new WebSocket(server.replace('https', 'wss') + path, protocols, { ca, headers: { Authorization: `Bearer ${token}` }, autoPong: opts.autoPong ?? true });
  const frames: Frame[] = [];
  const base64 = protocols[0]?.includes('base64');
  ws.on('message', (d: Buffer, isBinary: boolean) => {
    if (!isBinary) {
      const s = d.toString();
      frames.push({ channel: s.charCodeAt(0) - 48, data: Buffer.from(s.slice(1), 'base64') });
    } else {
      frames.push({ channel: d[0], data: d.subarray(1) });
    }
  });
  const protocol = new Promise<string>((resolve, reject) => {
    ws.on('open', () => resolve(ws.protocol));
    ws.on('unexpected-response', (_req, res: IncomingMessage) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => reject(Object.assign(new Error(body), { status: res.statusCode, body })));
    });
    ws.on('error', reject);
  });
  protocol.catch(() => undefined);
  const closed = new Promise<{ code: number }>((resolve) => ws.on('close', (code) => resolve({ code })));
  return {
    ws,
    protocol,
    frames,
    closed,
    text: (ch) => Buffer.concat(frames.filter((f) => f.channel === ch).map((f) => f.data)).toString(),
    send: (ch, data) => {
      const b = Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (base64) ws.send(String.fromCharCode(48 + ch) + b.toString('base64'));
      else ws.send(Buffer.concat([Buffer.from([ch]), b]));
    },
  };
}

async function wsRefused(path: string, protocols?: string[]): Promise<{ status: number; body: Record<string, unknown> }> {
  const s = wsOpen(path, protocols);
  try {
    await s.protocol;
  } catch (e) {
    const err = e as { status: number; body: string };
    return { status: err.status, body: JSON.parse(err.body) };
  }
  throw new Error('expected the upgrade to be refused');
}

const execPath = (pod: string, cmd: string[], extra = 'stdout=true&stderr=true') => `/api/v1/namespaces/default/pods/${pod}/exec?${cmd.map((c) => `command=${encodeURIComponent(c)}`).join('&')}&${extra}`;

function status(s: WsSession): Record<string, unknown> {
  return JSON.parse(s.text(3));
}

// ---------------------------------------------------------------------------------------

describe('exec over WebSocket', () => {
  test('v5: non-zero exit code, stdout and stderr, then status and close 1000', async () => {
    const s = wsOpen(execPath('web', ['sh', '-c', 'exit 3']));
    expect(await s.protocol).toBe('v5.channel.k8s.io');
    expect((await s.closed).code).toBe(1000);
    expect(s.text(1)).toBe('out\n');
    expect(s.text(2)).toBe('err\n');
    expect(status(s)).toEqual({
      metadata: {},
      status: 'Failure',
      message: 'command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    });
    // The first message announces the session on the lowest channel the client reads; the status is last.
    expect(s.frames[0]).toEqual({ channel: 1, data: Buffer.alloc(0) });
    expect(s.frames[s.frames.length - 1].channel).toBe(3);
  });

  test('v5: stdin is forwarded and the close signal ends it', async () => {
    const s = wsOpen(execPath('web', ['cat'], 'stdin=true&stdout=true&stderr=true'));
    await s.protocol;
    s.send(0, 'hello ');
    s.send(0, 'world');
    s.ws.send(Buffer.from([255, 0]));
    expect((await s.closed).code).toBe(1000);
    expect(s.text(1)).toBe('hello world');
    expect(status(s)).toEqual({ metadata: {}, status: 'Success' });
  });

  test('v4 (client-node): JSON status, no close signal needed without stdin', async () => {
    const s = wsOpen(execPath('web', ['ls']), ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io']);
    expect(await s.protocol).toBe('v4.channel.k8s.io');
    await s.closed;
    expect(s.text(1)).toBe('ran ls\n');
    expect(status(s)).toEqual({ metadata: {}, status: 'Success' });
  });

  test('channel.k8s.io: the failure is plain text; success writes nothing', async () => {
    const fail = wsOpen(execPath('web', ['sh', '-c', 'exit 3']), ['channel.k8s.io']);
    expect(await fail.protocol).toBe('channel.k8s.io');
    await fail.closed;
    expect(fail.text(3)).toBe('command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3');
    const ok = wsOpen(execPath('web', ['ls']), ['channel.k8s.io']);
    await ok.closed;
    expect(ok.text(1)).toBe('ran ls\n');
    expect(ok.frames.filter((f) => f.channel === 3 && f.data.length > 0)).toEqual([]);
  });

  test('base64.channel.k8s.io and v4.base64: text messages', async () => {
    for (const p of ['base64.channel.k8s.io', 'v4.base64.channel.k8s.io']) {
      const s = wsOpen(execPath('web', ['ls']), [p]);
      expect(await s.protocol).toBe(p);
      await s.closed;
      expect(s.text(1)).toBe('ran ls\n');
    }
  });

  test('no subprotocol offered: legacy binary channels', async () => {
    const s = wsOpen(execPath('web', ['ls']), []);
    expect(await s.protocol).toBe('');
    await s.closed;
    expect(s.text(1)).toBe('ran ls\n');
  });

  test('stdout not requested: output is drained, not sent', async () => {
    const s = wsOpen(execPath('web', ['sh', '-c', 'exit 3'], 'stderr=true'));
    await s.closed;
    expect(s.text(1)).toBe('');
    expect(s.text(2)).toBe('err\n');
    expect(s.frames[0]).toEqual({ channel: 2, data: Buffer.alloc(0) });
  });

  test('large output arrives complete, in order (backpressure path)', async () => {
    const s = wsOpen(execPath('web', ['big']));
    await s.closed;
    expect(s.text(1).length).toBe(3 * 1024 * 1024);
    expect(status(s).status).toBe('Success');
  });

  test('tty: resize messages reach the process, split or packed; bad ones are ignored', async () => {
    const sizes: [number, number][] = [];
    const orig = rt.exec.bind(rt);
    const spy = jest.spyOn(rt, 'exec').mockImplementation(async (...args: Parameters<FakeRuntime['exec']>): Promise<ExecSession> => {
      const sess = await orig(...args);
      return { ...sess, resize: async (w: number, h: number) => void sizes.push([w, h]) };
    });
    try {
      const s = wsOpen(execPath('term', ['cat'], 'stdin=true&stdout=true&tty=true'));
      await s.protocol;
      s.send(4, '{"Width":80,"Height":24}');
      s.send(4, '{"Width":100,');
      s.send(4, '"Height":30}{"Width":120,"Height":40}');
      s.send(4, '{"Width":-5,"Height":"x"}');
      s.send(4, 'x'.repeat(10_000));
      s.send(4, '{"Width":1' + '0'.repeat(50_000));
      s.send(0, 'typed');
      s.ws.send(Buffer.from([255, 0]));
      await s.closed;
      expect(sizes).toEqual([
        [80, 24],
        [100, 30],
        [120, 40],
      ]);
      expect(s.text(1)).toBe('typed');
      expect(execLog[execLog.length - 1]).toEqual({ cmd: ['cat'], stdin: 'typed' });
    } finally {
      spy.mockRestore();
    }
  });
});

describe('exec refusals are plain HTTP errors with a Status (before any upgrade)', () => {
  test('unknown pod: 404', async () => {
    const r = await wsRefused(execPath('nope', ['ls']));
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ kind: 'Status', reason: 'NotFound', message: 'pods "nope" not found' });
  });

  test('several containers and none named: 400 with the choices', async () => {
    const r = await wsRefused(execPath('multi', ['ls']));
    expect(r.status).toBe(400);
    expect(r.body.message).toBe('a container name must be specified for pod multi, choose one of: [a b]');
  });

  test('unknown container: 400', async () => {
    const r = await wsRefused(execPath('web', ['ls'], 'stdout=true&container=zzz'));
    expect(r.body.message).toBe('container zzz is not valid for pod web');
  });

  test('no command: 400', async () => {
    const r = await wsRefused('/api/v1/namespaces/default/pods/web/exec?stdout=true');
    expect(r.body.message).toBe('you must specify at least one command for the container');
  });

  test('unsupported subprotocols: 400', async () => {
    const r = await wsRefused(execPath('web', ['ls']), ['v9.channel.k8s.io']);
    expect(r.status).toBe(400);
    expect(String(r.body.message)).toContain('requested protocol(s) are not supported');
  });

  test('container not running: 400', async () => {
    await addPod('stopped', [{ name: 'app' }]);
    rt.crash(resolver.current.get('default/stopped/app')!, 1);
    const r = await wsRefused(execPath('stopped', ['ls']));
    expect(r.body.message).toBe('container not found ("app")');
  });

  test('a wrong token: 401', async () => {
    const ws = new WebSocket(server.replace('https', 'wss') + execPath('web', ['ls']), ['v5.channel.k8s.io'], { ca, headers: { Authorization: 'Bearer wrong' } });
    const code = await new Promise<number>((resolve) => ws.on('unexpected-response', (_q, res: IncomingMessage) => resolve(res.statusCode ?? 0)));
    expect(code).toBe(401);
  });
});

describe('broken clients never hurt the server', () => {
  test('garbage frames are ignored and the session still completes', async () => {
    const s = wsOpen(execPath('web', ['cat'], 'stdin=true&stdout=true'));
    await s.protocol;
    s.ws.send(Buffer.alloc(0));
    s.ws.send(Buffer.from([9, 1, 2, 3]));
    s.ws.send(Buffer.from([255]));
    s.ws.send(Buffer.from([255, 7]));
    s.ws.send('text frame on a binary protocol');
    s.send(0, 'ok');
    s.ws.send(Buffer.from([255, 0]));
    await s.closed;
    expect(s.text(1)).toBe('ok');
  });

  test('a client that vanishes mid-exec: stdin is closed and the session is released', async () => {
    const before = execLog.length;
    const s = wsOpen(execPath('web', ['cat'], 'stdin=true&stdout=true'));
    await s.protocol;
    s.send(0, 'partial');
    await eventually(() => expect(streams.activeSessions).toBeGreaterThan(0));
    s.ws.terminate();
    await eventually(() => expect(streams.activeSessions).toBe(0));
    await eventually(() => expect(execLog.slice(before)).toEqual([{ cmd: ['cat'], stdin: 'partial' }]));
  });

  test('a half-closed socket (client FIN without a close frame) ends the session', async () => {
    const s = wsOpen(execPath('web', ['cat'], 'stdin=true&stdout=true'));
    await s.protocol;
    await eventually(() => expect(streams.activeSessions).toBe(1));
    (s.ws as unknown as { _socket: tls.TLSSocket })._socket.end();
    await eventually(() => expect(streams.activeSessions).toBe(0));
  });

  test('an oversized message closes that connection only (1009)', async () => {
    const s = wsOpen(execPath('web', ['cat'], 'stdin=true&stdout=true'));
    await s.protocol;
    s.send(0, Buffer.alloc(100 * 1024));
    expect((await s.closed).code).toBe(1009);
    await eventually(() => expect(streams.activeSessions).toBe(0));
    const ok = wsOpen(execPath('web', ['ls']));
    await ok.closed;
    expect(ok.text(1)).toBe('ran ls\n');
  });

  test('a client that resets its connection while the upgrade is being checked', async () => {
    const orig = rt.containerStatus.bind(rt);
    let entered!: () => void;
    const checking = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const spy = jest.spyOn(rt, 'containerStatus').mockImplementation(async (id: string) => {
      entered();
      await held;
      return orig(id);
    });
    try {
      const url = new URL(server);
      const tcp = net.connect(Number(url.port), url.hostname);
      tcp.on('error', () => undefined);
      const sock = tls.connect({ socket: tcp, ca, servername: 'localhost' });
      sock.on('error', () => undefined);
      await new Promise<void>((r) => sock.once('secureConnect', () => r()));
      sock.write(`GET ${execPath('web', ['ls'])} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n`);
      await checking;
      tcp.resetAndDestroy(); // TCP RST: the server side sees ECONNRESET
      await new Promise((r) => setTimeout(r, 100));
      release();
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      spy.mockRestore();
    }
    const ok = wsOpen(execPath('web', ['ls']));
    await ok.closed;
    expect(ok.text(1)).toBe('ran ls\n');
  });

  test('a raw upgrade with a bogus key is refused with 400', async () => {
    const r = await rawRequest(`GET ${execPath('web', ['ls'])} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: nope\r\n\r\n`);
    expect(r).toMatch(/^HTTP\/1.1 400/);
  });

  test('an unknown upgrade protocol is refused with 400', async () => {
    const r = await rawRequest(`GET ${execPath('web', ['ls'])} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n`);
    expect(r).toMatch(/^HTTP\/1.1 400/);
  });

  test('keepalive: a client that stops answering pings is dropped', async () => {
    const s2 = new PodStreams({ resolver, clock, pingIntervalMs: 1000 });
    t.apiserver.streams = s2;
    try {
      const s = wsOpen(execPath('web', ['cat'], 'stdin=true&stdout=true'), ['v5.channel.k8s.io'], { autoPong: false });
      await s.protocol;
      await eventually(() => expect(s2.activeSessions).toBe(1));
      await clock.advance(1000);
      await clock.advance(1000);
      expect((await s.closed).code).toBe(1006);
      await eventually(() => expect(s2.activeSessions).toBe(0));
    } finally {
      t.apiserver.streams = streams;
      s2.close();
    }
  });
});

function rawRequest(text: string): Promise<string> {
  const url = new URL(server);
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: url.hostname, port: Number(url.port), ca, servername: 'localhost' }, () => sock.write(text));
    let out = '';
    sock.on('data', (d) => (out += d.toString()));
    sock.on('end', () => resolve(out));
    sock.on('close', () => resolve(out));
    sock.on('error', reject);
  });
}

describe('attach over WebSocket', () => {
  test('output from now on, stdin to the main process, Success when the container exits', async () => {
    const s = wsOpen('/api/v1/namespaces/default/pods/attached/attach?container=app&stdin=true&stdout=true&stderr=true');
    await s.protocol;
    await eventually(() => expect(rt.callsOf('attach').length).toBeGreaterThan(0));
    const id = resolver.current.get('default/attached/app')!;
    rt.emitLog(id, 'attached line');
    await eventually(() => expect(s.text(1)).toBe('attached line\n'));
    s.send(0, 'input\n');
    await eventually(() => expect(rt.stdinOf(id)).toBe('input\n'));
    rt.crash(id, 0);
    expect((await s.closed).code).toBe(1000);
    expect(status(s)).toEqual({ metadata: {}, status: 'Success' });
    expect(s.text(1)).not.toContain('line 1'); // no history
  });
});

// ---------------------------------------------------------------------------------------
// Logs

function getLogs(qs: string, pod = 'web'): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${server}/api/v1/namespaces/default/pods/${pod}/log${qs ? '?' + qs : ''}`, { ca, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('logs', () => {
  let loggedAt = '';
  beforeAll(async () => {
    loggedAt = new Date(clock.now()).toISOString();
    await addPod('logger', [{ name: 'app' }], ['first', 'second', 'third']);
  });

  test('whole log, text/plain', async () => {
    const r = await getLogs('', 'logger');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain');
    expect(r.body).toBe('first\nsecond\nthird\n');
  });

  test('tailLines, timestamps, limitBytes', async () => {
    expect((await getLogs('tailLines=2', 'logger')).body).toBe('second\nthird\n');
    expect((await getLogs('tailLines=0', 'logger')).body).toBe('');
    expect((await getLogs('tailLines=1&timestamps=true', 'logger')).body).toBe(`${loggedAt} third\n`);
    expect((await getLogs('limitBytes=8', 'logger')).body).toBe('first\nse');
  });

  test('sinceSeconds uses the injected clock', async () => {
    const { app } = await addPod('since', [{ name: 'app' }], ['old']);
    await clock.advance(120_000);
    rt.emitLog(app, 'new');
    expect((await getLogs('sinceSeconds=60', 'since')).body).toBe('new\n');
    expect((await getLogs('sinceTime=2024-01-01T00:01:00Z', 'since')).body).toBe('new\n');
  });

  test('follow streams lines as they come and ends when the container exits', async () => {
    const { app } = await addPod('follow', [{ name: 'app' }], ['before']);
    const chunks: string[] = [];
    let ended = false;
    const req = https.request(`${server}/api/v1/namespaces/default/pods/follow/log?follow=true`, { ca, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      res.on('data', (c: Buffer) => chunks.push(c.toString()));
      res.on('end', () => (ended = true));
    });
    req.end();
    await eventually(() => expect(chunks.join('')).toBe('before\n'));
    rt.emitLog(app, 'during');
    await eventually(() => expect(chunks.join('')).toBe('before\nduring\n'));
    expect(ended).toBe(false);
    rt.crash(app, 0);
    await eventually(() => expect(ended).toBe(true));
  });

  test('a follower that goes away releases the runtime stream', async () => {
    const { app } = await addPod('gone', [{ name: 'app' }], ['x']);
    let got = '';
    const req = https.request(`${server}/api/v1/namespaces/default/pods/gone/log?follow=true`, { ca, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      res.on('data', (c: Buffer) => (got += c));
    });
    req.on('error', () => undefined);
    req.end();
    await eventually(() => expect(got).toBe('x\n'));
    req.destroy();
    // The fake drops a follower when its stream closes: later lines go nowhere and nothing throws.
    await new Promise((r) => setTimeout(r, 50));
    rt.emitLog(app, 'after');
    expect((await getLogs('', 'gone')).body).toBe('x\nafter\n');
  });

  test('previous instance, and its absence', async () => {
    const { app: first } = await addPod('restarted-0', [{ name: 'app' }], ['first life']);
    rt.crash(first, 1);
    const { app } = await addPod('restarted', [{ name: 'app' }], ['second life']);
    expect((await getLogs('previous=true', 'restarted')).status).toBe(400);
    const r = await getLogs('previous=true', 'restarted');
    expect(JSON.parse(r.body)).toMatchObject({ kind: 'Status', reason: 'BadRequest', message: 'previous terminated container "app" in pod "restarted" not found' });
    resolver.previous.set('default/restarted/app', first);
    expect((await getLogs('previous=true', 'restarted')).body).toBe('first life\n');
    expect((await getLogs('', 'restarted')).body).toBe('second life\n');
    void app;
  });

  test('errors: several containers, waiting container, invalid options', async () => {
    const multi = await getLogs('', 'multi');
    expect(multi.status).toBe(400);
    expect(JSON.parse(multi.body).message).toBe('a container name must be specified for pod multi, choose one of: [a b]');
    t.registry.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pending' }, spec: { containers: [{ name: 'app', image: 'app:1' }] } });
    const pending = await getLogs('', 'pending');
    expect(JSON.parse(pending.body).message).toBe('container "app" in pod "pending" is waiting to start: ContainerCreating');
    const bad = await getLogs('sinceSeconds=0', 'web');
    expect(bad.status).toBe(422);
    expect(JSON.parse(bad.body)).toMatchObject({ reason: 'Invalid', message: 'PodLogOptions "web" is invalid: sinceSeconds: Invalid value: 0: must be greater than 0' });
    expect((await getLogs('', 'nope')).status).toBe(404);
  });
});

// ---------------------------------------------------------------------------------------
// SPDY/3.1 (as kubectl ≤ 1.29 speaks it)

interface SpdyClient {
  status: number;
  head: string;
  body: string;
  open(type: string): Promise<number>;
  data(id: number, d: string, fin?: boolean): void;
  received(id: number): string;
  fin(id: number): boolean;
  goAway: Promise<void>;
  closed: Promise<void>;
  frames: { control: boolean; type?: number; streamId?: number }[];
  sock: tls.TLSSocket;
}

function spdyConnect(path: string, versions = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io']): Promise<SpdyClient> {
  const url = new URL(server);
  const deflate = zlib.createDeflate({ dictionary: SPDY3_DICTIONARY });
  const compressed: Buffer[] = [];
  deflate.on('data', (d: Buffer) => compressed.push(d));
  const compress = (block: Buffer) =>
    new Promise<Buffer>((resolve) => {
      deflate.write(block);
      deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve(Buffer.concat(compressed.splice(0))));
    });
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: url.hostname, port: Number(url.port), ca, servername: 'localhost' });
    const req = [`POST ${path} HTTP/1.1`, 'Host: localhost', `Authorization: Bearer ${token}`, 'Connection: Upgrade', 'Upgrade: SPDY/3.1', ...versions.map((v) => `X-Stream-Protocol-Version: ${v}`), 'Content-Length: 0', '', ''].join('\r\n');
    sock.write(req);
    let buf = Buffer.alloc(0);
    let client: SpdyClient | undefined;
    const reader = new SpdyFrameReader(16 << 20);
    const inflater = new HeaderDecompressor();
    const recv = new Map<number, Buffer[]>();
    const fins = new Set<number>();
    const replies = new Map<number, () => void>();
    let next = 1;
    let goAwayResolve!: () => void;
    let closedResolve!: () => void;
    const frames: SpdyClient['frames'] = [];
    const goAway = new Promise<void>((r) => (goAwayResolve = r));
    const closed = new Promise<void>((r) => (closedResolve = r));
    sock.on('close', () => closedResolve());
    sock.on('error', () => closedResolve());
    sock.on('data', (chunk: Buffer) => {
      if (!client) {
        buf = Buffer.concat([buf, chunk]);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString();
        const status = Number(head.split(' ')[1]);
        const rest = buf.subarray(end + 4);
        client = {
          status,
          head,
          body: rest.toString(),
          frames,
          sock,
          goAway,
          closed,
          open: async (type) => {
            const id = next;
            next += 2;
            const replied = new Promise<void>((r) => replies.set(id, r));
            sock.write(encodeSynStream(id, await compress(encodeHeaderBlock([['streamType', type]]))));
            await replied;
            return id;
          },
          data: (id, d, fin = false) => sock.write(encodeDataFrame(id, Buffer.from(d), fin ? FLAG_FIN : 0)),
          received: (id) => Buffer.concat(recv.get(id) ?? []).toString(),
          fin: (id) => fins.has(id),
        };
        resolve(client);
        if (status !== 101) {
          sock.on('end', () => (client!.body = Buffer.concat([rest]).toString()));
          return;
        }
        chunk = rest;
      } else if (client.status !== 101) {
        client.body += chunk.toString();
        return;
      }
      for (const f of reader.push(chunk)) {
        if (!f.control) {
          frames.push({ control: false, streamId: f.streamId });
          recv.set(f.streamId, [...(recv.get(f.streamId) ?? []), f.data]);
          if (f.flags & FLAG_FIN) fins.add(f.streamId);
          continue;
        }
        frames.push({ control: true, type: f.type });
        if (f.type === FRAME.SYN_REPLY) {
          const id = f.payload.readUInt32BE(0);
          expect(decodeHeaderBlock(inflater.inflate(f.payload.subarray(4))).size).toBe(0);
          replies.get(id)?.();
        } else if (f.type === FRAME.GOAWAY) {
          goAwayResolve();
        }
      }
    });
    sock.on('error', reject);
  });
}

describe('exec and attach over SPDY/3.1', () => {
  test('exit code, stdout, stderr; status on the error stream, FINs, GOAWAY', async () => {
    const c = await spdyConnect(execPath('web', ['sh', '-c', 'exit 3']));
    expect(c.status).toBe(101);
    expect(c.head).toMatch(/\r\nUpgrade: SPDY\/3.1\r\n/);
    expect(c.head).toMatch(/\r\nX-Stream-Protocol-Version: v4.channel.k8s.io/);
    const err = await c.open('error');
    const out = await c.open('stdout');
    const errOut = await c.open('stderr');
    await c.goAway;
    expect(c.received(out)).toBe('out\n');
    expect(c.received(errOut)).toBe('err\n');
    expect(JSON.parse(c.received(err))).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
    expect([err, out, errOut].every((id) => c.fin(id))).toBe(true);
    c.sock.end();
    await c.closed;
  });

  test('stdin with FIN, pings answered', async () => {
    const c = await spdyConnect(execPath('web', ['cat'], 'stdin=true&stdout=true&stderr=true'));
    const err = await c.open('error');
    const stdin = await c.open('stdin');
    const out = await c.open('stdout');
    c.sock.write(encodePing(1));
    await c.open('stderr');
    c.data(stdin, 'via spdy');
    c.data(stdin, '', true);
    await c.goAway;
    expect(c.frames.some((f) => f.control && f.type === FRAME.PING)).toBe(true);
    expect(c.received(out)).toBe('via spdy');
    expect(JSON.parse(c.received(err))).toEqual({ metadata: {}, status: 'Success' });
    c.sock.destroy();
  });

  test('v3 peer: text errors', async () => {
    const c = await spdyConnect(execPath('web', ['sh', '-c', 'exit 3']), ['v3.channel.k8s.io']);
    expect(c.head).toMatch(/X-Stream-Protocol-Version: v3.channel.k8s.io/);
    const err = await c.open('error');
    await c.open('stdout');
    await c.open('stderr');
    await c.goAway;
    expect(c.received(err)).toBe('command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3');
    c.sock.destroy();
  });

  test('attach', async () => {
    const { app } = await addPod('spdyattach', [{ name: 'app', stdin: true }]);
    const c = await spdyConnect('/api/v1/namespaces/default/pods/spdyattach/attach?stdin=true&stdout=true&stderr=true');
    const err = await c.open('error');
    const stdin = await c.open('stdin');
    const out = await c.open('stdout');
    await c.open('stderr');
    await eventually(() => expect(rt.callsOf('attach').some((x) => x.args[0] === app)).toBe(true));
    rt.emitLog(app, 'hello attach');
    c.data(stdin, 'typed');
    await eventually(() => expect(rt.stdinOf(app)).toBe('typed'));
    rt.crash(app, 0);
    await c.goAway;
    expect(c.received(out)).toBe('hello attach\n');
    expect(JSON.parse(c.received(err))).toEqual({ metadata: {}, status: 'Success' });
    c.sock.destroy();
  });

  test('refusals are Status bodies, as for WebSocket', async () => {
    const c = await spdyConnect(execPath('multi', ['ls']));
    expect(c.status).toBe(400);
    await c.closed;
    expect(JSON.parse(c.body)).toMatchObject({ kind: 'Status', message: 'a container name must be specified for pod multi, choose one of: [a b]' });
  });

  test('a client that never opens its streams is dropped after the timeout', async () => {
    const s2 = new PodStreams({ resolver, clock, streamCreationTimeoutMs: 5000 });
    t.apiserver.streams = s2;
    try {
      const c = await spdyConnect(execPath('web', ['ls']));
      await c.open('error');
      await clock.advance(5000);
      await c.closed;
    } finally {
      t.apiserver.streams = streams;
    }
  });

  test('garbage after the upgrade ends that connection only', async () => {
    const c = await spdyConnect(execPath('web', ['ls']));
    c.sock.write(Buffer.from([0x80, 0x03, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff]));
    await c.closed;
    const ok = wsOpen(execPath('web', ['ls']));
    await ok.closed;
    expect(ok.text(1)).toBe('ran ls\n');
  });
});

describe('shutdown', () => {
  test('close() drops live sessions so the API server can stop', async () => {
    const s = wsOpen(execPath('web', ['cat'], 'stdin=true&stdout=true'));
    await s.protocol;
    await eventually(() => expect(streams.activeSessions).toBe(1));
    streams.close();
    await s.closed;
    expect(streams.activeSessions).toBe(0);
    const r = await wsRefused(execPath('web', ['ls']));
    expect(r.status).toBe(503);
  });
});
