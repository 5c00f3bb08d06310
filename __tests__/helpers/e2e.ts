import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HttpClient } from '../../src/client/http-client';

/**
 * End-to-end helpers: run the built `bin/minictl` and real kubectl binaries against a cluster in a
 * private MINICTL_HOME and KUBECONFIG (never the user's). `npm test` builds dist/ before running.
 */
export const ROOT = path.join(__dirname, '..', '..');
export const MINICTL = path.join(ROOT, 'bin', 'minictl');
export const KUBECTL_DIR = '/usr/lib/google-cloud-sdk/bin';

export function kubectlBinary(version?: string): string {
  if (!version) return 'kubectl';
  const p = path.join(KUBECTL_DIR, `kubectl.${version}`);
  if (!fs.existsSync(p)) throw new Error(`kubectl ${version} is not installed at ${p}`);
  return p;
}

export interface E2EEnv {
  home: string;
  kubeconfig: string;
  profile: string;
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

export function newEnv(prefix = 'e2e'): E2EEnv {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is not built: run `npm run build` (npm test does it)');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `minictl-${prefix}-`));
  const kubeconfig = path.join(home, 'kubeconfig');
  const profile = `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
  const env = { ...process.env, MINICTL_HOME: home, KUBECONFIG: kubeconfig, MINICTL_PROFILE: profile };
  return {
    home,
    kubeconfig,
    profile,
    env,
    cleanup: () => {
      spawnSync(process.execPath, [MINICTL, 'delete'], { env, encoding: 'utf8', timeout: 120_000 });
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

export function minictl(e: E2EEnv, args: string[], input?: string, timeoutMs = 120_000): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [MINICTL, ...args], { env: e.env, encoding: 'utf8', input, timeout: timeoutMs });
}

export function kubectl(e: E2EEnv, args: string[], opts: { version?: string; input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(kubectlBinary(opts.version), args, { env: { ...e.env, ...(opts.env ?? {}) }, encoding: 'utf8', input: opts.input, timeout: opts.timeoutMs ?? 60_000 });
}

/** Runs kubectl and fails the test with its output when it exits non-zero. */
export function kubectlOk(e: E2EEnv, args: string[], opts: Parameters<typeof kubectl>[2] = {}): string {
  const r = kubectl(e, args, opts);
  if (r.status !== 0) throw new Error(`kubectl ${opts.version ?? ''} ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Starts a long-running kubectl (e.g. `get -w`); returns its accumulated output. */
export function kubectlBackground(e: E2EEnv, args: string[], version?: string): { out: () => string; stop: () => void } {
  const p = spawn(kubectlBinary(version), args, { env: e.env });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (out += d));
  return { out: () => out, stop: () => p.kill('SIGTERM') };
}

export function profileDir(e: E2EEnv): string {
  return path.join(e.home, e.profile);
}

export function clientFor(e: E2EEnv): HttpClient {
  const dir = profileDir(e);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { port: number };
  return new HttpClient({ server: `https://127.0.0.1:${cfg.port}`, token: fs.readFileSync(path.join(dir, 'token'), 'utf8').trim(), caCertPem: fs.readFileSync(path.join(dir, 'pki', 'ca.crt'), 'utf8') });
}

export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const t = Date.now();
  let last: unknown;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      last = err;
    }
    if (Date.now() - t > timeoutMs) throw last;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
