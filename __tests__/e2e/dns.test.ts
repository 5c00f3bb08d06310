/**
 * Cluster DNS and Service variants end to end (real daemon, Docker, iptables, kubectl): a
 * headless Service for a StatefulSet (`db-0.db.<ns>.svc.cluster.local`, the Service name listing
 * only ready pods, SRV records), pod A records, an ExternalName alias, sessionAffinity ClientIP,
 * DNS over UDP and TCP through the kube-dns ClusterIP, and a non-default namespace.
 */
import { newEnv, minictl, kubectlOk, eventually, type E2EEnv } from '../helpers/e2e';

jest.setTimeout(600_000);

const BUSYBOX = 'minictl/busybox:local';
let e: E2EEnv;

function inClient(cmd: string): string {
  return kubectlOk(e, ['exec', '-n', 'apps', 'client', '--', 'sh', '-c', cmd], { timeoutMs: 60_000 });
}

/** Addresses in busybox nslookup output (after the server lines). */
function addresses(out: string): string[] {
  const lines = out.split('\n');
  const i = lines.findIndex((l) => l.startsWith('Name:'));
  return i < 0 ? [] : lines.slice(i).filter((l) => l.startsWith('Address')).map((l) => l.split(/\s+/).pop()!.replace(/:53$/, '')).sort();
}

const MANIFESTS = `
apiVersion: v1
kind: Namespace
metadata: {name: apps}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: apps}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: pg, port: 5432, targetPort: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: apps}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: ${BUSYBOX}
        imagePullPolicy: Never
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
        readinessProbe: {httpGet: {path: /index.html, port: 8080}, periodSeconds: 1, failureThreshold: 1}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: apps}
spec:
  replicas: 3
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
        readinessProbe: {httpGet: {path: /index.html, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: sticky, namespace: apps}
spec:
  selector: {app: web}
  sessionAffinity: ClientIP
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: alias, namespace: apps}
spec:
  type: ExternalName
  externalName: sticky.apps.svc.cluster.local
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: apps}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: sh, image: ${BUSYBOX}, imagePullPolicy: Never, command: ["sleep", "3600"]}]
`;

beforeAll(async () => {
  e = newEnv('dns');
  const r = minictl(e, ['start', '--nodes', '2', '--wait', '120']);
  if (r.status !== 0) throw new Error(`start failed: ${r.stderr}`);
  kubectlOk(e, ['apply', '-f', '-'], { input: MANIFESTS });
  await eventually(() => {
    expect(kubectlOk(e, ['get', 'sts', 'db', '-n', 'apps', '-o', 'jsonpath={.status.readyReplicas}'])).toBe('2');
    expect(kubectlOk(e, ['get', 'deploy', 'web', '-n', 'apps', '-o', 'jsonpath={.status.readyReplicas}'])).toBe('3');
    expect(kubectlOk(e, ['get', 'pod', 'client', '-n', 'apps', '-o', 'jsonpath={.status.phase}'])).toBe('Running');
  }, 240_000);
});

afterAll(() => {
  e?.cleanup();
});

test('StatefulSet pods by name through the headless Service; the Service name lists the ready pods', async () => {
  const ip0 = kubectlOk(e, ['get', 'pod', 'db-0', '-n', 'apps', '-o', 'jsonpath={.status.podIP}']);
  const ip1 = kubectlOk(e, ['get', 'pod', 'db-1', '-n', 'apps', '-o', 'jsonpath={.status.podIP}']);
  await eventually(() => expect(addresses(inClient('nslookup db-0.db.apps.svc.cluster.local'))).toEqual([ip0]), 30_000);
  expect(addresses(inClient('nslookup db-1.db.apps.svc.cluster.local'))).toEqual([ip1]);
  expect(addresses(inClient('nslookup db.apps.svc.cluster.local'))).toEqual([ip0, ip1].sort());
  expect(inClient('wget -q -O - http://db-1.db:8080/').trim()).toBe('db-1'); // the libc resolver with the pod's search list
  // db-1 not ready → gone from the Service name
  kubectlOk(e, ['exec', '-n', 'apps', 'db-1', '--', 'rm', '/www/index.html']);
  await eventually(() => expect(addresses(inClient('nslookup db.apps.svc.cluster.local'))).toEqual([ip0]), 30_000);
  kubectlOk(e, ['exec', '-n', 'apps', 'db-1', '--', 'sh', '-c', 'hostname > /www/index.html']);
  await eventually(() => expect(addresses(inClient('nslookup db.apps.svc.cluster.local'))).toEqual([ip0, ip1].sort()), 30_000);
});

test('SRV records for named ports; pod A records', () => {
  const srv = inClient('nslookup -type=srv _pg._tcp.db.apps.svc.cluster.local');
  expect(srv).toMatch(/db-0\.db\.apps\.svc\.cluster\.local/);
  expect(srv).toMatch(/db-1\.db\.apps\.svc\.cluster\.local/);
  expect(srv).toContain('8080');
  const ip = kubectlOk(e, ['get', 'pod', 'client', '-n', 'apps', '-o', 'jsonpath={.status.podIP}']);
  expect(addresses(inClient(`nslookup ${ip.replace(/\./g, '-')}.apps.pod.cluster.local`))).toEqual([ip]);
  expect(inClient('nslookup nothing-here.apps.svc.cluster.local 2>&1 || true')).toMatch(/NXDOMAIN|can't find/);
});

test('DNS over UDP and TCP through the kube-dns ClusterIP', () => {
  expect(addresses(inClient('nslookup kubernetes.default.svc.cluster.local 10.96.0.10'))).toEqual(['10.96.0.1']);
  // busybox nslookup has no TCP switch: a TCP DNS query written by hand (id 1, A kubernetes.default.svc.cluster.local)
  const q = '\\000\\066\\000\\001\\001\\000\\000\\001\\000\\000\\000\\000\\000\\000\\012kubernetes\\007default\\003svc\\007cluster\\005local\\000\\000\\001\\000\\001';
  const hex = inClient(`printf '${q}' | nc -w 3 10.96.0.10 53 | od -An -tx1 | tr -d ' \\n'`);
  expect(hex.endsWith('0a600001')).toBe(true); // the answer's RDATA: 10.96.0.1
});

test('sessionAffinity ClientIP keeps the client on one replica; ExternalName is a CNAME', async () => {
  const seen = await eventually(() => {
    const s = new Set(inClient('i=0; while [ $i -lt 15 ]; do wget -q -O - http://sticky/; i=$((i+1)); done').trim().split('\n'));
    expect(s.size).toBe(1);
    return s;
  }, 30_000);
  expect([...seen][0]).toMatch(/^web-/);
  const out = inClient('nslookup alias.apps.svc.cluster.local');
  const ip = kubectlOk(e, ['get', 'svc', 'sticky', '-n', 'apps', '-o', 'jsonpath={.spec.clusterIP}']);
  expect(out).toMatch(/canonical name = sticky\.apps\.svc\.cluster\.local/);
  expect(out).toContain(ip);
  expect(inClient('wget -q -O - http://alias/').trim()).toMatch(/^web-/);
});
