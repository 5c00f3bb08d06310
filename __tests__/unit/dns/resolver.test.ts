import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket } from 'dns-packet';
import { ClusterDnsResolver, RCODE, type DnsCatalog, type Resolution } from '../../../src/network/dns/resolver';
import type { KObject } from '../../../src/api/types';
import type { EndpointAddressInfo } from '../../../src/network/proxy/endpoints-view';

function svc(ns: string, name: string, spec: Record<string, unknown>): KObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { type: 'ClusterIP', ...spec } };
}

const services: KObject[] = [
  svc('default', 'web', { clusterIP: '10.96.5.5', ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }] }),
  svc('data', 'db', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] }),
  svc('default', 'ext', { type: 'ExternalName', externalName: 'example.com.' }),
  svc('default', 'alias', { type: 'ExternalName', externalName: 'web.default.svc.cluster.local' }),
];
const addresses: Record<string, EndpointAddressInfo[]> = {
  'data/db': [
    { ip: '10.244.1.5', ready: true, serving: true, terminating: false, hostname: 'db-0', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] },
    { ip: '10.244.2.7', ready: true, serving: true, terminating: false, hostname: 'db-1', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] },
    { ip: '10.244.2.9', ready: false, serving: false, terminating: false, hostname: 'db-2', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] },
  ],
};
const catalog: DnsCatalog = {
  service: (ns, name) => services.find((s) => s.metadata.namespace === ns && s.metadata.name === name),
  namespaceExists: (ns) => ['default', 'data', 'kube-system'].includes(ns),
  addresses: (ns, s) => addresses[`${ns}/${s}`] ?? [],
  namespaceOfIP: (ip) => (ip === '10.244.1.5' ? 'data' : ip === '10.244.3.3' ? 'default' : undefined),
  serviceByClusterIP: (ip) => services.find((s) => s.spec.clusterIP === ip),
  endpointByIP: (ip) => (ip === '10.244.2.7' ? { ns: 'data', service: 'db', hostname: 'db-1' } : undefined),
};
const resolver = new ClusterDnsResolver(catalog);

/** Encodes a query, decodes it as the server would, resolves, and round-trips the answer. */
function ask(name: string, type = 'A', client?: string): { r: Resolution; res?: DecodedPacket } {
  const wire = dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: type as 'A', name, class: 'IN' }] });
  const r = resolver.resolve(dnsPacket.decode(wire), client);
  if (r.kind === 'forward') return { r };
  return { r, res: dnsPacket.decode(dnsPacket.encode(r.response)) };
}

const data = (as: Answer[] | undefined) => (as ?? []).map((a) => (a as { data: unknown }).data);

describe('ClusterDnsResolver', () => {
  it('A for a ClusterIP Service by FQDN, case-insensitively, with a trailing dot', () => {
    for (const n of ['web.default.svc.cluster.local', 'WEB.Default.SVC.cluster.local.']) {
      const { res } = ask(n);
      expect(res!.rcode).toBe('NOERROR');
      expect(res!.flag_aa).toBe(true);
      expect(res!.id).toBe(4242);
      expect(res!.answers).toEqual([expect.objectContaining({ type: 'A', data: '10.96.5.5', ttl: 5 })]);
    }
  });

  it('short names: `svc` in the asking pod\'s namespace, `svc.ns` when the namespace exists', () => {
    expect(data(ask('web', 'A', '10.244.3.3').res!.answers)).toEqual(['10.96.5.5']);
    expect(ask('web', 'A', '10.9.9.9').r.kind).toBe('forward');
    expect(data(ask('web.default').res!.answers)).toEqual(['10.96.5.5']);
    expect(ask('web.nowhere').r.kind).toBe('forward');
  });

  it('AAAA of an existing name: NOERROR without records, SOA in authority', () => {
    const { res } = ask('web.default.svc.cluster.local', 'AAAA');
    expect(res!.rcode).toBe('NOERROR');
    expect(res!.answers).toEqual([]);
    expect(res!.authorities![0]).toMatchObject({ type: 'SOA', name: 'cluster.local' });
  });

  it('headless Service: the ready endpoints; StatefulSet pods by hostname and by dashed address', () => {
    expect(data(ask('db.data.svc.cluster.local').res!.answers).sort()).toEqual(['10.244.1.5', '10.244.2.7']);
    expect(data(ask('db-1.db.data.svc.cluster.local').res!.answers)).toEqual(['10.244.2.7']);
    expect(data(ask('10-244-1-5.db.data.svc.cluster.local').res!.answers)).toEqual(['10.244.1.5']);
    expect(ask('db-2.db.data.svc.cluster.local').res!.rcode).toBe('NXDOMAIN'); // not ready
    expect(ask('x.web.default.svc.cluster.local').res!.rcode).toBe('NXDOMAIN'); // not headless
  });

  it('SRV for named ports: the Service (ClusterIP) or each endpoint (headless), with A additionals', () => {
    const c = ask('_http._tcp.web.default.svc.cluster.local', 'SRV').res!;
    expect(data(c.answers)).toEqual([{ priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' }]);
    expect(c.additionals).toEqual([expect.objectContaining({ type: 'A', name: 'web.default.svc.cluster.local', data: '10.96.5.5' })]);
    expect(data(ask('_dns._udp.web.default.svc.cluster.local', 'SRV').res!.answers)).toEqual([{ priority: 0, weight: 100, port: 53, target: 'web.default.svc.cluster.local' }]);
    const h = ask('_pg._tcp.db.data.svc.cluster.local', 'SRV').res!;
    expect(data(h.answers)).toEqual([
      { priority: 0, weight: 50, port: 5432, target: 'db-0.db.data.svc.cluster.local' },
      { priority: 0, weight: 50, port: 5432, target: 'db-1.db.data.svc.cluster.local' },
    ]);
    expect(data(h.additionals).sort()).toEqual(['10.244.1.5', '10.244.2.7']);
    expect(ask('_nope._tcp.web.default.svc.cluster.local', 'SRV').res!.rcode).toBe('NXDOMAIN');
    expect(ask('_http._udp.web.default.svc.cluster.local', 'SRV').res!.rcode).toBe('NXDOMAIN');
    expect(ask('web.default.svc.cluster.local', 'SRV').res!.answers).toHaveLength(2);
  });

  it('pod A records from dashed addresses', () => {
    expect(data(ask('10-244-1-5.default.pod.cluster.local').res!.answers)).toEqual(['10.244.1.5']);
    expect(ask('10-244-1.default.pod.cluster.local').res!.rcode).toBe('NXDOMAIN');
  });

  it('ExternalName: CNAME (to be chased upstream), or CNAME plus the in-cluster target', () => {
    const e = ask('ext.default.svc.cluster.local');
    expect(e.r.kind).toBe('chase');
    expect(e.r.kind === 'chase' && e.r.target).toBe('example.com');
    expect(e.res!.answers).toEqual([expect.objectContaining({ type: 'CNAME', data: 'example.com' })]);
    const a = ask('alias.default.svc.cluster.local').res!;
    expect(a.answers!.map((x) => [x.type, (x as { data: unknown }).data])).toEqual([
      ['CNAME', 'web.default.svc.cluster.local'],
      ['A', '10.96.5.5'],
    ]);
  });

  it('NXDOMAIN for unknown cluster names; NODATA for existing namespaces; SOA at the apex', () => {
    expect(ask('nope.default.svc.cluster.local').res!.rcode).toBe('NXDOMAIN');
    expect(ask('web.nope.svc.cluster.local').res!.rcode).toBe('NXDOMAIN');
    expect(ask('google.com.default.svc.cluster.local').res!.rcode).toBe('NXDOMAIN');
    expect(ask('whatever.cluster.local').res!.rcode).toBe('NXDOMAIN');
    const ns = ask('default.svc.cluster.local').res!;
    expect([ns.rcode, ns.answers!.length]).toEqual(['NOERROR', 0]);
    expect(ask('cluster.local', 'SOA').res!.answers![0]).toMatchObject({ type: 'SOA', data: expect.objectContaining({ mname: 'ns.dns.cluster.local' }) });
  });

  it('PTR for ClusterIPs and headless endpoints; other reverse names are forwarded', () => {
    expect(data(ask('5.5.96.10.in-addr.arpa', 'PTR').res!.answers)).toEqual(['web.default.svc.cluster.local']);
    expect(data(ask('7.2.244.10.in-addr.arpa', 'PTR').res!.answers)).toEqual(['db-1.db.data.svc.cluster.local']);
    expect(ask('1.1.168.192.in-addr.arpa', 'PTR').r.kind).toBe('forward');
  });

  it('forwards names outside the zone; copies RD and sets RA', () => {
    expect(ask('example.com').r.kind).toBe('forward');
    const { res } = ask('web.default.svc.cluster.local');
    expect(res!.flag_rd).toBe(true);
    expect(res!.flag_ra).toBe(true);
  });

  it('answers FORMERR to a query without a question', () => {
    const r = resolver.resolve(dnsPacket.decode(dnsPacket.encode({ type: 'query', id: 1, questions: [] })));
    expect(r.kind === 'answer' && (r.response.flags! & 0xf)).toBe(RCODE.FORMERR);
  });

  it('supports another cluster domain', () => {
    const other = new ClusterDnsResolver(catalog, { domain: 'corp.internal', ttl: 30 });
    const r = other.resolve(dnsPacket.decode(dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'web.default.svc.corp.internal' }] })));
    expect(r.kind === 'answer' && r.response.answers).toEqual([expect.objectContaining({ data: '10.96.5.5', ttl: 30 })]);
  });
});
