/**
 * The kubelet on real Docker: an in-process cluster (store + apiserver) and a Kubelet for
 * node "node-1" driving a DockerRuntime on its own node network. Pods are bound by the test
 * through spec.nodeName. Uses `minictl/busybox:local` (built when missing) and a unique
 * profile and pod range; everything it creates is removed afterwards.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import { startTestCluster, eventually } from '../helpers/cluster';
import { Kubelet } from '../../src/kubelet/kubelet';
import { DockerRuntime } from '../../src/kubelet/runtime/docker/docker-runtime';
import { ensureNodeNetwork, removeNodeNetwork } from '../../src/network/node-network';
import { RegistryEventRecorder } from '../../src/client/events';
import { resourceFor } from '../../src/api/scheme';
import { silentLogger } from '../../src/util/log';
import type { KObject } from '../../src/api/types';

jest.setTimeout(180_000);

const BUSYBOX = 'minictl/busybox:local';
const docker = new Docker();
const profile = `e2e-pods-${Math.random().toString(36).slice(2, 8)}`;
const podsRI = resourceFor('', 'pods')!;
const cmRI = resourceFor('', 'configmaps')!;
const secretsRI = resourceFor('', 'secrets')!;
const eventsRI = resourceFor('', 'events')!;
const timings: Record<string, number> = {};

type Started = Awaited<ReturnType<typeof startTestCluster>>;
let t: Started;
let rt: DockerRuntime;
let kubelet: Kubelet;
let ctl: AbortController;
let dataDir: string;

function ensureBusybox(): void {
  try {
    execFileSync('docker', ['image', 'inspect', BUSYBOX], { stdio: 'ignore' });
  } catch {
    execFileSync('node', [path.join(__dirname, '..', '..', 'bin', 'build-images.js'), 'busybox'], { stdio: 'inherit' });
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

function readAll(s: Readable, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`stream not ended; got ${JSON.stringify(out)}`)), timeoutMs);
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('end', () => {
      clearTimeout(timer);
      resolve(out);
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

function createPod(name: string, spec: Record<string, unknown>): KObject {
  return t.cluster.registry.create(podsRI, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { nodeName: 'node-1', terminationGracePeriodSeconds: 5, ...spec } });
}

function pod(name: string): KObject | undefined {
  return t.cluster.registry.tryGet(podsRI, 'default', name);
}

function cstatus(name: string, container: string): any {
  const p = pod(name);
  return [...(p?.status?.containerStatuses ?? []), ...(p?.status?.initContainerStatuses ?? [])].find((s: any) => s.name === container);
}

function condition(name: string, type: string): any {
  return (pod(name)?.status?.conditions ?? []).find((c: any) => c.type === type);
}

async function waitRunning(name: string, timeoutMs = 60_000): Promise<KObject> {
  return eventually(() => {
    const p = pod(name)!;
    expect(p.status.phase).toBe('Running');
    return p;
  }, timeoutMs, 100);
}

/** Run a command in a pod's container through the runtime; resolves with stdout. */
async function exec(podName: string, container: string, cmd: string[]): Promise<{ code: number; out: string }> {
  const c = kubelet.containerFor('default', podName, container);
  if (!c) throw new Error(`no container ${container} for pod ${podName}`);
  const s = await rt.exec(c.containerId, cmd);
  const [out, , code] = await Promise.all([readAll(s.stdout), readAll(s.stderr), s.exitCode]);
  return { code, out };
}

async function logs(podName: string, container: string): Promise<string> {
  const c = kubelet.containerFor('default', podName, container);
  if (!c) throw new Error(`no container ${container} for pod ${podName}`);
  return readAll(await rt.logs(c.containerId));
}

beforeAll(async () => {
  ensureBusybox();
  const podCidr = await freePodCidr();
  await ensureNodeNetwork({ docker, profile, node: 'node-1', index: 1, baseCidr: podCidr });
  rt = new DockerRuntime({ docker, profile, node: 'node-1' });
  t = await startTestCluster({ profile });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'minictl-e2e-pods-'));
  ctl = new AbortController();
  kubelet = new Kubelet({
    nodeName: 'node-1',
    profile,
    registry: t.cluster.registry,
    informers: t.cluster.informers,
    runtime: rt,
    recorder: new RegistryEventRecorder(t.cluster.registry, 'kubelet', 'node-1'),
    log: silentLogger,
    dataDir,
    dns: { servers: ['10.96.0.10'] },
  });
  await kubelet.start(ctl.signal);
});

afterAll(async () => {
  ctl?.abort();
  await kubelet?.stopped();
  for (const c of (await rt?.listContainers({ all: true })) ?? []) await rt.removeContainer(c.id);
  await removeNodeNetwork(docker, profile, 'node-1');
  await t?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  // eslint-disable-next-line no-console
  console.log(`pods e2e timings (ms): ${JSON.stringify(timings)}`);
});

test('a busybox pod running httpd: Ready via an httpGet probe, reachable on its pod IP and hostPort', async () => {
  const hostPort = 20000 + Math.floor(Math.random() * 20000);
  const t0 = Date.now();
  createPod('web', {
    containers: [
      {
        name: 'httpd',
        image: BUSYBOX,
        command: ['sh', '-c', 'mkdir -p /www && echo hello from $(POD_NAME) > /www/index.html && exec httpd -f -p 8080 -h /www'],
        env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
        ports: [{ containerPort: 8080, hostPort }],
        readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
      },
    ],
  });
  const p = await waitRunning('web');
  await eventually(() => expect(condition('web', 'Ready').status).toBe('True'), 30_000, 100);
  timings.podReady = Date.now() - t0;
  expect(p.status.podIP).toMatch(/^10\.\d+\.1\.\d+$/);
  expect(cstatus('web', 'httpd').containerID).toMatch(/^docker:\/\/[0-9a-f]{64}$/);
  expect(cstatus('web', 'httpd').imageID).toMatch(/^sha256:/);
  expect((await httpGet(`http://${p.status.podIP}:8080/`)).body).toBe('hello from web\n');
  expect((await httpGet(`http://127.0.0.1:${hostPort}/`)).body).toBe('hello from web\n');
  const resolv = await exec('web', 'httpd', ['cat', '/etc/resolv.conf']);
  expect(resolv.out).toMatch(/default\.svc\.cluster\.local svc\.cluster\.local cluster\.local/);
  const hosts = await exec('web', 'httpd', ['cat', '/etc/hosts']);
  expect(hosts.out).toContain(`${p.status.podIP}\tweb`);
  expect((await exec('web', 'httpd', ['hostname'])).out.trim()).toBe('web');
});

test('env from a configMap and a secret; configMap volume content updated in place', async () => {
  t.cluster.registry.create(cmRI, 'default', { metadata: { name: 'app-config' }, data: { COLOR: 'blue', 'app.conf': 'level=1\n' } });
  t.cluster.registry.create(secretsRI, 'default', { metadata: { name: 'app-secret' }, stringData: { password: 's3cret' } });
  createPod('conf', {
    containers: [
      {
        name: 'app',
        image: BUSYBOX,
        command: ['sh', '-c', 'echo "color=$COLOR pass=$PASSWORD cfg=$CFG_COLOR"; exec sleep 3600'],
        env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'app-secret', key: 'password' } } }],
        envFrom: [{ configMapRef: { name: 'app-config' } }, { prefix: 'CFG_', configMapRef: { name: 'app-config' } }],
        volumeMounts: [{ name: 'cfg', mountPath: '/etc/app' }],
      },
    ],
    volumes: [{ name: 'cfg', configMap: { name: 'app-config', items: [{ key: 'app.conf', path: 'app.conf' }] } }],
  });
  await waitRunning('conf');
  await eventually(async () => expect(await logs('conf', 'app')).toContain('color=blue pass=s3cret cfg=blue'), 20_000, 200);
  expect((await exec('conf', 'app', ['cat', '/etc/app/app.conf'])).out).toBe('level=1\n');
  const t0 = Date.now();
  t.cluster.registry.guaranteedUpdate(cmRI, 'default', 'app-config', (o) => ({ ...o, data: { ...o.data, 'app.conf': 'level=2\n' } }));
  await eventually(async () => expect((await exec('conf', 'app', ['cat', '/etc/app/app.conf'])).out).toBe('level=2\n'), 20_000, 100);
  timings.configMapUpdateVisible = Date.now() - t0;
  expect(cstatus('conf', 'app').restartCount).toBe(0);
  // Writing into a configMap volume fails: it is read-only.
  expect((await exec('conf', 'app', ['sh', '-c', 'echo x > /etc/app/new'])).code).not.toBe(0);
});

test('an emptyDir shared between two containers', async () => {
  createPod('shared', {
    containers: [
      { name: 'writer', image: BUSYBOX, command: ['sh', '-c', 'echo written-by-writer > /data/msg; exec sleep 3600'], volumeMounts: [{ name: 'data', mountPath: '/data' }] },
      { name: 'reader', image: BUSYBOX, command: ['sleep', '3600'], volumeMounts: [{ name: 'data', mountPath: '/data' }] },
    ],
    volumes: [{ name: 'data', emptyDir: {} }],
  });
  await waitRunning('shared');
  await eventually(async () => expect((await exec('shared', 'reader', ['cat', '/data/msg'])).out).toBe('written-by-writer\n'), 20_000, 200);
});

test('a crashing container: CrashLoopBackOff and a growing restartCount', async () => {
  createPod('crash', { containers: [{ name: 'crash', image: BUSYBOX, command: ['sh', '-c', 'echo dying; exit 3'] }] });
  await eventually(
    () => {
      const s = cstatus('crash', 'crash');
      expect(s.restartCount).toBeGreaterThanOrEqual(2);
      expect(s.state.waiting?.reason).toBe('CrashLoopBackOff');
    },
    90_000,
    200,
  );
  const s = cstatus('crash', 'crash');
  expect(s.lastState.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
  expect(s.state.waiting.message).toMatch(/^back-off \d+s restarting failed container=crash pod=crash_default/);
  expect(pod('crash')!.status.phase).toBe('Running');
  // kubectl logs of a crash-looping container shows the last terminated instance.
  expect(await logs('crash', 'crash')).toBe('dying\n');
  const evs = t.cluster.registry.list(eventsRI, 'default').items.filter((e) => e.involvedObject?.name === 'crash');
  expect(evs.some((e) => e.reason === 'BackOff')).toBe(true);
});

test('init containers run in order before the app container', async () => {
  createPod('init', {
    initContainers: [
      { name: 'first', image: BUSYBOX, command: ['sh', '-c', 'sleep 1; echo first >> /work/order'], volumeMounts: [{ name: 'work', mountPath: '/work' }] },
      { name: 'second', image: BUSYBOX, command: ['sh', '-c', 'echo second >> /work/order'], volumeMounts: [{ name: 'work', mountPath: '/work' }] },
    ],
    containers: [{ name: 'app', image: BUSYBOX, command: ['sh', '-c', 'echo app >> /work/order; cat /work/order; exec sleep 3600'], volumeMounts: [{ name: 'work', mountPath: '/work' }] }],
    volumes: [{ name: 'work', emptyDir: {} }],
  });
  await waitRunning('init');
  await eventually(async () => expect(await logs('init', 'app')).toBe('first\nsecond\napp\n'), 20_000, 200);
  expect(condition('init', 'Initialized').status).toBe('True');
  expect(cstatus('init', 'first').state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
  expect(cstatus('init', 'second').state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
});

test('a readiness probe failing and recovering', async () => {
  createPod('probe', {
    containers: [{ name: 'app', image: BUSYBOX, command: ['sleep', '3600'], readinessProbe: { exec: { command: ['cat', '/tmp/ready'] }, periodSeconds: 1, failureThreshold: 1 } }],
  });
  await waitRunning('probe');
  await eventually(() => expect(condition('probe', 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady' }), 10_000, 100);
  await new Promise((r) => setTimeout(r, 2000));
  expect(condition('probe', 'Ready').status).toBe('False');
  await exec('probe', 'app', ['touch', '/tmp/ready']);
  let t0 = Date.now();
  await eventually(() => expect(condition('probe', 'Ready').status).toBe('True'), 20_000, 100);
  timings.readyAfterProbePasses = Date.now() - t0;
  await exec('probe', 'app', ['rm', '/tmp/ready']);
  t0 = Date.now();
  await eventually(() => expect(condition('probe', 'Ready').status).toBe('False'), 20_000, 100);
  timings.unreadyAfterProbeFails = Date.now() - t0;
  expect(cstatus('probe', 'app').restartCount).toBe(0);
});

test('graceful delete runs preStop, stops the container and removes the pod', async () => {
  const hostDir = fs.mkdtempSync(path.join(os.tmpdir(), 'minictl-e2e-prestop-'));
  fs.chmodSync(hostDir, 0o777);
  try {
    createPod('bye', {
      terminationGracePeriodSeconds: 20,
      containers: [
        {
          name: 'app',
          image: BUSYBOX,
          command: ['sh', '-c', 'trap "echo got-term >> /host/log; exit 0" TERM; while true; do sleep 0.2; done'],
          lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo prestop >> /host/log'] } } },
          volumeMounts: [{ name: 'host', mountPath: '/host' }],
        },
      ],
      volumes: [{ name: 'host', hostPath: { path: hostDir, type: 'Directory' } }],
    });
    await waitRunning('bye');
    const uid = pod('bye')!.metadata.uid!;
    const t0 = Date.now();
    t.cluster.registry.delete(podsRI, 'default', 'bye', {});
    expect(pod('bye')?.metadata.deletionTimestamp).toBeDefined();
    await eventually(() => expect(pod('bye')).toBeUndefined(), 30_000, 100);
    timings.gracefulDelete = Date.now() - t0;
    expect(timings.gracefulDelete).toBeLessThan(15_000);
    expect(fs.readFileSync(path.join(hostDir, 'log'), 'utf8')).toBe('prestop\ngot-term\n');
    await eventually(async () => expect((await rt.listContainers({ all: true, podUid: uid })).length).toBe(0), 20_000, 200);
    expect(fs.existsSync(path.join(dataDir, 'pods', uid))).toBe(false);
  } finally {
    fs.rmSync(hostDir, { recursive: true, force: true });
  }
});

test('a restarted kubelet adopts running pods; after stopAllContainers a new kubelet brings them back', async () => {
  createPod('adopt', { containers: [{ name: 'app', image: BUSYBOX, command: ['sleep', '3600'] }] });
  await waitRunning('adopt');
  const uid = pod('adopt')!.metadata.uid!;
  const before = (await rt.listContainers({ podUid: uid })).map((c) => c.id).sort();
  expect(before).toHaveLength(2);
  const rv = pod('adopt')!.metadata.resourceVersion;

  const startKubelet = async (): Promise<void> => {
    ctl = new AbortController();
    kubelet = new Kubelet({
      nodeName: 'node-1',
      profile,
      registry: t.cluster.registry,
      informers: t.cluster.informers,
      runtime: rt,
      recorder: new RegistryEventRecorder(t.cluster.registry, 'kubelet', 'node-1'),
      log: silentLogger,
      dataDir,
      dns: { servers: ['10.96.0.10'] },
    });
    await kubelet.start(ctl.signal);
  };
  ctl.abort();
  await kubelet.stopped();
  let t0 = Date.now();
  await startKubelet();
  timings.kubeletRestart = Date.now() - t0;
  await new Promise((r) => setTimeout(r, 3000));
  expect((await rt.listContainers({ podUid: uid })).map((c) => c.id).sort()).toEqual(before);
  expect(cstatus('adopt', 'app').restartCount).toBe(0);
  expect(condition('adopt', 'Ready').status).toBe('True');
  expect(kubelet.containerFor('default', 'adopt')).toBeDefined();
  expect(Number(pod('adopt')!.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(rv));

  // Node failure: everything stops, the API is untouched; a new kubelet recreates the pod's sandbox.
  t0 = Date.now();
  await kubelet.stopAllContainers();
  timings.stopAllContainers = Date.now() - t0;
  expect(await rt.listContainers({ podUid: uid })).toHaveLength(0); // none running
  ctl.abort();
  await kubelet.stopped();
  await startKubelet();
  await eventually(() => expect(cstatus('adopt', 'app')).toMatchObject({ restartCount: 1, state: { running: {} } }), 30_000, 200);
  expect((await rt.listContainers({ podUid: uid })).filter((c) => c.sandbox)).toHaveLength(1);
});
