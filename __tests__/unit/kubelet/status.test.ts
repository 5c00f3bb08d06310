import {
  computePodStatus,
  getPhase,
  mergePodStatus,
  rfc3339,
  toApiContainerStatus,
  type ContainerView,
  type InstanceView,
} from '../../../src/kubelet/status-manager';
import type { KObject } from '../../../src/api/types';

const T0 = Date.UTC(2024, 0, 1, 12, 0, 0);

const running = (id = 'c1', restartCount = 0): InstanceView => ({ id, state: 'running', restartCount, startedAt: T0, imageRef: 'sha256:abc' });
const exited = (exitCode: number, id = 'c0', restartCount = 0, reason?: string): InstanceView => ({
  id,
  state: 'exited',
  restartCount,
  exitCode,
  reason: reason ?? (exitCode === 0 ? 'Completed' : 'Error'),
  startedAt: T0,
  finishedAt: T0 + 5000,
  imageRef: 'sha256:abc',
});

// Shorthands for API container statuses used by getPhase.
const sRunning = (name: string) => ({ name, state: { running: {} }, lastState: {} });
const sWaiting = (name: string, lastExit?: number) => ({ name, state: { waiting: { reason: 'X' } }, lastState: lastExit === undefined ? {} : { terminated: { exitCode: lastExit } } });
const sTerminated = (name: string, exitCode: number) => ({ name, state: { terminated: { exitCode } }, lastState: {} });

describe('getPhase', () => {
  const spec = (restartPolicy: string, containers = ['a', 'b'], inits: string[] = []) => ({
    restartPolicy,
    containers: containers.map((name) => ({ name })),
    initContainers: inits.map((name) => ({ name })),
  });
  test.each([
    ['all running', spec('Always'), [], [sRunning('a'), sRunning('b')], false, 'Running'],
    ['one waiting to start', spec('Always'), [], [sRunning('a'), sWaiting('b')], false, 'Pending'],
    ['one unknown', spec('Always'), [], [sRunning('a')], false, 'Pending'],
    ['all exited 0, Always (restarting)', spec('Always'), [], [sTerminated('a', 0), sTerminated('b', 0)], false, 'Running'],
    ['all exited 0, OnFailure', spec('OnFailure'), [], [sTerminated('a', 0), sTerminated('b', 0)], false, 'Succeeded'],
    ['one failed, Never', spec('Never'), [], [sTerminated('a', 0), sTerminated('b', 1)], false, 'Failed'],
    ['one failed, OnFailure (restarting)', spec('OnFailure'), [], [sTerminated('a', 0), sWaiting('b', 1)], false, 'Running'],
    ['crash loop counts as stopped', spec('Always', ['a']), [], [sWaiting('a', 1)], false, 'Running'],
    ['one running one done, Never', spec('Never'), [], [sRunning('a'), sTerminated('b', 0)], false, 'Running'],
    ['terminal: all 0', spec('Always'), [], [sTerminated('a', 0), sTerminated('b', 0)], true, 'Succeeded'],
    ['terminal: one 143', spec('Always'), [], [sTerminated('a', 0), sTerminated('b', 143)], true, 'Failed'],
    ['init running', spec('Always', ['a'], ['i']), [sRunning('i')], [sWaiting('a')], false, 'Pending'],
    ['init not started', spec('Always', ['a'], ['i']), [], [sWaiting('a')], false, 'Pending'],
    ['init failed, Never', spec('Never', ['a'], ['i']), [sTerminated('i', 1)], [sWaiting('a')], false, 'Failed'],
    ['init failed, Always (retrying)', spec('Always', ['a'], ['i']), [sWaiting('i', 1)], [sWaiting('a')], false, 'Pending'],
    ['init done', spec('Always', ['a'], ['i']), [sTerminated('i', 0)], [sRunning('a')], false, 'Running'],
    ['init re-running after containers started', spec('Always', ['a'], ['i']), [sRunning('i')], [sWaiting('a', 137)], false, 'Running'],
  ])('%s → %s', (_n, s, init, regular, terminal, want) => {
    expect(getPhase(s, init, regular, terminal)).toBe(want);
  });

  test('restartable init containers (sidecars) do not hold the phase', () => {
    const s = { restartPolicy: 'Never', containers: [{ name: 'a' }], initContainers: [{ name: 'side', restartPolicy: 'Always' }] };
    expect(getPhase(s, [sRunning('side')], [sTerminated('a', 0)], false)).toBe('Succeeded');
  });
});

describe('toApiContainerStatus', () => {
  const view = (v: Partial<ContainerView>): ContainerView => ({ name: 'app', image: 'busybox:1', ready: false, started: false, ...v });
  test.each<[string, Partial<ContainerView>, Record<string, unknown>]>([
    ['never started', {}, { state: { waiting: { reason: 'ContainerCreating' } }, lastState: {}, restartCount: 0, imageID: '' }],
    ['waiting with a reason', { waiting: { reason: 'ErrImagePull', message: 'nope' } }, { state: { waiting: { reason: 'ErrImagePull', message: 'nope' } } }],
    ['running', { current: running(), ready: true, started: true }, { state: { running: { startedAt: rfc3339(T0) } }, lastState: {}, ready: true, started: true, containerID: 'docker://c1', imageID: 'sha256:abc' }],
    [
      'running after a crash',
      { current: running('c2', 1), previous: exited(1, 'c1') },
      { restartCount: 1, state: { running: {} }, lastState: { terminated: { exitCode: 1, reason: 'Error', containerID: 'docker://c1', startedAt: rfc3339(T0), finishedAt: rfc3339(T0 + 5000) } } },
    ],
    [
      'crash loop: waiting, lastState = the exited current instance',
      { current: exited(2, 'c3', 3), previous: exited(2, 'c2', 2), waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s' } },
      { restartCount: 3, containerID: 'docker://c3', state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s' } }, lastState: { terminated: { exitCode: 2, containerID: 'docker://c3' } } },
    ],
    ['completed, not restarted', { current: exited(0, 'c1') }, { state: { terminated: { exitCode: 0, reason: 'Completed' } }, lastState: {} }],
    ['OOMKilled', { current: exited(137, 'c1', 0, 'OOMKilled') }, { state: { terminated: { exitCode: 137, reason: 'OOMKilled' } } }],
    [
      'start error',
      { current: { id: 'c1', state: 'created', restartCount: 0, reason: 'StartError', exitCode: 128, message: 'exec: "nope": not found', finishedAt: T0 } },
      { state: { terminated: { exitCode: 128, reason: 'StartError', message: 'exec: "nope": not found' } } },
    ],
  ])('%s', (_n, v, want) => {
    expect(toApiContainerStatus(view(v), 'docker', 'ContainerCreating')).toMatchObject({ name: 'app', image: 'busybox:1', ...want });
  });
});

function podWith(spec: Record<string, unknown>, status: Record<string, unknown> = {}): KObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid: 'u' }, spec, status };
}

describe('computePodStatus', () => {
  const base = { now: T0, runtimeName: 'docker', hostIP: '127.0.0.1' };
  const cv = (name: string, v: Partial<ContainerView> = {}): ContainerView => ({ name, image: 'img', ready: false, started: false, ...v });

  test('a running, ready pod', () => {
    const pod = podWith({ containers: [{ name: 'b' }, { name: 'a' }] });
    const s = computePodStatus({ ...base, pod, podIP: '10.244.1.2', sandboxReady: true, initContainers: [], containers: [cv('b', { current: running('x'), ready: true, started: true }), cv('a', { current: running('y'), ready: true, started: true })] });
    expect(s.phase).toBe('Running');
    expect(s.containerStatuses.map((c: { name: string }) => c.name)).toEqual(['a', 'b']); // sorted by name
    expect(s.conditions.map((c: { type: string; status: string }) => `${c.type}=${c.status}`)).toEqual(['PodReadyToStartContainers=True', 'Initialized=True', 'Ready=True', 'ContainersReady=True', 'PodScheduled=True']);
    expect(s).toMatchObject({ podIP: '10.244.1.2', podIPs: [{ ip: '10.244.1.2' }], hostIP: '127.0.0.1', hostIPs: [{ ip: '127.0.0.1' }], startTime: rfc3339(T0) });
  });

  test('unready containers and readiness gates', () => {
    const pod = podWith({ containers: [{ name: 'a' }, { name: 'b' }], readinessGates: [{ conditionType: 'example.com/lb' }] });
    const s = computePodStatus({ ...base, pod, sandboxReady: true, initContainers: [], containers: [cv('a', { current: running(), ready: true, started: true }), cv('b', { current: running() })] });
    expect(s.conditions.find((c: { type: string }) => c.type === 'ContainersReady')).toMatchObject({ status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [b]' });
    expect(s.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady' });
    const s2 = computePodStatus({ ...base, pod, sandboxReady: true, initContainers: [], containers: [cv('a', { current: running(), ready: true }), cv('b', { current: running(), ready: true })] });
    expect(s2.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ReadinessGatesNotReady', message: 'corresponding condition of pod readiness gate "example.com/lb" does not exist.' });
    const gated = podWith(pod.spec, { conditions: [{ type: 'example.com/lb', status: 'True' }] });
    const s3 = computePodStatus({ ...base, pod: gated, oldStatus: gated.status, sandboxReady: true, initContainers: [], containers: [cv('a', { current: running(), ready: true }), cv('b', { current: running(), ready: true })] });
    expect(s3.conditions.find((c: { type: string }) => c.type === 'Ready').status).toBe('True');
  });

  test('init containers in progress: Pending, not initialized, PodInitializing', () => {
    const pod = podWith({ initContainers: [{ name: 'i1' }, { name: 'i2' }], containers: [{ name: 'a' }] });
    const s = computePodStatus({ ...base, pod, sandboxReady: true, initContainers: [cv('i1', { current: exited(0), ready: true }), cv('i2', { current: running() })], containers: [cv('a')] });
    expect(s.phase).toBe('Pending');
    expect(s.conditions.find((c: { type: string }) => c.type === 'Initialized')).toMatchObject({ status: 'False', reason: 'ContainersNotInitialized', message: 'containers with incomplete status: [i2]' });
    expect(s.containerStatuses[0].state).toEqual({ waiting: { reason: 'PodInitializing' } });
    expect(s.initContainerStatuses.map((c: { name: string }) => c.name)).toEqual(['i1', 'i2']);
  });

  test('a completed pod: Succeeded with PodCompleted conditions', () => {
    const pod = podWith({ restartPolicy: 'Never', containers: [{ name: 'a' }] });
    const s = computePodStatus({ ...base, pod, sandboxReady: false, initContainers: [], containers: [cv('a', { current: exited(0) })] });
    expect(s.phase).toBe('Succeeded');
    expect(s.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'PodCompleted' });
    expect(s.conditions.find((c: { type: string }) => c.type === 'PodReadyToStartContainers').status).toBe('False');
  });

  test('terminal (deleted) pods get a terminal phase; a forced failure carries its reason', () => {
    const pod = podWith({ containers: [{ name: 'a' }] });
    expect(computePodStatus({ ...base, pod, sandboxReady: false, terminal: true, initContainers: [], containers: [cv('a', { current: exited(143) })] }).phase).toBe('Failed');
    expect(computePodStatus({ ...base, pod, sandboxReady: false, terminal: true, initContainers: [], containers: [cv('a')] }).phase).toBe('Failed');
    const f = computePodStatus({ ...base, pod, sandboxReady: false, terminal: true, failure: { reason: 'DeadlineExceeded', message: 'm' }, initContainers: [], containers: [cv('a', { current: exited(0) })] });
    expect(f).toMatchObject({ phase: 'Failed', reason: 'DeadlineExceeded', message: 'm' });
  });

  test('startTime, podIP and PodScheduled are kept from the old status', () => {
    const old = { startTime: '2023-12-31T00:00:00Z', podIP: '10.244.1.9', conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: '2023-12-31T00:00:00Z' }] };
    const pod = podWith({ containers: [{ name: 'a' }] }, old);
    const s = computePodStatus({ ...base, pod, oldStatus: old, sandboxReady: false, initContainers: [], containers: [cv('a')] });
    expect(s.startTime).toBe('2023-12-31T00:00:00Z');
    expect(s.podIP).toBe('10.244.1.9');
    expect(s.conditions.find((c: { type: string }) => c.type === 'PodScheduled').lastTransitionTime).toBe('2023-12-31T00:00:00Z');
  });
});

describe('mergePodStatus', () => {
  const desired = (ready: boolean) => ({
    phase: 'Running',
    conditions: [
      { type: 'Ready', status: ready ? 'True' : 'False', lastProbeTime: null },
      { type: 'PodScheduled', status: 'True', lastProbeTime: null },
    ],
    containerStatuses: [],
  });

  test('keeps lastTransitionTime while a condition holds, stamps it on a change', () => {
    const m1 = mergePodStatus({}, desired(false), T0);
    expect(m1.conditions[0].lastTransitionTime).toBe(rfc3339(T0));
    const m2 = mergePodStatus(m1, desired(false), T0 + 60_000);
    expect(m2).toEqual(m1);
    const m3 = mergePodStatus(m2, desired(true), T0 + 120_000);
    expect(m3.conditions[0]).toMatchObject({ status: 'True', lastTransitionTime: rfc3339(T0 + 120_000) });
    expect(m3.conditions[1].lastTransitionTime).toBe(rfc3339(T0));
  });

  test('keeps fields and conditions the kubelet does not own; drops kubelet fields it no longer sets', () => {
    const old = { qosClass: 'BestEffort', nominatedNodeName: 'n', reason: 'Old', conditions: [{ type: 'DisruptionTarget', status: 'True' }] };
    const m = mergePodStatus(old, desired(true), T0);
    expect(m.qosClass).toBe('BestEffort');
    expect(m.nominatedNodeName).toBe('n');
    expect(m.reason).toBeUndefined();
    expect(m.conditions.map((c: { type: string }) => c.type)).toEqual(['Ready', 'PodScheduled', 'DisruptionTarget']);
  });
});
