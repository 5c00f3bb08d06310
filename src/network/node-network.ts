/**
 * Node networks: every simulated node is a Docker bridge network
 * `minictl-<profile>-<node>` with its own pod subnet (node i → `<base a.b>.i.0/24`,
 * default base 10.244.0.0/16), labelled `io.minictl.profile` / `io.minictl.node`.
 *
 * Cross-node pod traffic: Docker drops forwarding between two bridge networks (its
 * isolation chains) and masquerades traffic leaving a bridge. Two host rules, both tagged
 * `-m comment --comment minictl:<profile>`, make pod ↔ pod traffic across nodes work
 * without NAT, as Kubernetes requires:
 *   filter DOCKER-USER: `-s <base> -d <base> -j ACCEPT` (DOCKER-USER runs before isolation)
 *   nat POSTROUTING:    `-s <base> -d <base> -j RETURN` (kept ahead of Docker's MASQUERADE)
 * Docker inserts its MASQUERADE rule at the top of POSTROUTING whenever a network is
 * created, so call `ensureCrossNodeTraffic` after the profile's networks exist (it moves its
 * rule back in front; calling it again is cheap and idempotent).
 * Where the rules cannot be installed (no iptables, not root, a remote or Desktop engine whose
 * netfilter is not this host's, dockerd run with --iptables=false) the functions return a
 * `degraded` status with the reason instead of throwing: pods still work, only cross-node pod
 * traffic does not.
 *
 * Node failure simulation: `partitionNode` disconnects every running container of the node
 * from its network (pods keep running but become unreachable, like a network partition) and
 * returns what it did; `healNode` reconnects them with their previous IPs. Stopping a node
 * outright is the kubelet's business (stop its kubelet and its containers).
 *
 * Concurrency: functions may run concurrently for different nodes; concurrent
 * `ensureNodeNetwork` calls for the same node converge on one network.
 */
import { execFile } from 'node:child_process';
import type Docker from 'dockerode';
import { RuntimeError } from '../util/errors';

export const NETWORK_LABELS = {
  profile: 'io.minictl.profile',
  node: 'io.minictl.node',
} as const;

export const DEFAULT_POD_CIDR = '10.244.0.0/16';

export interface NodeNetwork {
  name: string;
  id: string;
  node: string;
  /** e.g. `10.244.1.0/24` */
  subnet: string;
  /** e.g. `10.244.1.1` (the host side of the bridge) */
  gateway: string;
}

export interface EnsureNodeNetworkOptions {
  docker: Docker;
  profile: string;
  node: string;
  /** Node index i → subnet `<base>.i.0/24`. Ignored when `subnet` is given. */
  index?: number;
  /** Explicit subnet (a /24 or any CIDR inside the profile's range). */
  subnet?: string;
  /** The profile's pod range, a /16; default 10.244.0.0/16. */
  baseCidr?: string;
}

export function nodeNetworkName(profile: string, node: string): string {
  return `minictl-${profile}-${node}`;
}

/** Pod subnet of node `index` inside the /16 `baseCidr`: `a.b.<index>.0/24`. */
export function podSubnet(index: number, baseCidr = DEFAULT_POD_CIDR): string {
  const [a, b] = parseCidr16(baseCidr);
  if (!Number.isInteger(index) || index < 0 || index > 255) {
    throw new RangeError(`node index ${index} out of range 0..255`);
  }
  return `${a}.${b}.${index}.0/24`;
}

/** The first host address of a subnet, used as the bridge gateway. */
export function gatewayOf(subnet: string): string {
  const [addr] = subnet.split('/');
  const p = addr.split('.').map(Number);
  return `${p[0]}.${p[1]}.${p[2]}.${p[3] + 1}`;
}

function parseCidr16(cidr: string): [number, number] {
  const m = /^(\d+)\.(\d+)\.0\.0\/16$/.exec(cidr);
  if (!m || Number(m[1]) > 255 || Number(m[2]) > 255) {
    throw new RangeError(`pod range must be an a.b.0.0/16 CIDR, got "${cidr}"`);
  }
  return [Number(m[1]), Number(m[2])];
}

function dockerMessage(err: unknown): string {
  const e = err as { json?: { message?: string }; reason?: string; message?: string };
  return (e?.json?.message ?? e?.message ?? String(err)).trim();
}

function statusCode(err: unknown): number | undefined {
  return (err as { statusCode?: number })?.statusCode;
}

/**
 * Create the node's network if missing and return it. An existing network of that name must
 * carry this profile's labels and the expected subnet, otherwise this rejects with a
 * `RuntimeError` (it never adopts or changes a foreign network).
 */
export async function ensureNodeNetwork(opts: EnsureNodeNetworkOptions): Promise<NodeNetwork> {
  const { docker, profile, node } = opts;
  const name = nodeNetworkName(profile, node);
  const subnet = opts.subnet ?? podSubnet(opts.index ?? 0, opts.baseCidr ?? DEFAULT_POD_CIDR);
  const existing = await inspectNetwork(docker, name);
  if (existing) return checkExisting(existing, profile, node, subnet);
  try {
    await docker.createNetwork({
      Name: name,
      Driver: 'bridge',
      CheckDuplicate: true,
      IPAM: { Driver: 'default', Config: [{ Subnet: subnet, Gateway: gatewayOf(subnet) }] },
      Labels: { [NETWORK_LABELS.profile]: profile, [NETWORK_LABELS.node]: node },
    });
  } catch (err) {
    // 409: a concurrent caller created it first; fall through to the check below.
    if (statusCode(err) !== 409) {
      throw new RuntimeError(`creating network ${name} (${subnet}): ${dockerMessage(err)}`, dockerMessage(err));
    }
  }
  const created = await inspectNetwork(docker, name);
  if (!created) throw new RuntimeError(`network ${name} vanished right after creation`);
  return checkExisting(created, profile, node, subnet);
}

interface NetworkInspect {
  Id: string;
  Name: string;
  Labels?: Record<string, string> | null;
  IPAM?: { Config?: Array<{ Subnet?: string; Gateway?: string }> | null };
  Containers?: Record<string, { Name?: string; IPv4Address?: string }> | null;
}

async function inspectNetwork(docker: Docker, name: string): Promise<NetworkInspect | undefined> {
  try {
    return (await docker.getNetwork(name).inspect()) as NetworkInspect;
  } catch (err) {
    if (statusCode(err) === 404) return undefined;
    throw new RuntimeError(`inspecting network ${name}: ${dockerMessage(err)}`, dockerMessage(err));
  }
}

function toNodeNetwork(n: NetworkInspect): NodeNetwork {
  const cfg = n.IPAM?.Config?.[0] ?? {};
  const subnet = cfg.Subnet ?? '';
  return {
    name: n.Name,
    id: n.Id,
    node: n.Labels?.[NETWORK_LABELS.node] ?? '',
    subnet,
    gateway: cfg.Gateway ?? (subnet ? gatewayOf(subnet) : ''),
  };
}

function checkExisting(n: NetworkInspect, profile: string, node: string, subnet: string): NodeNetwork {
  const labels = n.Labels ?? {};
  if (labels[NETWORK_LABELS.profile] !== profile || labels[NETWORK_LABELS.node] !== node) {
    throw new RuntimeError(`network ${n.Name} exists but does not belong to profile ${profile} node ${node}`);
  }
  const net = toNodeNetwork(n);
  if (net.subnet !== subnet) {
    throw new RuntimeError(
      `network ${n.Name} exists with subnet ${net.subnet}, expected ${subnet}; remove it (minictl delete) to change the pod range`,
    );
  }
  return net;
}

/**
 * Remove the node's network, first force-disconnecting any endpoint still attached (the
 * kubelet should have removed its containers already). Missing network: success.
 */
export async function removeNodeNetwork(docker: Docker, profile: string, node: string): Promise<void> {
  const name = nodeNetworkName(profile, node);
  const n = await inspectNetwork(docker, name);
  if (!n) return;
  const network = docker.getNetwork(n.Id);
  for (const containerId of Object.keys(n.Containers ?? {})) {
    try {
      await network.disconnect({ Container: containerId, Force: true });
    } catch (err) {
      if (statusCode(err) !== 404) {
        throw new RuntimeError(`disconnecting ${containerId} from ${name}: ${dockerMessage(err)}`, dockerMessage(err));
      }
    }
  }
  try {
    await network.remove();
  } catch (err) {
    if (statusCode(err) !== 404) {
      throw new RuntimeError(`removing network ${name}: ${dockerMessage(err)}`, dockerMessage(err));
    }
  }
}

/** All node networks of a profile, sorted by name. */
export async function listProfileNetworks(docker: Docker, profile: string): Promise<NodeNetwork[]> {
  let list: NetworkInspect[];
  try {
    list = (await docker.listNetworks({
      filters: { label: [`${NETWORK_LABELS.profile}=${profile}`] },
    })) as unknown as NetworkInspect[];
  } catch (err) {
    throw new RuntimeError(`listing networks of profile ${profile}: ${dockerMessage(err)}`, dockerMessage(err));
  }
  return list.map(toNodeNetwork).sort((a, b) => a.name.localeCompare(b.name));
}

// ---------------------------------------------------------------------------------------
// Cross-node traffic (host iptables)

/** Runs `iptables <args>`; resolves with the exit code and output (never rejects on exit≠0). */
export type IptablesRunner = (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

export interface CrossNodeTrafficOptions {
  profile: string;
  /** The profile's pod range; default 10.244.0.0/16. */
  podCidr?: string;
  /** Used to detect engines whose netfilter is not this host's (remote, Docker Desktop). */
  docker?: Docker;
  /** Injectable for tests; default runs the `iptables` binary with `-w`. */
  iptables?: IptablesRunner;
}

export type CrossNodeTrafficStatus =
  | { status: 'ok'; rules: string[] }
  | { status: 'degraded'; reason: string; rules: string[] };

export const defaultIptables: IptablesRunner = (args) =>
  new Promise((resolve) => {
    execFile('iptables', ['-w', ...args], { timeout: 15_000 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
      if (e && e.code === 'ENOENT') {
        resolve({ code: 127, stdout: '', stderr: 'iptables: command not found' });
        return;
      }
      const code = e ? (typeof e.code === 'number' ? e.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });

function ruleSpecs(profile: string, cidr: string): { table: string; chain: string; spec: string[] }[] {
  const comment = ['-m', 'comment', '--comment', `minictl:${profile}`];
  return [
    { table: 'filter', chain: 'DOCKER-USER', spec: ['-s', cidr, '-d', cidr, ...comment, '-j', 'ACCEPT'] },
    { table: 'nat', chain: 'POSTROUTING', spec: ['-s', cidr, '-d', cidr, ...comment, '-j', 'RETURN'] },
  ];
}

function describe(r: { table: string; chain: string; spec: string[] }): string {
  return `-t ${r.table} ${r.chain} ${r.spec.join(' ')}`;
}

/** Why host iptables cannot affect this engine, or undefined when it can. */
async function engineNotLocal(docker: Docker | undefined): Promise<string | undefined> {
  const host = process.env.DOCKER_HOST;
  if (host && !host.startsWith('unix://')) return `the Docker engine is remote (DOCKER_HOST=${host})`;
  if (!docker) return undefined;
  try {
    const info = (await docker.info()) as { OperatingSystem?: string };
    if (/docker desktop/i.test(info.OperatingSystem ?? '')) {
      return 'the Docker engine runs inside Docker Desktop\'s VM, not on this host';
    }
  } catch {
    // An unreachable engine is reported by whoever uses it; keep going.
  }
  return undefined;
}

function explainFailure(res: { code: number; stderr: string }): string {
  const msg = res.stderr.trim();
  if (res.code === 127) return 'iptables is not installed';
  if (/permission denied|you must be root/i.test(msg)) return `iptables not permitted (run as root): ${msg}`;
  if (/no chain|doesn't exist|does not exist/i.test(msg)) {
    return `chain missing (is dockerd running with --iptables=false?): ${msg}`;
  }
  return msg || `iptables exited with ${res.code}`;
}

/**
 * Install (idempotently) the profile's cross-node rules; see the module comment.
 * Never throws for environmental problems: returns `degraded` with the reason instead.
 */
export async function ensureCrossNodeTraffic(opts: CrossNodeTrafficOptions): Promise<CrossNodeTrafficStatus> {
  const cidr = opts.podCidr ?? DEFAULT_POD_CIDR;
  const rules = ruleSpecs(opts.profile, cidr);
  const described = rules.map(describe);
  const notLocal = await engineNotLocal(opts.docker);
  if (notLocal) return { status: 'degraded', reason: notLocal, rules: [] };
  const run = opts.iptables ?? defaultIptables;

  // filter/DOCKER-USER: position does not matter (Docker leaves this chain to users).
  const [accept, ret] = rules;
  const check = await run(['-t', accept.table, '-C', accept.chain, ...accept.spec]);
  if (check.code !== 0) {
    const ins = await run(['-t', accept.table, '-I', accept.chain, ...accept.spec]);
    if (ins.code !== 0) return { status: 'degraded', reason: explainFailure(ins), rules: [] };
  }

  // nat/POSTROUTING: must precede every MASQUERADE rule Docker has inserted.
  const listing = await run(['-t', ret.table, '-S', ret.chain]);
  if (listing.code !== 0) return { status: 'degraded', reason: explainFailure(listing), rules: [described[0]] };
  const lines = listing.stdout.split('\n').filter((l) => l.startsWith(`-A ${ret.chain} `));
  const tag = `minictl:${opts.profile}`;
  const ours = (l: string): boolean => hasComment(l, tag) && l.includes('-j RETURN');
  const firstOurs = lines.findIndex(ours);
  const firstMasq = lines.findIndex((l) => l.includes('-j MASQUERADE'));
  if (firstOurs < 0 || (firstMasq >= 0 && firstMasq < firstOurs)) {
    // Remove every copy (whatever range it was made for), then put one at the top.
    for (const line of lines.filter(ours)) {
      await run(['-t', ret.table, '-D', ...splitRule(line).slice(1)]);
    }
    const ins = await run(['-t', ret.table, '-I', ret.chain, '1', ...ret.spec]);
    if (ins.code !== 0) return { status: 'degraded', reason: explainFailure(ins), rules: [described[0]] };
  }
  return { status: 'ok', rules: described };
}

/**
 * Remove every rule tagged `minictl:<profile>` from filter/DOCKER-USER and nat/POSTROUTING
 * (whatever pod range it was installed with). Never throws; returns `degraded` when
 * iptables cannot be used, listing the rules it removed.
 */
export async function removeCrossNodeTraffic(
  opts: Omit<CrossNodeTrafficOptions, 'podCidr'>,
): Promise<CrossNodeTrafficStatus> {
  const run = opts.iptables ?? defaultIptables;
  const removed: string[] = [];
  const tag = `minictl:${opts.profile}`;
  for (const [table, chain] of [
    ['filter', 'DOCKER-USER'],
    ['nat', 'POSTROUTING'],
  ] as const) {
    const listing = await run(['-t', table, '-S', chain]);
    if (listing.code !== 0) {
      if (/no chain|doesn't exist|does not exist/i.test(listing.stderr)) continue;
      return { status: 'degraded', reason: explainFailure(listing), rules: removed };
    }
    for (const line of listing.stdout.split('\n')) {
      if (!line.startsWith(`-A ${chain} `)) continue;
      if (!hasComment(line, tag)) continue;
      const args = splitRule(line);
      const del = await run(['-t', table, '-D', ...args.slice(1)]);
      if (del.code !== 0) return { status: 'degraded', reason: explainFailure(del), rules: removed };
      removed.push(`-t ${table} ${args.slice(1).join(' ')}`);
    }
  }
  return { status: 'ok', rules: removed };
}

/** Whether an `iptables -S` line carries exactly this comment (`minictl:p` ≠ `minictl:p2`). */
function hasComment(line: string, tag: string): boolean {
  const args = splitRule(line);
  const i = args.indexOf('--comment');
  return i >= 0 && args[i + 1] === tag;
}

/** Split an `iptables -S` line into argv, honouring double quotes. */
function splitRule(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]);
  return out;
}

// ---------------------------------------------------------------------------------------
// Partition simulation

export interface PartitionRecord {
  containerId: string;
  /** The IPv4 address the container had on the node network. */
  ip: string;
}

/**
 * Cut the node off: disconnect every container attached to the node's network. Containers
 * sharing a sandbox's namespace go with it. Returns what was disconnected, for `healNode`.
 */
export async function partitionNode(docker: Docker, profile: string, node: string): Promise<PartitionRecord[]> {
  const name = nodeNetworkName(profile, node);
  const n = await inspectNetwork(docker, name);
  if (!n) throw new RuntimeError(`network ${name} not found`);
  const network = docker.getNetwork(n.Id);
  const records: PartitionRecord[] = [];
  for (const [containerId, ep] of Object.entries(n.Containers ?? {})) {
    const ip = (ep.IPv4Address ?? '').split('/')[0];
    try {
      await network.disconnect({ Container: containerId, Force: true });
      records.push({ containerId, ip });
    } catch (err) {
      if (statusCode(err) !== 404) {
        throw new RuntimeError(`disconnecting ${containerId} from ${name}: ${dockerMessage(err)}`, dockerMessage(err));
      }
    }
  }
  return records;
}

/**
 * Undo `partitionNode`: reconnect each recorded container with its previous IP. Containers
 * that have been removed meanwhile are skipped; one already connected is left alone.
 */
export async function healNode(docker: Docker, profile: string, node: string, records: PartitionRecord[]): Promise<void> {
  const name = nodeNetworkName(profile, node);
  const network = docker.getNetwork(name);
  for (const r of records) {
    try {
      await network.connect({
        Container: r.containerId,
        EndpointConfig: r.ip ? { IPAMConfig: { IPv4Address: r.ip } } : {},
      });
    } catch (err) {
      const code = statusCode(err);
      const msg = dockerMessage(err);
      if (code === 404 && /no such container/i.test(msg)) continue;
      if (/already exists|already attached/i.test(msg)) continue;
      throw new RuntimeError(`reconnecting ${r.containerId} to ${name}: ${msg}`, msg);
    }
  }
}
