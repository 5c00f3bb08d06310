/**
 * How the kubelet starts pods: a new pod's containers are created while its sandbox starts,
 * a failed sandbox start takes them along, and at most `maxParallelPodStarts` pods create and
 * start containers at a time, in arrival order (a pod deleted while waiting stops waiting).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KubeletHarness, podsRI, settle } from './kubelet-harness';
import { startTestCluster } from '../helpers/cluster';
import { FakeRuntime } from '../../src/kubelet/runtime/fake/fake-runtime';
import type { PodSandbox } from '../../src/kubelet/runtime/container-runtime';
import type { KubeletOptions } from '../../src/kubelet/kubelet';

jest.setTimeout(60_000);

const IMG = 'minictl/busybox:local';

/** A FakeRuntime whose sandbox starts wait until the test opens them. */
class GatedRuntime extends FakeRuntime {
  gated = true;
  readonly pending: Array<{ id: string; podName: string; open: () => void }> = [];

  override async startPodSandbox(id: string): Promise<PodSandbox> {
    if (this.gated) {
      const podName = this.get(id)?.podName ?? '';
      await new Promise<void>((open) => this.pending.push({ id, podName, open }));
    }
    return super.startPodSandbox(id);
  }

  /** Let the sandbox start of `podName` finish. */
  open(podName: string): void {
    const i = this.pending.findIndex((p) => p.podName === podName);
    if (i < 0) throw new Error(`no pending sandbox start for ${podName}`);
    this.pending.splice(i, 1)[0].open();
  }

  waitingPods(): string[] {
    return this.pending.map((p) => p.podName);
  }
}

let h: KubeletHarness;
let rt: GatedRuntime;

async function start(opts: Partial<KubeletOptions> = {}): Promise<void> {
  h = new KubeletHarness();
  h.t = await startTestCluster();
  h.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'minictl-kubelet-'));
  rt = new GatedRuntime({ profile: 'it', node: 'node-1', clock: h.clock, images: [IMG] });
  h.rt = rt;
  await h.startKubelet(opts);
}

afterEach(async () => {
  for (const p of rt.pending.splice(0)) p.open();
  rt.gated = false;
  await h.stop();
});

describe('a new pod', () => {
  beforeEach(() => start());

  test('has its containers created while its sandbox starts, and started once it runs', async () => {
    h.createPod('web', {
      containers: [
        { name: 'app', image: IMG },
        { name: 'ip', image: IMG, env: [{ name: 'MY_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }] },
      ],
    });
    await h.until(() => expect(rt.waitingPods()).toEqual(['web']));
    await h.until(() => expect(h.instances('web', 'app')).toHaveLength(1));
    const sb = rt.all().find((c) => c.sandbox && c.podName === 'web')!;
    expect(sb.state).toBe('created');
    const app = h.instances('web', 'app')[0];
    expect(app.state).toBe('created');
    // The container that reads the pod IP waits for the sandbox.
    expect(h.instances('web', 'ip')).toHaveLength(0);
    const hostsFile = app.config!.mounts!.find((m) => m.containerPath === '/etc/hosts')!.hostPath;
    expect(fs.readFileSync(hostsFile, 'utf8')).not.toMatch(/10\.244\.1\.\d+/);
    expect(h.pod('web')!.status.containerStatuses.map((s: any) => s.state.waiting?.reason)).toEqual(['ContainerCreating', 'ContainerCreating']);

    rt.open('web');
    const pod = await h.until(() => {
      const p = h.pod('web')!;
      expect(p.status.phase).toBe('Running');
      return p;
    });
    expect(h.instances('web', 'app').map((c) => c.id)).toEqual([app.id]);
    expect(fs.readFileSync(hostsFile, 'utf8')).toContain(`${pod.status.podIP}\tweb`);
    expect(h.instances('web', 'ip')[0].config!.env).toEqual(expect.arrayContaining([{ name: 'MY_IP', value: pod.status.podIP }]));
    const order = rt.calls.filter((c) => ['createPodSandbox', 'startPodSandbox', 'createContainer', 'startContainer'].includes(c.method)).map((c) => c.method);
    expect(order).toEqual(['createPodSandbox', 'createContainer', 'startPodSandbox', 'startContainer', 'createContainer', 'startContainer']);
    expect(rt.callsOf('runPodSandbox')).toHaveLength(0);
    expect(h.events('web').find((e) => e.message === 'Created container: app')!.count).toBe(1);
    expect(h.events('web').map((e) => e.message)).toEqual(expect.arrayContaining(['Created container: app', 'Created container: ip', 'Started container app', 'Started container ip']));
  });

  test('a sandbox that fails to start takes its prepared containers along; the next attempt starts the pod', async () => {
    rt.gated = false;
    rt.injectError('startPodSandbox', 'no IP for you');
    h.createPod('flaky', { containers: [{ name: 'app', image: IMG }] });
    await h.until(() => expect(h.events('flaky').map((e) => e.reason)).toContain('FailedCreatePodSandBox'));
    expect(h.events('flaky').find((e) => e.reason === 'FailedCreatePodSandBox')!.message).toContain('no IP for you');
    expect(rt.all().filter((c) => c.podName === 'flaky')).toHaveLength(0);
    expect(h.pod('flaky')!.status.phase).toBe('Pending');
    await h.advanceUntil(() => expect(h.pod('flaky')!.status.phase).toBe('Running'), 30_000, 500);
    expect(rt.all().filter((c) => c.podName === 'flaky').map((c) => `${c.containerName}/${c.state}`).sort()).toEqual(['POD/running', 'app/running']);
  });

  test('an image that is not present is pulled after the sandbox started, as before', async () => {
    rt.gated = false;
    rt.setImageScript('registry.example/app:1', { pullDelayMs: 100 });
    h.createPod('pull', { containers: [{ name: 'app', image: 'registry.example/app:1' }] });
    await h.advanceUntil(() => expect(h.pod('pull')!.status.phase).toBe('Running'), 30_000, 100);
    expect(h.events('pull').map((e) => e.message)).toEqual(expect.arrayContaining(['Pulling image "registry.example/app:1"']));
    expect(rt.callsOf('createContainer')).toHaveLength(1);
  });

  test('init containers: only the first is prepared; the containers follow it in order', async () => {
    rt.gated = false;
    rt.setContainerScript('init', { runSeconds: 1 });
    h.createPod('withinit', { initContainers: [{ name: 'init', image: IMG }], containers: [{ name: 'app', image: IMG }] });
    await h.advanceUntil(() => expect(h.pod('withinit')!.status.phase).toBe('Running'), 30_000, 500);
    const created = rt.callsOf('createContainer').map((c) => (c.args[1] as { name: string }).name);
    expect(created).toEqual(['init', 'app']);
    expect(h.instances('withinit', 'app')[0].startedAt!).toBeGreaterThanOrEqual(h.instances('withinit', 'init')[0].finishedAt!);
  });
});

describe('bounded parallelism', () => {
  test('at most maxParallelPodStarts pods start at a time, in arrival order; all report ContainerCreating at once', async () => {
    await start({ maxParallelPodStarts: 2 });
    for (let i = 1; i <= 5; i++) {
      h.createPod(`p${i}`, { containers: [{ name: 'app', image: IMG }] });
      await settle();
    }
    await h.until(() => expect(rt.waitingPods()).toEqual(['p1', 'p2']));
    for (let i = 1; i <= 5; i++) expect(h.pod(`p${i}`)!.status.containerStatuses[0].state.waiting.reason).toBe('ContainerCreating');
    expect(rt.callsOf('createPodSandbox')).toHaveLength(2);

    rt.open('p2');
    await h.until(() => expect(h.pod('p2')!.status.phase).toBe('Running'));
    await h.until(() => expect(rt.waitingPods()).toEqual(['p1', 'p3']));
    rt.open('p1');
    await h.until(() => expect(rt.waitingPods()).toEqual(['p3', 'p4']));
    for (const p of ['p3', 'p4']) rt.open(p);
    await h.until(() => expect(rt.waitingPods()).toEqual(['p5']));
    rt.open('p5');
    for (let i = 1; i <= 5; i++) await h.until(() => expect(h.pod(`p${i}`)!.status.phase).toBe('Running'));
  });

  test('a pod deleted while waiting for a slot stops waiting and is removed', async () => {
    await start({ maxParallelPodStarts: 1 });
    h.createPod('first', { containers: [{ name: 'app', image: IMG }] });
    await h.until(() => expect(rt.waitingPods()).toEqual(['first']));
    h.createPod('second', { containers: [{ name: 'app', image: IMG }], terminationGracePeriodSeconds: 30 });
    await h.until(() => expect(h.pod('second')!.status?.phase).toBe('Pending'));
    h.registry.delete(podsRI, 'default', 'second', {});
    await h.until(() => expect(h.pod('second')).toBeUndefined());
    expect(rt.all().filter((c) => c.podName === 'second')).toHaveLength(0);
    expect(rt.waitingPods()).toEqual(['first']);
    rt.open('first');
    await h.until(() => expect(h.pod('first')!.status.phase).toBe('Running'));
  });

  test('without a limit every pod starts at once', async () => {
    await start({ maxParallelPodStarts: 0 });
    for (let i = 1; i <= 6; i++) h.createPod(`q${i}`, { containers: [{ name: 'app', image: IMG }] });
    await h.until(() => expect(rt.waitingPods().sort()).toEqual(['q1', 'q2', 'q3', 'q4', 'q5', 'q6']));
  });
});

describe('the PLEG after a sync', () => {
  test('a container that exits right after its start (seen only by the final listing) is still restarted', async () => {
    await start();
    rt.gated = false;
    const orig = rt.startContainer.bind(rt);
    let crashes = 0;
    rt.startContainer = async (id: string) => {
      await orig(id);
      if (rt.get(id)?.containerName === 'flash' && crashes++ < 1) rt.crash(id, 3);
    };
    h.createPod('flashy', { containers: [{ name: 'flash', image: IMG }] });
    await h.until(() => expect(h.containerStatus('flashy', 'flash')?.state?.terminated?.exitCode).toBe(3));
    await h.advanceUntil(() => expect(h.containerStatus('flashy', 'flash').state.running).toBeDefined(), 60_000, 500);
    expect(h.containerStatus('flashy', 'flash').restartCount).toBe(1);
  });

  test('the containers a sync created and started do not make the PLEG sync the pod again', async () => {
    await start();
    rt.gated = false;
    h.createPod('quiet', { containers: [{ name: 'app', image: IMG }] });
    await h.until(() => expect(h.pod('quiet')!.status.phase).toBe('Running'));
    const lists = () => rt.callsOf('listContainers').filter((c) => (c.args[0] as { podUid?: string }).podUid).length;
    const before = lists();
    await h.advance(5000);
    expect(lists()).toBe(before);
  });
});

describe('runtimes without createPodSandbox/startPodSandbox', () => {
  test('are driven through runPodSandbox', async () => {
    await start();
    rt.gated = false;
    const plain = rt as unknown as { createPodSandbox?: unknown; startPodSandbox?: unknown };
    plain.createPodSandbox = undefined;
    plain.startPodSandbox = undefined;
    h.createPod('plain', { containers: [{ name: 'app', image: IMG }] });
    await h.until(() => expect(h.pod('plain')!.status.phase).toBe('Running'));
    expect(rt.callsOf('runPodSandbox')).toHaveLength(1);
    expect(rt.callsOf('createPodSandbox')).toHaveLength(0);
  });
});
