import { SchedulerCache } from '../../../src/scheduler/cache';
import { info, node, pod, req } from './helpers';

describe('SchedulerCache', () => {
  const bound = (name: string, n: string, cpu = '1') => info({ ...pod(name, { containers: [req(cpu, '1Gi')] }), spec: { containers: [req(cpu, '1Gi')], nodeName: n } });

  test('assume, confirm, forget keep requests right', () => {
    const c = new SchedulerCache();
    c.setNode(node('n1'));
    const p = info(pod('p', { containers: [req('1', '1Gi')] }));
    c.assumePod(p, 'n1');
    expect(c.nodeInfo('n1')!.requested.milliCPU).toBe(1000);
    expect(c.isAssumed(p.uid)).toBe(true);
    c.forgetPod(p);
    expect(c.nodeInfo('n1')!.requested.milliCPU).toBe(0);
    c.assumePod(p, 'n1');
    c.addOrUpdatePod({ ...p, nodeName: 'n1' });
    expect(c.isAssumed(p.uid)).toBe(false);
    c.forgetPod(p); // confirmed pods are not forgotten
    expect(c.nodeInfo('n1')!.requested.milliCPU).toBe(1000);
    c.removePod(p.uid);
    expect(c.nodeInfo('n1')!.requested.milliCPU).toBe(0);
    expect(c.nodeInfo('n1')!.pods.size).toBe(0);
  });

  test('pods on a node not seen yet wait on a placeholder that is not a candidate', () => {
    const c = new SchedulerCache();
    c.addOrUpdatePod(bound('p', 'late'));
    expect(c.nodeInfos()).toHaveLength(0);
    c.setNode(node('late'));
    expect(c.nodeInfos().map((n) => n.name)).toEqual(['late']);
    expect(c.nodeInfo('late')!.requested.milliCPU).toBe(1000);
    c.removeNode('late');
    expect(c.nodeInfos()).toHaveLength(0);
    c.removePod(bound('p', 'late').uid);
  });

  test('node order is stable; removal compacts', () => {
    const c = new SchedulerCache();
    for (const n of ['a', 'b', 'c']) c.setNode(node(n));
    c.removeNode('b');
    c.setNode(node('d'));
    c.setNode(node('a', { cpu: '8' }));
    expect(c.nodeInfos().map((n) => n.name)).toEqual(['a', 'c', 'd']);
    expect(c.nodeInfo('a')!.allocatable.milliCPU).toBe(8000);
  });

  test('affinity counters and image counts', () => {
    const c = new SchedulerCache();
    c.setNode(node('a', { images: [{ names: ['nginx:1'], sizeBytes: 1 }] }));
    c.setNode(node('b', { images: [{ names: ['nginx:1'], sizeBytes: 1 }] }));
    expect(c.imageNodeCount('nginx:1')).toBe(2);
    c.removeNode('b');
    expect(c.imageNodeCount('nginx:1')).toBe(1);
    const p = info({ ...pod('p', { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: {}, topologyKey: 'x' }] } } }), spec: { containers: [], nodeName: 'a', affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: {}, topologyKey: 'x' }] } } } });
    c.addOrUpdatePod(p);
    expect(c.havePodsWithRequiredAntiAffinity()).toBe(true);
    expect(c.nodeInfo('a')!.podsWithRequiredAntiAffinity).toBe(1);
    c.removePod(p.uid);
    expect(c.havePodsWithRequiredAntiAffinity()).toBe(false);
    expect(c.havePodsWithAffinity()).toBe(false);
  });
});
