/**
 * Cluster DNS served by an in-process cluster (no kubelets; pod status set by the test) on a
 * loopback port, queried over UDP and TCP: cluster records follow Services and pod readiness,
 * other names go to an upstream (a fake resolver run by the test), large answers are truncated
 * over UDP and complete over TCP, a dead upstream gives a fast SERVFAIL.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { DecodedPacket } from 'dns-packet';
import { startTestCluster, eventually } from '../helpers/cluster';
import { resourceFor } from '../../src/api/scheme';

jest.setTimeout(60_000);

const PODS = resourceFor('', 'pods')!;
const SVCS = resourceFor('', 'services')!;

function query(name: string, type = 'A'): Buffer {
  return dnsPacket.encode({ type: 'query', id: Math.floor(Math.random() * 65535), flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: type as 'A', name }] });
}

function udp(port: number, q: Buffer, timeoutMs = 3000): Promise<DecodedPacket & { raw: Buffer }> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error('UDP query timed out'));
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(Object.assign(dnsPacket.decode(m), { raw: m }));
    });
    s.send(q, port, '127.0.0.1');
  });
}

function tcp(port: number, q: Buffer): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(dnsPacket.streamEncode(dnsPacket.decode(q))));
    let buf = Buffer.alloc(0);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        s.destroy();
        resolve(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
      }
    });
    s.on('error', reject);
  });
}

/** A fake upstream resolver: example.com → 93.184.216.34, anything else NXDOMAIN. */
function fakeUpstream(): Promise<{ port: number; close: () => void; seen: string[] }> {
  const s = dgram.createSocket('udp4');
  const seen: string[] = [];
  s.on('message', (m, r) => {
    const q = dnsPacket.decode(m);
    const name = q.questions![0].name;
    seen.push(name);
    const ok = name === 'example.com' && q.questions![0].type === 'A';
    s.send(dnsPacket.encode({ type: 'response', id: q.id, flags: dnsPacket.RECURSION_AVAILABLE | (ok ? 0 : 3), questions: q.questions, answers: ok ? [{ type: 'A', name, ttl: 60, data: '93.184.216.34' }] : [] }), r.port, r.address);
  });
  return new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve({ port: s.address().port, close: () => s.close(), seen })));
}

const ips = (p: DecodedPacket) => (p.answers ?? []).filter((a) => a.type === 'A').map((a) => (a as { data: string }).data).sort();

describe('cluster DNS server', () => {
  let t: Awaited<ReturnType<typeof startTestCluster>>;
  let up: Awaited<ReturnType<typeof fakeUpstream>>;
  let port: number;

  beforeAll(async () => {
    up = await fakeUpstream();
    t = await startTestCluster({ network: { proxyMode: 'none', hostPorts: false, ingress: false, dns: { upstreams: [`127.0.0.1:${up.port}`] } } });
    port = t.cluster.network!.dnsAddress()!.port;
  });
  afterAll(async () => {
    await t.stop();
    up.close();
  });

  test('kube-dns Endpoints point at the server', async () => {
    await eventually(() => {
      const ep = t.cluster.registry.get(resourceFor('', 'endpoints')!, 'kube-system', 'kube-dns');
      expect(ep.subsets[0].ports).toEqual(expect.arrayContaining([{ name: 'dns', port, protocol: 'UDP' }, { name: 'dns-tcp', port, protocol: 'TCP' }]));
    });
  });

  test('answers Service names over UDP and TCP', async () => {
    expect(ips(await udp(port, query('kubernetes.default.svc.cluster.local')))).toEqual(['10.96.0.1']);
    expect(ips(await tcp(port, query('kube-dns.kube-system.svc.cluster.local')))).toEqual(['10.96.0.10']);
    expect(ips(await udp(port, query('kubernetes.default')))).toEqual(['10.96.0.1']);
    expect((await udp(port, query('nope.default.svc.cluster.local'))).rcode).toBe('NXDOMAIN');
  });

  test('headless Service: ready pods only, following readiness; large answers truncate over UDP', async () => {
    t.cluster.registry.create(SVCS, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'peers' }, spec: { clusterIP: 'None', selector: { app: 'peers' }, ports: [{ name: 'p', port: 7000 }] } });
    const n = 60;
    for (let i = 0; i < n; i++) {
      t.cluster.registry.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: `peer-${i}`, labels: { app: 'peers' } }, spec: { nodeName: 'n1', hostname: `peer-${i}`, subdomain: 'peers', containers: [{ name: 'c', image: 'x' }] } });
      t.cluster.registry.guaranteedUpdate(PODS, 'default', `peer-${i}`, (p) => ({ ...p, status: { phase: 'Running', podIP: `10.244.9.${i + 1}`, conditions: [{ type: 'Ready', status: i === 0 ? 'False' : 'True' }] } }), { subresource: 'status' });
    }
    const full = await eventually(async () => {
      const r = await tcp(port, query('peers.default.svc.cluster.local'));
      expect(ips(r)).toHaveLength(n - 1);
      return r;
    });
    expect(ips(full)).not.toContain('10.244.9.1');
    const trunc = await udp(port, query('peers.default.svc.cluster.local'));
    expect(trunc.flag_tc).toBe(true);
    expect(trunc.answers).toEqual([]);
    expect(ips(await udp(port, query('peer-7.peers.default.svc.cluster.local')))).toEqual(['10.244.9.8']);
    const srv = await tcp(port, query('_p._tcp.peers.default.svc.cluster.local', 'SRV'));
    expect(srv.answers).toHaveLength(n - 1);
    // readiness returns → the pod appears
    t.cluster.registry.guaranteedUpdate(PODS, 'default', 'peer-0', (p) => ({ ...p, status: { ...p.status, conditions: [{ type: 'Ready', status: 'True' }] } }), { subresource: 'status' });
    await eventually(async () => expect(ips(await udp(port, query('peer-0.peers.default.svc.cluster.local')))).toEqual(['10.244.9.1']), 2000);
  });

  test('single-label names resolve in the namespace of the pod asking (known by its address)', async () => {
    // the test's own address (127.0.0.1) becomes a pod IP in namespace kube-system
    t.cluster.registry.create(PODS, 'kube-system', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'asker' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }] } });
    t.cluster.registry.guaranteedUpdate(PODS, 'kube-system', 'asker', (p) => ({ ...p, status: { phase: 'Running', podIP: '127.0.0.1' } }), { subresource: 'status' });
    await eventually(async () => expect(ips(await udp(port, query('kube-dns')))).toEqual(['10.96.0.10']));
  });

  test('forwards other names upstream, chases ExternalName targets, pod records', async () => {
    expect(ips(await udp(port, query('example.com')))).toEqual(['93.184.216.34']);
    expect((await tcp(port, query('nothing.invalid'))).rcode).toBe('NXDOMAIN');
    expect(up.seen).toEqual(expect.arrayContaining(['example.com', 'nothing.invalid']));
    t.cluster.registry.create(SVCS, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext' }, spec: { type: 'ExternalName', externalName: 'example.com' } });
    const r = await eventually(async () => {
      const x = await udp(port, query('ext.default.svc.cluster.local'));
      expect(x.answers!.map((a) => a.type)).toEqual(['CNAME', 'A']);
      return x;
    });
    expect((r.answers![1] as { data: string }).data).toBe('93.184.216.34');
    expect(ips(await udp(port, query('10-1-2-3.default.pod.cluster.local')))).toEqual(['10.1.2.3']);
  });
});

describe('cluster DNS without a reachable upstream', () => {
  test('answers SERVFAIL fast, and still serves cluster names', async () => {
    // a port nobody listens on: ICMP port unreachable (or a timeout) marks the upstream down
    const dead = dgram.createSocket('udp4');
    await new Promise<void>((r) => dead.bind(0, '127.0.0.1', () => r()));
    const deadPort = dead.address().port;
    dead.close();
    const t = await startTestCluster({ network: { proxyMode: 'none', hostPorts: false, ingress: false, dns: { upstreams: [`127.0.0.1:${deadPort}`] } } });
    try {
      const port = t.cluster.network!.dnsAddress()!.port;
      expect((await udp(port, query('example.org'))).rcode).toBe('SERVFAIL');
      expect((await udp(port, query('example.org'))).rcode).toBe('SERVFAIL');
      const t0 = Date.now();
      expect((await udp(port, query('example.net'))).rcode).toBe('SERVFAIL');
      expect(Date.now() - t0).toBeLessThan(100);
      expect(ips(await udp(port, query('kubernetes.default.svc.cluster.local')))).toEqual(['10.96.0.1']);
    } finally {
      await t.stop();
    }
  });
});
