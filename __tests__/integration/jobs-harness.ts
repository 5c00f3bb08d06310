/**
 * A controller test bench shared by the batch, node-lifecycle, disruption and HPA integration
 * tests: a real `:memory:` store and registry whose clock is a ManualClock, shared informers,
 * and controllers started on that clock, so time-based behaviour is tested without sleeping.
 * Pods are bound and given status by hand (no scheduler or kubelet runs here).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { SqliteStore } from '../../src/store/sqlite-store';
import { Registry } from '../../src/apiserver/registry';
import { InformerFactory } from '../../src/client/informer';
import { bootstrapCluster } from '../../src/manager/bootstrap';
import { resourceFor } from '../../src/api/scheme';
import type { KObject } from '../../src/api/types';
import type { ControllerContext, ControllerSettings } from '../../src/controllers/context';
import type { Runnable } from '../../src/manager/runnable';
import { ManualClock } from '../../src/kubelet/runtime/fake/fake-runtime';
import { silentLogger } from '../../src/util/log';

export interface RecordedEvent {
  kind: string;
  name: string;
  type: string;
  reason: string;
  message: string;
}

export const RI = {
  pods: resourceFor('', 'pods')!,
  nodes: resourceFor('', 'nodes')!,
  leases: resourceFor('coordination.k8s.io', 'leases')!,
  jobs: resourceFor('batch', 'jobs')!,
  cronjobs: resourceFor('batch', 'cronjobs')!,
  pdbs: resourceFor('policy', 'poddisruptionbudgets')!,
  deployments: resourceFor('apps', 'deployments')!,
  replicasets: resourceFor('apps', 'replicasets')!,
  hpas: resourceFor('autoscaling', 'horizontalpodautoscalers')!,
};

export class Bench {
  readonly clock: ManualClock;
  readonly store: SqliteStore;
  readonly registry: Registry;
  readonly informers: InformerFactory;
  readonly events: RecordedEvent[] = [];
  readonly ctx: ControllerContext;
  private readonly stops: AbortController[] = [];
  private readonly runnables: Runnable[] = [];

  constructor(start = Date.UTC(2024, 0, 1, 0, 0, 0), settings: ControllerSettings = {}) {
    this.clock = new ManualClock(start);
    this.store = new SqliteStore({ path: ':memory:' });
    this.registry = new Registry(this.store, { now: () => new Date(this.clock.now()) });
    bootstrapCluster(this.registry);
    this.informers = new InformerFactory(this.registry);
    this.ctx = {
      registry: this.registry,
      informers: this.informers,
      log: silentLogger,
      clock: this.clock,
      recorder: () => ({
        event: (obj, type, reason, message) => this.events.push({ kind: obj.kind, name: obj.metadata.name!, type, reason, message }),
      }),
      settings,
    };
  }

  async start(r: Runnable): Promise<void> {
    const ac = new AbortController();
    this.stops.push(ac);
    this.runnables.push(r);
    await r.start(ac.signal);
    await this.settle();
  }

  /** Lets workers drain their queues (reconciles are synchronous; a few turns suffice). */
  async settle(turns = 30): Promise<void> {
    for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
  }

  async advance(ms: number): Promise<void> {
    await this.clock.advance(ms);
    await this.settle();
  }

  async stop(): Promise<void> {
    for (const s of this.stops) s.abort();
    await Promise.all(this.runnables.map((r) => r.stopped?.()));
    this.informers.stopAll();
    this.store.close();
  }

  reasons(name?: string): string[] {
    return this.events.filter((e) => !name || e.name === name).map((e) => e.reason);
  }

  get(ri: (typeof RI)[keyof typeof RI], ns: string | undefined, name: string): KObject {
    return this.registry.get(ri, ns, name);
  }

  list(ri: (typeof RI)[keyof typeof RI], ns?: string, labels?: Record<string, string>): KObject[] {
    return this.registry.list(ri, ns).items.filter((o) => !labels || Object.entries(labels).every(([k, v]) => o.metadata.labels?.[k] === v));
  }

  podsOf(owner: KObject): KObject[] {
    return this.list(RI.pods, owner.metadata.namespace).filter((p) => p.metadata.ownerReferences?.some((r) => r.uid === owner.metadata.uid));
  }

  /** What a kubelet would post: phase, Ready, container states, startTime. */
  setPodStatus(p: KObject, phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed', o: { ready?: boolean; exitCode?: number; restartCount?: number } = {}): KObject {
    const now = new Date(this.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const ready = o.ready ?? phase === 'Running';
    const terminated = phase === 'Succeeded' || phase === 'Failed';
    const cur = this.registry.get(RI.pods, p.metadata.namespace, p.metadata.name!);
    const containers = (cur.spec?.containers ?? []).map((c: { name: string }) => ({
      name: c.name,
      ready: ready && !terminated,
      restartCount: o.restartCount ?? 0,
      image: 'busybox',
      imageID: '',
      state: terminated
        ? { terminated: { exitCode: o.exitCode ?? (phase === 'Succeeded' ? 0 : 1), reason: phase === 'Succeeded' ? 'Completed' : 'Error', startedAt: now, finishedAt: now } }
        : phase === 'Running'
          ? { running: { startedAt: now } }
          : { waiting: { reason: 'ContainerCreating' } },
    }));
    const status = {
      ...(cur.status ?? {}),
      phase,
      startTime: cur.status?.startTime ?? now,
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
        { type: 'Ready', status: ready && !terminated ? 'True' : 'False', lastTransitionTime: now },
        { type: 'ContainersReady', status: ready && !terminated ? 'True' : 'False', lastTransitionTime: now },
      ],
      containerStatuses: containers,
    };
    return this.registry.update(RI.pods, cur.metadata.namespace, cur.metadata.name!, { ...cur, status }, { subresource: 'status' });
  }

  bind(p: KObject, node: string): KObject {
    return this.registry.guaranteedUpdate(
      RI.pods,
      p.metadata.namespace,
      p.metadata.name!,
      (cur) => {
        cur.spec.nodeName = node;
        return cur;
      },
      { subresource: 'binding' },
    );
  }
}

/** A writable kubeconfig for an in-process test cluster, for running the real kubectl. */
export function writeKubeconfig(dir: string, server: string, token: string, caPem: string): string {
  const file = path.join(dir, 'kubeconfig');
  const ca = Buffer.from(caPem).toString('base64');
  fs.writeFileSync(
    file,
    `apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster:\n    server: ${server}\n    certificate-authority-data: ${ca}\nusers:\n- name: t\n  user:\n    token: ${token}\ncontexts:\n- name: t\n  context:\n    cluster: t\n    user: t\ncurrent-context: t\n`,
    { mode: 0o600 },
  );
  return file;
}

export function kubectl(kubeconfig: string, args: string[], bin = '/usr/bin/kubectl'): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { env: { ...process.env, KUBECONFIG: kubeconfig, HOME: path.dirname(kubeconfig) }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export type PodOutcome = 'Running' | 'Succeeded' | 'Failed';

/**
 * A stand-in for the scheduler-bound kubelets of an in-process test cluster (no containers):
 * every `intervalMs` it renews the nodes' Leases and Ready heartbeats, moves pods bound to a
 * node to the phase `outcome(pod)` decides (Running pods are Ready) and confirms graceful
 * deletions of bound pods (grace 0), as a kubelet would once the containers stopped.
 */
export function simulateKubelets(registry: Registry, nodes: string[], outcome: (p: KObject) => PodOutcome = () => 'Running', intervalMs = 50): { stop: () => void; addNode: (n: string) => void; stopNode: (n: string) => void } {
  const live = new Set<string>();
  const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const addNode = (name: string) => {
    if (!registry.tryGet(RI.nodes, undefined, name)) {
      registry.create(RI.nodes, undefined, {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } },
        spec: {},
        status: { capacity: { cpu: '4', memory: '8Gi', pods: '110' }, allocatable: { cpu: '4', memory: '8Gi', pods: '110' }, conditions: [] },
      });
    }
    live.add(name);
    beat();
  };
  let lastBeat = 0;
  const beat = () => {
    lastBeat = Date.now();
    for (const name of live) {
      const t = now();
      const lease = registry.tryGet(RI.leases, 'kube-node-lease', name);
      const renewTime = new Date().toISOString().replace('Z', '000Z');
      if (!lease) registry.create(RI.leases, 'kube-node-lease', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name }, spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime } });
      else registry.guaranteedUpdate(RI.leases, 'kube-node-lease', name, (l) => ({ ...l, spec: { ...l.spec, renewTime } }));
      registry.guaranteedUpdate(
        RI.nodes,
        undefined,
        name,
        (n) => {
          const prev = (n.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready');
          const ready = { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: t, lastTransitionTime: prev?.status === 'True' ? prev.lastTransitionTime : t };
          return { ...n, status: { ...n.status, conditions: [ready] } };
        },
        { subresource: 'status' },
      );
    }
  };
  const tick = () => {
    try {
      if (Date.now() - lastBeat > 2000) beat();
      for (const p of registry.list(RI.pods, undefined).items) {
        const node = p.spec?.nodeName;
        if (!node || !live.has(node)) continue;
        if (p.metadata.deletionTimestamp) {
          try {
            registry.delete(RI.pods, p.metadata.namespace, p.metadata.name!, { gracePeriodSeconds: 0 });
          } catch {
            /* gone */
          }
          continue;
        }
        if (p.status?.phase && p.status.phase !== 'Pending') continue;
        const phase = outcome(p);
        const t = now();
        const terminated = phase !== 'Running';
        const status = {
          ...(p.status ?? {}),
          phase,
          startTime: t,
          podIP: '10.244.0.10',
          conditions: [
            { type: 'PodScheduled', status: 'True', lastTransitionTime: t },
            { type: 'Initialized', status: 'True', lastTransitionTime: t },
            { type: 'Ready', status: terminated ? 'False' : 'True', lastTransitionTime: t },
            { type: 'ContainersReady', status: terminated ? 'False' : 'True', lastTransitionTime: t },
          ],
          containerStatuses: (p.spec.containers ?? []).map((c: { name: string; image: string }) => ({
            name: c.name,
            image: c.image,
            imageID: '',
            ready: !terminated,
            restartCount: 0,
            started: !terminated,
            state: terminated ? { terminated: { exitCode: phase === 'Succeeded' ? 0 : 1, reason: phase === 'Succeeded' ? 'Completed' : 'Error', startedAt: t, finishedAt: t } } : { running: { startedAt: t } },
          })),
        };
        try {
          registry.update(RI.pods, p.metadata.namespace, p.metadata.name!, { ...p, status }, { subresource: 'status' });
        } catch {
          /* changed meanwhile: next tick */
        }
      }
    } catch {
      /* store closed */
    }
  };
  for (const n of nodes) addNode(n);
  const timer = setInterval(tick, intervalMs);
  return { stop: () => clearInterval(timer), addNode, stopNode: (n) => live.delete(n) };
}
