import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { resourceFor } from '../api/scheme';
import type { KObject } from '../api/types';
import { RegistryEventRecorder } from '../client/events';
import { Cluster, type ClusterOptions } from '../manager/cluster';
import { Scheduler, type ScheduledEvent } from '../scheduler/scheduler';
import { silentLogger } from '../util/log';
import { fmt, percentile } from './common';

/**
 * `npm run bench:scheduler`: kube-scheduler-style throughput on an in-process cluster.
 * - baseline: the raw cost of the writes scheduling needs: creating the pods through the registry,
 *   and creating + binding them with a trivial round-robin assignment (no filtering or scoring);
 * - backlog: 1,000 Ready nodes (8 cpu / 32Gi / 110 pods), 10,000 pending pods, then a scheduler
 *   starts and binds them all (the figure comparable to kube-scheduler's scheduler_perf);
 * - concurrent: the built-in scheduler binds pods while they are being created;
 * - a 1,000-replica Deployment until all its pods are Running on simulated nodes (hollow kubelets
 *   with the fake runtime, one node per 10 replicas) and the Deployment reports them available.
 * Benchmarks print figures; they never fail on slowness.
 */
const NODES = Number(process.env.BENCH_NODES ?? 1000);
const PODS = Number(process.env.BENCH_PODS ?? 10000);
const podsRI = resourceFor('', 'pods')!;
const nodesRI = resourceFor('', 'nodes')!;

function benchNode(i: number): KObject {
  const name = `node-${String(i).padStart(4, '0')}`;
  const alloc = { cpu: '8', memory: '32Gi', pods: '110', 'ephemeral-storage': '100Gi' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'topology.kubernetes.io/zone': `zone-${i % 3}` } },
    spec: {},
    status: { capacity: alloc, allocatable: alloc, conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }] },
  };
}

function benchPod(i: number, schedulerName?: string): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `pod-${i}`, namespace: 'default', labels: { app: 'bench', shard: String(i % 10) } },
    spec: {
      ...(schedulerName ? { schedulerName } : {}),
      containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.9', resources: { requests: { cpu: '100m', memory: '200Mi' } } }],
    },
  };
}

async function withCluster<T>(fn: (c: Cluster) => Promise<T>, extra: Partial<ClusterOptions> = {}): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minictl-bench-sched-'));
  const c = new Cluster({
    profile: 'bench',
    dataDir: dir,
    inMemory: true,
    port: 0,
    log: silentLogger,
    controllerSettings: { nodeMonitorGracePeriodMs: 3_600_000, podEvictionTimeoutMs: 3_600_000 },
    ...extra,
  });
  await c.start();
  try {
    return await fn(c);
  } finally {
    await c.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const tick = () => new Promise<void>((r) => setImmediate(r));
const DEPLOY_REPLICAS = Number(process.env.BENCH_DEPLOY_REPLICAS ?? 1000);

function nodeReady(n: KObject): boolean {
  return (n.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
}

/** Polls `cond` every 100 ms; throws after `timeoutMs`. */
async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main(): Promise<void> {
  const rows: [string, string, string][] = [];
  const add = (what: string, value: string, note = '') => {
    rows.push([what, value, note]);
    process.stderr.write(`  ${what}: ${value}${note ? '  (' + note + ')' : ''}\n`);
  };
  process.stderr.write(`minictl bench:scheduler (${NODES} nodes, ${PODS} pods)\n`);

  // ---- baselines: the writes alone, pods addressed to no scheduler ----
  let createPerSec = 0;
  let bindPerSec = 0;
  await withCluster(async (c) => {
    let t = performance.now();
    for (let i = 0; i < PODS; i++) c.registry.create(podsRI, 'default', benchPod(i, 'none'));
    createPerSec = PODS / ((performance.now() - t) / 1000);
    t = performance.now();
    for (let i = 0; i < PODS; i++) {
      const node = `node-${String(i % NODES).padStart(4, '0')}`;
      c.registry.guaranteedUpdate(
        podsRI,
        'default',
        `pod-${i}`,
        (p) => {
          p.spec.nodeName = node;
          p.status = { ...(p.status ?? {}), conditions: [{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }] };
          return p;
        },
        { subresource: 'binding' },
      );
    }
    bindPerSec = PODS / ((performance.now() - t) / 1000);
    const rec = new RegistryEventRecorder(c.registry, 'bench');
    const pods = c.registry.list(podsRI, 'default').items.slice(0, 2000);
    t = performance.now();
    for (const p of pods) rec.event(p, 'Normal', 'Scheduled', `Successfully assigned default/${p.metadata.name} to ${p.spec.nodeName}`);
    add('baseline: Event writes/s (one Scheduled event per pod)', fmt(pods.length / ((performance.now() - t) / 1000), 0));
  });
  add('baseline: pod creates/s through the registry', fmt(createPerSec, 0));
  add('baseline: round-robin binds/s (pods/binding, no filtering or scoring)', fmt(bindPerSec, 0));

  // ---- backlog: PODS pending pods, then a scheduler starts ----
  await withCluster(async (c) => {
    let t = performance.now();
    for (let i = 0; i < NODES; i++) c.registry.create(nodesRI, undefined, benchNode(i));
    add(`create ${NODES} Node objects`, `${fmt(performance.now() - t, 0)} ms`);
    for (let i = 0; i < PODS; i++) c.registry.create(podsRI, 'default', benchPod(i, 'bench-scheduler'));
    const scheduled: ScheduledEvent[] = [];
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    const s = new Scheduler({
      registry: c.registry,
      informers: c.informers,
      log: silentLogger,
      recorder: new RegistryEventRecorder(c.registry, 'bench-scheduler'),
      scheduledRecorder: () => new RegistryEventRecorder(c.registry, 'bench-scheduler'),
      schedulerName: 'bench-scheduler',
      observer: {
        scheduled: (e) => {
          scheduled.push(e);
          if (scheduled.length === PODS) done();
        },
      },
    });
    const ctl = new AbortController();
    t = performance.now();
    const cpu0 = process.cpuUsage();
    await s.start(ctl.signal);
    await all;
    const secs = (performance.now() - t) / 1000;
    const cpu = process.cpuUsage(cpu0);
    ctl.abort();
    await s.stopped();
    const rate = PODS / secs;
    const cpuSecs = (cpu.user + cpu.system) / 1e6;
    const lat = scheduled.map((e) => e.attemptMs);
    add(`backlog: ${PODS} pods on ${NODES} nodes, pods/s`, fmt(rate, 0), `${fmt(rate / bindPerSec, 2)}× the round-robin bind baseline; goal ≥ 1,000`);
    add('backlog: pods per CPU-second of the process', fmt(PODS / cpuSecs, 0), 'wall-clock figures drop when other processes compete for the CPU');
    add('backlog: scheduling attempt latency p50 (filter+score+bind+event)', `${fmt(percentile(lat, 50), 3)} ms`);
    add('backlog: scheduling attempt latency p99', `${fmt(percentile(lat, 99), 3)} ms`);
    const perNode = new Map<string, number>();
    for (const e of scheduled) perNode.set(e.node, (perNode.get(e.node) ?? 0) + 1);
    const counts = [...perNode.values()];
    add('backlog: pods per node (min / max)', `${Math.min(...counts)} / ${Math.max(...counts)}`, `${perNode.size} nodes used`);
    add('backlog: attempts / unschedulable / errors', `${s.stats.attempts} / ${s.stats.unschedulable} / ${s.stats.errors}`);
  });

  // ---- concurrent: the built-in scheduler while pods are being created ----
  await withCluster(async (c) => {
    for (let i = 0; i < NODES; i++) c.registry.create(nodesRI, undefined, benchNode(i));
    const created = new Map<string, number>();
    const e2e: number[] = [];
    let bound = 0;
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    c.informers.for(podsRI).addHandlers({
      onUpdate: (o, n) => {
        if (!o.spec?.nodeName && n.spec?.nodeName) {
          const t0 = created.get(n.metadata.name!);
          if (t0 !== undefined) e2e.push(performance.now() - t0);
          if (++bound === PODS) done();
        }
      },
    });
    const t = performance.now();
    for (let i = 0; i < PODS; i++) {
      created.set(`pod-${i}`, performance.now());
      c.registry.create(podsRI, 'default', benchPod(i));
      if (i % 100 === 99) await tick();
    }
    await all;
    const secs = (performance.now() - t) / 1000;
    add(`concurrent: create + schedule ${PODS} pods, pods/s`, fmt(PODS / secs, 0), 'creation and scheduling share one thread');
    add('concurrent: create → bound latency p50', `${fmt(percentile(e2e, 50), 1)} ms`);
    add('concurrent: create → bound latency p99', `${fmt(percentile(e2e, 99), 1)} ms`);
  });

  // ---- a 1,000-replica Deployment on simulated (hollow) nodes with kubelets ----
  try {
    await withCluster(
      async (c) => {
        const sim = Math.max(1, Math.ceil(DEPLOY_REPLICAS / 10));
        let t = performance.now();
        for (let i = 1; i <= sim; i++) {
          c.registry.create(nodesRI, undefined, {
            apiVersion: 'v1',
            kind: 'Node',
            metadata: { name: `bench-s${String(i).padStart(4, '0')}`, annotations: { 'minictl.io/managed': 'true', 'minictl.io/simulated': 'true' } },
          });
        }
        await until(() => c.registry.list(nodesRI, undefined).items.filter(nodeReady).length >= sim + 1, 300_000);
        add(`${sim + 1} simulated nodes Ready`, `${fmt(performance.now() - t, 0)} ms`);
        const deploymentsRI = resourceFor('apps', 'deployments')!;
        t = performance.now();
        c.registry.create(deploymentsRI, 'default', {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'bench' },
          spec: {
            replicas: DEPLOY_REPLICAS,
            selector: { matchLabels: { app: 'bench' } },
            template: { metadata: { labels: { app: 'bench' } }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image: 'minictl/busybox:local' }] } },
          },
        });
        const running = () => c.registry.list(podsRI, 'default').items.filter((p) => p.status?.phase === 'Running').length;
        await until(() => running() >= DEPLOY_REPLICAS, 600_000);
        const ms = performance.now() - t;
        await until(() => (c.registry.get(deploymentsRI, 'default', 'bench').status?.availableReplicas ?? 0) >= DEPLOY_REPLICAS, 600_000);
        const available = performance.now() - t;
        add(`${DEPLOY_REPLICAS}-replica Deployment: created → all pods Running`, `${fmt(ms / 1000, 1)} s`, `${sim + 1} simulated nodes, fake runtime`);
        add(`${DEPLOY_REPLICAS}-replica Deployment: created → status.availableReplicas = ${DEPLOY_REPLICAS}`, `${fmt(available / 1000, 1)} s`);
      },
      { nodes: 1, nodeRuntime: 'fake', network: false },
    );
  } catch (e) {
    add(`${DEPLOY_REPLICAS}-replica Deployment on simulated nodes`, 'not measured', (e as Error).message);
  }

  const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[1].length))];
  process.stdout.write(`\n| ${'measure'.padEnd(w[0])} | ${'value'.padEnd(w[1])} | note |\n|${'-'.repeat(w[0] + 2)}|${'-'.repeat(w[1] + 2)}|---|\n`);
  for (const r of rows) process.stdout.write(`| ${r[0].padEnd(w[0])} | ${r[1].padEnd(w[1])} | ${r[2]} |\n`);
  process.stdout.write(`\nmachine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}\n`);
}

main().catch((e) => {
  process.stderr.write(`bench:scheduler failed: ${(e as Error).stack}\n`);
  process.exit(1);
});
