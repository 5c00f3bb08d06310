import type { KObject } from '../../../src/api/types';
import { addDaemonPodTolerations, nodeShouldRunDaemonPod, replaceNodeNameAffinity, requiredNodeAffinityMatches, targetNodeName, toleratesTaint } from '../../../src/controllers/daemonset/predicates';
import { daemonSetStatusCounts, planRollingUpdate, podsShouldBeOnNode, updatedDesiredNodeCounts, type NodePods } from '../../../src/controllers/daemonset/update';

const NOW = Date.parse('2024-01-01T01:00:00Z');

function node(name: string, o: { labels?: Record<string, string>; taints?: { key: string; value?: string; effect: string }[] } = {}): KObject {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) } }, spec: { ...(o.taints ? { taints: o.taints } : {}) } };
}

function ds(spec: Record<string, unknown> = {}, strategy: Record<string, unknown> = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } }): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'ds', namespace: 'default', uid: 'ds' },
    spec: { selector: { matchLabels: { app: 'ds' } }, updateStrategy: strategy, template: { metadata: { labels: { app: 'ds' } }, spec: { containers: [{ name: 'c', image: 'i' }], ...spec } } },
  };
}

function pod(name: string, nodeName: string, hash: string, o: { ready?: boolean; phase?: string; created?: string; deleting?: boolean } = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: name, creationTimestamp: o.created ?? '2024-01-01T00:00:00Z', labels: { app: 'ds', 'controller-revision-hash': hash }, ...(o.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}) },
    spec: { nodeName, containers: [] },
    status: { phase: o.phase ?? 'Running', conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: '2024-01-01T00:00:00Z' }] },
  };
}

describe('taints and tolerations', () => {
  it.each([
    [{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule' }, { key: 'k', value: 'v', effect: 'NoSchedule' }, true],
    [{ key: 'k', value: 'v' }, { key: 'k', value: 'v', effect: 'NoExecute' }, true],
    [{ key: 'k', operator: 'Equal', value: 'x' }, { key: 'k', value: 'v', effect: 'NoSchedule' }, false],
    [{ key: 'k', operator: 'Exists' }, { key: 'k', value: 'v', effect: 'NoSchedule' }, true],
    [{ operator: 'Exists' }, { key: 'any', effect: 'NoExecute' }, true],
    [{ key: 'k', operator: 'Exists', effect: 'NoExecute' }, { key: 'k', effect: 'NoSchedule' }, false],
  ])('%j tolerates %j: %p', (t, taint, want) => {
    expect(toleratesTaint(t, taint)).toBe(want);
  });

  it('adds the daemon tolerations (network-unavailable only for hostNetwork)', () => {
    const spec: KObject['spec'] = { tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }] };
    addDaemonPodTolerations(spec);
    // a toleration with the same key/operator/value/effect is replaced: daemon pods tolerate not-ready forever
    expect(spec.tolerations).toHaveLength(6);
    expect(spec.tolerations[0]).toEqual({ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' });
    expect(spec.tolerations.some((t: { key: string }) => t.key === 'node.kubernetes.io/network-unavailable')).toBe(false);
    const host: KObject['spec'] = { hostNetwork: true };
    addDaemonPodTolerations(host);
    expect(host.tolerations.map((t: { key: string }) => t.key)).toContain('node.kubernetes.io/network-unavailable');
    addDaemonPodTolerations(host);
    expect(host.tolerations).toHaveLength(7);
    const other: KObject['spec'] = { tolerations: [{ key: 'gpu', operator: 'Exists' }] };
    addDaemonPodTolerations(other);
    expect(other.tolerations).toHaveLength(7);
  });
});

describe('node eligibility', () => {
  it('nodeSelector and required node affinity', () => {
    const n = node('n1', { labels: { disk: 'ssd', zone: 'a', cores: '8' } });
    expect(requiredNodeAffinityMatches({ nodeSelector: { disk: 'ssd' } }, n)).toBe(true);
    expect(requiredNodeAffinityMatches({ nodeSelector: { disk: 'hdd' } }, n)).toBe(false);
    const aff = (terms: unknown[]) => ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } });
    expect(requiredNodeAffinityMatches(aff([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }, { matchExpressions: [{ key: 'cores', operator: 'Gt', values: ['4'] }] }]), n)).toBe(true);
    expect(requiredNodeAffinityMatches(aff([{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }]), n)).toBe(false);
    expect(requiredNodeAffinityMatches(aff([{ matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] }]), n)).toBe(true);
    expect(requiredNodeAffinityMatches(aff([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }]), n)).toBe(true);
    expect(requiredNodeAffinityMatches(aff([{}]), n)).toBe(false);
  });

  it('NodeShouldRunDaemonPod: NoSchedule keeps running pods, NoExecute evicts them', () => {
    expect(nodeShouldRunDaemonPod(node('n'), ds())).toEqual({ shouldRun: true, shouldContinueRunning: true });
    expect(nodeShouldRunDaemonPod(node('n', { taints: [{ key: 'gpu', effect: 'NoSchedule' }] }), ds())).toEqual({ shouldRun: false, shouldContinueRunning: true });
    expect(nodeShouldRunDaemonPod(node('n', { taints: [{ key: 'gpu', effect: 'NoExecute' }] }), ds())).toEqual({ shouldRun: false, shouldContinueRunning: false });
    expect(nodeShouldRunDaemonPod(node('n', { taints: [{ key: 'gpu', effect: 'NoExecute' }] }), ds({ tolerations: [{ key: 'gpu', operator: 'Exists' }] }))).toEqual({ shouldRun: true, shouldContinueRunning: true });
    // daemon tolerations: cordoned and not-ready nodes still run daemon pods
    expect(nodeShouldRunDaemonPod(node('n', { taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }, { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }] }), ds()).shouldRun).toBe(true);
    expect(nodeShouldRunDaemonPod(node('n'), ds({ nodeName: 'other' }))).toEqual({ shouldRun: false, shouldContinueRunning: false });
  });

  it('binds through node affinity and reads the target node back', () => {
    const a = replaceNodeNameAffinity({ podAntiAffinity: { x: 1 }, nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'a', operator: 'Exists' }] }] } } }, 'n7');
    expect(a).toEqual({ podAntiAffinity: { x: 1 }, nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n7'] }] }] } } });
    expect(targetNodeName({ metadata: {}, spec: { affinity: a } } as KObject)).toBe('n7');
    expect(targetNodeName({ metadata: {}, spec: { nodeName: 'n1', affinity: a } } as KObject)).toBe('n1');
    expect(targetNodeName({ metadata: {}, spec: {} } as KObject)).toBeUndefined();
  });
});

describe('podsShouldBeOnNode', () => {
  it('creates where missing, keeps the oldest duplicate, reports failed pods, removes from ineligible nodes', () => {
    expect(podsShouldBeOnNode(node('n'), undefined, ds(), 'h', NOW)).toEqual({ create: true, remove: [], failed: [] });
    const dup = podsShouldBeOnNode(node('n'), [pod('b', 'n', 'h', { created: '2024-01-02T00:00:00Z' }), pod('a', 'n', 'h')], ds(), 'h', NOW);
    expect(dup.remove).toEqual(['b']);
    const failed = pod('f', 'n', 'h', { phase: 'Failed' });
    expect(podsShouldBeOnNode(node('n'), [failed], ds(), 'h', NOW).failed).toEqual([failed]);
    expect(podsShouldBeOnNode(node('n', { labels: {} }), [pod('a', 'n', 'h')], ds({ nodeSelector: { x: 'y' } }), 'h', NOW).remove).toEqual(['a']);
  });

  it('with surge keeps old and new until the new one is available', () => {
    const surge = ds({}, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    const old = pod('old', 'n', 'h1');
    expect(podsShouldBeOnNode(node('n'), [old, pod('new', 'n', 'h2', { ready: false, created: '2024-01-02T00:00:00Z' })], surge, 'h2', NOW).remove).toEqual([]);
    expect(podsShouldBeOnNode(node('n'), [old, pod('new', 'n', 'h2', { created: '2024-01-02T00:00:00Z' })], surge, 'h2', NOW).remove).toEqual(['old']);
  });
});

describe('planRollingUpdate', () => {
  const nodes = ['a', 'b', 'c', 'd'].map((n) => node(n));
  const podsAt = (hashes: Record<string, string>, o: Record<string, { ready?: boolean }> = {}): NodePods => new Map(Object.entries(hashes).map(([n, h]) => [n, [pod(`p-${n}`, n, h, o[n])]]));

  it('maxUnavailable 1 deletes one old pod at a time', () => {
    expect(planRollingUpdate(ds(), nodes, podsAt({ a: 'old', b: 'old', c: 'old', d: 'old' }), 'new', NOW)).toEqual({ deletePods: ['p-a'], createOn: [] });
    // a node being replaced (no pod yet) uses up the budget
    expect(planRollingUpdate(ds(), nodes, podsAt({ b: 'old', c: 'old', d: 'old' }), 'new', NOW)).toEqual({ deletePods: [], createOn: [] });
    // an unavailable new pod counts too
    expect(planRollingUpdate(ds(), nodes, podsAt({ a: 'new', b: 'old', c: 'old', d: 'old' }, { a: { ready: false } }), 'new', NOW).deletePods).toEqual([]);
    expect(planRollingUpdate(ds(), nodes, podsAt({ a: 'new', b: 'old', c: 'old', d: 'old' }), 'new', NOW).deletePods).toEqual(['p-b']);
  });

  it('unavailable old pods are always replaced', () => {
    expect(planRollingUpdate(ds(), nodes, podsAt({ a: 'new', b: 'old', c: 'old', d: 'old' }, { a: { ready: false }, c: { ready: false } }), 'new', NOW).deletePods).toEqual(['p-c']);
  });

  it('maxUnavailable 50% rounds up against the desired nodes', () => {
    const half = ds({}, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '50%', maxSurge: 0 } });
    expect(updatedDesiredNodeCounts(half, nodes, new Map())).toEqual({ maxSurge: 0, maxUnavailable: 2, desired: 4 });
    expect(planRollingUpdate(half, nodes, podsAt({ a: 'old', b: 'old', c: 'old', d: 'old' }), 'new', NOW).deletePods).toEqual(['p-a', 'p-b']);
  });

  it('maxSurge creates new pods beside old ones, then deletes the old ones once the new are available', () => {
    const surge = ds({}, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    expect(planRollingUpdate(surge, nodes, podsAt({ a: 'old', b: 'old', c: 'old', d: 'old' }), 'new', NOW)).toEqual({ deletePods: [], createOn: ['a'] });
    const both: NodePods = podsAt({ b: 'old', c: 'old', d: 'old' });
    both.set('a', [pod('p-a', 'a', 'old'), pod('n-a', 'a', 'new', { ready: false })]);
    expect(planRollingUpdate(surge, nodes, both, 'new', NOW)).toEqual({ deletePods: [], createOn: [] });
    both.set('a', [pod('p-a', 'a', 'old'), pod('n-a', 'a', 'new')]);
    expect(planRollingUpdate(surge, nodes, both, 'new', NOW)).toEqual({ deletePods: ['p-a'], createOn: ['b'] });
  });
});

describe('status counts', () => {
  it('counts desired, scheduled, misscheduled, ready, available and updated', () => {
    const d = ds({ nodeSelector: { role: 'x' } });
    const ns = [node('a', { labels: { role: 'x' } }), node('b', { labels: { role: 'x' } }), node('c', { labels: { role: 'x' } }), node('d')];
    const pods: NodePods = new Map([
      ['a', [pod('pa', 'a', 'h')]],
      ['b', [pod('pb', 'b', 'old', { ready: false })]],
      ['d', [pod('pd', 'd', 'h')]],
    ]);
    expect(daemonSetStatusCounts(d, ns, pods, 'h', NOW)).toEqual({
      desiredNumberScheduled: 3,
      currentNumberScheduled: 2,
      numberMisscheduled: 1,
      numberReady: 1,
      updatedNumberScheduled: 1,
      numberAvailable: 1,
      numberUnavailable: 2,
    });
  });
});
