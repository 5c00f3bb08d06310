import type { Readable } from 'node:stream';
import {
  ContainerConfig,
  ContainerNotFoundError,
  ImageNeverPullError,
  ImagePullError,
  LABELS,
} from '../../../src/kubelet/runtime/container-runtime';
import { FakeRuntime, ManualClock } from '../../../src/kubelet/runtime/fake/fake-runtime';
import { RuntimeError } from '../../../src/util/errors';

function setup(opts: { images?: string[]; podCidr?: string } = {}): { clock: ManualClock; rt: FakeRuntime } {
  const clock = new ManualClock(1_000_000);
  const rt = new FakeRuntime({ profile: 'p', node: 'node-1', clock, images: opts.images ?? ['app:1'], podCidr: opts.podCidr });
  return { clock, rt };
}

async function pod(rt: FakeRuntime, name = 'web', uid = `uid-${name}`) {
  return rt.runPodSandbox({ podUid: uid, podName: name, namespace: 'default' });
}

async function startApp(rt: FakeRuntime, sandboxId: string, cfg: Partial<ContainerConfig> = {}): Promise<string> {
  const id = await rt.createContainer(sandboxId, { name: 'app', image: 'app:1', ...cfg });
  await rt.startContainer(id);
  return id;
}

function readAll(s: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    s.on('data', (d) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

describe('pullImage', () => {
  test.each([
    // [policy, present, missingInRegistry, expected]
    ['Never', true, false, { pulled: false }],
    ['Never', false, false, ImageNeverPullError],
    ['IfNotPresent', true, true, { pulled: false }],
    ['IfNotPresent', false, false, { pulled: true }],
    ['IfNotPresent', false, true, ImagePullError],
    ['Always', true, false, { pulled: true }],
    ['Always', true, true, ImagePullError],
  ] as const)('%s present=%s missing=%s', async (policy, present, missing, expected) => {
    const { rt } = setup({ images: present ? ['img:1'] : [] });
    if (missing) rt.setImageScript('img:1', { missing: true });
    const p = rt.pullImage('img:1', policy);
    if (typeof expected === 'function') {
      await expect(p).rejects.toBeInstanceOf(expected);
      await expect(p).rejects.toBeInstanceOf(RuntimeError);
    } else {
      const r = await p;
      expect(r).toMatchObject(expected);
      expect(r.imageRef).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(rt.hasImage('img:1')).toBe(true);
    }
  });

  test('errors carry the kubelet reason', async () => {
    const { rt } = setup({ images: [] });
    rt.setImageScript('gone', { missing: true });
    await expect(rt.pullImage('gone', 'IfNotPresent')).rejects.toMatchObject({ reason: 'ErrImagePull' });
    await expect(rt.pullImage('gone', 'Never')).rejects.toMatchObject({ reason: 'ErrImageNeverPull' });
  });

  test('untagged means :latest', async () => {
    const { rt } = setup({ images: ['busybox'] });
    expect(rt.hasImage('busybox:latest')).toBe(true);
    expect((await rt.pullImage('busybox:latest', 'Never')).pulled).toBe(false);
  });

  test('pullDelayMs runs on the clock; concurrent pulls share one download', async () => {
    const { rt, clock } = setup({ images: [] });
    rt.setImageScript('slow:1', { pullDelayMs: 5000 });
    let done = 0;
    const a = rt.pullImage('slow:1', 'IfNotPresent').then((r) => (done++, r));
    const b = rt.pullImage('slow:1', 'IfNotPresent').then((r) => (done++, r));
    await clock.advance(4999);
    expect(done).toBe(0);
    await clock.advance(1);
    expect(done).toBe(2);
    expect(await a).toEqual(await b);
  });
});

describe('sandboxes', () => {
  test('IPs come from the node subnet, lowest free first, released on stop', async () => {
    const { rt } = setup({ podCidr: '10.244.3.0/24' });
    const a = await pod(rt, 'a');
    const b = await pod(rt, 'b');
    expect([a.ip, b.ip]).toEqual(['10.244.3.2', '10.244.3.3']);
    await rt.stopPodSandbox(a.id);
    expect((await pod(rt, 'c')).ip).toBe('10.244.3.2');
  });

  test('pool exhaustion is a RuntimeError', async () => {
    const { rt } = setup({ podCidr: '10.244.3.0/30' }); // one usable address (.2)
    await pod(rt, 'a');
    await expect(pod(rt, 'b')).rejects.toThrow(/no available IPv4 addresses/);
  });

  test('labels and listing', async () => {
    const { rt } = setup();
    const sb = await rt.runPodSandbox({ podUid: 'u1', podName: 'web', namespace: 'ns1', attempt: 2, labels: { extra: 'x' } });
    const [info] = await rt.listContainers();
    expect(info).toMatchObject({
      id: sb.id,
      ip: sb.ip,
      sandbox: true,
      containerName: 'POD',
      restartCount: 2,
      podUid: 'u1',
      podName: 'web',
      namespace: 'ns1',
      state: 'running',
    });
    expect(info.runtimeName).toBe('minictl-p-node-1_ns1_web_POD_u1_2');
    expect(info.labels).toMatchObject({
      extra: 'x',
      [LABELS.profile]: 'p',
      [LABELS.node]: 'node-1',
      [LABELS.sandbox]: 'true',
      [LABELS.restartCount]: '2',
    });
  });

  test('same name twice conflicts, as with Docker', async () => {
    const { rt } = setup();
    await pod(rt, 'web', 'u1');
    await expect(pod(rt, 'web', 'u1')).rejects.toThrow(/already in use/);
  });

  test('stop kills members, remove removes them; both idempotent', async () => {
    const { rt } = setup();
    const sb = await pod(rt);
    const app = await startApp(rt, sb.id);
    await rt.stopPodSandbox(sb.id);
    expect(await rt.containerStatus(app)).toMatchObject({ state: 'exited', exitCode: 137, reason: 'Error' });
    expect(await rt.containerStatus(sb.id)).toMatchObject({ state: 'exited', exitCode: 0 });
    await rt.stopPodSandbox(sb.id);
    await rt.removePodSandbox(sb.id);
    await rt.removePodSandbox(sb.id);
    expect(await rt.listContainers({ all: true })).toEqual([]);
    await expect(rt.containerStatus(app)).rejects.toBeInstanceOf(ContainerNotFoundError);
  });
});

describe('containers', () => {
  test('create requires a sandbox and a present image', async () => {
    const { rt } = setup();
    await expect(rt.createContainer('nope', { name: 'a', image: 'app:1' })).rejects.toBeInstanceOf(ContainerNotFoundError);
    const sb = await pod(rt);
    await expect(rt.createContainer(sb.id, { name: 'a', image: 'other:1' })).rejects.toThrow(/No such image/);
  });

  test('status lifecycle with times from the clock', async () => {
    const { rt, clock } = setup();
    rt.setImageScript('app:1', { runSeconds: 10, exitCode: 0 });
    const sb = await pod(rt);
    const id = await rt.createContainer(sb.id, { name: 'app', image: 'app:1', restartCount: 3 });
    expect(await rt.containerStatus(id)).toMatchObject({ state: 'created', createdAt: 1_000_000 });
    await clock.advance(500);
    await rt.startContainer(id);
    await rt.startContainer(id); // already running: fine
    expect(await rt.containerStatus(id)).toMatchObject({ state: 'running', startedAt: 1_000_500 });
    await clock.advance(9_999);
    expect((await rt.containerStatus(id)).state).toBe('running');
    await clock.advance(1);
    expect(await rt.containerStatus(id)).toMatchObject({
      state: 'exited',
      exitCode: 0,
      reason: 'Completed',
      finishedAt: 1_010_500,
    });
    const info = (await rt.listContainers({ all: true })).find((c) => c.id === id)!;
    expect(info).toMatchObject({ restartCount: 3, sandboxId: sb.id, containerName: 'app' });
    expect(await rt.listContainers()).toHaveLength(1); // only the running sandbox
  });

  test.each([
    ['run then exit 0', { runSeconds: 5 }, 5, 0, 'Completed'],
    ['run then exit 2', { runSeconds: 5, exitCode: 2 }, 5, 2, 'Error'],
    ['crash default code', { crashAfterSeconds: 3 }, 3, 1, 'Error'],
    ['crash wins over run', { crashAfterSeconds: 1, runSeconds: 9, exitCode: 4 }, 1, 4, 'Error'],
    ['oom', { crashAfterSeconds: 2, oomKilled: true }, 2, 137, 'OOMKilled'],
  ] as const)('%s', async (_name, script, seconds, code, reason) => {
    const { rt, clock } = setup();
    rt.setImageScript('app:1', script);
    const id = await startApp(rt, (await pod(rt)).id);
    await clock.advance(seconds * 1000 - 1);
    expect((await rt.containerStatus(id)).state).toBe('running');
    await clock.advance(1);
    expect(await rt.containerStatus(id)).toMatchObject({ state: 'exited', exitCode: code, reason });
  });

  test('scripts: pod/container beats container beats image; functions see the restart count', async () => {
    const { rt, clock } = setup();
    rt.setImageScript('app:1', { crashAfterSeconds: 1 });
    rt.setContainerScript('app', { runSeconds: 2, exitCode: 5 });
    rt.setContainerScript('default/special/app', (ctx) => (ctx.restartCount < 2 ? { crashAfterSeconds: 1 } : {}));
    const web = (await pod(rt, 'web')).id;
    const special = (await pod(rt, 'special')).id;
    const a = await startApp(rt, web);
    const b0 = await startApp(rt, special, { restartCount: 0 });
    const b2 = await startApp(rt, special, { restartCount: 2 });
    const sidecar = await startApp(rt, web, { name: 'sidecar' });
    await clock.advance(60_000);
    expect((await rt.containerStatus(a)).exitCode).toBe(5);
    expect((await rt.containerStatus(b0)).exitCode).toBe(1);
    expect((await rt.containerStatus(b2)).state).toBe('running');
    expect((await rt.containerStatus(sidecar)).exitCode).toBe(1); // image script
  });

  test('startError leaves the container created with a message', async () => {
    const { rt } = setup();
    rt.setImageScript('app:1', { startError: 'exec: "nope": executable file not found in $PATH' });
    const sb = await pod(rt);
    const id = await rt.createContainer(sb.id, { name: 'app', image: 'app:1' });
    await expect(rt.startContainer(id)).rejects.toThrow(/executable file not found/);
    expect(await rt.containerStatus(id)).toMatchObject({ state: 'created', message: expect.stringContaining('not found') });
  });

  test('start needs a running sandbox; an exited container cannot be started again', async () => {
    const { rt, clock } = setup();
    rt.setImageScript('app:1', { runSeconds: 0 });
    const sb = await pod(rt);
    const done = await startApp(rt, sb.id, { name: 'done' });
    await clock.advance(0);
    expect((await rt.containerStatus(done)).state).toBe('exited');
    await expect(rt.startContainer(done)).rejects.toThrow(/already run/);
    const id = await rt.createContainer(sb.id, { name: 'app', image: 'app:1' });
    await rt.stopPodSandbox(sb.id);
    await expect(rt.startContainer(id)).rejects.toThrow(/non running container/);
  });

  test('stop: SIGTERM obeyed at once; ignored means waiting the grace then 137', async () => {
    const { rt, clock } = setup();
    const sb = (await pod(rt)).id;
    const polite = await startApp(rt, sb, { name: 'polite' });
    await rt.stopContainer(polite, 30);
    expect(await rt.containerStatus(polite)).toMatchObject({ state: 'exited', exitCode: 143 });

    rt.setContainerScript('stubborn', { ignoreSigterm: true });
    const stubborn = await startApp(rt, sb, { name: 'stubborn' });
    let stopped = false;
    const stop = rt.stopContainer(stubborn, 30).then(() => (stopped = true));
    await clock.advance(29_999);
    expect(stopped).toBe(false);
    await clock.advance(1);
    await stop;
    expect(await rt.containerStatus(stubborn)).toMatchObject({ state: 'exited', exitCode: 137, finishedAt: 1_030_000 });

    const zero = await startApp(rt, sb, { name: 'stubborn', restartCount: 1 });
    await rt.stopContainer(zero, 0);
    expect((await rt.containerStatus(zero)).exitCode).toBe(137);
    await rt.stopContainer(zero, 10); // already stopped
    await rt.stopContainer('gone', 10); // unknown
  });

  test('a stubborn container exiting by itself during the grace ends the stop early', async () => {
    const { rt, clock } = setup();
    rt.setImageScript('app:1', { ignoreSigterm: true, runSeconds: 5, exitCode: 0 });
    const id = await startApp(rt, (await pod(rt)).id);
    const stop = rt.stopContainer(id, 30);
    await clock.advance(5000);
    await stop;
    expect(await rt.containerStatus(id)).toMatchObject({ exitCode: 0, finishedAt: 1_005_000 });
  });

  test('crash() simulates an external death', async () => {
    const { rt } = setup();
    const id = await startApp(rt, (await pod(rt)).id);
    rt.crash(id, 0, true);
    expect(await rt.containerStatus(id)).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
  });
});

describe('logs', () => {
  test('tail, since, timestamps', async () => {
    const { rt, clock } = setup();
    rt.setImageScript('app:1', { logs: ['a', 'b'] });
    const id = await startApp(rt, (await pod(rt)).id);
    await clock.advance(1000);
    rt.emitLog(id, 'c');
    expect(await readAll(await rt.logs(id))).toBe('a\nb\nc\n');
    expect(await readAll(await rt.logs(id, { tail: 2 }))).toBe('b\nc\n');
    expect(await readAll(await rt.logs(id, { tail: 0 }))).toBe('');
    expect(await readAll(await rt.logs(id, { since: 1_000_500 }))).toBe('c\n');
    expect(await readAll(await rt.logs(id, { tail: 1, timestamps: true }))).toBe(
      `${new Date(1_001_000).toISOString()} c\n`,
    );
  });

  test('follow streams new lines and ends when the container exits', async () => {
    const { rt, clock } = setup();
    rt.setImageScript('app:1', { logs: ['start'], runSeconds: 10 });
    const id = await startApp(rt, (await pod(rt)).id);
    const all = readAll(await rt.logs(id, { follow: true }));
    await clock.advance(1000);
    rt.emitLog(id, 'tick');
    await clock.advance(9000);
    expect(await all).toBe('start\ntick\n');
    // Following an exited container returns what exists and ends.
    expect(await readAll(await rt.logs(id, { follow: true }))).toBe('start\ntick\n');
  });
});

describe('exec', () => {
  test('handler result, stdin, errors', async () => {
    const { rt, clock } = setup();
    rt.setImageScript('app:1', {
      exec: (cmd, stdin) =>
        cmd[0] === 'cat'
          ? { stdout: stdin }
          : cmd[0] === 'slow'
            ? { exitCode: 0, delayMs: 3000 }
            : { exitCode: 7, stdout: 'out\n', stderr: 'err\n' },
    });
    const id = await startApp(rt, (await pod(rt)).id);

    const e1 = await rt.exec(id, ['sh', '-c', 'exit 7']);
    expect(await Promise.all([e1.exitCode, readAll(e1.stdout), readAll(e1.stderr)])).toEqual([7, 'out\n', 'err\n']);

    const e2 = await rt.exec(id, ['cat'], { stdin: true });
    e2.stdin!.write('hello ');
    e2.stdin!.end('world');
    expect(await readAll(e2.stdout)).toBe('hello world');
    expect(await e2.exitCode).toBe(0);

    const e3 = await rt.exec(id, ['sh'], { tty: true });
    expect(await readAll(e3.stdout)).toBe('out\nerr\n');
    await e3.resize(80, 24);

    let finished = false;
    const e4 = await rt.exec(id, ['slow']);
    void e4.exitCode.then(() => (finished = true));
    await clock.advance(2999);
    expect(finished).toBe(false);
    await clock.advance(1);
    expect(finished).toBe(true);

    await rt.stopContainer(id, 0);
    await expect(rt.exec(id, ['true'])).rejects.toThrow(/not running/);
    await expect(rt.exec('gone', ['true'])).rejects.toBeInstanceOf(ContainerNotFoundError);
  });

  test('runtime-wide handler and default', async () => {
    const { rt } = setup();
    const id = await startApp(rt, (await pod(rt)).id);
    expect(await (await rt.exec(id, ['x'])).exitCode).toBe(0);
    rt.setExecHandler((cmd) => ({ exitCode: cmd.length }));
    expect(await (await rt.exec(id, ['a', 'b', 'c'])).exitCode).toBe(3);
  });
});

describe('recording and injected failures', () => {
  test('calls are recorded with clock time; injectError fails the next call only', async () => {
    const { rt, clock } = setup();
    await clock.advance(42);
    rt.injectError('runPodSandbox', 'boom');
    await expect(pod(rt)).rejects.toMatchObject({ name: 'RuntimeError', output: 'boom' });
    const sb = await pod(rt);
    expect(rt.callsOf('runPodSandbox')).toHaveLength(2);
    expect(rt.calls[0]).toMatchObject({ method: 'runPodSandbox', at: 1_000_042 });
    expect(rt.get(sb.id)).toMatchObject({ sandbox: true, sandboxConfig: { podName: 'web' } });
    rt.clearCalls();
    expect(rt.calls).toEqual([]);
    expect(await rt.version()).toEqual({ runtimeName: 'fake', runtimeVersion: '0.1.0' });
  });

  test('stats come from the script', async () => {
    const { rt } = setup();
    rt.setImageScript('app:1', { stats: { cpuNanoCores: 5e8, memoryBytes: 1 << 20 } });
    const id = await startApp(rt, (await pod(rt)).id);
    expect(await rt.stats(id)).toEqual({ cpuNanoCores: 5e8, memoryBytes: 1 << 20 });
    await rt.stopContainer(id, 0);
    expect(await rt.stats(id)).toEqual({ cpuNanoCores: 0, memoryBytes: 0 });
  });
});

describe('ManualClock', () => {
  test('fires timers in order, including ones scheduled while firing', async () => {
    const clock = new ManualClock(0);
    const seen: string[] = [];
    clock.setTimeout(() => seen.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => {
      seen.push(`a@${clock.now()}`);
      clock.setTimeout(() => seen.push(`c@${clock.now()}`), 5);
    }, 10);
    const cancelled = clock.setTimeout(() => seen.push('never'), 1);
    clock.clearTimeout(cancelled);
    await clock.advance(100);
    expect(seen).toEqual(['a@10', 'c@15', 'b@20']);
    expect(clock.now()).toBe(100);
    expect(clock.pending()).toBe(0);
  });
});
