/**
 * `kubectl logs / exec / attach` against the real daemon (`bin/minictl start`: API server,
 * scheduler, controllers, node manager and a Docker-driven kubelet) with the real kubectl
 * binaries: SPDY/3.1 for kubectl 1.27–1.29, WebSocket v5 for 1.30+. Pods are created with
 * `kubectl run`, so the whole path (scheduling, kubelet, container lookup through the kubelet)
 * is exercised. Private MINICTL_HOME, KUBECONFIG and profile; `minictl delete` cleans up.
 */
import { spawn } from 'node:child_process';
import { ROOT, eventually, kubectl, kubectlBinary, kubectlOk, minictl, newEnv, type E2EEnv } from '../helpers/e2e';

jest.setTimeout(300_000);

const IMAGE = 'minictl/busybox:local';
const VERSIONS = ['1.27', '1.28', '1.29', '1.30', '1.31', '1.32', '1.33'];
const timings: Record<string, number> = {};

let e: E2EEnv;

function waitReady(pod: string): void {
  kubectlOk(e, ['wait', '--for=condition=Ready', `pod/${pod}`, '--timeout=120s'], { timeoutMs: 130_000 });
}

/** Async kubectl (spawnSync would block the event loop while a test acts on the pod). */
function kubectlAsync(version: string | undefined, args: string[], input?: string, timeoutMs = 60_000, onStdout?: (all: string) => void): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(kubectlBinary(version), args, { env: e.env });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => {
      stdout += d;
      onStdout?.(stdout);
    });
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`kubectl ${args.join(' ')} timed out: ${stdout}${stderr}`));
    }, timeoutMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    p.stdin.end(input ?? '');
  });
}

beforeAll(() => {
  e = newEnv('streams');
  const r = minictl(e, ['start']);
  if (r.status !== 0) throw new Error(`minictl start failed: ${r.stderr}${r.stdout}`);
  kubectlOk(e, ['run', 'web', `--image=${IMAGE}`, '--image-pull-policy=Never', '--', 'sh', '-c', 'for i in 1 2 3; do echo "line $i"; done; exec sleep 3600']);
  kubectlOk(e, ['run', 'crash', `--image=${IMAGE}`, '--image-pull-policy=Never', '--', 'sh', '-c', 'echo "life $RANDOM"; sleep 2; exit 1']);
  waitReady('web');
});

afterAll(() => {
  e?.cleanup();
  // eslint-disable-next-line no-console
  console.log(`streams daemon e2e timings (ms): ${JSON.stringify(timings)}`);
});

describe('kubectl logs through the kubelet', () => {
  test('whole log, --tail, --timestamps', () => {
    expect(kubectlOk(e, ['logs', 'web'])).toBe('line 1\nline 2\nline 3\n');
    expect(kubectlOk(e, ['logs', 'web', '--tail=1'])).toBe('line 3\n');
    expect(kubectlOk(e, ['logs', 'web', '--timestamps', '--tail=1'])).toMatch(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z line 3\n$/);
  });

  test('--previous after a restart', async () => {
    await eventually(() => {
      const rc = kubectlOk(e, ['get', 'pod', 'crash', '-o', 'jsonpath={.status.containerStatuses[0].restartCount}']);
      expect(Number(rc)).toBeGreaterThanOrEqual(1);
    }, 120_000, 500);
    const prev = kubectlOk(e, ['logs', 'crash', '--previous']);
    expect(prev).toMatch(/^life \d+\n$/);
    const bad = kubectl(e, ['logs', 'web', '--previous']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('previous terminated container "web" in pod "web" not found');
  });

  test('logs -f follows until the container exits', async () => {
    kubectlOk(e, ['run', 'ticker', `--image=${IMAGE}`, '--image-pull-policy=Never', '--restart=Never', '--', 'sh', '-c', 'sleep 2; for i in 1 2 3 4; do echo "tick $i"; sleep 0.5; done']);
    waitReady('ticker');
    const t0 = Date.now();
    const r = await kubectlAsync(undefined, ['logs', '-f', 'ticker'], undefined, 120_000);
    timings.logsFollow = Date.now() - t0;
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('tick 1\ntick 2\ntick 3\ntick 4\n');
  });
});

describe.each(VERSIONS)('kubectl %s exec through the kubelet', (v) => {
  test('exit code, stdout/stderr, stdin', () => {
    const t0 = Date.now();
    const ok = kubectl(e, ['exec', 'web', '--', 'sh', '-c', 'echo out; echo err >&2'], { version: v });
    timings[`exec${v}`] = Date.now() - t0;
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe('out\n');
    expect(ok.stderr).toBe('err\n');
    const three = kubectl(e, ['exec', 'web', '--', 'sh', '-c', 'exit 3'], { version: v });
    expect(three.status).toBe(3);
    const piped = kubectl(e, ['exec', '-i', 'web', '--', 'sh', '-c', 'cat; echo "[eof]"'], { version: v, input: 'a\nb\n' });
    expect(piped.stdout).toBe('a\nb\n[eof]\n');
  });
});

describe('kubectl attach and run -i through the kubelet', () => {
  test.each(['1.28', '1.32'])('kubectl %s run -i --rm (attach with stdinOnce)', async (v) => {
    const name = `talk-${v.replace('.', '')}`;
    const r = await kubectlAsync(v, ['run', name, '-i', '--rm', '--restart=Never', `--image=${IMAGE}`, '--image-pull-policy=Never', '--', 'sh', '-c', 'read line; echo "got: $line"'], 'hello\n', 180_000);
    expect(r.stdout).toContain('got: hello');
    expect(r.code).toBe(0);
  });

  test('kubectl attach shows output until the container exits', async () => {
    // Ticks until told to stop: a tick seen by kubectl proves it is attached.
    kubectlOk(e, ['run', 'waiter', `--image=${IMAGE}`, '--image-pull-policy=Never', '--restart=Never', '--', 'sh', '-c', 'i=0; while [ ! -e /tmp/go ] && [ $i -lt 600 ]; do echo tick; sleep 0.2; i=$((i+1)); done; echo "attached output"']);
    waitReady('waiter');
    let attached!: () => void;
    const sawTick = new Promise<void>((r) => (attached = r));
    const p = kubectlAsync('1.32', ['attach', 'waiter'], undefined, 180_000, (out) => out.includes('tick') && attached());
    await sawTick;
    kubectlOk(e, ['exec', 'waiter', '--', 'touch', '/tmp/go']);
    const r = await p;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('attached output');
  });
});

describe('@kubernetes/client-node Exec (WebSocket, v5/v4 channel protocols)', () => {
  test('exit status and output', async () => {
    // client-node is an ES module: run it in a child process, as the library user would.
    const script = `
      import * as k8s from '@kubernetes/client-node';
      import { PassThrough } from 'node:stream';
      const kc = new k8s.KubeConfig();
      kc.loadFromDefault();
      const out = new PassThrough();
      let text = '';
      out.on('data', (d) => (text += d));
      const status = await new Promise((resolve, reject) => {
        new k8s.Exec(kc).exec('default', 'web', 'web', ['sh', '-c', 'echo from-client-node; exit 2'], out, null, null, false, resolve).catch(reject);
      });
      console.log(JSON.stringify({ text, status }));
    `;
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn(process.execPath, ['--input-type=module', '-e', script], { env: e.env, cwd: ROOT });
      let o = '';
      p.stdout.on('data', (d: Buffer) => (o += d));
      p.stderr.on('data', (d: Buffer) => (o += d));
      p.on('exit', (code) => (code === 0 ? resolve(o) : reject(new Error(`client-node exec exited ${code}: ${o}`))));
    });
    const r = JSON.parse(out.trim().split('\n').pop()!);
    expect(r.text).toBe('from-client-node\n');
    expect(r.status).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '2' }] } });
  });
});
