import type { KObject } from '../../../src/api/types';
import { calculateReplicaSetStatus } from '../../../src/controllers/replicaset/replicaset-controller';

const T0 = Date.parse('2024-01-01T00:01:00Z');

function rs(status: Record<string, unknown> = {}, minReadySeconds?: number): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'rs', namespace: 'default', uid: 'u', generation: 4 },
    spec: { replicas: 3, ...(minReadySeconds ? { minReadySeconds } : {}), selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b', tier: 'x' } }, spec: {} } },
    status,
  };
}

function pod(labels: Record<string, string>, ready: boolean, readyAt = '2024-01-01T00:00:00Z'): KObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels }, spec: {}, status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: readyAt }] } };
}

describe('calculateReplicaSetStatus', () => {
  it('counts replicas, fully labeled, ready and available pods', () => {
    const pods = [pod({ a: 'b', tier: 'x' }, true), pod({ a: 'b' }, true, '2024-01-01T00:00:50Z'), pod({ a: 'b', tier: 'x' }, false)];
    expect(calculateReplicaSetStatus(rs(), pods, undefined, T0)).toEqual({ replicas: 3, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 2, observedGeneration: 4 });
    // minReadySeconds 30: the pod ready for 10 s is not available yet
    expect(calculateReplicaSetStatus(rs({}, 30), pods, undefined, T0)).toMatchObject({ readyReplicas: 2, availableReplicas: 1 });
    expect(calculateReplicaSetStatus(rs(), [], undefined, T0)).toEqual({ replicas: 0, observedGeneration: 4 });
  });

  it('sets ReplicaFailure on a failed create and clears it after a clean sync', () => {
    const failed = calculateReplicaSetStatus(rs(), [], { op: 'create', message: 'pods "rs-x" is forbidden: exceeded quota' }, T0);
    expect(failed.conditions).toEqual([{ type: 'ReplicaFailure', status: 'True', lastTransitionTime: '2024-01-01T00:01:00Z', reason: 'FailedCreate', message: 'pods "rs-x" is forbidden: exceeded quota' }]);
    const again = calculateReplicaSetStatus(rs(failed), [], { op: 'delete', message: 'other' }, T0 + 5000);
    expect(again.conditions).toEqual(failed.conditions);
    expect(calculateReplicaSetStatus(rs(failed), [], undefined, T0).conditions).toBeUndefined();
  });
});
