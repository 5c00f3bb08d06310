/**
 * `npm run bench:net`: Service networking against a baseline measured in the same run.
 *
 * Starts a fresh two-node cluster (`minictl start --nodes 2` in a private MINICTL_HOME), a busybox
 * httpd server pod on node 1, a client pod on node 2 and a NodePort Service selecting only the
 * server (so every path ends at the same single server and ratios isolate the path's cost).
 *
 * Method. The load generator is this script itself (`--client`), run inside the client pod's
 * network namespace with `nsenter -n` (root), so it uses the pod's routes, the service proxy's
 * kernel rules and Docker's embedded DNS exactly as a process in the pod would, without the
 * cost of spawning `wget` per request. Each request is a new TCP connection (`Connection:
 * close`; busybox httpd does not keep connections alive), 16 in flight, in 5 interleaved rounds of
 * 2 s per path (ratios are the median of per-round ratios, so drifting machine load cancels out):
 *   1. pod IP (baseline)      client pod → server pod IP:8080 (cross-node)
 *   2. ClusterIP              client pod → ClusterIP:80 (kernel DNAT)
 *   3. DNS name               client pod → resolve web FQDN via 127.0.0.11 (Docker's resolver,
 *                             forwarding to cluster DNS) for every request, then ClusterIP:80
 *   4. NodePort from the host host → 127.0.0.1:<nodePort> (the daemon's userspace relay)
 *   5. port-forward           host → `kubectl port-forward svc/…` (when the cluster supports it)
 * plus a cross-check with the pod's own busybox `wget` in a shell loop (pod IP vs ClusterIP),
 * and DNS lookup latency: sequential A queries from the client pod via 127.0.0.11, and straight
 * to the daemon's DNS from the host. Without root (no nsenter) the pod-side load generator falls
 * back to the wget loop only. Benchmarks print figures; they never fail on slowness.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as dnsPacket from 'dns-packet';
import { fmt, percentile } from './common';

const ROOT = path.join(__dirname, '..', '..');
const MINICTL = path.join(ROOT, 'bin', 'minictl');
const IMAGE = 'minictl/busybox:local';

// ------------------------------------------------------------------ load generator (--client)

interface HttpJob {
  kind: 'http';
  host: string;
  port: number;
  /** resolve this name for every request (A query to dnsServer:53) instead of using `host` */
  resolve?: { server: string; name: string };
  concurrency: number;
  durationMs: number;
}

interface DnsJob {
  kind: 'dns';
  server: string;
  port: number;
  name: string;
  n: number;
}

interface Result {
  ok: number;
  errors: number;
  seconds: number;
  latMs: number[];
  firstError?: string;
}

function dnsQuery(server: string, port: number, name: string, timeoutMs = 2000): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error(`DNS query for ${name} timed out`));
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      const p = dnsPacket.decode(m);
      const a = (p.answers ?? []).find((x) => x.type === 'A') as { data?: string } | undefined;
      resolve(a?.data);
    });
    s.send(dnsPacket.encode({ type: 'query', id: Math.floor(Math.random() * 65535), flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] }), port, server);
  });
}

function oneRequest(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', agent: false, headers: { connection: 'close' }, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function runHttpJob(j: HttpJob): Promise<Result> {
  const r: Result = { ok: 0, errors: 0, seconds: 0, latMs: [] };
  const t0 = process.hrtime.bigint();
  const end = Date.now() + j.durationMs;
  await Promise.all(
    Array.from({ length: j.concurrency }, async () => {
      while (Date.now() < end) {
        const t = process.hrtime.bigint();
        try {
          const host = j.resolve ? await dnsQuery(j.resolve.server, 53, j.resolve.name) : j.host;
          if (!host) throw new Error(`no address for ${j.resolve?.name}`);
          await oneRequest(host, j.port);
          r.ok++;
          r.latMs.push(Number(process.hrtime.bigint() - t) / 1e6);
        } catch (e) {
          r.errors++;
          r.firstError ??= (e as Error).message;
        }
      }
    }),
  );
  r.seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return r;
}

async function runDnsJob(j: DnsJob): Promise<Result> {
  const r: Result = { ok: 0, errors: 0, seconds: 0, latMs: [] };
  await dnsQuery(j.server, j.port, j.name).catch(() => undefined); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < j.n; i++) {
    const t = process.hrtime.bigint();
    try {
      if (!(await dnsQuery(j.server, j.port, j.name))) throw new Error('no A record');
      r.ok++;
      r.latMs.push(Number(process.hrtime.bigint() - t) / 1e6);
    } catch (e) {
      r.errors++;
      r.firstError ??= (e as Error).message;
    }
  }
  r.seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return r;
}

async function clientMain(job: HttpJob | DnsJob): Promise<void> {
  const r = job.kind === 'http' ? await runHttpJob(job) : await runDnsJob(job);
  process.stdout.write(JSON.stringify(r) + '\n');
}

// ------------------------------------------------------------------ orchestration

interface Env {
  home: string;
  profile: string;
  env: NodeJS.ProcessEnv;
}

function sh(cmd: string, args: string[], env?: NodeJS.ProcessEnv, input?: string): string {
  const r = spawnSync(cmd, args, { env, input, encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

function kubectl(e: Env, args: string[], input?: string): string {
  return sh('kubectl', args, e.env, input);
}

async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs = 120_000): Promise<T> {
  const t = Date.now();
  for (;;) {
    let v: T | undefined;
    try {
      v = fn();
    } catch {
      v = undefined;
    }
    if (v !== undefined) return v;
    if (Date.now() - t > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function sandboxPid(e: Env, pod: string): number {
  const id = sh('docker', ['ps', '-q', '--filter', `label=io.minictl.profile=${e.profile}`, '--filter', `label=io.minictl.pod.name=${pod}`, '--filter', 'label=io.minictl.sandbox=true']).trim().split('\n')[0];
  return Number(sh('docker', ['inspect', '-f', '{{.State.Pid}}', id]).trim());
}

function appContainer(e: Env, pod: string): string {
  return sh('docker', ['ps', '-q', '--filter', `label=io.minictl.profile=${e.profile}`, '--filter', `label=io.minictl.pod.name=${pod}`, '--filter', 'label=io.minictl.sandbox=false']).trim().split('\n')[0];
}

/** Runs the load generator inside the pod's network namespace. */
function inPod(pid: number, job: HttpJob | DnsJob): Result {
  const out = sh('nsenter', ['-t', String(pid), '-n', process.execPath, __filename, '--client', JSON.stringify(job)]);
  return JSON.parse(out.trim().split('\n').pop()!) as Result;
}

function onHost(job: HttpJob | DnsJob): Result {
  const out = sh(process.execPath, [__filename, '--client', JSON.stringify(job)]);
  return JSON.parse(out.trim().split('\n').pop()!) as Result;
}

/** `n` sequential busybox wget requests in the pod; returns requests/s. */
function wgetLoop(container: string, url: string, n: number): number {
  const t = process.hrtime.bigint();
  sh('docker', ['exec', container, 'sh', '-c', `i=0; while [ $i -lt ${n} ]; do wget -q -O /dev/null ${url} || exit 1; i=$((i+1)); done`]);
  return n / (Number(process.hrtime.bigint() - t) / 1e9);
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

async function portForward(e: Env, svc: string, port: number): Promise<{ local: number; proc: ChildProcess } | undefined> {
  const local = await freePort();
  const proc = spawn('kubectl', ['port-forward', `svc/${svc}`, `${local}:${port}`], { env: e.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const t = Date.now();
  while (Date.now() - t < 15_000) {
    if (proc.exitCode !== null) return undefined;
    if (/Forwarding from/.test(out)) {
      try {
        await oneRequest('127.0.0.1', local);
        return { local, proc };
      } catch {
        /* not ready yet */
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  proc.kill();
  return undefined;
}

const MANIFESTS = (serverNode: string, clientNode: string) => `
apiVersion: v1
kind: Pod
metadata: {name: bench-server, labels: {app: bench-server}}
spec:
  nodeName: ${serverNode}
  containers:
  - name: httpd
    image: ${IMAGE}
    imagePullPolicy: Never
    command: ["sh", "-c", "mkdir -p /www && echo hello-from-bench > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: [{name: http, containerPort: 8080}]
    readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: bench-client}
spec:
  nodeName: ${clientNode}
  containers:
  - {name: sh, image: ${IMAGE}, imagePullPolicy: Never, command: ["sleep", "86400"]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: bench-server}
  ports: [{name: http, port: 80, targetPort: http}]
`;

async function main(): Promise<void> {
  const seconds = Number(process.env.BENCH_NET_SECONDS ?? 2);
  const rounds = Number(process.env.BENCH_NET_ROUNDS ?? 5);
  const conc = Number(process.env.BENCH_NET_CONCURRENCY ?? 16);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'minictl-bench-net-'));
  const profile = `bench-net-${Math.random().toString(36).slice(2, 7)}`;
  const e: Env = { home, profile, env: { ...process.env, MINICTL_HOME: home, KUBECONFIG: path.join(home, 'kubeconfig'), MINICTL_PROFILE: profile } };
  const log = (s: string) => process.stderr.write(s + '\n');
  const rows: [string, string, string, string, string][] = [];
  let pf: { local: number; proc: ChildProcess } | undefined;
  log(`minictl bench:net (profile ${profile}, ${conc} connections in flight, ${rounds} interleaved rounds of ${seconds} s per path)`);
  try {
    sh(process.execPath, [MINICTL, 'start', '--nodes', '2', '--wait', '120'], e.env);
    const nodes = await waitFor('2 Ready nodes', () => {
      const out = kubectl(e, ['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}']).trim().split(' ');
      const ready = out.filter((x) => x.endsWith('=True')).map((x) => x.split('=')[0]).sort();
      return ready.length >= 2 ? ready : undefined;
    });
    kubectl(e, ['apply', '-f', '-'], MANIFESTS(nodes[0], nodes[1]));
    const serverIP = await waitFor('the server pod', () => {
      const o = JSON.parse(kubectl(e, ['get', 'pod', 'bench-server', '-o', 'json']));
      return (o.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True') ? (o.status.podIP as string) : undefined;
    });
    await waitFor('the client pod', () => (JSON.parse(kubectl(e, ['get', 'pod', 'bench-client', '-o', 'json'])).status?.phase === 'Running' ? true : undefined));
    const svc = JSON.parse(kubectl(e, ['get', 'svc', 'web', '-o', 'json']));
    const clusterIP: string = svc.spec.clusterIP;
    const nodePort: number = svc.spec.ports[0].nodePort;
    const fqdn = 'web.default.svc.cluster.local';
    const clientContainer = appContainer(e, 'bench-client');
    await waitFor('the ClusterIP from the client pod', () => {
      sh('docker', ['exec', clientContainer, 'wget', '-q', '-O', '/dev/null', `http://${fqdn}/`]);
      return true;
    }, 30_000);

    const canNsenter = spawnSync('nsenter', ['--version']).status === 0 && process.getuid?.() === 0;
    const job = (host: string, port: number, resolve?: HttpJob['resolve']): HttpJob => ({ kind: 'http', host, port, resolve, concurrency: conc, durationMs: seconds * 1000 });
    pf = await portForward(e, 'web', 80);
    const pid = canNsenter ? sandboxPid(e, 'bench-client') : 0;
    if (!canNsenter) log('  (not root: no nsenter; pod-side figures come from the wget loop only)');
    const paths: { what: string; run: () => Result | undefined; base?: boolean }[] = [
      ...(canNsenter
        ? [
            { what: `pod IP ${serverIP}:8080 (baseline, cross-node)`, run: () => inPod(pid, job(serverIP, 8080)), base: true },
            { what: `ClusterIP ${clusterIP}:80`, run: () => inPod(pid, job(clusterIP, 80)) },
            { what: `DNS name ${fqdn} (lookup per request)`, run: () => inPod(pid, job('', 80, { server: '127.0.0.11', name: fqdn })) },
          ]
        : []),
      { what: `NodePort 127.0.0.1:${nodePort} from the host`, run: () => onHost(job('127.0.0.1', nodePort)) },
      { what: 'kubectl port-forward svc/web from the host', run: () => (pf ? onHost(job('127.0.0.1', pf.local)) : undefined) },
    ];
    // Interleaved rounds: a machine whose load drifts affects every path alike; per-round ratios
    // to the baseline are combined by their median.
    const results = paths.map(() => [] as Result[]);
    for (let round = 0; round < rounds; round++) paths.forEach((p, i) => {
      const r = p.run();
      if (r) results[i].push(r);
    });
    const median = (xs: number[]) => percentile(xs, 50);
    const rps = (r: Result) => r.ok / r.seconds;
    const baseIdx = paths.findIndex((p) => p.base);
    paths.forEach((p, i) => {
      const rs = results[i];
      if (!rs.length) {
        rows.push([p.what, 'n/a', '', '', '']);
        log(`  ${p.what}: n/a`);
        return;
      }
      const lat = rs.flatMap((r) => r.latMs);
      const ratio = baseIdx < 0 ? undefined : median(rs.map((r, k) => rps(r) / rps(results[baseIdx][k] ?? results[baseIdx][0])));
      const errors = rs.reduce((n, r) => n + r.errors, 0);
      const failed = rs.reduce((n2, r) => n2 + r.ok, 0) === 0;
      const label = errors ? `${p.what} (${errors} errors${failed ? `: ${rs.find((r) => r.firstError)?.firstError}` : ''})` : p.what;
      const cells: [string, string, string, string, string] = [label, fmt(median(rs.map(rps)), 0), fmt(percentile(lat, 50), 2), fmt(percentile(lat, 99), 2), ratio === undefined ? '' : fmt(ratio, 2)];
      rows.push(cells);
      log(`  ${label}: ${cells[1]} req/s, p50 ${cells[2]} ms, p99 ${cells[3]} ms${ratio !== undefined ? `, ratio ${cells[4]}` : ''}${errors ? ` (${errors} errors, e.g. ${rs.find((r) => r.firstError)?.firstError})` : ''}`);
    });

    // Cross-check with the pod's own wget (one process per request), interleaved the same way.
    const n = 100;
    const w: Record<'ip' | 'cluster' | 'name', number[]> = { ip: [], cluster: [], name: [] };
    for (let round = 0; round < rounds; round++) {
      w.ip.push(wgetLoop(clientContainer, `http://${serverIP}:8080/`, n));
      w.cluster.push(wgetLoop(clientContainer, `http://${clusterIP}/`, n));
      w.name.push(wgetLoop(clientContainer, `http://web/`, n));
    }
    const wr = (k: 'cluster' | 'name') => median(w[k].map((x, i) => x / w.ip[i]));
    rows.push([`busybox wget loop in the pod: pod IP`, fmt(median(w.ip), 0), '', '', '1.00']);
    rows.push([`busybox wget loop in the pod: ClusterIP`, fmt(median(w.cluster), 0), '', '', fmt(wr('cluster'), 2)]);
    rows.push([`busybox wget loop in the pod: short name "web"`, fmt(median(w.name), 0), '', '', fmt(wr('name'), 2)]);
    log(`  wget loop: pod IP ${fmt(median(w.ip), 0)}/s, ClusterIP ${fmt(median(w.cluster), 0)}/s (${fmt(wr('cluster'), 2)}), name ${fmt(median(w.name), 0)}/s (${fmt(wr('name'), 2)})`);

    // DNS lookup latency.
    const dnsRows: [string, Result | undefined][] = [];
    if (canNsenter) dnsRows.push([`DNS A ${fqdn} from the client pod (via 127.0.0.11)`, inPod(sandboxPid(e, 'bench-client'), { kind: 'dns', server: '127.0.0.11', port: 53, name: fqdn, n: 3000 })]);
    const netStatus = JSON.parse(fs.readFileSync(path.join(home, profile, 'network.json'), 'utf8')) as { dns: { listen?: string } };
    const dnsPort = Number(netStatus.dns.listen?.split(':')[1]);
    if (dnsPort) dnsRows.push([`DNS A ${fqdn} from the host, straight to the daemon`, onHost({ kind: 'dns', server: '127.0.0.1', port: dnsPort, name: fqdn, n: 3000 })]);
    for (const [what, r] of dnsRows) {
      if (!r) continue;
      rows.push([what, fmt(r.ok / r.seconds, 0) + ' q/s', fmt(percentile(r.latMs, 50), 3), fmt(percentile(r.latMs, 99), 3), 'goal p99 ≤ 2 ms']);
      log(`  ${what}: p50 ${fmt(percentile(r.latMs, 50), 3)} ms, p99 ${fmt(percentile(r.latMs, 99), 3)} ms${r.errors ? ` (${r.errors} errors)` : ''}`);
    }
  } finally {
    pf?.proc.kill();
    spawnSync(process.execPath, [MINICTL, 'delete'], { env: e.env, encoding: 'utf8', timeout: 180_000 });
    fs.rmSync(home, { recursive: true, force: true });
  }
  const w = [Math.max(4, ...rows.map((r) => r[0].length)), 12, 9, 9, 16];
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ');
  process.stdout.write('\n' + line(['path', 'req/s', 'p50 ms', 'p99 ms', 'ratio vs pod IP']) + '\n');
  for (const r of rows) process.stdout.write(line(r) + '\n');
  process.stdout.write('\nGoal: ClusterIP ≥ 0.8× pod IP; DNS lookup p99 ≤ 2 ms.\n');
}

if (require.main === module) {
  const i = process.argv.indexOf('--client');
  if (i >= 0) {
    clientMain(JSON.parse(process.argv[i + 1])).catch((err) => {
      process.stderr.write(String(err) + '\n');
      process.exit(1);
    });
  } else {
    try {
      execFileSync('docker', ['image', 'inspect', IMAGE], { stdio: 'ignore' });
    } catch {
      execFileSync(process.execPath, [path.join(ROOT, 'bin', 'build-images.js'), 'busybox'], { stdio: 'inherit' });
    }
    main().catch((err) => {
      process.stderr.write(`bench:net failed: ${(err as Error).stack ?? err}\n`);
      process.exit(1);
    });
  }
}
