/**
 * The kubelet of one node: runs the pods bound to it (`spec.nodeName`) on its container
 * runtime and reports their status.
 *
 * Structure (named as in Kubernetes):
 * - pod informer handlers keep a `PodRecord` per pod UID and hand work to the pod workers
 *   (`PodWorkers`, one serialised worker per pod);
 * - the PLEG relists the runtime every `relistPeriodMs` and re-syncs pods whose containers
 *   changed state (exits, crashes, removals), and pods it finds without an API object (orphans);
 * - `syncPod` is level-triggered: it reads the current pod and runtime state and takes the
 *   next steps (volumes → sandbox → init containers in order → containers, restarts with
 *   back-off, probe-driven kills), then writes the status (`StatusManager`);
 * - `ProbeManager` runs liveness/readiness/startup probes and re-syncs a pod whose probe
 *   result changed.
 *
 * Pod lifecycle:
 * - running pods: see `syncRunning`; restartPolicy Always/OnFailure/Never with the kubelet's
 *   crash-loop back-off (10 s doubling to 5 min, `CrashLoopBackOff`), image pull back-off
 *   (`ErrImagePull` → `ImagePullBackOff`), events as the kubelet records them;
 * - a pod that reaches Succeeded/Failed keeps its final status; its remaining containers and
 *   its sandbox are stopped, its exited containers are kept (for logs) until it is deleted;
 * - graceful deletion (deletionTimestamp): preStop hooks, SIGTERM with the grace period,
 *   SIGKILL, sandbox stop, final status, then `delete(gracePeriodSeconds: 0, uid precondition)`
 *   and removal of containers and volumes;
 * - a pod deleted from the API outright (force) is killed and cleaned up the same way.
 *
 * Restart safety: every container carries the runtime labels; `start` adopts what runs (a
 * running pod is never recreated) and removes containers, sandboxes and pod directories of
 * pods that no longer exist.
 *
 * Addresses: the pod IP is the sandbox's address on the node network. `status.hostIP` is the
 * InternalIP of this node's Node object when it lists one, else 127.0.0.1 — the address
 * hostPorts are published on.
 *
 * Starting a pod fast: a new pod's first containers are created while its sandbox starts
 * (`runNewPodSandbox`); the Running status is written by the sync that started the
 * containers, not by a later relist; states a sync has seen do not make the PLEG sync the pod
 * again. At most `maxParallelPodStarts` pods create and start containers at a time
 * (`StartSlots`), in arrival order.
 *
 * Concurrency: pods sync concurrently, one sync per pod at a time. Informer handlers only
 * record and enqueue. After `stopAllContainers` the instance is halted for good (a failed
 * node): create a new Kubelet to bring the node back.
 */
import * as os from 'node:os';
import type { Readable } from 'node:stream';
import type { KObject } from '../api/types';
import { resourceFor, type ResourceInfo } from '../api/scheme';
import { tryParseQuantity } from '../api/quantity';
import type { Registry } from '../apiserver/registry';
import type { InformerFactory, Informer } from '../client/informer';
import type { EventRecorder, EventType } from '../client/events';
import type { Runnable } from '../manager/runnable';
import { realClock, type Clock } from '../controller/workqueue';
import type { Logger } from '../util/log';
import { ConflictError, NotFoundError } from '../util/errors';
import { deepEqual } from '../util/equal';
import {
  ContainerConfig,
  ContainerInfo,
  ContainerRuntime,
  ContainerStatus,
  ImageNeverPullError,
  LABELS,
  Mount,
  PodSandbox,
  PodSandboxConfig,
  SANDBOX_CONTAINER_NAME,
} from './runtime/container-runtime';
import { Backoff, formatGoDuration } from './backoff';
import { PodWorkers, type SyncResult } from './pod-workers';
import { StartSlots, type StartLease } from './start-slots';
import { Prober, ProbeManager, type HttpGetFn, type ProbeType, type TcpConnectFn, type ProbedContainerState } from './prober';
import { StatusManager, computePodStatus, type ContainerView, type InstanceView } from './status-manager';
import { VolumeError, VolumeManager, type PreparedVolume } from './volumes';
import { ContainerConfigError, makeEnvironment, type PodFieldContext } from './env';
import { buildContainerConfig, containerHash, CONTAINER_HASH_LABEL, podDnsConfig, portMappings, pullAuth } from './pod-config';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export interface KubeletOptions {
  nodeName: string;
  profile: string;
  /** In-process API client. */
  registry: Registry;
  /** Shared informers; the kubelet uses pods, configmaps, secrets and persistentvolumeclaims. */
  informers: InformerFactory;
  /** docker or fake, already bound to this node's network. */
  runtime: ContainerRuntime;
  /** Component "kubelet", host = nodeName. */
  recorder: EventRecorder;
  log: Logger;
  clock?: Clock;
  /** Profile data dir; pod volumes under <dataDir>/pods/<podUID>/volumes/<plugin>/<name>. */
  dataDir: string;
  /** Host dir backing a bound PersistentVolume; default: the PV's hostPath/local path, else <dataDir>/volumes/<pvName>. */
  pvDir?: (pvName: string) => string | undefined;
  /** Cluster DNS for dnsPolicy ClusterFirst; without it pods get the runtime's default resolver. */
  dns?: { servers: string[]; searches?: string[]; options?: string[] };
  /** Default false: privileged containers are refused (CreateContainerConfigError). */
  allowPrivileged?: boolean;
  /** Service environment variables of a namespace. */
  serviceEnv?: (ns: string) => Record<string, string>;
  /** PLEG relist period; default 1000 ms. */
  relistPeriodMs?: number;
  /**
   * Pods creating and starting their sandbox and containers at the same time (default
   * DEFAULT_PARALLEL_POD_STARTS); further pods wait their turn in arrival order (see
   * StartSlots). 0 or Infinity: no limit. Kills, probes and status writes never take a slot;
   * a pod that is deleted while waiting for one stops waiting.
   */
  maxParallelPodStarts?: number;
  /** Test seams for http/tcp probes and hooks. */
  probeTransport?: { httpGet?: HttpGetFn; tcpConnect?: TcpConnectFn };
}

interface Instance extends InstanceView {
  info: ContainerInfo;
  sandboxId?: string;
  createdAt: number;
  hash?: string;
}

interface PodSnapshot {
  /** Sandboxes, latest attempt first. */
  sandboxes: ContainerInfo[];
  /** Instances per container name, latest first. */
  byName: Map<string, Instance[]>;
  /** Instances without a spec entry or not tied to a name we know. */
  all: Instance[];
}

interface PodRecord {
  uid: string;
  namespace: string;
  name: string;
  /** The API object; undefined once it has been removed from the API. */
  pod?: KObject;
  lastPod?: KObject;
  removed: boolean;
  /** Why a container is waiting to be (re)started. */
  reasons: Map<string, { reason: string; message?: string }>;
  /** Containers whose start failed: id → { message, at }. */
  startFailures: Map<string, { message: string; at: number }>;
  /** Termination messages read once per exited instance. */
  terminationMessages: Map<string, string>;
  /** Containers to restart whatever the restart policy (their spec changed). */
  forceRestart: Set<string>;
  /** Reached Succeeded/Failed; final status in `finalStatus`. */
  terminal: boolean;
  terminalHandled: boolean;
  finalStatus?: Json;
  failure?: { reason: string; message: string };
  terminationDone: boolean;
  cleanedUp: boolean;
  lastMountError?: string;
  volumes?: Map<string, PreparedVolume>;
  podIP?: string;
  firstSeen: number;
  /** The status last computed (API form), for containerFor. */
  lastComputed?: Json;
  /** True while this kubelet writes the pod's status (the informer echo is not a reason to re-sync). */
  writing?: boolean;
  /** The start slot lease of the sync in progress (see StartSlots). */
  lease?: StartLease;
  /** First seen after the start-up listing and not synced yet: the runtime holds nothing of the pod. */
  nothingInRuntime?: boolean;
}

function isTerminalPhase(phase: unknown): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}

function podDesc(pod: { metadata: { name?: string; namespace?: string; uid?: string } }): string {
  return `${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
}

function errMessage(e: unknown): string {
  return String((e as Error)?.message ?? e);
}

function defaultPullPolicy(image: string): string {
  if (image.includes('@')) return 'IfNotPresent';
  const last = image.slice(image.lastIndexOf('/') + 1);
  const tag = last.includes(':') ? last.slice(last.indexOf(':') + 1) : 'latest';
  return tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function readStream(s: Readable, max = 2048): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('end', () => resolve(out.slice(-max)));
    s.on('error', () => resolve(out.slice(-max)));
  });
}

/** Whether a container's environment reads the pod IP (its config must wait for the sandbox). */
function envNeedsPodIP(c: Json): boolean {
  return (c.env ?? []).some((e: Json) => {
    const f = e?.valueFrom?.fieldRef?.fieldPath;
    return f === 'status.podIP' || f === 'status.podIPs';
  });
}

/**
 * Default for `maxParallelPodStarts`, measured on 2 cores with Docker 20.10 (bursts of 50 pods,
 * 4 runs each): 8 gave the best per-pod latency (p50 ~10 % below no limit) with the whole burst
 * done ~10 % later than with no limit; 2 and 4 finished the burst 20–45 % later.
 */
export const DEFAULT_PARALLEL_POD_STARTS = 8;
const MIN_GRACE_SECONDS = 2;
const VOLUME_RETRY_MS = 10_000;
const CONFIG_RETRY_MS = 10_000;

export class Kubelet implements Runnable {
  readonly name: string;
  readonly runtime: ContainerRuntime;
  private readonly opts: KubeletOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly podsRI: ResourceInfo;
  private readonly nodesRI: ResourceInfo;
  private readonly configMapsRI: ResourceInfo;
  private readonly secretsRI: ResourceInfo;
  private readonly pvcsRI: ResourceInfo;
  private readonly pvsRI: ResourceInfo;
  private readonly records = new Map<string, PodRecord>();
  private workers: PodWorkers;
  private readonly backoff: Backoff;
  private readonly imageBackoff: Backoff;
  private readonly sandboxBackoff: Backoff;
  private readonly prober: Prober;
  private readonly probes: ProbeManager;
  private readonly statusManager: StatusManager;
  private readonly volumes: VolumeManager;
  private readonly startSlots: StartSlots;
  /** Cached runtime statuses: id → { listed state, status }. */
  private readonly statusCache = new Map<string, { state: string; status: ContainerStatus }>();
  /** PLEG: container id → "state/ip" and → pod uid. */
  private readonly plegState = new Map<string, { key: string; podUid: string }>();
  private podInformer?: Informer;
  private runtimeName = 'docker';
  private relistTimer?: unknown;
  private relisting = false;
  private stopping = false;
  private halted = false;
  private handlersAdded = false;
  private startedOnce = false;
  /** Set once the start-up listing is done: pods first seen from then on have no containers yet. */
  private listedAtStart = false;
  private stoppedPromise: Promise<void> = Promise.resolve();

  constructor(opts: KubeletOptions) {
    this.opts = opts;
    this.name = `kubelet/${opts.nodeName}`;
    this.runtime = opts.runtime;
    this.clock = opts.clock ?? realClock;
    this.log = opts.log;
    this.podsRI = resourceFor('', 'pods')!;
    this.nodesRI = resourceFor('', 'nodes')!;
    this.configMapsRI = resourceFor('', 'configmaps')!;
    this.secretsRI = resourceFor('', 'secrets')!;
    this.pvcsRI = resourceFor('', 'persistentvolumeclaims')!;
    this.pvsRI = resourceFor('', 'persistentvolumes')!;
    this.workers = this.newWorkers();
    this.backoff = new Backoff(this.clock);
    this.imageBackoff = new Backoff(this.clock);
    this.sandboxBackoff = new Backoff(this.clock, 1000, 60_000);
    this.startSlots = new StartSlots(opts.maxParallelPodStarts ?? DEFAULT_PARALLEL_POD_STARTS);
    this.prober = new Prober({ runtime: this.runtime, clock: this.clock, httpGet: opts.probeTransport?.httpGet, tcpConnect: opts.probeTransport?.tcpConnect });
    this.probes = new ProbeManager({
      clock: this.clock,
      prober: this.prober,
      onChange: (uid) => this.workers.enqueue(uid),
      onFailure: (pod, container, type, output) => this.probeFailed(pod, container, type, output),
    });
    this.statusManager = new StatusManager(opts.registry, this.podsRI, this.log);
    this.volumes = new VolumeManager({
      dataDir: opts.dataDir,
      nodeName: opts.nodeName,
      pvDir: opts.pvDir,
      sources: {
        configMap: (ns, n) => this.configMap(ns, n),
        secret: (ns, n) => this.secret(ns, n),
        pvc: (ns, n) => this.opts.informers.for(this.pvcsRI).get(ns, n) ?? this.opts.registry.tryGet(this.pvcsRI, ns, n),
        pv: (n) => this.opts.registry.tryGet(this.pvsRI, undefined, n),
      },
    });
  }

  private newWorkers(): PodWorkers {
    const w = new PodWorkers({ clock: this.clock, log: this.log, sync: (uid) => this.syncPod(uid) });
    w.pause();
    return w;
  }

  // ---------------------------------------------------------------------------------------
  // Runnable

  /**
   * Start: sync the informers, adopt this node's running containers, remove those of pods
   * that no longer exist (and their pod directories), then start the pod workers and the PLEG.
   * Resolves once that is done (pods may still be starting).
   */
  async start(signal: AbortSignal): Promise<void> {
    if (this.startedOnce) {
      // A second start (after a stop or stopAllContainers) begins from scratch, like a new process.
      await this.workers.shutdown();
      this.workers = this.newWorkers();
      this.records.clear();
      this.statusCache.clear();
      this.plegState.clear();
    }
    this.startedOnce = true;
    this.listedAtStart = false;
    this.stopping = false;
    this.halted = false;
    let resolveStopped!: () => void;
    this.stoppedPromise = new Promise((r) => (resolveStopped = r));
    signal.addEventListener('abort', () => void this.shutdown().then(resolveStopped, resolveStopped), { once: true });
    this.runtimeName = (await this.runtime.version()).runtimeName || 'docker';

    this.podInformer = this.opts.informers.for(this.podsRI);
    if (!this.handlersAdded) {
      this.handlersAdded = true;
      this.podInformer.addHandlers({
        onAdd: (p) => this.onPod(p),
        onUpdate: (o, n) => this.onPodUpdate(o, n),
        onDelete: (p) => this.onPodDelete(p),
      });
      for (const [ri, kind] of [
        [this.configMapsRI, 'configMap'],
        [this.secretsRI, 'secret'],
        [this.pvcsRI, 'pvc'],
      ] as Array<[ResourceInfo, string]>) {
        const inf = this.opts.informers.for(ri);
        inf.addHandlers({
          onAdd: (o) => this.onSource(kind, o),
          onUpdate: (_o, n) => this.onSource(kind, n),
          onDelete: (o) => this.onSource(kind, o),
        });
        inf.start();
      }
    }
    this.podInformer.start();
    for (const p of this.podInformer.list()) this.onPod(p);
    if (signal.aborted) return;

    // Adopt or remove what the runtime runs for this node.
    const known = new Set(this.podInformer.list().filter((p) => p.spec?.nodeName === this.opts.nodeName).map((p) => p.metadata.uid!));
    const list = await this.runtime.listContainers({ all: true });
    const orphans = new Map<string, ContainerInfo[]>();
    for (const c of list) {
      if (known.has(c.podUid)) continue;
      const l = orphans.get(c.podUid) ?? [];
      l.push(c);
      orphans.set(c.podUid, l);
    }
    for (const [uid, cs] of orphans) {
      this.log.info('removing containers of a pod that no longer exists', { node: this.opts.nodeName, podUid: uid, pod: `${cs[0].namespace}/${cs[0].podName}`, containers: cs.length });
      await this.removeContainers(cs);
    }
    for (const uid of this.volumes.ownedPodUids()) {
      if (!known.has(uid)) this.volumes.cleanup(uid);
    }
    for (const c of list) if (known.has(c.podUid)) this.plegState.set(c.id, { key: `${c.state}/${c.ip ?? ''}`, podUid: c.podUid });
    if (signal.aborted || this.halted) return;
    this.listedAtStart = true;
    this.workers.resume();
    this.scheduleRelist();
    this.log.info('kubelet started', { node: this.opts.nodeName, pods: known.size, orphansRemoved: orphans.size });
  }

  stopped(): Promise<void> {
    return this.stoppedPromise;
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    if (this.relistTimer !== undefined) this.clock.clearTimeout(this.relistTimer);
    this.relistTimer = undefined;
    this.probes.stopAll();
    this.cancelStartWaits();
    await this.workers.shutdown();
  }

  /**
   * Stop (not remove) every container of this node, sandboxes included, without touching the
   * API: a simulated node failure. The kubelet stops syncing for good.
   */
  async stopAllContainers(): Promise<void> {
    this.halted = true;
    if (this.relistTimer !== undefined) this.clock.clearTimeout(this.relistTimer);
    this.relistTimer = undefined;
    this.workers.pause();
    this.probes.stopAll();
    this.cancelStartWaits();
    const stopEverything = async (): Promise<void> => {
      const running = await this.runtime.listContainers({});
      await Promise.all(running.filter((c) => !c.sandbox).map((c) => this.runtime.stopContainer(c.id, 0).catch(() => undefined)));
      await Promise.all(running.filter((c) => c.sandbox).map((c) => this.runtime.stopPodSandbox(c.id).catch(() => undefined)));
    };
    await stopEverything();
    // A sync in flight may have started something meanwhile.
    await Promise.race([this.workers.drain(), new Promise<void>((r) => this.clock.setTimeout(r, 10_000))]);
    await stopEverything();
  }

  /**
   * The runtime container of a pod's container on this node, for logs/exec/attach. Without
   * `container`: the pod's `kubectl.kubernetes.io/default-container`, else its first container.
   * Current: the running or last terminated instance (a container waiting in back-off answers
   * its last terminated instance); `previous`: the instance before that (lastState.terminated).
   * Undefined when the pod is not on this node or the container has no such instance.
   */
  containerFor(ns: string, pod: string, container?: string, previous?: boolean): { containerId: string; containerName: string } | undefined {
    let rec: PodRecord | undefined;
    for (const r of this.records.values()) {
      if (r.namespace !== ns || r.name !== pod) continue;
      if (!rec || (rec.removed && !r.removed)) rec = r;
    }
    if (!rec) return undefined;
    const p = rec.pod ?? rec.lastPod;
    if (!p) return undefined;
    const name = container || p.metadata.annotations?.['kubectl.kubernetes.io/default-container'] || p.spec?.containers?.[0]?.name;
    if (!name) return undefined;
    const status = rec.lastComputed ?? p.status ?? {};
    const cs: Json = [...(status.containerStatuses ?? []), ...(status.initContainerStatuses ?? [])].find((s: Json) => s.name === name);
    if (!cs) return undefined;
    let id: string | undefined;
    if (previous) id = cs.lastState?.terminated?.containerID;
    else id = cs.state?.running || cs.state?.terminated ? cs.containerID ?? cs.state?.terminated?.containerID : cs.lastState?.terminated?.containerID;
    if (!id) return undefined;
    return { containerId: String(id).replace(/^[a-z0-9-]+:\/\//, ''), containerName: name };
  }

  // ---------------------------------------------------------------------------------------
  // Informer handlers (record and enqueue only)

  private mine(p: KObject): boolean {
    return p.spec?.nodeName === this.opts.nodeName;
  }

  private record(p: KObject): PodRecord {
    const uid = p.metadata.uid!;
    let rec = this.records.get(uid);
    if (!rec) {
      rec = {
        uid,
        namespace: p.metadata.namespace ?? 'default',
        name: p.metadata.name ?? '',
        removed: false,
        reasons: new Map(),
        startFailures: new Map(),
        terminationMessages: new Map(),
        forceRestart: new Set(),
        terminal: false,
        terminalHandled: false,
        terminationDone: false,
        cleanedUp: false,
        firstSeen: this.clock.now(),
      };
      this.records.set(uid, rec);
    }
    return rec;
  }

  private onPod(p: KObject): void {
    if (this.stopping || this.halted || !this.mine(p)) return;
    const isNew = !this.records.has(p.metadata.uid!);
    const rec = this.record(p);
    // Containers are only ever created by this kubelet, after it has seen the pod; anything
    // older was listed at start-up and belongs to a record made then.
    if (isNew && this.listedAtStart) rec.nothingInRuntime = true;
    if (rec.removed) return;
    rec.pod = p;
    rec.lastPod = p;
    this.workers.enqueue(rec.uid);
  }

  private onPodUpdate(o: KObject, n: KObject): void {
    if (this.stopping || this.halted || !this.mine(n)) return;
    const rec = this.records.get(n.metadata.uid!);
    if (rec && !rec.removed) {
      const own =
        deepEqual(o.spec, n.spec) &&
        deepEqual(o.metadata.labels, n.metadata.labels) &&
        deepEqual(o.metadata.annotations, n.metadata.annotations) &&
        o.metadata.deletionTimestamp === n.metadata.deletionTimestamp &&
        o.metadata.deletionGracePeriodSeconds === n.metadata.deletionGracePeriodSeconds &&
        !!rec.writing;
      rec.pod = n;
      rec.lastPod = n;
      if (own) return;
      // A pod being deleted must not queue behind pods starting: its sync ends its wait.
      if (n.metadata.deletionTimestamp) rec.lease?.cancelWait();
    }
    this.onPod(n);
  }

  private onPodDelete(p: KObject): void {
    if (this.stopping || this.halted || !this.mine(p)) return;
    const rec = this.record(p);
    rec.lastPod = rec.pod ?? p;
    rec.pod = undefined;
    rec.removed = true;
    rec.lease?.cancelWait();
    this.workers.enqueue(rec.uid);
  }

  /** A configMap/secret/PVC changed: re-sync the pods of its namespace that use it. */
  private onSource(kind: string, o: KObject): void {
    if (this.stopping || this.halted) return;
    const ns = o.metadata.namespace;
    const name = o.metadata.name!;
    for (const rec of this.records.values()) {
      if (!rec.pod || rec.namespace !== ns || rec.terminal) continue;
      if (podReferences(rec.pod, kind, name)) this.workers.enqueue(rec.uid);
    }
  }

  // ---------------------------------------------------------------------------------------
  // PLEG

  private scheduleRelist(): void {
    if (this.stopping || this.halted) return;
    this.relistTimer = this.clock.setTimeout(() => {
      this.relistTimer = undefined;
      void this.relist().finally(() => this.scheduleRelist());
    }, this.opts.relistPeriodMs ?? 1000);
  }

  /**
   * The pod's sync itself brought container `id` into `state`: not an event for the PLEG (the
   * sync reports it), so the next relist does not re-sync the pod for it. Any later change is.
   */
  private produced(podUid: string, id: string, state: 'created' | 'running', ip?: string): void {
    this.plegState.set(id, { key: `${state}/${ip ?? ''}`, podUid });
  }

  /** Compare the runtime with the last relist and re-sync pods whose containers changed. */
  private async relist(): Promise<void> {
    if (this.relisting || this.stopping || this.halted) return;
    this.relisting = true;
    try {
      let list: ContainerInfo[];
      try {
        list = await this.runtime.listContainers({ all: true });
      } catch (e) {
        this.log.warn('PLEG relist failed', { node: this.opts.nodeName, error: errMessage(e) });
        return;
      }
      if (this.stopping || this.halted) return;
      const seen = new Set<string>();
      const changed = new Set<string>();
      for (const c of list) {
        seen.add(c.id);
        const key = `${c.state}/${c.ip ?? ''}`;
        const prev = this.plegState.get(c.id);
        if (!prev || prev.key !== key) {
          changed.add(c.podUid);
          this.plegState.set(c.id, { key, podUid: c.podUid });
        }
        if (!this.records.has(c.podUid) && !this.workers.isSyncing(c.podUid)) {
          // A container of a pod this kubelet does not run: clean it up as an orphan.
          const rec = this.record({ apiVersion: 'v1', kind: 'Pod', metadata: { uid: c.podUid, name: c.podName, namespace: c.namespace } });
          rec.removed = true;
          changed.add(c.podUid);
        }
      }
      for (const [id, v] of this.plegState) {
        if (seen.has(id)) continue;
        this.plegState.delete(id);
        this.statusCache.delete(id);
        changed.add(v.podUid);
      }
      for (const uid of changed) if (this.records.has(uid)) this.workers.enqueue(uid);
    } finally {
      this.relisting = false;
    }
  }

  // ---------------------------------------------------------------------------------------
  // Runtime state

  /**
   * The pod's containers as the runtime has them now. `prefetched`: statuses already being
   * read (containers this sync just started), used when they agree with the listed state.
   * `seen`: the sync acts on everything this snapshot shows (the one it starts from), so the
   * next relist need not re-sync the pod for these states; later snapshots of a sync only feed
   * its status and must leave changes to the PLEG (a container that exited right after its
   * start still has to be restarted).
   */
  private async snapshot(uid: string, opts: { prefetched?: Map<string, Promise<ContainerStatus | undefined>>; seen?: boolean } = {}): Promise<PodSnapshot> {
    const { prefetched } = opts;
    const list = await this.runtime.listContainers({ podUid: uid, all: true });
    if (opts.seen) for (const c of list) this.plegState.set(c.id, { key: `${c.state}/${c.ip ?? ''}`, podUid: uid });
    const sandboxes = list.filter((c) => c.sandbox).sort((a, b) => b.restartCount - a.restartCount || b.createdAt - a.createdAt);
    const all: Instance[] = [];
    const byName = new Map<string, Instance[]>();
    const rec = this.records.get(uid);
    for (const c of list) {
      if (c.sandbox) continue;
      let cached = this.statusCache.get(c.id);
      if (!cached || cached.state !== c.state) {
        try {
          const early = await prefetched?.get(c.id);
          const status = early?.state === c.state ? early : await this.runtime.containerStatus(c.id);
          cached = { state: c.state, status };
          this.statusCache.set(c.id, cached);
        } catch {
          continue; // removed meanwhile
        }
      }
      const st = cached.status;
      const inst: Instance = {
        id: c.id,
        info: c,
        state: st.state,
        restartCount: c.restartCount,
        exitCode: st.exitCode,
        reason: st.reason,
        message: st.message,
        startedAt: st.startedAt,
        finishedAt: st.finishedAt,
        imageRef: st.imageRef || c.imageRef,
        sandboxId: c.sandboxId,
        createdAt: c.createdAt,
        hash: c.labels?.[CONTAINER_HASH_LABEL],
      };
      if (rec) {
        const failure = rec.startFailures.get(c.id);
        if (failure && inst.state === 'created') {
          inst.reason = 'StartError';
          inst.exitCode = 128;
          inst.message = failure.message;
          inst.finishedAt = failure.at;
        } else if (inst.state === 'exited') {
          inst.message = await this.terminationMessage(rec, c, st);
        }
      }
      all.push(inst);
      const l = byName.get(c.containerName) ?? [];
      l.push(inst);
      byName.set(c.containerName, l);
    }
    for (const l of byName.values()) l.sort((a, b) => b.restartCount - a.restartCount || b.createdAt - a.createdAt);
    return { sandboxes, byName, all };
  }

  /** The termination message of an exited instance (terminationMessagePath / FallbackToLogsOnError), read once. */
  private async terminationMessage(rec: PodRecord, c: ContainerInfo, st: ContainerStatus): Promise<string | undefined> {
    if (rec.terminationMessages.has(c.id)) return rec.terminationMessages.get(c.id) || undefined;
    const pod = rec.pod ?? rec.lastPod;
    const spec = [...(pod?.spec?.containers ?? []), ...(pod?.spec?.initContainers ?? [])].find((x: Json) => x.name === c.containerName);
    let msg = this.volumes.readTerminationLog(rec.uid, c.containerName, c.restartCount);
    if (!msg && spec?.terminationMessagePolicy === 'FallbackToLogsOnError' && (st.exitCode ?? 0) !== 0) {
      try {
        msg = await readStream(await this.runtime.logs(c.id, { tail: 80 }));
      } catch {
        msg = '';
      }
    }
    if (!msg && st.message) msg = st.message;
    rec.terminationMessages.set(c.id, msg);
    return msg || undefined;
  }

  private async removeContainers(cs: ContainerInfo[]): Promise<void> {
    for (const c of cs.filter((x) => x.sandbox)) {
      try {
        await this.runtime.removePodSandbox(c.id);
      } catch (e) {
        this.log.warn('removing sandbox failed', { id: c.id, error: errMessage(e) });
      }
    }
    for (const c of cs.filter((x) => !x.sandbox)) {
      try {
        await this.runtime.removeContainer(c.id);
      } catch (e) {
        this.log.warn('removing container failed', { id: c.id, error: errMessage(e) });
      }
    }
    for (const c of cs) {
      this.statusCache.delete(c.id);
      this.plegState.delete(c.id);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Lookups

  private configMap(ns: string, name: string): KObject | undefined {
    return this.opts.informers.for(this.configMapsRI).get(ns, name) ?? this.opts.registry.tryGet(this.configMapsRI, ns, name);
  }

  private secret(ns: string, name: string): KObject | undefined {
    return this.opts.informers.for(this.secretsRI).get(ns, name) ?? this.opts.registry.tryGet(this.secretsRI, ns, name);
  }

  private node(): KObject | undefined {
    return this.opts.registry.tryGet(this.nodesRI, undefined, this.opts.nodeName);
  }

  private hostIP(): string {
    const addrs: Json[] = this.node()?.status?.addresses ?? [];
    return addrs.find((a) => a.type === 'InternalIP')?.address ?? '127.0.0.1';
  }

  private fieldContext(podIP: string | undefined): PodFieldContext {
    const hostIP = this.hostIP();
    const alloc = this.node()?.status?.allocatable ?? {};
    return {
      podIP,
      podIPs: podIP ? [podIP] : [],
      hostIP,
      hostIPs: [hostIP],
      nodeAllocatable: {
        cpu: tryParseQuantity(alloc.cpu) ?? os.cpus().length,
        memory: tryParseQuantity(alloc.memory) ?? os.totalmem(),
        'ephemeral-storage': tryParseQuantity(alloc['ephemeral-storage']),
      },
    };
  }

  private serviceEnv(pod: KObject): Record<string, string> {
    const all = this.opts.serviceEnv?.(pod.metadata.namespace ?? 'default') ?? {};
    if (pod.spec?.enableServiceLinks !== false) return all;
    return Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith('KUBERNETES_')));
  }

  private event(rec: PodRecord, type: EventType, reason: string, message: string): void {
    const pod = rec.pod ?? rec.lastPod;
    if (!pod || !pod.metadata.name) return;
    this.opts.recorder.event(pod, type, reason, message);
  }

  private probeFailed(pod: KObject, container: string, type: ProbeType, output: string): void {
    const t = type[0].toUpperCase() + type.slice(1);
    this.opts.recorder.event(pod, 'Warning', 'Unhealthy', `${t} probe failed: ${output}`);
    this.log.v(2, 'probe failed', { pod: `${pod.metadata.namespace}/${pod.metadata.name}`, container, type, output });
  }

  // ---------------------------------------------------------------------------------------
  // Sync

  private async syncPod(uid: string): Promise<SyncResult> {
    if (this.halted || this.stopping) return {};
    const rec = this.records.get(uid);
    if (!rec) return { done: true };
    const lease = this.startSlots.lease();
    rec.lease = lease;
    try {
      return await this.syncRecord(rec);
    } finally {
      lease.release();
      if (rec.lease === lease) rec.lease = undefined;
    }
  }

  private async syncRecord(rec: PodRecord): Promise<SyncResult> {
    // A pod's first sync right after it appeared needs no listing (saves a runtime round trip).
    const snap: PodSnapshot = rec.nothingInRuntime ? { sandboxes: [], byName: new Map(), all: [] } : await this.snapshot(rec.uid, { seen: true });
    rec.nothingInRuntime = false;
    if (rec.removed) {
      await this.cleanupRemoved(rec, snap);
      return { done: true };
    }
    const pod = rec.pod!;
    if (pod.metadata.deletionTimestamp) {
      if (!rec.terminationDone) await this.terminate(rec, snap);
      return { done: true };
    }
    if (rec.terminal || isTerminalPhase(pod.status?.phase)) {
      await this.syncTerminal(rec, snap);
      return {};
    }
    return this.syncRunning(rec, snap);
  }

  /**
   * Wait for a start slot for the pod's sync (see StartSlots). False when the wait was
   * cancelled — the pod is being deleted, or the kubelet stops — and the sync should end.
   */
  private async holdStartSlot(rec: PodRecord): Promise<boolean> {
    const granted = rec.lease ? await rec.lease.hold() : true;
    return granted && !this.halted && !this.stopping;
  }

  /** End every wait for a start slot (the kubelet stops). */
  private cancelStartWaits(): void {
    for (const rec of this.records.values()) rec.lease?.cancelWait();
  }

  /** Write `status` for the pod (no-op when unchanged). */
  private writeStatus(rec: PodRecord, status: Json): void {
    rec.lastComputed = status;
    rec.writing = true;
    try {
      const stored = this.statusManager.setPodStatus(rec.namespace, rec.name, rec.uid, status, this.clock.now());
      if (stored && rec.pod && stored.metadata.uid === rec.uid) rec.pod = stored;
    } catch (e) {
      this.log.warn('writing pod status failed', { pod: `${rec.namespace}/${rec.name}`, error: errMessage(e) });
      throw e;
    } finally {
      rec.writing = false;
    }
  }

  private containerViews(rec: PodRecord, pod: KObject, snap: PodSnapshot, terminal: boolean): { init: ContainerView[]; regular: ContainerView[] } {
    const view = (c: Json, isInit: boolean): ContainerView => {
      const insts = snap.byName.get(c.name) ?? [];
      const cur = insts[0];
      const prev = insts[1];
      const running = cur?.state === 'running';
      const sidecar = isInit && c.restartPolicy === 'Always';
      let started = false;
      let ready = false;
      if (running) {
        started = !isInit || sidecar ? this.probes.isStarted(c, cur.id) : true;
        ready = !terminal && started && (!isInit || sidecar) && this.probes.isReady(c, cur.id);
      } else if (isInit && !sidecar && cur?.state === 'exited' && cur.exitCode === 0) {
        ready = true;
      }
      const v: ContainerView = { name: c.name, image: c.image, ready, started };
      if (cur) v.current = cur;
      if (prev) v.previous = prev;
      const waiting = rec.reasons.get(c.name);
      if (waiting && !running && !terminal) v.waiting = waiting;
      return v;
    };
    return {
      init: (pod.spec?.initContainers ?? []).map((c: Json) => view(c, true)),
      regular: (pod.spec?.containers ?? []).map((c: Json) => view(c, false)),
    };
  }

  private computeStatus(rec: PodRecord, pod: KObject, snap: PodSnapshot, terminal: boolean): Json {
    const sb = snap.sandboxes[0];
    const sandboxReady = !terminal && !!sb && sb.state === 'running' && !!sb.ip;
    const { init, regular } = this.containerViews(rec, pod, snap, terminal);
    return computePodStatus({
      pod,
      oldStatus: pod.status,
      now: this.clock.now(),
      runtimeName: this.runtimeName,
      podIP: sandboxReady ? sb.ip : rec.podIP,
      hostIP: this.hostIP(),
      sandboxReady,
      initContainers: init,
      containers: regular,
      terminal,
      failure: rec.failure,
    });
  }

  /** Update the prober with the current state of every container. */
  private syncProbes(pod: KObject, podIP: string | undefined, snap: PodSnapshot, terminating: boolean): void {
    const states = new Map<string, ProbedContainerState>();
    for (const [name, insts] of snap.byName) {
      const cur = insts[0];
      if (cur) states.set(name, { id: cur.id, running: cur.state === 'running', startedAt: cur.startedAt });
    }
    this.probes.syncPod(pod, podIP, states, terminating);
  }

  /** The pod reached Succeeded/Failed: stop what still runs, keep the final status. */
  private async syncTerminal(rec: PodRecord, snap: PodSnapshot): Promise<void> {
    const pod = rec.pod!;
    rec.terminal = true;
    this.probes.removePod(rec.uid);
    if (!rec.terminalHandled) {
      const grace = pod.spec?.terminationGracePeriodSeconds ?? 30;
      await this.killRunning(rec, pod, snap, grace);
      for (const sb of snap.sandboxes) if (sb.state === 'running') await this.runtime.stopPodSandbox(sb.id);
      rec.terminalHandled = true;
    }
    if (rec.finalStatus && !isTerminalPhase(pod.status?.phase)) this.writeStatus(rec, rec.finalStatus);
    if (!rec.lastComputed) rec.lastComputed = pod.status;
  }

  /** Graceful deletion: kill, final status, confirm the deletion, clean up. */
  private async terminate(rec: PodRecord, snap: PodSnapshot): Promise<void> {
    const pod = rec.pod!;
    const grace = Math.max(0, pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30);
    this.syncProbes(pod, rec.podIP, snap, true);
    await this.killRunning(rec, pod, snap, grace);
    for (const sb of snap.sandboxes) if (sb.state === 'running') await this.runtime.stopPodSandbox(sb.id);
    this.probes.removePod(rec.uid);
    const after = await this.snapshot(rec.uid);
    if (!rec.terminal && !isTerminalPhase(pod.status?.phase)) {
      this.writeStatus(rec, this.computeStatus(rec, pod, after, true));
    }
    try {
      this.opts.registry.delete(this.podsRI, rec.namespace, rec.name, { gracePeriodSeconds: 0, preconditions: { uid: rec.uid } });
    } catch (e) {
      if (!(e instanceof NotFoundError) && !(e instanceof ConflictError)) throw e;
    }
    rec.terminationDone = true;
    await this.removePodResources(rec, after);
  }

  /** The pod is gone from the API (deleted outright, or an orphan): kill and clean up. */
  private async cleanupRemoved(rec: PodRecord, snap: PodSnapshot): Promise<void> {
    if (!rec.cleanedUp) {
      const last = rec.lastPod;
      const grace = last?.spec ? Math.max(0, last.metadata.deletionGracePeriodSeconds ?? last.spec.terminationGracePeriodSeconds ?? 30) : 1;
      if (last?.spec) await this.killRunning(rec, last, snap, grace);
      await this.removePodResources(rec, snap);
    }
    this.records.delete(rec.uid);
  }

  private async removePodResources(rec: PodRecord, snap: PodSnapshot): Promise<void> {
    this.probes.removePod(rec.uid);
    const cs = [...snap.sandboxes, ...snap.all.map((i) => i.info)];
    await this.removeContainers(cs);
    this.volumes.cleanup(rec.uid);
    this.backoff.resetPrefix(`${rec.uid}_`);
    this.imageBackoff.resetPrefix(`${rec.uid}_`);
    this.sandboxBackoff.reset(rec.uid);
    rec.cleanedUp = true;
  }

  /**
   * Kill every running container: regular containers in parallel, then restartable init
   * containers in reverse order, then any other running init container. Each gets its preStop
   * hook and `grace` seconds.
   */
  private async killRunning(rec: PodRecord, pod: KObject, snap: PodSnapshot, grace: number): Promise<void> {
    const specOf = (name: string): { c?: Json; group: number } => {
      const rc = (pod.spec?.containers ?? []).find((c: Json) => c.name === name);
      if (rc) return { c: rc, group: 0 };
      const inits: Json[] = pod.spec?.initContainers ?? [];
      const i = inits.findIndex((c) => c.name === name);
      if (i >= 0) return { c: inits[i], group: inits[i].restartPolicy === 'Always' ? 1000 - i : 2000 };
      return { group: 0 };
    };
    const running = snap.all.filter((i) => i.state === 'running');
    const groups = new Map<number, Instance[]>();
    for (const inst of running) {
      const g = specOf(inst.info.containerName).group;
      groups.set(g, [...(groups.get(g) ?? []), inst]);
    }
    for (const g of [...groups.keys()].sort((a, b) => a - b)) {
      await Promise.all(groups.get(g)!.map((inst) => this.killContainer(rec, pod, specOf(inst.info.containerName).c, inst, grace)));
    }
  }

  /** preStop (bounded by the grace period), then SIGTERM and SIGKILL after the rest of it. */
  private async killContainer(rec: PodRecord, pod: KObject, c: Json | undefined, inst: Instance, grace: number, message?: string): Promise<void> {
    const name = inst.info.containerName;
    rec.lease?.release(); // a grace period is not start work: let other pods start meanwhile
    this.event(rec, 'Normal', 'Killing', message ?? `Stopping container ${name}`);
    let remaining = grace;
    const preStop = c?.lifecycle?.preStop;
    if (preStop && grace > 0) {
      const t0 = this.clock.now();
      const r = await this.prober.runHandler(preStop, { podIP: rec.podIP, containerId: inst.id, container: c }, grace * 1000);
      if (r.result === 'failure') {
        this.event(rec, 'Warning', 'FailedPreStopHook', `PreStopHook failed: ${handlerDesc(preStop)} for Container "${name}" in Pod "${podDesc(pod)}" failed - error: ${r.output}`);
      }
      remaining = Math.max(MIN_GRACE_SECONDS, grace - Math.floor((this.clock.now() - t0) / 1000));
    }
    try {
      await this.runtime.stopContainer(inst.id, remaining);
    } catch (e) {
      this.log.warn('stopping container failed', { pod: `${rec.namespace}/${rec.name}`, container: name, error: errMessage(e) });
    }
    this.statusCache.delete(inst.id);
  }

  /** A pod that is neither terminating nor terminal. */
  private async syncRunning(rec: PodRecord, snapIn: PodSnapshot): Promise<SyncResult> {
    const pod = rec.pod!;
    const spec = pod.spec ?? {};
    const uid = rec.uid;
    const now = this.clock.now();
    let requeue: number | undefined;
    const wake = (ms: number): void => {
      requeue = requeue === undefined ? Math.max(0, ms) : Math.min(requeue, Math.max(0, ms));
    };
    let snap = snapIn;
    // First sight of the pod: report it (Pending, ContainerCreating) before slow work such as pulls.
    if (!rec.lastComputed) this.writeStatus(rec, this.computeStatus(rec, pod, snap, false));

    // activeDeadlineSeconds
    if (typeof spec.activeDeadlineSeconds === 'number') {
      const start = pod.status?.startTime ? Date.parse(pod.status.startTime) : rec.firstSeen;
      const deadline = start + spec.activeDeadlineSeconds * 1000;
      if (now >= deadline) {
        rec.failure = { reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' };
        this.event(rec, 'Warning', 'DeadlineExceeded', rec.failure.message);
        return this.finishTerminal(rec, pod, snap);
      }
      wake(deadline - now);
    }

    // Volumes.
    const sb0 = snap.sandboxes[0];
    const knownIP = sb0?.state === 'running' ? sb0.ip : undefined;
    try {
      rec.volumes = this.volumes.setUp(pod, this.fieldContext(knownIP), now);
      rec.lastMountError = undefined;
    } catch (e) {
      if (!(e instanceof VolumeError)) throw e;
      const msg = `MountVolume.SetUp failed for volume "${e.volume}" : ${e.message}`;
      if (rec.lastMountError !== msg) this.event(rec, 'Warning', 'FailedMount', msg);
      rec.lastMountError = msg;
      this.writeStatus(rec, this.computeStatus(rec, pod, snap, false));
      return { requeueAfterMs: Math.min(requeue ?? VOLUME_RETRY_MS, VOLUME_RETRY_MS) };
    }

    // Sandbox.
    let sandboxId: string;
    let sandboxIP: string;
    let prepared: Map<string, PreparedContainer> | undefined;
    const current = snap.sandboxes[0];
    if (current && current.state === 'running' && current.ip) {
      sandboxId = current.id;
      sandboxIP = current.ip;
    } else {
      const ran = snap.all.length > 0;
      if (current && (spec.restartPolicy ?? 'Always') === 'Never' && ran) {
        // A Never pod whose sandbox died is done: whatever still runs is killed.
        await this.killRunning(rec, pod, snap, 0);
        snap = await this.snapshot(uid);
        return this.finishSync(rec, pod, snap, requeue);
      }
      if (current) {
        this.event(rec, 'Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.');
        await this.killRunning(rec, pod, snap, 0);
        for (const sb of snap.sandboxes) if (sb.state === 'running') await this.runtime.stopPodSandbox(sb.id);
      }
      if (this.sandboxBackoff.isInBackOffSinceUpdate(uid)) {
        wake(this.sandboxBackoff.remainingSinceUpdate(uid));
        return this.finishSync(rec, pod, snap, requeue);
      }
      const attempt = snap.sandboxes.length ? Math.max(...snap.sandboxes.map((s) => s.restartCount)) + 1 : 0;
      const config: PodSandboxConfig = {
        podUid: uid,
        podName: rec.name,
        namespace: rec.namespace,
        attempt,
        hostname: String(spec.hostname || rec.name).slice(0, 63),
        dns: podDnsConfig(pod, this.opts.dns),
        portMappings: portMappings(pod),
      };
      if (!(await this.holdStartSlot(rec))) return {};
      let started: PodSandbox;
      try {
        const fresh = !snap.sandboxes.length && !snap.all.length;
        if (fresh && this.runtime.createPodSandbox && this.runtime.startPodSandbox) {
          ({ sandbox: started, prepared } = await this.runNewPodSandbox(rec, pod, config, wake));
        } else {
          started = await this.runtime.runPodSandbox(config);
          this.produced(uid, started.id, 'running', started.ip);
        }
        this.sandboxBackoff.reset(uid);
      } catch (e) {
        this.event(rec, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${errMessage(e)}`);
        this.sandboxBackoff.next(uid);
        wake(this.sandboxBackoff.get(uid));
        snap = await this.snapshot(uid);
        return this.finishSync(rec, pod, snap, requeue);
      }
      if (started.ip) {
        // Started by contract: no need to list the runtime again.
        sandboxId = started.id;
        sandboxIP = started.ip;
      } else {
        snap = await this.snapshot(uid);
        const sandbox = snap.sandboxes[0];
        if (!sandbox || sandbox.state !== 'running') {
          wake(1000);
          return this.finishSync(rec, pod, snap, requeue);
        }
        sandboxId = sandbox.id;
        sandboxIP = sandbox.ip ?? '';
      }
      try {
        rec.volumes = this.volumes.setUp(pod, this.fieldContext(sandboxIP || undefined), now);
      } catch (e) {
        if (!(e instanceof VolumeError)) throw e;
      }
    }
    rec.podIP = sandboxIP || undefined;
    const hostsFile = this.volumes.writeHostsFile(pod, rec.podIP);
    const inSandbox = (name: string): Instance[] => (snap.byName.get(name) ?? []).filter((i) => i.sandboxId === sandboxId);
    const nextRestartCount = (name: string): number => {
      const l = snap.byName.get(name) ?? [];
      return l.length ? l[0].restartCount + 1 : 0;
    };
    const policy: string = spec.restartPolicy ?? 'Always';
    const ctx: StartContext = { rec, pod, sandboxId, hostsFile, wake, prepared };

    // Init containers, in order, each to completion (restartable ones: until started).
    const regularStarted = (spec.containers ?? []).some((c: Json) => inSandbox(c.name).length > 0);
    let initialized = true;
    if (!regularStarted) {
      for (const ic of spec.initContainers ?? []) {
        if (this.halted) return {};
        const sidecar = ic.restartPolicy === 'Always';
        const inst = inSandbox(ic.name)[0];
        if (!inst) {
          const ok = await this.startContainer(ctx, ic, nextRestartCount(ic.name));
          if (ok && sidecar && !ic.startupProbe) continue;
          initialized = false;
          break;
        }
        if (inst.state === 'running') {
          if (sidecar && this.probes.isStarted(ic, inst.id)) continue;
          initialized = false;
          break;
        }
        if (inst.state === 'created' && !rec.startFailures.has(inst.id)) {
          await this.runtime.removeContainer(inst.id);
          await this.startContainer(ctx, ic, inst.restartCount);
          initialized = false;
          break;
        }
        if (!sidecar && inst.exitCode === 0 && inst.reason !== 'StartError') continue;
        initialized = false;
        if (!sidecar && policy === 'Never') {
          rec.reasons.delete(ic.name);
          break; // the pod failed
        }
        await this.restartWithBackoff(ctx, ic, inst);
        break;
      }
    }

    if (initialized) {
      // Restartable init containers keep running alongside the containers.
      for (const ic of spec.initContainers ?? []) {
        if (ic.restartPolicy !== 'Always') continue;
        const inst = inSandbox(ic.name)[0];
        if (!inst) await this.startContainer(ctx, ic, nextRestartCount(ic.name));
        else if (inst.state === 'running') await this.checkRunning(ctx, ic, inst);
        else if (inst.state === 'exited' || rec.startFailures.has(inst.id)) await this.restartWithBackoff(ctx, ic, inst);
      }
      for (const c of spec.containers ?? []) {
        if (this.halted) return {};
        const inst = inSandbox(c.name)[0];
        if (!inst) {
          const prior = (snap.byName.get(c.name) ?? [])[0];
          if (prior && policy === 'OnFailure' && prior.exitCode === 0 && prior.reason !== 'StartError' && !rec.forceRestart.has(c.name)) continue;
          rec.forceRestart.delete(c.name);
          await this.startContainer(ctx, c, nextRestartCount(c.name));
          continue;
        }
        if (inst.state === 'running') {
          await this.checkRunning(ctx, c, inst);
          continue;
        }
        if (inst.state === 'created' && !rec.startFailures.has(inst.id)) {
          await this.runtime.removeContainer(inst.id);
          await this.startContainer(ctx, c, inst.restartCount);
          continue;
        }
        if (rec.forceRestart.has(c.name)) {
          rec.forceRestart.delete(c.name);
          await this.startContainer(ctx, c, nextRestartCount(c.name));
          continue;
        }
        const failed = inst.reason === 'StartError' || (inst.exitCode ?? 0) !== 0;
        const restart = policy === 'Always' || (policy === 'OnFailure' && failed);
        if (!restart) {
          rec.reasons.delete(c.name);
          continue;
        }
        await this.restartWithBackoff(ctx, c, inst);
      }
    }

    // The statuses of the containers just started are read alongside the listing (one round trip less).
    const prefetched = new Map<string, Promise<ContainerStatus | undefined>>();
    for (const id of ctx.started ?? []) prefetched.set(id, this.runtime.containerStatus(id).catch(() => undefined));
    snap = await this.snapshot(uid, { prefetched });
    await this.gcInstances(rec, snap);
    return this.finishSync(rec, pod, snap, requeue);
  }

  /** Compute and write the status; a terminal phase stops the pod. */
  private async finishSync(rec: PodRecord, pod: KObject, snap: PodSnapshot, requeue: number | undefined): Promise<SyncResult> {
    const status = this.computeStatus(rec, pod, snap, false);
    if (isTerminalPhase(status.phase)) return this.finishTerminal(rec, pod, snap);
    this.writeStatus(rec, status);
    const sb = snap.sandboxes[0];
    this.syncProbes(rec.pod ?? pod, sb?.state === 'running' ? sb.ip : undefined, snap, false);
    return requeue === undefined ? {} : { requeueAfterMs: requeue };
  }

  /** Enter Succeeded/Failed: stop what still runs and write the final status. */
  private async finishTerminal(rec: PodRecord, pod: KObject, snap: PodSnapshot): Promise<SyncResult> {
    rec.terminal = true;
    this.probes.removePod(rec.uid);
    await this.killRunning(rec, pod, snap, pod.spec?.terminationGracePeriodSeconds ?? 30);
    for (const sb of snap.sandboxes) if (sb.state === 'running') await this.runtime.stopPodSandbox(sb.id);
    rec.terminalHandled = true;
    const after = await this.snapshot(rec.uid);
    const status = this.computeStatus(rec, pod, after, true);
    rec.finalStatus = status;
    this.writeStatus(rec, status);
    return {};
  }

  /** A running container: restart it when its spec changed or a liveness/startup probe failed. */
  private async checkRunning(ctx: StartContext, c: Json, inst: Instance): Promise<void> {
    const { rec, pod } = ctx;
    const grace = pod.spec?.terminationGracePeriodSeconds ?? 30;
    if (inst.hash && inst.hash !== containerHash(c)) {
      await this.killContainer(rec, pod, c, inst, grace, `Container ${c.name} definition changed, will be restarted`);
      rec.forceRestart.add(c.name);
      ctx.wake(0);
      return;
    }
    const failed = this.probes.failedProbe(c, inst.id);
    if (failed) {
      const probe = failed === 'liveness' ? c.livenessProbe : c.startupProbe;
      await this.killContainer(rec, pod, c, inst, probe?.terminationGracePeriodSeconds ?? grace, `Container ${c.name} failed ${failed} probe, will be restarted`);
      ctx.wake(0);
    }
  }

  /** Restart an exited container unless it is in crash-loop back-off (CrashLoopBackOff). */
  private async restartWithBackoff(ctx: StartContext, c: Json, inst: Instance): Promise<void> {
    const { rec, pod } = ctx;
    const key = `${rec.uid}_${c.name}_${containerHash(c)}`;
    const finishedAt = inst.finishedAt ?? inst.startedAt ?? inst.createdAt;
    if (this.backoff.isInBackOffSince(key, finishedAt)) {
      const d = this.backoff.get(key);
      this.event(rec, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${podDesc(pod)}`);
      rec.reasons.set(c.name, { reason: 'CrashLoopBackOff', message: `back-off ${formatGoDuration(d)} restarting failed container=${c.name} pod=${podDesc(pod)}` });
      ctx.wake(this.backoff.remainingSince(key, finishedAt));
      return;
    }
    this.backoff.next(key, finishedAt);
    await this.startContainer(ctx, c, inst.restartCount + 1);
  }

  /**
   * A new pod: create its sandbox, then start it while creating the first containers to run
   * in it (the regular containers, or the first init container) — a container needs its
   * sandbox running only to start. Containers whose image is absent, whose pull policy is
   * Always or whose environment reads the pod IP are left to the regular path, as is any
   * container whose preparation fails (that path retries and reports the error). Rejects when
   * the sandbox cannot be created or started, after removing what was prepared.
   */
  private async runNewPodSandbox(
    rec: PodRecord,
    pod: KObject,
    config: PodSandboxConfig,
    wake: (ms: number) => void,
  ): Promise<{ sandbox: PodSandbox; prepared: Map<string, PreparedContainer> }> {
    const id = await this.runtime.createPodSandbox!(config);
    this.produced(rec.uid, id, 'created');
    const spec = pod.spec ?? {};
    const first: Json[] = (spec.initContainers ?? []).length ? [spec.initContainers[0]] : (spec.containers ?? []);
    // The hosts file is bind-mounted at creation; its pod IP line is written once the sandbox runs.
    const ctx: StartContext = { rec, pod, sandboxId: id, hostsFile: this.volumes.writeHostsFile(pod, undefined), wake };
    const [started, prepared] = await Promise.allSettled([this.runtime.startPodSandbox!(id), this.prepareContainers(ctx, first)]);
    const made = prepared.status === 'fulfilled' ? prepared.value : new Map<string, PreparedContainer>();
    if (started.status === 'rejected') {
      for (const p of made.values()) await this.runtime.removeContainer(p.id).catch(() => undefined);
      throw started.reason;
    }
    this.produced(rec.uid, id, 'running', started.value.ip);
    return { sandbox: started.value, prepared: made };
  }

  /** Create (not start) containers of a new pod; see runNewPodSandbox. Never rejects. */
  private async prepareContainers(ctx: StartContext, cs: Json[]): Promise<Map<string, PreparedContainer>> {
    const { rec, pod } = ctx;
    const out = new Map<string, PreparedContainer>();
    for (const c of cs) {
      if (this.halted || this.stopping) break;
      const image: string = c.image;
      if (envNeedsPodIP(c) || (c.imagePullPolicy || defaultPullPolicy(image)) === 'Always') continue;
      if (this.imageBackoff.isInBackOffSinceUpdate(`${rec.uid}_${image}`)) continue;
      try {
        await this.runtime.pullImage(image, 'Never');
        const { cfg, warnings } = this.containerConfig(ctx, c, 0);
        const id = await this.runtime.createContainer(ctx.sandboxId, cfg);
        this.produced(rec.uid, id, 'created');
        this.event(rec, 'Normal', 'Pulled', `Container image "${image}" already present on machine`);
        for (const w of warnings) this.event(rec, 'Warning', 'InvalidEnvironmentVariableNames', w);
        this.event(rec, 'Normal', 'Created', `Created container: ${c.name}`);
        out.set(c.name, { id, restartCount: 0 });
      } catch (e) {
        this.log.v(4, 'container left to the regular start path', { pod: podDesc(pod), container: c.name, error: errMessage(e) });
      }
    }
    return out;
  }

  /** The runtime config of one container instance. Throws ContainerConfigError. */
  private containerConfig(ctx: StartContext, c: Json, restartCount: number): { cfg: ContainerConfig; warnings: string[] } {
    const { rec, pod, hostsFile } = ctx;
    const { env, warnings } = makeEnvironment(pod, c, this.fieldContext(rec.podIP), {
      configMap: (ns, n) => this.configMap(ns, n),
      secret: (ns, n) => this.secret(ns, n),
      serviceEnv: this.serviceEnv(pod),
    });
    const { mounts, tmpfs } = this.volumes.mountsFor(pod, c, rec.volumes ?? new Map(), env);
    const extra: Mount[] = [];
    if (!mounts.some((m) => m.containerPath === '/etc/hosts')) extra.push({ hostPath: hostsFile, containerPath: '/etc/hosts' });
    const tmp: string | undefined = c.terminationMessagePath;
    if (tmp && tmp.startsWith('/') && !mounts.some((m) => m.containerPath === tmp)) {
      extra.push({ hostPath: this.volumes.terminationLogFile(rec.uid, c.name, restartCount), containerPath: tmp });
    }
    const cfg = buildContainerConfig({ pod, container: c, env, mounts: [...mounts, ...extra], tmpfs, restartCount, allowPrivileged: !!this.opts.allowPrivileged });
    return { cfg, warnings };
  }

  /** Pull, create and start one container (events, waiting reasons, postStart). True when it runs. */
  private async startContainer(ctx: StartContext, c: Json, restartCount: number): Promise<boolean> {
    const { rec, pod, wake } = ctx;
    if (this.halted || this.stopping) return false;
    let id: string;
    const pre = ctx.prepared?.get(c.name);
    if (pre && pre.restartCount === restartCount) {
      ctx.prepared!.delete(c.name);
      id = pre.id;
    } else {
      const created = await this.createContainer(ctx, c, restartCount);
      if (created === undefined) return false;
      id = created;
    }
    if (!(await this.holdStartSlot(rec))) return false;
    try {
      await this.runtime.startContainer(id);
      this.produced(rec.uid, id, 'running');
      (ctx.started ??= []).push(id);
    } catch (e) {
      const msg = errMessage(e);
      rec.startFailures.set(id, { message: msg, at: this.clock.now() });
      rec.reasons.set(c.name, { reason: 'RunContainerError', message: msg });
      this.event(rec, 'Warning', 'Failed', `Error: ${msg}`);
      wake(0);
      return false;
    }
    rec.reasons.delete(c.name);
    this.event(rec, 'Normal', 'Started', `Started container ${c.name}`);

    const postStart = c.lifecycle?.postStart;
    if (postStart) {
      rec.lease?.release(); // a hook is not runtime work: let other pods start meanwhile
      const grace = pod.spec?.terminationGracePeriodSeconds ?? 30;
      const r = await this.prober.runHandler(postStart, { podIP: rec.podIP, containerId: id, container: c }, Math.max(30, grace) * 1000);
      if (r.result === 'failure') {
        const msg = `${handlerDesc(postStart)} for Container "${c.name}" in Pod "${podDesc(pod)}" failed - error: ${r.output}`;
        this.event(rec, 'Warning', 'FailedPostStartHook', msg);
        const inst: Instance = { id, info: { containerName: c.name } as ContainerInfo, state: 'running', restartCount, createdAt: this.clock.now() };
        await this.killContainer(rec, pod, undefined, inst, grace, 'FailedPostStartHook');
        rec.reasons.set(c.name, { reason: 'PostStartHookError', message: msg });
        wake(0);
        return false;
      }
    }
    return true;
  }

  /** Pull and create one container (events, waiting reasons); its id, or undefined when it could not be created. */
  private async createContainer(ctx: StartContext, c: Json, restartCount: number): Promise<string | undefined> {
    const { rec, pod, sandboxId, wake } = ctx;
    const image: string = c.image;
    const imgKey = `${rec.uid}_${image}`;
    if (this.imageBackoff.isInBackOffSinceUpdate(imgKey)) {
      rec.reasons.set(c.name, { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}"` });
      this.event(rec, 'Normal', 'BackOff', `Back-off pulling image "${image}"`);
      this.event(rec, 'Warning', 'Failed', 'Error: ImagePullBackOff');
      wake(this.imageBackoff.remainingSinceUpdate(imgKey));
      return undefined;
    }
    try {
      await this.ensureImage(rec, pod, image, c.imagePullPolicy || defaultPullPolicy(image));
    } catch (e) {
      if (e instanceof ImageNeverPullError) {
        rec.reasons.set(c.name, { reason: 'ErrImageNeverPull', message: e.message });
        this.event(rec, 'Warning', 'ErrImageNeverPull', e.message);
        this.event(rec, 'Warning', 'Failed', 'Error: ErrImageNeverPull');
        wake(CONFIG_RETRY_MS);
        return undefined;
      }
      const msg = errMessage(e);
      rec.reasons.set(c.name, { reason: 'ErrImagePull', message: msg });
      this.event(rec, 'Warning', 'Failed', `Failed to pull image "${image}": ${msg}`);
      this.event(rec, 'Warning', 'Failed', 'Error: ErrImagePull');
      this.imageBackoff.next(imgKey);
      // Look again within a relist period: the container then reports ImagePullBackOff for the
      // rest of the back-off, and the sync after that pulls again.
      wake(Math.min(this.imageBackoff.get(imgKey), this.opts.relistPeriodMs ?? 1000));
      return undefined;
    }

    let cfg: ContainerConfig;
    try {
      const built = this.containerConfig(ctx, c, restartCount);
      for (const w of built.warnings) this.event(rec, 'Warning', 'InvalidEnvironmentVariableNames', w);
      cfg = built.cfg;
    } catch (e) {
      if (!(e instanceof ContainerConfigError)) throw e;
      rec.reasons.set(c.name, { reason: 'CreateContainerConfigError', message: e.message });
      this.event(rec, 'Warning', 'Failed', `Error: ${e.message}`);
      wake(CONFIG_RETRY_MS);
      return undefined;
    }

    if (!(await this.holdStartSlot(rec))) return undefined;
    let id: string;
    try {
      id = await this.runtime.createContainer(sandboxId, cfg);
      this.produced(rec.uid, id, 'created');
    } catch (e) {
      const msg = errMessage(e);
      rec.reasons.set(c.name, { reason: 'CreateContainerError', message: msg });
      this.event(rec, 'Warning', 'Failed', `Error: ${msg}`);
      wake(CONFIG_RETRY_MS);
      return undefined;
    }
    this.event(rec, 'Normal', 'Created', `Created container: ${c.name}`);
    return id;
  }

  /** Make the image present per pull policy, with the kubelet's Pulling/Pulled events. */
  private async ensureImage(rec: PodRecord, pod: KObject, image: string, policy: string): Promise<string> {
    if (policy !== 'Always') {
      try {
        const r = await this.runtime.pullImage(image, 'Never');
        this.event(rec, 'Normal', 'Pulled', `Container image "${image}" already present on machine`);
        return r.imageRef;
      } catch (e) {
        if (!(e instanceof ImageNeverPullError) || policy === 'Never') throw e;
      }
    }
    const secrets = (pod.spec?.imagePullSecrets ?? [])
      .map((s: Json) => this.secret(pod.metadata.namespace ?? 'default', s.name))
      .filter((s: KObject | undefined): s is KObject => !!s);
    rec.lease?.release(); // a pull is not runtime start work: let other pods start meanwhile
    this.event(rec, 'Normal', 'Pulling', `Pulling image "${image}"`);
    const t0 = this.clock.now();
    const r = await this.runtime.pullImage(image, 'Always', pullAuth(image, secrets));
    const d = formatGoDuration(this.clock.now() - t0);
    this.event(rec, 'Normal', 'Pulled', `Successfully pulled image "${image}" in ${d} (${d} including waiting)`);
    return r.imageRef;
  }

  /** Keep the latest two instances of each container (current and previous); remove older exited ones. */
  private async gcInstances(rec: PodRecord, snap: PodSnapshot): Promise<void> {
    const remove: ContainerInfo[] = [];
    for (const [name, insts] of snap.byName) {
      for (const inst of insts.slice(2)) {
        if (inst.state === 'running') continue;
        remove.push(inst.info);
        rec.startFailures.delete(inst.id);
        rec.terminationMessages.delete(inst.id);
        this.volumes.removeTerminationLog(rec.uid, name, inst.restartCount);
      }
    }
    for (const sb of snap.sandboxes.slice(2)) if (sb.state !== 'running') remove.push(sb);
    if (remove.length) await this.removeContainers(remove);
  }
}

interface StartContext {
  rec: PodRecord;
  pod: KObject;
  sandboxId: string;
  hostsFile: string;
  wake: (ms: number) => void;
  /** Containers created while the sandbox started, by container name: started instead of created anew. */
  prepared?: Map<string, PreparedContainer>;
  /** Ids of the containers this sync started. */
  started?: string[];
}

interface PreparedContainer {
  id: string;
  restartCount: number;
}

function handlerDesc(h: Json): string {
  if (h?.exec) return `Exec lifecycle hook (${JSON.stringify(h.exec.command ?? [])})`;
  if (h?.httpGet) return `HTTP lifecycle hook (${h.httpGet.path ?? '/'})`;
  if (h?.sleep) return `Sleep lifecycle hook (${h.sleep.seconds})`;
  if (h?.tcpSocket) return 'TCP lifecycle hook';
  return 'Lifecycle hook';
}

/** Whether the pod uses the configMap / secret / PVC `name` (volumes, env, envFrom, imagePullSecrets). */
export function podReferences(pod: KObject, kind: string, name: string): boolean {
  const spec = pod.spec ?? {};
  for (const v of spec.volumes ?? []) {
    if (kind === 'configMap' && v.configMap?.name === name) return true;
    if (kind === 'secret' && v.secret?.secretName === name) return true;
    if (kind === 'pvc' && (v.persistentVolumeClaim?.claimName === name || (v.ephemeral && `${pod.metadata.name}-${v.name}` === name))) return true;
    for (const s of v.projected?.sources ?? []) {
      if (kind === 'configMap' && s.configMap?.name === name) return true;
      if (kind === 'secret' && s.secret?.name === name) return true;
    }
  }
  if (kind === 'secret' && (spec.imagePullSecrets ?? []).some((s: Json) => s.name === name)) return true;
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    for (const ef of c.envFrom ?? []) {
      if (kind === 'configMap' && ef.configMapRef?.name === name) return true;
      if (kind === 'secret' && ef.secretRef?.name === name) return true;
    }
    for (const e of c.env ?? []) {
      if (kind === 'configMap' && e.valueFrom?.configMapKeyRef?.name === name) return true;
      if (kind === 'secret' && e.valueFrom?.secretKeyRef?.name === name) return true;
    }
  }
  return false;
}

export { SANDBOX_CONTAINER_NAME, LABELS };
