import {
  ensureCrossNodeTraffic,
  gatewayOf,
  IptablesRunner,
  nodeNetworkName,
  podSubnet,
  removeCrossNodeTraffic,
} from '../../../src/network/node-network';

/** An in-memory iptables: `-t T -C|-I|-D|-S CHAIN [pos] spec…`, printing rules like `iptables -S`. */
function fakeIptables(initial: Record<string, string[]> = {}): { run: IptablesRunner; chains: Record<string, string[]>; calls: string[][] } {
  const chains: Record<string, string[]> = {
    'filter/DOCKER-USER': ['-j RETURN'],
    'nat/POSTROUTING': ['-s 172.17.0.0/16 ! -o docker0 -j MASQUERADE'],
    ...initial,
  };
  const calls: string[][] = [];
  // Like iptables-nft: comments are printed double-quoted.
  const fmt = (spec: string[]): string => spec.map((a, i) => (spec[i - 1] === '--comment' ? `"${a}"` : a)).join(' ');
  const run: IptablesRunner = async (args) => {
    calls.push(args);
    const [, table, op, chain, ...rest] = args;
    const key = `${table}/${chain}`;
    const rules = chains[key];
    if (!rules) return { code: 1, stdout: '', stderr: `iptables: No chain/target/match by that name.` };
    if (op === '-S') return { code: 0, stdout: [`-N ${chain}`, ...rules.map((r) => `-A ${chain} ${r}`)].join('\n') + '\n', stderr: '' };
    let pos = 0;
    let spec = rest;
    if (op === '-I' && /^\d+$/.test(rest[0])) {
      pos = Number(rest[0]) - 1;
      spec = rest.slice(1);
    }
    const rule = fmt(spec);
    const i = rules.indexOf(rule);
    if (op === '-C') return i >= 0 ? { code: 0, stdout: '', stderr: '' } : { code: 1, stdout: '', stderr: 'Bad rule' };
    if (op === '-I') {
      rules.splice(pos, 0, rule);
      return { code: 0, stdout: '', stderr: '' };
    }
    if (op === '-D') {
      if (i < 0) return { code: 1, stdout: '', stderr: 'Bad rule (does a matching rule exist in that chain?).' };
      rules.splice(i, 1);
      return { code: 0, stdout: '', stderr: '' };
    }
    return { code: 2, stdout: '', stderr: `unsupported ${op}` };
  };
  return { run, chains, calls };
}

describe('addressing', () => {
  test.each([
    [1, undefined, '10.244.1.0/24', '10.244.1.1'],
    [0, '10.244.0.0/16', '10.244.0.0/24', '10.244.0.1'],
    [7, '10.200.0.0/16', '10.200.7.0/24', '10.200.7.1'],
  ])('node %i in %s', (index, base, subnet, gw) => {
    expect(podSubnet(index, base)).toBe(subnet);
    expect(gatewayOf(subnet)).toBe(gw);
  });

  test('bad input', () => {
    expect(() => podSubnet(256)).toThrow(RangeError);
    expect(() => podSubnet(1, '10.244.0.0/24')).toThrow(RangeError);
  });

  test('names', () => {
    expect(nodeNetworkName('dev', 'node-2')).toBe('minictl-dev-node-2');
  });
});

describe('cross-node traffic rules', () => {
  const saved = process.env.DOCKER_HOST;
  afterEach(() => {
    if (saved === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = saved;
  });

  test('installs the accept rule and puts the no-NAT rule ahead of every MASQUERADE; idempotent', async () => {
    delete process.env.DOCKER_HOST;
    const ipt = fakeIptables();
    const r1 = await ensureCrossNodeTraffic({ profile: 'dev', podCidr: '10.244.0.0/16', iptables: ipt.run });
    expect(r1.status).toBe('ok');
    expect(ipt.chains['filter/DOCKER-USER']).toEqual([
      '-s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "minictl:dev" -j ACCEPT',
      '-j RETURN',
    ]);
    expect(ipt.chains['nat/POSTROUTING'][0]).toBe('-s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "minictl:dev" -j RETURN');

    // Docker creates another network: its MASQUERADE goes on top.
    ipt.chains['nat/POSTROUTING'].unshift('-s 10.244.2.0/24 ! -o br-x -j MASQUERADE');
    await ensureCrossNodeTraffic({ profile: 'dev', podCidr: '10.244.0.0/16', iptables: ipt.run });
    const nat = ipt.chains['nat/POSTROUTING'];
    expect(nat[0]).toContain('minictl:dev');
    expect(nat.filter((l) => l.includes('minictl:dev'))).toHaveLength(1);

    const before = JSON.stringify(ipt.chains);
    const r2 = await ensureCrossNodeTraffic({ profile: 'dev', podCidr: '10.244.0.0/16', iptables: ipt.run });
    expect(r2).toEqual(r1);
    expect(JSON.stringify(ipt.chains)).toBe(before);
  });

  test('remove deletes only this profile\'s rules', async () => {
    delete process.env.DOCKER_HOST;
    const ipt = fakeIptables();
    // dev2 first: its rule must not be mistaken for dev's (prefix of the comment).
    await ensureCrossNodeTraffic({ profile: 'dev2', podCidr: '10.245.0.0/16', iptables: ipt.run });
    await ensureCrossNodeTraffic({ profile: 'dev', podCidr: '10.244.0.0/16', iptables: ipt.run });
    expect(ipt.chains['nat/POSTROUTING'].filter((l) => l.includes('"minictl:dev"'))).toHaveLength(1);
    const r = await removeCrossNodeTraffic({ profile: 'dev', iptables: ipt.run });
    expect(r.status).toBe('ok');
    expect(r.rules).toHaveLength(2);
    const all = [...ipt.chains['filter/DOCKER-USER'], ...ipt.chains['nat/POSTROUTING']];
    expect(all.some((l) => l.includes('"minictl:dev"'))).toBe(false);
    expect(all.filter((l) => l.includes('minictl:dev2'))).toHaveLength(2);
    expect((await removeCrossNodeTraffic({ profile: 'dev', iptables: ipt.run })).rules).toEqual([]);
  });

  test.each([
    ['not installed', { code: 127, stdout: '', stderr: 'iptables: command not found' }, /not installed/],
    [
      'not root',
      { code: 4, stdout: '', stderr: 'iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)' },
      /not permitted/,
    ],
    ['no DOCKER-USER', { code: 1, stdout: '', stderr: 'iptables: No chain/target/match by that name.' }, /--iptables=false/],
  ])('degraded, not thrown, when %s', async (_name, result, reason) => {
    delete process.env.DOCKER_HOST;
    const run: IptablesRunner = async () => result;
    const r = await ensureCrossNodeTraffic({ profile: 'dev', iptables: run });
    expect(r.status).toBe('degraded');
    expect(r.status === 'degraded' && r.reason).toMatch(reason);
  });

  test('a remote engine is degraded without touching iptables', async () => {
    process.env.DOCKER_HOST = 'tcp://10.0.0.5:2376';
    const ipt = fakeIptables();
    const r = await ensureCrossNodeTraffic({ profile: 'dev', iptables: ipt.run });
    expect(r).toMatchObject({ status: 'degraded', reason: expect.stringContaining('remote') });
    expect(ipt.calls).toEqual([]);
  });
});
