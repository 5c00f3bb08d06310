import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliError, freePort, portInUse, readConfig, resolveProfile, runningPid, writeConfig, type CliIO, type ProfileOpts } from '../io';
import { kubeconfigPath, mergeContext } from '../kubeconfig';
import { runDaemon, type DaemonOptions } from '../daemon-main';
import { HttpClient } from '../../client/http-client';
import type { ProfilePaths } from '../../manager/paths';
import { parseCpus, parseMemory } from '../../kubelet/node-status';

export interface StartOpts extends ProfileOpts {
  port?: string;
  foreground?: boolean;
  wait?: string;
  v?: string;
  fsync?: boolean;
  /** nodes of a new cluster (default 1) */
  nodes?: string;
  cpus?: string;
  memory?: string;
  runtime?: string;
}

function step(io: CliIO, msg: string): void {
  io.stdout.write(`  ✓ ${msg}\n`);
}

async function probeReady(paths: ProfilePaths, port: number): Promise<boolean> {
  const ca = path.join(paths.dir, 'pki', 'ca.crt');
  if (!fs.existsSync(ca)) return false;
  const c = new HttpClient({ server: `https://127.0.0.1:${port}`, token: '', caCertPem: fs.readFileSync(ca, 'utf8'), keepAlive: false });
  try {
    const r = await c.raw('GET', '/readyz', undefined, {}, 2000);
    return r.status === 200;
  } catch {
    return false;
  } finally {
    c.close();
  }
}

function writeKubeconfigEntry(io: CliIO, profile: string, paths: ProfilePaths, port: number): string {
  const file = kubeconfigPath(io.env);
  mergeContext(file, profile, `https://127.0.0.1:${port}`, fs.readFileSync(path.join(paths.dir, 'pki', 'ca.crt'), 'utf8'), fs.readFileSync(path.join(paths.dir, 'token'), 'utf8').trim());
  return file;
}

function tail(file: string, n: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

/** `minictl start`: starts the daemon (background unless --foreground), waits for ready, writes kubeconfig. */
export async function startCommand(o: StartOpts, io: CliIO): Promise<number> {
  const t0 = Date.now();
  const { profile, paths } = resolveProfile(o, io.env);
  const cfg = readConfig(paths);
  const wantPort = o.port !== undefined ? Number(o.port) : undefined;
  if (wantPort !== undefined && (!Number.isInteger(wantPort) || wantPort < 0 || wantPort > 65535)) throw new CliError(`invalid --port ${o.port}: must be 0-65535`);
  const nodes = o.nodes === undefined ? 1 : Number(o.nodes);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 253) throw new CliError(`invalid --nodes ${o.nodes}: must be an integer from 1 to 253`);
  try {
    if (o.cpus !== undefined) parseCpus(o.cpus);
    if (o.memory !== undefined) parseMemory(o.memory);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  if (o.runtime !== undefined && o.runtime !== 'docker' && o.runtime !== 'fake') throw new CliError(`invalid --runtime ${o.runtime}: use docker or fake`);
  const nodeArgs = { nodes, cpus: o.cpus, memory: o.memory, runtime: (o.runtime ?? 'docker') as 'docker' | 'fake' };
  const pid = runningPid(paths);
  if (pid && cfg.port && (await probeReady(paths, cfg.port))) {
    const file = writeKubeconfigEntry(io, profile, paths, cfg.port);
    io.stdout.write(`minictl: cluster "${profile}" is already running at https://127.0.0.1:${cfg.port} (pid ${pid}); kubectl context "${profile}" in ${file}\n`);
    return 0;
  }
  if (pid) throw new CliError(`a daemon for profile "${profile}" is running (pid ${pid}) but not answering; see ${paths.log}, or run: minictl stop${profile === 'minictl' ? '' : ' --profile ' + profile}`);
  let port = wantPort || cfg.port || 0;
  if (port && (await portInUse(port))) {
    if (wantPort) throw new CliError(`port ${port} on 127.0.0.1 is in use; choose another with --port`);
    port = 0;
  }
  if (!port) port = await freePort();
  writeConfig(paths, { ...cfg, port });
  io.stdout.write(`Starting minictl cluster "${profile}"…\n`);
  const verbosity = Number(o.v ?? 0) || 0;

  if (o.foreground) {
    return runDaemon({
      profile,
      dataDir: paths.dir,
      port,
      verbosity,
      fsync: o.fsync,
      ...nodeArgs,
      out: io.stderr,
      onReady: () => {
        step(io, `API server ready at https://127.0.0.1:${port} (${Date.now() - t0} ms)`);
        const file = writeKubeconfigEntry(io, profile, paths, port);
        step(io, `kubectl context "${profile}" written to ${file}`);
        io.stdout.write(`Running in the foreground; press Ctrl-C to stop.\n`);
      },
    });
  }

  fs.mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const logFd = fs.openSync(paths.log, 'a', 0o600);
  const entry = path.join(__dirname, '..', 'daemon-main.js');
  const daemonArgs: DaemonOptions = { profile, dataDir: paths.dir, port, verbosity, fsync: !!o.fsync, ...nodeArgs };
  const child = spawn(process.execPath, [entry, JSON.stringify(daemonArgs)], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
    env: io.env,
  });
  child.unref();
  fs.closeSync(logFd);
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? 1));
  step(io, `daemon started (pid ${child.pid}, log ${paths.log})`);
  const timeoutMs = (Number(o.wait ?? 60) || 60) * 1000;
  while (Date.now() - t0 < timeoutMs) {
    if (exited !== null) throw new CliError(`the daemon exited with code ${exited} before it was ready; last log lines:\n${tail(paths.log, 15)}`);
    if (await probeReady(paths, port)) {
      step(io, `API server ready at https://127.0.0.1:${port} (${Date.now() - t0} ms)`);
      const file = writeKubeconfigEntry(io, profile, paths, port);
      step(io, `kubectl context "${profile}" written to ${file}`);
      io.stdout.write(`Done. Try: kubectl get nodes\n`);
      return 0;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new CliError(`the cluster did not become ready within ${timeoutMs / 1000} s; see ${paths.log}`);
}
