/**
 * Services end to end: a real daemon with two nodes, real Docker, host iptables and the real
 * kubectl. A web Deployment (busybox httpd, 3 replicas) behind a Service, reached from a client
 * pod on the other node by short name, namespace-qualified name, FQDN and ClusterIP, with
 * responses spread over the replicas; a replica failing readiness drops out and comes back; the
 * NodePort and a LoadBalancer reached from the host; `minictl service --url`; service
 * environment variables; `minictl status`; and `minictl delete` leaving no rule behind.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { newEnv, minictl, kubectl, kubectlOk, eventually, profileDir, type E2EEnv } from '../helpers/e2e';
import { chainPrefix } from '../../src/network/proxy/iptables-rules';

jest.setTimeout(600_000);

const BUSYBOX = 'minictl/busybox:local';
let e: E2EEnv;
let nodes: string[] = [];

function ok(args: string[]): string {
  const r = minictl(e, args);
  if (r.status !== 0) throw new Error(`minictl ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A command in the client pod (busybox); its stdout. */
function inClient(cmd: string): string {
  return kubectlOk(e, ['exec', 'client', '--', 'sh', '-c', cmd], { timeoutMs: 60_000 });
}

function httpGet(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', agent: false, timeout: 5000 }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve(b.trim()));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

function serviceRules(): string[] {
  const r = spawnSync('iptables-save', [], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.includes(chainPrefix(e.profile)));
}

const WEB = (replicas: number) => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: ${BUSYBOX}
        imagePullPolicy: Never
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /index.html, port: http}, periodSeconds: 1, failureThreshold: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
`;

beforeAll(async () => {
  e = newEnv('svc');
  ok(['start', '--nodes', '2', '--wait', '120']);
  nodes = await eventually(() => {
    const out = kubectlOk(e, ['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}']).trim().split(' ');
    const ready = out.filter((x) => x.endsWith('=True')).map((x) => x.split('=')[0]).sort();
    expect(ready).toHaveLength(2);
    return ready;
  }, 120_000);
  kubectlOk(e, ['apply', '-f', '-'], { input: WEB(3) });
  kubectlOk(e, ['run', 'client', `--image=${BUSYBOX}`, '--image-pull-policy=Never', `--overrides={"spec":{"nodeName":"${nodes[1]}","terminationGracePeriodSeconds":1}}`, '--', 'sleep', '3600']);
  await eventually(() => {
    expect(kubectlOk(e, ['get', 'deploy', 'web', '-o', 'jsonpath={.status.readyReplicas}'])).toBe('3');
    expect(kubectlOk(e, ['get', 'pod', 'client', '-o', 'jsonpath={.status.phase}'])).toBe('Running');
  }, 180_000);
});

afterAll(() => {
  e?.cleanup();
});

test('the Service has a ClusterIP, a node port, and Endpoints for the 3 replicas', () => {
  const svc = JSON.parse(kubectlOk(e, ['get', 'svc', 'web', '-o', 'json']));
  expect(svc.spec.clusterIP).toMatch(/^10\.(9[6-9]|10\d|11[01])\./);
  expect(svc.spec.ports[0].nodePort).toBeGreaterThanOrEqual(30000);
  const eps = kubectlOk(e, ['get', 'endpoints', 'web', '-o', 'jsonpath={.subsets[0].addresses[*].ip}']).trim().split(' ');
  expect(eps).toHaveLength(3);
  const slices = JSON.parse(kubectlOk(e, ['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web', '-o', 'json'])).items;
  expect(slices.flatMap((s: { endpoints: unknown[] }) => s.endpoints)).toHaveLength(3);
});

test('a client pod on another node reaches it by short name, ns-qualified name, FQDN and ClusterIP, spread over the replicas', async () => {
  const ip = kubectlOk(e, ['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}']);
  for (const host of ['web', 'web.default', 'web.default.svc.cluster.local', ip]) {
    const out = await eventually(() => inClient(`wget -q -O - http://${host}/`).trim(), 30_000);
    expect(out).toMatch(/^web-/);
  }
  const seen = new Set(inClient('i=0; while [ $i -lt 30 ]; do wget -q -O - http://web/; i=$((i+1)); done').trim().split('\n'));
  const pods = kubectlOk(e, ['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].metadata.name}']).trim().split(' ');
  expect([...seen].every((h) => pods.includes(h))).toBe(true);
  expect(seen.size).toBeGreaterThanOrEqual(2);
});

test('a replica failing readiness drops out of the Service and comes back', async () => {
  const pods = kubectlOk(e, ['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].metadata.name}']).trim().split(' ');
  const victim = pods[0];
  kubectlOk(e, ['exec', victim, '--', 'rm', '/www/index.html']);
  await eventually(() => expect(kubectlOk(e, ['get', 'endpoints', 'web', '-o', 'jsonpath={.subsets[0].addresses[*].ip}']).trim().split(' ')).toHaveLength(2), 30_000);
  const seen = new Set(inClient('i=0; while [ $i -lt 20 ]; do wget -q -O - http://web/; i=$((i+1)); done').trim().split('\n'));
  expect(seen.has(victim)).toBe(false);
  kubectlOk(e, ['exec', victim, '--', 'sh', '-c', 'hostname > /www/index.html']);
  await eventually(() => expect(kubectlOk(e, ['get', 'endpoints', 'web', '-o', 'jsonpath={.subsets[0].addresses[*].ip}']).trim().split(' ')).toHaveLength(3), 30_000);
  await eventually(() => expect(inClient('i=0; while [ $i -lt 30 ]; do wget -q -O - http://web/; i=$((i+1)); done')).toContain(victim), 30_000);
});

test('NodePort from the host; minictl service --url; NodePort on a node address from a pod', async () => {
  const np = Number(kubectlOk(e, ['get', 'svc', 'web', '-o', 'jsonpath={.spec.ports[0].nodePort}']));
  const body = await eventually(() => httpGet(np));
  expect(body).toMatch(/^web-/);
  expect(ok(['service', 'web', '--url']).trim()).toBe(`http://127.0.0.1:${np}`);
  const r = minictl(e, ['service', 'kubernetes']);
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('kubectl port-forward');
  const nodeIP = kubectlOk(e, ['get', 'node', nodes[0], '-o', 'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}']);
  expect(inClient(`wget -q -O - http://${nodeIP}:${np}/`)).toMatch(/^web-/);
});

test('a LoadBalancer gets 127.0.0.1 and is reachable there on its port', async () => {
  const port = await freePort();
  kubectlOk(e, ['expose', 'deployment', 'web', '--name', 'web-lb', '--type', 'LoadBalancer', `--port=${port}`, '--target-port=8080']);
  await eventually(() => expect(kubectlOk(e, ['get', 'svc', 'web-lb', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'])).toBe('127.0.0.1'), 30_000);
  expect(await eventually(() => httpGet(port), 30_000)).toMatch(/^web-/);
  expect(kubectlOk(e, ['get', 'svc', 'web-lb'])).toContain('127.0.0.1');
  expect(ok(['service', 'web-lb', '--url']).trim().split('\n')[0]).toBe(`http://127.0.0.1:${port}`);
});

test('pods created after a Service get its environment variables; the API server is reachable through `kubernetes`', async () => {
  kubectlOk(e, ['run', 'envcheck', `--image=${BUSYBOX}`, '--image-pull-policy=Never', '--restart=Never', '--', 'sleep', '3600']);
  await eventually(() => expect(kubectlOk(e, ['get', 'pod', 'envcheck', '-o', 'jsonpath={.status.phase}'])).toBe('Running'), 120_000);
  const env = kubectlOk(e, ['exec', 'envcheck', '--', 'env']);
  const ip = kubectlOk(e, ['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}']);
  expect(env).toContain(`WEB_SERVICE_HOST=${ip}`);
  expect(env).toContain('WEB_SERVICE_PORT=80');
  expect(env).toContain('WEB_SERVICE_PORT_HTTP=80');
  expect(env).toContain(`WEB_PORT_80_TCP=tcp://${ip}:80`);
  expect(env).toContain('KUBERNETES_SERVICE_HOST=10.96.0.1');
  // TCP connect through 10.96.0.1:443 to the API server (busybox has no TLS client: a plain connect)
  expect(inClient('echo | nc -w 3 10.96.0.1 443 >/dev/null 2>&1; echo rc=$?').trim()).toBe('rc=0');
});

test('minictl status reports the Services data plane; delete removes every rule', () => {
  const st = ok(['status']);
  expect(st).toMatch(/services:\s+ClusterIPs reachable from pods/);
  expect(st).toMatch(/dns:\s+10\.96\.0\.10 for pods/);
  expect(st).toMatch(/ingress:\s+http:\/\/127\.0\.0\.1:\d+/);
  expect(serviceRules().length).toBeGreaterThan(0);
  const r = minictl(e, ['delete']);
  expect(r.status).toBe(0);
  expect(serviceRules()).toEqual([]);
  expect(fs.existsSync(path.join(profileDir(e), 'network.json'))).toBe(false);
  expect(kubectl(e, ['get', 'svc']).status).not.toBe(0);
});
