import { applyStrategicMergePatch, hasStrategicMergeSchema, PatchApplyError } from '../../../src/apiserver/patch';
import { ApiError, BadRequestError } from '../../../src/util/errors';

/* eslint-disable @typescript-eslint/no-explicit-any */

type Case = [name: string, kind: string, doc: any, patch: any, expected: any];

function run(kind: string, doc: unknown, patch: unknown): any {
  const docBefore = JSON.stringify(doc);
  const patchBefore = JSON.stringify(patch);
  const out = applyStrategicMergePatch(doc, patch, kind);
  expect(JSON.stringify(doc)).toBe(docBefore);
  expect(JSON.stringify(patch)).toBe(patchBefore);
  expect(JSON.stringify(out)).not.toMatch(/"\$(patch|retainKeys|setElementOrder|deleteFromPrimitiveList)/);
  return out;
}

const webContainer = () => ({
  name: 'web',
  image: 'nginx:1.25',
  ports: [{ containerPort: 80, protocol: 'TCP' }],
  env: [
    { name: 'A', value: '1' },
    { name: 'B', value: '2' },
  ],
  resources: {},
  terminationMessagePath: '/dev/termination-log',
  imagePullPolicy: 'IfNotPresent',
});

const deployment = (containers: any[] = [webContainer()]) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    namespace: 'default',
    annotations: { 'deployment.kubernetes.io/revision': '1' },
    finalizers: ['a', 'b'],
  },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers,
        volumes: [{ name: 'data', emptyDir: {} }],
        tolerations: [{ key: 'a', operator: 'Exists' }],
        restartPolicy: 'Always',
      },
    },
  },
  status: {
    conditions: [
      { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
      { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
    ],
  },
});

describe('applyStrategicMergePatch: kubectl shapes', () => {
  test('kubectl apply: Deployment image changed ($setElementOrder/containers)', () => {
    const live = deployment([webContainer(), { name: 'sidecar', image: 'envoy' }]);
    const lastApplied = '{"apiVersion":"apps/v1","kind":"Deployment"}\n';
    const patch = {
      metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied } },
      spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'web' }], containers: [{ image: 'nginx:1.26', name: 'web' }] } } },
    };
    const out = run('Deployment', live, patch);
    const expected = deployment([{ ...webContainer(), image: 'nginx:1.26' }, { name: 'sidecar', image: 'envoy' }]);
    expected.metadata.annotations = { ...expected.metadata.annotations, 'kubectl.kubernetes.io/last-applied-configuration': lastApplied } as any;
    expect(out).toEqual(expected);
  });

  test('kubectl apply: container env var removed ($setElementOrder/env + $patch: delete)', () => {
    const patch = {
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'web' }],
            containers: [{ '$setElementOrder/env': [{ name: 'A' }], env: [{ $patch: 'delete', name: 'B' }], name: 'web' }],
          },
        },
      },
    };
    const out = run('Deployment', deployment(), patch);
    expect(out.spec.template.spec.containers).toEqual([{ ...webContainer(), env: [{ name: 'A', value: '1' }] }]);
  });

  test('kubectl apply: all env removed (env: null)', () => {
    const patch = { spec: { template: { spec: { containers: [{ name: 'web', env: null }] } } } };
    const out = run('Deployment', deployment(), patch);
    const { env: _env, ...rest } = webContainer();
    expect(out.spec.template.spec.containers).toEqual([rest]);
  });

  test('kubectl apply: env var added and reordered', () => {
    const patch = {
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'web' }],
            containers: [{ '$setElementOrder/env': [{ name: 'C' }, { name: 'B' }, { name: 'A' }], env: [{ name: 'C', value: '3' }], name: 'web' }],
          },
        },
      },
    };
    const out = run('Deployment', deployment(), patch);
    expect(out.spec.template.spec.containers[0].env).toEqual([
      { name: 'C', value: '3' },
      { name: 'B', value: '2' },
      { name: 'A', value: '1' },
    ]);
  });

  test('kubectl apply: container removed and one added', () => {
    const live = deployment([webContainer(), { name: 'old', image: 'busybox' }]);
    const patch = {
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'web' }, { name: 'new' }],
            containers: [{ image: 'redis', name: 'new' }, { $patch: 'delete', name: 'old' }],
          },
        },
      },
    };
    const out = run('Deployment', live, patch);
    expect(out.spec.template.spec.containers).toEqual([webContainer(), { name: 'new', image: 'redis' }]);
  });

  test('kubectl cordon / uncordon', () => {
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: { podCIDR: '10.0.0.0/24' } };
    const cordoned = run('Node', node, { spec: { unschedulable: true } });
    expect(cordoned).toEqual({ ...node, spec: { podCIDR: '10.0.0.0/24', unschedulable: true } });
    const uncordoned = run('Node', cordoned, { spec: { unschedulable: null } });
    expect(uncordoned).toEqual(node);
  });

  test('kubectl rollout restart: template annotation added', () => {
    const patch = { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2024-06-01T12:00:00Z' } } } } };
    const out = run('Deployment', deployment(), patch);
    expect(out.spec.template.metadata).toEqual({ labels: { app: 'web' }, annotations: { 'kubectl.kubernetes.io/restartedAt': '2024-06-01T12:00:00Z' } });
    expect(out.spec.template.spec).toEqual(deployment().spec.template.spec);
  });

  test('kubectl apply: strategy RollingUpdate -> Recreate ($retainKeys)', () => {
    const patch = { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: null, type: 'Recreate' } } };
    expect(run('Deployment', deployment(), patch).spec.strategy).toEqual({ type: 'Recreate' });
    // Without the explicit null, $retainKeys alone clears rollingUpdate.
    expect(run('Deployment', deployment(), { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } }).spec.strategy).toEqual({ type: 'Recreate' });
  });

  test('kubectl apply: volume source switched ($retainKeys in a volumes element)', () => {
    const patch = {
      spec: {
        template: {
          spec: {
            '$setElementOrder/volumes': [{ name: 'data' }],
            volumes: [{ $retainKeys: ['configMap', 'name'], configMap: { name: 'cfg' }, name: 'data' }],
          },
        },
      },
    };
    expect(run('Deployment', deployment(), patch).spec.template.spec.volumes).toEqual([{ name: 'data', configMap: { name: 'cfg' } }]);
  });

  test('kubectl apply on a Pod: image change merges by container name', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [webContainer()], nodeName: 'n1' }, status: { phase: 'Running' } };
    const out = run('Pod', pod, { spec: { '$setElementOrder/containers': [{ name: 'web' }], containers: [{ image: 'nginx:1.26', name: 'web' }] } });
    expect(out.spec.containers).toEqual([{ ...webContainer(), image: 'nginx:1.26' }]);
    expect(out.spec.nodeName).toBe('n1');
    expect(out.status).toEqual({ phase: 'Running' });
  });

  test('kubectl debug: ephemeral container added to a Pod', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'web', image: 'nginx' }] } };
    const out = run('Pod', pod, { spec: { ephemeralContainers: [{ name: 'debugger-x', image: 'busybox', targetContainerName: 'web', stdin: true }] } });
    expect(out.spec.ephemeralContainers).toEqual([{ name: 'debugger-x', image: 'busybox', targetContainerName: 'web', stdin: true }]);
    expect(out.spec.containers).toEqual(pod.spec.containers);
  });
});

describe('applyStrategicMergePatch: merge keys by context', () => {
  const podSpec = () => ({
    initContainers: [{ name: 'init', image: 'busybox', args: ['a', 'b'] }],
    containers: [
      {
        name: 'web',
        image: 'nginx',
        command: ['nginx'],
        args: ['-g', 'daemon off;'],
        ports: [
          { containerPort: 80, name: 'http' },
          { containerPort: 443, name: 'https' },
        ],
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
        volumeDevices: [{ name: 'blk', devicePath: '/dev/xvda' }],
      },
    ],
    imagePullSecrets: [{ name: 'reg1' }],
    hostAliases: [{ ip: '10.0.0.1', hostnames: ['a'] }],
    tolerations: [{ key: 'x', operator: 'Exists' }],
  });

  const wrap: Record<string, (spec: any) => any> = {
    Pod: (spec) => ({ kind: 'Pod', metadata: { name: 'x' }, spec }),
    Deployment: (spec) => ({ kind: 'Deployment', metadata: { name: 'x' }, spec: { replicas: 1, template: { metadata: {}, spec } } }),
    ReplicaSet: (spec) => ({ kind: 'ReplicaSet', metadata: { name: 'x' }, spec: { template: { spec } } }),
    StatefulSet: (spec) => ({ kind: 'StatefulSet', metadata: { name: 'x' }, spec: { serviceName: 's', template: { spec } } }),
    DaemonSet: (spec) => ({ kind: 'DaemonSet', metadata: { name: 'x' }, spec: { template: { spec } } }),
    Job: (spec) => ({ kind: 'Job', metadata: { name: 'x' }, spec: { template: { spec } } }),
    CronJob: (spec) => ({ kind: 'CronJob', metadata: { name: 'x' }, spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec } } } } }),
    ReplicationController: (spec) => ({ kind: 'ReplicationController', metadata: { name: 'x' }, spec: { template: { spec } } }),
    PodTemplate: (spec) => ({ kind: 'PodTemplate', metadata: { name: 'x' }, template: { spec } }),
  };

  type PodSpecCase = [name: string, patch: any, expected: (spec: any) => void];
  const cases: PodSpecCase[] = [
    ['container merged by name', { containers: [{ name: 'web', image: 'nginx:2' }] }, (s) => {
      expect(s.containers).toHaveLength(1);
      expect(s.containers[0]).toEqual({ ...podSpec().containers[0], image: 'nginx:2' });
    }],
    ['init container merged by name', { initContainers: [{ name: 'init', image: 'alpine' }] }, (s) => {
      expect(s.initContainers).toEqual([{ name: 'init', image: 'alpine', args: ['a', 'b'] }]);
    }],
    ['container port merged by containerPort', { containers: [{ name: 'web', ports: [{ containerPort: 443, name: 'tls' }, { containerPort: 8080 }] }] }, (s) => {
      expect(s.containers[0].ports).toEqual([{ containerPort: 80, name: 'http' }, { containerPort: 443, name: 'tls' }, { containerPort: 8080 }]);
    }],
    ['volumeMount merged by mountPath', { containers: [{ name: 'web', volumeMounts: [{ mountPath: '/data', readOnly: true }] }] }, (s) => {
      expect(s.containers[0].volumeMounts).toEqual([{ name: 'data', mountPath: '/data', readOnly: true }]);
    }],
    ['volumeDevice merged by devicePath', { containers: [{ name: 'web', volumeDevices: [{ devicePath: '/dev/xvda', name: 'blk2' }] }] }, (s) => {
      expect(s.containers[0].volumeDevices).toEqual([{ name: 'blk2', devicePath: '/dev/xvda' }]);
    }],
    ['imagePullSecrets merged by name', { imagePullSecrets: [{ name: 'reg2' }] }, (s) => {
      expect(s.imagePullSecrets).toEqual([{ name: 'reg2' }, { name: 'reg1' }]);
    }],
    ['hostAliases merged by ip', { hostAliases: [{ ip: '10.0.0.1', hostnames: ['b'] }] }, (s) => {
      expect(s.hostAliases).toEqual([{ ip: '10.0.0.1', hostnames: ['b'] }]);
    }],
    ['tolerations replaced whole', { tolerations: [{ key: 'y', operator: 'Exists' }] }, (s) => {
      expect(s.tolerations).toEqual([{ key: 'y', operator: 'Exists' }]);
    }],
    ['args and command replaced whole', { containers: [{ name: 'web', args: ['-v'], command: ['sh'] }] }, (s) => {
      expect(s.containers[0].args).toEqual(['-v']);
      expect(s.containers[0].command).toEqual(['sh']);
    }],
    ['unknown list replaced whole', { containers: [{ name: 'web', futureList: [{ name: 'z' }] }] }, (s) => {
      expect(s.containers[0].futureList).toEqual([{ name: 'z' }]);
    }],
  ];

  for (const kind of Object.keys(wrap)) {
    test.each(cases)(`${kind}: %s`, (_name, patchSpec, check) => {
      const live = wrap[kind](podSpec());
      const out = run(kind, live, wrap[kind](patchSpec));
      const spec = kind === 'Pod' ? out.spec : kind === 'CronJob' ? out.spec.jobTemplate.spec.template.spec : kind === 'PodTemplate' ? out.template.spec : out.spec.template.spec;
      check(spec);
    });
  }

  test.each<Case>([
    [
      'Service spec.ports merged by port',
      'Service',
      { kind: 'Service', spec: { type: 'ClusterIP', ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }, { port: 443, targetPort: 8443 }] } },
      { spec: { ports: [{ port: 80, targetPort: 9090 }] } },
      { kind: 'Service', spec: { type: 'ClusterIP', ports: [{ port: 80, targetPort: 9090, protocol: 'TCP' }, { port: 443, targetPort: 8443 }] } },
    ],
    [
      'metadata.ownerReferences merged by uid',
      'ReplicaSet',
      { metadata: { ownerReferences: [{ uid: 'u1', kind: 'Deployment', name: 'd', controller: true }] } },
      { metadata: { ownerReferences: [{ uid: 'u1', blockOwnerDeletion: true }, { uid: 'u2', kind: 'X', name: 'x' }] } },
      { metadata: { ownerReferences: [{ uid: 'u1', kind: 'Deployment', name: 'd', controller: true, blockOwnerDeletion: true }, { uid: 'u2', kind: 'X', name: 'x' }] } },
    ],
    [
      'pod status.conditions merged by type',
      'Pod',
      { status: { phase: 'Running', conditions: [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: 'False', reason: 'ContainersNotReady' }] } },
      { status: { conditions: [{ type: 'Ready', status: 'True', reason: null }] } },
      { status: { phase: 'Running', conditions: [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: 'True' }] } },
    ],
    [
      'node status.conditions and addresses merged by type',
      'Node',
      { status: { conditions: [{ type: 'Ready', status: 'False' }, { type: 'MemoryPressure', status: 'False' }], addresses: [{ type: 'InternalIP', address: '1.1.1.1' }] } },
      { status: { conditions: [{ type: 'Ready', status: 'True' }], addresses: [{ type: 'Hostname', address: 'n1' }] } },
      { status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'MemoryPressure', status: 'False' }], addresses: [{ type: 'Hostname', address: 'n1' }, { type: 'InternalIP', address: '1.1.1.1' }] } },
    ],
    [
      'deployment status.conditions merged by type',
      'Deployment',
      { status: { conditions: [{ type: 'Available', status: 'False' }, { type: 'Progressing', status: 'True' }] } },
      { status: { conditions: [{ type: 'Available', status: 'True' }] } },
      { status: { conditions: [{ type: 'Available', status: 'True' }, { type: 'Progressing', status: 'True' }] } },
    ],
    [
      'job status.conditions merged by type',
      'Job',
      { status: { conditions: [{ type: 'SuccessCriteriaMet', status: 'True' }] } },
      { status: { conditions: [{ type: 'Complete', status: 'True' }] } },
      { status: { conditions: [{ type: 'Complete', status: 'True' }, { type: 'SuccessCriteriaMet', status: 'True' }] } },
    ],
    [
      'node spec.taints replaced whole',
      'Node',
      { spec: { taints: [{ key: 'a', effect: 'NoSchedule' }] } },
      { spec: { taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] } },
      { spec: { taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] } },
    ],
    [
      'ServiceAccount secrets merged by name',
      'ServiceAccount',
      { secrets: [{ name: 's1' }] },
      { secrets: [{ name: 's2' }] },
      { secrets: [{ name: 's2' }, { name: 's1' }] },
    ],
    [
      'PodDisruptionBudget spec.selector replaced (patchStrategy replace)',
      'PodDisruptionBudget',
      { spec: { minAvailable: 1, selector: { matchLabels: { app: 'a' } } } },
      { spec: { selector: { matchLabels: { app: 'b' } } } },
      { spec: { minAvailable: 1, selector: { matchLabels: { app: 'b' } } } },
    ],
    [
      'Deployment spec.selector merges (no strategy)',
      'Deployment',
      { spec: { selector: { matchLabels: { app: 'a' } } } },
      { spec: { selector: { matchLabels: { tier: 'b' } } } },
      { spec: { selector: { matchLabels: { app: 'a', tier: 'b' } } } },
    ],
    [
      'StatefulSet volumeClaimTemplates replaced whole',
      'StatefulSet',
      { spec: { volumeClaimTemplates: [{ metadata: { name: 'a' } }, { metadata: { name: 'b' } }] } },
      { spec: { volumeClaimTemplates: [{ metadata: { name: 'c' } }] } },
      { spec: { volumeClaimTemplates: [{ metadata: { name: 'c' } }] } },
    ],
  ])('%s', (_name, kind, doc, patch, expected) => {
    expect(run(kind, doc, patch)).toEqual(expected);
  });
});

describe('applyStrategicMergePatch: directives and list semantics', () => {
  test.each<Case>([
    ['null deletes a key', 'ConfigMap', { data: { a: '1', b: '2' } }, { data: { a: null } }, { data: { b: '2' } }],
    ['null for an absent key is a no-op', 'ConfigMap', { data: {} }, { data: { zz: null } }, { data: {} }],
    ['nulls inside added maps are dropped', 'ConfigMap', {}, { data: { a: '1', b: null } }, { data: { a: '1' } }],
    ['type change replaces', 'ConfigMap', { data: 'x' }, { data: { a: '1' } }, { data: { a: '1' } }],
    ['finalizers merge as a set', 'Deployment', { metadata: { finalizers: ['a', 'b'] } }, { metadata: { finalizers: ['b', 'c'] } }, { metadata: { finalizers: ['a', 'b', 'c'] } }],
    ['finalizers: a new value goes before live-only values (apiserver order)', 'ConfigMap', { metadata: { finalizers: ['a', 'b'] } }, { metadata: { finalizers: ['c'] } }, { metadata: { finalizers: ['c', 'a', 'b'] } }],
    [
      'finalizers with $setElementOrder',
      'ConfigMap',
      { metadata: { finalizers: ['a', 'b'] } },
      { metadata: { '$setElementOrder/finalizers': ['a', 'b', 'c'], finalizers: ['c'] } },
      { metadata: { finalizers: ['a', 'b', 'c'] } },
    ],
    [
      '$deleteFromPrimitiveList/finalizers',
      'Pod',
      { metadata: { finalizers: ['a', 'b', 'c'] } },
      { metadata: { '$deleteFromPrimitiveList/finalizers': ['a', 'c', 'zz'] } },
      { metadata: { finalizers: ['b'] } },
    ],
    [
      'kubectl apply removing a finalizer ($setElementOrder + $deleteFromPrimitiveList)',
      'ConfigMap',
      { metadata: { finalizers: ['a', 'b', 'x'] } },
      { metadata: { '$setElementOrder/finalizers': ['b'], '$deleteFromPrimitiveList/finalizers': ['a'] } },
      { metadata: { finalizers: ['b', 'x'] } },
    ],
    ['$deleteFromPrimitiveList on an absent list adds nothing', 'Pod', { metadata: {} }, { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } }, { metadata: {} }],
    ['node spec.podCIDRs merge as a set', 'Node', { spec: { podCIDRs: ['10.0.0.0/24'] } }, { spec: { podCIDRs: ['10.0.0.0/24', 'fd00::/64'] } }, { spec: { podCIDRs: ['10.0.0.0/24', 'fd00::/64'] } }],
    [
      'new element via plain patch goes before live elements (apiserver order)',
      'Pod',
      { spec: { containers: [{ name: 'a' }, { name: 'b' }] } },
      { spec: { containers: [{ name: 'c', image: 'x' }] } },
      { spec: { containers: [{ name: 'c', image: 'x' }, { name: 'a' }, { name: 'b' }] } },
    ],
    [
      'patch elements keep patch order, live-only elements keep their live neighbours',
      'Pod',
      { spec: { containers: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] } },
      { spec: { containers: [{ name: 'b', image: 'y' }, { name: 'd' }] } },
      { spec: { containers: [{ name: 'a' }, { name: 'b', image: 'y' }, { name: 'd' }, { name: 'c' }] } },
    ],
    [
      '$setElementOrder reorders without content changes',
      'Pod',
      { spec: { containers: [{ name: 'a', image: '1' }, { name: 'b', image: '2' }] } },
      { spec: { '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }] } },
      { spec: { containers: [{ name: 'b', image: '2' }, { name: 'a', image: '1' }] } },
    ],
    [
      '$setElementOrder keeps server-only elements near their live neighbours',
      'Pod',
      { spec: { containers: [{ name: '1', x: 'a' }, { name: '2' }, { name: '9' }, { name: '3' }, { name: '4' }] } },
      { spec: { '$setElementOrder/containers': [{ name: '2' }, { name: '1' }, { name: '4' }, { name: '3' }] } },
      { spec: { containers: [{ name: '2' }, { name: '1', x: 'a' }, { name: '9' }, { name: '4' }, { name: '3' }] } },
    ],
    [
      '$setElementOrder with the list absent from the live object',
      'Pod',
      { spec: {} },
      { spec: { '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }], containers: [{ name: 'b' }, { name: 'a' }] } },
      { spec: { containers: [{ name: 'b' }, { name: 'a' }] } },
    ],
    [
      '$setElementOrder may name elements missing from the patch list',
      'Pod',
      { spec: { containers: [{ name: '1' }, { name: '3' }] } },
      { spec: { '$setElementOrder/containers': [{ name: '3' }, { name: '2' }, { name: '1' }], containers: [{ name: '3', v: 3 }, { name: '1', v: 1 }] } },
      { spec: { containers: [{ name: '3', v: 3 }, { name: '1', v: 1 }] } },
    ],
    [
      '$setElementOrder on a replaced list is ignored',
      'Pod',
      { spec: { tolerations: [{ key: 'a' }] } },
      { spec: { '$setElementOrder/tolerations': [{ key: 'b' }], tolerations: [{ key: 'b' }] } },
      { spec: { tolerations: [{ key: 'b' }] } },
    ],
    [
      '$patch: replace on a map',
      'Pod',
      { spec: { nodeSelector: { a: '1', b: '2' } } },
      { spec: { nodeSelector: { $patch: 'replace', c: '3' } } },
      { spec: { nodeSelector: { c: '3' } } },
    ],
    [
      '$patch: replace on a list (marker element)',
      'Pod',
      { spec: { containers: [{ name: 'a', image: '1' }, { name: 'b' }] } },
      { spec: { containers: [{ $patch: 'replace' }, { name: 'a', image: '2' }] } },
      { spec: { containers: [{ name: 'a', image: '2' }] } },
    ],
    [
      '$patch: replace marker in a replaced list is dropped',
      'Pod',
      { spec: { tolerations: [{ key: 'a' }] } },
      { spec: { tolerations: [{ $patch: 'replace' }, { key: 'b' }] } },
      { spec: { tolerations: [{ key: 'b' }] } },
    ],
    ['$patch: delete on a map empties it', 'Pod', { spec: { nodeSelector: { a: '1' } } }, { spec: { nodeSelector: { $patch: 'delete' } } }, { spec: { nodeSelector: {} } }],
    ['$patch: delete on an absent map leaves it absent', 'Pod', { spec: {} }, { spec: { nodeSelector: { $patch: 'delete' } } }, { spec: {} }],
    ['$patch: merge is the default', 'Pod', { spec: { nodeSelector: { a: '1' } } }, { spec: { nodeSelector: { $patch: 'merge', b: '2' } } }, { spec: { nodeSelector: { a: '1', b: '2' } } }],
    [
      '$patch: delete list element by merge key',
      'Pod',
      { spec: { containers: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] } },
      { spec: { containers: [{ name: 'b', $patch: 'delete' }] } },
      { spec: { containers: [{ name: 'a' }, { name: 'c' }] } },
    ],
    [
      'new list with a delete element and nested directives',
      'Pod',
      { spec: { containers: [{ name: 'web' }] } },
      { spec: { containers: [{ name: 'web', env: [{ name: 'X', value: '1' }, { name: 'Y', $patch: 'delete' }], resources: { limits: { cpu: '1', memory: null } } }] } },
      { spec: { containers: [{ name: 'web', env: [{ name: 'X', value: '1' }], resources: { limits: { cpu: '1' } } }] } },
    ],
    [
      'new map with $retainKeys stores no directive',
      'Deployment',
      { spec: { replicas: 1 } },
      { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } },
      { spec: { replicas: 1, strategy: { type: 'Recreate' } } },
    ],
    [
      '$retainKeys with null members',
      'Deployment',
      { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } },
      { spec: { strategy: { $retainKeys: ['rollingUpdate', 'type'], rollingUpdate: { maxSurge: null, maxUnavailable: 0 } } } },
      { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0 } } } },
    ],
    [
      'unknown kind: lists replace, maps merge, directives dropped',
      'Widget',
      { metadata: { finalizers: ['a'] }, spec: { items: [{ name: 'a', v: 1 }], m: { a: 1 } } },
      { metadata: { finalizers: ['b'] }, spec: { '$setElementOrder/items': [{ name: 'b' }], items: [{ name: 'b' }], m: { b: 2, a: null } } },
      { metadata: { finalizers: ['b'] }, spec: { items: [{ name: 'b' }], m: { b: 2 } } },
    ],
    ['unknown $-keys are ordinary keys', 'ConfigMap', { x: {} }, { x: { $ref: '#/a' } }, { x: { $ref: '#/a' } }],
    ['null patch is a no-op', 'Pod', { a: 1 }, null, { a: 1 }],
  ])('%s', (_name, kind, doc, patch, expected) => {
    expect(run(kind, doc, patch)).toEqual(expected);
  });

  test('the result shares nothing with doc or patch', () => {
    const doc: any = { spec: { containers: [{ name: 'a', env: [{ name: 'X' }] }], other: { deep: [1] } } };
    const patch: any = { spec: { containers: [{ name: 'b', args: ['1'] }] } };
    const out = applyStrategicMergePatch(doc, patch, 'Pod') as any;
    out.spec.other.deep.push(2);
    out.spec.containers.find((c: any) => c.name === 'b').args.push('2');
    out.spec.containers.find((c: any) => c.name === 'a').env.push({ name: 'Y' });
    expect(doc.spec.other.deep).toEqual([1]);
    expect(doc.spec.containers[0].env).toEqual([{ name: 'X' }]);
    expect(patch.spec.containers[0].args).toEqual(['1']);
  });

  test('__proto__ in a patch does not pollute prototypes', () => {
    const out = applyStrategicMergePatch({}, JSON.parse('{"__proto__":{"polluted":1},"a":{"__proto__":{"x":1}}}'), 'Pod') as any;
    expect(({} as any).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__', 'a']);
  });

  test('hasStrategicMergeSchema', () => {
    expect(hasStrategicMergeSchema('Deployment')).toBe(true);
    expect(hasStrategicMergeSchema('ConfigMap')).toBe(true);
    expect(hasStrategicMergeSchema('Widget')).toBe(false);
    expect(hasStrategicMergeSchema('constructor')).toBe(false);
  });
});

describe('applyStrategicMergePatch: errors', () => {
  type ErrCase = [name: string, kind: string, doc: any, patch: any, status: number, message: RegExp];
  test.each<ErrCase>([
    ['patch is not an object', 'Pod', {}, [1], 400, /must be a JSON object, got array/],
    ['list element without its merge key', 'Deployment', deployment(), { spec: { template: { spec: { containers: [{ image: 'x' }] } } } }, 400, /spec\.template\.spec\.containers: map: \{"image":"x"\} does not contain declared merge key: name/],
    ['delete element without its merge key', 'Pod', { spec: { containers: [] } }, { spec: { containers: [{ $patch: 'delete' }] } }, 400, /does not contain declared merge key: name/],
    ['unknown $patch in a map', 'Pod', {}, { spec: { $patch: 'frobnicate' } }, 400, /spec: unknown patch type "frobnicate"/],
    ['unknown $patch in a list element', 'Pod', { spec: { containers: [{ name: 'a' }] } }, { spec: { containers: [{ name: 'a', $patch: 'nope' }] } }, 400, /unknown patch type "nope"/],
    ['$retainKeys is not a list', 'Deployment', {}, { spec: { strategy: { $retainKeys: 'type', type: 'Recreate' } } }, 400, /invalid patch format of retainKeys/],
    ['patch key missing from $retainKeys', 'Deployment', {}, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: {} } } }, 400, /"rollingUpdate" is in the patch but not in \$retainKeys/],
    ['$setElementOrder is not a list', 'Pod', {}, { spec: { '$setElementOrder/containers': { name: 'a' } } }, 400, /invalid patch format of setElementOrder list/],
    ['$setElementOrder without a list name', 'Pod', {}, { spec: { $setElementOrder: [] } }, 400, /invalid patch format of setElementOrder list/],
    ['$setElementOrder element without merge key', 'Pod', {}, { spec: { '$setElementOrder/containers': ['a'] } }, 400, /does not contain declared merge key/],
    [
      '$setElementOrder inconsistent with the patch list',
      'Pod',
      { spec: { containers: [{ name: '1' }, { name: '2' }, { name: '3' }] } },
      { spec: { '$setElementOrder/containers': [{ name: '1' }, { name: '2' }, { name: '3' }], containers: [{ name: '3', v: 3 }, { name: '1', v: 1 }] } },
      400,
      /doesn't match \$setElementOrder list/,
    ],
    ['$deleteFromPrimitiveList is not a list', 'Pod', { metadata: { finalizers: ['a'] } }, { metadata: { '$deleteFromPrimitiveList/finalizers': 'a' } }, 400, /invalid patch format of primitive list/],
    ['$deleteFromPrimitiveList without a list name', 'Pod', {}, { metadata: { $deleteFromPrimitiveList: ['a'] } }, 400, /invalid patch format of primitive list/],
    ['mixed element types in a merged list', 'Pod', { metadata: { finalizers: ['a'] } }, { metadata: { finalizers: [{ name: 'b' }] } }, 400, /list element types are not identical/],
    ['list of lists in a merged list', 'Pod', { metadata: { finalizers: ['a'] } }, { metadata: { finalizers: [['b']] } }, 422, /lists of lists are not supported/],
  ])('%s', (_name, kind, doc, patch, status, message) => {
    const before = JSON.stringify(doc);
    let err: unknown;
    try {
      applyStrategicMergePatch(doc, patch, kind);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(status);
    if (status === 400) {
      expect(err).toBeInstanceOf(BadRequestError);
      expect((err as Error).message).toMatch(message);
    } else {
      expect(err).toBeInstanceOf(PatchApplyError);
      expect((err as PatchApplyError).detail).toMatch(message);
    }
    expect(JSON.stringify(doc)).toBe(before);
  });
});
