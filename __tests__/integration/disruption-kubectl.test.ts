/**
 * `kubectl cordon`, `drain` and `uncordon` with a PodDisruptionBudget, driven by the real kubectl
 * against an in-process cluster (controllers and scheduler run; kubelets are simulated).
 */
import * as fs from 'node:fs';
import { startTestCluster, eventually } from '../helpers/cluster';
import { kubectl, RI, simulateKubelets, tmpDir, writeKubeconfig } from './jobs-harness';

jest.setTimeout(180_000);

describe('drain with a PodDisruptionBudget (real kubectl)', () => {
  let t: Awaited<ReturnType<typeof startTestCluster>>;
  let kubeconfig: string;
  let dir: string;
  let sim: ReturnType<typeof simulateKubelets>;

  beforeAll(async () => {
    t = await startTestCluster();
    dir = tmpDir('minictl-drain-');
    const info = t.cluster.info();
    kubeconfig = writeKubeconfig(dir, info.server, info.token, info.caCertPem);
    sim = simulateKubelets(t.cluster.registry, ['node-1', 'node-2']);
  });
  afterAll(async () => {
    sim?.stop();
    await t?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const readyDb = () =>
    t.cluster.registry
      .list(RI.pods, 'default')
      .items.filter((p) => p.metadata.labels?.app === 'db' && !p.metadata.deletionTimestamp && (p.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'));

  test('cordon taints and marks the node; drain evicts within the budget; uncordon', async () => {
    fs.writeFileSync(
      `${dir}/db.yaml`,
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: {name: db}',
        'spec:',
        '  replicas: 3',
        '  selector: {matchLabels: {app: db}}',
        '  template:',
        '    metadata: {labels: {app: db}}',
        '    spec: {containers: [{name: c, image: busybox}]}',
        '---',
        'apiVersion: policy/v1',
        'kind: PodDisruptionBudget',
        'metadata: {name: db}',
        'spec: {minAvailable: 2, selector: {matchLabels: {app: db}}}',
        '',
      ].join('\n'),
    );
    // node-2 cordoned while the pods are placed: all three land on node-1
    expect((await kubectl(kubeconfig, ['cordon', 'node-2'])).code).toBe(0);
    await eventually(() => expect((t.cluster.registry.get(RI.nodes, undefined, 'node-2').spec.taints ?? []).length).toBe(1), 10_000, 50);
    expect((await kubectl(kubeconfig, ['apply', '-f', `${dir}/db.yaml`])).code).toBe(0);
    await eventually(() => expect(readyDb()).toHaveLength(3), 30_000, 100);
    await eventually(() => expect(t.cluster.registry.get(RI.pdbs, 'default', 'db').status).toMatchObject({ currentHealthy: 3, desiredHealthy: 2, disruptionsAllowed: 1, expectedPods: 3 }), 10_000, 50);
    const pdb = await kubectl(kubeconfig, ['get', 'pdb', 'db', '--no-headers']);
    expect(pdb.stdout).toMatch(/^db\s+2\s+N\/A\s+1\s+/);
    expect(readyDb().every((p) => p.spec.nodeName === 'node-1')).toBe(true);
    expect((await kubectl(kubeconfig, ['uncordon', 'node-2'])).code).toBe(0);

    const cordon = await kubectl(kubeconfig, ['cordon', 'node-1']);
    expect(cordon.stdout.trim()).toBe('node/node-1 cordoned');
    await eventually(() => expect((t.cluster.registry.get(RI.nodes, undefined, 'node-1').spec.taints ?? []).map((x: { key: string }) => x.key)).toContain('node.kubernetes.io/unschedulable'), 10_000, 50);
    const nodes = await kubectl(kubeconfig, ['get', 'nodes', 'node-1', '--no-headers']);
    expect(nodes.stdout).toMatch(/Ready,SchedulingDisabled/);

    let minReady = Infinity;
    const watch = setInterval(() => (minReady = Math.min(minReady, readyDb().length)), 20);
    const onNode1 = () => t.cluster.registry.list(RI.pods, 'default').items.filter((p) => p.spec?.nodeName === 'node-1' && p.metadata.labels?.app === 'db');
    const before = onNode1().length;
    const drain = await kubectl(kubeconfig, ['drain', 'node-1', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=120s']);
    clearInterval(watch);
    expect(drain.code).toBe(0);
    expect(drain.stdout).toContain('node/node-1 drained');
    expect(onNode1()).toHaveLength(0);
    expect(minReady).toBeGreaterThanOrEqual(2);
    expect(before).toBe(3);
    expect(drain.stderr + drain.stdout).toContain("Cannot evict pod as it would violate the pod's disruption budget.");
    await eventually(() => expect(readyDb()).toHaveLength(3), 30_000, 100);

    const un = await kubectl(kubeconfig, ['uncordon', 'node-1']);
    expect(un.stdout.trim()).toBe('node/node-1 uncordoned');
    await eventually(() => expect(t.cluster.registry.get(RI.nodes, undefined, 'node-1').spec.taints ?? []).toEqual([]), 10_000, 50);
  });
});
