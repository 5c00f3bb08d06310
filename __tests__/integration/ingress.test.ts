/**
 * The built-in ingress controller against an in-process cluster (no kubelets): "pods" are HTTP
 * servers on 127.0.0.2/127.0.0.3 whose status the test sets. Two hosts to two Services, paths,
 * TLS with SNI from a kubernetes.io/tls Secret, default backend, 404/503 pages, WebSocket-style
 * upgrades, and the Ingress status.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { startTestCluster, eventually } from '../helpers/cluster';
import { resourceFor } from '../../src/api/scheme';
import { selfSignedCertificate } from '../../src/network/ingress/default-cert';

jest.setTimeout(60_000);

const PODS = resourceFor('', 'pods')!;
const SVCS = resourceFor('', 'services')!;
const INGS = resourceFor('networking.k8s.io', 'ingresses')!;
const SECRETS = resourceFor('', 'secrets')!;

type Cluster = Awaited<ReturnType<typeof startTestCluster>>;
let t: Cluster;
let port = 0;
const servers: http.Server[] = [];
let httpPort = 0;
let httpsPort = 0;

function addPod(name: string, app: string, ip: string): void {
  t.cluster.registry.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app } }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x', ports: [{ name: 'web', containerPort: port }] }] } });
  t.cluster.registry.guaranteedUpdate(PODS, 'default', name, (p) => ({ ...p, status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] } }), { subresource: 'status' });
}

function svc(name: string, app: string): void {
  t.cluster.registry.create(SVCS, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app }, ports: [{ name: 'http', port: 80, targetPort: 'web' }] } });
}

function request(p: number, host: string, path = '/', headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: p, path, headers: { host, ...headers }, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on('error', reject);
  });
}

beforeAll(async () => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.2', () => r()));
  port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  for (const ip of ['127.0.0.2', '127.0.0.3']) {
    const s = http.createServer((req, res) => {
      if (req.headers.upgrade) return; // handled below
      res.setHeader('x-backend', ip);
      res.end(`${ip} ${req.url} host=${req.headers.host} xff=${req.headers['x-forwarded-for']} proto=${req.headers['x-forwarded-proto']}`);
    });
    s.on('upgrade', (req, socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      socket.on('data', (d) => socket.write(`${ip}:${d}`));
    });
    await new Promise<void>((r) => s.listen(port, ip, () => r()));
    servers.push(s);
  }
  t = await startTestCluster({ network: { proxyMode: 'none', dns: false, hostPorts: false, ingress: { httpPort: 0, httpsPort: 0 } } });
  const a = t.cluster.network!.ingress!.addresses();
  httpPort = Number(a.http!.split(':')[1]);
  httpsPort = Number(a.https!.split(':')[1]);
  svc('app-a', 'a');
  svc('app-b', 'b');
  addPod('a-1', 'a', '127.0.0.2');
  addPod('b-1', 'b', '127.0.0.3');
  const cert = selfSignedCertificate('secure.example.com', ['secure.example.com']);
  t.cluster.registry.create(SECRETS, 'default', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'secure-tls' }, type: 'kubernetes.io/tls', data: { 'tls.crt': Buffer.from(cert.certPem).toString('base64'), 'tls.key': Buffer.from(cert.keyPem).toString('base64') } });
  t.cluster.registry.create(INGS, 'default', {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'two-hosts' },
    spec: {
      tls: [{ hosts: ['secure.example.com'], secretName: 'secure-tls' }],
      rules: [
        { host: 'a.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'app-a', port: { number: 80 } } } }] } },
        { host: 'b.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'app-b', port: { name: 'http' } } } }, { path: '/missing', pathType: 'Prefix', backend: { service: { name: 'nope', port: { number: 80 } } } }] } },
        { host: 'secure.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'app-b', port: { number: 80 } } } }] } },
      ],
    },
  });
});

afterAll(async () => {
  await t.stop();
  for (const s of servers) s.close();
});

test('routes two hosts to two Services, with forwarding headers', async () => {
  const a = await eventually(async () => {
    const r = await request(httpPort, 'a.example.com', '/hello?x=1');
    expect(r.status).toBe(200);
    return r;
  });
  expect(a.body).toBe(`127.0.0.2 /hello?x=1 host=a.example.com xff=127.0.0.1 proto=http`);
  const b = await request(httpPort, 'b.example.com:8080', '/');
  expect(b.headers['x-backend']).toBe('127.0.0.3');
});

test('404 without a matching rule, 503 for a missing Service or no ready endpoints', async () => {
  const r404 = await request(httpPort, 'other.example.com');
  expect(r404.status).toBe(404);
  expect(r404.body).toContain('404 Not Found');
  expect((await request(httpPort, 'b.example.com', '/missing/x')).status).toBe(503);
  t.cluster.registry.guaranteedUpdate(PODS, 'default', 'a-1', (p) => ({ ...p, status: { ...p.status, conditions: [{ type: 'Ready', status: 'False' }] } }), { subresource: 'status' });
  await eventually(async () => {
    const r = await request(httpPort, 'a.example.com');
    expect(r.status).toBe(503);
    expect(r.body).toContain('no ready endpoints');
  });
  t.cluster.registry.guaranteedUpdate(PODS, 'default', 'a-1', (p) => ({ ...p, status: { ...p.status, conditions: [{ type: 'Ready', status: 'True' }] } }), { subresource: 'status' });
  await eventually(async () => expect((await request(httpPort, 'a.example.com')).status).toBe(200));
});

test('TLS: the Secret\'s certificate for its SNI name, the default certificate otherwise', async () => {
  const handshake = (servername: string) =>
    new Promise<{ cn: string; body: string }>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: httpsPort, servername, rejectUnauthorized: false }, () => {
        const cn = String(s.getPeerCertificate().subject.CN);
        s.write(`GET /tls HTTP/1.1\r\nHost: ${servername}\r\nConnection: close\r\n\r\n`);
        let body = '';
        s.on('data', (d) => (body += d));
        s.on('end', () => resolve({ cn, body }));
      });
      s.on('error', reject);
    });
  const secure = await handshake('secure.example.com');
  expect(secure.cn).toBe('secure.example.com');
  expect(secure.body).toContain('127.0.0.3 /tls host=secure.example.com xff=127.0.0.1 proto=https');
  expect((await handshake('a.example.com')).cn).toBe('minictl ingress default certificate');
});

test('the default backend catches what no rule matches', async () => {
  t.cluster.registry.create(INGS, 'default', { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'fallback' }, spec: { ingressClassName: 'minictl', defaultBackend: { service: { name: 'app-a', port: { number: 80 } } } } });
  await eventually(async () => expect((await request(httpPort, 'other.example.com', '/x')).body).toMatch(/^127\.0\.0\.2 \/x/));
});

test('Ingresses of another class are ignored', async () => {
  t.cluster.registry.create(INGS, 'default', { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'nginx-one' }, spec: { ingressClassName: 'nginx', rules: [{ host: 'n.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'app-b', port: { number: 80 } } } }] } }] } });
  const r = await request(httpPort, 'n.example.com', '/');
  expect(r.body).toMatch(/^127\.0\.0\.2 /); // the default backend, not app-b
  await new Promise((res) => setTimeout(res, 200));
  expect(t.cluster.registry.get(INGS, 'default', 'nginx-one').status?.loadBalancer?.ingress).toBeUndefined();
});

test('Upgrade requests are tunnelled', async () => {
  const reply = await new Promise<string>((resolve, reject) => {
    const s = net.connect(httpPort, '127.0.0.1', () => s.write('GET /ws HTTP/1.1\r\nHost: b.example.com\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n'));
    let buf = '';
    s.on('data', (d) => {
      buf += d;
      if (buf.includes('\r\n\r\n') && !buf.includes('ping')) s.write('ping');
      if (buf.includes('127.0.0.3:ping')) {
        s.destroy();
        resolve(buf);
      }
    });
    s.on('error', reject);
  });
  expect(reply).toMatch(/^HTTP\/1.1 101/);
});

test('Ingress status names the controller\'s address and its ports', async () => {
  await eventually(() => {
    const st = t.cluster.registry.get(INGS, 'default', 'two-hosts').status.loadBalancer;
    expect(st).toEqual({ ingress: [{ ip: '127.0.0.1', ports: [{ port: httpPort, protocol: 'TCP' }, { port: httpsPort, protocol: 'TCP' }] }] });
  });
});
