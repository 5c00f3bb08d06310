/**
 * Workload controllers end to end: a real daemon started with `--nodes 3` (kubelets on real
 * Docker, the scheduler), driven by the real kubectl: `rollout status|history|undo|restart|pause|
 * resume`, `scale`, self-healing, a bad image that stalls and hits its progress deadline,
 * StatefulSet ordering and rollback, a DaemonSet following a node added later. Images are the
 * local `minictl/busybox:local` (no registry); every container, network and rule goes with the
 * profile in afterAll.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { newEnv, minictl, kubectl, kubectlOk, eventually, type E2EEnv } from '../helpers/e2e';

jest.setTimeout(600_000);

const BUSYBOX = 'minictl/busybox:local';
let e: E2EEnv;
const timings: Record<string, number> = {};

function ok(args: string[]): string {
  const r = minictl(e, args);
  if (r.status !== 0) throw new Error(`minictl ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

function apply(manifest: object): void {
  kubectlOk(e, ['apply', '-f', '-'], { input: JSON.stringify(manifest) });
}

function json<T = any>(args: string[]): T {
  return JSON.parse(kubectlOk(e, [...args, '-o', 'json']));
}

/** `kubectl rollout status` that must succeed within the timeout. */
function rolloutOk(target: string, timeout = '180s', version?: string): string {
  return kubectlOk(e, ['rollout', 'status', target, `--timeout=${timeout}`], { version, timeoutMs: 240_000 });
}

function livePods(selector: string): any[] {
  return json<{ items: any[] }>(['get', 'pods', '-l', selector]).items.filter((p) => !p.metadata.deletionTimestamp);
}

function podNames(selector: string): string[] {
  return livePods(selector)
    .map((p) => p.metadata.name as string)
    .sort();
}

function deployment(name: string, image: string, replicas = 3, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'web', image, imagePullPolicy: 'IfNotPresent', command: ['httpd', '-f', '-p', '8080'] }] },
      },
      ...extra,
    },
  };
}

beforeAll(() => {
  try {
    execFileSync('docker', ['image', 'inspect', BUSYBOX], { stdio: 'ignore' });
  } catch {
    execFileSync('node', [path.join(__dirname, '..', '..', 'bin', 'build-images.js'), 'busybox'], { stdio: 'inherit' });
  }
  e = newEnv('workloads');
  const t0 = Date.now();
  ok(['start', '--nodes', '3', '--wait', '120']);
  timings.start = Date.now() - t0;
});

afterAll(() => {
  e?.cleanup();
  console.log(`workloads e2e timings (ms): ${JSON.stringify(timings)}`);
});

test('Deployment: rollout across 3 nodes, self-healing, kubectl scale', async () => {
  const t0 = Date.now();
  apply(deployment('web', BUSYBOX));
  expect(rolloutOk('deployment/web')).toContain('deployment "web" successfully rolled out');
  timings.deploy3 = Date.now() - t0;
  const rs = json<{ items: any[] }>(['get', 'rs', '-l', 'app=web']).items;
  expect(rs).toHaveLength(1);
  const hash = rs[0].metadata.labels['pod-template-hash'];
  expect(rs[0].metadata.name).toBe(`web-${hash}`);
  expect(rs[0].metadata.annotations['deployment.kubernetes.io/revision']).toBe('1');
  const pods = livePods('app=web');
  expect(pods).toHaveLength(3);
  expect(new Set(pods.map((p) => p.spec.nodeName)).size).toBe(3);

  // a deleted pod is replaced
  const victim = pods[0].metadata.name;
  kubectlOk(e, ['delete', 'pod', victim, '--wait=false']);
  await eventually(() => {
    const now = livePods('app=web');
    expect(now.map((p) => p.metadata.name)).not.toContain(victim);
    expect(now.filter((p) => p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'))).toHaveLength(3);
  }, 90_000, 500);
  const events = kubectlOk(e, ['get', 'events', '--field-selector', `involvedObject.name=${rs[0].metadata.name}`, '-o', 'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}']);
  expect(events).toMatch(new RegExp(`SuccessfulCreate: Created pod: web-${hash}-[a-z0-9]{5}`));

  // scale to 6 and back
  kubectlOk(e, ['scale', 'deployment/web', '--replicas=6']);
  rolloutOk('deployment/web');
  expect(kubectlOk(e, ['get', 'deployment', 'web', '--no-headers']).trim().split(/\s+/).slice(1, 4)).toEqual(['6/6', '6', '6']);
  kubectlOk(e, ['scale', 'deployment/web', '--replicas=3']);
  await eventually(() => expect(livePods('app=web')).toHaveLength(3), 60_000, 500);
  expect(json(['get', 'deployment', 'web']).status).toMatchObject({ replicas: 3, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 3 });
  const devents = kubectlOk(e, ['get', 'events', '--field-selector', 'involvedObject.kind=Deployment,involvedObject.name=web', '-o', 'jsonpath={range .items[*]}{.message}{"\\n"}{end}']);
  expect(devents).toContain(`Scaled up replica set web-${hash} from 0 to 3`);
  expect(devents).toContain(`Scaled up replica set web-${hash} from 3 to 6`);
  expect(devents).toContain(`Scaled down replica set web-${hash} from 6 to 3`);
});

test('Deployment: rolling update, a bad image stalls and exceeds its deadline, undo and history', async () => {
  // a good rolling update, recorded with a change-cause
  kubectlOk(e, ['patch', 'deployment/web', '-p', JSON.stringify({ metadata: { annotations: { 'kubernetes.io/change-cause': 'add env' } }, spec: { template: { spec: { containers: [{ name: 'web', env: [{ name: 'V', value: '2' }] }] } } } })]);
  const t0 = Date.now();
  rolloutOk('deployment/web');
  timings.rollingUpdate3 = Date.now() - t0;
  expect(json(['get', 'rs', '-l', 'app=web']).items).toHaveLength(2);

  // a bad image: the rollout stalls, old pods stay available, the deadline is reported
  kubectlOk(e, ['patch', 'deployment/web', '-p', JSON.stringify({ spec: { progressDeadlineSeconds: 10 } })]);
  kubectlOk(e, ['set', 'image', 'deployment/web', 'web=minictl/busybox:does-not-exist']);
  const stalled = kubectl(e, ['rollout', 'status', 'deployment/web', '--timeout=90s'], { timeoutMs: 120_000 });
  expect(stalled.status).not.toBe(0);
  expect(stalled.stderr).toContain('deployment "web" exceeded its progress deadline');
  const d = json(['get', 'deployment', 'web']);
  expect(d.status.availableReplicas).toBe(3);
  expect(d.status.conditions.find((c: any) => c.type === 'Progressing')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });

  // history and undo
  const history = kubectlOk(e, ['rollout', 'history', 'deployment/web']);
  expect(history).toMatch(/REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+add env\n3\s+add env\n/);
  expect(kubectlOk(e, ['rollout', 'history', 'deployment/web', '--revision=3'])).toContain('minictl/busybox:does-not-exist');
  expect(kubectlOk(e, ['rollout', 'undo', 'deployment/web'])).toContain('deployment.apps/web rolled back');
  rolloutOk('deployment/web');
  const revs = json<{ items: any[] }>(['get', 'rs', '-l', 'app=web']).items.map((r) => [r.metadata.annotations['deployment.kubernetes.io/revision'], r.spec.replicas]);
  expect(revs.sort()).toEqual([
    ['1', 0],
    ['3', 0],
    ['4', 3],
  ]);
  expect(kubectlOk(e, ['rollout', 'undo', 'deployment/web', '--to-revision=4'])).toContain('skipped rollback (current template already matches revision 4)');
  // an older kubectl reads the same fields
  expect(kubectlOk(e, ['rollout', 'history', 'deployment/web'], { version: '1.27' })).toMatch(/\n4\s+add env\n/);
  rolloutOk('deployment/web', '60s', '1.27');
});

test('Deployment: pause, resume and restart', async () => {
  expect(kubectlOk(e, ['rollout', 'pause', 'deployment/web'])).toContain('paused');
  kubectlOk(e, ['set', 'env', 'deployment/web', 'V=3']);
  await eventually(() => {
    const c = json(['get', 'deployment', 'web']).status.conditions.find((x: any) => x.type === 'Progressing');
    expect(c).toMatchObject({ status: 'Unknown', reason: 'DeploymentPaused' });
  }, 30_000, 300);
  expect(json(['get', 'rs', '-l', 'app=web']).items).toHaveLength(3);
  const undo = kubectl(e, ['rollout', 'undo', 'deployment/web']);
  expect(undo.status).not.toBe(0);
  expect(undo.stderr).toContain('you cannot rollback a paused deployment');
  expect(kubectlOk(e, ['rollout', 'resume', 'deployment/web'])).toContain('resumed');
  rolloutOk('deployment/web');
  expect(json(['get', 'rs', '-l', 'app=web']).items).toHaveLength(4);

  expect(kubectlOk(e, ['rollout', 'restart', 'deployment/web'])).toContain('restarted');
  rolloutOk('deployment/web');
  const d = json(['get', 'deployment', 'web']);
  expect(d.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt']).toBeTruthy();
  expect(d.metadata.annotations['deployment.kubernetes.io/revision']).toBe('6');
  const newRS = json<{ items: any[] }>(['get', 'rs', '-l', 'app=web']).items.find((r) => r.spec.replicas === 3);
  expect(newRS.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt']).toBe(d.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt']);
});

test('StatefulSet: ordered creation, scale down in reverse, rolling update, history and undo', async () => {
  const sts = (image: string) => ({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db' },
    spec: {
      serviceName: 'db',
      replicas: 3,
      selector: { matchLabels: { app: 'db' } },
      template: { metadata: { labels: { app: 'db' } }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'db', image, command: ['sleep', '3600'] }] } },
    },
  });
  apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'db' }, spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ port: 80 }] } });
  const t0 = Date.now();
  apply(sts(BUSYBOX));
  expect(rolloutOk('statefulset/db')).toContain('partitioned roll out complete: 3 new pods have been updated...');
  timings.statefulset3 = Date.now() - t0;
  const pods = livePods('app=db').sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  expect(pods.map((p) => p.metadata.name)).toEqual(['db-0', 'db-1', 'db-2']);
  // each ordinal was created after its predecessor was ready
  for (let i = 1; i < 3; i++) {
    const prevReady = Date.parse(pods[i - 1].status.conditions.find((c: any) => c.type === 'Ready').lastTransitionTime);
    expect(Date.parse(pods[i].metadata.creationTimestamp)).toBeGreaterThanOrEqual(prevReady);
  }
  expect(pods[1].spec).toMatchObject({ hostname: 'db-1', subdomain: 'db' });
  expect(pods[1].metadata.labels).toMatchObject({ 'statefulset.kubernetes.io/pod-name': 'db-1', 'apps.kubernetes.io/pod-index': '1' });

  kubectlOk(e, ['scale', 'statefulset/db', '--replicas=1']);
  await eventually(() => expect(podNames('app=db')).toEqual(['db-0']), 60_000, 300);
  const deletes = kubectlOk(e, ['get', 'events', '--field-selector', 'involvedObject.kind=StatefulSet,involvedObject.name=db,reason=SuccessfulDelete', '-o', 'jsonpath={range .items[*]}{.message}{"\\n"}{end}']);
  expect(deletes.trim().split('\n')).toEqual(['delete Pod db-2 in StatefulSet db successful', 'delete Pod db-1 in StatefulSet db successful']);
  kubectlOk(e, ['scale', 'statefulset/db', '--replicas=3']);
  rolloutOk('statefulset/db');

  kubectlOk(e, ['set', 'env', 'statefulset/db', 'V=2']);
  rolloutOk('statefulset/db');
  const s = json(['get', 'statefulset', 'db']).status;
  expect(s.currentRevision).toBe(s.updateRevision);
  expect(s).toMatchObject({ replicas: 3, readyReplicas: 3, updatedReplicas: 3, currentReplicas: 3 });
  expect(kubectlOk(e, ['rollout', 'history', 'statefulset/db'])).toMatch(/\n1\s.*\n2\s/);
  expect(kubectlOk(e, ['rollout', 'undo', 'statefulset/db'])).toContain('rolled back');
  rolloutOk('statefulset/db');
  expect(livePods('app=db').every((p) => !(p.spec.containers[0].env ?? []).length)).toBe(true);
  expect(kubectlOk(e, ['rollout', 'history', 'statefulset/db'])).toMatch(/\n2\s.*\n3\s/);
  expect(kubectlOk(e, ['get', 'controllerrevisions', '--no-headers'])).toMatch(/db-[a-z0-9]+\s+statefulset\.apps\/db\s+3/);
});

test('DaemonSet: one pod per node, a node added later, rolling update, history and undo', async () => {
  const ds = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent' },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { metadata: { labels: { app: 'agent' } }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'agent', image: BUSYBOX, command: ['sleep', '3600'] }] } },
    },
  };
  const t0 = Date.now();
  apply(ds);
  expect(rolloutOk('daemonset/agent')).toContain('daemon set "agent" successfully rolled out');
  timings.daemonset3 = Date.now() - t0;
  const nodes = kubectlOk(e, ['get', 'nodes', '-o', 'name']).trim().split('\n').map((n) => n.replace('node/', ''));
  expect(livePods('app=agent').map((p) => p.spec.nodeName).sort()).toEqual(nodes.sort());

  const t1 = Date.now();
  ok(['node', 'add', '--wait', '120']);
  await eventually(() => {
    const st = json(['get', 'daemonset', 'agent']).status;
    expect(st).toMatchObject({ desiredNumberScheduled: 4, numberReady: 4, numberAvailable: 4 });
  }, 120_000, 500);
  timings.daemonsetNewNode = Date.now() - t1;

  kubectlOk(e, ['set', 'env', 'daemonset/agent', 'V=2']);
  rolloutOk('daemonset/agent');
  expect(json(['get', 'daemonset', 'agent']).status).toMatchObject({ desiredNumberScheduled: 4, updatedNumberScheduled: 4, numberAvailable: 4 });
  expect(kubectlOk(e, ['rollout', 'history', 'daemonset/agent'])).toMatch(/REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n/);
  expect(kubectlOk(e, ['rollout', 'undo', 'daemonset/agent'])).toContain('rolled back');
  rolloutOk('daemonset/agent');
  expect(kubectlOk(e, ['rollout', 'undo', 'daemonset/agent', '--to-revision=3'])).toContain('skipped rollback (current template already matches revision 3)');
  expect(livePods('app=agent').every((p) => !(p.spec.containers[0].env ?? []).length)).toBe(true);
});
