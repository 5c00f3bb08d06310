import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { networkStatusLines, serviceUrls } from '../../../src/cli/commands/service';
import type { KObject } from '../../../src/api/types';
import type { NetworkStatus } from '../../../src/network/proxy/service-network';

const svc = (spec: Record<string, unknown>, status: Record<string, unknown> = {}): KObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'default' }, spec, status });

describe('serviceUrls', () => {
  it.each([
    ['ClusterIP', svc({ type: 'ClusterIP', ports: [{ port: 80 }] }), []],
    ['NodePort', svc({ type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }, { name: 'https', port: 443, nodePort: 30443 }] }), ['http://127.0.0.1:30080', 'https://127.0.0.1:30443']],
    ['LoadBalancer', svc({ type: 'LoadBalancer', ports: [{ port: 8080, nodePort: 31000 }] }, { loadBalancer: { ingress: [{ ip: '127.0.0.1' }] } }), ['http://127.0.0.1:8080', 'http://127.0.0.1:31000']],
    ['LoadBalancer whose port is taken', svc({ type: 'LoadBalancer', ports: [{ port: 80, nodePort: 31001 }] }, { loadBalancer: { ingress: [{ ip: '127.0.0.1', ports: [{ port: 80, protocol: 'TCP', error: 'PortUnavailable' }] }] } }), ['http://127.0.0.1:31001']],
    ['UDP NodePort', svc({ type: 'NodePort', ports: [{ port: 53, protocol: 'UDP', nodePort: 30053 }] }), ['udp://127.0.0.1:30053']],
  ])('%s', (_n, s, want) => expect(serviceUrls(s).map((u) => u.url)).toEqual(want));
});

describe('networkStatusLines', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minictl-netstatus-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const base: NetworkStatus = {
    profile: 'p',
    updatedAt: '',
    serviceCidr: '10.96.0.0/12',
    clusterDomain: 'cluster.local',
    proxy: { mode: 'iptables', status: 'ok' },
    dns: { serviceIP: '10.96.0.10', listen: '0.0.0.0:5353', reachableFromPods: true, upstreams: [] },
    hostPorts: { bound: [], failed: [] },
    ingress: { http: '127.0.0.1:80', https: '127.0.0.1:443', notes: [] },
  };
  const write = (s: NetworkStatus) => fs.writeFileSync(path.join(dir, 'network.json'), JSON.stringify(s));

  it('is empty without a status file', () => {
    expect(networkStatusLines(path.join(dir, 'nope')).lines).toEqual([]);
  });

  it('says what works', () => {
    write(base);
    expect(networkStatusLines(dir).lines).toEqual([
      ['services', 'ClusterIPs reachable from pods (iptables rules, range 10.96.0.0/12)'],
      ['dns', '10.96.0.10 for pods; on this host: 127.0.0.1:5353'],
      ['ingress', 'http://127.0.0.1:80, https://127.0.0.1:443'],
    ]);
  });

  it('says what degraded and why', () => {
    write({
      ...base,
      proxy: { mode: 'iptables', status: 'degraded', reason: 'iptables not permitted (run the daemon as root)' },
      dns: { ...base.dns, listen: '127.0.0.1:5353', reachableFromPods: false, reason: "pods use the host's resolvers" },
      hostPorts: { bound: [], failed: [{ service: 'default/web', port: 80, protocol: 'TCP', error: 'port 80 needs root to bind' }] },
      ingress: { http: '127.0.0.1:40080', https: '127.0.0.1:40443', notes: ['HTTP port 80 needs root; listening on 127.0.0.1:40080 instead'] },
    });
    const lines = networkStatusLines(dir).lines.map(([k, v]) => `${k}: ${v}`);
    expect(lines).toEqual([
      'services: DEGRADED, ClusterIPs are not reachable from pods: iptables not permitted (run the daemon as root)',
      "dns: DEGRADED, pods use the host's resolvers; on this host: 127.0.0.1:5353",
      'ingress: http://127.0.0.1:40080, https://127.0.0.1:40443 (HTTP port 80 needs root; listening on 127.0.0.1:40080 instead)',
      'host port: DEGRADED, default/web tcp/80: port 80 needs root to bind',
    ]);
  });
});
