/**
 * Kubelet against a real store + apiserver with the FakeRuntime on a ManualClock: pod
 * lifecycle, restart policy and back-off, init containers, probes, graceful deletion,
 * adoption after a kubelet restart, volumes and env.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { KubeletHarness, configMapsRI, podsRI, secretsRI, settle } from './kubelet-harness';
import { LABELS } from '../../src/kubelet/runtime/container-runtime';
import { resourceFor } from '../../src/api/scheme';

jest.setTimeout(60_000);

const IMG = 'minictl/busybox:local';
let h: KubeletHarness;

beforeEach(async () => {
  h = new KubeletHarness();
  await h.start();
});
afterEach(async () => {
  await h.stop();
});

describe('a running pod', () => {
  test('gets a sandbox, its containers, Running phase, Ready conditions and events', async () => {
    h.createPod('web', { containers: [{ name: 'app', image: IMG, command: ['httpd', '-f'], ports: [{ containerPort: 80, hostPort: 8080 }] }] }, { labels: { app: 'web' } });
    const pod = await h.until(() => {
      const p = h.pod('web')!;
      expect(p.status.phase).toBe('Running');
      return p;
    });
    expect(pod.status.podIP).toMatch(/^10\.244\.1\.\d+$/);
    expect(pod.status.podIPs).toEqual([{ ip: pod.status.podIP }]);
    expect(pod.status.hostIP).toBe('127.0.0.1');
    expect(pod.status.startTime).toBeDefined();
    const types = pod.status.conditions.map((c: any) => `${c.type}=${c.status}`);
    expect(types).toEqual(['PodReadyToStartContainers=True', 'Initialized=True', 'Ready=True', 'ContainersReady=True', 'PodScheduled=True']);
    const cs = pod.status.containerStatuses[0];
    expect(cs).toMatchObject({ name: 'app', ready: true, started: true, restartCount: 0, image: IMG, lastState: {} });
    expect(cs.containerID).toMatch(/^fake:\/\/[0-9a-f]{64}$/);
    expect(cs.imageID).toMatch(/^sha256:/);
    expect(cs.state.running.startedAt).toBeDefined();

    const sb = h.rt.all().find((c) => c.sandbox && c.podName === 'web')!;
    expect(sb.sandboxConfig).toMatchObject({ hostname: 'web', attempt: 0, portMappings: [{ containerPort: 80, hostPort: 8080, hostIP: '127.0.0.1', protocol: 'TCP' }] });
    const app = h.instances('web', 'app')[0];
    expect(app.labels[LABELS.podUid]).toBe(pod.metadata.uid);
    expect(app.config?.command).toEqual(['httpd', '-f']);
    expect(app.config?.mounts?.map((m) => m.containerPath)).toEqual(expect.arrayContaining(['/etc/hosts', '/dev/termination-log']));
    const hosts = fs.readFileSync(app.config!.mounts!.find((m) => m.containerPath === '/etc/hosts')!.hostPath, 'utf8');
    expect(hosts).toContain(`${pod.status.podIP}\tweb`);

    const reasons = h.events('web').map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['Pulled', 'Created', 'Started']));
    expect(h.events('web').find((e) => e.reason === 'Pulled')!.message).toBe(`Container image "${IMG}" already present on machine`);
    expect(h.kubelet.containerFor('default', 'web')).toEqual({ containerId: app.id, containerName: 'app' });
    expect(h.kubelet.containerFor('default', 'web', 'app', true)).toBeUndefined();
    expect(h.kubelet.containerFor('default', 'nope')).toBeUndefined();
  });

  test('pods of other nodes are ignored', async () => {
    h.createPod('elsewhere', { nodeName: 'node-2', containers: [{ name: 'app', image: IMG }] });
    await h.advance(3000);
    expect(h.rt.all().filter((c) => c.podName === 'elsewhere')).toHaveLength(0);
    expect(h.pod('elsewhere')!.status.phase).toBe('Pending');
  });
});

describe('restart policy and back-off', () => {
  test('Always: a crashing container restarts after 0, 10, 20, 40 s with CrashLoopBackOff in between', async () => {
    h.rt.setContainerScript('crash', { crashAfterSeconds: 1 });
    h.createPod('crashy', { containers: [{ name: 'crash', image: IMG }] });
    await h.until(() => expect(h.instances('crashy', 'crash')).toHaveLength(1));
    const starts: number[] = [];
    const t0 = h.clock.now();
    for (let n = 1; n <= 5; n++) {
      await h.advanceUntil(() => expect(h.rt.all().filter((c) => c.podName === 'crashy' && c.containerName === 'crash' && c.restartCount === n)).toHaveLength(1), 400_000, 500);
      const inst = h.rt.all().find((c) => c.podName === 'crashy' && c.containerName === 'crash' && c.restartCount === n)!;
      starts.push(inst.createdAt - t0);
    }
    // Each instance runs 1 s; the gaps after each exit follow the kubelet's schedule (the
    // first restart is immediate once the PLEG relist, every 1 s, has seen the exit).
    const gaps = starts.map((s, i) => s - (i === 0 ? 0 : starts[i - 1]) - 1000);
    [0, 10, 20, 40, 80].forEach((want, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(want * 1000);
      expect(gaps[i]).toBeLessThanOrEqual(want * 1000 + 1500);
    });

    // In back-off: waiting CrashLoopBackOff, lastState terminated with the exit code.
    await h.advanceUntil(() => expect(h.containerStatus('crashy', 'crash').state.waiting?.reason).toBe('CrashLoopBackOff'), 10_000, 500);
    const cs = h.containerStatus('crashy', 'crash');
    expect(cs.restartCount).toBe(5);
    expect(cs.state.waiting.message).toMatch(/^back-off 2m40s restarting failed container=crash pod=crashy_default\(/);
    expect(cs.lastState.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    expect(cs.lastState.terminated.startedAt).toBeDefined();
    expect(cs.lastState.terminated.finishedAt).toBeDefined();
    expect(h.pod('crashy')!.status.phase).toBe('Running');
    expect(h.condition('crashy', 'Ready').status).toBe('False');
    expect(h.events('crashy').find((e) => e.reason === 'BackOff')!.message).toMatch(/^Back-off restarting failed container crash in pod crashy_default/);
    // Old instances are garbage-collected: current and previous remain.
    expect(h.instances('crashy', 'crash').length).toBeLessThanOrEqual(2);
    // logs --previous points at the last terminated instance.
    const prev = h.kubelet.containerFor('default', 'crashy', 'crash', true);
    expect(prev?.containerId).toBe(cs.lastState.terminated.containerID.replace('fake://', ''));
  });

  test('OnFailure: exit 0 completes the pod (Succeeded), the sandbox is stopped and statuses are kept', async () => {
    h.rt.setContainerScript('job', { runSeconds: 2, exitCode: 0 });
    h.createPod('done', { restartPolicy: 'OnFailure', containers: [{ name: 'job', image: IMG }] });
    await h.advanceUntil(() => expect(h.pod('done')!.status.phase).toBe('Succeeded'), 20_000, 500);
    const p = h.pod('done')!;
    expect(p.status.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(p.status.conditions.find((c: any) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'PodCompleted' });
    const sb = h.rt.all().find((c) => c.sandbox && c.podName === 'done')!;
    expect(sb.state).toBe('exited');
    const before = JSON.stringify(p.status);
    await h.advance(30_000);
    expect(JSON.stringify(h.pod('done')!.status)).toBe(before);
    expect(h.instances('done', 'job')).toHaveLength(1);
    expect(h.kubelet.containerFor('default', 'done')?.containerId).toBe(h.instances('done', 'job')[0].id);
  });

  test('OnFailure restarts a failing container; Never fails the pod', async () => {
    h.rt.setContainerScript('f', (ctx) => (ctx.restartCount < 1 ? { runSeconds: 1, exitCode: 3 } : { runSeconds: 1, exitCode: 0 }));
    h.createPod('onfail', { restartPolicy: 'OnFailure', containers: [{ name: 'f', image: IMG }] });
    h.createPod('never', { restartPolicy: 'Never', containers: [{ name: 'f', image: IMG }] });
    await h.advanceUntil(() => {
      expect(h.pod('onfail')!.status.phase).toBe('Succeeded');
      expect(h.pod('never')!.status.phase).toBe('Failed');
    }, 60_000, 500);
    expect(h.containerStatus('onfail', 'f')).toMatchObject({ restartCount: 1, state: { terminated: { exitCode: 0 } }, lastState: { terminated: { exitCode: 3 } } });
    expect(h.containerStatus('never', 'f')).toMatchObject({ restartCount: 0, state: { terminated: { exitCode: 3, reason: 'Error' } } });
  });

  test('OOMKilled is reported as the termination reason', async () => {
    h.rt.setContainerScript('oom', { runSeconds: 1, oomKilled: true });
    h.createPod('oom', { restartPolicy: 'Never', containers: [{ name: 'oom', image: IMG, resources: { limits: { memory: '16Mi', cpu: '250m' } } }] });
    await h.advanceUntil(() => expect(h.pod('oom')!.status.phase).toBe('Failed'), 20_000, 500);
    expect(h.containerStatus('oom', 'oom').state.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
    expect(h.instances('oom', 'oom')[0].config?.resources).toEqual({ memoryLimitBytes: 16 * 1024 * 1024, cpuLimitMillis: 250, cpuRequestMillis: 250 });
  });

  test('a missing image: ErrImagePull, then ImagePullBackOff, and the pod starts once the image exists', async () => {
    // pullDelayMs: without it the FakeRuntime caches a failed pull for good.
    h.rt.setImageScript('registry.example/app:1', { missing: true, pullDelayMs: 100 });
    h.createPod('noimg', { containers: [{ name: 'app', image: 'registry.example/app:1' }] });
    await h.advanceUntil(() => expect(h.containerStatus('noimg', 'app').state.waiting?.reason).toBe('ErrImagePull'), 5000, 100);
    expect(h.events('noimg').map((e) => e.message)).toEqual(expect.arrayContaining(['Pulling image "registry.example/app:1"', 'Error: ErrImagePull']));
    await h.advanceUntil(() => expect(h.containerStatus('noimg', 'app').state.waiting?.reason).toBe('ImagePullBackOff'), 30_000, 500);
    expect(h.pod('noimg')!.status.phase).toBe('Pending');
    h.rt.setImageScript('registry.example/app:1', { pullDelayMs: 100 });
    await h.advanceUntil(() => expect(h.pod('noimg')!.status.phase).toBe('Running'), 120_000, 1000);
    expect(h.events('noimg').some((e) => e.message.startsWith('Successfully pulled image "registry.example/app:1"'))).toBe(true);
  });
});

describe('init containers', () => {
  test('run in order, each to completion, before the containers', async () => {
    h.rt.setContainerScript('init-1', { runSeconds: 2 });
    h.rt.setContainerScript('init-2', { runSeconds: 3 });
    h.createPod('inits', { initContainers: [{ name: 'init-1', image: IMG }, { name: 'init-2', image: IMG }], containers: [{ name: 'app', image: IMG }] });
    await h.until(() => expect(h.instances('inits', 'init-1')).toHaveLength(1));
    expect(h.instances('inits', 'init-2')).toHaveLength(0);
    expect(h.pod('inits')!.status.phase).toBe('Pending');
    expect(h.condition('inits', 'Initialized')).toMatchObject({ status: 'False', reason: 'ContainersNotInitialized', message: 'containers with incomplete status: [init-1 init-2]' });
    expect(h.containerStatus('inits', 'app').state.waiting.reason).toBe('PodInitializing');
    await h.advanceUntil(() => expect(h.pod('inits')!.status.phase).toBe('Running'), 20_000, 500);
    const [i1] = h.instances('inits', 'init-1');
    const [i2] = h.instances('inits', 'init-2');
    const [app] = h.instances('inits', 'app');
    expect(i2.createdAt).toBeGreaterThanOrEqual(i1.finishedAt!);
    expect(app.createdAt).toBeGreaterThanOrEqual(i2.finishedAt!);
    expect(h.condition('inits', 'Initialized').status).toBe('True');
    expect(h.containerStatus('inits', 'init-2')).toMatchObject({ ready: true, state: { terminated: { exitCode: 0, reason: 'Completed' } } });
  });

  test('a failing init container is retried with back-off (Always) or fails the pod (Never)', async () => {
    h.rt.setContainerScript('bad', { runSeconds: 1, exitCode: 2 });
    h.createPod('init-retry', { initContainers: [{ name: 'bad', image: IMG }], containers: [{ name: 'app', image: IMG }] });
    h.createPod('init-never', { restartPolicy: 'Never', initContainers: [{ name: 'bad', image: IMG }], containers: [{ name: 'app', image: IMG }] });
    await h.advanceUntil(() => {
      expect(h.pod('init-never')!.status.phase).toBe('Failed');
      expect(h.containerStatus('init-retry', 'bad').state.waiting?.reason).toBe('CrashLoopBackOff');
    }, 60_000, 500);
    expect(h.pod('init-retry')!.status.phase).toBe('Pending');
    expect(h.containerStatus('init-retry', 'bad').lastState.terminated.exitCode).toBe(2);
    expect(h.instances('init-retry', 'app')).toHaveLength(0);
    expect(h.instances('init-never', 'app')).toHaveLength(0);
  });
});

describe('probes', () => {
  test('readiness drives the Ready condition; failing and recovering', async () => {
    let healthy = false;
    h.rt.setContainerScript('web', { exec: (cmd) => (cmd[0] === 'check' ? { exitCode: healthy ? 0 : 1, stdout: healthy ? '' : 'not yet' } : { exitCode: 0 }) });
    h.createPod('ready', { containers: [{ name: 'web', image: IMG, readinessProbe: { exec: { command: ['check'] }, periodSeconds: 2, failureThreshold: 2, successThreshold: 2 } }] });
    await h.until(() => expect(h.pod('ready')!.status.phase).toBe('Running'));
    expect(h.condition('ready', 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [web]' });
    expect(h.containerStatus('ready', 'web').ready).toBe(false);
    await h.advance(5000);
    expect(h.events('ready').find((e) => e.reason === 'Unhealthy')!.message).toBe('Readiness probe failed: not yet');
    healthy = true;
    // successThreshold 2: two successful periods.
    await h.advanceUntil(() => expect(h.condition('ready', 'Ready').status).toBe('True'), 10_000, 1000);
    expect(h.containerStatus('ready', 'web').ready).toBe(true);
    const readyAt = h.condition('ready', 'Ready').lastTransitionTime;
    healthy = false;
    await h.advanceUntil(() => expect(h.condition('ready', 'Ready').status).toBe('False'), 10_000, 1000);
    expect(h.condition('ready', 'Ready').lastTransitionTime >= readyAt).toBe(true);
    expect(h.containerStatus('ready', 'web').restartCount).toBe(0);
  });

  test('liveness failure kills and restarts the container', async () => {
    h.rt.setContainerScript('live', (ctx) => ({ exec: () => ({ exitCode: ctx.restartCount === 0 ? 1 : 0, stdout: 'sick' }) }));
    h.createPod('live', { containers: [{ name: 'live', image: IMG, livenessProbe: { exec: { command: ['check'] }, initialDelaySeconds: 5, periodSeconds: 3, failureThreshold: 2 } }], terminationGracePeriodSeconds: 5 });
    await h.until(() => expect(h.pod('live')!.status.phase).toBe('Running'));
    await h.advance(4000);
    expect(h.rt.callsOf('exec')).toHaveLength(0); // initialDelaySeconds
    await h.advanceUntil(() => expect(h.containerStatus('live', 'live').restartCount).toBe(1), 30_000, 500);
    const cs = h.containerStatus('live', 'live');
    expect(cs.state.running).toBeDefined();
    expect(cs.lastState.terminated.exitCode).toBe(143);
    const ev = h.events('live');
    expect(ev.find((e) => e.reason === 'Unhealthy')!.message).toBe('Liveness probe failed: sick');
    expect(ev.find((e) => e.reason === 'Killing')!.message).toBe('Container live failed liveness probe, will be restarted');
    await h.advance(20_000);
    expect(h.containerStatus('live', 'live').restartCount).toBe(1);
  });

  test('startup probe gates liveness and readiness; httpGet probes reach the pod', async () => {
    let code = 503;
    const srv = http.createServer((_req, res) => {
      res.statusCode = code;
      res.end('x');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    try {
      h.createPod('startup', {
        containers: [
          {
            name: 'app',
            image: IMG,
            ports: [{ name: 'http', containerPort: port }],
            startupProbe: { httpGet: { host: '127.0.0.1', port: 'http', path: '/healthz' }, periodSeconds: 1, failureThreshold: 30 },
            readinessProbe: { httpGet: { host: '127.0.0.1', port, path: '/ready' }, periodSeconds: 1 },
          },
        ],
      });
      await h.until(() => expect(h.pod('startup')!.status.phase).toBe('Running'));
      for (let i = 0; i < 3; i++) {
        await h.advance(1000);
        await settle(20);
      }
      await h.until(() => expect(h.events('startup').some((e) => e.message === 'Startup probe failed: HTTP probe failed with statuscode: 503')).toBe(true));
      expect(h.containerStatus('startup', 'app')).toMatchObject({ started: false, ready: false });
      code = 200;
      await h.until(async () => {
        await h.advance(1000);
        expect(h.containerStatus('startup', 'app')).toMatchObject({ started: true, ready: true });
      });
      expect(h.condition('startup', 'Ready').status).toBe('True');
    } finally {
      srv.close();
    }
  });
});

describe('graceful deletion', () => {
  test('preStop, SIGTERM with the grace period, then the pod is removed from the API', async () => {
    h.rt.setContainerScript('app', { ignoreSigterm: true });
    h.createPod('bye', { terminationGracePeriodSeconds: 20, containers: [{ name: 'app', image: IMG, lifecycle: { preStop: { exec: { command: ['sh', '-c', 'sleep 1'] } } } }] });
    await h.until(() => expect(h.pod('bye')!.status.phase).toBe('Running'));
    const uid = h.pod('bye')!.metadata.uid!;
    const id = h.instances('bye', 'app')[0].id;
    const r = h.registry.delete(podsRI, 'default', 'bye', {});
    expect(r.deleted).toBe(false);
    await h.until(() => expect(h.rt.callsOf('stopContainer').some((c) => c.args[0] === id)).toBe(true));
    expect(h.rt.callsOf('exec').map((c) => c.args[1])).toEqual([['sh', '-c', 'sleep 1']]);
    expect(h.rt.callsOf('stopContainer').find((c) => c.args[0] === id)!.args[1]).toBe(20);
    expect(h.pod('bye')).toBeDefined(); // still terminating: SIGTERM ignored
    await h.advance(19_000);
    expect(h.pod('bye')).toBeDefined();
    await h.advance(2000);
    await h.until(() => expect(h.pod('bye')).toBeUndefined());
    expect(h.events('bye').find((e) => e.reason === 'Killing')!.message).toBe('Stopping container app');
    await h.until(() => expect(h.rt.all().filter((c) => c.podUid === uid)).toHaveLength(0));
    expect(fs.existsSync(path.join(h.dataDir, 'pods', uid))).toBe(false);
  });

  test('force deletion kills and cleans up', async () => {
    h.createPod('force', { containers: [{ name: 'app', image: IMG }] });
    await h.until(() => expect(h.pod('force')!.status.phase).toBe('Running'));
    const uid = h.pod('force')!.metadata.uid!;
    h.registry.delete(podsRI, 'default', 'force', { gracePeriodSeconds: 0 });
    expect(h.pod('force')).toBeUndefined();
    await h.until(() => expect(h.rt.all().filter((c) => c.podUid === uid)).toHaveLength(0));
  });
});

describe('kubelet restart', () => {
  test('adopts running pods without recreating them and removes orphans', async () => {
    h.createPod('keep', { containers: [{ name: 'app', image: IMG }] });
    h.createPod('gone', { containers: [{ name: 'app', image: IMG }] });
    await h.until(() => {
      expect(h.pod('keep')!.status.phase).toBe('Running');
      expect(h.pod('gone')!.status.phase).toBe('Running');
    });
    const goneUid = h.pod('gone')!.metadata.uid!;
    const keepIds = h.rt.all().filter((c) => c.podName === 'keep').map((c) => c.id);
    await h.stopKubelet();
    // While the kubelet is down, "gone" is removed from the API.
    h.registry.delete(podsRI, 'default', 'gone', { gracePeriodSeconds: 0 });
    expect(fs.existsSync(path.join(h.dataDir, 'pods', goneUid))).toBe(true);
    h.rt.clearCalls();
    await h.startKubelet();
    await h.advance(3000);
    expect(h.rt.callsOf('runPodSandbox')).toHaveLength(0);
    expect(h.rt.callsOf('createContainer')).toHaveLength(0);
    expect(h.rt.all().filter((c) => c.podName === 'keep').map((c) => c.id)).toEqual(keepIds);
    expect(h.rt.all().filter((c) => c.podUid === goneUid)).toHaveLength(0);
    expect(fs.existsSync(path.join(h.dataDir, 'pods', goneUid))).toBe(false);
    expect(h.pod('keep')!.status.phase).toBe('Running');
    expect(h.condition('keep', 'Ready').status).toBe('True');
  });

  test('stopAllContainers stops everything; a new kubelet restarts the pods in new sandboxes', async () => {
    h.createPod('again', { containers: [{ name: 'app', image: IMG }] });
    await h.until(() => expect(h.pod('again')!.status.phase).toBe('Running'));
    await h.kubelet.stopAllContainers();
    expect(h.rt.all().every((c) => c.state === 'exited')).toBe(true);
    await h.advance(5000);
    expect(h.rt.all().every((c) => c.state === 'exited')).toBe(true);
    await h.stopKubelet();
    await h.startKubelet();
    await h.advanceUntil(() => expect(h.containerStatus('again', 'app')).toMatchObject({ restartCount: 1, state: { running: {} } }), 10_000, 500);
    expect(h.rt.all().filter((c) => c.sandbox && c.podName === 'again' && c.state === 'running')).toHaveLength(1);
    expect(h.events('again').some((e) => e.reason === 'SandboxChanged')).toBe(true);
  });
});

describe('configuration', () => {
  test('env from configMap/secret/fieldRef with $(VAR) expansion; configMap volume updated in place', async () => {
    h.registry.create(configMapsRI, 'default', { metadata: { name: 'cfg' }, data: { color: 'blue', 'app.conf': 'v=1\n' } });
    h.registry.create(secretsRI, 'default', { metadata: { name: 'sec' }, stringData: { password: 's3cret' } });
    h.createPod(
      'conf',
      {
        containers: [
          {
            name: 'app',
            image: IMG,
            command: ['echo', '$(GREETING)', '$$(NOT)'],
            env: [
              { name: 'COLOR', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'color' } } },
              { name: 'PASS', valueFrom: { secretKeyRef: { name: 'sec', key: 'password' } } },
              { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              { name: 'GREETING', value: 'hello $(NAME) in $(COLOR)' },
              { name: 'MISSING', valueFrom: { configMapKeyRef: { name: 'nope', key: 'x', optional: true } } },
            ],
            envFrom: [{ prefix: 'CFG_', configMapRef: { name: 'cfg' } }],
            volumeMounts: [{ name: 'cfg', mountPath: '/etc/cfg' }],
          },
        ],
        volumes: [{ name: 'cfg', configMap: { name: 'cfg', items: [{ key: 'app.conf', path: 'app.conf', mode: 0o600 }] } }],
      },
      { labels: { a: 'b' } },
    );
    await h.until(() => expect(h.pod('conf')!.status.phase).toBe('Running'));
    const cfg = h.instances('conf', 'app')[0].config!;
    const env = Object.fromEntries(cfg.env!.map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ COLOR: 'blue', PASS: 's3cret', NAME: 'conf', IP: h.pod('conf')!.status.podIP, GREETING: 'hello conf in blue', CFG_color: 'blue' });
    expect('MISSING' in env).toBe(false);
    expect(cfg.command).toEqual(['echo', 'hello conf in blue', '$(NOT)']);
    const m = cfg.mounts!.find((x) => x.containerPath === '/etc/cfg')!;
    expect(m.readOnly).toBe(true);
    const file = path.join(m.hostPath, 'app.conf');
    expect(fs.readFileSync(file, 'utf8')).toBe('v=1\n');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    h.registry.guaranteedUpdate(configMapsRI, 'default', 'cfg', (o) => ({ ...o, data: { ...o.data, 'app.conf': 'v=2\n' } }));
    await h.until(() => expect(fs.readFileSync(file, 'utf8')).toBe('v=2\n'));
    expect(h.instances('conf', 'app')).toHaveLength(1);
  });

  test('a missing configMap: CreateContainerConfigError, FailedMount; both recover when it appears', async () => {
    h.createPod('needs-env', { containers: [{ name: 'app', image: IMG, env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'later', key: 'x' } } }] }] });
    h.createPod('needs-vol', { containers: [{ name: 'app', image: IMG, volumeMounts: [{ name: 'v', mountPath: '/v' }] }], volumes: [{ name: 'v', configMap: { name: 'later' } }] });
    await h.until(() => {
      expect(h.containerStatus('needs-env', 'app').state.waiting).toEqual({ reason: 'CreateContainerConfigError', message: 'configmap "later" not found' });
      expect(h.containerStatus('needs-vol', 'app').state.waiting).toEqual({ reason: 'ContainerCreating' });
    });
    expect(h.events('needs-vol').find((e) => e.reason === 'FailedMount')!.message).toBe('MountVolume.SetUp failed for volume "v" : configmap "later" not found');
    h.registry.create(configMapsRI, 'default', { metadata: { name: 'later' }, data: { x: '1' } });
    await h.until(() => {
      expect(h.pod('needs-env')!.status.phase).toBe('Running');
      expect(h.pod('needs-vol')!.status.phase).toBe('Running');
    });
  });

  test('privileged containers are refused unless allowed', async () => {
    h.createPod('priv', { containers: [{ name: 'app', image: IMG, securityContext: { privileged: true } }] });
    await h.until(() => expect(h.containerStatus('priv', 'app').state.waiting?.reason).toBe('CreateContainerConfigError'));
    expect(h.containerStatus('priv', 'app').state.waiting.message).toMatch(/privileged containers are not allowed/);
  });

  test('activeDeadlineSeconds fails the pod with DeadlineExceeded', async () => {
    h.createPod('deadline', { activeDeadlineSeconds: 30, containers: [{ name: 'app', image: IMG }] });
    await h.until(() => expect(h.pod('deadline')!.status.phase).toBe('Running'));
    await h.advanceUntil(() => expect(h.pod('deadline')!.status.phase).toBe('Failed'), 60_000, 1000);
    expect(h.pod('deadline')!.status).toMatchObject({ reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' });
  });

  test('a changed image restarts the container', async () => {
    h.rt.addImage('minictl/busybox:v2');
    h.createPod('upd', { containers: [{ name: 'app', image: IMG }] });
    await h.until(() => expect(h.pod('upd')!.status.phase).toBe('Running'));
    h.registry.guaranteedUpdate(podsRI, 'default', 'upd', (p) => {
      p.spec.containers[0].image = 'minictl/busybox:v2';
      return p;
    });
    await h.until(() => expect(h.containerStatus('upd', 'app')).toMatchObject({ image: 'minictl/busybox:v2', restartCount: 1, state: { running: {} } }));
    expect(h.events('upd').some((e) => e.message === 'Container app definition changed, will be restarted')).toBe(true);
  });
});

describe('more lifecycle details', () => {
  test('the status is written only when it changes', async () => {
    h.createPod('quiet', { containers: [{ name: 'app', image: IMG }] });
    await h.until(() => expect(h.condition('quiet', 'Ready')?.status).toBe('True'));
    await h.advance(3000);
    const rv = h.pod('quiet')!.metadata.resourceVersion;
    await h.advance(20_000);
    expect(h.pod('quiet')!.metadata.resourceVersion).toBe(rv);
  });

  test('the same instance can be started again after stopAllContainers', async () => {
    h.createPod('phoenix', { containers: [{ name: 'app', image: IMG }] });
    await h.until(() => expect(h.pod('phoenix')!.status.phase).toBe('Running'));
    await h.kubelet.stopAllContainers();
    await h.stopKubelet();
    const ctl = new AbortController();
    await h.kubelet.start(ctl.signal);
    await h.advanceUntil(() => expect(h.containerStatus('phoenix', 'app')).toMatchObject({ restartCount: 1, state: { running: {} } }), 10_000, 500);
    ctl.abort();
    await h.kubelet.stopped();
    await h.startKubelet();
  });

  test('a restartable init container (sidecar) starts before and runs alongside the containers', async () => {
    h.rt.setContainerScript('main', { runSeconds: 5, exitCode: 0 });
    h.createPod('sidecar', { restartPolicy: 'Never', initContainers: [{ name: 'proxy', image: IMG, restartPolicy: 'Always' }], containers: [{ name: 'main', image: IMG }] });
    await h.until(() => expect(h.pod('sidecar')!.status.phase).toBe('Running'));
    expect(h.containerStatus('sidecar', 'proxy')).toMatchObject({ state: { running: {} }, started: true, ready: true });
    expect(h.instances('sidecar', 'main')[0].createdAt).toBeGreaterThanOrEqual(h.instances('sidecar', 'proxy')[0].createdAt);
    await h.advanceUntil(() => expect(h.pod('sidecar')!.status.phase).toBe('Succeeded'), 20_000, 500);
    expect(h.instances('sidecar', 'proxy')[0].state).toBe('exited');
  });

  test('a failing postStart hook kills the container (FailedPostStartHook)', async () => {
    h.rt.setContainerScript('hooked', (ctx) => ({ exec: (cmd) => (cmd[0] === 'setup' ? { exitCode: ctx.restartCount === 0 ? 1 : 0, stdout: 'setup failed' } : { exitCode: 0 }) }));
    h.createPod('hook', { containers: [{ name: 'hooked', image: IMG, lifecycle: { postStart: { exec: { command: ['setup'] } } } }] });
    await h.advanceUntil(() => expect(h.containerStatus('hook', 'hooked')).toMatchObject({ restartCount: 1, state: { running: {} } }), 20_000, 500);
    const ev = h.events('hook').find((e) => e.reason === 'FailedPostStartHook')!;
    expect(ev.message).toMatch(/^Exec lifecycle hook \(\["setup"\]\) for Container "hooked" in Pod "hook_default\(.*\)" failed - error: setup failed$/);
  });

  test('downward API volume follows label changes; termination messages are reported', async () => {
    h.rt.setContainerScript('app', { runSeconds: 5, exitCode: 4 });
    h.createPod(
      'downward',
      {
        restartPolicy: 'Never',
        containers: [{ name: 'app', image: IMG, volumeMounts: [{ name: 'info', mountPath: '/info' }] }],
        volumes: [{ name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } }],
      },
      { labels: { v: '1' } },
    );
    await h.until(() => expect(h.pod('downward')!.status.phase).toBe('Running'));
    const cfg = h.instances('downward', 'app')[0].config!;
    const labelsFile = path.join(cfg.mounts!.find((m) => m.containerPath === '/info')!.hostPath, 'labels');
    expect(fs.readFileSync(labelsFile, 'utf8')).toBe('v="1"');
    h.registry.guaranteedUpdate(podsRI, 'default', 'downward', (p) => {
      p.metadata.labels = { v: '2' };
      return p;
    });
    await h.until(() => expect(fs.readFileSync(labelsFile, 'utf8')).toBe('v="2"'));
    // The container writes its termination message, then exits.
    fs.writeFileSync(cfg.mounts!.find((m) => m.containerPath === '/dev/termination-log')!.hostPath, 'bad config');
    await h.advanceUntil(() => expect(h.pod('downward')!.status.phase).toBe('Failed'), 20_000, 500);
    expect(h.containerStatus('downward', 'app').state.terminated).toMatchObject({ exitCode: 4, reason: 'Error', message: 'bad config' });
  });

  test('cluster DNS, hostname, hostAliases and Service env vars (enableServiceLinks)', async () => {
    await h.stopKubelet();
    await h.startKubelet({ dns: { servers: ['10.96.0.10'] }, serviceEnv: (ns) => ({ KUBERNETES_SERVICE_HOST: '10.96.0.1', [`WEB_${ns.toUpperCase()}_PORT`]: 'tcp://10.96.0.20:80' }) });
    h.createPod('dns', { hostname: 'box', subdomain: 'grp', hostAliases: [{ ip: '1.2.3.4', hostnames: ['alias'] }], containers: [{ name: 'app', image: IMG }] });
    h.createPod('nolinks', { enableServiceLinks: false, dnsPolicy: 'Default', containers: [{ name: 'app', image: IMG }] });
    await h.until(() => {
      expect(h.pod('dns')!.status.phase).toBe('Running');
      expect(h.pod('nolinks')!.status.phase).toBe('Running');
    });
    const sb = h.rt.all().find((c) => c.sandbox && c.podName === 'dns')!;
    expect(sb.sandboxConfig).toMatchObject({ hostname: 'box', dns: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], options: ['ndots:5'] } });
    expect(h.rt.all().find((c) => c.sandbox && c.podName === 'nolinks')!.sandboxConfig!.dns).toBeUndefined();
    const env = (pod: string) => Object.fromEntries(h.instances(pod, 'app')[0].config!.env!.map((e) => [e.name, e.value]));
    expect(env('dns')).toEqual({ KUBERNETES_SERVICE_HOST: '10.96.0.1', WEB_DEFAULT_PORT: 'tcp://10.96.0.20:80' });
    expect(env('nolinks')).toEqual({ KUBERNETES_SERVICE_HOST: '10.96.0.1' });
    const hosts = fs.readFileSync(h.instances('dns', 'app')[0].config!.mounts!.find((m) => m.containerPath === '/etc/hosts')!.hostPath, 'utf8');
    expect(hosts).toContain(`${h.pod('dns')!.status.podIP}\tbox.grp.default.svc.cluster.local\tbox`);
    expect(hosts).toContain('1.2.3.4\talias');
  });

  test('hostIP is the Node InternalIP when the Node lists one', async () => {
    h.registry.create(resourceFor('', 'nodes')!, undefined, { metadata: { name: 'node-1' }, status: { addresses: [{ type: 'InternalIP', address: '10.244.1.1' }] } });
    h.createPod('hostip', { containers: [{ name: 'app', image: IMG, env: [{ name: 'HOST', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } }] }] });
    await h.until(() => expect(h.pod('hostip')!.status.hostIP).toBe('10.244.1.1'));
    await h.until(() => expect(h.instances('hostip', 'app')[0].config!.env).toEqual([{ name: 'HOST', value: '10.244.1.1' }]));
  });
});
