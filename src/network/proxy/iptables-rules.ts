/**
 * The service proxy's kernel rules, as `iptables-restore --noflush` input. Pure.
 *
 * Layout (chains named `MC-<6 hex of the profile>-…`, every rule commented `minictl:<profile>`):
 *
 *   nat PREROUTING  → MC-h-PRE   (one jump, inserted by the proxier)
 *   MC-h-PRE   -s <pod range> -d <service range>            → MC-h-SVC
 *              -s <pod range> -m addrtype --dst-type LOCAL  → MC-h-NP    (nodePorts on node IPs)
 *   MC-h-SVC   -d <clusterIP> -p <proto> --dport <port>     → MC-h-S-<id> (a Service port)
 *   MC-h-NP    -p <proto> --dport <nodePort>                → MC-h-S-<id>
 *   MC-h-S-…   [ClientIP affinity: -m recent --rcheck per endpoint] then
 *              -m statistic --mode random --probability 1/n … → MC-h-E-<id> (one per endpoint)
 *   MC-h-E-…   -s <endpoint> → MARK 0x2000 (hairpin), [-m recent --set] DNAT → ip:port
 *              (REDIRECT → port for endpoints on this host, see ProxyEndpoint.local)
 *   nat POSTROUTING → MC-h-POST: marked packets → MASQUERADE (a pod reaching itself via its Service)
 *   filter DOCKER-USER → MC-h-FWD: -s <pod range> -d <service range> → MC-h-REJ:
 *              Service ports without endpoints → REJECT (connection refused at once, not a timeout)
 *
 * Only traffic from the profile's own pod ranges is matched, so several profiles (each with its
 * own pod range, all using the same service range) coexist on one host.
 */
import { createHash } from 'node:crypto';

export const HAIRPIN_MARK = '0x2000';

export interface ProxyEndpoint {
  ip: string;
  port: number;
  /**
   * An address of this host (the daemon's own listeners: cluster DNS, the API relay). Such
   * endpoints get REDIRECT (to the address of the interface the packet came in on) instead of
   * DNAT: a UDP server bound to 0.0.0.0 answers from the address routing picks towards the
   * client, which is that interface's, so conntrack can match the reply.
   */
  local?: boolean;
}

export interface ProxyServicePort {
  /** stable identity, e.g. `default/web:http/TCP` */
  id: string;
  clusterIP: string;
  port: number;
  protocol: string;
  nodePort?: number;
  /** ClientIP session affinity timeout, when enabled */
  affinitySeconds?: number;
  endpoints: ProxyEndpoint[];
}

export interface RuleSetInput {
  profile: string;
  podCidrs: string[];
  serviceCidr: string;
  ports: ProxyServicePort[];
  /** chains of this profile that exist now (from `iptables -S`); those not wanted any more are deleted */
  existing?: { nat: string[]; filter: string[] };
}

export interface RuleSet {
  /** `iptables-restore --noflush` input (both tables) */
  text: string;
  chains: { nat: string[]; filter: string[] };
}

export function profileHash(profile: string): string {
  return createHash('sha256').update(profile).digest('hex').slice(0, 6);
}

/** `MC-<hash>-`: the prefix of every chain of the profile (≤ 28 chars with any suffix used here). */
export function chainPrefix(profile: string): string {
  return `MC-${profileHash(profile)}-`;
}

export function baseChains(profile: string): { pre: string; svc: string; np: string; post: string; fwd: string; rej: string } {
  const p = chainPrefix(profile);
  return { pre: `${p}PRE`, svc: `${p}SVC`, np: `${p}NP`, post: `${p}POST`, fwd: `${p}FWD`, rej: `${p}REJ` };
}

function h10(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 10);
}

function protoArgs(protocol: string, port: number): string {
  const p = protocol.toLowerCase();
  return `-p ${p} -m ${p} --dport ${port}`;
}

export function supportedProtocol(protocol: string): boolean {
  return protocol === 'TCP' || protocol === 'UDP' || protocol === 'SCTP';
}

export function buildRuleSet(input: RuleSetInput): RuleSet {
  const prefix = chainPrefix(input.profile);
  const c = baseChains(input.profile);
  const comment = `-m comment --comment minictl:${input.profile}`;
  const natChains = [c.pre, c.svc, c.np, c.post];
  const filterChains = [c.fwd, c.rej];
  const nat: string[] = [];
  const filter: string[] = [];
  const cidrs = [...new Set(input.podCidrs)].sort();

  for (const cidr of cidrs) {
    nat.push(`-A ${c.pre} -s ${cidr} -d ${input.serviceCidr} ${comment} -j ${c.svc}`);
    nat.push(`-A ${c.pre} -s ${cidr} -m addrtype --dst-type LOCAL ${comment} -j ${c.np}`);
    filter.push(`-A ${c.fwd} -s ${cidr} -d ${input.serviceCidr} ${comment} -j ${c.rej}`);
  }
  nat.push(`-A ${c.post} -m mark --mark ${HAIRPIN_MARK}/${HAIRPIN_MARK} ${comment} -j MASQUERADE`);

  const ports = [...input.ports].filter((p) => supportedProtocol(p.protocol)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const sp of ports) {
    const proto = sp.protocol.toLowerCase();
    if (sp.endpoints.length === 0) {
      filter.push(`-A ${c.rej} -d ${sp.clusterIP}/32 ${protoArgs(sp.protocol, sp.port)} ${comment} -j REJECT --reject-with icmp-port-unreachable`);
      continue;
    }
    const sChain = `${prefix}S-${h10(sp.id)}`;
    natChains.push(sChain);
    nat.push(`-A ${c.svc} -d ${sp.clusterIP}/32 ${protoArgs(sp.protocol, sp.port)} ${comment} -j ${sChain}`);
    if (sp.nodePort) nat.push(`-A ${c.np} ${protoArgs(sp.protocol, sp.nodePort)} ${comment} -j ${sChain}`);
    const eps = [...sp.endpoints].sort((a, b) => (a.ip + ':' + a.port < b.ip + ':' + b.port ? -1 : 1));
    const eChains = eps.map((e) => `${prefix}E-${h10(`${sp.id}|${e.ip}:${e.port}${e.local ? '|local' : ''}`)}`);
    natChains.push(...eChains);
    if (sp.affinitySeconds) {
      eChains.forEach((ec) => nat.push(`-A ${sChain} -m recent --name ${ec} --rcheck --seconds ${sp.affinitySeconds} --reap ${comment} -j ${ec}`));
    }
    const n = eChains.length;
    eChains.forEach((ec, i) => {
      if (i < n - 1) nat.push(`-A ${sChain} -m statistic --mode random --probability ${(1 / (n - i)).toFixed(10)} ${comment} -j ${ec}`);
      else nat.push(`-A ${sChain} ${comment} -j ${ec}`);
    });
    eps.forEach((e, i) => {
      const ec = eChains[i];
      nat.push(`-A ${ec} -s ${e.ip}/32 ${comment} -j MARK --set-xmark ${HAIRPIN_MARK}/${HAIRPIN_MARK}`);
      const recent = sp.affinitySeconds ? `-m recent --name ${ec} --set ` : '';
      if (e.local) nat.push(`-A ${ec} -p ${proto} ${recent}${comment} -j REDIRECT --to-ports ${e.port}`);
      else nat.push(`-A ${ec} -p ${proto} ${recent}${comment} -j DNAT --to-destination ${e.ip}:${e.port}`);
    });
  }

  const uniqNat = [...new Set(natChains)];
  const staleNat = (input.existing?.nat ?? []).filter((x) => x.startsWith(prefix) && !uniqNat.includes(x));
  const staleFilter = (input.existing?.filter ?? []).filter((x) => x.startsWith(prefix) && !filterChains.includes(x));
  const lines: string[] = ['*nat'];
  for (const ch of [...uniqNat, ...staleNat]) lines.push(`:${ch} - [0:0]`);
  lines.push(...nat);
  for (const ch of staleNat) lines.push(`-X ${ch}`);
  lines.push('COMMIT', '*filter');
  for (const ch of [...filterChains, ...staleFilter]) lines.push(`:${ch} - [0:0]`);
  lines.push(...filter);
  for (const ch of staleFilter) lines.push(`-X ${ch}`);
  lines.push('COMMIT', '');
  return { text: lines.join('\n'), chains: { nat: uniqNat, filter: filterChains } };
}

/** Input that flushes and deletes the given chains (after the jumps to them are gone). */
export function teardownText(chains: { nat: string[]; filter: string[] }): string {
  const lines: string[] = [];
  for (const [table, list] of [
    ['nat', chains.nat],
    ['filter', chains.filter],
  ] as const) {
    lines.push(`*${table}`);
    for (const ch of list) lines.push(`:${ch} - [0:0]`);
    for (const ch of list) lines.push(`-X ${ch}`);
    lines.push('COMMIT');
  }
  lines.push('');
  return lines.join('\n');
}
