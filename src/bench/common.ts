import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HttpClient } from '../client/http-client';
import { removeServiceProxyRules } from '../network/proxy/iptables-proxier';
import { removeProfileResources } from '../kubelet/node-manager';

/** Helpers shared by the benchmark scripts. Benchmarks print figures; they never fail on slowness. */
export function percentile(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

export function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

export async function pool<T>(items: T[], concurrency: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (i < items.length) await fn(items[i++]);
    }),
  );
}

export function rssMiB(pid: number): number {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(s);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** CPU seconds (user+sys) used so far by a process. */
export function cpuSeconds(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
  const tick = 100;
  return (Number(parts[11]) + Number(parts[12])) / tick;
}

export interface Daemon {
  proc: ChildProcess;
  client: HttpClient;
  dir: string;
  readyMs: number;
  stop(): Promise<void>;
}

/** Starts `dist/cli/daemon-main.js` on a data dir and waits for /readyz; measures start-to-ready. */
export async function startDaemon(dir?: string, extra: Record<string, unknown> = { nodes: 1, runtime: 'fake' }): Promise<Daemon> {
  const d = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'minictl-bench-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const t0 = process.hrtime.bigint();
  const opts = { profile: `bench-${process.pid}`, dataDir: d, port, verbosity: 0, ...extra };
  const proc = spawn(process.execPath, [path.join(__dirname, '..', 'cli', 'daemon-main.js'), JSON.stringify(opts)], { stdio: ['ignore', 'ignore', 'inherit'] });
  let client: HttpClient | undefined;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`daemon exited with ${proc.exitCode}`);
    if (!client && fs.existsSync(path.join(d, 'token')) && fs.existsSync(path.join(d, 'pki', 'ca.crt'))) {
      client = new HttpClient({ server: `https://127.0.0.1:${port}`, token: fs.readFileSync(path.join(d, 'token'), 'utf8').trim(), caCertPem: fs.readFileSync(path.join(d, 'pki', 'ca.crt'), 'utf8') });
    }
    if (client) {
      try {
        if ((await client.raw('GET', '/readyz', undefined, {}, 1000)).status === 200) break;
      } catch {
        /* not up yet */
      }
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const readyMs = Number(process.hrtime.bigint() - t0) / 1e6;
  return {
    proc,
    client: client!,
    dir: d,
    readyMs,
    stop: async () => {
      client?.close();
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      // like `minictl delete`: leave no container, network or rule of the bench profile behind
      await removeServiceProxyRules(opts.profile);
      await removeProfileResources(opts.profile);
    },
  };
}
