import * as fs from 'node:fs';
import * as os from 'node:os';
import Docker from 'dockerode';
import { cpuSeconds, fmt, percentile, rssMiB, startDaemon } from './common';
import { LABELS } from '../kubelet/runtime/container-runtime';
import { removeProfileResources } from '../kubelet/node-manager';
import { removeServiceProxyRules } from '../network/proxy/iptables-proxier';

/**
 * `npm run bench:pods`: pod start latency against a baseline — a raw dockerode create+start of
 * the same local image on Docker's default bridge — then a burst of 50 pods, then the daemon's
 * CPU and RSS with 60 pods idle.
 *
 * The machine this runs on is shared and its load swings within seconds, so the one-at-a-time
 * figures are taken interleaved: each round measures the baseline, the two raw floors below and
 * one pod through the API, back to back, and the ratios compare medians of the same rounds.
 * - sandbox alone: create+start+inspect of a pause container configured as the kubelet
 *   configures a sandbox (node network, shareable IPC, hostname, cluster DNS);
 * - two-container pod floor: that sandbox plus an app container joining its namespaces, with
 *   the app created while the sandbox starts — the least any kubelet can do with Docker.
 * Pod create → Running is timed from the POST to the watch event that shows phase Running.
 */
const IMAGE = 'minictl/busybox:local';
const BENCH_LABEL = { 'io.minictl.bench': 'true' };
const ROUNDS = 15;

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

async function removeAll(cs: Docker.Container[]): Promise<void> {
  // In order (app containers before their sandbox), one at a time: the engine leaks network
  // endpoints when containers sharing a namespace are removed concurrently under load.
  for (const c of cs) await c.remove({ force: true }).catch(() => undefined);
}

async function baseline(docker: Docker): Promise<number> {
  const t = process.hrtime.bigint();
  const c = await docker.createContainer({ Image: IMAGE, Cmd: ['sleep', '3600'], Labels: BENCH_LABEL, HostConfig: { AutoRemove: false } });
  await c.start();
  const d = ms(t);
  await removeAll([c]);
  return d;
}

interface SandboxShape {
  image: string;
  hostname: string;
  hostConfig: Docker.HostConfig;
  network: string;
}

function sandboxSpec(s: SandboxShape): Docker.ContainerCreateOptions {
  return {
    Image: s.image,
    Hostname: s.hostname,
    Labels: BENCH_LABEL,
    HostConfig: {
      NetworkMode: s.network,
      IpcMode: 'shareable',
      Dns: s.hostConfig.Dns ?? [],
      DnsSearch: s.hostConfig.DnsSearch ?? [],
      DnsOptions: s.hostConfig.DnsOptions ?? [],
      RestartPolicy: { Name: 'no' },
    },
    NetworkingConfig: { EndpointsConfig: { [s.network]: {} } },
  };
}

async function sandboxAlone(docker: Docker, s: SandboxShape): Promise<number> {
  const t = process.hrtime.bigint();
  const sb = await docker.createContainer(sandboxSpec(s));
  await sb.start();
  await sb.inspect();
  const d = ms(t);
  await removeAll([sb]);
  return d;
}

/** A sandbox and an app container joining it, the app created while the sandbox starts; timed, then removed unless `keep`. */
async function podFloor(docker: Docker, s: SandboxShape, keep?: Docker.Container[]): Promise<number> {
  const t = process.hrtime.bigint();
  const sb = await docker.createContainer(sandboxSpec(s));
  const [, app] = await Promise.all([
    sb.start().then(() => sb.inspect()),
    docker.createContainer({ Image: IMAGE, Cmd: ['sleep', '3600'], Labels: BENCH_LABEL, HostConfig: { NetworkMode: `container:${sb.id}`, IpcMode: `container:${sb.id}` } }),
  ]);
  await app.start();
  const d = ms(t);
  if (keep) keep.push(app, sb);
  else await removeAll([app, sb]);
  return d;
}

const podBody = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { bench: 'pods' } },
  spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: IMAGE, imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }] },
});

async function main(): Promise<void> {
  const docker = new Docker();
  await docker.getImage(IMAGE).inspect().catch(() => {
    throw new Error(`image ${IMAGE} is missing: run npm run setup`);
  });
  process.stderr.write('minictl bench:pods\n');
  for (let i = 0; i < 3; i++) await baseline(docker); // warm up
  const profile = `bench-${process.pid}`;
  const d = await startDaemon(undefined, { nodes: 1, runtime: 'docker' });
  try {
    await run(docker, d, profile);
  } finally {
    await d.stop();
    fs.rmSync(d.dir, { recursive: true, force: true });
    await removeServiceProxyRules(profile).catch(() => undefined);
    const r = await removeProfileResources(profile, { docker });
    for (const w of r.warnings) process.stderr.write(`warning: cleanup: ${w}\n`);
  }
}

async function run(docker: Docker, d: Awaited<ReturnType<typeof startDaemon>>, profile: string): Promise<void> {
  const c = d.client;
  const running = new Map<string, bigint>();
  const stopWatch = c.watch(
    '/api/v1/namespaces/default/pods?watch=true&labelSelector=bench%3Dpods',
    (ev) => {
      const name = ev.object?.metadata?.name;
      if (ev.object?.status?.phase === 'Running' && name && !running.has(name)) running.set(name, process.hrtime.bigint());
    },
    () => undefined,
  );
  const waitRunning = async (names: string[], timeoutMs = 120_000) => {
    const t = Date.now();
    while (names.some((n) => !running.has(n))) {
      if (Date.now() - t > timeoutMs) throw new Error(`pods not Running after ${timeoutMs} ms: ${names.filter((n) => !running.has(n)).join(',')}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  const onePod = async (name: string): Promise<number> => {
    const t = process.hrtime.bigint();
    await c.request('POST', '/api/v1/namespaces/default/pods', podBody(name));
    await waitRunning([name]);
    return Number(running.get(name)! - t) / 1e6;
  };

  // A first pod warms the daemon up and shows how the kubelet configures a sandbox.
  await onePod('warm-0');
  const [sb] = await docker.listContainers({ all: true, filters: { label: [`${LABELS.profile}=${profile}`, `${LABELS.podName}=warm-0`, `${LABELS.sandbox}=true`] } });
  if (!sb) throw new Error('no sandbox found for pod warm-0');
  const info = await docker.getContainer(sb.Id).inspect();
  const shape: SandboxShape = { image: info.Config.Image, hostname: 'bench-floor', hostConfig: info.HostConfig, network: String(info.HostConfig.NetworkMode) };

  // One at a time, interleaved.
  const base: number[] = [];
  const alone: number[] = [];
  const floor: number[] = [];
  const single: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    base.push(await baseline(docker));
    alone.push(await sandboxAlone(docker, shape));
    floor.push(await podFloor(docker, shape));
    single.push(await onePod(`single-${i}`));
  }

  // Burst of 50.
  const names = Array.from({ length: 50 }, (_, i) => `burst-${i}`);
  const created = new Map<string, bigint>();
  const t0 = process.hrtime.bigint();
  await Promise.all(
    names.map(async (n) => {
      created.set(n, process.hrtime.bigint());
      await c.request('POST', '/api/v1/namespaces/default/pods', podBody(n));
    }),
  );
  await waitRunning(names);
  const burst = names.map((n) => Number(running.get(n)! - created.get(n)!) / 1e6);
  const burstAll = Number(Math.max(...names.map((n) => Number(running.get(n)!))) - Number(t0)) / 1e6;
  // The same engine work without the kubelet: 50 two-container pods, 4 at a time.
  const rawMade: Docker.Container[] = [];
  const rawBurst = await (async () => {
    const tb = process.hrtime.bigint();
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < names.length) {
          next++;
          await podFloor(docker, shape, rawMade);
        }
      }),
    );
    return ms(tb);
  })();
  await removeAll(rawMade);

  // Idle with 66 pods (warm, single, burst) running.
  await new Promise((r) => setTimeout(r, 3000));
  const cpu0 = cpuSeconds(d.proc.pid!);
  const w = 10;
  await new Promise((r) => setTimeout(r, w * 1000));
  const idleCpu = ((cpuSeconds(d.proc.pid!) - cpu0) / w) * 100;
  const rss = rssMiB(d.proc.pid!);
  stopWatch();
  await c.request('DELETE', '/api/v1/namespaces/default/pods?labelSelector=bench%3Dpods', { gracePeriodSeconds: 0 });
  const tDel = Date.now();
  for (;;) {
    const l = await c.request<{ items: unknown[] }>('GET', '/api/v1/namespaces/default/pods');
    if (!l.items.length || Date.now() - tDel > 60_000) break;
    await new Promise((r) => setTimeout(r, 200));
  }

  const b50 = percentile(base, 50);
  const pair = (xs: number[]) => `${fmt(percentile(xs, 50), 0)} / ${fmt(percentile(xs, 99), 0)} ms`;
  const rows: [string, string, string, string][] = [
    ['baseline: dockerode create+start (default bridge), p50 / p99', pair(base), '1.00', ''],
    ['floor: sandbox alone (node network), create+start+inspect', pair(alone), fmt(percentile(alone, 50) / b50, 2), ''],
    ['floor: sandbox + app container, app created during sandbox start', pair(floor), fmt(percentile(floor, 50) / b50, 2), ''],
    ['pod create → Running (watch), one at a time, p50 / p99', pair(single), fmt(percentile(single, 50) / b50, 2), '≤ 1.3×'],
    ['burst of 50 pods, per pod p50 / p99', pair(burst), fmt(percentile(burst, 50) / b50, 2), ''],
    ['burst of 50 pods, all Running after', `${fmt(burstAll, 0)} ms`, fmt(burstAll / (b50 * 50), 2) + ' (vs 50 sequential baselines)', ''],
    ['raw floor for the burst: 50 sandbox+app pairs, 4 at a time', `${fmt(rawBurst, 0)} ms`, fmt(rawBurst / (b50 * 50), 2), ''],
    ['daemon CPU with 66 pods idle', `${fmt(idleCpu, 2)} % of a core`, '', '< 2 %'],
    ['daemon RSS with 66 pods idle', `${fmt(rss, 1)} MiB`, '', ''],
  ];
  process.stdout.write(`\n| measure | value | ratio to baseline | goal |\n|---|---|---|---|\n`);
  for (const r of rows) process.stdout.write(`| ${r.join(' | ')} |\n`);
  process.stdout.write(`\nmachine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
}

main().catch((e) => {
  process.stderr.write(`bench:pods failed: ${(e as Error).stack}\n`);
  process.exit(1);
});
