/**
 * DaemonSet controller on a real store + API server, with the simulated scheduler/kubelet of
 * workloads-sim.ts (which binds daemon pods to the node named in their node affinity).
 */
import { resourceFor } from '../../src/api/scheme';
import type { KObject } from '../../src/api/types';
import { eventually, startTestCluster } from '../helpers/cluster';
import { ClusterSim, eventsFor, podsOf } from './workloads-sim';

jest.setTimeout(60_000);

const DS = resourceFor('apps', 'daemonsets')!;
const CR = resourceFor('apps', 'controllerrevisions')!;
const NODES = resourceFor('', 'nodes')!;
const PODS = resourceFor('', 'pods')!;

type TC = Awaited<ReturnType<typeof startTestCluster>>;
let tc: TC;
let sim: ClusterSim;
const reg = () => tc.cluster.registry;

beforeAll(async () => {
  tc = await startTestCluster();
  sim = new ClusterSim(tc.cluster.registry);
  sim.addNode('node-1', { labels: { disk: 'ssd' } });
  sim.addNode('node-2', { labels: { disk: 'ssd' } });
  sim.addNode('tainted', { labels: { disk: 'ssd' }, taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] });
  sim.addNode('cordoned', { labels: { disk: 'ssd' }, unschedulable: true, taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] });
  sim.start();
});

afterAll(async () => {
  sim.stop();
  await tc.stop();
});

function ds(name: string, spec: Record<string, unknown> = {}, image = 'agent:1'): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { nodeSelector: { disk: 'ssd' }, containers: [{ name: 'c', image }] } },
      ...spec,
    },
  };
}

const live = (name: string) => podsOf(reg(), 'default', (p) => p.metadata.labels?.app === name && !p.metadata.deletionTimestamp);
const byNode = (name: string) => Object.fromEntries(live(name).map((p) => [p.spec.nodeName ?? '?', p]));
const statusOf = (name: string) => reg().get(DS, 'default', name).status ?? {};

function revisionsOf(name: string): KObject[] {
  const d = reg().get(DS, 'default', name);
  return reg()
    .list(CR, 'default')
    .items.filter((r) => r.metadata.ownerReferences?.some((o) => o.uid === d.metadata.uid && o.controller))
    .sort((a, b) => a.revision - b.revision);
}

describe('DaemonSet', () => {
  it('runs one pod per eligible node with node affinity and the daemon tolerations', async () => {
    reg().create(DS, 'default', ds('agent'));
    await eventually(() => {
      expect(Object.keys(byNode('agent')).sort()).toEqual(['cordoned', 'node-1', 'node-2']);
      expect(statusOf('agent')).toMatchObject({ desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 3, numberAvailable: 3, updatedNumberScheduled: 3, numberMisscheduled: 0, observedGeneration: 1 });
    });
    const p = byNode('agent')['node-1'];
    expect(p.metadata.name).toMatch(/^agent-[a-z0-9]{5}$/);
    expect(p.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution).toEqual({ nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-1'] }] }] });
    const tol = p.spec.tolerations.map((t: { key: string; effect: string }) => `${t.key}:${t.effect}`);
    for (const k of ['not-ready:NoExecute', 'unreachable:NoExecute', 'disk-pressure:NoSchedule', 'memory-pressure:NoSchedule', 'pid-pressure:NoSchedule', 'unschedulable:NoSchedule']) {
      expect(tol).toContain(`node.kubernetes.io/${k}`);
    }
    const [rev] = revisionsOf('agent');
    expect(rev.revision).toBe(1);
    expect(p.metadata.labels!['controller-revision-hash']).toBe(rev.metadata.labels!['controller-revision-hash']);
    expect(rev.metadata.name).toBe(`agent-${rev.metadata.labels!['controller-revision-hash']}`);
    expect(statusOf('agent').numberUnavailable).toBeUndefined();
    expect(eventsFor(reg(), 'default', 'agent').filter((e) => e.reason === 'SuccessfulCreate').length).toBe(3);
  });

  it('follows nodes: added later, labels changed, deleted', async () => {
    sim.addNode('node-3', { labels: { disk: 'ssd' } });
    await eventually(() => {
      expect(Object.keys(byNode('agent')).sort()).toEqual(['cordoned', 'node-1', 'node-2', 'node-3']);
      expect(statusOf('agent')).toMatchObject({ desiredNumberScheduled: 4, numberReady: 4 });
    });
    reg().guaranteedUpdate(NODES, undefined, 'node-2', (n) => ({ ...n, metadata: { ...n.metadata, labels: { ...n.metadata.labels, disk: 'hdd' } } }));
    await eventually(() => {
      expect(Object.keys(byNode('agent')).sort()).toEqual(['cordoned', 'node-1', 'node-3']);
      expect(statusOf('agent')).toMatchObject({ desiredNumberScheduled: 3, currentNumberScheduled: 3, numberMisscheduled: 0 });
    });
    sim.frozenNodes.add('node-3');
    reg().delete(NODES, undefined, 'node-3');
    await eventually(() => {
      expect(podsOf(reg(), 'default', (p) => p.metadata.labels?.app === 'agent' && p.spec.nodeName === 'node-3')).toEqual([]);
      expect(statusOf('agent')).toMatchObject({ desiredNumberScheduled: 2, currentNumberScheduled: 2 });
    });
  });

  it('rolling update with maxUnavailable 1 replaces pods node by node; undo renumbers the old revision', async () => {
    sim.addNode('node-4', { labels: { disk: 'ssd' } });
    await eventually(() => expect(statusOf('agent')).toMatchObject({ desiredNumberScheduled: 3, numberAvailable: 3 }));
    let minAvailable = 3;
    const t = setInterval(() => {
      const ready = podsOf(reg(), 'default', (p) => p.metadata.labels?.app === 'agent' && (p.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'));
      minAvailable = Math.min(minAvailable, ready.length);
    }, 3);
    const [rev1] = revisionsOf('agent');
    reg().guaranteedUpdate(DS, 'default', 'agent', (c) => {
      c.spec.template.spec.containers[0].image = 'agent:2';
      return c;
    });
    await eventually(() => {
      expect(statusOf('agent')).toMatchObject({ desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3, observedGeneration: 2 });
      expect(live('agent').map((p) => p.spec.containers[0].image)).toEqual(['agent:2', 'agent:2', 'agent:2']);
    }, 20_000);
    clearInterval(t);
    expect(minAvailable).toBeGreaterThanOrEqual(2);
    const revs = revisionsOf('agent');
    expect(revs.map((r) => r.revision)).toEqual([1, 2]);

    // kubectl rollout undo daemonset: strategic merge patch with the revision's data
    await tc.client.request('PATCH', '/apis/apps/v1/namespaces/default/daemonsets/agent', rev1.data, { 'Content-Type': 'application/strategic-merge-patch+json' });
    await eventually(() => {
      expect(statusOf('agent')).toMatchObject({ updatedNumberScheduled: 3, numberAvailable: 3, observedGeneration: 3 });
      expect(live('agent').map((p) => p.spec.containers[0].image)).toEqual(['agent:1', 'agent:1', 'agent:1']);
    }, 20_000);
    const after = revisionsOf('agent');
    expect(after.length).toBe(2);
    expect(after.find((r) => r.metadata.name === rev1.metadata.name)!.revision).toBe(3);
  });

  it('maxSurge starts the new pod before deleting the old one', async () => {
    reg().create(DS, 'default', ds('surge', { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } }));
    await eventually(() => expect(statusOf('surge')).toMatchObject({ desiredNumberScheduled: 3, numberAvailable: 3 }));
    let maxPerNode = 1;
    let minReady = 3;
    const t = setInterval(() => {
      const pods = podsOf(reg(), 'default', (p) => p.metadata.labels?.app === 'surge' && !p.metadata.deletionTimestamp);
      const count: Record<string, number> = {};
      for (const p of pods) count[p.spec.nodeName ?? '?'] = (count[p.spec.nodeName ?? '?'] ?? 0) + 1;
      maxPerNode = Math.max(maxPerNode, ...Object.values(count));
      minReady = Math.min(minReady, pods.filter((p) => (p.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True')).length);
    }, 3);
    reg().guaranteedUpdate(DS, 'default', 'surge', (c) => {
      c.spec.template.spec.containers[0].image = 'agent:3';
      return c;
    });
    await eventually(() => {
      expect(statusOf('surge')).toMatchObject({ updatedNumberScheduled: 3, numberAvailable: 3 });
      expect(live('surge').map((p) => p.spec.containers[0].image)).toEqual(['agent:3', 'agent:3', 'agent:3']);
    }, 20_000);
    clearInterval(t);
    expect(maxPerNode).toBe(2);
    expect(minReady).toBeGreaterThanOrEqual(3);
  });

  it('replaces a failed daemon pod and reports FailedDaemonPod', async () => {
    const p = byNode('agent')['node-1'];
    sim.failPod('default', p.metadata.name!);
    await eventually(() => {
      const now = byNode('agent')['node-1'];
      expect(now).toBeDefined();
      expect(now.metadata.uid).not.toBe(p.metadata.uid);
      expect(statusOf('agent').numberReady).toBe(3);
    });
    expect(eventsFor(reg(), 'default', 'agent')).toContainEqual({ type: 'Warning', reason: 'FailedDaemonPod', message: `Found failed daemon pod default/${p.metadata.name} on node node-1, will try to kill it` });
  });

  it('OnDelete keeps old pods until they are deleted', async () => {
    reg().create(DS, 'default', ds('ondel', { updateStrategy: { type: 'OnDelete' } }));
    await eventually(() => expect(statusOf('ondel')).toMatchObject({ desiredNumberScheduled: 3, numberAvailable: 3 }));
    reg().guaranteedUpdate(DS, 'default', 'ondel', (c) => {
      c.spec.template.spec.containers[0].image = 'agent:9';
      return c;
    });
    await eventually(() => {
      expect(statusOf('ondel').observedGeneration).toBe(2);
      expect(statusOf('ondel').updatedNumberScheduled).toBeUndefined(); // 0, omitted like Go's omitempty
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(live('ondel').every((p) => p.spec.containers[0].image === 'agent:1')).toBe(true);
    const victim = byNode('ondel')['node-1'];
    reg().delete(PODS, 'default', victim.metadata.name!);
    await eventually(() => {
      expect(byNode('ondel')['node-1']?.spec.containers[0].image).toBe('agent:9');
      expect(statusOf('ondel')).toMatchObject({ updatedNumberScheduled: 1, numberAvailable: 3 });
    });
  });
});
