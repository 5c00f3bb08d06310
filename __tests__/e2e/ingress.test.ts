/**
 * Ingress end to end (real daemon, Docker, kubectl): an Ingress routing two hosts to two
 * Services (busybox httpd Deployments), path routing, TLS from a `kubectl create secret tls`
 * Secret chosen by SNI, the 404 page, and the address in the Ingress status and `minictl status`.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { newEnv, minictl, kubectlOk, eventually, type E2EEnv } from '../helpers/e2e';
import { selfSignedCertificate } from '../../src/network/ingress/default-cert';

jest.setTimeout(600_000);

const BUSYBOX = 'minictl/busybox:local';
let e: E2EEnv;
let httpPort = 0;
let httpsPort = 0;

const app = (name: string) => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: 2
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: ${BUSYBOX}
        imagePullPolicy: Never
        command: ["sh", "-c", "mkdir -p /www/api && echo ${name} > /www/index.html && echo ${name}-api > /www/api/index.html && exec httpd -f -p 8080 -h /www"]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec:
  selector: {app: ${name}}
  ports: [{name: http, port: 80, targetPort: http}]
`;

const INGRESS = `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: two-hosts}
spec:
  tls: [{hosts: [blue.example.test], secretName: blue-tls}]
  rules:
  - host: blue.example.test
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: blue, port: {number: 80}}}}]
  - host: green.example.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: green, port: {name: http}}}}
      - {path: /api, pathType: Prefix, backend: {service: {name: blue, port: {number: 80}}}}
`;

function get(host: string, p = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: httpPort, path: p, headers: { host }, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: body.trim() }));
    });
    req.on('error', reject);
  });
}

beforeAll(async () => {
  e = newEnv('ing');
  const r = minictl(e, ['start', '--nodes', '2', '--wait', '120']);
  if (r.status !== 0) throw new Error(`start failed: ${r.stderr}`);
  kubectlOk(e, ['apply', '-f', '-'], { input: app('blue') + '---' + app('green') });
  const cert = selfSignedCertificate('blue.example.test', ['blue.example.test']);
  fs.writeFileSync(path.join(e.home, 'tls.crt'), cert.certPem);
  fs.writeFileSync(path.join(e.home, 'tls.key'), cert.keyPem);
  kubectlOk(e, ['create', 'secret', 'tls', 'blue-tls', `--cert=${path.join(e.home, 'tls.crt')}`, `--key=${path.join(e.home, 'tls.key')}`]);
  kubectlOk(e, ['apply', '-f', '-'], { input: INGRESS });
  await eventually(() => {
    for (const d of ['blue', 'green']) expect(kubectlOk(e, ['get', 'deploy', d, '-o', 'jsonpath={.status.readyReplicas}'])).toBe('2');
  }, 180_000);
  const st = JSON.parse(minictl(e, ['status', '-o', 'json']).stdout);
  httpPort = Number(st.services.ingress.http.split(':')[1]);
  httpsPort = Number(st.services.ingress.https.split(':')[1]);
});

afterAll(() => {
  e?.cleanup();
});

test('the Ingress gets the controller\'s address', async () => {
  await eventually(() => expect(kubectlOk(e, ['get', 'ingress', 'two-hosts', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'])).toBe('127.0.0.1'), 30_000);
  expect(kubectlOk(e, ['get', 'ingressclass'])).toContain('minictl.io/ingress');
  expect(minictl(e, ['status']).stdout).toMatch(new RegExp(`ingress:\\s+http://127\\.0\\.0\\.1:${httpPort}, https://127\\.0\\.0\\.1:${httpsPort}`));
});

test('two hosts reach two Services; a longer path wins; unknown hosts get 404', async () => {
  expect(await eventually(async () => (await get('blue.example.test')).body, 30_000)).toBe('blue');
  expect((await get('green.example.test')).body).toBe('green');
  expect((await get('green.example.test', '/api/')).body).toBe('blue-api');
  const miss = await get('nobody.example.test');
  expect(miss.status).toBe(404);
});

test('TLS: the Secret\'s certificate is served for its host (SNI)', async () => {
  const res = await new Promise<{ cn: string; body: string }>((resolve, reject) => {
    const ca = fs.readFileSync(path.join(e.home, 'tls.crt'));
    const s = tls.connect({ host: '127.0.0.1', port: httpsPort, servername: 'blue.example.test', ca }, () => {
      const cn = String(s.getPeerCertificate().subject.CN);
      s.write('GET / HTTP/1.1\r\nHost: blue.example.test\r\nConnection: close\r\n\r\n');
      let body = '';
      s.on('data', (d) => (body += d));
      s.on('end', () => resolve({ cn, body }));
    });
    s.on('error', reject);
  });
  expect(res.cn).toBe('blue.example.test');
  expect(res.body).toMatch(/\r\n\r\nblue\n?$/);
});
