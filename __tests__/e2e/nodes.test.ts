/**
 * Nodes end to end: a real daemon started with `--nodes 3`, the real kubectl, real Docker and
 * host iptables. `minictl node add/stop/start/rm/ls`, simulated nodes, a daemon restart that
 * adopts running containers and removes orphans, and `minictl delete` leaving nothing behind.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { newEnv, minictl, kubectl, kubectlOk, eventually, profileDir, type E2EEnv } from '../helpers/e2e';

jest.setTimeout(900_000);

const BUSYBOX = 'minictl/busybox:local';
let e: E2EEnv;

function ok(args: string[], input?: string): string {
  const r = minictl(e, args, input);
  if (r.status !== 0) throw new Error(`minictl ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

function docker(args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8' });
}

function profileContainers(extra: string[] = [], all = true): string[] {
  return docker(['ps', ...(all ? ['-a'] : []), '-q', '--filter', `label=io.minictl.profile=${e.profile}`, ...extra.flatMap((l) => ['--filter', `label=${l}`])]).split('\n').filter(Boolean);
}

function profileNetworks(): string[] {
  return docker(['network', 'ls', '--format', '{{.Name}}', '--filter', `label=io.minictl.profile=${e.profile}`]).split('\n').filter(Boolean).sort();
}

function iptablesRules(): string[] {
  const r = spawnSync('iptables-save', [], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.includes(`minictl:${e.profile}`) && (l.includes(`"minictl:${e.profile}"`) || l.includes(`minictl:${e.profile} `) || l.includes(`minictl:${e.profile}:`)));
}

function podManifest(name: string, node: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { nodeName: node, terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image: BUSYBOX, imagePullPolicy: 'Never', command: ['sleep', '3600'] }] },
  });
}

function nodeRows(): string[][] {
  return ok(['node', 'ls']).trim().split('\n').map((l) => l.trim().split(/\s{2,}/));
}

function leaseRenewTime(node: string): string {
  return kubectlOk(e, ['-n', 'kube-node-lease', 'get', 'lease', node, '-o', 'jsonpath={.spec.renewTime}']);
}

function appContainer(pod: string, running = true): string[] {
  return profileContainers([`io.minictl.pod.name=${pod}`, 'io.minictl.container.name=app'], !running);
}

beforeAll(() => {
  e = newEnv('nodes');
});

afterAll(() => {
  e.cleanup();
});

test('a 3-node cluster: nodes, networks and cross-node rules', () => {
  const out = ok(['start', '--nodes', '3', '--cpus', '2', '--memory', '2Gi', '--wait', '120']);
  expect(out).toContain('API server ready');
  const p = e.profile;
  const lines = kubectlOk(e, ['get', 'nodes', '--no-headers']).trim().split('\n');
  expect(lines).toHaveLength(3);
  const table = Object.fromEntries(lines.map((l) => l.trim().split(/\s+/)).map((c) => [c[0], c]));
  expect(Object.keys(table).sort()).toEqual([p, `${p}-m02`, `${p}-m03`]);
  for (const c of Object.values(table)) expect(c[1]).toBe('Ready');
  expect(table[p][2]).toBe('control-plane');
  expect(table[`${p}-m02`][2]).toBe('<none>');
  expect(kubectlOk(e, ['get', 'node', `${p}-m02`, '-o', 'jsonpath={.status.capacity.cpu} {.status.capacity.memory} {.status.nodeInfo.containerRuntimeVersion} {.status.nodeInfo.kubeletVersion}'])).toMatch(/^2 2097152Ki docker:\/\/\S+ v1\.32\.0-minictl$/);
  expect(kubectlOk(e, ['get', 'lease', '-n', 'kube-node-lease', '-o', 'name']).trim().split('\n').sort()).toEqual([p, `${p}-m02`, `${p}-m03`].map((n) => `lease.coordination.k8s.io/${n}`));
  expect(profileNetworks()).toEqual([`minictl-${p}-${p}`, `minictl-${p}-${p}-m02`, `minictl-${p}-${p}-m03`]);
  const internalIP = kubectlOk(e, ['get', 'node', `${p}-m02`, '-o', 'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}']);
  const gw = docker(['network', 'inspect', `minictl-${p}-${p}-m02`, '--format', '{{(index .IPAM.Config 0).Gateway}}']).trim();
  expect(internalIP).toBe(gw);
  // Rules tagged with the profile exist in filter/DOCKER-USER and nat/POSTROUTING.
  expect(iptablesRules().length).toBeGreaterThanOrEqual(2);
  const status = ok(['status']);
  expect(status).toMatch(/nodes:\s+3 \(/);
  expect(status).toContain('cross-node pod traffic ok');
});

test('a pod on one node reaches a pod on another node by pod IP', async () => {
  const p = e.profile;
  const server = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'xnode-server', namespace: 'default' },
    spec: { nodeName: `${p}-m02`, terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image: BUSYBOX, imagePullPolicy: 'Never', command: ['sh', '-c', 'mkdir -p /www && echo hello-from-m02 > /www/index.html && exec httpd -f -p 8080 -h /www'] }] },
  };
  kubectlOk(e, ['apply', '-f', '-'], { input: JSON.stringify(server) });
  kubectlOk(e, ['apply', '-f', '-'], { input: podManifest('xnode-client', `${p}-m03`) });
  let ip = '';
  await eventually(() => {
    expect(kubectlOk(e, ['get', 'pod', 'xnode-server', 'xnode-client', '-o', 'jsonpath={.items[*].status.phase}'])).toBe('Running Running');
    ip = kubectlOk(e, ['get', 'pod', 'xnode-server', '-o', 'jsonpath={.status.podIP}']);
    expect(ip).toMatch(/^\d+\.\d+\.2\.\d+$/);
  }, 120_000, 500);
  const [client] = appContainer('xnode-client');
  // (busybox-static's wget crashes on this image; nc speaks HTTP/1.0 just as well)
  await eventually(() => expect(docker(['exec', client, 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${ip} 8080`])).toContain('hello-from-m02'), 30_000, 500);
  kubectlOk(e, ['delete', 'pod', 'xnode-server', 'xnode-client', '--timeout=120s']);
});

test('minictl node ls / add / rm, with clear errors', () => {
  const p = e.profile;
  const rows = nodeRows();
  expect(rows[0]).toEqual(['NAME', 'STATUS', 'ROLES', 'TYPE', 'PODS', 'AGE']);
  expect(rows.slice(1).map((r) => r.slice(0, 4))).toEqual([
    [p, 'Ready', 'control-plane', 'docker'],
    [`${p}-m02`, 'Ready', '<none>', 'docker'],
    [`${p}-m03`, 'Ready', '<none>', 'docker'],
  ]);

  expect(ok(['node', 'add', '--cpus', '1', '--memory', '1Gi'])).toContain(`node "${p}-m04" is Ready`);
  expect(profileNetworks()).toContain(`minictl-${p}-${p}-m04`);
  expect(kubectlOk(e, ['get', 'node', `${p}-m04`, '-o', 'jsonpath={.status.capacity.cpu}'])).toBe('1');

  const bad = minictl(e, ['node', 'add', 'Bad_Name']);
  expect(bad.status).toBe(1);
  expect(bad.stderr).toContain('invalid node name "Bad_Name"');
  const dup = minictl(e, ['node', 'add', `${p}-m02`]);
  expect(dup.status).toBe(1);
  expect(dup.stderr).toContain('already exists');
  const cp = minictl(e, ['node', 'rm', p]);
  expect(cp.status).toBe(1);
  expect(cp.stderr).toContain('control-plane node');
  const missing = minictl(e, ['node', 'stop', 'nope']);
  expect(missing.status).toBe(1);
  expect(missing.stderr).toContain('node "nope" not found');
  const badMem = minictl(e, ['node', 'add', '--memory', 'lots']);
  expect(badMem.status).toBe(1);
  expect(badMem.stderr).toContain('invalid memory');

  expect(ok(['node', 'rm', `${p}-m04`])).toContain(`removed node "${p}-m04"`);
  expect(kubectl(e, ['get', 'node', `${p}-m04`]).status).not.toBe(0);
  expect(profileNetworks()).not.toContain(`minictl-${p}-${p}-m04`);
});

test('a pod on a node; node stop stops its containers and heartbeat; node start brings it back', async () => {
  const p = e.profile;
  const node = `${p}-m02`;
  kubectlOk(e, ['apply', '-f', '-'], { input: podManifest('stopme', node) });
  await eventually(() => expect(kubectlOk(e, ['get', 'pod', 'stopme', '-o', 'jsonpath={.status.phase}'])).toBe('Running'), 120_000, 500);
  expect(appContainer('stopme')).toHaveLength(1);
  expect(nodeRows().find((r) => r[0] === node)![4]).toBe('1');

  expect(ok(['node', 'stop', node])).toContain(`node "${node}" stopped`);
  expect(appContainer('stopme')).toEqual([]);
  expect(profileContainers([`io.minictl.node=${node}`], false)).toEqual([]);
  expect(nodeRows().find((r) => r[0] === node)![1]).toBe('Stopped');
  const frozen = leaseRenewTime(node);
  await new Promise((r) => setTimeout(r, 12_000)); // more than one 10 s renewal period
  expect(leaseRenewTime(node)).toBe(frozen);
  expect(leaseRenewTime(p)).not.toBe(frozen);

  expect(ok(['node', 'start', node])).toContain(`node "${node}" started and Ready`);
  expect(Date.parse(leaseRenewTime(node))).toBeGreaterThan(Date.parse(frozen));
  await eventually(() => expect(appContainer('stopme')).toHaveLength(1), 120_000, 500);
  kubectlOk(e, ['delete', 'pod', 'stopme', '--wait=false']);
});

test('simulated nodes: added in bulk, listed as simulated, removed in bulk', () => {
  const out = ok(['node', 'add', '--simulated', '--count', '20']);
  expect(out).toContain('all 20 nodes are Ready');
  const rows = nodeRows().filter((r) => r[3] === 'simulated');
  expect(rows).toHaveLength(20);
  expect(rows.every((r) => r[1] === 'Ready')).toBe(true);
  expect(profileNetworks()).toHaveLength(3); // no network for hollow nodes
  expect(ok(['node', 'rm', '--simulated'])).toContain('removed 20 nodes');
  expect(nodeRows().filter((r) => r[3] === 'simulated')).toEqual([]);
});

test('a restarted daemon adopts running containers and removes orphans', async () => {
  const p = e.profile;
  kubectlOk(e, ['apply', '-f', '-'], { input: podManifest('keeper', `${p}-m03`) });
  await eventually(() => expect(kubectlOk(e, ['get', 'pod', 'keeper', '-o', 'jsonpath={.status.phase}'])).toBe('Running'), 120_000, 500);
  const [before] = appContainer('keeper');
  expect(before).toBeDefined();
  ok(['stop']);
  // Left running while the daemon is down; plus an orphan of a node that does not exist.
  expect(appContainer('keeper')).toEqual([before]);
  const orphan = docker(['run', '-d', '--label', `io.minictl.profile=${p}`, '--label', 'io.minictl.node=ghost', BUSYBOX, 'sleep', '600']).trim();
  docker(['network', 'create', '--label', `io.minictl.profile=${p}`, '--label', 'io.minictl.node=ghost', `minictl-${p}-ghost`]);
  ok(['start', '--wait', '120']);
  await eventually(() => {
    const lines = kubectlOk(e, ['get', 'nodes', '--no-headers']).trim().split('\n');
    expect(lines.filter((l) => /\sReady\s/.test(l))).toHaveLength(3);
  }, 60_000, 500);
  expect(profileContainers([`io.minictl.node=ghost`])).toEqual([]);
  expect(docker(['ps', '-aq', '--no-trunc', '--filter', `id=${orphan}`]).trim()).toBe('');
  expect(profileNetworks()).not.toContain(`minictl-${p}-ghost`);
  await eventually(() => expect(kubectlOk(e, ['get', 'pod', 'keeper', '-o', 'jsonpath={.status.phase}'])).toBe('Running'), 60_000, 500);
  expect(appContainer('keeper')).toEqual([before]);
});

test('minictl delete, with the daemon already killed, leaves no container, network or iptables rule of the profile', async () => {
  kubectlOk(e, ['apply', '-f', '-'], { input: podManifest('leftover', `${e.profile}-m02`) });
  await eventually(() => expect(appContainer('leftover')).toHaveLength(1), 120_000, 500);
  // Chains the profile's rules jump to (the service proxy's, if any) must go too.
  const chains = new Set(iptablesRules().map((l) => /-j (\S+)/.exec(l)?.[1]).filter((c): c is string => !!c && /^[A-Z][A-Z0-9-]*$/.test(c) && !['ACCEPT', 'DROP', 'RETURN', 'REJECT', 'DNAT', 'SNAT', 'MASQUERADE', 'MARK'].includes(c) && !c.startsWith('DOCKER')));
  const pid = Number(fs.readFileSync(path.join(profileDir(e), 'daemon.pid'), 'utf8'));
  process.kill(pid, 'SIGKILL');
  await eventually(() => expect(() => process.kill(pid, 0)).toThrow(), 10_000, 100);
  expect(appContainer('leftover')).toHaveLength(1);
  const out = ok(['delete']);
  expect(out).toContain(`deleted cluster "${e.profile}"`);
  expect(out).toMatch(/removed .*container/);
  expect(out).toMatch(/network/);
  expect(profileContainers()).toEqual([]);
  expect(profileNetworks()).toEqual([]);
  expect(iptablesRules()).toEqual([]);
  const save = spawnSync('iptables-save', [], { encoding: 'utf8' }).stdout;
  for (const c of chains) expect(save).not.toMatch(new RegExp(`^:${c} `, 'm'));
  // Again, with nothing left: still clean, nothing to report.
  expect(ok(['delete'])).toContain('nothing to delete');
});
