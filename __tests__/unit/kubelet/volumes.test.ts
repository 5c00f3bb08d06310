import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { VolumeError, VolumeManager, checkHostPath, hostsFileContent, writeAtomic, type Payload } from '../../../src/kubelet/volumes';
import { ContainerConfigError } from '../../../src/kubelet/env';
import type { KObject } from '../../../src/api/types';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minictl-vol-unit-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const payload = (o: Record<string, string | [string, number]>): Payload =>
  new Map(Object.entries(o).map(([k, v]) => [k, Array.isArray(v) ? { data: Buffer.from(v[0]), mode: v[1] } : { data: Buffer.from(v), mode: 0o644 }]));

describe('writeAtomic (the kubelet atomic writer)', () => {
  test('user-visible symlinks into ..data, modes, nested paths', () => {
    const d = path.join(dir, 'v');
    expect(writeAtomic(d, payload({ a: 'one', 'sub/b': ['two', 0o600] }))).toBe(true);
    expect(fs.readFileSync(path.join(d, 'a'), 'utf8')).toBe('one');
    expect(fs.readFileSync(path.join(d, 'sub/b'), 'utf8')).toBe('two');
    expect(fs.readlinkSync(path.join(d, 'a'))).toBe('..data/a');
    expect(fs.readlinkSync(path.join(d, 'sub'))).toBe('..data/sub');
    expect(fs.readlinkSync(path.join(d, '..data'))).toMatch(/^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d+$/);
    expect(fs.statSync(path.join(d, 'sub/b')).mode & 0o777).toBe(0o600);
  });

  test('an update swaps content and removes keys no longer present; unchanged content is not rewritten', () => {
    const d = path.join(dir, 'v');
    const cache = new Map<string, string>();
    writeAtomic(d, payload({ a: '1', b: '2' }), cache);
    const first = fs.readlinkSync(path.join(d, '..data'));
    expect(writeAtomic(d, payload({ a: '1', b: '2' }), cache)).toBe(false);
    expect(writeAtomic(d, payload({ a: '3' }), cache)).toBe(true);
    expect(fs.readFileSync(path.join(d, 'a'), 'utf8')).toBe('3');
    expect(fs.existsSync(path.join(d, 'b'))).toBe(false);
    expect(fs.existsSync(path.join(d, first))).toBe(false);
    expect(fs.readdirSync(d).sort()).toEqual(['..data', fs.readlinkSync(path.join(d, '..data')), 'a'].sort());
  });
});

function podOf(spec: Record<string, unknown>, meta: Record<string, unknown> = {}): KObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns', uid: 'uid-1', labels: { app: 'x' }, ...meta }, spec };
}

function manager(objs: { cm?: Record<string, KObject>; sec?: Record<string, KObject>; pvc?: Record<string, KObject>; pv?: Record<string, KObject> } = {}, pvDir?: (n: string) => string | undefined) {
  return new VolumeManager({
    dataDir: dir,
    nodeName: 'node-1',
    pvDir,
    shmDir: null,
    sources: {
      configMap: (_ns, n) => objs.cm?.[n],
      secret: (_ns, n) => objs.sec?.[n],
      pvc: (_ns, n) => objs.pvc?.[n],
      pv: (n) => objs.pv?.[n],
    },
  });
}

const cm = (name: string, data: Record<string, string>, binaryData?: Record<string, string>): KObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data, binaryData });
const secret = (name: string, data: Record<string, string>): KObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
});

describe('VolumeManager.setUp', () => {
  const ctx = { podIP: '10.244.1.3', hostIP: '127.0.0.1' };

  test('configMap (all keys, binaryData), secret (items, modes), downwardAPI, projected', () => {
    const vm = manager({ cm: { c: cm('c', { 'a.conf': 'A' }, { bin: Buffer.from([1, 2]).toString('base64') }) }, sec: { s: secret('s', { user: 'u', pass: 'p' }) } });
    const pod = podOf({
      containers: [{ name: 'app', resources: { limits: { memory: '1Mi' } } }],
      volumes: [
        { name: 'c', configMap: { name: 'c', defaultMode: 0o640 } },
        { name: 's', secret: { secretName: 's', items: [{ key: 'pass', path: 'creds/password', mode: 0o400 }] } },
        { name: 'd', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }, { path: 'ip', fieldRef: { fieldPath: 'status.podIP' } }, { path: 'mem', resourceFieldRef: { containerName: 'app', resource: 'limits.memory', divisor: '1Ki' } }] } },
        { name: 'pr', projected: { defaultMode: 0o444, sources: [{ configMap: { name: 'c', items: [{ key: 'a.conf', path: 'cfg/a.conf' }] } }, { secret: { name: 's' } }, { serviceAccountToken: { path: 'token', audience: 'api' } }] } },
      ],
    });
    const vols = vm.setUp(pod, ctx, Date.UTC(2024, 0, 1));
    const read = (v: string, f: string) => fs.readFileSync(path.join(vols.get(v)!.hostPath!, f));
    expect(vols.get('c')!.hostPath).toBe(path.join(dir, 'pods/uid-1/volumes/kubernetes.io~configmap/c'));
    expect(read('c', 'a.conf').toString()).toBe('A');
    expect([...read('c', 'bin')]).toEqual([1, 2]);
    expect(fs.statSync(path.join(vols.get('c')!.hostPath!, 'a.conf')).mode & 0o777).toBe(0o640);
    expect(read('s', 'creds/password').toString()).toBe('p');
    expect(fs.existsSync(path.join(vols.get('s')!.hostPath!, 'user'))).toBe(false);
    expect(fs.statSync(path.join(vols.get('s')!.hostPath!, 'creds/password')).mode & 0o777).toBe(0o400);
    expect(read('d', 'labels').toString()).toBe('app="x"');
    expect(read('d', 'ip').toString()).toBe('10.244.1.3');
    expect(read('d', 'mem').toString()).toBe('1024');
    expect(read('pr', 'cfg/a.conf').toString()).toBe('A');
    expect(read('pr', 'user').toString()).toBe('u');
    const token = read('pr', 'token').toString().split('.');
    expect(JSON.parse(Buffer.from(token[1], 'base64url').toString())).toMatchObject({ aud: ['api'], sub: 'system:serviceaccount:ns:default' });
    for (const v of ['c', 's', 'd', 'pr']) expect(vols.get(v)!.readOnly).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'pods/uid-1/.node'), 'utf8')).toBe('node-1');
    expect(vm.ownedPodUids()).toEqual(['uid-1']);
  });

  test.each([
    ['missing configMap', { name: 'v', configMap: { name: 'nope' } }, 'configmap "nope" not found'],
    ['missing configMap key in items', { name: 'v', configMap: { name: 'c', items: [{ key: 'k', path: 'k' }] } }, 'configmap references non-existent config key: k'],
    ['missing secret', { name: 'v', secret: { secretName: 'nope' } }, 'secret "nope" not found'],
    ['missing secret key', { name: 'v', secret: { secretName: 's', items: [{ key: 'k', path: 'k' }] } }, 'references non-existent secret key: k'],
    ['unbound claim', { name: 'v', persistentVolumeClaim: { claimName: 'unbound' } }, 'persistentvolumeclaim "unbound" is not bound to a volume yet'],
    ['missing claim', { name: 'v', persistentVolumeClaim: { claimName: 'nope' } }, 'persistentvolumeclaim "nope" not found'],
    ['unsupported', { name: 'v', nfs: { server: 'x', path: '/' } }, 'volume type "nfs" is not supported by minictl'],
    ['path escaping the volume', { name: 'v', configMap: { name: 'c', items: [{ key: 'a', path: '../x' }] } }, `invalid path "../x" in configmap c: must be relative and may not contain '..'`],
  ])('%s → VolumeError', (_n, volume, message) => {
    const vm = manager({ cm: { c: cm('c', { a: '1' }) }, sec: { s: secret('s', { a: '1' }) }, pvc: { unbound: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'unbound' }, spec: {} } } });
    let err: unknown;
    try {
      vm.setUp(podOf({ containers: [], volumes: [volume] }), ctx, 0);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VolumeError);
    expect((err as VolumeError).volume).toBe('v');
    expect((err as VolumeError).message).toBe(message);
  });

  test('optional sources that are missing give empty volumes', () => {
    const vols = manager().setUp(podOf({ containers: [], volumes: [{ name: 'a', configMap: { name: 'x', optional: true } }, { name: 'b', secret: { secretName: 'x', optional: true } }] }), ctx, 0);
    expect(fs.readdirSync(vols.get('a')!.hostPath!)).toEqual(['..data', fs.readlinkSync(path.join(vols.get('a')!.hostPath!, '..data'))].sort());
  });

  test('emptyDir (disk, memory), hostPath, persistentVolumeClaim', () => {
    const hostDir = path.join(dir, 'host', 'made');
    const pvc = (name: string, volumeName: string): KObject => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name }, spec: { volumeName } });
    const vm = manager(
      {
        pvc: { data: pvc('data', 'pv-1'), local: pvc('local', 'pv-host'), viaDir: pvc('viaDir', 'pv-dir') },
        pv: { 'pv-host': { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pv-host' }, spec: { hostPath: { path: path.join(dir, 'pvhost') } } } },
      },
      (n) => (n === 'pv-dir' ? path.join(dir, 'provisioned', n) : undefined),
    );
    const pod = podOf({
      containers: [{ name: 'a', volumeMounts: [{ name: 'mem', mountPath: '/m' }] }],
      volumes: [
        { name: 'scratch', emptyDir: {} },
        { name: 'mem', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
        { name: 'host', hostPath: { path: hostDir, type: 'DirectoryOrCreate' } },
        { name: 'data', persistentVolumeClaim: { claimName: 'data', readOnly: true } },
        { name: 'local', persistentVolumeClaim: { claimName: 'local' } },
        { name: 'viaDir', persistentVolumeClaim: { claimName: 'viaDir' } },
      ],
    });
    const vols = vm.setUp(pod, ctx, 0);
    expect(fs.statSync(vols.get('scratch')!.hostPath!).mode & 0o777).toBe(0o777);
    expect(vols.get('mem')).toMatchObject({ tmpfs: { sizeBytes: 64 * 1024 * 1024 } });
    expect(vols.get('host')!.hostPath).toBe(hostDir);
    expect(fs.statSync(hostDir).isDirectory()).toBe(true);
    expect(vols.get('data')).toMatchObject({ hostPath: path.join(dir, 'volumes', 'pv-1'), readOnly: true });
    expect(fs.existsSync(path.join(dir, 'volumes', 'pv-1'))).toBe(true);
    expect(vols.get('local')!.hostPath).toBe(path.join(dir, 'pvhost'));
    expect(vols.get('viaDir')!.hostPath).toBe(path.join(dir, 'provisioned', 'pv-dir'));
    vm.cleanup('uid-1');
    expect(fs.existsSync(path.join(dir, 'pods', 'uid-1'))).toBe(false);
  });

  test('mountsFor: readOnly, subPath (created in writable volumes, resolved in atomic ones), subPathExpr, tmpfs', () => {
    const vm = manager({ cm: { c: cm('c', { 'a.conf': 'A' }) } });
    const pod = podOf({
      containers: [
        {
          name: 'app',
          volumeMounts: [
            { name: 'scratch', mountPath: '/s', readOnly: true },
            { name: 'scratch', mountPath: '/logs', subPathExpr: 'logs/$(POD)' },
            { name: 'c', mountPath: '/etc/a.conf', subPath: 'a.conf' },
            { name: 'mem', mountPath: '/m' },
          ],
        },
      ],
      volumes: [{ name: 'scratch', emptyDir: {} }, { name: 'c', configMap: { name: 'c' } }, { name: 'mem', emptyDir: { medium: 'Memory' } }],
    });
    const vols = vm.setUp(pod, ctx, 0);
    const { mounts, tmpfs } = vm.mountsFor(pod, pod.spec.containers[0], vols, [{ name: 'POD', value: 'p' }]);
    const scratch = vols.get('scratch')!.hostPath!;
    expect(mounts).toEqual([
      { hostPath: scratch, containerPath: '/s', readOnly: true },
      { hostPath: path.join(scratch, 'logs/p'), containerPath: '/logs', readOnly: false },
      { hostPath: fs.realpathSync(path.join(vols.get('c')!.hostPath!, 'a.conf')), containerPath: '/etc/a.conf', readOnly: true },
    ]);
    expect(fs.statSync(path.join(scratch, 'logs/p')).isDirectory()).toBe(true);
    expect(tmpfs).toEqual([{ containerPath: '/m', sizeBytes: undefined }]);
    expect(() => vm.mountsFor(pod, { name: 'x', volumeMounts: [{ name: 'nope', mountPath: '/n' }] }, vols, [])).toThrow(ContainerConfigError);
    expect(() => vm.mountsFor(pod, { name: 'x', volumeMounts: [{ name: 'scratch', mountPath: '/n', subPath: '../up' }] }, vols, [])).toThrow(/invalid subpath/);
  });

  test('termination-message files', () => {
    const vm = manager();
    const f = vm.terminationLogFile('uid-1', 'app', 2);
    expect(fs.statSync(f).mode & 0o777).toBe(0o666);
    fs.writeFileSync(f, 'x'.repeat(5000));
    expect(vm.readTerminationLog('uid-1', 'app', 2)).toHaveLength(4096);
    vm.removeTerminationLog('uid-1', 'app', 2);
    expect(vm.readTerminationLog('uid-1', 'app', 2)).toBe('');
  });
});

describe('hostPath type checks', () => {
  test.each([
    ['', 'missing', true],
    ['Directory', 'dir', true],
    ['Directory', 'file', false],
    ['Directory', 'missing', false],
    ['File', 'file', true],
    ['File', 'dir', false],
    ['FileOrCreate', 'missing', true],
    ['DirectoryOrCreate', 'missing', true],
    ['DirectoryOrCreate', 'file', false],
    ['Socket', 'file', false],
    ['CharDevice', '/dev/null', true],
    ['BlockDevice', '/dev/null', false],
  ])('type %j on %s → ok=%s', (type, what, ok) => {
    fs.mkdirSync(path.join(dir, 'dir'));
    fs.writeFileSync(path.join(dir, 'file'), '');
    const p = what.startsWith('/') ? what : path.join(dir, what);
    if (ok) {
      expect(checkHostPath('v', p, type)).toBe(p);
      if (type === 'FileOrCreate') expect(fs.statSync(p).isFile()).toBe(true);
      if (type === 'DirectoryOrCreate') expect(fs.statSync(p).isDirectory()).toBe(true);
    } else {
      expect(() => checkHostPath('v', p, type)).toThrow(VolumeError);
    }
  });
});

describe('hostsFileContent', () => {
  test('pod IP line, subdomain FQDN, host aliases', () => {
    const pod = podOf({ hostname: 'h', subdomain: 'sub', hostAliases: [{ ip: '1.2.3.4', hostnames: ['foo', 'bar'] }] });
    const c = hostsFileContent(pod, '10.244.1.3');
    expect(c).toContain('127.0.0.1\tlocalhost\n');
    expect(c).toContain('10.244.1.3\th.sub.ns.svc.cluster.local\th\n');
    expect(c).toMatch(/# Entries added by HostAliases.\n1\.2\.3\.4\tfoo\tbar\n$/);
    expect(hostsFileContent(podOf({}), '10.0.0.1')).toContain('10.0.0.1\tp\n');
  });
});
