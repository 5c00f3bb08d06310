import { desiredSlices, desiredSubsets, endpointLabels, mirroredSlices, resolveTargetPort, HEADLESS_LABEL } from '../../../src/controllers/endpoints/compute';
import type { KObject } from '../../../src/api/types';

function svc(spec: Record<string, unknown> = {}, labels: Record<string, string> = {}): KObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default', uid: 'svc-uid', labels }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' }], ...spec } };
}

function pod(name: string, ip: string | undefined, o: { ready?: boolean; deleting?: boolean; phase?: string; port?: number; node?: string; hostname?: string; subdomain?: string; portName?: string } = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: { app: 'web' }, ...(o.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}) },
    spec: {
      nodeName: o.node ?? 'n1',
      ...(o.hostname ? { hostname: o.hostname } : {}),
      ...(o.subdomain ? { subdomain: o.subdomain } : {}),
      containers: [{ name: 'c', ports: [{ name: o.portName ?? 'http', containerPort: o.port ?? 8080, protocol: 'TCP' }] }],
    },
    status: { phase: o.phase ?? 'Running', ...(ip ? { podIP: ip } : {}), conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
  };
}

describe('resolveTargetPort', () => {
  const p = pod('a', '10.0.0.1', { port: 9000 });
  it.each([
    [{ port: 80, targetPort: 8080 }, 8080],
    [{ port: 80 }, 80],
    [{ port: 80, targetPort: 'http' }, 9000],
    [{ port: 80, targetPort: '7070' }, 7070],
    [{ port: 80, targetPort: 'nope' }, undefined],
    [{ port: 80, targetPort: 'http', protocol: 'UDP' }, undefined],
  ])('%j → %s', (sp, want) => expect(resolveTargetPort(p, sp as never)).toBe(want));
});

describe('desiredSlices', () => {
  it('lists ready, not-ready and terminating pods with conditions, sorted by address', () => {
    const slices = desiredSlices(svc(), [pod('c', '10.0.0.3', { ready: false }), pod('a', '10.0.0.10'), pod('b', '10.0.0.2', { deleting: true }), pod('x', undefined), pod('done', '10.0.0.9', { phase: 'Succeeded' })], (n) => (n === 'n1' ? 'zone-a' : undefined));
    expect(slices).toHaveLength(1);
    expect(slices[0].ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    expect(slices[0].endpoints.map((e) => [e.addresses[0], e.conditions])).toEqual([
      ['10.0.0.2', { ready: false, serving: true, terminating: true }],
      ['10.0.0.3', { ready: false, serving: false, terminating: false }],
      ['10.0.0.10', { ready: true, serving: true, terminating: false }],
    ]);
    expect(slices[0].endpoints[2]).toMatchObject({ nodeName: 'n1', zone: 'zone-a', targetRef: { kind: 'Pod', namespace: 'default', name: 'a', uid: 'uid-a' } });
  });

  it('groups pods whose named port resolves differently into separate slices', () => {
    const slices = desiredSlices(svc(), [pod('a', '10.0.0.1', { port: 8080 }), pod('b', '10.0.0.2', { port: 9090 }), pod('c', '10.0.0.3', { portName: 'other' })]);
    expect(slices.map((s) => [s.ports[0].port, s.endpoints.map((e) => e.addresses[0])])).toEqual([
      [8080, ['10.0.0.1']],
      [9090, ['10.0.0.2']],
    ]);
  });

  it('splits at the per-slice maximum and keeps one empty slice for no endpoints', () => {
    const pods = Array.from({ length: 5 }, (_, i) => pod(`p${i}`, `10.0.1.${i + 1}`));
    expect(desiredSlices(svc(), pods, undefined, 2).map((s) => s.endpoints.length)).toEqual([2, 2, 1]);
    expect(desiredSlices(svc(), [])).toEqual([{ portsKey: '', ports: [], endpoints: [] }]);
  });

  it('publishNotReadyAddresses marks every endpoint ready; hostname needs subdomain = service', () => {
    const s = desiredSlices(svc({ publishNotReadyAddresses: true, clusterIP: 'None' }), [pod('db-0', '10.0.0.1', { ready: false, hostname: 'db-0', subdomain: 'web' }), pod('db-1', '10.0.0.2', { hostname: 'db-1', subdomain: 'other' })]);
    expect(s[0].endpoints.map((e) => [e.hostname, e.conditions.ready])).toEqual([
      ['db-0', true],
      [undefined, true],
    ]);
  });
});

describe('desiredSubsets (Endpoints)', () => {
  it('ready → addresses, not ready → notReadyAddresses, terminating left out', () => {
    const subsets = desiredSubsets(svc(), [pod('a', '10.0.0.1'), pod('b', '10.0.0.2', { ready: false }), pod('c', '10.0.0.3', { deleting: true })]);
    expect(subsets).toEqual([
      {
        addresses: [{ ip: '10.0.0.1', nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'default', name: 'a', uid: 'uid-a' } }],
        notReadyAddresses: [{ ip: '10.0.0.2', nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'default', name: 'b', uid: 'uid-b' } }],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
    ]);
    expect(desiredSubsets(svc(), [])).toEqual([]);
  });
});

describe('labels and mirroring', () => {
  it('copies Service labels and marks headless Services', () => {
    expect(endpointLabels(svc({}, { team: 'a' }), { x: 'y' })).toEqual({ team: 'a', x: 'y' });
    expect(endpointLabels(svc({ clusterIP: 'None' }))).toEqual({ [HEADLESS_LABEL]: '' });
  });

  it('mirrors Endpoints subsets into slices', () => {
    const ep: KObject = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'kube-dns', namespace: 'kube-system' }, subsets: [{ addresses: [{ ip: '10.244.1.1' }], notReadyAddresses: [{ ip: '10.244.2.1' }], ports: [{ name: 'dns-tcp', port: 5353, protocol: 'TCP' }, { name: 'dns', port: 5353, protocol: 'UDP' }] }] };
    const s = mirroredSlices(ep);
    expect(s).toHaveLength(1);
    expect(s[0].ports.map((p) => p.name)).toEqual(['dns', 'dns-tcp']);
    expect(s[0].endpoints).toEqual([
      { addresses: ['10.244.1.1'], conditions: { ready: true, serving: true, terminating: false } },
      { addresses: ['10.244.2.1'], conditions: { ready: false, serving: false, terminating: false } },
    ]);
  });
});
