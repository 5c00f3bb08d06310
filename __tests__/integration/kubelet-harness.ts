/**
 * Test harness for kubelet integration tests: an in-process cluster (real store + apiserver),
 * a FakeRuntime for node "node-1" on a ManualClock, and a Kubelet driving it. Tests bind pods
 * themselves through spec.nodeName.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTestCluster, eventually } from '../helpers/cluster';
import { Kubelet, type KubeletOptions } from '../../src/kubelet/kubelet';
import { FakeRuntime, ManualClock } from '../../src/kubelet/runtime/fake/fake-runtime';
import { RegistryEventRecorder } from '../../src/client/events';
import { resourceFor } from '../../src/api/scheme';
import { silentLogger } from '../../src/util/log';
import type { KObject } from '../../src/api/types';

export const podsRI = resourceFor('', 'pods')!;
export const eventsRI = resourceFor('', 'events')!;
export const configMapsRI = resourceFor('', 'configmaps')!;
export const secretsRI = resourceFor('', 'secrets')!;

export type Started = Awaited<ReturnType<typeof startTestCluster>>;

/** Let promise chains and setImmediate callbacks run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

export class KubeletHarness {
  readonly clock = new ManualClock(Date.UTC(2024, 0, 1));
  rt!: FakeRuntime;
  kubelet!: Kubelet;
  t!: Started;
  dataDir!: string;
  private ctl?: AbortController;

  async start(opts: Partial<KubeletOptions> = {}): Promise<void> {
    this.t = await startTestCluster();
    this.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'minictl-kubelet-'));
    this.rt = new FakeRuntime({ profile: 'it', node: 'node-1', clock: this.clock, images: ['minictl/busybox:local'] });
    await this.startKubelet(opts);
  }

  async startKubelet(opts: Partial<KubeletOptions> = {}): Promise<Kubelet> {
    const c = this.t.cluster;
    this.ctl = new AbortController();
    this.kubelet = new Kubelet({
      nodeName: 'node-1',
      profile: 'it',
      registry: c.registry,
      informers: c.informers,
      runtime: this.rt,
      recorder: new RegistryEventRecorder(c.registry, 'kubelet', 'node-1'),
      log: silentLogger,
      clock: this.clock,
      dataDir: this.dataDir,
      ...opts,
    });
    await this.kubelet.start(this.ctl.signal);
    await settle();
    return this.kubelet;
  }

  async stopKubelet(): Promise<void> {
    this.ctl?.abort();
    await this.kubelet.stopped();
  }

  async stop(): Promise<void> {
    await this.stopKubelet();
    await this.t.stop();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }

  get registry() {
    return this.t.cluster.registry;
  }

  /** Advance the clock in steps (so PLEG relists and timers interleave as in real time). */
  async advance(ms: number, step = 1000): Promise<void> {
    let left = ms;
    while (left > 0) {
      const d = Math.min(step, left);
      await this.clock.advance(d);
      await settle();
      left -= d;
    }
    await settle();
  }

  createPod(name: string, spec: Record<string, unknown>, meta: Record<string, unknown> = {}, ns = 'default'): KObject {
    return this.registry.create(podsRI, ns, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: ns, ...meta },
      spec: { nodeName: 'node-1', ...spec },
    });
  }

  pod(name: string, ns = 'default'): KObject | undefined {
    return this.registry.tryGet(podsRI, ns, name);
  }

  /** Poll (advancing no clock) until `fn` passes. */
  async until<T>(fn: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
    return eventually(async () => {
      await settle();
      return fn();
    }, timeoutMs);
  }

  /** Advance the clock step by step until `fn` passes. */
  async advanceUntil<T>(fn: () => T, maxMs = 600_000, step = 1000): Promise<T> {
    let last: unknown;
    for (let t = 0; t <= maxMs; t += step) {
      await settle();
      try {
        return fn();
      } catch (e) {
        last = e;
      }
      await this.clock.advance(step);
    }
    throw last;
  }

  events(podName: string): Array<{ reason: string; message: string; type: string; count: number }> {
    return this.registry
      .list(eventsRI, 'default')
      .items.filter((e) => e.involvedObject?.name === podName)
      .map((e) => ({ reason: e.reason, message: e.message, type: e.type, count: e.count }));
  }

  containerStatus(podName: string, container: string, ns = 'default'): any {
    const p = this.pod(podName, ns);
    return [...(p?.status?.containerStatuses ?? []), ...(p?.status?.initContainerStatuses ?? [])].find((s: any) => s.name === container);
  }

  condition(podName: string, type: string): any {
    return (this.pod(podName)?.status?.conditions ?? []).find((c: any) => c.type === type);
  }

  /** Fake containers of a pod by Kubernetes container name, in creation order. */
  instances(podName: string, container: string) {
    return this.rt.all().filter((c) => c.podName === podName && c.containerName === container);
  }
}
