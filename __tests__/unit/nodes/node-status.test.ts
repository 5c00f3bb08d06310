import {
  CONTROL_PLANE_LABEL,
  NODE_ANNOTATIONS,
  clusterCidrOf,
  computeNodeStatus,
  describeCapacity,
  goArch,
  microTime,
  nextNodeName,
  nextSimulatedNames,
  nodeCapacity,
  nodeDisplayStatus,
  nodeLabels,
  nodeLease,
  nodeNameError,
  nodeNameFor,
  nodeRoles,
  nodeStatusNeedsUpdate,
  parseCpus,
  parseMemory,
  podCidrIndex,
  simulatedNodeName,
  simulatedPodCidr,
  type HostFacts,
  type NodeCondition,
} from '../../../src/kubelet/node-status';
import type { KObject } from '../../../src/api/types';

const facts: HostFacts = {
  cpus: 8,
  memoryBytes: 16 * 1024 ** 3,
  ephemeralStorageBytes: 100 * 1024 ** 3,
  kernelVersion: '6.1.0-test',
  osImage: 'Debian GNU/Linux 12 (bookworm)',
  architecture: 'amd64',
  machineID: '0123456789abcdef0123456789abcdef',
  bootID: 'boot-1',
};

function node(meta: Partial<KObject['metadata']> = {}, status?: unknown, spec?: unknown): KObject {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n', ...meta }, status, spec } as KObject;
}

describe('node naming', () => {
  test.each([
    [1, 'minictl'],
    [2, 'minictl-m02'],
    [9, 'minictl-m09'],
    [10, 'minictl-m10'],
    [100, 'minictl-m100'],
  ])('ordinal %i → %s', (i, want) => expect(nodeNameFor('minictl', i)).toBe(want));

  test('ordinals below 1 are rejected', () => {
    expect(() => nodeNameFor('p', 0)).toThrow(RangeError);
    expect(() => nodeNameFor('p', 1.5)).toThrow(RangeError);
  });

  test('simulated names are zero-padded to four digits', () => {
    expect(simulatedNodeName('ci', 1)).toBe('ci-s0001');
    expect(simulatedNodeName('ci', 1000)).toBe('ci-s1000');
    expect(simulatedNodeName('ci', 12345)).toBe('ci-s12345');
  });

  test('nextNodeName fills the lowest free ordinal from 2', () => {
    expect(nextNodeName('p', new Set(['p']))).toBe('p-m02');
    expect(nextNodeName('p', new Set(['p', 'p-m02', 'p-m04']))).toBe('p-m03');
  });

  test('nextSimulatedNames skips taken names', () => {
    expect(nextSimulatedNames('p', new Set(['p-s0002']), 3)).toEqual(['p-s0001', 'p-s0003', 'p-s0004']);
  });

  test.each([
    ['worker-1', undefined],
    ['a', undefined],
    ['', 'must not be empty'],
    ['Worker', 'lower-case'],
    ['-x', 'lower-case'],
    ['x-', 'lower-case'],
    ['a.b', 'lower-case'],
    ['a_b', 'lower-case'],
    ['x'.repeat(64), 'no more than 63'],
  ])('nodeNameError(%j)', (name, want) => {
    const err = nodeNameError(name);
    if (want === undefined) expect(err).toBeUndefined();
    else expect(err).toContain(want);
  });
});

describe('capacity', () => {
  test.each([
    ['2', 2000],
    ['1.5', 1500],
    ['500m', 500],
    [' 4 ', 4000],
  ])('parseCpus(%j) = %i millicores', (v, want) => expect(parseCpus(v)).toBe(want));

  test.each(['0', '-1', 'abc', '', '0m'])('parseCpus rejects %j', (v) => expect(() => parseCpus(v)).toThrow(/invalid cpus/));

  test.each([
    ['4Gi', 4 * 1024 ** 3],
    ['512Mi', 512 * 1024 ** 2],
    ['2048', 2048 * 1024 ** 2],
    ['4g', 4 * 1024 ** 3],
    ['2048mb', 2048 * 1024 ** 2],
    ['4G', 4e9],
  ])('parseMemory(%j)', (v, want) => expect(parseMemory(v)).toBe(want));

  test.each(['1Mi', 'lots', '', '-4Gi', '4GB'])('parseMemory rejects %j', (v) => expect(() => parseMemory(v)).toThrow(/invalid memory/));

  test('defaults come from the host', () => {
    expect(nodeCapacity(facts, undefined)).toEqual({
      cpu: '8',
      'ephemeral-storage': `${100 * 1024 * 1024}Ki`,
      'hugepages-1Gi': '0',
      'hugepages-2Mi': '0',
      memory: `${16 * 1024 * 1024}Ki`,
      pods: '110',
    });
  });

  test('annotations override cpu and memory; invalid overrides fall back to the host', () => {
    const c = nodeCapacity(facts, { [NODE_ANNOTATIONS.cpus]: '1500m', [NODE_ANNOTATIONS.memory]: '4Gi' });
    expect(c.cpu).toBe('1500m');
    expect(c.memory).toBe(`${4 * 1024 * 1024}Ki`);
    const bad = nodeCapacity(facts, { [NODE_ANNOTATIONS.cpus]: 'x', [NODE_ANNOTATIONS.memory]: 'y' });
    expect(bad.cpu).toBe('8');
    expect(bad.memory).toBe(`${16 * 1024 * 1024}Ki`);
  });

  test('describeCapacity is human-readable', () => {
    expect(describeCapacity(nodeCapacity(facts, { [NODE_ANNOTATIONS.cpus]: '2', [NODE_ANNOTATIONS.memory]: '4Gi' }))).toBe('2 CPUs, 4Gi memory');
    expect(describeCapacity(nodeCapacity(facts, { [NODE_ANNOTATIONS.cpus]: '1' }))).toBe('1 CPU, 16Gi memory');
    expect(describeCapacity(nodeCapacity({ ...facts, memoryBytes: 24683656 * 1024 }, undefined))).toBe('8 CPUs, 23.5Gi memory');
    expect(describeCapacity(nodeCapacity(facts, { [NODE_ANNOTATIONS.memory]: '512Mi' }))).toBe('8 CPUs, 512Mi memory');
  });
});

describe('labels and roles', () => {
  test('a kubelet registers hostname, os and arch labels; the first node is the control plane', () => {
    expect(nodeLabels('p', true, 'arm64')).toEqual({
      'beta.kubernetes.io/arch': 'arm64',
      'beta.kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'arm64',
      'kubernetes.io/hostname': 'p',
      'kubernetes.io/os': 'linux',
      [CONTROL_PLANE_LABEL]: '',
    });
    expect(nodeLabels('p-m02', false, 'amd64')[CONTROL_PLANE_LABEL]).toBeUndefined();
  });

  test.each([
    [{}, '<none>'],
    [{ [CONTROL_PLANE_LABEL]: '' }, 'control-plane'],
    [{ 'node-role.kubernetes.io/worker': '', 'node-role.kubernetes.io/infra': 'x' }, 'infra,worker'],
    [{ 'kubernetes.io/role': 'master' }, 'master'],
  ])('nodeRoles(%j) = %s', (labels, want) => expect(nodeRoles(node({ labels }))).toBe(want));

  test('goArch maps Node.js names to Go names', () => {
    expect(goArch('x64')).toBe('amd64');
    expect(goArch('arm64')).toBe('arm64');
    expect(goArch('mips')).toBe('mips');
  });

  test.each([
    [node({}, { conditions: [{ type: 'Ready', status: 'True' }] }), 'Ready'],
    [node({}, { conditions: [{ type: 'Ready', status: 'False' }] }), 'NotReady'],
    [node({}, { conditions: [{ type: 'Ready', status: 'Unknown' }] }), 'NotReady'],
    [node({}, {}), 'Unknown'],
    [node({ annotations: { [NODE_ANNOTATIONS.stopped]: 'true' } }, { conditions: [{ type: 'Ready', status: 'True' }] }), 'Stopped'],
    [node({}, { conditions: [{ type: 'Ready', status: 'True' }] }, { unschedulable: true }), 'Ready,SchedulingDisabled'],
  ])('display status %#', (n, want) => expect(nodeDisplayStatus(n)).toBe(want));
});

describe('computeNodeStatus', () => {
  const t0 = new Date('2024-05-01T10:00:00.123Z');
  const input = { name: 'p-m02', facts, internalIP: '10.244.2.1', containerRuntimeVersion: 'docker://20.10.24', now: t0 };

  test('a ready node: four conditions, addresses, nodeInfo, daemonEndpoints', () => {
    const s = computeNodeStatus(input) as Record<string, any>;
    expect(s.conditions.map((c: NodeCondition) => [c.type, c.status, c.reason])).toEqual([
      ['MemoryPressure', 'False', 'KubeletHasSufficientMemory'],
      ['DiskPressure', 'False', 'KubeletHasNoDiskPressure'],
      ['PIDPressure', 'False', 'KubeletHasSufficientPID'],
      ['Ready', 'True', 'KubeletReady'],
    ]);
    for (const c of s.conditions) {
      expect(c.lastHeartbeatTime).toBe('2024-05-01T10:00:00Z');
      expect(c.lastTransitionTime).toBe('2024-05-01T10:00:00Z');
    }
    expect(s.addresses).toEqual([
      { type: 'InternalIP', address: '10.244.2.1' },
      { type: 'Hostname', address: 'p-m02' },
    ]);
    expect(s.daemonEndpoints).toEqual({ kubeletEndpoint: { Port: 10250 } });
    expect(s.nodeInfo).toMatchObject({
      kubeletVersion: 'v1.32.0-minictl',
      containerRuntimeVersion: 'docker://20.10.24',
      osImage: facts.osImage,
      kernelVersion: facts.kernelVersion,
      architecture: 'amd64',
      operatingSystem: 'linux',
      machineID: facts.machineID,
      bootID: 'boot-1',
    });
    expect(s.nodeInfo.systemUUID).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(s.capacity.pods).toBe('110');
    expect(s.allocatable).toEqual(s.capacity);
  });

  test('transition times are kept while a condition keeps its status; heartbeats move', () => {
    const first = computeNodeStatus(input) as { conditions: NodeCondition[] };
    const t1 = new Date(t0.getTime() + 30_000);
    const second = computeNodeStatus({ ...input, now: t1 }, first) as { conditions: NodeCondition[] };
    const ready = second.conditions.find((c) => c.type === 'Ready')!;
    expect(ready.lastTransitionTime).toBe('2024-05-01T10:00:00Z');
    expect(ready.lastHeartbeatTime).toBe('2024-05-01T10:00:30Z');
    const notReady = computeNodeStatus({ ...input, now: t1, notReadyMessage: 'runtime down' }, first) as { conditions: NodeCondition[] };
    const r2 = notReady.conditions.find((c) => c.type === 'Ready')!;
    expect(r2).toMatchObject({ status: 'False', reason: 'KubeletNotReady', message: 'runtime down', lastTransitionTime: '2024-05-01T10:00:30Z' });
  });

  test('a condition set Unknown by the lifecycle controller transitions back to True', () => {
    const unknown = { conditions: [{ type: 'Ready', status: 'Unknown', lastHeartbeatTime: 'x', lastTransitionTime: '2024-01-01T00:00:00Z', reason: 'NodeStatusUnknown', message: '' }] as NodeCondition[] };
    const s = computeNodeStatus(input, unknown) as { conditions: NodeCondition[] };
    expect(s.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', lastTransitionTime: '2024-05-01T10:00:00Z' });
  });

  test('nodeStatusNeedsUpdate: changes and stale heartbeats need a write; heartbeat-only differences do not', () => {
    const cur = computeNodeStatus(input);
    const later = new Date(t0.getTime() + 10_000);
    const same = computeNodeStatus({ ...input, now: later }, cur as never);
    expect(nodeStatusNeedsUpdate(cur, same, later, 60_000)).toBe(false);
    expect(nodeStatusNeedsUpdate(cur, same, new Date(t0.getTime() + 60_000), 60_000)).toBe(true);
    const changed = computeNodeStatus({ ...input, now: later, annotations: { [NODE_ANNOTATIONS.cpus]: '2' } }, cur as never);
    expect(nodeStatusNeedsUpdate(cur, changed, later, 60_000)).toBe(true);
    expect(nodeStatusNeedsUpdate(undefined, same, later, 60_000)).toBe(true);
    expect(nodeStatusNeedsUpdate({ ...cur, images: [{ names: ['x'] }] }, same, later, 60_000)).toBe(false);
  });
});

describe('lease', () => {
  test('a node lease is held by the node, owned by it, with MicroTime renewTime', () => {
    const l = nodeLease({ name: 'p', uid: 'u1' }, new Date('2024-05-01T10:00:00.123Z'));
    expect(l).toEqual({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'p', namespace: 'kube-node-lease', ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'p', uid: 'u1' }] },
      spec: { holderIdentity: 'p', leaseDurationSeconds: 40, renewTime: '2024-05-01T10:00:00.123000Z' },
    });
    expect(microTime(new Date('2024-05-01T10:00:00Z'))).toBe('2024-05-01T10:00:00.000000Z');
    expect(nodeLease({ name: 'p' }, new Date(), 15).spec.leaseDurationSeconds).toBe(15);
  });
});

describe('pod ranges', () => {
  test.each([
    [1, '100.64.1.0/24'],
    [255, '100.64.255.0/24'],
    [256, '100.65.0.0/24'],
    [1000, '100.67.232.0/24'],
  ])('simulated node %i → %s and back', (k, cidr) => {
    expect(simulatedPodCidr(k)).toBe(cidr);
    expect(podCidrIndex(cidr, true)).toBe(k);
  });

  test('docker pod range index and /16', () => {
    expect(podCidrIndex('10.244.3.0/24', false)).toBe(3);
    expect(podCidrIndex('10.244.3.0/25', false)).toBeUndefined();
    expect(podCidrIndex(undefined, false)).toBeUndefined();
    expect(podCidrIndex('10.244.3.0/24', true)).toBeUndefined();
    expect(clusterCidrOf('10.243.7.0/24')).toBe('10.243.0.0/16');
    expect(clusterCidrOf('bogus')).toBeUndefined();
  });

  test('out-of-range simulated indices are rejected', () => {
    expect(() => simulatedPodCidr(0)).toThrow(RangeError);
    expect(() => simulatedPodCidr(64 * 256)).toThrow(RangeError);
  });
});
