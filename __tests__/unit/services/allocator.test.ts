import { ServiceAllocator, DEFAULT_NODE_PORT_RANGE } from '../../../src/network/ipam/service-allocator';
import { cidrContains, intToIp, ipToInt, isIPv4, parseCidr } from '../../../src/network/ipam/ipv4';
import { resourceFor } from '../../../src/api/scheme';
import type { KObject } from '../../../src/api/types';
import { InvalidError } from '../../../src/util/errors';

const SVC = resourceFor('', 'services')!;

function svc(name: string, spec: Record<string, unknown>, ns = 'default'): KObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { type: 'ClusterIP', ports: [{ port: 80, protocol: 'TCP' }], ...spec } };
}

/** An allocator over an in-memory list standing in for the store. */
function setup(existing: KObject[] = [], random = () => 0.5) {
  const store = [...existing];
  const alloc = new ServiceAllocator({ listServices: () => store, random });
  const create = (o: KObject): KObject => {
    const obj = JSON.parse(JSON.stringify(o));
    alloc.admit({ operation: 'CREATE', ri: SVC, obj, dryRun: false });
    store.push(obj);
    return obj;
  };
  const update = (old: KObject, next: KObject): KObject => {
    const obj = JSON.parse(JSON.stringify(next));
    alloc.admit({ operation: 'UPDATE', ri: SVC, obj, old, dryRun: false });
    store.splice(store.indexOf(old), 1, obj);
    return obj;
  };
  return { alloc, store, create, update };
}

describe('ipv4 helpers', () => {
  it.each([
    ['10.96.0.1', true],
    ['255.255.255.255', true],
    ['256.1.1.1', false],
    ['01.2.3.4', false],
    ['1.2.3', false],
    ['a.b.c.d', false],
  ])('isIPv4(%s) = %s', (ip, ok) => expect(isIPv4(ip)).toBe(ok));

  it('round-trips and checks ranges', () => {
    expect(intToIp(ipToInt('10.96.0.10'))).toBe('10.96.0.10');
    const c = parseCidr('10.96.0.0/12');
    expect(c.size).toBe(1 << 20);
    expect(cidrContains(c, '10.111.255.254')).toBe(true);
    expect(cidrContains(c, '10.112.0.0')).toBe(false);
    expect(parseCidr('10.244.1.7/24').base).toBe(ipToInt('10.244.1.0'));
    expect(() => parseCidr('10.0.0.0/33')).toThrow(RangeError);
  });
});

describe('ServiceAllocator: ClusterIP', () => {
  it('allocates from the range above the static band, and keeps requested addresses', () => {
    const { create } = setup();
    const a = create(svc('a', {}));
    expect(cidrContains(parseCidr('10.96.0.0/12'), a.spec.clusterIP)).toBe(true);
    expect(ipToInt(a.spec.clusterIP) - ipToInt('10.96.0.0')).toBeGreaterThanOrEqual(256);
    expect(a.spec.clusterIPs).toEqual([a.spec.clusterIP]);
    const k = create(svc('kubernetes', { clusterIP: '10.96.0.1' }));
    expect(k.spec.clusterIP).toBe('10.96.0.1');
  });

  it('never hands out the same address twice', () => {
    const { create } = setup([], () => 0); // always probes from the same start
    const ips = new Set<string>();
    for (let i = 0; i < 50; i++) ips.add(create(svc(`s${i}`, {})).spec.clusterIP);
    expect(ips.size).toBe(50);
  });

  it.each([
    ['in use', '10.96.0.10', 'provided IP is already allocated'],
    ['outside the range', '10.0.0.5', 'not in the valid range'],
    ['the network address', '10.96.0.0', 'not in the valid range'],
  ])('rejects a requested address %s with 422', (_what, ip, msg) => {
    const { create } = setup();
    create(svc('kube-dns', { clusterIP: '10.96.0.10' }, 'kube-system'));
    let err: unknown;
    try {
      create(svc('x', { clusterIP: ip }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidError);
    expect((err as InvalidError).code).toBe(422);
    expect((err as Error).message).toContain(msg);
    expect((err as Error).message).toContain('spec.clusterIPs');
  });

  it('headless and ExternalName Services get no address', () => {
    const { create } = setup();
    expect(create(svc('h', { clusterIP: 'None' })).spec.clusterIPs).toEqual(['None']);
    const e = create(svc('e', { type: 'ExternalName', externalName: 'example.com', ports: [] }));
    expect(e.spec.clusterIP).toBeUndefined();
  });

  it('keeps the address on an update that leaves it out (kubectl replace)', () => {
    const { create, update } = setup();
    const a = create(svc('a', {}));
    const b = update(a, svc('a', { ports: [{ port: 81, protocol: 'TCP' }] }));
    expect(b.spec.clusterIP).toBe(a.spec.clusterIP);
  });

  it('allocates when an ExternalName becomes ClusterIP, and releases the other way', () => {
    const { create, update } = setup();
    const e = create(svc('e', { type: 'ExternalName', externalName: 'example.com' }));
    const c = update(e, svc('e', { type: 'ClusterIP' }));
    expect(isIPv4(c.spec.clusterIP)).toBe(true);
    const back = update(c, svc('e', { type: 'ExternalName', externalName: 'example.com', clusterIP: '' }));
    expect(back.spec.clusterIP).toBeUndefined();
  });
});

describe('ServiceAllocator: NodePort', () => {
  it('allocates a node port per port in 30000-32767; one shared by 53/TCP and 53/UDP', () => {
    const { create } = setup();
    const s = create(svc('dns', { type: 'NodePort', ports: [{ name: 'u', port: 53, protocol: 'UDP' }, { name: 't', port: 53, protocol: 'TCP' }, { name: 'm', port: 9153, protocol: 'TCP' }] }));
    const [u, t, m] = s.spec.ports.map((p: { nodePort: number }) => p.nodePort);
    for (const p of [u, t, m]) expect(p).toBeGreaterThanOrEqual(DEFAULT_NODE_PORT_RANGE.min);
    for (const p of [u, t, m]) expect(p).toBeLessThanOrEqual(DEFAULT_NODE_PORT_RANGE.max);
    expect(u).toBe(t);
    expect(m).not.toBe(u);
  });

  it('honours a requested node port and rejects it for a second Service (422)', () => {
    const { create } = setup();
    expect(create(svc('a', { type: 'NodePort', ports: [{ port: 80, protocol: 'TCP', nodePort: 30080 }] })).spec.ports[0].nodePort).toBe(30080);
    expect(() => create(svc('b', { type: 'NodePort', ports: [{ port: 80, protocol: 'UDP', nodePort: 30080 }] }))).toThrow(/spec.ports\[0\].nodePort: Invalid value: 30080: provided port is already allocated/);
  });

  it('LoadBalancer gets node ports unless allocateLoadBalancerNodePorts is false', () => {
    const { create } = setup();
    expect(create(svc('lb', { type: 'LoadBalancer' })).spec.ports[0].nodePort).toBeGreaterThan(0);
    expect(create(svc('lb2', { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false })).spec.ports[0].nodePort).toBeUndefined();
  });

  it('keeps node ports by port name on update, and drops them when the type goes to ClusterIP', () => {
    const { create, update } = setup();
    const a = create(svc('a', { type: 'NodePort', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }));
    const np = a.spec.ports[0].nodePort;
    const b = update(a, svc('a', { type: 'NodePort', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }));
    expect(b.spec.ports[0].nodePort).toBe(np);
    const c = update(b, svc('a', { type: 'ClusterIP', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }));
    expect(c.spec.ports[0].nodePort).toBeUndefined();
    // released: another Service may take it now
    expect(create(svc('z', { type: 'NodePort', ports: [{ port: 1, protocol: 'TCP', nodePort: np }] })).spec.ports[0].nodePort).toBe(np);
  });

  it('ignores other kinds', () => {
    const { alloc } = setup();
    const cm: KObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, spec: { clusterIP: '' } };
    alloc.admit({ operation: 'CREATE', ri: resourceFor('', 'configmaps')!, obj: cm, dryRun: false });
    expect(cm.spec.clusterIP).toBe('');
  });
});
