/**
 * Real-Docker tests of DockerRuntime and node networks. Builds `minictl/busybox:local` from
 * Debian's busybox-static when missing (no registry needed). Every run uses its own profile
 * and pod range and must leave no container, network or iptables rule behind.
 */
import { execFileSync, execSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import { DockerRuntime, ensurePauseImage, pauseElf } from '../../src/kubelet/runtime/docker/docker-runtime';
import {
  ContainerConfig,
  ContainerNotFoundError,
  ImageNeverPullError,
  ImagePullError,
  LABELS,
} from '../../src/kubelet/runtime/container-runtime';
import {
  ensureCrossNodeTraffic,
  ensureNodeNetwork,
  healNode,
  listProfileNetworks,
  partitionNode,
  removeCrossNodeTraffic,
  removeNodeNetwork,
} from '../../src/network/node-network';

jest.setTimeout(120_000);

const BUSYBOX = 'minictl/busybox:local';
const docker = new Docker();
const profile = `test-${Math.random().toString(36).slice(2, 8)}`;
const timings: Record<string, number> = {};

function buildBusyboxImage(): void {
  try {
    execFileSync('docker', ['image', 'inspect', BUSYBOX], { stdio: 'ignore' });
    return;
  } catch {
    // missing: build below
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minictl-busybox-'));
  try {
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.mkdirSync(path.join(dir, 'tmp'), { mode: 0o1777 });
    fs.chmodSync(path.join(dir, 'tmp'), 0o1777);
    fs.mkdirSync(path.join(dir, 'etc'));
    fs.copyFileSync('/bin/busybox', path.join(dir, 'bin', 'busybox'));
    fs.chmodSync(path.join(dir, 'bin', 'busybox'), 0o755);
    const applets = execFileSync('/bin/busybox', ['--list']).toString().split('\n').filter(Boolean);
    for (const a of applets) if (a !== 'busybox') fs.symlinkSync('busybox', path.join(dir, 'bin', a));
    execSync(`tar -C ${dir} -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' - ${BUSYBOX}`, {
      stdio: 'ignore',
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A /16 pod range whose second octet no existing Docker network uses. */
async function freePodCidr(): Promise<string> {
  const nets = await docker.listNetworks();
  const used = new Set<string>();
  for (const n of nets) {
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

async function waitFor<T>(fn: () => Promise<T | undefined>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function readAll(s: Readable, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`stream not ended after ${timeoutMs}ms; got ${JSON.stringify(out)}`)), timeoutMs);
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('end', () => {
      clearTimeout(t);
      resolve(out);
    });
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

let podCidr: string;
let rt1: DockerRuntime;
let rt2: DockerRuntime;
let uidSeq = 0;
const newUid = (): string => `${profile}-uid-${++uidSeq}-0000`;

async function cleanupAll(): Promise<void> {
  for (const rt of [rt1, rt2]) {
    if (!rt) continue;
    for (const c of await rt.listContainers({ all: true })) await rt.removeContainer(c.id);
  }
  for (const n of await listProfileNetworks(docker, profile)) await removeNodeNetwork(docker, profile, n.node);
  await removeCrossNodeTraffic({ profile });
}

async function runToExit(rt: DockerRuntime, sandboxId: string, cfg: ContainerConfig): Promise<string> {
  const id = await rt.createContainer(sandboxId, cfg);
  await rt.startContainer(id);
  await waitFor(async () => ((await rt.containerStatus(id)).state === 'exited' ? true : undefined), 20_000, `${cfg.name} exit`);
  return id;
}

beforeAll(async () => {
  buildBusyboxImage();
  podCidr = await freePodCidr();
  await ensureNodeNetwork({ docker, profile, node: 'n1', index: 1, baseCidr: podCidr });
  await ensureNodeNetwork({ docker, profile, node: 'n2', index: 2, baseCidr: podCidr });
  rt1 = new DockerRuntime({ docker, profile, node: 'n1' });
  rt2 = new DockerRuntime({ docker, profile, node: 'n2' });
});

afterAll(async () => {
  await cleanupAll();
  // eslint-disable-next-line no-console
  console.log(`runtime e2e timings (ms): ${JSON.stringify(timings)}`);
});

test('pause image: built locally, stops on SIGTERM at once', async () => {
  expect(pauseElf('x64').length).toBeLessThan(256);
  expect(pauseElf('arm64').length).toBeLessThan(256);
  const id = await ensurePauseImage(docker);
  expect(id).toMatch(/^sha256:/);
  const uid = newUid();
  const sb = await rt1.runPodSandbox({ podUid: uid, podName: 'pause-stop', namespace: 'default' });
  await new Promise((r) => setTimeout(r, 300));
  expect((await rt1.containerStatus(sb.id)).state).toBe('running');
  const t0 = Date.now();
  await rt1.stopPodSandbox(sb.id);
  timings.sandboxStop = Date.now() - t0;
  expect(timings.sandboxStop).toBeLessThan(1500);
  const st = await rt1.containerStatus(sb.id);
  expect(st).toMatchObject({ state: 'exited', exitCode: 0 });
  await rt1.removePodSandbox(sb.id);
  await rt1.removePodSandbox(sb.id); // idempotent
  await expect(rt1.containerStatus(sb.id)).rejects.toBeInstanceOf(ContainerNotFoundError);
});

test('pull policies on a local image', async () => {
  const never = await rt1.pullImage(BUSYBOX, 'Never');
  expect(never.pulled).toBe(false);
  expect(never.imageRef).toMatch(/^sha256:/);
  expect(await rt1.pullImage(BUSYBOX, 'IfNotPresent')).toEqual(never);
  await expect(rt1.pullImage('minictl/does-not-exist:1', 'Never')).rejects.toBeInstanceOf(ImageNeverPullError);
  const err = await rt1.pullImage('127.0.0.1:1/minictl/nope:1', 'IfNotPresent').catch((e) => e);
  expect(err).toBeInstanceOf(ImagePullError);
  expect(err.reason).toBe('ErrImagePull');
  expect(String(err.output)).toMatch(/127\.0\.0\.1:1/);
});

test('sandbox + two containers share localhost; hostPort, DNS, hostname, labels', async () => {
  const uid = newUid();
  const hostPort = 20000 + Math.floor(Math.random() * 20000);
  let t0 = Date.now();
  const sb = await rt1.runPodSandbox({
    podUid: uid,
    podName: 'web',
    namespace: 'default',
    dns: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5'] },
    portMappings: [{ containerPort: 8080, hostPort }],
  });
  timings.runPodSandbox = Date.now() - t0;
  expect(sb.ip.startsWith(podCidr.split('.').slice(0, 2).join('.') + '.1.')).toBe(true);

  t0 = Date.now();
  const server = await rt1.createContainer(sb.id, {
    name: 'server',
    image: BUSYBOX,
    command: ['sh', '-c'],
    args: ['mkdir -p /tmp/www && echo hello-from-$(hostname) > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www'],
  });
  await rt1.startContainer(server);
  timings.createAndStartContainer = Date.now() - t0;

  const client = await rt1.createContainer(sb.id, {
    name: 'client',
    image: BUSYBOX,
    args: ['sh', '-c', 'for i in $(seq 1 50); do wget -qO- localhost:8080 && exit 0; sleep 0.1; done; exit 1'],
  });
  await rt1.startContainer(client);
  await waitFor(async () => ((await rt1.containerStatus(client)).state === 'exited' ? true : undefined));
  const cs = await rt1.containerStatus(client);
  expect(cs).toMatchObject({ state: 'exited', exitCode: 0, reason: 'Completed' });
  expect(await readAll(await rt1.logs(client))).toBe('hello-from-web\n');

  expect(await httpGet(`http://127.0.0.1:${hostPort}/`)).toBe('hello-from-web\n');

  const resolv = await rt1.exec(server, ['cat', '/etc/resolv.conf']);
  const resolvText = await readAll(resolv.stdout);
  expect(await resolv.exitCode).toBe(0);
  expect(resolvText).toMatch(/search default\.svc\.cluster\.local svc\.cluster\.local/);
  expect(resolvText).toMatch(/ndots:5/);

  const list = await rt1.listContainers({ podUid: uid, all: true });
  expect(list.map((c) => c.containerName).sort()).toEqual(['POD', 'client', 'server']);
  const sbInfo = list.find((c) => c.sandbox)!;
  expect(sbInfo).toMatchObject({ id: sb.id, ip: sb.ip, podName: 'web', namespace: 'default', restartCount: 0 });
  const srvInfo = list.find((c) => c.containerName === 'server')!;
  expect(srvInfo).toMatchObject({ sandboxId: sb.id, state: 'running', sandbox: false });
  expect(srvInfo.labels[LABELS.profile]).toBe(profile);
  expect(srvInfo.labels[LABELS.node]).toBe('n1');
  expect((await rt1.listContainers({ podUid: uid })).map((c) => c.containerName).sort()).toEqual(['POD', 'server']);

  const stats = await rt1.stats(server);
  expect(stats.memoryBytes).toBeGreaterThan(0);
  expect(stats.cpuNanoCores).toBeGreaterThanOrEqual(0);

  t0 = Date.now();
  await rt1.stopPodSandbox(sb.id);
  timings.stopPodSandboxWithRunningContainer = Date.now() - t0;
  expect((await rt1.containerStatus(server)).state).toBe('exited');
  await rt1.removePodSandbox(sb.id);
  expect(await rt1.listContainers({ podUid: uid, all: true })).toEqual([]);
});

test('exit codes, command/args semantics, OOMKilled', async () => {
  const sb = await rt1.runPodSandbox({ podUid: newUid(), podName: 'exits', namespace: 'default' });
  const fail = await runToExit(rt1, sb.id, { name: 'fail', image: BUSYBOX, command: ['sh', '-c', 'exit 3'] });
  const st = await rt1.containerStatus(fail);
  expect(st).toMatchObject({ state: 'exited', exitCode: 3, reason: 'Error' });
  expect(st.startedAt).toBeGreaterThan(0);
  expect(st.finishedAt).toBeGreaterThanOrEqual(st.startedAt!);

  // args alone replace CMD (image CMD is `sh`), keeping the (empty) ENTRYPOINT.
  const args = await runToExit(rt1, sb.id, { name: 'args', image: BUSYBOX, args: ['sh', '-c', 'echo $0 $1', 'a', 'b'] });
  expect(await readAll(await rt1.logs(args))).toBe('a b\n');

  const oom = await runToExit(rt1, sb.id, {
    name: 'oom',
    image: BUSYBOX,
    command: ['sh', '-c', 'x=$(head -c 64000000 /dev/zero | tr "\\0" a); echo ${#x}'],
    resources: { memoryLimitBytes: 8 * 1024 * 1024 },
  });
  expect(await rt1.containerStatus(oom)).toMatchObject({ state: 'exited', exitCode: 137, reason: 'OOMKilled' });

  const envc = await runToExit(rt1, sb.id, {
    name: 'env',
    image: BUSYBOX,
    command: ['sh', '-c', 'echo $FOO $(pwd) $(id -u):$(id -g); touch /x 2>/dev/null || echo ro'],
    env: [{ name: 'FOO', value: 'bar' }],
    workingDir: '/tmp',
    runAsUser: 1234,
    runAsGroup: 5678,
    readOnlyRootFilesystem: true,
  });
  expect(await readAll(await rt1.logs(envc))).toBe('bar /tmp 1234:5678\nro\n');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minictl-mnt-'));
  fs.writeFileSync(path.join(dir, 'f'), 'from-host');
  const mnt = await runToExit(rt1, sb.id, {
    name: 'mount',
    image: BUSYBOX,
    command: ['sh', '-c', 'cat /data/f; echo; echo x 2>/dev/null > /data/g || echo denied; echo t > /scratch/t && cat /scratch/t'],
    mounts: [{ hostPath: dir, containerPath: '/data', readOnly: true }],
    tmpfs: [{ containerPath: '/scratch', sizeBytes: 1 << 20 }],
  });
  expect(await readAll(await rt1.logs(mnt))).toMatch(/^from-host\n(.*\n)?denied\nt\n$/);
  fs.rmSync(dir, { recursive: true, force: true });
  await rt1.removePodSandbox(sb.id);
});

test('logs: tail, follow, timestamps', async () => {
  const sb = await rt1.runPodSandbox({ podUid: newUid(), podName: 'logs', namespace: 'default' });
  const id = await rt1.createContainer(sb.id, {
    name: 'talker',
    image: BUSYBOX,
    // stdout and stderr are captured separately: space them so arrival order is certain
    command: ['sh', '-c', 'for i in 1 2 3 4 5; do echo line$i; done; sleep 0.3; echo err >&2; sleep 1; echo late'],
  });
  await rt1.startContainer(id);
  const followed = readAll(await rt1.logs(id, { follow: true }));
  await waitFor(async () => ((await rt1.containerStatus(id)).state === 'exited' ? true : undefined));
  expect(await followed).toBe('line1\nline2\nline3\nline4\nline5\nerr\nlate\n');
  expect(await readAll(await rt1.logs(id, { tail: 2 }))).toBe('err\nlate\n');
  const ts = await readAll(await rt1.logs(id, { tail: 1, timestamps: true }));
  expect(ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z late\n$/);
  await rt1.removePodSandbox(sb.id);
});

test('exec: exit code, stdin, tty', async () => {
  const sb = await rt1.runPodSandbox({ podUid: newUid(), podName: 'exec', namespace: 'default' });
  const id = await rt1.createContainer(sb.id, { name: 'main', image: BUSYBOX, command: ['sleep', '3600'] });
  await rt1.startContainer(id);

  const e1 = await rt1.exec(id, ['sh', '-c', 'echo out; echo err >&2; exit 7']);
  const [o1, r1] = await Promise.all([readAll(e1.stdout), readAll(e1.stderr)]);
  expect(await e1.exitCode).toBe(7);
  expect(o1).toBe('out\n');
  expect(r1).toBe('err\n');

  const e2 = await rt1.exec(id, ['sh', '-c', 'read x; echo got:$x; cat'], { stdin: true });
  const o2 = readAll(e2.stdout);
  e2.stdin!.write('hello\n');
  e2.stdin!.write('more\n');
  e2.stdin!.end();
  expect(await o2).toBe('got:hello\nmore\n');
  expect(await e2.exitCode).toBe(0);

  const e3 = await rt1.exec(id, ['sh', '-c', 'sleep 0.5; stty size; exit 2'], { tty: true });
  await e3.resize(100, 40);
  const o3 = await readAll(e3.stdout);
  expect(await e3.exitCode).toBe(2);
  expect(o3).toContain('40 100');
  await e3.resize(80, 24); // after exit: a no-op

  await expect(rt1.exec('no-such-container-xyz', ['true'])).rejects.toBeInstanceOf(ContainerNotFoundError);
  await rt1.removePodSandbox(sb.id);
});

test('stop honours the grace period', async () => {
  const sb = await rt1.runPodSandbox({ podUid: newUid(), podName: 'grace', namespace: 'default' });
  const polite = await rt1.createContainer(sb.id, {
    name: 'polite',
    image: BUSYBOX,
    command: ['sh', '-c', 'trap "echo bye; exit 0" TERM; while true; do sleep 0.1; done'],
  });
  const stubborn = await rt1.createContainer(sb.id, {
    name: 'stubborn',
    image: BUSYBOX,
    command: ['sh', '-c', 'trap "" TERM; while true; do sleep 0.1; done'],
  });
  await rt1.startContainer(polite);
  await rt1.startContainer(stubborn);
  await new Promise((r) => setTimeout(r, 300));

  let t0 = Date.now();
  await rt1.stopContainer(polite, 10);
  const politeMs = Date.now() - t0;
  expect(politeMs).toBeLessThan(3000);
  expect(await rt1.containerStatus(polite)).toMatchObject({ state: 'exited', exitCode: 0 });
  expect(await readAll(await rt1.logs(polite))).toBe('bye\n');

  t0 = Date.now();
  await rt1.stopContainer(stubborn, 1);
  const stubbornMs = Date.now() - t0;
  expect(stubbornMs).toBeGreaterThanOrEqual(900);
  expect(stubbornMs).toBeLessThan(5000);
  expect(await rt1.containerStatus(stubborn)).toMatchObject({ state: 'exited', exitCode: 137, reason: 'Error' });

  await rt1.stopContainer(stubborn, 1); // already stopped: fine
  await rt1.stopContainer('no-such-container-xyz', 1); // gone: fine
  await rt1.removePodSandbox(sb.id);
});

test('pod-to-pod traffic across node networks, partition and heal', async () => {
  const a = await rt1.runPodSandbox({ podUid: newUid(), podName: 'srv', namespace: 'default' });
  const srv = await rt1.createContainer(a.id, {
    name: 'httpd',
    image: BUSYBOX,
    command: ['sh', '-c', 'mkdir -p /tmp/www && echo cross > /tmp/www/index.html && exec httpd -f -vv -p 8080 -h /tmp/www'],
  });
  await rt1.startContainer(srv);
  const b = await rt2.runPodSandbox({ podUid: newUid(), podName: 'cli', namespace: 'default' });
  const cli = await rt2.createContainer(b.id, { name: 'main', image: BUSYBOX, command: ['sleep', '3600'] });
  await rt2.startContainer(cli);
  const fetch = async (): Promise<{ code: number; out: string }> => {
    // (busybox-static's `wget -T` crashes; bound the wait with `timeout` instead)
    const e = await rt2.exec(cli, ['timeout', '3', 'wget', '-qO-', `http://${a.ip}:8080/`]);
    const out = await readAll(e.stdout);
    return { code: await e.exitCode, out };
  };

  const again = await ensureNodeNetwork({ docker, profile, node: 'n1', index: 1, baseCidr: podCidr });
  expect((await listProfileNetworks(docker, profile)).map((n) => n.id)).toContain(again.id);
  await expect(ensureNodeNetwork({ docker, profile, node: 'n1', index: 9, baseCidr: podCidr })).rejects.toThrow(/expected/);

  await removeCrossNodeTraffic({ profile });
  expect((await fetch()).code).not.toBe(0); // Docker isolates bridge networks by default

  const status = await ensureCrossNodeTraffic({ profile, podCidr, docker });
  expect(status.status).toBe('ok');
  expect(await ensureCrossNodeTraffic({ profile, podCidr, docker })).toEqual(status); // idempotent
  const rules = execFileSync('iptables', ['-S', 'DOCKER-USER']).toString();
  expect(rules.split('\n').filter((l) => l.includes(`minictl:${profile}`))).toHaveLength(1);

  expect(await fetch()).toEqual({ code: 0, out: 'cross\n' });
  // No masquerading between pods: the server sees the client pod's own IP.
  const srvLog = await readAll(await rt1.logs(srv));
  expect(srvLog).toContain(b.ip);

  const records = await partitionNode(docker, profile, 'n1');
  expect(records.map((r) => r.ip)).toContain(a.ip);
  expect((await fetch()).code).not.toBe(0);
  await healNode(docker, profile, 'n1', records);
  // the reconnected interface can take a moment on a busy machine: retry for a while
  let healed = await fetch();
  for (let i = 0; i < 20 && healed.code !== 0; i++) {
    await new Promise((r) => setTimeout(r, 500));
    healed = await fetch();
  }
  expect(healed).toEqual({ code: 0, out: 'cross\n' });

  await rt1.removePodSandbox(a.id);
  await rt2.removePodSandbox(b.id);
});

test('cleanup leaves no container, network or rule behind', async () => {
  await ensureCrossNodeTraffic({ profile, podCidr, docker });
  await cleanupAll();
  const containers = await docker.listContainers({ all: true, filters: { label: [`${LABELS.profile}=${profile}`] } });
  expect(containers).toEqual([]);
  expect(await listProfileNetworks(docker, profile)).toEqual([]);
  for (const [table, chain] of [
    ['filter', 'DOCKER-USER'],
    ['nat', 'POSTROUTING'],
  ]) {
    const rules = execFileSync('iptables', ['-t', table, '-S', chain]).toString();
    expect(rules).not.toContain(`minictl:${profile}`);
  }
});
