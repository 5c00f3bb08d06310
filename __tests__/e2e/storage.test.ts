/**
 * Storage end to end: a real daemon with `--nodes 2` (kubelets on real Docker), the real kubectl.
 * A claim of the default class and a pod writing a file (the file survives the pod), a
 * StatefulSet of 3 with a claim per ordinal (each pod finds its own data after deletion and after
 * moving to the other node), and `minictl delete` removing the provisioned data. Everything the
 * profile created goes in afterAll.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { newEnv, minictl, kubectl, kubectlOk, eventually, profileDir, type E2EEnv } from '../helpers/e2e';

jest.setTimeout(600_000);

const BUSYBOX = 'minictl/busybox:local';
let e: E2EEnv;
const timings: Record<string, number> = {};

function apply(manifest: object): void {
  kubectlOk(e, ['apply', '-f', '-'], { input: JSON.stringify(manifest) });
}

function json<T = any>(args: string[]): T {
  return JSON.parse(kubectlOk(e, [...args, '-o', 'json']));
}

function podSpec(claimName: string | undefined, script: string) {
  return {
    terminationGracePeriodSeconds: 1,
    containers: [{ name: 'app', image: BUSYBOX, imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', script], volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
    ...(claimName ? { volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }] } : {}),
  };
}

async function running(name: string): Promise<any> {
  return eventually(
    () => {
      const p = json(['get', 'pod', name]);
      expect(p.metadata.deletionTimestamp).toBeUndefined();
      expect(p.status.phase).toBe('Running');
      return p;
    },
    180_000,
    500,
  );
}

function cat(pod: string, file: string): string {
  return kubectlOk(e, ['exec', pod, '--', 'cat', file]).trim();
}

beforeAll(() => {
  try {
    execFileSync('docker', ['image', 'inspect', BUSYBOX], { stdio: 'ignore' });
  } catch {
    execFileSync('node', [path.join(__dirname, '..', '..', 'bin', 'build-images.js'), 'busybox'], { stdio: 'inherit' });
  }
  e = newEnv('storage');
  const r = minictl(e, ['start', '--nodes', '2', '--wait', '120'], undefined, 240_000);
  if (r.status !== 0) throw new Error(`minictl start exited ${r.status}: ${r.stderr}${r.stdout}`);
});

afterAll(() => {
  e?.cleanup();
  console.log(`storage e2e timings (ms): ${JSON.stringify(timings)}`);
});

test('a claim of the default class outlives its pod: the file written is there for the next pod', async () => {
  const t0 = Date.now();
  apply({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
  const claim = await eventually(() => {
    const c = json(['get', 'pvc', 'data']);
    expect(c.status.phase).toBe('Bound');
    return c;
  }, 60_000, 300);
  timings.bind = Date.now() - t0;
  expect(claim.spec.storageClassName).toBe('standard');
  expect(kubectlOk(e, ['get', 'pvc', 'data', '--no-headers'])).toMatch(new RegExp(`^data\\s+Bound\\s+pvc-${claim.metadata.uid}\\s+1Gi\\s+RWO\\s+standard`));
  const pv = json(['get', 'pv', claim.spec.volumeName]);
  expect(pv.spec.persistentVolumeReclaimPolicy).toBe('Delete');
  expect(pv.spec.hostPath.path).toBe(path.join(profileDir(e), 'volumes', claim.spec.volumeName));

  const writer = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'writer' }, spec: podSpec('data', 'echo hello-from-writer > /data/greeting; sleep 3600') };
  apply(writer);
  await running('writer');
  timings.firstPodRunning = Date.now() - t0;
  await eventually(() => expect(cat('writer', '/data/greeting')).toBe('hello-from-writer'), 30_000, 500);
  expect(fs.readFileSync(path.join(pv.spec.hostPath.path, 'greeting'), 'utf8').trim()).toBe('hello-from-writer');

  // deleting the claim while the pod uses it waits (pvc-protection)
  kubectlOk(e, ['delete', 'pvc', 'data', '--wait=false']);
  await new Promise((r) => setTimeout(r, 1000));
  const terminating = json(['get', 'pvc', 'data']);
  expect(terminating.metadata.deletionTimestamp).toBeTruthy();
  expect(kubectlOk(e, ['get', 'pvc', 'data', '--no-headers'])).toMatch(/^data\s+Terminating/);

  kubectlOk(e, ['delete', 'pod', 'writer', '--wait=true', '--timeout=120s'], { timeoutMs: 150_000 });
  // the claim is gone with its last user, and with reclaimPolicy Delete so is the data
  await eventually(() => expect(kubectl(e, ['get', 'pvc', 'data']).status).not.toBe(0), 60_000, 500);
  await eventually(() => expect(fs.existsSync(pv.spec.hostPath.path)).toBe(false), 60_000, 500);

  // a new claim: data written by one pod is read by the next
  apply({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data2' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
  apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'w2' }, spec: podSpec('data2', 'echo persisted > /data/f; sleep 3600') });
  await running('w2');
  await eventually(() => expect(cat('w2', '/data/f')).toBe('persisted'), 30_000, 500);
  kubectlOk(e, ['delete', 'pod', 'w2', '--wait=true', '--timeout=120s'], { timeoutMs: 150_000 });
  apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'w2' }, spec: podSpec('data2', 'sleep 3600') });
  await running('w2');
  expect(cat('w2', '/data/f')).toBe('persisted');
  timings.claimTest = Date.now() - t0;
});

test('StatefulSet of 3: a claim per ordinal, each pod finds its own data after deletion and on another node', async () => {
  const t0 = Date.now();
  apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'db' }, spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ port: 80 }] } });
  apply({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db' },
    spec: {
      serviceName: 'db',
      replicas: 3,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: { app: 'db' } },
      template: { metadata: { labels: { app: 'db' } }, spec: podSpec(undefined, '[ -f /data/id ] || echo "$(hostname)-$(date +%s)-$RANDOM" > /data/id; sleep 3600') },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '100Mi' } } } }],
    },
  });
  const ids: Record<string, string> = {};
  for (const i of [0, 1, 2]) {
    await running(`db-${i}`);
    ids[`db-${i}`] = await eventually(() => {
      const v = cat(`db-${i}`, '/data/id');
      expect(v).toMatch(new RegExp(`^db-${i}-\\d+-\\d+$`));
      return v;
    }, 30_000, 500);
  }
  timings.stsReady = Date.now() - t0;
  const claims = json<{ items: any[] }>(['get', 'pvc', '-l', 'app=db']).items;
  expect(claims.map((c) => c.metadata.name).sort()).toEqual(['data-db-0', 'data-db-1', 'data-db-2']);
  for (const c of claims) expect(c.status.phase).toBe('Bound');

  // deleted: recreated with the same name, same claim, same data
  const uid1 = json(['get', 'pod', 'db-1']).metadata.uid;
  kubectlOk(e, ['delete', 'pod', 'db-1', '--wait=false']);
  await eventually(() => expect(json(['get', 'pod', 'db-1']).metadata.uid).not.toBe(uid1), 120_000, 500);
  await running('db-1');
  expect(cat('db-1', '/data/id')).toBe(ids['db-1']);

  // moved: cordon db-0's node, delete db-0, it comes back on the other node with its data
  const from = json(['get', 'pod', 'db-0']).spec.nodeName as string;
  kubectlOk(e, ['cordon', from]);
  try {
    const uid0 = json(['get', 'pod', 'db-0']).metadata.uid;
    kubectlOk(e, ['delete', 'pod', 'db-0', '--wait=false']);
    const moved = await eventually(() => {
      const p = json(['get', 'pod', 'db-0']);
      expect(p.metadata.uid).not.toBe(uid0);
      expect(p.spec.nodeName).toBeTruthy();
      return p;
    }, 120_000, 500);
    expect(moved.spec.nodeName).not.toBe(from);
    await running('db-0');
    expect(cat('db-0', '/data/id')).toBe(ids['db-0']);
  } finally {
    kubectlOk(e, ['uncordon', from]);
  }
  expect(cat('db-2', '/data/id')).toBe(ids['db-2']);
  // claims outlive the StatefulSet's pods
  expect(json<{ items: any[] }>(['get', 'pvc', '-l', 'app=db']).items).toHaveLength(3);
  timings.stsTest = Date.now() - t0;
});

test('minictl delete removes the provisioned data', () => {
  const volumes = path.join(profileDir(e), 'volumes');
  expect(fs.readdirSync(volumes).filter((d) => d.startsWith('pvc-')).length).toBeGreaterThanOrEqual(4);
  const r = minictl(e, ['delete'], undefined, 180_000);
  expect(r.status).toBe(0);
  expect(fs.existsSync(volumes)).toBe(false);
  expect(fs.existsSync(profileDir(e))).toBe(false);
});
