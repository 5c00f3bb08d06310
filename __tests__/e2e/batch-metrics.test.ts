/**
 * metrics.k8s.io from Docker stats and the HPA under a real CPU burner: an in-process cluster
 * (library API) with one Docker node and real kubelets, the metrics server installed the way a
 * cluster wires it (installMetricsServer with the node manager), the real kubectl. The
 * profile's containers, network and iptables rules are removed in afterAll.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Cluster } from '../../src/manager/cluster';
import { installMetricsServer } from '../../src/apiserver/metrics';
import { removeProfileResources } from '../../src/kubelet/node-manager';
import { realClock } from '../../src/controller/workqueue';
import { silentLogger } from '../../src/util/log';
import { eventually } from '../helpers/e2e';
import { kubectl as kubectlAsync, writeKubeconfig } from '../integration/jobs-harness';

jest.setTimeout(600_000);

const BUSYBOX = 'minictl/busybox:local';
const profile = `bm-${Math.random().toString(36).slice(2, 8)}`;
let dir: string;
let ctl: string;
let cluster: Cluster;
let kubeconfig: string;

async function k(args: string[], input?: string): Promise<string> {
  if (input !== undefined) {
    const f = path.join(dir, `in-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(f, input);
    args = args.map((a) => (a === '-' ? f : a));
  }
  const r = await kubectlAsync(kubeconfig, args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minictl-bm-'));
  ctl = path.join(dir, 'ctl');
  fs.mkdirSync(ctl, { mode: 0o777 });
  fs.chmodSync(ctl, 0o777);
  cluster = new Cluster({
    profile,
    dataDir: dir,
    inMemory: true,
    port: 0,
    nodes: 1,
    nodeRuntime: 'docker',
    controllerSettings: { metricsResolutionMs: 5_000, hpaSyncPeriodMs: 5_000, hpaDownscaleStabilizationMs: 15_000 },
  });
  const info = await cluster.start();
  installMetricsServer({ registry: cluster.registry, informers: cluster.informers, clock: realClock, log: silentLogger, settings: {} }, cluster.apiserver, cluster.nodeManager);
  kubeconfig = writeKubeconfig(dir, info.server, info.token, info.caCertPem);
});

afterAll(async () => {
  await cluster?.stop();
  await removeProfileResources(profile);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('kubectl top pod/node from Docker stats; the HPA scales a CPU burner up, then down', async () => {
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'burn', namespace: 'default' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'burn' } },
      template: {
        metadata: { labels: { app: 'burn' } },
        spec: {
          terminationGracePeriodSeconds: 1,
          volumes: [{ name: 'ctl', hostPath: { path: ctl, type: 'Directory' } }],
          containers: [
            {
              name: 'burn',
              image: BUSYBOX,
              imagePullPolicy: 'Never',
              // burns one core while /ctl/burn exists, idles otherwise
              command: ['sh', '-c', 'while :; do if [ -f /ctl/burn ]; then i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; else sleep 1; fi; done'],
              resources: { requests: { cpu: '100m', memory: '16Mi' } },
              volumeMounts: [{ name: 'ctl', mountPath: '/ctl' }],
            },
          ],
        },
      },
    },
  };
  await k(['apply', '-f', '-'], JSON.stringify(deployment));
  await k(['rollout', 'status', 'deployment/burn', '--timeout=120s']);

  // idle: kubectl top shows small numbers
  const idle = await eventually(async () => {
    const r = await kubectlAsync(kubeconfig, ['top', 'pod', '-l', 'app=burn', '--no-headers']);
    expect(r.code).toBe(0);
    return r.stdout.trim().split(/\s+/);
  }, 60_000, 1_000);
  expect(idle[1]).toMatch(/^\d+m$/);
  expect(idle[2]).toMatch(/^\d+(Ki|Mi)$/);
  const nodeTop = (await k(['top', 'node', '--no-headers'])).trim().split(/\s+/);
  expect(nodeTop[0]).toBe(profile);
  expect(nodeTop[2]).toMatch(/^\d+%$/);

  fs.writeFileSync(path.join(ctl, 'burn'), '');
  await eventually(async () => {
    const cpu = parseInt((await k(['top', 'pod', '-l', 'app=burn', '--no-headers'])).trim().split(/\s+/)[1], 10);
    expect(cpu).toBeGreaterThan(300);
  }, 60_000, 1_000);

  await k(['autoscale', 'deployment', 'burn', '--cpu-percent=50', '--min=1', '--max=3']);
  const t0 = Date.now();
  await eventually(async () => expect((await k(['get', 'deployment', 'burn', '-o', 'jsonpath={.spec.replicas}'])).trim()).toBe('3'), 120_000, 1_000);
  const upMs = Date.now() - t0;
  const events = await k(['get', 'events', '--field-selector', 'involvedObject.kind=HorizontalPodAutoscaler', '-o', 'jsonpath={.items[*].message}']);
  expect(events).toMatch(/New size: 3; reason: cpu resource utilization \(percentage of request\) above target/);
  const hpa = (await k(['get', 'hpa', 'burn', '--no-headers'])).trim();
  expect(hpa).toMatch(/^burn\s+Deployment\/burn\s+cpu: \d+%\/50%\s+1\s+3\s+\d\s/);

  fs.rmSync(path.join(ctl, 'burn'));
  const t1 = Date.now();
  await eventually(async () => expect((await k(['get', 'deployment', 'burn', '-o', 'jsonpath={.spec.replicas}'])).trim()).toBe('1'), 180_000, 1_000);
  process.stderr.write(`timing: HPA scaled 1 → 3 ${(upMs / 1000).toFixed(1)} s after autoscale; back to 1 ${((Date.now() - t1) / 1000).toFixed(1)} s after the load stopped (15 s stabilization)\n`);
  const after = await k(['get', 'events', '--field-selector', 'involvedObject.kind=HorizontalPodAutoscaler', '-o', 'jsonpath={.items[*].message}']);
  expect(after).toContain('New size: 1; reason: All metrics below target');
});
