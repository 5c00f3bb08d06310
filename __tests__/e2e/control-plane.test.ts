import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApiError } from '../../src/util/errors';
import { ROOT, clientFor, eventually, kubectl, kubectlBackground, kubectlOk, minictl, newEnv, profileDir, type E2EEnv } from '../helpers/e2e';

jest.setTimeout(300_000);
const WEB = path.join(ROOT, 'fixtures', 'manifests', 'web.yaml');
const BAD = path.join(ROOT, 'fixtures', 'manifests', 'bad.yaml');
const VERSIONS = ['1.27', '1.28', '1.29', '1.30', '1.31', '1.32', '1.33'];

let e: E2EEnv;
beforeAll(() => {
  e = newEnv('cp');
  const r = minictl(e, ['start']);
  if (r.status !== 0) throw new Error(`minictl start failed: ${r.stderr}${r.stdout}`);
});
afterAll(() => e.cleanup());

describe('minictl start / status / security', () => {
  test('start wrote a private kubeconfig context and private data files', () => {
    const kc = fs.readFileSync(e.kubeconfig, 'utf8');
    expect(kc).toContain(`current-context: ${e.profile}`);
    expect(fs.statSync(e.kubeconfig).mode & 0o777).toBe(0o600);
    const dir = profileDir(e);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of ['token', 'pki/ca.key', 'pki/apiserver.key', 'state.db', 'config.json']) expect(fs.statSync(path.join(dir, f)).mode & 0o077).toBe(0);
  });

  test('start again says it is running and exits 0; status reports it', () => {
    const again = minictl(e, ['start']);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('already running');
    const st = minictl(e, ['status', '-o', 'json']);
    expect(st.status).toBe(0);
    expect(JSON.parse(st.stdout)).toMatchObject({ profile: e.profile, state: 'Running' });
    expect(minictl(e, ['status']).stdout).toMatch(/state:\s+Running/);
  });

  test('a wrong token is refused (401) and kubectl says Unauthorized', () => {
    const r = kubectl(e, ['get', 'pods', '--token', 'not-the-token']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Unauthorized|must be logged in/);
  });

  test('helpful errors: unknown kind, bad flags, not running profile', () => {
    const r = minictl(e, ['get', 'widgets']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`doesn't have a resource type "widgets"`);
    const other = minictl({ ...e, env: { ...e.env, MINICTL_PROFILE: 'not-started' } }, ['get', 'pods']);
    expect(other.status).toBe(1);
    expect(other.stderr).toContain('minictl start --profile not-started');
    expect(minictl(e, ['--help']).stdout).toContain('start');
  });
});

describe.each(VERSIONS)('kubectl %s', (v) => {
  const ns = `v${v.replace('.', '-')}`;
  test('version, api-resources, create (protobuf on 1.32+), get in every format, label/annotate/patch/edit/wait/delete', () => {
    expect(kubectlOk(e, ['version', '-o', 'json'], { version: v })).toContain('"serverVersion"');
    const res = kubectlOk(e, ['api-resources'], { version: v });
    for (const r of ['deployments', 'statefulsets', 'cronjobs', 'poddisruptionbudgets', 'leases', 'ingresses', 'storageclasses', 'horizontalpodautoscalers']) expect(res).toContain(r);
    kubectlOk(e, ['create', 'namespace', ns], { version: v });
    kubectlOk(e, ['-n', ns, 'create', 'deployment', 'd', '--image=minictl/busybox:local', '--replicas=3'], { version: v });
    kubectlOk(e, ['-n', ns, 'create', 'configmap', 'c', '--from-literal=a=b'], { version: v });
    kubectlOk(e, ['-n', ns, 'create', 'secret', 'generic', 's', '--from-literal=pw=x'], { version: v });
    kubectlOk(e, ['-n', ns, 'create', 'service', 'clusterip', 'svc', '--tcp=80:8080'], { version: v });
    kubectlOk(e, ['-n', ns, 'create', 'job', 'j', '--image=minictl/busybox:local', '--', 'true'], { version: v });
    kubectlOk(e, ['-n', ns, 'create', 'cronjob', 'cj', '--image=minictl/busybox:local', '--schedule=*/5 * * * *', '--', 'true'], { version: v });
    kubectlOk(e, ['-n', ns, 'run', 'p', '--image=minictl/busybox:local', '--', 'sleep', '1000'], { version: v });
    const secret = JSON.parse(kubectlOk(e, ['-n', ns, 'get', 'secret', 's', '-o', 'json'], { version: v }));
    expect(Buffer.from(secret.data.pw, 'base64').toString()).toBe('x');
    const dep = JSON.parse(kubectlOk(e, ['-n', ns, 'get', 'deploy', 'd', '-o', 'json'], { version: v }));
    expect(dep.spec.replicas).toBe(3);
    expect(dep.spec.template.spec.containers[0].image).toBe('minictl/busybox:local');

    const table = kubectlOk(e, ['-n', ns, 'get', 'deploy'], { version: v });
    expect(table.split('\n')[0]).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/);
    expect(kubectlOk(e, ['-n', ns, 'get', 'pods', '-o', 'wide'], { version: v }).split('\n')[0]).toMatch(/NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE/);
    expect(kubectlOk(e, ['-n', ns, 'get', 'all'], { version: v })).toContain('deployment.apps/d');
    expect(kubectlOk(e, ['get', 'cm', '-A'], { version: v })).toMatch(new RegExp(`${ns}\\s+c\\s+1`));
    expect(kubectlOk(e, ['-n', ns, 'get', 'deploy', 'd', '-o', 'yaml'], { version: v })).toContain('kind: Deployment');
    expect(kubectlOk(e, ['-n', ns, 'get', 'deploy', '-o', 'name'], { version: v }).trim()).toBe('deployment.apps/d');
    expect(kubectlOk(e, ['-n', ns, 'get', 'deploy', 'd', '-o', 'jsonpath={.spec.replicas}'], { version: v })).toBe('3');
    expect(kubectlOk(e, ['-n', ns, 'get', 'cm', '--show-labels'], { version: v })).toContain('LABELS');

    kubectlOk(e, ['-n', ns, 'label', 'deploy', 'd', 'tier=web'], { version: v });
    kubectlOk(e, ['-n', ns, 'annotate', 'deploy', 'd', 'note=hi'], { version: v });
    kubectlOk(e, ['-n', ns, 'patch', 'deploy', 'd', '-p', '{"spec":{"replicas":4}}'], { version: v });
    kubectlOk(e, ['-n', ns, 'patch', 'deploy', 'd', '--type=merge', '-p', '{"spec":{"replicas":5}}'], { version: v });
    kubectlOk(e, ['-n', ns, 'patch', 'deploy', 'd', '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":6}]'], { version: v });
    kubectlOk(e, ['-n', ns, 'scale', 'deploy', 'd', '--replicas=7'], { version: v });
    kubectlOk(e, ['-n', ns, 'edit', 'cm', 'c'], { version: v, env: { EDITOR: `sed -i s/a:\\ b/a:\\ edited/`, KUBE_EDITOR: '' } });
    const after = JSON.parse(kubectlOk(e, ['-n', ns, 'get', 'deploy', 'd', '-o', 'json'], { version: v }));
    expect(after.spec.replicas).toBe(7);
    expect(after.metadata.labels.tier).toBe('web');
    expect(after.metadata.annotations.note).toBe('hi');
    expect(kubectlOk(e, ['-n', ns, 'get', 'cm', 'c', '-o', 'jsonpath={.data.a}'], { version: v })).toBe('edited');
    kubectlOk(e, ['-n', ns, 'wait', '--for=jsonpath={.data.a}=edited', 'cm/c', '--timeout=20s'], { version: v });
    kubectlOk(e, ['-n', ns, 'label', 'deploy', 'd', 'tier-'], { version: v });
    expect(JSON.parse(kubectlOk(e, ['-n', ns, 'get', 'deploy', 'd', '-o', 'json'], { version: v })).metadata.labels.tier).toBeUndefined();
    kubectlOk(e, ['-n', ns, 'delete', 'cm', 'c'], { version: v });
    kubectlOk(e, ['-n', ns, 'wait', '--for=delete', 'cm/c', '--timeout=20s'], { version: v });
    expect(kubectl(e, ['-n', ns, 'get', 'cm', 'c'], { version: v }).stderr).toContain('NotFound');
  });

  test('apply, apply again (unchanged), modify and re-apply (field removed), server-side apply', () => {
    const dir = fs.mkdtempSync(path.join(e.home, 'apply-'));
    const f = path.join(dir, 'web.yaml');
    fs.writeFileSync(f, fs.readFileSync(WEB, 'utf8'));
    expect(kubectlOk(e, ['-n', ns, 'apply', '-f', f], { version: v })).toMatch(/deployment.apps\/web created[\s\S]*configmap\/web-config created/);
    expect(kubectlOk(e, ['-n', ns, 'apply', '-f', f], { version: v })).toMatch(/deployment.apps\/web unchanged[\s\S]*configmap\/web-config unchanged/);
    fs.writeFileSync(f, fs.readFileSync(WEB, 'utf8').replace('replicas: 2', 'replicas: 4').replace('        - {name: MODE, value: demo}\n', ''));
    expect(kubectlOk(e, ['-n', ns, 'apply', '-f', f], { version: v })).toContain('deployment.apps/web configured');
    const d = JSON.parse(kubectlOk(e, ['-n', ns, 'get', 'deploy', 'web', '-o', 'json'], { version: v }));
    expect(d.spec.replicas).toBe(4);
    expect(d.spec.template.spec.containers[0].env).toEqual([{ name: 'GREETING', value: 'hello' }]);
    fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('replicas: 4', 'replicas: 1'));
    expect(kubectlOk(e, ['-n', ns, 'apply', '--server-side', '-f', f], { version: v })).toContain('serverside-applied');
    expect(kubectlOk(e, ['-n', ns, 'get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}'], { version: v })).toBe('1');
    kubectlOk(e, ['-n', ns, 'delete', '-f', f], { version: v });
  });

  test('bad manifests are refused with a clear message and the server keeps serving', () => {
    const r = kubectl(e, ['-n', ns, 'apply', '-f', BAD], { version: v });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/is invalid/);
    expect(r.stderr).toMatch(/metadata.name/);
    kubectlOk(e, ['get', 'ns', ns], { version: v });
    kubectlOk(e, ['delete', 'ns', ns, '--wait=true', '--timeout=60s'], { version: v });
  });
});

describe('watch', () => {
  test('kubectl get -w prints the initial table and every change', async () => {
    kubectlOk(e, ['create', 'cm', 'present', '--from-literal=a=1']);
    const w = kubectlBackground(e, ['get', 'configmaps', '-w']);
    try {
      await eventually(() => expect(w.out()).toContain('NAME'));
      kubectlOk(e, ['create', 'cm', 'watched', '--from-literal=a=1']);
      kubectlOk(e, ['label', 'cm', 'watched', 'x=y']);
      kubectlOk(e, ['delete', 'cm', 'watched']);
      await eventually(() => expect((w.out().match(/^watched\s/gm) ?? []).length).toBeGreaterThanOrEqual(3));
      expect((w.out().match(/^NAME/gm) ?? []).length).toBe(1);
    } finally {
      w.stop();
    }
  });
});

describe('@kubernetes/client-node', () => {
  test('list, watch and create work', async () => {
    const script = path.join(ROOT, 'fixtures', 'clients', 'client-node-smoke.mjs');
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn(process.execPath, [script], { env: e.env, cwd: ROOT });
      let o = '';
      p.stdout.on('data', (d) => (o += d));
      p.stderr.on('data', (d) => (o += d));
      p.on('exit', (code) => (code === 0 ? resolve(o) : reject(new Error(`client-node smoke exited ${code}: ${o}`))));
    });
    expect(out).toContain('listed namespaces: default');
    expect(out).toContain('created configmap cn-smoke');
    expect(out).toContain('watch saw ADDED cn-watch');
  });
});

describe('durability', () => {
  test('kill -9 during a write burst loses no acknowledged write; restart keeps state and port', async () => {
    const c = clientFor(e);
    kubectlOk(e, ['create', 'ns', 'burst']);
    const acked: string[] = [];
    let stop = false;
    const writers = Array.from({ length: 16 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const name = `w${w}-${i}`;
        try {
          await c.request('POST', '/api/v1/namespaces/burst/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { i: String(i) } });
          acked.push(name);
        } catch {
          return; // the daemon died under us
        }
      }
    });
    await eventually(() => expect(acked.length).toBeGreaterThan(300), 30_000, 10);
    const pid = Number(fs.readFileSync(path.join(profileDir(e), 'daemon.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
    stop = true;
    await Promise.all(writers);
    c.close();
    const portBefore = JSON.parse(fs.readFileSync(path.join(profileDir(e), 'config.json'), 'utf8')).port;
    const r = minictl(e, ['start']);
    expect(r.status).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(profileDir(e), 'config.json'), 'utf8')).port).toBe(portBefore);
    const c2 = clientFor(e);
    const list = await c2.request<{ items: { metadata: { name: string } }[] }>('GET', '/api/v1/namespaces/burst/configmaps');
    const have = new Set(list.items.map((i) => i.metadata.name));
    const lost = acked.filter((n) => !have.has(n));
    expect(lost).toEqual([]);
    // a graceful stop/start keeps everything too
    expect(minictl(e, ['stop']).status).toBe(0);
    expect(minictl(e, ['status']).status).toBe(3);
    expect(minictl(e, ['start']).status).toBe(0);
    const again = await clientFor(e).request<{ items: unknown[] }>('GET', '/api/v1/namespaces/burst/configmaps');
    expect(again.items.length).toBe(list.items.length);
    c2.close();
    await expect(clientFor(e).request('GET', '/api/v1/namespaces/burst/configmaps/none')).rejects.toBeInstanceOf(ApiError);
  });
});

describe('minictl apply / get / delete', () => {
  test('apply prints created/unchanged/configured like kubectl; get and delete', () => {
    let r = minictl(e, ['apply', '-f', WEB]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('deployment.apps/web created\nconfigmap/web-config created\n');
    expect(minictl(e, ['apply', '-f', WEB]).stdout).toBe('deployment.apps/web unchanged\nconfigmap/web-config unchanged\n');
    r = minictl(e, ['apply', '-f', '-'], fs.readFileSync(WEB, 'utf8').replace('replicas: 2', 'replicas: 3'));
    expect(r.stdout).toContain('deployment.apps/web configured');
    r = minictl(e, ['get', 'deploy']);
    expect(r.stdout).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nweb\s+/);
    expect(minictl(e, ['get', 'deploy', 'web', '-o', 'json']).stdout).toContain('"replicas": 3');
    expect(minictl(e, ['get', 'deploy', 'web', '-o', 'yaml']).stdout).toContain('kind: Deployment');
    expect(minictl(e, ['get', 'ns', '-o', 'name']).stdout).toContain('namespace/kube-system');
    r = minictl(e, ['apply', '-f', BAD]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('is invalid');
    r = minictl(e, ['delete', '-f', WEB]);
    expect(r.stdout).toContain('deployment.apps "web" deleted');
    expect(minictl(e, ['delete', 'cm', 'nope']).status).toBe(1);
    expect(minictl(e, ['delete', 'cm', 'nope', '--ignore-not-found']).status).toBe(0);
  });

  test('dashboard --once prints every view', () => {
    kubectlOk(e, ['create', 'deployment', 'dash', '--image=minictl/busybox:local']);
    const r = minictl(e, ['dashboard', '--once']);
    expect(r.status).toBe(0);
    for (const v of ['== pods', '== nodes', '== workloads', '== events']) expect(r.stdout).toContain(v);
    expect(r.stdout).toMatch(/deployment\/dash/);
  });

  test('minictl delete removes the profile data and its kubeconfig context', () => {
    const other = newEnv('del');
    try {
      expect(minictl(other, ['start']).status).toBe(0);
      expect(fs.readFileSync(other.kubeconfig, 'utf8')).toContain(other.profile);
      const r = minictl(other, ['delete']);
      expect(r.status).toBe(0);
      expect(fs.existsSync(profileDir(other))).toBe(false);
      expect(fs.readFileSync(other.kubeconfig, 'utf8')).not.toContain(`name: ${other.profile}`);
      expect(minictl(other, ['status']).status).toBe(7);
    } finally {
      other.cleanup();
    }
  });
});
