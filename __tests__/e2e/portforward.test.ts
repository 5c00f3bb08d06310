/**
 * `kubectl port-forward` against the real daemon (`bin/minictl start`: API server, scheduler,
 * controllers, Docker-driven kubelet) with busybox httpd pods: kubectl 1.27 and 1.30 speak
 * SPDY/3.1, 1.31+ tunnel SPDY in a WebSocket. The pod/, svc/ (named targetPort) and deploy/
 * forms, a 32 MiB download through the forward (throughput printed), the connection-refused
 * report, and @kubernetes/client-node's PortForward (WebSocket channels). Private MINICTL_HOME,
 * KUBECONFIG and profile; `minictl delete` removes the containers and networks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import { ROOT, eventually, kubectlBinary, kubectlOk, minictl, newEnv, type E2EEnv } from '../helpers/e2e';

jest.setTimeout(300_000);

const IMAGE = 'minictl/busybox:local';
const BIG_BYTES = 32 << 20;
const throughput: Record<string, string> = {};

let e: E2EEnv;

/** httpd on 8080 serving /index.html ("hello from <pod>") and /big (32 MiB). */
function httpdScript(): string {
  return `mkdir -p /www && echo "hello from $(hostname)" > /www/index.html && head -c ${BIG_BYTES} /dev/zero > /www/big && exec httpd -f -p 8080 -h /www`;
}

const MANIFEST = {
  apiVersion: 'v1',
  kind: 'List',
  items: [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'webd' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'webd' } },
        template: {
          metadata: { labels: { app: 'webd' } },
          spec: { containers: [{ name: 'httpd', image: IMAGE, imagePullPolicy: 'Never', command: ['sh', '-c', httpdScript()], ports: [{ name: 'http', containerPort: 8080 }] }] },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'webd' },
      spec: { selector: { app: 'webd' }, ports: [{ name: 'web', port: 80, targetPort: 'http' }] },
    },
  ],
};

beforeAll(() => {
  e = newEnv('portfwd');
  const r = minictl(e, ['start']);
  if (r.status !== 0) throw new Error(`minictl start failed: ${r.stderr}${r.stdout}`);
  kubectlOk(e, ['run', 'web', `--image=${IMAGE}`, '--image-pull-policy=Never', '--port=8080', '--', 'sh', '-c', httpdScript()]);
  kubectlOk(e, ['apply', '-f', '-'], { input: JSON.stringify(MANIFEST) });
  kubectlOk(e, ['wait', '--for=condition=Ready', 'pod/web', '--timeout=120s'], { timeoutMs: 130_000 });
  kubectlOk(e, ['rollout', 'status', 'deployment/webd', '--timeout=120s'], { timeoutMs: 130_000 });
});

afterAll(() => {
  e?.cleanup();
  // eslint-disable-next-line no-console
  console.log(`port-forward e2e throughput (32 MiB through kubectl port-forward): ${JSON.stringify(throughput)}`);
});

interface Forward {
  localPort: Promise<number>;
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts `kubectl port-forward <what> :<remote>`; learns the local port from its output. */
function portForward(version: string | undefined, what: string, remote: string | number): Forward {
  const proc: ChildProcess = spawn(kubectlBinary(version), ['port-forward', what, `:${remote}`], { env: e.env });
  let out = '';
  let resolvePort!: (n: number) => void;
  let rejectPort!: (err: Error) => void;
  const localPort = new Promise<number>((res, rej) => {
    resolvePort = res;
    rejectPort = rej;
  });
  localPort.catch(() => undefined);
  const onOut = (d: Buffer): void => {
    out += d;
    const m = /Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(out);
    if (m) resolvePort(Number(m[1]));
  };
  proc.stdout!.on('data', onOut);
  proc.stderr!.on('data', onOut);
  const exited = new Promise<void>((res) =>
    proc.on('exit', (code) => {
      rejectPort(new Error(`kubectl port-forward exited ${code}: ${out}`));
      res();
    }),
  );
  return {
    localPort,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
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

describe.each(['1.27', '1.30', '1.31', '1.32', '1.33'])('kubectl %s port-forward', (version) => {
  test('pod/: a page, 5 parallel requests and a 32 MiB download', async () => {
    const f = portForward(version, 'pod/web', 8080);
    try {
      const port = await f.localPort;
      expect((await get(port, '/')).body.toString()).toBe('hello from web\n');
      const many = await Promise.all(Array.from({ length: 5 }, () => get(port, '/index.html')));
      expect(many.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      const t0 = process.hrtime.bigint();
      const big = await get(port, '/big');
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      expect(big.status).toBe(200);
      expect(big.body.length).toBe(BIG_BYTES);
      expect(big.body.every((b) => b === 0)).toBe(true);
      throughput[version] = `${(32 / secs).toFixed(0)} MB/s`;
    } finally {
      await f.stop();
    }
  });
});

describe('kubectl port-forward to a Service and a Deployment', () => {
  test.each(['1.27', '1.33'])('kubectl %s: svc/ with a named targetPort, and deploy/', async (version) => {
    const svc = portForward(version, 'svc/webd', 80);
    try {
      const port = await svc.localPort;
      expect(svc.output()).toContain('-> 8080');
      expect((await get(port, '/')).body.toString()).toMatch(/^hello from webd-[a-z0-9]+-[a-z0-9]+\n$/);
    } finally {
      await svc.stop();
    }
    const deploy = portForward(version, 'deploy/webd', 8080);
    try {
      const port = await deploy.localPort;
      expect((await get(port, '/')).body.toString()).toMatch(/^hello from webd-/);
    } finally {
      await deploy.stop();
    }
  });
});

describe('kubectl port-forward to a port nothing listens on', () => {
  test.each(['1.27', '1.33'])('kubectl %s prints the error; the daemon keeps serving', async (version) => {
    const f = portForward(version, 'pod/web', 8081);
    try {
      const port = await f.localPort;
      await new Promise<void>((resolve) => {
        const c = net.connect(port, '127.0.0.1');
        c.on('close', () => resolve());
        c.on('error', () => undefined);
      });
      await eventually(() => expect(f.output()).toMatch(/error forwarding port 8081 to pod [0-9a-f-]{36}, uid : dial tcp4 10\.[0-9.]+:8081: connect: connection refused/), 30_000, 100);
    } finally {
      await f.stop();
    }
    const ok = portForward(version, 'pod/web', 8080);
    try {
      expect((await get(await ok.localPort, '/')).body.toString()).toBe('hello from web\n');
    } finally {
      await ok.stop();
    }
  });
});

describe('@kubernetes/client-node PortForward (WebSocket channels)', () => {
  test('an HTTP request through portForward()', async () => {
    // client-node is an ES module: run it in a child process, as a library user would.
    const script = `
      import * as k8s from '@kubernetes/client-node';
      import * as net from 'node:net';
      const kc = new k8s.KubeConfig();
      kc.loadFromDefault();
      const forward = new k8s.PortForward(kc);
      const server = net.createServer((socket) => {
        forward.portForward('default', 'web', [8080], socket, null, socket).catch((e) => console.error('portForward failed', e));
      });
      server.listen(0, '127.0.0.1', () => console.log('LISTENING ' + server.address().port));
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: e.env, cwd: ROOT });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    try {
      const port = await eventually(() => {
        const m = /LISTENING (\d+)/.exec(out);
        if (!m) throw new Error(`client-node not listening yet: ${out}`);
        return Number(m[1]);
      }, 30_000, 50);
      const res = await get(port, '/');
      expect(res.body.toString()).toBe('hello from web\n');
    } finally {
      child.kill('SIGTERM');
    }
  });
});
