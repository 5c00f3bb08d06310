import { buildRouteTable, hostMatches, isOurIngress, matchRoute, pathMatches, requestHost, tlsFor } from '../../../src/network/ingress/routes';
import type { KObject } from '../../../src/api/types';

function ing(name: string, spec: Record<string, unknown>, created = '2024-01-01T00:00:00Z', meta: Record<string, unknown> = {}): KObject {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, namespace: 'default', creationTimestamp: created, ...meta }, spec };
}
const be = (service: string, port: number | string = 80) => ({ service: { name: service, port: typeof port === 'number' ? { number: port } : { name: port } } });
const path = (p: string, pathType: string, service: string, port?: number | string) => ({ path: p, pathType, backend: be(service, port) });

const ourClass: KObject = { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'minictl', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } }, spec: { controller: 'minictl.io/ingress' } };
const nginx: KObject = { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } };

describe('which Ingresses are ours', () => {
  it.each([
    [{ ingressClassName: 'minictl' }, {}, [ourClass, nginx], true],
    [{ ingressClassName: 'nginx' }, {}, [ourClass, nginx], false],
    [{}, {}, [ourClass, nginx], true],
    [{}, {}, [{ ...ourClass, metadata: { name: 'minictl' } }, { ...nginx, metadata: { name: 'nginx', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } } }], false],
    [{}, { 'kubernetes.io/ingress.class': 'nginx' }, [ourClass], false],
    [{}, { 'kubernetes.io/ingress.class': 'minictl' }, [], true],
  ])('%j %j → %s', (spec, annotations, classes, want) => {
    expect(isOurIngress(ing('x', spec, undefined, { annotations }), classes as KObject[])).toBe(want);
  });
});

describe('path and host matching', () => {
  it.each([
    ['Prefix', '/foo', '/foo', true],
    ['Prefix', '/foo', '/foo/', true],
    ['Prefix', '/foo', '/foo/bar', true],
    ['Prefix', '/foo', '/foobar', false],
    ['Prefix', '/', '/anything', true],
    ['Exact', '/foo', '/foo', true],
    ['Exact', '/foo', '/foo/', false],
  ])('%s %s vs %s → %s', (pathType, p, req, want) => expect(pathMatches({ path: p, pathType: pathType as 'Exact' }, req)).toBe(want));

  it.each([
    ['', 'x.example.com', true],
    ['a.example.com', 'a.example.com', true],
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'a.b.example.com', false],
    ['*.example.com', 'example.com', false],
  ])('host %s vs %s → %s', (rule, host, want) => expect(hostMatches(rule, host)).toBe(want));

  it('parses Host headers', () => {
    expect(requestHost('Foo.Example.com:8080')).toBe('foo.example.com');
    expect(requestHost(undefined)).toBe('');
    expect(requestHost('[::1]:80')).toBe('[::1]');
  });
});

describe('route table', () => {
  const table = buildRouteTable([
    ing('b', { rules: [{ host: 'b.example.com', http: { paths: [path('/', 'Prefix', 'svc-b')] } }] }, '2024-01-02T00:00:00Z'),
    ing('a', {
      defaultBackend: be('fallback'),
      tls: [{ hosts: ['a.example.com'], secretName: 'a-tls' }, { hosts: ['*.wild.example.com'], secretName: 'wild-tls' }],
      rules: [
        { host: 'a.example.com', http: { paths: [path('/', 'Prefix', 'root'), path('/api', 'Prefix', 'api', 'http'), path('/api/v2/', 'Prefix', 'v2'), path('/api', 'Exact', 'api-exact')] } },
        { host: '*.wild.example.com', http: { paths: [path('/', 'ImplementationSpecific', 'wild')] } },
        { http: { paths: [path('/any', 'Prefix', 'hostless')] } },
      ],
    }),
    // same host/path/type as an older Ingress: the older wins
    ing('late', { rules: [{ host: 'a.example.com', http: { paths: [path('/', 'Prefix', 'late')] } }] }, '2025-01-01T00:00:00Z'),
  ]);
  const svcFor = (host: string, p: string) => matchRoute(table, host, p).backend?.service;

  it('routes by host, longest path, Exact before Prefix', () => {
    expect(svcFor('a.example.com', '/')).toBe('root');
    expect(svcFor('a.example.com', '/index.html?x=1')).toBe('root');
    expect(svcFor('a.example.com', '/api')).toBe('api-exact');
    expect(svcFor('a.example.com', '/api/users')).toBe('api');
    expect(svcFor('a.example.com', '/api/v2/things')).toBe('v2');
    expect(svcFor('a.example.com', '/apix')).toBe('root');
    expect(svcFor('b.example.com', '/whatever')).toBe('svc-b');
    expect(matchRoute(table, 'a.example.com', '/api/users').backend?.port).toEqual({ name: 'http' });
  });

  it('wildcards match one label; hostless rules catch other hosts; then the default backend', () => {
    expect(svcFor('x.wild.example.com', '/')).toBe('wild');
    expect(svcFor('x.y.wild.example.com', '/any')).toBe('hostless');
    expect(svcFor('unknown.example.com', '/any/thing')).toBe('hostless');
    expect(svcFor('unknown.example.com', '/other')).toBe('fallback');
    expect(buildRouteTable([]).defaultBackend).toBeUndefined();
    expect(matchRoute(buildRouteTable([]), 'x', '/').backend).toBeUndefined();
  });

  it('oldest Ingress wins a conflict', () => {
    expect(table.routes.filter((r) => r.host === 'a.example.com' && r.path === '/' && r.pathType === 'Prefix').map((r) => r.backend.service)).toEqual(['root']);
  });

  it('picks TLS secrets by SNI name', () => {
    expect(tlsFor(table, 'a.example.com')?.secretName).toBe('a-tls');
    expect(tlsFor(table, 'Q.wild.example.com')?.secretName).toBe('wild-tls');
    expect(tlsFor(table, 'b.example.com')).toBeUndefined();
  });
});
