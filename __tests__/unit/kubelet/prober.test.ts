import { Prober, ProbeManager, resolvePort, type HttpGetFn, type ProbedContainerState, type TcpConnectFn } from '../../../src/kubelet/prober';
import { FakeRuntime, ManualClock } from '../../../src/kubelet/runtime/fake/fake-runtime';
import type { KObject } from '../../../src/api/types';

const T0 = 1_000_000;

async function runningContainer(rt: FakeRuntime, exec?: (cmd: string[]) => { exitCode?: number; stdout?: string; delayMs?: number }): Promise<string> {
  const sb = await rt.runPodSandbox({ podUid: 'u1', podName: 'p', namespace: 'default' });
  if (exec) rt.setContainerScript('app', { exec: (cmd) => exec(cmd) });
  const id = await rt.createContainer(sb.id, { name: 'app', image: 'img:1' });
  await rt.startContainer(id);
  return id;
}

describe('Prober', () => {
  function setup(httpGet?: HttpGetFn, tcpConnect?: TcpConnectFn) {
    const clock = new ManualClock(T0);
    const rt = new FakeRuntime({ clock, images: ['img:1'] });
    return { clock, rt, prober: new Prober({ runtime: rt, clock, httpGet, tcpConnect }) };
  }
  const container = { name: 'app', ports: [{ name: 'http', containerPort: 8080 }] };

  test.each([
    [200, 'success', 'ok'],
    [302, 'success', 'ok'],
    [399, 'success', 'ok'],
    [404, 'failure', 'HTTP probe failed with statuscode: 404'],
    [500, 'failure', 'HTTP probe failed with statuscode: 500'],
  ])('httpGet answering %d → %s', async (status, result, output) => {
    const calls: Array<{ url: string; headers: Record<string, string> }> = [];
    const { prober } = setup(async (req) => {
      calls.push(req);
      return { status, body: 'ok' };
    });
    const r = await prober.probe({ httpGet: { port: 'http', path: 'healthz', httpHeaders: [{ name: 'X-Probe', value: '1' }] }, timeoutSeconds: 1 }, { podIP: '10.244.1.7', containerId: 'x', container });
    expect(r).toEqual({ result, output });
    expect(calls[0].url).toBe('http://10.244.1.7:8080/healthz');
    expect(calls[0].headers).toMatchObject({ 'User-Agent': 'kube-probe/1.32', 'X-Probe': '1' });
  });

  test('httpGet errors read like the kubelet', async () => {
    const { prober } = setup(async () => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    });
    const r = await prober.probe({ httpGet: { host: '127.0.0.1', port: 81, scheme: 'HTTPS', path: '/' } }, { containerId: 'x', container });
    expect(r).toEqual({ result: 'failure', output: 'Get "https://127.0.0.1:81/": dial tcp 127.0.0.1:81: connect: connection refused' });
  });

  test('httpGet timing out (on the injected clock)', async () => {
    const { prober, clock } = setup(() => new Promise(() => undefined));
    const p = prober.probe({ httpGet: { port: 80, path: '/' }, timeoutSeconds: 2 }, { podIP: '10.0.0.1', containerId: 'x', container });
    await clock.advance(2000);
    expect(await p).toEqual({ result: 'failure', output: 'Get "http://10.0.0.1:80/": context deadline exceeded (Client.Timeout exceeded while awaiting headers)' });
  });

  test('tcpSocket and grpc (as a TCP connect)', async () => {
    const seen: string[] = [];
    const { prober } = setup(undefined, async ({ host, port }) => {
      seen.push(`${host}:${port}`);
      if (port === 9) throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    });
    const target = { podIP: '10.244.1.7', containerId: 'x', container };
    expect(await prober.probe({ tcpSocket: { port: 'http' } }, target)).toEqual({ result: 'success', output: '' });
    expect(await prober.probe({ tcpSocket: { port: 9 } }, target)).toEqual({ result: 'failure', output: 'dial tcp 10.244.1.7:9: connect: connection refused' });
    expect(await prober.probe({ grpc: { port: 8080 } }, target)).toMatchObject({ result: 'success' });
    expect(seen).toEqual(['10.244.1.7:8080', '10.244.1.7:9', '10.244.1.7:8080']);
    expect(await prober.probe({ tcpSocket: { port: 'nope' } }, target)).toEqual({ result: 'failure', output: 'unable to resolve port "nope"' });
  });

  test('exec: exit code, output, timeout', async () => {
    const { prober, rt, clock } = setup();
    const id = await runningContainer(rt, (cmd) => (cmd[0] === 'ok' ? { exitCode: 0, stdout: 'fine' } : cmd[0] === 'slow' ? { exitCode: 0, delayMs: 5000 } : { exitCode: 2, stdout: 'broken\n' }));
    const target = { containerId: id, container };
    expect(await prober.probe({ exec: { command: ['ok'] } }, target)).toEqual({ result: 'success', output: 'fine' });
    expect(await prober.probe({ exec: { command: ['bad'] } }, target)).toEqual({ result: 'failure', output: 'broken' });
    const slow = prober.probe({ exec: { command: ['slow', 'x'] }, timeoutSeconds: 1 }, target);
    await clock.advance(1000);
    expect(await slow).toEqual({ result: 'failure', output: 'command "slow x" timed out' });
  });

  test('lifecycle sleep handler waits on the clock, bounded by the timeout', async () => {
    const { prober, clock } = setup();
    let done = false;
    const p = prober.runHandler({ sleep: { seconds: 5 } }, { containerId: 'x', container }, 30_000).then((r) => {
      done = true;
      return r;
    });
    await clock.advance(4000);
    expect(done).toBe(false);
    await clock.advance(1000);
    expect(await p).toEqual({ result: 'success', output: '' });
    const capped = prober.runHandler({ sleep: { seconds: 60 } }, { containerId: 'x', container }, 2000);
    await clock.advance(2000);
    expect(await capped).toMatchObject({ result: 'success' });
  });

  test('resolvePort', () => {
    expect(resolvePort(80, container)).toBe(80);
    expect(resolvePort('8081', container)).toBe(8081);
    expect(resolvePort('http', container)).toBe(8080);
    expect(resolvePort('nope', container)).toBeUndefined();
  });
});

describe('ProbeManager', () => {
  const pod = (c: Record<string, unknown>): KObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid: 'u1' }, spec: { containers: [{ name: 'app', ...c }] } });

  /** A manager whose probes answer from `answers` (per probe type), recording each run. */
  function setup(answers: Record<string, () => 'success' | 'failure'>) {
    const clock = new ManualClock(T0);
    const runs: Array<{ type: string; at: number }> = [];
    const changes: number[] = [];
    const failures: string[] = [];
    const m = new ProbeManager({
      clock,
      prober: {
        probe: async (probe) => {
          const type = probe.__type as string;
          runs.push({ type, at: clock.now() - T0 });
          const result = answers[type]();
          return { result, output: result === 'failure' ? `${type} says no` : '' };
        },
      },
      onChange: () => changes.push(clock.now() - T0),
      onFailure: (_p, _c, type, out) => failures.push(`${type}: ${out}`),
    });
    const state = (id: string, running = true): Map<string, ProbedContainerState> => new Map([['app', { id, running, startedAt: clock.now() }]]);
    return { clock, m, runs, changes, failures, state };
  }

  test('readiness: initial delay, period, failure and success thresholds', async () => {
    let ready: 'success' | 'failure' = 'failure';
    const { clock, m, runs, changes, failures, state } = setup({ readiness: () => ready });
    const c = { readinessProbe: { __type: 'readiness', exec: {}, initialDelaySeconds: 3, periodSeconds: 2, successThreshold: 2, failureThreshold: 2 } };
    const p = pod(c);
    m.syncPod(p, '10.0.0.1', state('c1'), false);
    expect(m.isReady(c, 'c1')).toBe(false);
    await clock.advance(2999);
    expect(runs).toHaveLength(0);
    await clock.advance(1);
    expect(runs.map((r) => r.at)).toEqual([3000]);
    expect(failures).toEqual(['readiness: readiness says no']);
    ready = 'success';
    await clock.advance(2000);
    expect(m.isReady(c, 'c1')).toBe(false); // one success of two
    await clock.advance(2000);
    expect(m.isReady(c, 'c1')).toBe(true);
    expect(changes).toEqual([7000]);
    ready = 'failure';
    await clock.advance(2000);
    expect(m.isReady(c, 'c1')).toBe(true); // one failure of two
    await clock.advance(2000);
    expect(m.isReady(c, 'c1')).toBe(false);
    expect(runs.map((r) => r.at)).toEqual([3000, 5000, 7000, 9000, 11000]);
  });

  test('a container without a readiness probe is ready; a stopped container is not', async () => {
    const { m, state } = setup({ readiness: () => 'success' });
    const c = { readinessProbe: { __type: 'readiness', exec: {}, periodSeconds: 1 } };
    expect(m.isReady({}, 'c1')).toBe(true);
    m.syncPod(pod(c), undefined, state('c1'), false);
    m.syncPod(pod(c), undefined, state('c1', false), false);
    expect(m.isReady(c, 'c1')).toBe(false);
  });

  test('liveness: a failure past the threshold holds until the container is replaced', async () => {
    let live: 'success' | 'failure' = 'failure';
    const { clock, m, runs, state } = setup({ liveness: () => live });
    const c = { livenessProbe: { __type: 'liveness', exec: {}, periodSeconds: 1, failureThreshold: 3 } };
    m.syncPod(pod(c), undefined, state('c1'), false);
    expect(m.failedProbe(c, 'c1')).toBeUndefined();
    await clock.advance(1000);
    expect(m.failedProbe(c, 'c1')).toBeUndefined();
    await clock.advance(1000);
    expect(m.failedProbe(c, 'c1')).toBe('liveness');
    await clock.advance(10_000);
    expect(runs).toHaveLength(3); // on hold
    live = 'success';
    m.syncPod(pod(c), undefined, state('c2'), false);
    expect(m.failedProbe(c, 'c2')).toBeUndefined();
    await clock.advance(0);
    expect(runs).toHaveLength(4);
  });

  test('startup gates liveness and readiness; startup failure marks the container for restart', async () => {
    let started: 'success' | 'failure' = 'failure';
    const { clock, m, runs, state } = setup({ startup: () => started, liveness: () => 'success', readiness: () => 'success' });
    const c = {
      startupProbe: { __type: 'startup', exec: {}, periodSeconds: 1, failureThreshold: 5 },
      livenessProbe: { __type: 'liveness', exec: {}, periodSeconds: 1 },
      readinessProbe: { __type: 'readiness', exec: {}, periodSeconds: 1 },
    };
    m.syncPod(pod(c), undefined, state('c1'), false);
    await clock.advance(2000);
    expect(runs.filter((r) => r.type !== 'startup')).toHaveLength(0);
    expect(m.isStarted(c, 'c1')).toBe(false);
    started = 'success';
    await clock.advance(1000);
    expect(m.isStarted(c, 'c1')).toBe(true);
    await clock.advance(0);
    expect(m.isReady(c, 'c1')).toBe(true);
    expect(new Set(runs.map((r) => r.type))).toEqual(new Set(['startup', 'liveness', 'readiness']));
    const startupRuns = runs.filter((r) => r.type === 'startup').length;
    await clock.advance(5000);
    expect(runs.filter((r) => r.type === 'startup')).toHaveLength(startupRuns); // done once started

    started = 'failure';
    m.syncPod(pod(c), undefined, state('c2'), false);
    await clock.advance(5000);
    expect(m.failedProbe(c, 'c2')).toBe('startup');
  });

  test('terminating pods stop liveness and startup probing; removePod stops everything', async () => {
    const { clock, m, runs, state } = setup({ liveness: () => 'success', readiness: () => 'success' });
    const c = { livenessProbe: { __type: 'liveness', exec: {}, periodSeconds: 1 }, readinessProbe: { __type: 'readiness', exec: {}, periodSeconds: 1 } };
    m.syncPod(pod(c), undefined, state('c1'), true);
    await clock.advance(3000);
    expect(new Set(runs.map((r) => r.type))).toEqual(new Set(['readiness']));
    m.removePod('u1');
    const n = runs.length;
    await clock.advance(3000);
    expect(runs).toHaveLength(n);
  });
});
