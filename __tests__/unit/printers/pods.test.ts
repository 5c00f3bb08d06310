import { RESOURCES } from '../../../src/api/scheme';
import type { KObject } from '../../../src/api/types';
import { podSummary, printTable } from '../../../src/apiserver/printers';

const NOW = new Date('2024-06-01T12:00:00Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
const podRI = RESOURCES.find((r) => r.kind === 'Pod')!;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function pod(spec: any, status: any, meta: any = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', creationTimestamp: ago(3600_000), ...meta },
    spec: { containers: [{ name: 'c', image: 'nginx' }], ...spec },
    status,
  };
}

const running = { running: { startedAt: ago(60_000) } };
const readyCS = (name = 'c') => ({ name, ready: true, restartCount: 0, state: running });

describe('pod STATUS / READY', () => {
  test.each<[string, KObject, string, string]>([
    ['Pending (unscheduled)', pod({}, { phase: 'Pending' }), 'Pending', '0/1'],
    ['empty status', pod({}, undefined), '', '0/1'],
    [
      'ContainerCreating',
      pod({}, { phase: 'Pending', containerStatuses: [{ name: 'c', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] }),
      'ContainerCreating',
      '0/1',
    ],
    ['Running', pod({}, { phase: 'Running', containerStatuses: [readyCS()] }), 'Running', '1/1'],
    [
      'Running, one of two ready',
      pod(
        { containers: [{ name: 'a' }, { name: 'b' }] },
        { phase: 'Running', containerStatuses: [readyCS('a'), { name: 'b', ready: false, restartCount: 0, state: running }] },
      ),
      'Running',
      '1/2',
    ],
    [
      'Completed',
      pod({}, { phase: 'Succeeded', containerStatuses: [{ name: 'c', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] }),
      'Completed',
      '0/1',
    ],
    [
      'Error',
      pod({}, { phase: 'Failed', containerStatuses: [{ name: 'c', ready: false, restartCount: 0, state: { terminated: { exitCode: 1, reason: 'Error' } } }] }),
      'Error',
      '0/1',
    ],
    [
      'ExitCode without reason',
      pod({}, { phase: 'Failed', containerStatuses: [{ name: 'c', restartCount: 0, state: { terminated: { exitCode: 137 } } }] }),
      'ExitCode:137',
      '0/1',
    ],
    [
      'Signal without reason',
      pod({}, { phase: 'Failed', containerStatuses: [{ name: 'c', restartCount: 0, state: { terminated: { exitCode: 0, signal: 9 } } }] }),
      'Signal:9',
      '0/1',
    ],
    [
      'CrashLoopBackOff',
      pod({}, { phase: 'Running', containerStatuses: [{ name: 'c', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } } }] }),
      'CrashLoopBackOff',
      '0/1',
    ],
    [
      'ErrImagePull',
      pod({}, { phase: 'Pending', containerStatuses: [{ name: 'c', ready: false, restartCount: 0, state: { waiting: { reason: 'ErrImagePull' } } }] }),
      'ErrImagePull',
      '0/1',
    ],
    [
      'ImagePullBackOff',
      pod({}, { phase: 'Pending', containerStatuses: [{ name: 'c', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff' } } }] }),
      'ImagePullBackOff',
      '0/1',
    ],
    [
      'Init:0/2',
      pod(
        { initContainers: [{ name: 'i1' }, { name: 'i2' }] },
        {
          phase: 'Pending',
          initContainerStatuses: [
            { name: 'i1', ready: false, restartCount: 0, state: running },
            { name: 'i2', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } },
          ],
          containerStatuses: [{ name: 'c', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } }],
        },
      ),
      'Init:0/2',
      '0/1',
    ],
    [
      'Init:1/2',
      pod(
        { initContainers: [{ name: 'i1' }, { name: 'i2' }] },
        {
          phase: 'Pending',
          initContainerStatuses: [
            { name: 'i1', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
            { name: 'i2', ready: false, restartCount: 0, state: running },
          ],
        },
      ),
      'Init:1/2',
      '0/1',
    ],
    [
      'Init:CrashLoopBackOff',
      pod(
        { initContainers: [{ name: 'i1' }] },
        { phase: 'Pending', initContainerStatuses: [{ name: 'i1', ready: false, restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } } }] },
      ),
      'Init:CrashLoopBackOff',
      '0/1',
    ],
    [
      'Init:Error',
      pod(
        { initContainers: [{ name: 'i1' }] },
        { phase: 'Pending', initContainerStatuses: [{ name: 'i1', restartCount: 0, state: { terminated: { exitCode: 2, reason: 'Error' } } }] },
      ),
      'Init:Error',
      '0/1',
    ],
    [
      'Init:ExitCode',
      pod(
        { initContainers: [{ name: 'i1' }] },
        { phase: 'Pending', initContainerStatuses: [{ name: 'i1', restartCount: 0, state: { terminated: { exitCode: 2 } } }] },
      ),
      'Init:ExitCode:2',
      '0/1',
    ],
    [
      'PodInitializing (init done, main container waiting)',
      pod(
        { initContainers: [{ name: 'i1' }] },
        {
          phase: 'Pending',
          conditions: [{ type: 'Initialized', status: 'True' }],
          initContainerStatuses: [{ name: 'i1', restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }],
          containerStatuses: [{ name: 'c', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } }],
        },
      ),
      'PodInitializing',
      '0/1',
    ],
    [
      'sidecar (restartable init container) counts toward READY',
      pod(
        { initContainers: [{ name: 'side', restartPolicy: 'Always' }] },
        {
          phase: 'Running',
          conditions: [{ type: 'Initialized', status: 'True' }],
          initContainerStatuses: [{ name: 'side', ready: true, started: true, restartCount: 0, state: running }],
          containerStatuses: [readyCS()],
        },
      ),
      'Running',
      '2/2',
    ],
    [
      'Completed with a container still running and pod Ready -> Running',
      pod(
        { containers: [{ name: 'a' }, { name: 'b' }] },
        {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: 'True' }],
          containerStatuses: [readyCS('a'), { name: 'b', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }],
        },
      ),
      'Running',
      '1/2',
    ],
    [
      'Completed with a container still running, pod not Ready -> NotReady',
      pod(
        { containers: [{ name: 'a' }, { name: 'b' }] },
        {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: 'False' }],
          containerStatuses: [readyCS('a'), { name: 'b', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }],
        },
      ),
      'NotReady',
      '1/2',
    ],
    ['Terminating', pod({}, { phase: 'Running', containerStatuses: [readyCS()] }, { deletionTimestamp: ago(1000) }), 'Terminating', '1/1'],
    [
      'deleted but already Succeeded stays Completed',
      pod(
        {},
        { phase: 'Succeeded', containerStatuses: [{ name: 'c', restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] },
        { deletionTimestamp: ago(1000) },
      ),
      'Completed',
      '0/1',
    ],
    ['NodeLost', pod({}, { phase: 'Running', reason: 'NodeLost' }), 'NodeLost', '0/1'],
    ['NodeLost + deletion -> Unknown', pod({}, { phase: 'Running', reason: 'NodeLost' }, { deletionTimestamp: ago(1000) }), 'Unknown', '0/1'],
    ['Evicted (status.reason)', pod({}, { phase: 'Failed', reason: 'Evicted' }), 'Evicted', '0/1'],
    [
      'SchedulingGated',
      pod({ schedulingGates: [{ name: 'g' }] }, { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] }),
      'SchedulingGated',
      '0/1',
    ],
  ])('%s', (_name, p, status, ready) => {
    const s = podSummary(p, NOW);
    expect(s.status).toBe(status);
    expect(s.ready).toBe(ready);
  });
});

describe('pod RESTARTS', () => {
  test('plain count without a last termination time', () => {
    const p = pod({}, { phase: 'Running', containerStatuses: [{ ...readyCS(), restartCount: 3 }] });
    expect(podSummary(p, NOW).restarts).toBe('3');
  });

  test('"3 (2m ago)" from the latest lastState.terminated.finishedAt', () => {
    const p = pod(
      { containers: [{ name: 'a' }, { name: 'b' }] },
      {
        phase: 'Running',
        containerStatuses: [
          { ...readyCS('a'), restartCount: 1, lastState: { terminated: { exitCode: 1, finishedAt: ago(3600_000) } } },
          { ...readyCS('b'), restartCount: 2, lastState: { terminated: { exitCode: 1, finishedAt: ago(120_000) } } },
        ],
      },
    );
    expect(podSummary(p, NOW).restarts).toBe('3 (2m ago)');
  });

  test('zero restarts ignore termination times', () => {
    const p = pod({}, { phase: 'Running', containerStatuses: [{ ...readyCS(), lastState: { terminated: { finishedAt: ago(5000) } } }] });
    expect(podSummary(p, NOW).restarts).toBe('0');
  });

  test('while initializing, init container restarts are reported', () => {
    const p = pod(
      { initContainers: [{ name: 'i1' }] },
      {
        phase: 'Pending',
        initContainerStatuses: [
          { name: 'i1', restartCount: 5, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, finishedAt: ago(30_000) } } },
        ],
        containerStatuses: [{ name: 'c', restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } }],
      },
    );
    expect(podSummary(p, NOW)).toEqual({ ready: '0/1', status: 'Init:CrashLoopBackOff', restarts: '5 (30s ago)' });
  });
});

describe('pod table', () => {
  test('columns, priorities and wide cells', () => {
    const p = pod(
      { nodeName: 'node-1', readinessGates: [{ conditionType: 'x/gate' }, { conditionType: 'y/gate' }] },
      {
        phase: 'Running',
        podIP: '10.244.0.5',
        podIPs: [{ ip: '10.244.0.5' }],
        conditions: [{ type: 'x/gate', status: 'True' }],
        containerStatuses: [readyCS()],
      },
    );
    const t = printTable(podRI, [p], NOW);
    expect(t.columnDefinitions.map((c) => [c.name, c.priority])).toEqual([
      ['Name', 0],
      ['Ready', 0],
      ['Status', 0],
      ['Restarts', 0],
      ['Age', 0],
      ['IP', 1],
      ['Node', 1],
      ['Nominated Node', 1],
      ['Readiness Gates', 1],
    ]);
    expect(t.columnDefinitions[0]).toMatchObject({ type: 'string', format: 'name' });
    expect(t.rows[0].cells).toEqual(['p', '1/1', 'Running', '0', '60m', '10.244.0.5', 'node-1', '<none>', '1/2']);
    expect(t.rows[0].object).toBe(p);
  });

  test('unscheduled pod shows <none> for IP, node and readiness gates', () => {
    const t = printTable(podRI, [pod({}, { phase: 'Pending' })], NOW);
    expect(t.rows[0].cells.slice(5)).toEqual(['<none>', '<none>', '<none>', '<none>']);
  });

  test('finished pods carry a Completed row condition', () => {
    const t = printTable(podRI, [pod({}, { phase: 'Succeeded' }), pod({}, { phase: 'Running' })], NOW);
    expect(t.rows[0].conditions?.[0]).toMatchObject({ type: 'Completed', status: 'True', reason: 'Succeeded' });
    expect(t.rows[1].conditions).toBeUndefined();
  });
});
