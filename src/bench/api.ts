import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { cpuSeconds, fmt, percentile, pool, rssMiB, startDaemon } from './common';

/**
 * `npm run bench:api`: the control plane against a baseline measured in the same run (raw
 * better-sqlite3 durable inserts with the same journal settings as the store).
 */
const cm = (name: string, i = 0) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { bench: 'yes' } }, data: { i: String(i), payload: 'x'.repeat(200) } });

function rawSqliteInsertsPerSec(n: number, fsync: boolean): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minictl-raw-'));
  const db = new Database(path.join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${fsync ? 'FULL' : 'NORMAL'}`);
  db.exec('CREATE TABLE log (rev INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT, value TEXT)');
  const ins = db.prepare('INSERT INTO log (key, value) VALUES (?, ?)');
  const body = JSON.stringify(cm('x'));
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) ins.run(`/core/configmaps/default/o${i}`, body); // one transaction (one commit) each
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  db.close();
  fs.rmSync(dir, { recursive: true });
  return n / s;
}

async function main(): Promise<void> {
  const rows: [string, string, string, string][] = [];
  const add = (what: string, value: string, ratio: string, goal: string) => {
    rows.push([what, value, ratio, goal]);
    process.stderr.write(`  ${what}: ${value}\n`);
  };
  process.stderr.write('minictl bench:api\n');
  const raw = rawSqliteInsertsPerSec(20000, false);
  const rawFsync = rawSqliteInsertsPerSec(2000, true);
  add('baseline: raw better-sqlite3 inserts/s (WAL, synchronous=NORMAL)', fmt(raw, 0), '1.00', '');
  add('baseline: raw better-sqlite3 inserts/s (WAL, synchronous=FULL)', fmt(rawFsync, 0), fmt(rawFsync / raw, 3), '');

  // start-to-ready: first start creates the PKI; the warm start is what users see every day
  const cold = await startDaemon();
  const coldMs = cold.readyMs;
  await new Promise((r) => setTimeout(r, 1500));
  const idleRss = rssMiB(cold.proc.pid!);
  await cold.stop();
  const warm = await startDaemon(cold.dir);
  add('daemon start-to-ready, first start (includes CA generation)', `${fmt(coldMs, 0)} ms`, '', '');
  add('daemon start-to-ready, warm', `${fmt(warm.readyMs, 0)} ms`, '', '≤ 500 ms');
  add('daemon idle RSS', `${fmt(idleRss, 1)} MiB`, '', '≤ 80 MB');
  const c = warm.client;
  const ns = '/api/v1/namespaces/default/configmaps';

  // creates/s over HTTPS, 32 in flight
  const N = 4000;
  let t = process.hrtime.bigint();
  await pool(Array.from({ length: N }, (_, i) => i), 32, async (i) => {
    await c.request('POST', ns, cm(`c${i}`, i));
  });
  const createsPerSec = N / (Number(process.hrtime.bigint() - t) / 1e9);
  add('API creates/s (HTTPS, 32 concurrent, durable before 201)', fmt(createsPerSec, 0), fmt(createsPerSec / raw, 3), '≥ 2,000/s');

  t = process.hrtime.bigint();
  const G = 8000;
  await pool(Array.from({ length: G }, (_, i) => i), 32, async (i) => {
    await c.request('GET', `${ns}/c${i % N}`);
  });
  const getsPerSec = G / (Number(process.hrtime.bigint() - t) / 1e9);
  add('API gets/s (HTTPS, 32 concurrent)', fmt(getsPerSec, 0), fmt(getsPerSec / raw, 3), '');

  // list latency at 10k objects
  await pool(Array.from({ length: 10000 - N }, (_, i) => i + N), 32, async (i) => {
    await c.request('POST', ns, cm(`c${i}`, i));
  });
  const lat: number[] = [];
  for (let i = 0; i < 5; i++) {
    const s = process.hrtime.bigint();
    const l = await c.request<{ items: unknown[] }>('GET', ns);
    lat.push(Number(process.hrtime.bigint() - s) / 1e6);
    if (l.items.length < 10000) throw new Error('list is short');
  }
  add('list of 10,000 objects, p50 latency', `${fmt(percentile(lat, 50), 0)} ms`, '', '');

  // p50/p99 single-object mutation latency at a fixed 200 req/s
  const muts: number[] = [];
  const R = 200;
  const D = 10;
  const start = Date.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < R * D; i++) {
    const due = start + (i * 1000) / R;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inflight.push(
      (async () => {
        const s = process.hrtime.bigint();
        await c.request('PATCH', `${ns}/c${i % 1000}`, { data: { i: String(i) } }, { 'Content-Type': 'application/merge-patch+json' });
        muts.push(Number(process.hrtime.bigint() - s) / 1e6);
      })(),
    );
  }
  await Promise.all(inflight);
  add(`mutation latency at ${R} req/s, p50`, `${fmt(percentile(muts, 50), 2)} ms`, '', '');
  add(`mutation latency at ${R} req/s, p99`, `${fmt(percentile(muts, 99), 2)} ms`, '', '≤ 10 ms');

  // watch delivery latency, 100 watchers
  const W = 100;
  const sent = new Map<string, bigint>();
  const delivery: number[] = [];
  const opts = c.opts;
  const reqs: ReturnType<typeof https.request>[] = [];
  const agent = new https.Agent({ ca: opts.caCertPem, keepAlive: true, maxSockets: W + 5 });
  await Promise.all(
    Array.from({ length: W }, () => {
      return new Promise<void>((resolve) => {
        const r = https.request(new URL(`${ns}?watch=true&resourceVersion=${Date.now() > 0 ? '' : ''}&labelSelector=w%3Dyes`, opts.server), { agent, headers: { Authorization: `Bearer ${opts.token}` } }, (res) => {
          let buf = '';
          res.on('data', (d: Buffer) => {
            const now = process.hrtime.bigint();
            buf += d.toString();
            let k;
            while ((k = buf.indexOf('\n')) >= 0) {
              const ev = JSON.parse(buf.slice(0, k));
              buf = buf.slice(k + 1);
              const s = sent.get(ev.object?.metadata?.resourceVersion);
              if (s) delivery.push(Number(now - s) / 1e6);
            }
          });
          resolve();
        });
        r.end();
        reqs.push(r);
      });
    }),
  );
  await c.request('POST', ns, { ...cm('watched'), metadata: { name: 'watched', labels: { w: 'yes' } } });
  await new Promise((r) => setTimeout(r, 300));
  for (let i = 0; i < 100; i++) {
    const s = process.hrtime.bigint();
    const o = await c.request<{ metadata: { resourceVersion: string } }>('PATCH', `${ns}/watched`, { data: { i: String(i) } }, { 'Content-Type': 'application/merge-patch+json' });
    sent.set(o.metadata.resourceVersion, s);
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 500));
  for (const r of reqs) r.destroy();
  agent.destroy();
  add(`watch delivery latency, ${W} watchers, p50`, `${fmt(percentile(delivery, 50), 2)} ms`, '', '');
  add(`watch delivery latency, ${W} watchers, p99 (${delivery.length} deliveries)`, `${fmt(percentile(delivery, 99), 2)} ms`, '', '≤ 20 ms');
  const cpu0 = cpuSeconds(warm.proc.pid!);
  await new Promise((r) => setTimeout(r, 3000));
  const idleCpu = ((cpuSeconds(warm.proc.pid!) - cpu0) / 3) * 100;
  add('RSS after the run (10k objects stored)', `${fmt(rssMiB(warm.proc.pid!), 1)} MiB`, '', '');
  add('idle CPU after the run', `${fmt(idleCpu, 2)} % of a core`, '', '');
  await warm.stop();
  fs.rmSync(warm.dir, { recursive: true, force: true });

  const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[1].length)), 8, 10];
  process.stdout.write(`\n| ${'measure'.padEnd(w[0])} | ${'value'.padEnd(w[1])} | ratio to baseline | goal |\n|${'-'.repeat(w[0] + 2)}|${'-'.repeat(w[1] + 2)}|---|---|\n`);
  for (const r of rows) process.stdout.write(`| ${r[0].padEnd(w[0])} | ${r[1].padEnd(w[1])} | ${r[2] || ''} | ${r[3]} |\n`);
  process.stdout.write(`\nmachine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}\n`);
}

main().catch((e) => {
  process.stderr.write(`bench:api failed: ${(e as Error).stack}\n`);
  process.exit(1);
});
