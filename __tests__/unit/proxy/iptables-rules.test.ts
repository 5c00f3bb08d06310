import { baseChains, buildRuleSet, chainPrefix, teardownText, type ProxyServicePort } from '../../../src/network/proxy/iptables-rules';
import { Balancer } from '../../../src/network/proxy/balancer';
import { usableEndpoints } from '../../../src/network/proxy/endpoints-view';

const web: ProxyServicePort = { id: 'default/web:http/TCP', clusterIP: '10.96.5.5', port: 80, protocol: 'TCP', nodePort: 30080, endpoints: [{ ip: '10.244.2.3', port: 8080 }, { ip: '10.244.1.2', port: 8080 }, { ip: '10.244.1.3', port: 8080 }] };

function rules(text: string, table: 'nat' | 'filter'): string[] {
  const start = text.indexOf(`*${table}`);
  const end = text.indexOf('COMMIT', start);
  return text.slice(start, end).split('\n').filter((l) => l.startsWith('-A '));
}

describe('buildRuleSet', () => {
  const rs = buildRuleSet({ profile: 'dev', podCidrs: ['10.244.1.0/24', '10.244.2.0/24'], serviceCidr: '10.96.0.0/12', ports: [web] });
  const c = baseChains('dev');
  const nat = rules(rs.text, 'nat');

  it('names chains per profile, within iptables\' 28 characters', () => {
    expect(chainPrefix('dev')).toMatch(/^MC-[0-9a-f]{6}-$/);
    expect(chainPrefix('dev')).not.toBe(chainPrefix('dev2'));
    for (const ch of [...rs.chains.nat, ...rs.chains.filter]) expect(ch.length).toBeLessThanOrEqual(28);
  });

  it('matches only the profile\'s pod ranges going to the service range, and node ports on local addresses', () => {
    expect(nat.filter((l) => l.startsWith(`-A ${c.pre} `))).toEqual([
      `-A ${c.pre} -s 10.244.1.0/24 -d 10.96.0.0/12 -m comment --comment minictl:dev -j ${c.svc}`,
      `-A ${c.pre} -s 10.244.1.0/24 -m addrtype --dst-type LOCAL -m comment --comment minictl:dev -j ${c.np}`,
      `-A ${c.pre} -s 10.244.2.0/24 -d 10.96.0.0/12 -m comment --comment minictl:dev -j ${c.svc}`,
      `-A ${c.pre} -s 10.244.2.0/24 -m addrtype --dst-type LOCAL -m comment --comment minictl:dev -j ${c.np}`,
    ]);
    expect(nat.some((l) => l.startsWith(`-A ${c.svc} -d 10.96.5.5/32 -p tcp -m tcp --dport 80 `))).toBe(true);
    expect(nat.some((l) => l.startsWith(`-A ${c.np} -p tcp -m tcp --dport 30080 `))).toBe(true);
  });

  it('spreads evenly: probabilities 1/3, 1/2 then the rest; DNAT per endpoint with hairpin mark', () => {
    const sChain = nat.find((l) => l.startsWith(`-A ${c.svc} `))!.split(' -j ')[1];
    const spread = nat.filter((l) => l.startsWith(`-A ${sChain} `));
    expect(spread.map((l) => (/--probability (\S+)/.exec(l) ?? [])[1] ?? 'rest')).toEqual(['0.3333333333', '0.5000000000', 'rest']);
    const dnat = nat.filter((l) => l.includes('-j DNAT')).map((l) => l.split('--to-destination ')[1]);
    expect(dnat).toEqual(['10.244.1.2:8080', '10.244.1.3:8080', '10.244.2.3:8080']);
    expect(nat.filter((l) => l.includes('-j MARK --set-xmark 0x2000/0x2000'))).toHaveLength(3);
    expect(nat).toContain(`-A ${c.post} -m mark --mark 0x2000/0x2000 -m comment --comment minictl:dev -j MASQUERADE`);
  });

  it('comments every rule with the profile, declares every chain', () => {
    for (const l of [...nat, ...rules(rs.text, 'filter')]) expect(l).toContain('--comment minictl:dev');
    for (const ch of [...rs.chains.nat, ...rs.chains.filter]) expect(rs.text).toContain(`:${ch} - [0:0]`);
  });

  it('ClientIP affinity: a recent check per endpoint before the spread, and --set with the DNAT', () => {
    const a = buildRuleSet({ profile: 'dev', podCidrs: ['10.244.1.0/24'], serviceCidr: '10.96.0.0/12', ports: [{ ...web, affinitySeconds: 600 }] });
    const n = rules(a.text, 'nat');
    expect(n.filter((l) => l.includes('--rcheck --seconds 600 --reap'))).toHaveLength(3);
    expect(n.filter((l) => l.includes('-m recent --name') && l.includes('--set') && l.includes('-j DNAT'))).toHaveLength(3);
  });

  it('rejects Service ports without endpoints (filter table), and REDIRECTs endpoints on this host', () => {
    const r = buildRuleSet({ profile: 'dev', podCidrs: ['10.244.1.0/24'], serviceCidr: '10.96.0.0/12', ports: [{ ...web, endpoints: [] }, { id: 'kube-system/kube-dns:dns/UDP', clusterIP: '10.96.0.10', port: 53, protocol: 'UDP', endpoints: [{ ip: '10.244.1.1', port: 40000, local: true }] }] });
    expect(rules(r.text, 'filter')).toContain(`-A ${c.rej} -d 10.96.5.5/32 -p tcp -m tcp --dport 80 -m comment --comment minictl:dev -j REJECT --reject-with icmp-port-unreachable`);
    const n = rules(r.text, 'nat');
    expect(n.some((l) => l.includes('10.96.5.5'))).toBe(false);
    expect(n.some((l) => l.includes('-p udp') && l.endsWith('-j REDIRECT --to-ports 40000'))).toBe(true);
  });

  it('deletes chains of the profile no longer wanted, and only those', () => {
    const stale = `${chainPrefix('dev')}S-0000000000`;
    const other = `${chainPrefix('other')}S-0000000000`;
    const r = buildRuleSet({ profile: 'dev', podCidrs: [], serviceCidr: '10.96.0.0/12', ports: [], existing: { nat: [stale, other, c.pre], filter: [] } });
    expect(r.text).toContain(`-X ${stale}`);
    expect(r.text).not.toContain(other);
    expect(r.text).not.toContain(`-X ${c.pre}`);
    expect(teardownText({ nat: [c.pre], filter: [c.fwd] })).toBe(`*nat\n:${c.pre} - [0:0]\n-X ${c.pre}\nCOMMIT\n*filter\n:${c.fwd} - [0:0]\n-X ${c.fwd}\nCOMMIT\n`);
  });

  it('is deterministic (an unchanged set is not rewritten)', () => {
    const again = buildRuleSet({ profile: 'dev', podCidrs: ['10.244.2.0/24', '10.244.1.0/24'], serviceCidr: '10.96.0.0/12', ports: [{ ...web, endpoints: [...web.endpoints].reverse() }] });
    expect(again.text).toBe(rs.text);
  });
});

describe('Balancer', () => {
  const eps = [
    { ip: '10.0.0.1', port: 80 },
    { ip: '10.0.0.2', port: 80 },
    { ip: '10.0.0.3', port: 80 },
  ];
  it('round-robins, skipping excluded endpoints', () => {
    const b = new Balancer();
    expect([1, 2, 3, 4].map(() => b.pick('k', eps)!.ip)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.1']);
    expect(b.pick('k', eps, undefined, undefined, new Set(['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80']))).toBeUndefined();
  });

  it('keeps a client on its endpoint while affinity lasts', () => {
    let now = 0;
    const b = new Balancer(() => now);
    const first = b.pick('k', eps, '1.1.1.1', 10)!;
    for (let i = 0; i < 5; i++) expect(b.pick('k', eps, '1.1.1.1', 10)).toBe(first);
    expect(b.pick('k', eps, '2.2.2.2', 10)).not.toBe(first);
    now += 11_000;
    expect(b.pick('k', eps, '1.1.1.1', 10)).not.toBe(first);
    // the endpoint going away breaks affinity
    const cur = b.pick('k', eps, '1.1.1.1', 10)!;
    expect(b.pick('k', eps.filter((e) => e !== cur), '1.1.1.1', 10)).not.toBe(cur);
  });
});

describe('usableEndpoints', () => {
  it('prefers ready endpoints, falls back to serving terminating ones', () => {
    const e = (ready: boolean, serving: boolean, terminating: boolean) => ({ ready, serving, terminating });
    expect(usableEndpoints([e(true, true, false), e(false, true, true)])).toHaveLength(1);
    expect(usableEndpoints([e(false, false, false), e(false, true, true)])).toEqual([e(false, true, true)]);
    expect(usableEndpoints([e(false, false, false)])).toEqual([]);
  });
});
