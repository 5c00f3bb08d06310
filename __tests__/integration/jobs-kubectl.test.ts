/**
 * Jobs and CronJobs driven by the real kubectl against an in-process cluster (all built-in
 * controllers and the scheduler run; the kubelets are simulated by simulateKubelets).
 */
import * as fs from 'node:fs';
import type { KObject } from '../../src/api/types';
import { startTestCluster, eventually } from '../helpers/cluster';
import { kubectl, RI, simulateKubelets, tmpDir, writeKubeconfig } from './jobs-harness';

jest.setTimeout(120_000);

describe('batch with the real kubectl', () => {
  let t: Awaited<ReturnType<typeof startTestCluster>>;
  let kubeconfig: string;
  let dir: string;
  let sim: ReturnType<typeof simulateKubelets>;
  const failuresLeft = new Map<string, number>();

  beforeAll(async () => {
    t = await startTestCluster();
    dir = tmpDir('minictl-batch-');
    const info = t.cluster.info();
    kubeconfig = writeKubeconfig(dir, info.server, info.token, info.caCertPem);
    // Pods of Jobs labelled `fails: "N"` fail N times (per Job), then succeed; other job pods succeed.
    sim = simulateKubelets(t.cluster.registry, ['node-1'], (p: KObject) => {
      const job = p.metadata.labels?.['batch.kubernetes.io/job-name'];
      if (!job) return 'Running';
      const n = failuresLeft.get(job) ?? Number(p.metadata.labels?.fails ?? 0);
      failuresLeft.set(job, n - 1);
      return n > 0 ? 'Failed' : 'Succeeded';
    });
  });
  afterAll(async () => {
    sim?.stop();
    await t?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('kubectl create job (protobuf) and kubectl wait --for=condition=complete', async () => {
    const c = await kubectl(kubeconfig, ['create', 'job', 'hello', '--image=busybox', '--', 'sh', '-c', 'echo hi']);
    expect(c.stderr).toBe('');
    expect(c.stdout.trim()).toBe('job.batch/hello created');
    const w = await kubectl(kubeconfig, ['wait', '--for=condition=complete', 'job/hello', '--timeout=60s']);
    expect(w.stdout.trim()).toBe('job.batch/hello condition met');
    const get = await kubectl(kubeconfig, ['get', 'job', 'hello']);
    expect(get.stdout).toMatch(/hello\s+Complete\s+1\/1/);
    const ev = await kubectl(kubeconfig, ['get', 'events', '--field-selector', 'involvedObject.name=hello', '-o', 'jsonpath={.items[*].reason}']);
    expect(ev.stdout.split(' ')).toEqual(expect.arrayContaining(['SuccessfulCreate', 'Completed']));
  });

  test('a Job failing twice then succeeding (back-off 10 s, 20 s)', async () => {
    const manifest = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'flaky' },
      spec: { backoffLimit: 4, template: { metadata: { labels: { fails: '2' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
    };
    fs.writeFileSync(`${dir}/flaky.json`, JSON.stringify(manifest));
    const started = Date.now();
    expect((await kubectl(kubeconfig, ['apply', '-f', `${dir}/flaky.json`])).code).toBe(0);
    const w = await kubectl(kubeconfig, ['wait', '--for=condition=complete', 'job/flaky', '--timeout=90s']);
    expect(w.code).toBe(0);
    const took = Date.now() - started;
    // 10 s + 20 s of back-off, counted from the containers' finishedAt (whole seconds)
    expect(took).toBeGreaterThanOrEqual(28_000);
    const job = t.cluster.registry.get(RI.jobs, 'default', 'flaky');
    expect(job.status).toMatchObject({ succeeded: 1, failed: 2 });
    const pods = await kubectl(kubeconfig, ['get', 'pods', '-l', 'job-name=flaky', '--no-headers']);
    const statuses = pods.stdout.trim().split('\n').map((l) => l.split(/\s+/)[2]).sort();
    expect(statuses).toEqual(['Completed', 'Error', 'Error']);
  });

  test('kubectl create cronjob and kubectl create job --from=cronjob/x', async () => {
    const c = await kubectl(kubeconfig, ['create', 'cronjob', 'every', '--image=busybox', '--schedule=*/5 * * * *', '--', 'date']);
    expect(c.stdout.trim()).toBe('cronjob.batch/every created');
    const m = await kubectl(kubeconfig, ['create', 'job', 'manual-run', '--from=cronjob/every']);
    expect(m.stdout.trim()).toBe('job.batch/manual-run created');
    const job = t.cluster.registry.get(RI.jobs, 'default', 'manual-run');
    const cj = t.cluster.registry.get(RI.cronjobs, 'default', 'every');
    expect(job.metadata.annotations?.['cronjob.kubernetes.io/instantiate']).toBe('manual');
    expect(job.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'CronJob', name: 'every', uid: cj.metadata.uid });
    await eventually(() => expect(t.cluster.registry.get(RI.jobs, 'default', 'manual-run').status?.succeeded).toBe(1), 30_000, 100);
    const get = await kubectl(kubeconfig, ['get', 'cronjob', 'every']);
    expect(get.stdout).toMatch(/every\s+\*\/5 \* \* \* \*\s+<none>\s+False\s+0\s+<none>/);
  });
});
