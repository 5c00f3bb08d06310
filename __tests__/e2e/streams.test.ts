/**
 * `kubectl logs`, `kubectl exec` and `kubectl attach` end to end: the real kubectl binaries
 * (1.27 … 1.33: SPDY/3.1 for ≤ 1.29, WebSocket v5 for ≥ 1.30) against the real API server,
 * PodStreams and containers on the real Docker engine (DockerRuntime), with a resolver of
 * our own mapping pods to the containers this test runs (no kubelet involved).
 *
 * Uses its own profile, node network, KUBECONFIG and HOME; removes every container and the
 * network it created.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import { resourceFor } from '../../src/api/scheme';
import { ensurePKI, ensureToken } from '../../src/apiserver/certs';
import { Registry } from '../../src/apiserver/registry';
import { ApiServer } from '../../src/apiserver/server';
import { PodStreams } from '../../src/apiserver/streams';
import { containerUnavailableError, selectContainer, type StreamResolver } from '../../src/apiserver/streams/resolver';
import { mergeContext } from '../../src/cli/kubeconfig';
import type { ContainerConfig } from '../../src/kubelet/runtime/container-runtime';
import { DockerRuntime, ensurePauseImage } from '../../src/kubelet/runtime/docker/docker-runtime';
import { bootstrapCluster } from '../../src/manager/bootstrap';
import { ensureNodeNetwork, listProfileNetworks, removeNodeNetwork } from '../../src/network/node-network';
import { SqliteStore } from '../../src/store/sqlite-store';

jest.setTimeout(180_000);

const BUSYBOX = 'minictl/busybox:local';
const SDK = '/usr/lib/google-cloud-sdk/bin';
const KUBECTL: Record<string, string> = {
  '1.27': `${SDK}/kubectl.1.27`,
  '1.28': `${SDK}/kubectl.1.28`,
  '1.29': `${SDK}/kubectl.1.29`,
  '1.30': `${SDK}/kubectl.1.30`,
  '1.31': `${SDK}/kubectl.1.31`,
  '1.32': '/usr/bin/kubectl',
  '1.33': `${SDK}/kubectl.1.33`,
};
const ALL_VERSIONS = Object.keys(KUBECTL);
const PODS = resourceFor('', 'pods')!;

const docker = new Docker();
const profile = `st${Math.random().toString(36).slice(2, 8)}`;
const timings: Record<string, number> = {};

let dir: string;
let env: NodeJS.ProcessEnv;
let store: SqliteStore;
let registry: Registry;
let apiserver: ApiServer;
let streams: PodStreams;
let rt: DockerRuntime;
const current = new Map<string, string>();
const previous = new Map<string, string>();

const resolver: StreamResolver = {
  resolve(ns, pod, container, prev) {
    const p = registry.get(PODS, ns, pod);
    const name = selectContainer(p, container);
    const id = (prev ? previous : current).get(`${ns}/${pod}/${name}`);
    if (!id) throw containerUnavailableError(p, name, prev);
    return { runtime: rt, containerId: id, containerName: name };
  },
};

function ensureBusybox(): void {
  try {
    execFileSync('docker', ['image', 'inspect', BUSYBOX], { stdio: 'ignore' });
  } catch {
    execFileSync('node', [path.join(__dirname, '../../bin/build-images.js'), 'busybox'], { stdio: 'ignore' });
  }
}

/** A /16 pod range whose second octet no existing Docker network uses. */
async function freePodCidr(): Promise<string> {
  const used = new Set<string>();
  for (const n of await docker.listNetworks()) {
    for (const c of n.IPAM?.Config ?? []) {
      const m = /^10\.(\d+)\./.exec(c.Subnet ?? '');
      if (m) used.add(m[1]);
    }
  }
  for (;;) {
    const b = 150 + Math.floor(Math.random() * 90);
    if (!used.has(String(b))) return `10.${b}.0.0/16`;
  }
}

async function waitFor<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface PodContainer {
  name: string;
  args: string[];
  stdin?: boolean;
  tty?: boolean;
}

/** Registers the pod (Running) and runs its containers in one sandbox; returns container ids by name. */
async function runPod(name: string, containers: PodContainer[]): Promise<Record<string, string>> {
  const created = registry.create(PODS, 'default', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { containers: containers.map((c) => ({ name: c.name, image: BUSYBOX, command: ['sh', '-c'], args: c.args, stdin: c.stdin, tty: c.tty })) },
  });
  const sb = await rt.runPodSandbox({ podUid: created.metadata.uid!, podName: name, namespace: 'default' });
  const ids: Record<string, string> = {};
  for (const c of containers) ids[c.name] = await startContainer(sb.id, name, c, 0);
  const pod = structuredClone(registry.get(PODS, 'default', name));
  pod.status = {
    phase: 'Running',
    containerStatuses: containers.map((c) => ({ name: c.name, ready: true, restartCount: 0, image: BUSYBOX, imageID: '', containerID: `docker://${ids[c.name]}`, state: { running: { startedAt: new Date().toISOString() } } })),
  };
  registry.update(PODS, 'default', name, pod, { subresource: 'status' });
  return ids;
}

async function startContainer(sandboxId: string, pod: string, c: PodContainer, restartCount: number): Promise<string> {
  const cfg: ContainerConfig = { name: c.name, image: BUSYBOX, command: ['sh', '-c'], args: c.args, stdin: c.stdin, tty: c.tty, restartCount };
  const id = await rt.createContainer(sandboxId, cfg);
  await rt.startContainer(id);
  current.set(`default/${pod}/${c.name}`, id);
  return id;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command with the test's KUBECONFIG/HOME; `input` is piped to stdin (else stdin is closed). */
function run(cmd: string, args: string[], input?: string, timeoutMs = 60_000, extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: { ...env, ...extraEnv }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`${path.basename(cmd)} ${args.join(' ')} timed out; stdout=${JSON.stringify(stdout)} stderr=${JSON.stringify(stderr)}`));
    }, timeoutMs);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - t0 });
    });
    if (input !== undefined) p.stdin.end(input);
    else p.stdin.end();
  });
}

const kubectl = (version: string, args: string[], input?: string, timeoutMs?: number) => run(KUBECTL[version], args, input, timeoutMs);

beforeAll(async () => {
  ensureBusybox();
  await ensurePauseImage(docker);
  await ensureNodeNetwork({ docker, profile, node: 'n1', index: 1, baseCidr: await freePodCidr() });
  rt = new DockerRuntime({ docker, profile, node: 'n1' });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minictl-e2e-streams-'));
  const pki = ensurePKI(dir);
  const token = ensureToken(dir);
  store = new SqliteStore({ path: ':memory:' });
  registry = new Registry(store);
  bootstrapCluster(registry);
  apiserver = new ApiServer({ registry, pki, token });
  const port = await apiserver.listen();
  streams = new PodStreams({ resolver });
  apiserver.streams = streams;
  const kubeconfig = path.join(dir, 'kubeconfig');
  mergeContext(kubeconfig, profile, `https://127.0.0.1:${port}`, pki.caCertPem, token);
  const home = path.join(dir, 'home');
  fs.mkdirSync(home);
  env = { PATH: process.env.PATH, HOME: home, KUBECONFIG: kubeconfig, TERM: 'xterm' };

  await runPod('web', [{ name: 'app', args: ['for i in 1 2 3 4 5; do echo "line $i"; done; exec sleep 3600'] }]);
  await runPod('errlog', [{ name: 'app', args: ['echo "to stderr" >&2; exec sleep 3600'] }]);
  await runPod('two', [
    { name: 'a', args: ['echo "from a"; exec sleep 3600'] },
    { name: 'b', args: ['echo "from b"; exec sleep 3600'] },
  ]);
  // A restarted container: the first instance exited, the second runs.
  const ids = await runPod('restarted', [{ name: 'app', args: ['echo "previous life"; exit 1'] }]);
  await waitFor(async () => ((await rt.containerStatus(ids.app)).state === 'exited' ? true : undefined), 'first instance to exit');
  previous.set('default/restarted/app', ids.app);
  const sandboxId = (await rt.listContainers({ all: true })).find((c) => c.id === ids.app)!.sandboxId!;
  await startContainer(sandboxId, 'restarted', { name: 'app', args: ['echo "current life"; exec sleep 3600'] }, 1);
  await waitFor(async () => ((await rt.containerStatus(current.get('default/restarted/app')!)).state === 'running' ? true : undefined), 'second instance');
});

afterAll(async () => {
  streams?.close();
  await apiserver?.close();
  store?.close();
  if (rt) for (const c of await rt.listContainers({ all: true })) await rt.removeContainer(c.id);
  for (const n of await listProfileNetworks(docker, profile)) await removeNodeNetwork(docker, profile, n.node);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  // eslint-disable-next-line no-console
  console.log(`streams e2e timings (ms): ${JSON.stringify(timings)}`);
});

describe('kubectl logs', () => {
  test('whole log, --tail, --timestamps, -c, --previous (kubectl 1.32)', async () => {
    const all = await kubectl('1.32', ['logs', 'web']);
    expect(all).toMatchObject({ code: 0, stdout: 'line 1\nline 2\nline 3\nline 4\nline 5\n' });
    expect((await kubectl('1.32', ['logs', 'web', '--tail=2'])).stdout).toBe('line 4\nline 5\n');
    const ts = await kubectl('1.32', ['logs', 'web', '--timestamps', '--tail=1']);
    expect(ts.stdout).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z line 5\n$/);
    expect((await kubectl('1.32', ['logs', 'errlog'])).stdout).toBe('to stderr\n');
    expect((await kubectl('1.32', ['logs', 'web', '--limit-bytes=9'])).stdout).toBe('line 1\nli');
    expect((await kubectl('1.32', ['logs', 'two', '-c', 'b'])).stdout).toBe('from b\n');
    expect((await kubectl('1.32', ['logs', 'restarted', '--previous'])).stdout).toBe('previous life\n');
    expect((await kubectl('1.32', ['logs', 'restarted'])).stdout).toBe('current life\n');
    const noPrev = await kubectl('1.32', ['logs', 'web', '--previous']);
    expect(noPrev.code).toBe(1);
    expect(noPrev.stderr).toContain('previous terminated container "app" in pod "web" not found');
    const bad = await kubectl('1.32', ['logs', 'two', '-c', 'zzz']);
    expect(bad.stderr).toContain('container zzz is not valid for pod two');
  });

  test('logs -f streams until the container exits', async () => {
    await runPod('ticker', [{ name: 'app', args: ['for i in 1 2 3 4 5 6; do echo "tick $i"; sleep 0.3; done'] }]);
    const t0 = Date.now();
    const r = await kubectl('1.32', ['logs', '-f', 'ticker']);
    timings.logsFollow = Date.now() - t0;
    expect(r).toMatchObject({ code: 0, stdout: 'tick 1\ntick 2\ntick 3\ntick 4\ntick 5\ntick 6\n' });
  });

  test.each(['1.27', '1.30', '1.33'])('kubectl %s logs --tail', async (v) => {
    expect(await kubectl(v, ['logs', 'web', '--tail=1'])).toMatchObject({ code: 0, stdout: 'line 5\n' });
  });
});

describe.each(ALL_VERSIONS)('kubectl %s exec', (v) => {
  test('stdout and stderr separated; exit codes propagate', async () => {
    const t0 = Date.now();
    const ok = await kubectl(v, ['exec', 'web', '--', 'sh', '-c', 'echo out; echo err >&2']);
    timings[`exec${v}`] = Date.now() - t0;
    expect(ok).toMatchObject({ code: 0, stdout: 'out\n' });
    expect(ok.stderr).toBe('err\n');
    const three = await kubectl(v, ['exec', 'web', '--', 'sh', '-c', 'exit 3']);
    expect(three.code).toBe(3);
    expect(three.stderr).toContain('command terminated with exit code 3');
  });

  test('-i with stdin piped', async () => {
    const r = await kubectl(v, ['exec', '-i', 'web', '--', 'sh', '-c', 'cat; echo "[eof]"'], 'piped input\nsecond line\n');
    expect(r).toMatchObject({ code: 0, stdout: 'piped input\nsecond line\n[eof]\n' });
  });

  test('-c picks the container; errors are shown', async () => {
    expect((await kubectl(v, ['exec', 'two', '-c', 'b', '--', 'sh', '-c', 'echo $HOSTNAME-ok'])).stdout).toMatch(/-ok\n$/);
    const bad = await kubectl(v, ['exec', 'two', '-c', 'zzz', '--', 'true']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('container zzz is not valid for pod two');
  });
});

test.each(['1.27', '1.32'])('kubectl %s exec: 32 MiB of output arrive intact', async (v) => {
  const r = await run('sh', ['-c', `${KUBECTL[v]} exec web -- head -c 33554432 /dev/zero | wc -c`]);
  timings[`exec32MiB-${v}`] = r.ms;
  expect(r.code).toBe(0);
  expect(r.stdout.trim()).toBe('33554432');
});

test('kubectl 1.29 with KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true uses the WebSocket', async () => {
  const r = await run(KUBECTL['1.29'], ['exec', '-i', 'web', '-v=4', '--', 'sh', '-c', 'cat; exit 4'], 'ws\n', 60_000, { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'true' });
  expect(r.code).toBe(4);
  expect(r.stdout).toBe('ws\n');
  expect(r.stderr).toContain('The subprotocol is v5.channel.k8s.io');
});

describe.each(['1.29', '1.32'])('kubectl %s exec -it (pseudo-terminal through script)', (v) => {
  test('a tty of the terminal size', async () => {
    // The engine applies the size just after the process starts: give it a moment. stdin stays
    // open (a pipe from sleep) so that script does not type an EOF into the terminal.
    const cmd = `stty cols 91 rows 37; ${KUBECTL[v]} exec -it web -- sh -c 'tty; sleep 1; stty size'`;
    const r = await run('sh', ['-c', `sleep 3 | script -qec "${cmd}" /dev/null`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\/dev\/pts\/\d+/);
    expect(r.stdout).toContain('37 91');
  });
});

describe('kubectl attach', () => {
  test.each(['1.28', '1.32'])('kubectl %s attach follows the output until the container exits', async (v) => {
    const name = `attach-out-${v.replace('.', '')}`;
    // Waits (up to 60 s) for a marker file that the test creates once kubectl is attached.
    await runPod(name, [{ name: 'app', args: ['i=0; while [ ! -e /tmp/go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; echo "hello from attach"; echo "bye" >&2'] }]);
    const id = current.get(`default/${name}/app`)!;
    const p = kubectl(v, ['attach', name]);
    await waitFor(async () => (streams.activeSessions > 0 ? true : undefined), 'the attach session');
    await rt.exec(id, ['touch', '/tmp/go']).then((s) => s.exitCode);
    const r = await p;
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('hello from attach\n');
    expect(r.stderr).toContain('bye\n');
  });

  test.each(['1.29', '1.33'])('kubectl %s attach -i sends stdin to the main process', async (v) => {
    const name = `attach-in-${v.replace('.', '')}`;
    await runPod(name, [{ name: 'app', stdin: true, args: ['read line; echo "got: $line"'] }]);
    const r = await kubectl(v, ['attach', '-i', name], 'hello\n');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('got: hello\n');
  });

  test('kubectl attach -it to a shell with a tty', async () => {
    await runPod('attach-tty', [{ name: 'app', stdin: true, tty: true, args: ['exec sh'] }]);
    // script feeds the keystrokes into the pty kubectl reads; the shell exits on `exit`.
    const cmd = `${KUBECTL['1.32']} attach -it attach-tty`;
    const r = await run('sh', ['-c', `(sleep 2; printf 'echo marker-$((40+2))\\n'; sleep 1; printf 'exit\\n'; sleep 5) | script -qec "${cmd}" /dev/null`]);
    expect(r.stdout).toContain('marker-42');
  });
});

describe('refusals reach kubectl as errors', () => {
  test.each(['1.27', '1.32'])('kubectl %s exec into a pod without a running container', async (v) => {
    const ids = await runPod(`dead-${v.replace('.', '')}`, [{ name: 'app', args: ['exit 0'] }]);
    await waitFor(async () => ((await rt.containerStatus(ids.app)).state === 'exited' ? true : undefined), 'container exit');
    const r = await kubectl(v, ['exec', `dead-${v.replace('.', '')}`, '--', 'true']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('container not found ("app")');
  });
});
