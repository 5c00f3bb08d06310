import * as fs from 'node:fs';
import { CliError, clientFor, readConfig, resolveProfile, runningPid, type CliIO, type ProfileOpts } from '../io';
import { kubeconfigPath, readKubeconfig, removeContext } from '../kubeconfig';
import type { ProfilePaths } from '../../manager/paths';

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

/** Removes the cluster: stops it, deletes its data dir and its kubeconfig entries. */
export async function deleteClusterCommand(o: ProfileOpts, io: CliIO, cleanup?: (profile: string) => Promise<string[]>): Promise<number> {
  const { profile, paths } = resolveProfile(o, io.env);
  const wasRunning = await stopDaemon(paths);
  const removed: string[] = [];
  if (cleanup) removed.push(...(await cleanup(profile)));
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
      const nodes = await c.request<{ items: unknown[] }>('GET', '/api/v1/nodes');
      const pods = await c.request<{ items: unknown[] }>('GET', '/api/v1/pods');
      const nss = await c.request<{ items: unknown[] }>('GET', '/api/v1/namespaces');
      st.nodes = nodes.items.length;
      st.pods = pods.items.length;
      st.namespaces = nss.items.length;
      st.state = 'Running';
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
      ['nodes', st.nodes],
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
