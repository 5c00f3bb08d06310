/**
 * `kubectl port-forward` (the real binaries) against the in-process API server: kubectl
 * 1.27–1.30 speak SPDY/3.1, 1.31+ tunnel SPDY in a WebSocket. The pods are API objects only:
 * their status says podIP 127.0.0.1, where this test listens with plain TCP/HTTP servers, so
 * no container runtime is involved. Covers pod/, svc/ (named targetPort) and deploy/ forms,
 * concurrent connections and the connection-refused report.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { resourceFor } from '../../src/api/scheme';
import { ensurePKI, ensureToken } from '../../src/apiserver/certs';
import { Registry } from '../../src/apiserver/registry';
import { ApiServer } from '../../src/apiserver/server';
import { PodStreams, type StreamResolver } from '../../src/apiserver/streams';
import { registryPodTarget } from '../../src/apiserver/streams/portforward-target';
import { bootstrapCluster } from '../../src/manager/bootstrap';
import { SqliteStore } from '../../src/store/sqlite-store';
import { BadRequestError } from '../../src/util/errors';
import { Logger } from '../../src/util/log';

jest.setTimeout(120_000);

const KUBECTL_DIR = '/usr/lib/google-cloud-sdk/bin';
const PODS = resourceFor('', 'pods')!;
const SERVICES = resourceFor('', 'services')!;
const DEPLOYMENTS = resourceFor('apps', 'deployments')!;

let store: SqliteStore;
let apiserver: ApiServer;
let streams: PodStreams;
let dir: string;
let kubeconfig: string;
let httpServer: http.Server;
let httpPort: number;
let refusedPort: number;
let podUid: string;
const BIG = Buffer.alloc(32 << 20, 'abcdefghijklmnopqrstuvwxyz0123456789');
const throughput: Record<string, string> = {};
/** `transport` of every port-forward session the server started, in order. */
const transports: string[] = [];

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

const noResolver: StreamResolver = {
  resolve() {
    throw new BadRequestError('no kubelet in this test');
  },
};

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minictl-pf-kubectl-'));
  const pki = ensurePKI(dir);
  const token = ensureToken(dir);
  store = new SqliteStore({ path: ':memory:' });
  const registry = new Registry(store);
  bootstrapCluster(registry);
  apiserver = new ApiServer({ registry, pki, token });
  const port = await apiserver.listen();
  const log = new Logger((line) => {
    const m = /port-forward session started .*transport="([^"]+)"/.exec(line);
    if (m) transports.push(m[1]);
  }, 2);
  streams = new PodStreams({ resolver: noResolver, log, portForward: { pods: registryPodTarget(registry) } });
  apiserver.streams = streams;
  kubeconfig = path.join(dir, 'kubeconfig');
  fs.writeFileSync(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster:\n    server: https://127.0.0.1:${port}\n    certificate-authority-data: ${Buffer.from(pki.caCertPem).toString('base64')}\nusers:\n- name: t\n  user:\n    token: ${token}\ncontexts:\n- name: t\n  context:\n    cluster: t\n    user: t\ncurrent-context: t\n`,
  );

  httpServer = http.createServer((req, res) => {
    if (req.url === '/big') {
      res.writeHead(200, { 'Content-Length': BIG.length });
      res.end(BIG);
      return;
    }
    res.end(`hello from ${req.url}\n`);
  });
  httpPort = await listen(httpServer);
  refusedPort = await closedPort();

  const labels = { app: 'web' };
  registry.create(DEPLOYMENTS, 'default', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'app:1', ports: [{ name: 'http', containerPort: httpPort }] }] } } },
  });
  const pod = registry.create(PODS, 'default', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', labels },
    spec: { nodeName: 'node-1', containers: [{ name: 'app', image: 'app:1', ports: [{ name: 'http', containerPort: httpPort }] }] },
  });
  podUid = pod.metadata.uid!;
  registry.update(PODS, 'default', 'web-1', { ...pod, status: { phase: 'Running', podIP: '127.0.0.1', podIPs: [{ ip: '127.0.0.1' }] } }, { subresource: 'status' });
  registry.create(SERVICES, 'default', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { selector: labels, ports: [{ name: 'web', port: 80, targetPort: 'http' }] },
  });
});

afterAll(async () => {
  await apiserver?.close();
  store?.close();
  await new Promise((r) => httpServer?.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
  // eslint-disable-next-line no-console
  console.log(`port-forward throughput through the in-process API server (32 MiB over HTTP): ${JSON.stringify(throughput)}`);
});

interface Forward {
  proc: ChildProcess;
  localPort: Promise<number>;
  output: () => string;
  exited: Promise<number | null>;
  stop: () => Promise<void>;
}

/** Starts `kubectl port-forward <what> :<remote>` and learns the local port it printed. */
function portForward(version: string, what: string, remote: string | number, extra: string[] = []): Forward {
  const bin = path.join(KUBECTL_DIR, `kubectl.${version}`);
  const proc = spawn(bin, ['port-forward', what, `:${remote}`, ...extra], { env: { ...process.env, KUBECONFIG: kubeconfig, HOME: dir } });
  let out = '';
  let resolvePort!: (n: number) => void;
  let rejectPort!: (e: Error) => void;
  const localPort = new Promise<number>((res, rej) => {
    resolvePort = res;
    rejectPort = rej;
  });
  const onOut = (d: Buffer): void => {
    out += d;
    const m = /Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(out);
    if (m) resolvePort(Number(m[1]));
  };
  proc.stdout!.on('data', onOut);
  proc.stderr!.on('data', onOut);
  const exited = new Promise<number | null>((res) =>
    proc.on('exit', (code) => {
      rejectPort(new Error(`kubectl port-forward exited ${code}: ${out}`));
      res(code);
    }),
  );
  localPort.catch(() => undefined);
  return {
    proc,
    localPort,
    output: () => out,
    exited,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

function get(port: number, urlPath: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

async function eventually(fn: () => void, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  for (;;) {
    try {
      return fn();
    } catch (e) {
      if (Date.now() - start > timeoutMs) throw e;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each([
  ['1.27', 'spdy'],
  ['1.28', 'spdy'],
  ['1.29', 'spdy'],
  ['1.30', 'spdy'],
  ['1.31', 'spdy-in-websocket'],
  ['1.32', 'spdy-in-websocket'],
  ['1.33', 'spdy-in-websocket'],
])('kubectl %s port-forward', (version, transport) => {
  test(`pod/ over ${transport}: requests, concurrent connections, a 32 MiB download`, async () => {
    const f = portForward(version, 'pod/web-1', httpPort);
    try {
      const port = await f.localPort;
      await eventually(() => expect(transports[transports.length - 1]).toBe(transport));
      const one = await get(port, '/one');
      expect(one).toEqual({ status: 200, body: Buffer.from('hello from /one\n') });
      const many = await Promise.all(Array.from({ length: 10 }, (_, i) => get(port, `/n${i}`)));
      expect(many.map((r) => r.body.toString())).toEqual(Array.from({ length: 10 }, (_, i) => `hello from /n${i}\n`));
      const t0 = process.hrtime.bigint();
      const big = await get(port, '/big');
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      expect(big.body.length).toBe(BIG.length);
      expect(big.body.equals(BIG)).toBe(true);
      throughput[version] = `${(32 / secs).toFixed(0)} MB/s`;
      expect(f.output()).toContain('Handling connection for');
    } finally {
      await f.stop();
    }
  });
});

describe('kubectl port-forward to a Service and a Deployment', () => {
  test.each(['1.27', '1.33'])('kubectl %s svc/ (named targetPort) and deploy/', async (version) => {
    const svc = portForward(version, 'svc/web', 80);
    try {
      const port = await svc.localPort;
      expect(svc.output()).toContain(`-> ${httpPort}`);
      expect((await get(port, '/via-svc')).body.toString()).toBe('hello from /via-svc\n');
    } finally {
      await svc.stop();
    }
    const deploy = portForward(version, 'deploy/web', httpPort);
    try {
      const port = await deploy.localPort;
      expect((await get(port, '/via-deploy')).body.toString()).toBe('hello from /via-deploy\n');
    } finally {
      await deploy.stop();
    }
    await eventually(() => expect(streams.activePortForwards).toBe(0));
  });
});

describe('kubectl port-forward to a port nothing listens on', () => {
  test.each(['1.27', '1.33'])('kubectl %s prints the error from the error stream', async (version) => {
    const f = portForward(version, 'pod/web-1', refusedPort);
    try {
      const port = await f.localPort;
      // The local connection is accepted, then closed without data once the forward failed.
      const got = await new Promise<string>((resolve) => {
        const c = net.connect(port, '127.0.0.1');
        let data = '';
        c.on('data', (d) => (data += d));
        c.on('close', () => resolve(data));
        c.on('error', () => undefined);
      });
      expect(got).toBe('');
      const expected = `error forwarding port ${refusedPort} to pod ${podUid}, uid : dial tcp4 127.0.0.1:${refusedPort}: connect: connection refused`;
      const deadline = Date.now() + 30_000;
      while (!f.output().includes(expected) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(f.output()).toContain(expected);
    } finally {
      await f.stop();
    }
  });
});

/**
 * 16 workers, each sending requests one after another for `ms` through the forward, half of
 * them over keep-alive connections, half with a new connection per request.
 */
async function hammer(port: number, ms: number): Promise<{ ok: number; errors: string[] }> {
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const deadline = Date.now() + ms;
  let ok = 0;
  const errors: string[] = [];
  const one = (agent: http.Agent | false, i: number): Promise<void> =>
    new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: `/w${i}`, agent, timeout: 10_000 }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => {
          if (body === `hello from /w${i}\n`) ok++;
          else errors.push(`bad body ${JSON.stringify(body)}`);
          resolve();
        });
        res.on('error', (e) => {
          errors.push(e.message);
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => {
        errors.push(e.message);
        resolve();
      });
    });
  await Promise.all(
    Array.from({ length: 16 }, async (_, w) => {
      while (Date.now() < deadline) await one(w % 2 === 0 ? keepAlive : false, w);
    }),
  );
  keepAlive.destroy();
  return { ok, errors };
}

describe('kubectl port-forward under 16 concurrent connections', () => {
  test.each(['1.30', '1.32'])('kubectl %s serves every request', async (version) => {
    const f = portForward(version, 'pod/web-1', httpPort);
    try {
      const port = await f.localPort;
      const { ok, errors } = await hammer(port, 3000);
      // eslint-disable-next-line no-console
      console.log(`kubectl ${version}: ${ok} requests in 3 s (${(ok / 3).toFixed(0)} req/s), ${errors.length} errors ${errors.slice(0, 3).join('; ')}`);
      expect(errors).toEqual([]);
      expect(ok).toBeGreaterThan(100);
      expect(f.proc.exitCode).toBeNull();
      expect(f.output()).not.toMatch(/error|lost connection/i);
    } finally {
      await f.stop();
    }
  });
});
