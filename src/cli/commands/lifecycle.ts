import * as fs from 'node:fs';
import { CliError, clientFor, readConfig, resolveProfile, runningPid, type CliIO, type ProfileOpts } from '../io';
import { kubeconfigPath, readKubeconfig, removeContext } from '../kubeconfig';
import type { ProfilePaths } from '../../manager/paths';
import type { KObject } from '../../api/types';
import { NODE_ANNOTATIONS, isManaged, nodeDisplayStatus } from '../../kubelet/node-status';
import { networkStatusLines } from './service';

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const t = Date.now();
  while (Date.now() - t < ms) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

/** Stops the daemon: SIGTERM, then SIGKILL after `graceMs`. Returns false when it was not running. */
export async function stopDaemon(paths: ProfilePaths, graceMs = 30_000): Promise<boolean> {
  const pid = runningPid(paths);
  if (!pid) return false;
  process.kill(pid, 'SIGTERM');
  if (!(await waitGone(pid, graceMs))) {
    process.kill(pid, 'SIGKILL');
    await waitGone(pid, 5000);
  }
  try {
    fs.unlinkSync(paths.pid);
  } catch {
    /* removed by the daemon */
  }
  return true;
}

export async function stopCommand(o: ProfileOpts, io: CliIO): Promise<number> {
  const { profile, paths } = resolveProfile(o, io.env);
  const t = Date.now();
  if (!(await stopDaemon(paths))) {
    io.stdout.write(`minictl: cluster "${profile}" is not running\n`);
    return 0;
  }
  io.stdout.write(`minictl: cluster "${profile}" stopped (${Date.now() - t} ms); its state is kept, start it again with: minictl start${profile === 'minictl' ? '' : ' --profile ' + profile}\n`);
  return 0;
}

/**
 * Removes what the profile left on the host even when its daemon is dead: containers and networks
 * labelled with the profile, iptables rules commented `minictl:<profile>`. Returns what it removed.
 */
export async function cleanupHostResources(profile: string, io: CliIO): Promise<string[]> {
  // Loaded lazily: the node manager pulls in dockerode and the kubelet.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nm = require('../../kubelet/node-manager') as typeof import('../../kubelet/node-manager');
  // The service proxy's chains first, in one transaction (the generic sweep below would delete their rules one by one).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const proxy = require('../../network/proxy/iptables-proxier') as typeof import('../../network/proxy/iptables-proxier');
  const proxyRules = await proxy.removeServiceProxyRules(profile);
  const r = await nm.removeProfileResources(profile);
  for (const w of r.warnings) io.stderr.write(`warning: ${w}\n`);
  const out: string[] = [];
  if (r.containers) out.push(`${r.containers} container${r.containers === 1 ? '' : 's'}`);
  if (r.networks.length) out.push(`${r.networks.length} network${r.networks.length === 1 ? '' : 's'} (${r.networks.join(', ')})`);
  if (proxyRules.length) out.push(`the service proxy's iptables rules (${proxyRules.length})`);
  if (r.iptablesRules.length) out.push(`${r.iptablesRules.length} iptables rule${r.iptablesRules.length === 1 ? '' : 's'}${r.iptablesChains.length ? ` and ${r.iptablesChains.length} chain${r.iptablesChains.length === 1 ? '' : 's'}` : ''}`);
  return out;
}

/** Removes the cluster: stops it, removes its containers, networks and iptables rules, deletes its data dir and its kubeconfig entries. */
export async function deleteClusterCommand(o: ProfileOpts, io: CliIO, cleanup: (profile: string) => Promise<string[]> = (p) => cleanupHostResources(p, io)): Promise<number> {
  const { profile, paths } = resolveProfile(o, io.env);
  const wasRunning = await stopDaemon(paths);
  const removed: string[] = [];
  removed.push(...(await cleanup(profile)));
  const existed = fs.existsSync(paths.dir);
  if (existed) fs.rmSync(paths.dir, { recursive: true, force: true });
  const kc = kubeconfigPath(io.env);
  const hadCtx = removeContext(kc, profile);
  if (!wasRunning && !existed && !hadCtx && !removed.length) {
    io.stdout.write(`minictl: cluster "${profile}" does not exist; nothing to delete\n`);
    return 0;
  }
  io.stdout.write(`minictl: deleted cluster "${profile}"${existed ? ` and its data in ${paths.dir}` : ''}${hadCtx ? `; removed context "${profile}" from ${kc}` : ''}${removed.length ? `; removed ${removed.join(', ')}` : ''}\n`);
  return 0;
}

export async function statusCommand(o: ProfileOpts & { output?: string }, io: CliIO): Promise<number> {
  const { profile, paths } = resolveProfile(o, io.env);
  const cfg = readConfig(paths);
  const pid = runningPid(paths);
  const st: Record<string, unknown> = { profile, state: 'Stopped', dataDir: paths.dir, exists: fs.existsSync(paths.dir) };
  if (!st.exists) st.state = 'Nonexistent';
  if (pid && cfg.port) {
    st.pid = pid;
    st.server = `https://127.0.0.1:${cfg.port}`;
    try {
      const c = clientFor(profile, paths);
      const t = Date.now();
      const ver = await c.request<{ gitVersion: string }>('GET', '/version');
      st.apiLatencyMs = Date.now() - t;
      st.version = ver.gitVersion;
      const nodes = await c.request<{ items: KObject[] }>('GET', '/api/v1/nodes');
      const pods = await c.request<{ items: unknown[] }>('GET', '/api/v1/pods');
      const nss = await c.request<{ items: unknown[] }>('GET', '/api/v1/namespaces');
      st.nodes = nodes.items.length;
      const counts = new Map<string, number>();
      for (const n of nodes.items) {
        const s0 = nodeDisplayStatus(n);
        counts.set(s0, (counts.get(s0) ?? 0) + 1);
      }
      st.nodeStates = Object.fromEntries(counts);
      if (nodes.items.length <= 20) st.nodeList = nodes.items.map((n) => ({ name: n.metadata.name, status: nodeDisplayStatus(n) }));
      const net = nodes.items.filter(isManaged).map((n) => n.metadata.annotations?.[NODE_ANNOTATIONS.crossNodeNetwork]).find((x) => x);
      if (net) st.crossNodeNetwork = net;
      st.pods = pods.items.length;
      st.namespaces = nss.items.length;
      st.state = 'Running';
      const netLines = networkStatusLines(paths.dir);
      if (netLines.status) st.services = netLines.status;
      st.serviceLines = netLines.lines;
      c.close();
    } catch (e) {
      st.state = 'Error';
      st.error = (e as Error).message;
    }
  }
  const kc = kubeconfigPath(io.env);
  try {
    const k = readKubeconfig(kc);
    st.kubeconfig = k.contexts.some((c) => c.name === profile) ? kc : undefined;
    st.currentContext = k['current-context'] === profile;
  } catch {
    st.kubeconfig = undefined;
  }
  const serviceLines = (st.serviceLines ?? []) as [string, string][];
  delete st.serviceLines;
  if (o.output === 'json') {
    io.stdout.write(JSON.stringify(st, null, 2) + '\n');
  } else if (o.output && o.output !== 'text') {
    throw new CliError(`unknown output format "${o.output}": use json or text`);
  } else {
    const lines: [string, unknown][] = [
      ['profile', profile],
      ['state', st.state + (pid ? ` (pid ${pid})` : '')],
      ['server', st.server],
      ['version', st.version],
      ['nodes', st.nodes === undefined ? undefined : `${st.nodes}${st.nodes ? ' (' + (st.nodeList ? (st.nodeList as { name: string; status: string }[]).map((n) => `${n.name} ${n.status}`).join(', ') : Object.entries(st.nodeStates as Record<string, number>).map(([k, v]) => `${v} ${k}`).join(', ')) + ')' : ''}`],
      ['network', st.crossNodeNetwork === undefined ? undefined : st.crossNodeNetwork === 'ok' ? 'cross-node pod traffic ok' : `DEGRADED, pods on different nodes cannot reach each other: ${String(st.crossNodeNetwork).replace(/^degraded: /, '')}`],
      ...serviceLines,
      ['namespaces', st.namespaces],
      ['pods', st.pods],
      ['data dir', paths.dir],
      ['kubeconfig', st.kubeconfig ? `context "${profile}" in ${st.kubeconfig}${st.currentContext ? ' (current)' : ''}` : undefined],
      ['error', st.error],
    ];
    for (const [k, v] of lines) if (v !== undefined) io.stdout.write(`${(k + ':').padEnd(12)}${v}\n`);
  }
  return st.state === 'Running' ? 0 : st.state === 'Nonexistent' ? 7 : 3;
}
