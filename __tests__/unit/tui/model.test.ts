import { eventsTable, layout, nodesTable, podStatus, podsTable, summary, workloadsTable, type Snapshot } from '../../../src/tui/model';

const now = Date.parse('2026-01-01T00:10:00Z');
const created = '2026-01-01T00:00:00Z';
const pod = (name: string, status: object, spec: object = { nodeName: 'n1', containers: [{ name: 'c' }] }, meta: object = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', creationTimestamp: created, ...meta }, spec, status });
const empty: Snapshot = { pods: [], nodes: [], deployments: [], statefulsets: [], daemonsets: [], jobs: [], events: [] };

describe('podStatus', () => {
  test.each([
    [pod('a', { phase: 'Running', containerStatuses: [{ ready: true, state: { running: {} } }] }), 'Running'],
    [pod('b', { phase: 'Running', containerStatuses: [{ state: { waiting: { reason: 'CrashLoopBackOff' } } }] }), 'CrashLoopBackOff'],
    [pod('c', { phase: 'Pending', initContainerStatuses: [{ state: { waiting: { reason: 'PodInitializing' } } }] }), 'Init:PodInitializing'],
    [pod('d', { phase: 'Succeeded', containerStatuses: [{ state: { terminated: { reason: 'Completed', exitCode: 0 } } }] }), 'Completed'],
    [pod('e', { phase: 'Running' }, undefined, { deletionTimestamp: created }), 'Terminating'],
    [pod('f', { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] }, { containers: [{ name: 'c' }] }), 'Pending (unschedulable)'],
  ])('%#', (p, want) => expect(podStatus(p as never)).toBe(want));
});

test('tables: pods, nodes, workloads, events, with tones and namespace filter', () => {
  const s: Snapshot = {
    ...empty,
    pods: [
      pod('web-1', { phase: 'Running', podIP: '10.244.1.2', containerStatuses: [{ ready: true, restartCount: 2 }] }) as never,
      { ...pod('x', { phase: 'Pending' }), metadata: { name: 'x', namespace: 'other', creationTimestamp: created } } as never,
    ],
    nodes: [{ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', creationTimestamp: created, labels: { 'node-role.kubernetes.io/control-plane': '' } }, status: { conditions: [{ type: 'Ready', status: 'True' }], allocatable: { pods: '110', cpu: '2', memory: '4Gi' } } } as never],
    deployments: [{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default', creationTimestamp: created }, spec: { replicas: 3 }, status: { readyReplicas: 1 } } as never],
    events: [{ apiVersion: 'v1', kind: 'Event', metadata: { name: 'e', namespace: 'default', creationTimestamp: created }, type: 'Warning', reason: 'BackOff', message: 'Back-off\nrestarting', involvedObject: { kind: 'Pod', name: 'web-1' }, lastTimestamp: created } as never],
  };
  const p = podsTable(s, 'default', now);
  expect(p.rows).toHaveLength(1);
  expect(p.rows[0].cells).toEqual(['default', 'web-1', '1/1', 'Running', '2', 'n1', '10.244.1.2', '10m']);
  expect(p.rows[0].tone).toBe('ok');
  expect(nodesTable(s, now).rows[0].cells).toEqual(['n1', 'Ready', 'control-plane', '2/110', '2', '4Gi', '10m']);
  expect(workloadsTable(s, undefined, now).rows[0]).toEqual({ cells: ['default', 'deployment/web', '1/3', '10m'], tone: 'warn' });
  const ev = eventsTable(s, undefined, now).rows[0];
  expect(ev.cells).toEqual(['10m', 'Warning', 'BackOff', 'pod/web-1', 'Back-off restarting']);
  expect(ev.tone).toBe('bad');
  expect(summary(s)).toBe('nodes 1/1 ready · pods 1 running, 0 failing, 2 total · deployments 1');
});

test('layout pads columns and truncates to the width', () => {
  const lines = layout({ header: ['A', 'LONGER'], rows: [{ cells: ['xxxx', 'y'], tone: 'none' }] }, 80);
  expect(lines).toEqual(['A     LONGER', 'xxxx  y']);
  expect(layout({ header: ['A'], rows: [{ cells: ['x'.repeat(50)], tone: 'none' }] }, 10)[1]).toBe('xxxxxxxxx…');
});
