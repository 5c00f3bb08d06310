/**
 * The service proxy against an in-process cluster (no kubelets; pod status set by the test):
 * - the iptables proxier driven through fake `iptables`/`iptables-restore` runners that keep a
 *   model of the built-in chains: rules follow endpoints within a second, jumps are installed
 *   and repaired, everything is removed on stop, no root means `degraded` and no rules;
 * - NodePort and LoadBalancer listeners on 127.0.0.1 relaying to "pods" that are local servers on
 *   127.0.0.2-4 (TCP, spread and readiness), and UDP; LoadBalancer status.
 */
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import * as net from 'node:net';
import { startTestCluster, eventually } from '../helpers/cluster';
import { resourceFor } from '../../src/api/scheme';
import type { KObject } from '../../src/api/types';
import { EndpointsView } from '../../src/network/proxy/endpoints-view';
import { IptablesProxier, removeServiceProxyRules } from '../../src/network/proxy/iptables-proxier';
import { baseChains, chainPrefix } from '../../src/network/proxy/iptables-rules';
import type { IptablesRunner } from '../../src/network/node-network';
import { networkStatusLines } from '../../src/cli/commands/service';

jest.setTimeout(60_000);

const PODS = resourceFor('', 'pods')!;
const SVCS = resourceFor('', 'services')!;
const NODES = resourceFor('', 'nodes')!;
const SLICES = resourceFor('discovery.k8s.io', 'endpointslices')!;

type Cluster = Awaited<ReturnType<typeof startTestCluster>>;

function addPod(t: Cluster, name: string, labels: Record<string, string>, ip: string, port: number, ready = true, protocol = 'TCP'): void {
  t.cluster.registry.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x', ports: [{ name: 'p', containerPort: port, protocol }] }] } });
  setReady(t, name, ip, ready);
}

function setReady(t: Cluster, name: string, ip: string, ready: boolean): void {
  t.cluster.registry.guaranteedUpdate(PODS, 'default', name, (p) => ({ ...p, status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } }), { subresource: 'status' });
}

/** A model of iptables: built-in chains as rule lists, user chains created by restore input. */
class FakeIptables {
  chains = new Map<string, string[]>([
    ['nat/PREROUTING', ['-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER']],
    ['nat/POSTROUTING', ['-A POSTROUTING -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment minictl:t -j RETURN', '-A POSTROUTING -s 10.244.1.0/24 ! -o br-1 -j MASQUERADE']],
    ['filter/DOCKER-USER', ['-A DOCKER-USER -j RETURN']],
    ['filter/FORWARD', []],
  ]);
  userChains = new Map<string, string[]>();
  restores: string[] = [];
  denied = false;

  run: IptablesRunner = async (args) => {
    if (this.denied) return { code: 4, stdout: '', stderr: 'iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)' };
    const a = [...args];
    const table = a[0] === '-t' ? a[1] : 'filter';
    if (a[0] === '-t') a.splice(0, 2);
    const [op, chain, ...rest] = a;
    const key = `${table}/${chain}`;
    if (op === '-S' && !chain) {
      const out: string[] = [];
      for (const [k] of this.userChains) if (k.startsWith(table + '/')) out.push(`-N ${k.slice(table.length + 1)}`);
      return { code: 0, stdout: out.join('\n') + '\n', stderr: '' };
    }
    const list = this.chains.get(key);
    if (!list) return { code: 1, stdout: '', stderr: `iptables: No chain/target/match by that name.` };
    const spec = rest.map((x) => (x.includes(' ') ? `"${x}"` : x)).join(' ');
    if (op === '-S') return { code: 0, stdout: [`-P ${chain} ACCEPT`, ...list].join('\n') + '\n', stderr: '' };
    if (op === '-I') {
      const [pos, ...r] = /^\d+$/.test(rest[0]) ? rest : ['1', ...rest];
      list.splice(Number(pos) - 1, 0, `-A ${chain} ${r.map((x) => (x.includes(' ') ? `"${x}"` : x)).join(' ')}`);
      return { code: 0, stdout: '', stderr: '' };
    }
    if (op === '-D') {
      const i = /^\d+$/.test(rest[0] ?? '') && rest.length === 1 ? Number(rest[0]) - 1 : list.indexOf(`-A ${chain} ${spec}`);
      if (i < 0 || i >= list.length) return { code: 1, stdout: '', stderr: 'iptables: Bad rule (does a matching rule exist in that chain?).' };
      list.splice(i, 1);
      return { code: 0, stdout: '', stderr: '' };
    }
    return { code: 2, stdout: '', stderr: `unsupported ${op}` };
  };

  restore = async (input: string) => {
    if (this.denied) return { code: 1, stdout: '', stderr: 'iptables-restore: Permission denied' };
    this.restores.push(input);
    let table = '';
    for (const line of input.split('\n')) {
      if (line.startsWith('*')) table = line.slice(1);
      else if (line.startsWith(':')) this.userChains.set(`${table}/${line.slice(1).split(' ')[0]}`, []);
      else if (line.startsWith('-X ')) this.userChains.delete(`${table}/${line.slice(3)}`);
      else if (line.startsWith('-A ')) this.userChains.get(`${table}/${line.split(' ')[1]}`)?.push(line);
    }
    return { code: 0, stdout: '', stderr: '' };
  };

  natRules(): string[] {
    return [...this.userChains.entries()].filter(([k]) => k.startsWith('nat/')).flatMap(([, v]) => v);
  }
}

describe('iptables proxier (fake iptables)', () => {
  let t: Cluster;
  let proxier: IptablesProxier;
  const ipt = new FakeIptables();

  beforeAll(async () => {
    t = await startTestCluster();
    t.cluster.registry.create(NODES, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: { podCIDR: '10.244.1.0/24' } });
    const inf = t.cluster.informers;
    const endpoints = new EndpointsView(inf.for(SLICES));
    proxier = new IptablesProxier({ profile: 't', serviceCidr: '10.96.0.0/12', services: inf.for(SVCS), nodes: inf.for(NODES), endpoints, iptables: ipt.run, iptablesRestore: ipt.restore, localAddresses: () => ['127.0.0.1'], resyncMs: 100 });
    for (const i of [inf.for(SVCS), inf.for(NODES), inf.for(SLICES)]) i.start();
    const sync = () => proxier.requestSync();
    inf.for(SVCS).addHandlers({ onAdd: sync, onUpdate: sync, onDelete: sync });
    endpoints.subscribe(sync);
    expect(await proxier.start()).toEqual({ status: 'ok' });
  });
  afterAll(async () => {
    await proxier.stop();
    await t.stop();
  });

  test('installs its jumps ahead of the node network\'s RETURN and keeps them there', async () => {
    const c = baseChains('t');
    expect(ipt.chains.get('nat/PREROUTING')![0]).toBe(`-A PREROUTING -m comment --comment minictl:t -j ${c.pre}`);
    expect(ipt.chains.get('nat/POSTROUTING')![0]).toBe(`-A POSTROUTING -m comment --comment minictl:t -j ${c.post}`);
    expect(ipt.chains.get('filter/DOCKER-USER')![0]).toBe(`-A DOCKER-USER -m comment --comment minictl:t -j ${c.fwd}`);
    // the node manager re-inserts its RETURN at the top: the next resync restores the order
    const post = ipt.chains.get('nat/POSTROUTING')!;
    const ret = post.splice(1, 1)[0];
    post.unshift(ret);
    await eventually(() => expect(ipt.chains.get('nat/POSTROUTING')![0]).toContain(c.post), 3000);
    expect(ipt.chains.get('nat/POSTROUTING')!.filter((l) => l.includes(c.post))).toHaveLength(1);
  });

  test('DNAT rules follow the ready endpoints within a second; no endpoints → REJECT', async () => {
    const svc = t.cluster.registry.create(SVCS, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'p' }] } });
    const ip = svc.spec.clusterIP;
    const dnat = () => ipt.natRules().filter((l) => l.includes('-j DNAT')).map((l) => l.split('--to-destination ')[1]).sort();
    addPod(t, 'web-1', { app: 'web' }, '10.244.1.10', 8080);
    addPod(t, 'web-2', { app: 'web' }, '10.244.1.11', 8080);
    await eventually(() => expect(dnat()).toEqual(['10.244.1.10:8080', '10.244.1.11:8080']), 1000, 10);
    expect(ipt.natRules().some((l) => l.includes(`-d ${ip}/32 -p tcp -m tcp --dport 80`))).toBe(true);
    expect(ipt.natRules().some((l) => l.includes(`--dport ${svc.spec.ports[0].nodePort}`))).toBe(true);
    setReady(t, 'web-2', '10.244.1.11', false);
    await eventually(() => expect(dnat()).toEqual(['10.244.1.10:8080']), 1000, 10);
    setReady(t, 'web-1', '10.244.1.10', false);
    await eventually(() => {
      expect(dnat()).toEqual([]);
      expect(ipt.userChains.get(`filter/${baseChains('t').rej}`)!.join('\n')).toContain(`-d ${ip}/32 -p tcp -m tcp --dport 80`);
    }, 1000, 10);
    // the kubernetes Service's endpoint (127.0.0.1, an address of this host) is REDIRECTed, not DNATed
    await eventually(() => expect(ipt.natRules().some((l) => l.includes('-j REDIRECT --to-ports'))).toBe(true));
    await proxier.settled();
  });

  test('stop removes the jumps and every chain', async () => {
    await proxier.stop();
    for (const [k, rules] of ipt.chains) expect(rules.filter((r) => r.includes(chainPrefix('t'))).map((r) => `${k}: ${r}`)).toEqual([]);
    expect([...ipt.userChains.keys()]).toEqual([]);
    expect(await removeServiceProxyRules('t', { iptables: ipt.run, iptablesRestore: ipt.restore })).toEqual([]);
  });

  test('without permission: degraded with the reason, nothing installed', async () => {
    const denied = new FakeIptables();
    denied.denied = true;
    const inf = t.cluster.informers;
    const p = new IptablesProxier({ profile: 't2', serviceCidr: '10.96.0.0/12', services: inf.for(SVCS), nodes: inf.for(NODES), endpoints: new EndpointsView(inf.for(SLICES)), iptables: denied.run, iptablesRestore: denied.restore });
    const st = await p.start();
    expect(st.status).toBe('degraded');
    expect(st.status === 'degraded' && st.reason).toMatch(/not permitted.*root/);
    expect(denied.restores).toEqual([]);
    await p.stop();
  });
});

describe('NodePort and LoadBalancer on 127.0.0.1', () => {
  let t: Cluster;
  const servers: (http.Server | dgram.Socket)[] = [];
  let port = 0;

  /** "pods": HTTP servers on 127.0.0.2-4 answering their own address. */
  async function startPods(): Promise<void> {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.2', () => r()));
    port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    for (const ip of ['127.0.0.2', '127.0.0.3', '127.0.0.4']) {
      const s = http.createServer((req, res) => res.end(ip));
      await new Promise<void>((r) => s.listen(port, ip, () => r()));
      servers.push(s);
    }
    const u = dgram.createSocket('udp4');
    u.on('message', (m, r) => u.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address));
    await new Promise<void>((r) => u.bind(port, '127.0.0.5', () => r()));
    servers.push(u);
  }

  function get(p: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: p, path: '/', agent: false }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b));
      });
      req.on('error', reject);
    });
  }

  async function freeHighPort(): Promise<number> {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const p = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    return p;
  }

  beforeAll(async () => {
    await startPods();
    t = await startTestCluster({ network: { proxyMode: 'none', dns: false, ingress: false } });
  });
  afterAll(async () => {
    await t.stop();
    for (const s of servers) 'close' in s && (s instanceof http.Server ? s.close() : s.close());
  });

  test('NodePort spreads over ready endpoints, follows readiness; LoadBalancer gets 127.0.0.1 and its port', async () => {
    const lbPort = await freeHighPort();
    const svc = t.cluster.registry.create(SVCS, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ name: 'http', port: lbPort, targetPort: 'p' }] } });
    const nodePort = svc.spec.ports[0].nodePort;
    addPod(t, 'a', { app: 'web' }, '127.0.0.2', port);
    addPod(t, 'b', { app: 'web' }, '127.0.0.3', port);
    addPod(t, 'c', { app: 'web' }, '127.0.0.4', port, false);
    const seen = await eventually(async () => {
      const got = new Set<string>();
      for (let i = 0; i < 6; i++) got.add(await get(nodePort));
      expect([...got].sort()).toEqual(['127.0.0.2', '127.0.0.3']);
      return got;
    });
    expect(seen.size).toBe(2);
    expect(await get(lbPort)).toMatch(/^127\.0\.0\.[23]$/);
    await eventually(() => expect(t.cluster.registry.get(SVCS, 'default', 'web').status.loadBalancer).toEqual({ ingress: [{ ip: '127.0.0.1' }] }));
    // c becomes ready, a goes away
    setReady(t, 'c', '127.0.0.4', true);
    setReady(t, 'a', '127.0.0.2', false);
    await eventually(async () => {
      const got = new Set<string>();
      for (let i = 0; i < 6; i++) got.add(await get(nodePort));
      expect([...got].sort()).toEqual(['127.0.0.3', '127.0.0.4']);
    }, 2000);
    const status = t.cluster.network!.status();
    expect(status.hostPorts.bound).toEqual(expect.arrayContaining([`tcp/${nodePort} → default/web`, `tcp/${lbPort} → default/web`]));
    // back to ClusterIP: listeners close, status cleared
    t.cluster.registry.guaranteedUpdate(SVCS, 'default', 'web', (s) => ({ ...s, spec: { ...s.spec, type: 'ClusterIP', ports: [{ name: 'http', port: lbPort, targetPort: 'p' }] } }));
    await eventually(async () => {
      await expect(get(nodePort)).rejects.toThrow(/ECONNREFUSED/);
      expect(t.cluster.registry.get(SVCS, 'default', 'web').status.loadBalancer).toEqual({});
    });
  });

  test('a port already taken is reported as an Event and in the status, not fatal', async () => {
    const blocker = net.createServer();
    const taken = await freeHighPort();
    await new Promise<void>((r) => blocker.listen(taken, '127.0.0.1', () => r()));
    try {
      t.cluster.registry.create(SVCS, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'blocked' }, spec: { type: 'LoadBalancer', selector: { app: 'none' }, ports: [{ port: taken }] } });
      await eventually(() => {
        const f = t.cluster.network!.status().hostPorts.failed;
        expect(f).toEqual(expect.arrayContaining([expect.objectContaining({ service: 'default/blocked', port: taken, error: expect.stringContaining('in use') })]));
        const ev = t.cluster.registry.list(resourceFor('', 'events')!, 'default').items.find((e: KObject) => e.involvedObject?.name === 'blocked');
        expect(ev?.reason).toBe('LoadBalancerPortUnavailable');
        expect(t.cluster.registry.get(SVCS, 'default', 'blocked').status.loadBalancer.ingress[0].ports[0]).toMatchObject({ port: taken, error: 'PortUnavailable' });
      });
    } finally {
      blocker.close();
    }
  });

  test('UDP NodePort relays datagrams both ways', async () => {
    const svc = t.cluster.registry.create(SVCS, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'echo' }, spec: { type: 'NodePort', selector: { app: 'echo' }, ports: [{ name: 'u', port: 9, protocol: 'UDP', targetPort: 'p' }] } });
    addPod(t, 'echo', { app: 'echo' }, '127.0.0.5', port, true, 'UDP');
    const reply = await eventually(
      () =>
        new Promise<string>((resolve, reject) => {
          const s = dgram.createSocket('udp4');
          const timer = setTimeout(() => {
            s.close();
            reject(new Error('no UDP reply'));
          }, 300);
          s.on('message', (m) => {
            clearTimeout(timer);
            s.close();
            resolve(m.toString());
          });
          s.send('ping', svc.spec.ports[0].nodePort, '127.0.0.1');
        }),
    );
    expect(reply).toBe('echo:ping');
  });
});

describe('the Services data plane without root', () => {
  test('degrades instead of failing: DNS on 127.0.0.1 only, pods keep their own resolvers, status says why', async () => {
    const denied = new FakeIptables();
    denied.denied = true;
    const t = await startTestCluster({ network: { iptables: denied.run, iptablesRestore: denied.restore, hostPorts: false, ingress: false, dns: { upstreams: [] } } });
    try {
      const net = t.cluster.network!;
      const st = net.status();
      expect(st.proxy).toMatchObject({ mode: 'iptables', status: 'degraded', reason: expect.stringMatching(/not permitted.*root/) });
      expect(st.dns.reachableFromPods).toBe(false);
      expect(st.dns.listen).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(net.podDns()).toBeUndefined();
      const lines = networkStatusLines(t.dir).lines.map(([k, v]) => `${k}: ${v}`);
      expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^services: DEGRADED, ClusterIPs are not reachable from pods: iptables not permitted/), expect.stringMatching(/^dns: DEGRADED, pods use the host's resolvers/)]));
    } finally {
      await t.stop();
    }
  });
});
