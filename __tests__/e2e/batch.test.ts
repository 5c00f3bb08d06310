/**
 * Batch, scheduling-housekeeping and disruption end to end: a real daemon with two Docker
 * nodes, the real kubectl. A Job that fails twice then succeeds (state kept in a hostPath
 * counter), a CronJob every minute, `kubectl create job --from=cronjob`, and `kubectl drain`
 * honouring a PodDisruptionBudget. Everything is removed by `minictl delete` in afterAll.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { newEnv, minictl, kubectl, kubectlOk, eventually, type E2EEnv } from '../helpers/e2e';

jest.setTimeout(900_000);

const BUSYBOX = 'minictl/busybox:local';
let e: E2EEnv;
let hostDir: string;

function apply(obj: unknown): void {
  kubectlOk(e, ['apply', '-f', '-'], { input: JSON.stringify(obj) });
}

beforeAll(() => {
  e = newEnv('batch');
  hostDir = fs.mkdtempSync(path.join(os.tmpdir(), 'minictl-batch-host-'));
  fs.chmodSync(hostDir, 0o777);
  const r = minictl(e, ['start', '--nodes', '2', '--wait', '180'], undefined, 300_000);
  if (r.status !== 0) throw new Error(`minictl start failed: ${r.stderr}${r.stdout}`);
});

afterAll(() => {
  e?.cleanup();
  if (hostDir) fs.rmSync(hostDir, { recursive: true, force: true });
});

test('a Job that fails twice, then succeeds', async () => {
  apply({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'flaky', namespace: 'default' },
    spec: {
      backoffLimit: 4,
      template: {
        spec: {
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: 1,
          volumes: [{ name: 'state', hostPath: { path: hostDir, type: 'Directory' } }],
          containers: [
            {
              name: 'try',
              image: BUSYBOX,
              imagePullPolicy: 'Never',
              command: ['sh', '-c', 'n=$(cat /state/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /state/n; echo attempt $n; [ $n -ge 3 ]'],
              volumeMounts: [{ name: 'state', mountPath: '/state' }],
            },
          ],
        },
      },
    },
  });
  const started = Date.now();
  const w = kubectl(e, ['wait', '--for=condition=complete', 'job/flaky', '--timeout=240s'], { timeoutMs: 260_000 });
  expect(w.stdout.trim()).toBe('job.batch/flaky condition met');
  const jobMs = Date.now() - started;
  expect(jobMs).toBeGreaterThanOrEqual(28_000); // back-off 10 s + 20 s
  process.stderr.write(`timing: Job failing twice then succeeding completed in ${(jobMs / 1000).toFixed(1)} s\n`);
  expect(kubectlOk(e, ['get', 'job', 'flaky', '-o', 'jsonpath={.status.succeeded} {.status.failed}'])).toBe('1 2');
  const phases = kubectlOk(e, ['get', 'pods', '-l', 'job-name=flaky', '-o', 'jsonpath={.items[*].status.phase}']).split(' ').sort();
  expect(phases).toEqual(['Failed', 'Failed', 'Succeeded']);
  const winner = kubectlOk(e, ['get', 'pods', '-l', 'job-name=flaky', '--field-selector', 'status.phase=Succeeded', '-o', 'jsonpath={.items[0].metadata.name}']);
  expect(kubectlOk(e, ['logs', winner]).trim()).toBe('attempt 3');
  const events = kubectlOk(e, ['get', 'events', '--field-selector', 'involvedObject.name=flaky', '-o', 'jsonpath={.items[*].reason}']);
  expect(events).toContain('Completed');
});

test('a CronJob every minute; kubectl create job --from=cronjob', async () => {
  kubectlOk(e, ['create', 'cronjob', 'tick', `--image=${BUSYBOX}`, '--schedule=* * * * *', '--', 'sh', '-c', 'echo tick']);
  const manual = kubectlOk(e, ['create', 'job', 'tick-manual', '--from=cronjob/tick']);
  expect(manual.trim()).toBe('job.batch/tick-manual created');
  kubectlOk(e, ['wait', '--for=condition=complete', 'job/tick-manual', '--timeout=120s'], { timeoutMs: 130_000 });
  // the first scheduled run starts within a minute
  const job = await eventually(
    () => {
      const names = kubectlOk(e, ['get', 'jobs', '-o', 'jsonpath={.items[*].metadata.name}']).split(' ').filter((n) => /^tick-\d+$/.test(n));
      expect(names.length).toBeGreaterThanOrEqual(1);
      return names[0];
    },
    90_000,
    1_000,
  );
  expect(Number(job.slice('tick-'.length)) * 60_000).toBeLessThanOrEqual(Date.now());
  kubectlOk(e, ['wait', '--for=condition=complete', `job/${job}`, '--timeout=120s'], { timeoutMs: 130_000 });
  expect(kubectlOk(e, ['logs', `job/${job}`]).trim()).toBe('tick');
  const ts = kubectlOk(e, ['get', 'job', job, '-o', "jsonpath={.metadata.annotations['batch\\.kubernetes\\.io/cronjob-scheduled-timestamp']}"]);
  expect(Date.parse(ts)).toBe(Number(job.slice('tick-'.length)) * 60_000);
  await eventually(() => expect(kubectlOk(e, ['get', 'cronjob', 'tick', '-o', 'jsonpath={.status.lastSuccessfulTime}'])).not.toBe(''), 60_000, 1_000);
  kubectlOk(e, ['delete', 'cronjob', 'tick']);
});

test('kubectl drain honours a PodDisruptionBudget', async () => {
  const nodes = kubectlOk(e, ['get', 'nodes', '-o', 'jsonpath={.items[*].metadata.name}']).split(' ').sort();
  expect(nodes).toHaveLength(2);
  const [first, second] = nodes;
  // place all three replicas on the first node
  kubectlOk(e, ['cordon', second]);
  apply({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'db', namespace: 'default' },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'db' } },
      template: {
        metadata: { labels: { app: 'db' } },
        spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: BUSYBOX, imagePullPolicy: 'Never', command: ['sleep', '3600'] }] },
      },
    },
  });
  apply({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'db', namespace: 'default' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'db' } } } });
  kubectlOk(e, ['rollout', 'status', 'deployment/db', '--timeout=120s'], { timeoutMs: 130_000 });
  expect(kubectlOk(e, ['get', 'pods', '-l', 'app=db', '-o', 'jsonpath={.items[*].spec.nodeName}']).split(' ')).toEqual([first, first, first]);
  await eventually(() => expect(kubectlOk(e, ['get', 'pdb', 'db', '-o', 'jsonpath={.status.disruptionsAllowed}'])).toBe('1'), 30_000, 500);
  kubectlOk(e, ['uncordon', second]);

  const t0 = Date.now();
  const d = kubectl(e, ['drain', first, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=240s'], { timeoutMs: 260_000 });
  expect(d.status).toBe(0);
  expect(d.stdout).toContain(`node/${first} drained`);
  expect(d.stderr + d.stdout).toContain("Cannot evict pod as it would violate the pod's disruption budget.");
  const drainMs = Date.now() - t0;
  expect(drainMs).toBeGreaterThan(5_000); // at least one 5 s retry
  process.stderr.write(`timing: drain of 3 pods under minAvailable 2 took ${(drainMs / 1000).toFixed(1)} s\n`);
  expect(kubectlOk(e, ['get', 'pods', '-l', 'app=db', '--field-selector', `spec.nodeName=${first}`, '-o', 'name']).trim()).toBe('');
  kubectlOk(e, ['rollout', 'status', 'deployment/db', '--timeout=120s'], { timeoutMs: 130_000 });
  expect(kubectlOk(e, ['get', 'node', first, '-o', 'jsonpath={.spec.taints[*].key}'])).toContain('node.kubernetes.io/unschedulable');
  kubectlOk(e, ['uncordon', first]);
  await eventually(() => expect(kubectlOk(e, ['get', 'node', first, '-o', 'jsonpath={.spec.taints}'])).toBe(''), 30_000, 500);
});

test('stopping a node: NotReady after the grace period, pods evicted and replaced elsewhere, node back', async () => {
  const [first, second] = kubectlOk(e, ['get', 'nodes', '-o', 'jsonpath={.items[*].metadata.name}']).split(' ').sort();
  kubectlOk(e, ['cordon', first]);
  apply({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'mover', namespace: 'default' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'mover' } },
      template: {
        metadata: { labels: { app: 'mover' } },
        spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: BUSYBOX, imagePullPolicy: 'Never', command: ['sleep', '3600'] }] },
      },
    },
  });
  kubectlOk(e, ['rollout', 'status', 'deployment/mover', '--timeout=120s'], { timeoutMs: 130_000 });
  const onSecond = kubectlOk(e, ['get', 'pods', '-l', 'app=mover', '-o', 'jsonpath={.items[*].spec.nodeName}']).split(' ');
  expect(onSecond).toEqual([second, second]);
  kubectlOk(e, ['uncordon', first]);

  const stopped = Date.now();
  const r = minictl(e, ['node', 'stop', second]);
  expect(r.status).toBe(0);
  await eventually(() => expect(kubectlOk(e, ['get', 'node', second, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).toBe('Unknown'), 60_000, 500);
  const notReadyAfter = Date.now() - stopped;
  expect(notReadyAfter).toBeGreaterThanOrEqual(10_000); // grace 20 s from the last heartbeat (renewed every 10 s)
  expect(kubectlOk(e, ['get', 'node', second, '-o', 'jsonpath={.spec.taints[*].key}'])).toContain('node.kubernetes.io/unreachable');
  expect(kubectlOk(e, ['get', 'node', second, '--no-headers'])).toMatch(/\sNotReady\s/);
  // evicted 30 s after the taint, replaced on the healthy node
  await eventually(
    () => {
      const rows = kubectlOk(e, ['get', 'pods', '-l', 'app=mover', '-o', 'jsonpath={range .items[*]}{.spec.nodeName} {.status.phase}{"\\n"}{end}']).trim().split('\n');
      expect(rows).toEqual([`${first} Running`, `${first} Running`]);
    },
    120_000,
    1_000,
  );
  const movedAfter = Date.now() - stopped;
  expect(movedAfter).toBeGreaterThanOrEqual(notReadyAfter + 25_000);
  process.stderr.write(`timing: node stopped → NotReady after ${(notReadyAfter / 1000).toFixed(1)} s, pods Running elsewhere after ${(movedAfter / 1000).toFixed(1)} s\n`);
  const reasons = kubectlOk(e, ['get', 'events', '-A', '-o', 'jsonpath={.items[*].reason}']);
  expect(reasons).toContain('NodeNotReady');
  expect(reasons).toContain('TaintManagerEviction');

  expect(minictl(e, ['node', 'start', second]).status).toBe(0);
  await eventually(() => expect(kubectlOk(e, ['get', 'node', second, '-o', 'jsonpath={.spec.taints}'])).toBe(''), 60_000, 500);
  expect(kubectlOk(e, ['get', 'node', second, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).toBe('True');
  kubectlOk(e, ['delete', 'deployment', 'mover']);
});
