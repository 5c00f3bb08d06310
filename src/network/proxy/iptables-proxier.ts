/**
 * The iptables service proxy: keeps the kernel rules of iptables-rules.ts equal to the Services
 * and EndpointSlices in the informer caches.
 *
 * Contracts:
 * - `start()` checks that iptables works (root, the nat table, Docker's DOCKER-USER chain), removes
 *   leftovers of an earlier run of the profile, installs the rules and the jumps from the built-in
 *   chains, and resolves with the status: `ok`, or `degraded` with the reason (then nothing is
 *   installed and ClusterIPs are unreachable from pods; nothing throws).
 * - `requestSync()` (called on every Service, EndpointSlice or Node change) schedules a rewrite of
 *   all the profile's chains in one `iptables-restore --noflush` transaction. Requests arriving
 *   during a sync coalesce into one more sync, so a change is in the kernel within a few tens of
 *   milliseconds of reaching the informer. An unchanged rule set is not rewritten.
 * - Every `resyncMs` the jumps are re-checked: the POSTROUTING jump must stay ahead of the
 *   node network's RETURN rule (which the node manager re-inserts at the top when Docker adds
 *   networks) for hairpin masquerading to work.
 * - `stop()` removes the jumps and deletes the chains. `removeServiceProxyRules(profile)` does the
 *   same without a running proxier (`minictl delete`).
 */
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import type { KObject } from '../../api/types';
import type { Informer } from '../../client/informer';
import type { Clock } from '../../controller/workqueue';
import { realClock } from '../../controller/workqueue';
import type { Logger } from '../../util/log';
import { silentLogger } from '../../util/log';
import { defaultIptables, type IptablesRunner } from '../node-network';
import { usableEndpoints, type EndpointsView } from './endpoints-view';
import { baseChains, buildRuleSet, chainPrefix, supportedProtocol, teardownText, type ProxyServicePort } from './iptables-rules';

export type IptablesRestoreRunner = (input: string) => Promise<{ code: number; stdout: string; stderr: string }>;

export const defaultIptablesRestore: IptablesRestoreRunner = (input) =>
  new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let p;
    try {
      p = spawn('iptables-restore', ['-w', '--noflush'], { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      resolve({ code: 127, stdout: '', stderr: String(e) });
      return;
    }
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ code: e.code === 'ENOENT' ? 127 : 1, stdout, stderr: stderr || String(e) });
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
    p.stdin.on('error', () => undefined);
    p.stdin.end(input);
  });

export type ProxyStatus = { status: 'ok' } | { status: 'degraded'; reason: string };

export interface IptablesProxierOptions {
  profile: string;
  serviceCidr: string;
  services: Informer;
  nodes: Informer;
  endpoints: EndpointsView;
  iptables?: IptablesRunner;
  iptablesRestore?: IptablesRestoreRunner;
  log?: Logger;
  clock?: Clock;
  /** jump re-check period (default 10 s) */
  resyncMs?: number;
  /** this host's IPv4 addresses (default: from os.networkInterfaces) */
  localAddresses?: () => string[];
}

function localIPv4s(): string[] {
  const out: string[] = [];
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4') out.push(a.address);
  return out;
}

function explain(res: { code: number; stderr: string }): string {
  const msg = res.stderr.trim();
  if (res.code === 127) return 'iptables is not installed';
  if (/permission denied|you must be root|operation not permitted/i.test(msg)) return `iptables not permitted (run the daemon as root): ${msg.split('\n')[0]}`;
  return msg.split('\n')[0] || `iptables exited with ${res.code}`;
}

/** Service ports the proxy programs: ClusterIP Services (incl. NodePort/LoadBalancer) with an IP. */
export function proxyServicePorts(services: KObject[], endpoints: EndpointsView, isLocal: (ip: string) => boolean = () => false): ProxyServicePort[] {
  const out: ProxyServicePort[] = [];
  for (const svc of services) {
    const spec = svc.spec ?? {};
    const ip = spec.clusterIP;
    if (svc.metadata.deletionTimestamp || spec.type === 'ExternalName' || typeof ip !== 'string' || !ip || ip === 'None') continue;
    const ns = svc.metadata.namespace!;
    const name = svc.metadata.name!;
    const affinity = spec.sessionAffinity === 'ClientIP' ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800) : undefined;
    for (const p of (spec.ports ?? []) as { name?: string; port: number; protocol?: string; nodePort?: number }[]) {
      const protocol = p.protocol ?? 'TCP';
      if (!supportedProtocol(protocol)) continue;
      const eps = usableEndpoints(endpoints.endpointsFor(ns, name, p.name ?? '', protocol));
      out.push({
        id: `${ns}/${name}:${p.name ?? ''}/${protocol}`,
        clusterIP: ip,
        port: p.port,
        protocol,
        nodePort: spec.type === 'NodePort' || spec.type === 'LoadBalancer' ? p.nodePort : undefined,
        affinitySeconds: affinity,
        endpoints: eps.map((e) => (isLocal(e.ip) ? { ip: e.ip, port: e.port, local: true } : { ip: e.ip, port: e.port })),
      });
    }
  }
  return out;
}

/** Chains of the profile present in a table (from `iptables -t <table> -S`). */
async function listChains(run: IptablesRunner, table: string, prefix: string): Promise<string[] | undefined> {
  const r = await run(['-t', table, '-S']);
  if (r.code !== 0) return undefined;
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith(`-N ${prefix}`))
    .map((l) => l.slice(3).trim());
}

function splitRule(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]);
  return out;
}

/** Deletes every rule of a built-in chain that jumps to one of the profile's chains. */
async function removeJumps(run: IptablesRunner, table: string, chain: string, prefix: string): Promise<string[]> {
  const r = await run(['-t', table, '-S', chain]);
  if (r.code !== 0) return [];
  const removed: string[] = [];
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith(`-A ${chain} `)) continue;
    const args = splitRule(line);
    const j = args.indexOf('-j');
    if (j < 0 || !args[j + 1]?.startsWith(prefix)) continue;
    const del = await run(['-t', table, '-D', ...args.slice(1)]);
    if (del.code === 0) removed.push(`-t ${table} ${args.slice(1).join(' ')}`);
  }
  return removed;
}

const JUMP_POINTS: [string, string][] = [
  ['nat', 'PREROUTING'],
  ['nat', 'POSTROUTING'],
  ['filter', 'DOCKER-USER'],
  ['filter', 'FORWARD'],
];

/**
 * Removes the profile's service-proxy rules and chains from the host. Never throws; returns what
 * was removed (for `minictl delete`).
 */
export async function removeServiceProxyRules(profile: string, opts: { iptables?: IptablesRunner; iptablesRestore?: IptablesRestoreRunner } = {}): Promise<string[]> {
  const run = opts.iptables ?? defaultIptables;
  const restore = opts.iptablesRestore ?? defaultIptablesRestore;
  const prefix = chainPrefix(profile);
  const removed: string[] = [];
  try {
    for (const [t, ch] of JUMP_POINTS) removed.push(...(await removeJumps(run, t, ch, prefix)));
    const nat = (await listChains(run, 'nat', prefix)) ?? [];
    const filter = (await listChains(run, 'filter', prefix)) ?? [];
    if (nat.length || filter.length) {
      const r = await restore(teardownText({ nat, filter }));
      if (r.code === 0) removed.push(...nat.map((c) => `-t nat -X ${c}`), ...filter.map((c) => `-t filter -X ${c}`));
    }
  } catch {
    /* best effort */
  }
  return removed;
}

export class IptablesProxier {
  private readonly run: IptablesRunner;
  private readonly restore: IptablesRestoreRunner;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly prefix: string;
  private readonly chains: ReturnType<typeof baseChains>;
  private existing = { nat: [] as string[], filter: [] as string[] };
  private lastText = '';
  private syncing = false;
  private dirty = false;
  private scheduled: unknown;
  private resyncTimer: unknown;
  private stopped = false;
  private forwardChain = 'DOCKER-USER';
  private idle: Promise<void> = Promise.resolve();
  status: ProxyStatus = { status: 'degraded', reason: 'not started' };
  /** completed syncs and the duration of the last one (status, tests) */
  syncs = 0;
  lastSyncMs = 0;

  constructor(private readonly opts: IptablesProxierOptions) {
    this.run = opts.iptables ?? defaultIptables;
    this.restore = opts.iptablesRestore ?? defaultIptablesRestore;
    this.log = opts.log ?? silentLogger;
    this.clock = opts.clock ?? realClock;
    this.prefix = chainPrefix(opts.profile);
    this.chains = baseChains(opts.profile);
  }

  async start(): Promise<ProxyStatus> {
    const probe = await this.run(['-t', 'nat', '-S', 'PREROUTING']);
    if (probe.code !== 0) {
      this.status = { status: 'degraded', reason: explain(probe) };
      return this.status;
    }
    const du = await this.run(['-t', 'filter', '-S', 'DOCKER-USER']);
    if (du.code !== 0) this.forwardChain = 'FORWARD';
    // Leftovers of a previous run (crash, kill -9): start from a clean slate.
    await removeServiceProxyRules(this.opts.profile, { iptables: this.run, iptablesRestore: this.restore });
    this.existing = { nat: [], filter: [] };
    this.lastText = '';
    const first = await this.syncOnce();
    if (!first.ok) {
      this.status = { status: 'degraded', reason: first.reason };
      await removeServiceProxyRules(this.opts.profile, { iptables: this.run, iptablesRestore: this.restore });
      return this.status;
    }
    const jumps = await this.ensureJumps();
    if (jumps) {
      this.status = { status: 'degraded', reason: jumps };
      await removeServiceProxyRules(this.opts.profile, { iptables: this.run, iptablesRestore: this.restore });
      return this.status;
    }
    this.status = { status: 'ok' };
    this.scheduleResync();
    return this.status;
  }

  /** Asks for a sync soon; bursts of requests coalesce. */
  requestSync(): void {
    if (this.stopped || this.status.status !== 'ok') return;
    if (this.syncing) {
      this.dirty = true;
      return;
    }
    if (this.scheduled !== undefined) return;
    this.scheduled = this.clock.setTimeout(() => {
      this.scheduled = undefined;
      this.idle = this.loop();
    }, 5);
  }

  /** Resolves once no sync is running or scheduled (tests). */
  async settled(): Promise<void> {
    for (;;) {
      await this.idle;
      if (!this.syncing && !this.dirty && this.scheduled === undefined) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  private async loop(): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    try {
      do {
        this.dirty = false;
        const r = await this.syncOnce();
        if (!r.ok) this.log.warn('service proxy sync failed', { reason: r.reason });
      } while (this.dirty && !this.stopped);
    } finally {
      this.syncing = false;
    }
  }

  private podCidrs(): string[] {
    const out: string[] = [];
    for (const n of this.opts.nodes.list()) {
      for (const c of [n.spec?.podCIDR, ...(n.spec?.podCIDRs ?? [])]) if (typeof c === 'string' && /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(c)) out.push(c);
    }
    return [...new Set(out)];
  }

  private async syncOnce(): Promise<{ ok: true } | { ok: false; reason: string }> {
    if (this.stopped) return { ok: true };
    const t0 = Date.now();
    const local = new Set(this.opts.localAddresses?.() ?? localIPv4s());
    const ports = proxyServicePorts(this.opts.services.list(), this.opts.endpoints, (ip) => local.has(ip));
    const rs = buildRuleSet({ profile: this.opts.profile, podCidrs: this.podCidrs(), serviceCidr: this.opts.serviceCidr, ports, existing: this.existing });
    if (rs.text === this.lastText) return { ok: true };
    const r = await this.restore(rs.text);
    if (r.code !== 0) {
      this.lastText = '';
      // Re-read what exists so the next attempt declares (and can delete) every chain.
      this.existing = { nat: (await listChains(this.run, 'nat', this.prefix)) ?? [], filter: (await listChains(this.run, 'filter', this.prefix)) ?? [] };
      return { ok: false, reason: explain(r) };
    }
    this.lastText = rs.text;
    this.existing = rs.chains;
    this.syncs++;
    this.lastSyncMs = Date.now() - t0;
    this.log.v(2, 'service proxy synced', { ports: ports.length, ms: this.lastSyncMs });
    return { ok: true };
  }

  /**
   * Installs or repairs the jumps from the built-in chains; returns an error text or undefined.
   * A jump is fine anywhere ahead of the rules that would skip it: in POSTROUTING the profile's
   * node-network RETURN, in DOCKER-USER/FORWARD any RETURN or verdict; a misplaced jump is re-inserted
   * at the top before the old one is deleted, so there is no moment without it.
   */
  private async ensureJumps(): Promise<string | undefined> {
    const tag = ['-m', 'comment', '--comment', `minictl:${this.opts.profile}`];
    const returns = (l: string) => splitRule(l).slice(-2).join(' ') === '-j RETURN';
    const want: [string, string, string, (l: string) => boolean][] = [
      ['nat', 'PREROUTING', this.chains.pre, () => false],
      // only our own node network's RETURN matters (another profile's matches other pod ranges)
      ['nat', 'POSTROUTING', this.chains.post, (l) => returns(l) && splitRule(l).includes(`minictl:${this.opts.profile}`)],
      ['filter', this.forwardChain, this.chains.fwd, (l) => returns(l) || /-j (ACCEPT|DROP|REJECT)$/.test(l.trim())],
    ];
    for (const [table, chain, target, mustPrecede] of want) {
      const list = await this.run(['-t', table, '-S', chain]);
      if (list.code !== 0) return explain(list);
      const lines = list.stdout.split('\n').filter((l) => l.startsWith(`-A ${chain} `));
      const isOurs = (l: string) => {
        const a = splitRule(l);
        return a[a.indexOf('-j') + 1] === target;
      };
      const idx = lines.findIndex(isOurs);
      const bad = lines.findIndex((l) => !isOurs(l) && mustPrecede(l));
      if (idx >= 0 && (bad < 0 || idx < bad)) continue;
      const ins = await this.run(['-t', table, '-I', chain, '1', ...tag, '-j', target]);
      if (ins.code !== 0) return explain(ins);
      if (idx >= 0) await this.run(['-t', table, '-D', chain, String(idx + 2)]);
    }
    return undefined;
  }

  private scheduleResync(): void {
    if (this.stopped) return;
    this.resyncTimer = this.clock.setTimeout(async () => {
      this.resyncTimer = undefined;
      try {
        const err = await this.ensureJumps();
        if (err) this.log.warn('service proxy jumps could not be repaired', { reason: err });
        // Local addresses may have changed (node networks come and go): recompute; an unchanged
        // rule set is not rewritten.
        this.requestSync();
      } finally {
        this.scheduleResync();
      }
    }, this.opts.resyncMs ?? 10_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.scheduled !== undefined) this.clock.clearTimeout(this.scheduled);
    if (this.resyncTimer !== undefined) this.clock.clearTimeout(this.resyncTimer);
    this.scheduled = undefined;
    this.resyncTimer = undefined;
    await this.idle.catch(() => undefined);
    if (this.status.status === 'ok') await removeServiceProxyRules(this.opts.profile, { iptables: this.run, iptablesRestore: this.restore });
    this.status = { status: 'degraded', reason: 'stopped' };
  }
}
