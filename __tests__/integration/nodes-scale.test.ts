/**
 * Simulated (hollow) nodes at scale in one process: 1,000 nodes added through the API as
 * `minictl node add --simulated --count 1000` does, all Ready with leases; the heartbeat's CPU
 * cost in steady state; then 10,000 pods bound across them all Running. Prints its figures.
 */
import { startTestCluster, eventually } from '../helpers/cluster';
import { resourceFor } from '../../src/api/scheme';
import type { KObject } from '../../src/api/types';

jest.setTimeout(600_000);

const NODES = resourceFor('', 'nodes')!;
const PODS = resourceFor('', 'pods')!;
const LEASES = resourceFor('coordination.k8s.io', 'leases')!;
const N = 1000;
const PODS_PER_NODE = 10;
const RENEW_MS = 2000;

function ready(n: KObject): boolean {
  return (n.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

test(`${N} simulated nodes are Ready, heartbeat cheaply, and run ${N * PODS_PER_NODE} pods`, async () => {
  const t = await startTestCluster({ nodes: 1, nodeRuntime: 'fake', nodeManager: { leaseRenewPeriodMs: RENEW_MS } });
  const figures: Record<string, string> = {};
  try {
    const names = Array.from({ length: N }, (_, i) => `it-s${String(i + 1).padStart(4, '0')}`);
    const t0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < names.length) {
          const name = names[next++];
          await t.client.request('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name, annotations: { 'minictl.io/managed': 'true', 'minictl.io/simulated': 'true' } } });
        }
      }),
    );
    figures['create 1000 Node objects over HTTPS'] = `${Date.now() - t0} ms`;
    await eventually(() => {
      const sims = t.cluster.registry.list(NODES, undefined).items.filter((n) => n.metadata.name!.startsWith('it-s'));
      expect(sims.filter(ready)).toHaveLength(N);
      expect(t.cluster.registry.list(LEASES, 'kube-node-lease').items.length).toBeGreaterThanOrEqual(N + 1);
    }, 300_000, 250);
    figures['all 1000 nodes Ready (from first create)'] = `${Date.now() - t0} ms`;
    expect(t.cluster.nodeManager!.runningNodes()).toHaveLength(N + 1);
    const cidrs = new Set(t.cluster.registry.list(NODES, undefined).items.map((n) => n.spec?.podCIDR));
    expect(cidrs.size).toBe(N + 1);

    // Steady state: every lease renewed each RENEW_MS by one shared timer.
    await sleep(RENEW_MS * 2);
    const revBefore = t.cluster.store.revision();
    const cpu0 = process.cpuUsage();
    const w0 = Date.now();
    await sleep(RENEW_MS * 5);
    const cpu = process.cpuUsage(cpu0);
    const wall = Date.now() - w0;
    const writes = t.cluster.store.revision() - revBefore;
    const pct = ((cpu.user + cpu.system) / 1000 / wall) * 100;
    const staleCutoff = Date.now() - RENEW_MS * 3;
    const stale = t.cluster.registry.list(LEASES, 'kube-node-lease').items.filter((l) => Date.parse(l.spec.renewTime) < staleCutoff);
    expect(stale.map((l) => l.metadata.name)).toEqual([]);
    figures[`steady state, lease period ${RENEW_MS / 1000} s`] = `${pct.toFixed(1)} % of a core, ${writes} writes in ${(wall / 1000).toFixed(1)} s (${((writes / wall) * 1000).toFixed(0)}/s)`;
    figures['extrapolated to the default 10 s lease period'] = `${((pct * RENEW_MS) / 10_000).toFixed(2)} % of a core`;
    // Renewals are ~N per period; status re-posts add at most one per node per report period.
    expect(writes).toBeGreaterThanOrEqual(N * 4);
    // Generous bound: five times the default load must fit in half a core even on a slow machine.
    expect(pct).toBeLessThan(50);

    // 10,000 pods bound across the hollow nodes (as the scheduler would), all Running.
    const p0 = Date.now();
    for (let i = 0; i < N * PODS_PER_NODE; i++) {
      t.cluster.registry.create(PODS, 'default', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `hollow-${i}`, namespace: 'default' },
        spec: { nodeName: names[i % N], terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image: 'minictl/busybox:local' }] },
      });
    }
    figures[`create ${N * PODS_PER_NODE} pods in-process`] = `${Date.now() - p0} ms`;
    await eventually(() => {
      const running = t.cluster.registry.list(PODS, 'default').items.filter((p) => p.status?.phase === 'Running').length;
      expect(running).toBe(N * PODS_PER_NODE);
    }, 400_000, 1000);
    figures[`all ${N * PODS_PER_NODE} pods Running (from first create)`] = `${Date.now() - p0} ms`;

    // Steady state again, now with the pods' kubelets relisting too.
    await sleep(RENEW_MS * 2);
    const cpu1 = process.cpuUsage();
    const w1 = Date.now();
    await sleep(RENEW_MS * 5);
    const cpuB = process.cpuUsage(cpu1);
    const pctB = ((cpuB.user + cpuB.system) / 1000 / (Date.now() - w1)) * 100;
    figures[`steady state with ${N * PODS_PER_NODE} pods, lease period ${RENEW_MS / 1000} s`] = `${pctB.toFixed(1)} % of a core`;
    expect(pctB).toBeLessThan(50);
    const mem = process.memoryUsage();
    figures['process memory'] = `rss ${(mem.rss / 2 ** 20).toFixed(0)} MiB, heap ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB`;
  } finally {
    const s0 = Date.now();
    await t.stop();
    figures['stop the cluster, remove its data dir'] = `${Date.now() - s0} ms`;
    process.stdout.write('\nsimulated nodes at scale:\n' + Object.entries(figures).map(([k, v]) => `  ${k.padEnd(48)} ${v}`).join('\n') + '\n');
  }
});
