import * as fs from 'node:fs';
import * as net from 'node:net';
import { HttpClient } from '../client/http-client';
import { DEFAULT_PROFILE, profilePaths, validateProfileName, type ProfilePaths } from '../manager/paths';

/** What a command may touch: injected so tests can run the CLI in-process. */
export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** A failure reported to the user as one line; `code` is the exit code. */
export class CliError extends Error {
  constructor(message: string, readonly code = 1) {
    super(message);
  }
}

export interface ProfileConfig {
  port?: number;
  nodes?: number;
}

export interface ProfileOpts {
  profile?: string;
  dataDir?: string;
}

export function resolveProfile(o: ProfileOpts, env: NodeJS.ProcessEnv): { profile: string; paths: ProfilePaths } {
  const profile = o.profile ?? env.MINICTL_PROFILE ?? DEFAULT_PROFILE;
  const bad = validateProfileName(profile);
  if (bad) throw new CliError(bad);
  return { profile, paths: profilePaths(profile, o.dataDir ?? env.MINICTL_DATA_DIR) };
}

export function readConfig(paths: ProfilePaths): ProfileConfig {
  try {
    return JSON.parse(fs.readFileSync(paths.config, 'utf8')) as ProfileConfig;
  } catch {
    return {};
  }
}

export function writeConfig(paths: ProfilePaths, c: ProfileConfig): void {
  fs.mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(paths.config, JSON.stringify(c, null, 2) + '\n', { mode: 0o600 });
}

/** The daemon's pid when its process is alive. */
export function runningPid(paths: ProfilePaths): number | undefined {
  let pid: number;
  try {
    pid = parseInt(fs.readFileSync(paths.pid, 'utf8'), 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  // On Linux also rule out a zombie (a killed daemon nobody reaped) and a recycled pid.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return undefined;
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmd.includes('daemon-main') && !cmd.includes('minictl')) return undefined;
  } catch {
    /* no procfs (macOS): trust kill(0) */
  }
  return pid;
}

/** A client for the profile's running cluster, or a CliError saying how to start one. */
export function clientFor(profile: string, paths: ProfilePaths): HttpClient {
  const cfg = readConfig(paths);
  if (!cfg.port || !fs.existsSync(`${paths.dir}/token`) || !runningPid(paths)) {
    throw new CliError(`cluster "${profile}" is not running; start it with: minictl start${profile === DEFAULT_PROFILE ? '' : ' --profile ' + profile}`);
  }
  return new HttpClient({
    server: `https://127.0.0.1:${cfg.port}`,
    token: fs.readFileSync(`${paths.dir}/token`, 'utf8').trim(),
    caCertPem: fs.readFileSync(`${paths.dir}/pki/ca.crt`, 'utf8'),
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(true));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });
}
