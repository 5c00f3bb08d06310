import type { KObject } from '../../src/api/types';
import { nodeLifecycleController } from '../../src/controllers/node-lifecycle/node-lifecycle-controller';
import { Bench, RI } from './jobs-harness';

describe('node lifecycle controller (ManualClock, real store)', () => {
  let b: Bench;
  beforeEach(async () => {
    b = new Bench(Date.UTC(2024, 0, 1), { nodeMonitorGracePeriodMs: 20_000, podEvictionTimeoutMs: 30_000 });
  });
  afterEach(() => b.stop());

  const iso = () => new Date(b.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const micro = () => new Date(b.clock.now()).toISOString().replace('Z', '000Z');

  /** What the kubelet does every 10 s: renew the Lease; post Ready with a fresh heartbeat. */
  const heartbeat = (name: string, ready: 'True' | 'False' = 'True') => {
    const now = iso();
    const lease = b.registry.tryGet(RI.leases, 'kube-node-lease', name);
    if (!lease) {
      b.registry.create(RI.leases, 'kube-node-lease', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name }, spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: micro() } });
    } else {
      b.registry.guaranteedUpdate(RI.leases, 'kube-node-lease', name, (l) => ({ ...l, spec: { ...l.spec, renewTime: micro() } }));
    }
    b.registry.guaranteedUpdate(
      RI.nodes,
      undefined,
      name,
      (n) => {
        const prev = (n.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready');
        const conds = [
          { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', lastHeartbeatTime: now, lastTransitionTime: now },
          {
            type: 'Ready',
            status: ready,
            reason: ready === 'True' ? 'KubeletReady' : 'KubeletNotReady',
            message: ready === 'True' ? 'kubelet is posting ready status' : 'container runtime is down',
            lastHeartbeatTime: now,
            lastTransitionTime: prev && prev.status === ready ? prev.lastTransitionTime : now,
          },
        ];
        return { ...n, status: { ...(n.status ?? {}), conditions: conds } };
      },
      { subresource: 'status' },
    );
  };

  const addNode = (name: string) => {
    b.registry.create(RI.nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {} });
    heartbeat(name);
  };
  const node = (name: string) => b.get(RI.nodes, undefined, name);
  const ready = (n: KObject) => (n.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready');
  const taints = (name: string) => (node(name).spec.taints ?? []).map((t: { key: string; effect: string }) => `${t.key}:${t.effect}`).sort();
  const runPod = (name: string, nodeName: string, tolerations?: unknown[]) => {
    const p = b.registry.create(RI.pods, 'default', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { containers: [{ name: 'c', image: 'busybox' }], ...(tolerations ? { tolerations } : {}) },
    });
    b.bind(p, nodeName);
    return b.setPodStatus(p, 'Running');
  };
  const exists = (name: string) => b.registry.tryGet(RI.pods, 'default', name) !== undefined;
  /** advance in 1 s steps while `beat` nodes keep heartbeating every 10 s */
  const run = async (ms: number, beat: string[] = []) => {
    for (let t = 0; t < ms; t += 1000) {
      if (Math.floor((b.clock.now() / 1000) % 10) === 0) for (const n of beat) heartbeat(n);
      await b.advance(1000);
    }
  };

  test('a silent node becomes Unknown after the grace period, is tainted and its pods evicted; it recovers', async () => {
    addNode('node-1');
    addNode('node-2');
    await b.start(nodeLifecycleController(b.ctx));
    const evicted = runPod('web', 'node-1'); // default tolerations: 300 s, capped at 30 s
    runPod('quick', 'node-1', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 }]);
    runPod('forever', 'node-1', [{ operator: 'Exists' }]); // like a DaemonSet pod
    runPod('other', 'node-2');
    await run(19_000, ['node-1', 'node-2']); // node-1 beats at t=0,10 only within run(); stop beating it now
    expect(ready(node('node-1')).status).toBe('True');
    const silentFrom = b.clock.now();
    await run(21_000, ['node-2']);
    const n1 = node('node-1');
    expect(ready(n1)).toMatchObject({ status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' });
    expect((n1.status.conditions as { type: string; status: string }[]).find((c) => c.type === 'MemoryPressure')!.status).toBe('Unknown');
    expect(taints('node-1')).toEqual(['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);
    expect(taints('node-2')).toEqual([]);
    expect(b.events.find((e) => e.kind === 'Node' && e.name === 'node-1')).toMatchObject({ reason: 'NodeNotReady', message: 'Node node-1 status is now: NodeNotReady' });
    const webNow = b.get(RI.pods, 'default', 'web');
    expect(webNow.status.conditions.find((c: { type: string }) => c.type === 'Ready').status).toBe('False');
    const taintedAt = Date.parse(node('node-1').spec.taints.find((t: { effect: string }) => t.effect === 'NoExecute').timeAdded);
    expect(taintedAt - silentFrom).toBeLessThanOrEqual(21_000);
    expect(taintedAt - silentFrom).toBeGreaterThanOrEqual(10_000);

    // tolerationSeconds 5 → gone 5 s after the taint; default ones after the 30 s cap
    await b.advance(taintedAt + 5_000 - b.clock.now());
    expect(exists('quick')).toBe(false);
    expect(exists('web')).toBe(true);
    await b.advance(taintedAt + 30_000 - b.clock.now());
    expect(exists('web')).toBe(false); // forced: no kubelet to finish it
    expect(exists('forever')).toBe(true);
    expect(exists('other')).toBe(true);
    expect(b.events.filter((e) => e.reason === 'TaintManagerEviction').map((e) => e.name).sort()).toEqual(['quick', 'web']);
    expect(evicted.metadata.uid).toBeDefined();

    // the kubelet comes back
    heartbeat('node-1');
    await b.settle();
    expect(ready(node('node-1')).status).toBe('True');
    expect(taints('node-1')).toEqual([]);
    expect(b.reasons('node-1')).toContain('NodeReady');
  });

  test('Ready=False from the kubelet taints not-ready at once', async () => {
    addNode('node-1');
    await b.start(nodeLifecycleController(b.ctx));
    runPod('p', 'node-1');
    heartbeat('node-1', 'False');
    await b.settle();
    expect(taints('node-1')).toEqual(['node.kubernetes.io/not-ready:NoExecute', 'node.kubernetes.io/not-ready:NoSchedule']);
    expect(b.get(RI.pods, 'default', 'p').status.conditions.find((c: { type: string }) => c.type === 'Ready').status).toBe('False');
    for (let i = 0; i < 4; i++) {
      await b.advance(8_000);
      heartbeat('node-1', 'False');
    }
    // still beating but not ready: evicted after the capped toleration
    expect(ready(node('node-1')).status).toBe('False');
    expect(exists('p')).toBe(false);
  });

  test('cordon mirrors spec.unschedulable as the unschedulable taint', async () => {
    addNode('node-1');
    await b.start(nodeLifecycleController(b.ctx));
    b.registry.guaranteedUpdate(RI.nodes, undefined, 'node-1', (n) => ({ ...n, spec: { ...n.spec, unschedulable: true, taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] } }));
    await b.settle();
    expect(taints('node-1')).toEqual(['dedicated:NoSchedule', 'node.kubernetes.io/unschedulable:NoSchedule']);
    b.registry.guaranteedUpdate(RI.nodes, undefined, 'node-1', (n) => ({ ...n, spec: { ...n.spec, unschedulable: undefined } }));
    await b.settle();
    expect(taints('node-1')).toEqual(['dedicated:NoSchedule']);
  });

  test('a node that never posted status is Unknown (NodeStatusNeverUpdated) after the startup grace', async () => {
    b.registry.create(RI.nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'mute' }, spec: {} });
    await b.start(nodeLifecycleController(b.ctx));
    await b.advance(59_000);
    expect(ready(node('mute'))).toBeUndefined();
    await b.advance(1_000);
    expect(ready(node('mute'))).toMatchObject({ status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.' });
    expect(taints('mute')).toEqual(['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);
  });

  test('a user NoExecute taint on a healthy node evicts intolerant pods gracefully', async () => {
    addNode('node-1');
    await b.start(nodeLifecycleController(b.ctx));
    runPod('plain', 'node-1');
    runPod('tolerant', 'node-1', [{ key: 'maint', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }]);
    b.registry.guaranteedUpdate(RI.nodes, undefined, 'node-1', (n) => ({ ...n, spec: { ...n.spec, taints: [{ key: 'maint', effect: 'NoExecute', timeAdded: iso() }] } }));
    await b.settle();
    const plain = b.get(RI.pods, 'default', 'plain');
    expect(plain.metadata.deletionTimestamp).toBeDefined(); // the kubelet is alive: normal grace
    expect(plain.metadata.deletionGracePeriodSeconds).toBe(30);
    await run(59_000, ['node-1']);
    expect(b.get(RI.pods, 'default', 'tolerant').metadata.deletionTimestamp).toBeUndefined();
    await run(2_000, ['node-1']);
    expect(b.get(RI.pods, 'default', 'tolerant').metadata.deletionTimestamp).toBeDefined();
  });

  test('restarting the controller grants a full grace period (no instant NotReady)', async () => {
    addNode('node-1');
    await b.advance(600_000); // the old heartbeat is ten minutes old
    await b.start(nodeLifecycleController(b.ctx));
    expect(ready(node('node-1')).status).toBe('True');
    await b.advance(20_000);
    expect(ready(node('node-1')).status).toBe('Unknown');
  });
});
