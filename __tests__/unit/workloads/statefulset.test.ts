import type { KObject } from '../../../src/api/types';
import { completeRollingUpdate, identityMatches, newStatefulSetPod, newStatefulSetRevision, parentAndOrdinal, planStatefulSet, storageMatches } from '../../../src/controllers/statefulset/utils';

const T0 = Date.parse('2024-01-01T00:10:00Z');

function set(spec: Record<string, unknown> = {}, status: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: 'default', uid: 'set-uid', generation: 2 },
    spec: {
      replicas: 3,
      serviceName: 'svc',
      podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'v2' }] } },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: {} }],
      ...spec,
    },
    status,
  };
}

const current = newStatefulSetRevision({ ...set(), spec: { ...set().spec, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'v1' }] } } } }, 1, 0);
const update = newStatefulSetRevision(set(), 2, 0);

function pod(ord: number, o: { rev?: KObject; phase?: string; ready?: boolean; deleting?: boolean } = {}): KObject {
  const p = newStatefulSetPod(set(), set().spec.template, ord);
  p.metadata.uid = `uid-${ord}`;
  p.metadata.labels!['controller-revision-hash'] = (o.rev ?? update).metadata.name!;
  if (o.deleting) p.metadata.deletionTimestamp = '2024-01-01T00:00:00Z';
  p.status = { phase: o.phase ?? 'Running', conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: '2024-01-01T00:00:00Z' }] };
  return p;
}

const summary = (plan: ReturnType<typeof planStatefulSet>) => plan.actions.map((a) => `${a.kind}:${a.pod.metadata.name}${a.kind === 'delete' ? `(${a.why})` : ''}`);

describe('identity', () => {
  it('parses ordinals and builds stable pods', () => {
    expect(parentAndOrdinal({ metadata: { name: 'my-web-12' } } as KObject)).toEqual({ parent: 'my-web', ordinal: 12 });
    expect(parentAndOrdinal({ metadata: { name: 'web' } } as KObject).ordinal).toBe(-1);
    const p = newStatefulSetPod(set(), set().spec.template, 1);
    expect(p.metadata).toMatchObject({ name: 'web-1', generateName: 'web-', namespace: 'default', labels: { app: 'web', 'statefulset.kubernetes.io/pod-name': 'web-1', 'apps.kubernetes.io/pod-index': '1' } });
    expect(p.spec).toMatchObject({ hostname: 'web-1', subdomain: 'svc', volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-web-1' } }] });
    expect(identityMatches(set(), p)).toBe(true);
    expect(storageMatches(set(), p)).toBe(true);
    const broken = JSON.parse(JSON.stringify(p));
    delete broken.metadata.labels['statefulset.kubernetes.io/pod-name'];
    broken.spec.volumes = [];
    expect(identityMatches(set(), broken)).toBe(false);
    expect(storageMatches(set(), broken)).toBe(false);
  });
});

describe('planStatefulSet (OrderedReady)', () => {
  it('creates only the first missing ordinal', () => {
    const plan = planStatefulSet(set(), [], current, update, 0, T0);
    expect(summary(plan)).toEqual(['create:web-0']);
    expect(plan.status.replicas).toBe(0);
  });

  it('waits for a pod that is not Running and Ready before creating the next', () => {
    const plan = planStatefulSet(set(), [pod(0, { ready: false })], current, update, 0, T0);
    expect(summary(plan)).toEqual([]);
    expect(plan.waiting).toMatch(/web-0 to be Running and Ready/);
    expect(summary(planStatefulSet(set(), [pod(0)], current, update, 0, T0))).toEqual(['create:web-1']);
  });

  it('waits for minReadySeconds before moving on', () => {
    const s = set({ minReadySeconds: 3600 });
    expect(summary(planStatefulSet(s, [pod(0)], current, update, 0, T0))).toEqual([]);
  });

  it('recreates a failed pod first', () => {
    expect(summary(planStatefulSet(set(), [pod(0), pod(1, { phase: 'Failed', ready: false }), pod(2)], current, update, 0, T0))).toEqual(['delete:web-1(failed)']);
  });

  it('scales down from the highest ordinal, one at a time, only when the rest is healthy', () => {
    const s = set({ replicas: 1 });
    expect(summary(planStatefulSet(s, [pod(0), pod(1), pod(2)], current, update, 0, T0))).toEqual(['delete:web-2(scale-down)']);
    expect(summary(planStatefulSet(s, [pod(0), pod(1), pod(2, { deleting: true })], current, update, 0, T0))).toEqual([]);
    // a healthy condemned pod goes even when a lower condemned one is unhealthy
    expect(summary(planStatefulSet(s, [pod(0), pod(1, { ready: false }), pod(2)], current, update, 0, T0))).toEqual(['delete:web-2(scale-down)']);
    // an unhealthy condemned pod other than the first unhealthy one (the lowest) blocks
    expect(summary(planStatefulSet(s, [pod(0), pod(1, { ready: false }), pod(2, { ready: false })], current, update, 0, T0))).toEqual([]);
    // the first unhealthy pod may be removed
    expect(summary(planStatefulSet(s, [pod(0), pod(1), pod(2, { ready: false })], current, update, 0, T0))).toEqual(['delete:web-2(scale-down)']);
  });

  it('rolling update deletes the highest outdated ordinal at or above the partition', () => {
    const pods = [pod(0, { rev: current }), pod(1, { rev: current }), pod(2, { rev: current })];
    const plan = planStatefulSet(set(), pods, current, update, 0, T0);
    expect(summary(plan)).toEqual(['delete:web-2(update)']);
    expect(plan.status).toMatchObject({ replicas: 3, currentReplicas: 2, updatedReplicas: 0, currentRevision: current.metadata.name, updateRevision: update.metadata.name });
    // the updated pod must be healthy before the next one goes
    expect(summary(planStatefulSet(set(), [pod(0, { rev: current }), pod(1, { rev: current }), pod(2, { ready: false })], current, update, 0, T0))).toEqual([]);
    expect(summary(planStatefulSet(set(), [pod(0, { rev: current }), pod(1, { rev: current }), pod(2)], current, update, 0, T0))).toEqual(['delete:web-1(update)']);
    // partition 2: ordinals 0 and 1 stay at the current revision
    const part = set({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } });
    expect(summary(planStatefulSet(part, [pod(0, { rev: current }), pod(1, { rev: current }), pod(2)], current, update, 0, T0))).toEqual([]);
  });

  it('OnDelete never deletes for an update', () => {
    const s = set({ updateStrategy: { type: 'OnDelete' } });
    expect(summary(planStatefulSet(s, [pod(0, { rev: current }), pod(1, { rev: current }), pod(2, { rev: current })], current, update, 0, T0))).toEqual([]);
  });

  it('creates missing pods below the partition at the current revision', () => {
    const part = set({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } });
    const plan = planStatefulSet(part, [], current, update, 0, T0);
    expect(plan.actions[0].pod.metadata.labels!['controller-revision-hash']).toBe(current.metadata.name);
    expect(plan.actions[0].pod.spec.containers[0].image).toBe('v1');
  });

  it('only reports status for a set being deleted', () => {
    const s = set();
    s.metadata.deletionTimestamp = '2024-01-01T00:00:00Z';
    const plan = planStatefulSet(s, [pod(0)], current, update, 0, T0);
    expect(plan.actions).toEqual([]);
    expect(plan.status).toMatchObject({ replicas: 1, readyReplicas: 1, updatedReplicas: 1 });
  });
});

describe('planStatefulSet (Parallel)', () => {
  it('creates all missing ordinals and deletes all condemned at once', () => {
    const s = set({ podManagementPolicy: 'Parallel' });
    expect(summary(planStatefulSet(s, [pod(1, { ready: false })], current, update, 0, T0))).toEqual(['create:web-0', 'create:web-2']);
    const down = set({ podManagementPolicy: 'Parallel', replicas: 1 });
    expect(summary(planStatefulSet(down, [pod(0), pod(1, { ready: false }), pod(2)], current, update, 0, T0))).toEqual(['delete:web-2(scale-down)', 'delete:web-1(scale-down)']);
  });
});

describe('completeRollingUpdate', () => {
  it('makes the update revision current once all pods are updated and ready', () => {
    const plan = planStatefulSet(set(), [pod(0), pod(1), pod(2)], current, update, 0, T0);
    completeRollingUpdate(set(), plan.status);
    expect(plan.status).toMatchObject({ currentRevision: update.metadata.name, currentReplicas: 3, updatedReplicas: 3 });
  });
});
