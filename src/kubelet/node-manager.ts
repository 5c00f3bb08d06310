/**
 * NodeManager: runs one Kubelet per managed Node of the profile, in this process.
 *
 * Membership is declarative: Node objects annotated `minictl.io/managed: "true"` (see
 * node-status.ts for the annotations) are reconciled by name through a workqueue:
 * - a managed Node gets its labels and `spec.podCIDR`, a Docker network `minictl-<profile>-<node>`
 *   with that subnet (docker nodes), a runtime (DockerRuntime bound to that network, or the
 *   FakeRuntime for `minictl.io/simulated` nodes and for `runtime: 'fake'`), and a running Kubelet;
 * - `minictl.io/stopped: "true"` stops its Kubelet and all its containers and its heartbeat (the
 *   node-lifecycle controller then turns it NotReady); removing the annotation starts a new Kubelet,
 *   whose sync restarts the pods' containers;
 * - deleting the Node stops its Kubelet, removes its containers, network, Lease and its pods'
 *   directories, and deletes the pods still bound to it (as the pod GC controller does for pods of
 *   nodes that no longer exist). The Lease goes last: its absence means the removal is complete.
 * On a fresh cluster (no managed Node yet) `initialNodes` Nodes are created: `<profile>` (the
 * control plane), `<profile>-m02`, … On start, containers and networks labelled with the profile
 * whose node is not a managed docker Node are removed (orphans); the Kubelets adopt the rest.
 *
 * Heartbeat: ONE timer for all nodes (period/10 granularity). Each running node's Lease in
 * kube-node-lease is renewed every `leaseRenewPeriodMs`; at the same moment its status is
 * written when it differs from the desired one (capacity, conditions, addresses, nodeInfo) or its
 * Ready heartbeat is `statusReportPeriodMs` old, or at once when someone else marked it not Ready
 * while its Kubelet runs. Renewals due in the same tick are spread over the following ticks.
 *
 * Hollow (simulated, and `runtime: 'fake'`) nodes: a FakeRuntime per node behind
 * `yieldingRuntime`, a long PLEG relist period for simulated ones, the shared informers and the
 * shared heartbeat timer; no other per-node timer.
 *
 * Cross-node pod traffic: `ensureCrossNodeTraffic` is re-run after every network creation; when the
 * host rules cannot be installed the manager keeps going, logs the reason once, and records
 * `minictl.io/cross-node-network: "degraded: <reason>"` on its docker Nodes (`ok` otherwise).
 *
 * Concurrency: a node name is never reconciled twice at once (workqueue); different nodes are
 * reconciled by `workers` concurrent workers. Informer handlers only enqueue.
 * Kubelets share the profile's data dir (pod directories are marked with their node).
 * Stopping the manager (abort) stops every Kubelet but leaves containers and networks in place,
 * so that a restarted daemon adopts them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type Docker from 'dockerode';
import type { KObject } from '../api/types';
import { resourceFor } from '../api/scheme';
import type { Registry } from '../apiserver/registry';
import type { Informer, InformerFactory } from '../client/informer';
import { RegistryEventRecorder } from '../client/events';
import { Controller } from '../controller/controller';
import { realClock, type Clock } from '../controller/workqueue';
import type { Runnable } from '../manager/runnable';
import {
  DEFAULT_POD_CIDR,
  defaultIptables,
  ensureCrossNodeTraffic,
  ensureNodeNetwork,
  listProfileNetworks,
  nodeNetworkName,
  podSubnet,
  removeNodeNetwork,
  NETWORK_LABELS,
  type CrossNodeTrafficStatus,
  type IptablesRunner,
  type NodeNetwork,
} from '../network/node-network';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../util/errors';
import type { Logger } from '../util/log';
import { LABELS, type ContainerRuntime } from './runtime/container-runtime';
import { FakeRuntime } from './runtime/fake/fake-runtime';
import { DockerRuntime, createDockerClient } from './runtime/docker/docker-runtime';
import { Kubelet, type KubeletOptions } from './kubelet';
import {
  CONTROL_PLANE_LABEL,
  DEFAULT_LEASE_DURATION_SECONDS,
  NODE_ANNOTATIONS,
  NODE_LEASE_NAMESPACE,
  clusterCidrOf,
  computeNodeStatus,
  isManaged,
  isSimulated,
  isStopped,
  microTime,
  nodeLabels,
  nodeLease,
  nodeNameFor,
  nodeStatusNeedsUpdate,
  podCidrIndex,
  readHostFacts,
  simulatedPodCidr,
  type HostFacts,
} from './node-status';

const NODES = resourceFor('', 'nodes')!;
const PODS = resourceFor('', 'pods')!;
const LEASES = resourceFor('coordination.k8s.io', 'leases')!;

/** Settings a Kubelet takes from the daemon rather than from its node. */
export type KubeletExtras = Pick<KubeletOptions, 'dns' | 'pvDir' | 'allowPrivileged' | 'serviceEnv' | 'relistPeriodMs' | 'probeTransport'>;

export interface NodeRuntimeRequest {
  node: string;
  simulated: boolean;
  podCidr: string;
  /** Docker nodes: the node's network (already created). */
  network?: NodeNetwork;
}

export interface NodeManagerOptions {
  profile: string;
  registry: Registry;
  informers: InformerFactory;
  log: Logger;
  clock?: Clock;
  /** The profile's data dir (the kubelets' pod volumes live under `<dataDir>/pods`). */
  dataDir: string;
  /** Nodes created on a fresh cluster (no managed Node yet). Default 1. */
  initialNodes?: number;
  /** Capacity of the initial nodes (`--cpus`, `--memory`); default the host's. */
  initialCpus?: string;
  initialMemory?: string;
  /** Runtime of non-simulated nodes: Docker (default) or the FakeRuntime (no containers, no networks). */
  runtime?: 'docker' | 'fake';
  /** Docker client for docker nodes; default DOCKER_HOST or the local socket. */
  docker?: Docker;
  /** The profile's pod range (a /16); default: the one its nodes use, else the first free of 10.244/16, 10.243/16 … */
  podCidr?: string;
  leaseDurationSeconds?: number;
  /** Lease renewal period (default 10 s). */
  leaseRenewPeriodMs?: number;
  /** A node status unchanged for this long is re-posted anyway (default 60 s). */
  statusReportPeriodMs?: number;
  /** Host iptables runner for cross-node rules (tests). */
  iptables?: IptablesRunner;
  /** Host facts for node capacity/nodeInfo; default read from this machine. */
  hostFacts?: HostFacts;
  kubelet?: KubeletExtras;
  /** PLEG relist period of simulated nodes' kubelets (default 10 s: hollow containers rarely change). */
  simulatedRelistPeriodMs?: number;
  /** Runtime per node (tests); default DockerRuntime / FakeRuntime as described above. Docker nodes still get their network. */
  runtimeFactory?: (req: NodeRuntimeRequest) => ContainerRuntime;
  /** Concurrent reconciles of different nodes (default 16). */
  workers?: number;
  /** How long `start` waits for the nodes present at start to be reconciled once (default 120 s). */
  initialSyncTimeoutMs?: number;
}

interface NodeState {
  name: string;
  uid: string;
  simulated: boolean;
  /** Docker network and DockerRuntime (else the FakeRuntime). */
  docker: boolean;
  podCidr?: string;
  network?: NodeNetwork;
  runtime?: ContainerRuntime;
  runtimeVersion?: string;
  kubelet?: Kubelet;
  ctl?: AbortController;
  /** Kubelet started and heartbeating. */
  running: boolean;
  lastRenew: number;
  /** Status must be posted at the next tick regardless of the report period. */
  statusDirty: boolean;
  notReadyMessage?: string;
}

function errMsg(e: unknown): string {
  return (e as Error)?.message ?? String(e);
}

function dockerStatus(e: unknown): number | undefined {
  return (e as { statusCode?: number })?.statusCode;
}

export class NodeManager implements Runnable {
  readonly name = 'node-manager';
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly states = new Map<string, NodeState>();
  private readonly renewMs: number;
  private readonly reportMs: number;
  private readonly leaseSeconds: number;
  private readonly runtimeKind: 'docker' | 'fake';
  private nodes!: Informer;
  private controller!: Controller;
  private docker?: Docker;
  private facts!: HostFacts;
  private clusterCidr?: string;
  private excludedCidrs = new Set<string>();
  private cross?: CrossNodeTrafficStatus;
  private crossReported?: string;
  private timer?: unknown;
  private signal?: AbortSignal;
  private readonly initialPending = new Map<string, () => void>();
  private readonly usedDockerIdx = new Set<number>();
  private readonly usedSimIdx = new Set<number>();
  private nextSimIdx = 1;
  private dockerVersion?: string;
  private kubeletStops: Promise<void>[] = [];
  private netLock: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: NodeManagerOptions) {
    this.log = opts.log.child('node-manager');
    this.clock = opts.clock ?? realClock;
    this.renewMs = opts.leaseRenewPeriodMs ?? 10_000;
    this.reportMs = opts.statusReportPeriodMs ?? 60_000;
    this.leaseSeconds = opts.leaseDurationSeconds ?? DEFAULT_LEASE_DURATION_SECONDS;
    this.runtimeKind = opts.runtime ?? 'docker';
  }

  // ----- public queries (used by the streams handler, status, tests) -----

  /** The running Kubelet of a node, or undefined (unknown, stopped, starting). */
  kubeletFor(nodeName: string): Kubelet | undefined {
    const s = this.states.get(nodeName);
    return s?.running ? s.kubelet : undefined;
  }

  /** The runtime a node's Kubelet uses (kept while the node is stopped), or undefined. */
  runtimeFor(nodeName: string): ContainerRuntime | undefined {
    return this.states.get(nodeName)?.runtime;
  }

  /** Names of the nodes whose Kubelet runs. */
  runningNodes(): string[] {
    return [...this.states.values()].filter((s) => s.running).map((s) => s.name).sort();
  }

  /** Last result of installing the cross-node rules (undefined before any docker node). */
  crossNodeStatus(): CrossNodeTrafficStatus | undefined {
    return this.cross;
  }

  // ----- Runnable -----

  async start(signal: AbortSignal): Promise<void> {
    this.signal = signal;
    this.facts = this.opts.hostFacts ?? readHostFacts(this.opts.dataDir);
    this.nodes = this.opts.informers.for(NODES);
    this.controller = new Controller({
      name: 'node-manager',
      log: this.log,
      clock: this.clock,
      workers: this.opts.workers ?? 16,
      setup: (enqueue) => {
        this.nodes.addHandlers({
          onAdd: (o) => enqueue(o.metadata.name!),
          onUpdate: (o, n) => this.onNodeUpdate(o, n, enqueue),
          onDelete: (o) => enqueue(o.metadata.name!),
        });
        this.nodes.start();
      },
      reconcile: (name) => this.reconcileLogged(name),
    });
    // Index what exists before anything is enqueued (pod ranges already handed out).
    this.nodes.start();
    if (this.runtimeKind === 'docker' || this.nodes.list().some((n) => isManaged(n) && this.usesDocker(n))) {
      this.docker = this.opts.docker ?? createDockerClient();
    }
    for (const n of this.nodes.list()) this.noteAllocation(n);
    await this.resolveClusterCidr();
    this.createInitialNodes();
    if (this.docker) await this.removeOrphans();
    const initial = this.nodes.list().filter((n) => isManaged(n) && !n.metadata.deletionTimestamp);
    const synced = Promise.all(initial.map((n) => new Promise<void>((res) => this.initialPending.set(n.metadata.name!, res))));
    await this.controller.start(signal);
    signal.addEventListener('abort', () => this.shutdown(), { once: true });
    let timeout: unknown;
    await Promise.race([
      synced,
      new Promise<void>((res) => {
        timeout = this.clock.setTimeout(() => {
          this.log.warn('not every node was ready in time; continuing', { waiting: [...this.initialPending.keys()].slice(0, 10) });
          res();
        }, this.opts.initialSyncTimeoutMs ?? 120_000);
      }),
    ]);
    this.clock.clearTimeout(timeout);
    this.scheduleTick();
    this.log.info('nodes ready', { running: this.runningNodes().length });
  }

  async stopped(): Promise<void> {
    await this.controller?.stopped();
    await Promise.all(this.kubeletStops);
  }

  private shutdown(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    for (const s of this.states.values()) {
      if (s.kubelet && s.ctl) {
        s.ctl.abort();
        this.kubeletStops.push(s.kubelet.stopped().catch(() => undefined));
      }
      s.running = false;
    }
  }

  /** Whether a node runs on Docker: its runtime annotation, else the manager's default; never when simulated. */
  private usesDocker(n: KObject): boolean {
    if (isSimulated(n)) return false;
    const r = n.metadata.annotations?.[NODE_ANNOTATIONS.runtime];
    return r ? r === 'docker' : this.runtimeKind === 'docker';
  }

  private dockerClient(): Docker {
    if (!this.docker) this.docker = this.opts.docker ?? createDockerClient();
    return this.docker;
  }

  // ----- event handling -----

  private onNodeUpdate(o: KObject, n: KObject, enqueue: (k: string) => void): void {
    const name = n.metadata.name!;
    if (
      o.metadata.uid !== n.metadata.uid ||
      n.metadata.deletionTimestamp !== o.metadata.deletionTimestamp ||
      JSON.stringify(o.metadata.annotations ?? {}) !== JSON.stringify(n.metadata.annotations ?? {}) ||
      JSON.stringify(o.metadata.labels ?? {}) !== JSON.stringify(n.metadata.labels ?? {}) ||
      o.spec?.podCIDR !== n.spec?.podCIDR
    ) {
      enqueue(name);
      return;
    }
    // Someone else (the node-lifecycle controller) marked a node not Ready while its Kubelet runs.
    const s = this.states.get(name);
    if (s?.running && !s.notReadyMessage) {
      const ready = (n.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready');
      if (!ready || ready.status !== 'True') s.statusDirty = true;
    }
  }

  private async reconcileLogged(name: string): Promise<void> {
    try {
      await this.reconcile(name);
    } catch (e) {
      this.log.warn('node reconcile failed', { node: name, error: errMsg(e) });
      throw e;
    } finally {
      const done = this.initialPending.get(name);
      if (done) {
        this.initialPending.delete(name);
        done();
      }
    }
  }

  // ----- reconcile -----

  private async reconcile(name: string): Promise<void> {
    if (this.signal?.aborted) return;
    let node = this.nodes.get(undefined, name);
    let st = this.states.get(name);
    if (st && (!node || node.metadata.uid !== st.uid || node.metadata.deletionTimestamp)) {
      // Deleted (or replaced by a new Node of the same name): tear the old one down completely.
      await this.teardown(st, true);
      st = undefined;
    }
    if (!node || node.metadata.deletionTimestamp) return;
    if (!isManaged(node)) {
      if (st) await this.teardown(st, false);
      return;
    }
    node = this.ensureSpec(node);
    if (!st) {
      st = { name, uid: node.metadata.uid!, simulated: isSimulated(node), docker: this.usesDocker(node), running: false, lastRenew: 0, statusDirty: true };
      this.states.set(name, st);
    }
    st.podCidr = node.spec?.podCIDR;
    if (isStopped(node)) {
      if (st.kubelet) await this.stopKubelet(st, true);
      return;
    }
    if (st.running) return;
    try {
      await this.startKubelet(st);
      st.notReadyMessage = undefined;
    } catch (e) {
      st.notReadyMessage = `node ${name} cannot run pods: ${errMsg(e)}`;
      this.postStatus(st, true);
      throw e;
    }
    st.statusDirty = true;
    this.heartbeat(st, true);
  }

  /** Labels and spec.podCIDR of a managed Node; returns the current object. */
  private ensureSpec(node: KObject): KObject {
    const name = node.metadata.name!;
    const simulated = isSimulated(node);
    const first = name === this.opts.profile && !simulated;
    const want = nodeLabels(name, first || node.metadata.labels?.[CONTROL_PLANE_LABEL] !== undefined, this.facts.architecture);
    const labels = node.metadata.labels ?? {};
    const missingLabel = Object.entries(want).some(([k, v]) => labels[k] !== v);
    const runtime = simulated ? undefined : this.usesDocker(node) ? 'docker' : 'fake';
    const stamp = runtime !== undefined && node.metadata.annotations?.[NODE_ANNOTATIONS.runtime] !== runtime;
    let cidr: string | undefined = node.spec?.podCIDR;
    const needCidr = !cidr;
    if (cidr) this.noteAllocation(node);
    if (!missingLabel && !needCidr && !stamp) return node;
    if (needCidr) cidr = this.allocatePodCidr(simulated);
    try {
      return this.opts.registry.guaranteedUpdate(NODES, undefined, name, (cur) => {
        if (cur.metadata.uid !== node.metadata.uid) throw new ConflictError('nodes', name, 'the node was replaced');
        cur.metadata.labels = { ...(cur.metadata.labels ?? {}), ...want };
        if (runtime) cur.metadata.annotations = { ...(cur.metadata.annotations ?? {}), [NODE_ANNOTATIONS.runtime]: runtime };
        cur.spec = cur.spec ?? {};
        if (!cur.spec.podCIDR && cidr) {
          cur.spec.podCIDR = cidr;
          cur.spec.podCIDRs = [cidr];
        }
        return cur;
      });
    } catch (e) {
      if (needCidr && cidr) this.releasePodCidr(cidr, simulated);
      throw e;
    }
  }

  private noteAllocation(n: KObject): void {
    if (!isManaged(n)) return;
    const sim = isSimulated(n);
    const idx = podCidrIndex(n.spec?.podCIDR, sim);
    if (idx === undefined) return;
    if (sim) this.usedSimIdx.add(idx);
    else {
      this.usedDockerIdx.add(idx);
      if (!this.clusterCidr && !this.opts.podCidr) this.clusterCidr = clusterCidrOf(n.spec?.podCIDR);
    }
  }

  private allocatePodCidr(simulated: boolean): string {
    if (simulated) {
      while (this.usedSimIdx.has(this.nextSimIdx)) this.nextSimIdx++;
      const k = this.nextSimIdx++;
      this.usedSimIdx.add(k);
      return simulatedPodCidr(k);
    }
    for (let i = 1; i <= 254; i++) {
      if (this.usedDockerIdx.has(i)) continue;
      this.usedDockerIdx.add(i);
      return podSubnet(i, this.clusterCidr ?? DEFAULT_POD_CIDR);
    }
    throw new RangeError('no free pod range: a profile has at most 254 docker nodes');
  }

  private releasePodCidr(cidr: string, simulated: boolean): void {
    const idx = podCidrIndex(cidr, simulated);
    if (idx === undefined) return;
    if (simulated) {
      this.usedSimIdx.delete(idx);
      if (idx < this.nextSimIdx) this.nextSimIdx = idx;
    } else this.usedDockerIdx.delete(idx);
  }

  private async startKubelet(st: NodeState): Promise<void> {
    if (!st.runtime) {
      const podCidr = st.podCidr!;
      let network: NodeNetwork | undefined;
      if (st.docker) network = await this.dockerNetwork(st);
      st.network = network;
      st.runtime = this.opts.runtimeFactory
        ? this.opts.runtimeFactory({ node: st.name, simulated: st.simulated, podCidr: st.podCidr!, network })
        : !st.docker
          ? yieldingRuntime(new FakeRuntime({ profile: this.opts.profile, node: st.name, podCidr, clock: this.clock }))
          : new DockerRuntime({ profile: this.opts.profile, node: st.name, docker: this.dockerClient(), network: network!.name });
    } else if (st.docker) {
      // Restarting a stopped node: its network may have been removed behind our back.
      st.network = await this.dockerNetwork(st);
    }
    st.runtimeVersion = await this.runtimeVersion(st);
    const ctl = new AbortController();
    const kubelet = new Kubelet({
      nodeName: st.name,
      profile: this.opts.profile,
      registry: this.opts.registry,
      informers: this.opts.informers,
      runtime: st.runtime,
      recorder: new RegistryEventRecorder(this.opts.registry, 'kubelet', st.name),
      log: this.opts.log.child(`kubelet ${st.name}`),
      clock: this.clock,
      dataDir: this.opts.dataDir,
      ...(st.simulated ? { relistPeriodMs: this.opts.simulatedRelistPeriodMs ?? 10_000 } : {}),
      ...(this.opts.kubelet ?? {}),
    });
    st.kubelet = kubelet;
    st.ctl = ctl;
    try {
      await kubelet.start(ctl.signal);
    } catch (e) {
      ctl.abort();
      st.kubelet = undefined;
      st.ctl = undefined;
      throw e;
    }
    if (this.signal?.aborted) {
      ctl.abort();
      this.kubeletStops.push(kubelet.stopped().catch(() => undefined));
      return;
    }
    st.running = true;
    this.log.v(1, 'kubelet started', { node: st.name, simulated: st.simulated });
  }

  private async runtimeVersion(st: NodeState): Promise<string> {
    if (st.runtime instanceof DockerRuntime && this.dockerVersion) return this.dockerVersion;
    const v = await st.runtime!.version();
    const s = `${v.runtimeName}://${v.runtimeVersion}`;
    if (st.runtime instanceof DockerRuntime) this.dockerVersion = s;
    return s;
  }

  /** Stops the node's Kubelet (and, when `stopContainers`, every container it runs). */
  private async stopKubelet(st: NodeState, stopContainers: boolean): Promise<void> {
    const k = st.kubelet;
    st.running = false;
    st.kubelet = undefined;
    if (!k) return;
    // stopAllContainers first: it halts the kubelet's syncing, then its containers stop.
    if (stopContainers) await k.stopAllContainers();
    st.ctl?.abort();
    st.ctl = undefined;
    let timer: unknown;
    const graceMs = 30_000;
    const inTime = await Promise.race([
      k.stopped().then(() => true),
      new Promise<boolean>((res) => (timer = this.clock.setTimeout(() => res(false), graceMs))),
    ]);
    this.clock.clearTimeout(timer);
    if (!inTime) this.log.warn('kubelet did not stop in time; continuing', { node: st.name, graceMs });
    this.log.v(1, 'kubelet stopped', { node: st.name, containersStopped: stopContainers });
  }

  /**
   * `remove`: the Node is gone — also remove its containers, network, Lease, pods and directory.
   * Otherwise only its Kubelet stops (the Node is no longer managed).
   */
  private async teardown(st: NodeState, remove: boolean): Promise<void> {
    // On removal the containers are force-removed below; no graceful stop first.
    await this.stopKubelet(st, false);
    if (!remove) {
      this.states.delete(st.name);
      return;
    }
    // The state is dropped only at the end: a failure requeues the name and the next
    // reconcile tears down again (every step is idempotent).
    const rt = st.runtime;
    if (rt && !(rt instanceof DockerRuntime)) {
      const all = await rt.listContainers({ all: true });
      for (const c of all.filter((c) => !c.sandbox)) await rt.removeContainer(c.id);
      for (const c of all.filter((c) => c.sandbox)) await rt.removePodSandbox(c.id);
    }
    if (st.docker) {
      const docker = this.dockerClient();
      await removeContainersByLabel(docker, [`${LABELS.profile}=${this.opts.profile}`, `${LABELS.node}=${st.name}`]);
      await removeNodeNetwork(docker, this.opts.profile, st.name);
    }
    if (st.podCidr) this.releasePodCidr(st.podCidr, st.simulated);
    for (const p of this.opts.registry.list(PODS, undefined).items) {
      if (p.spec?.nodeName === st.name) this.deleteQuietly(PODS, p.metadata.namespace, p.metadata.name!, undefined, 0);
    }
    removePodDirsOf(this.opts.dataDir, st.name);
    this.deleteQuietly(LEASES, NODE_LEASE_NAMESPACE, st.name, st.uid);
    if (this.states.get(st.name) === st) this.states.delete(st.name);
    this.log.info('node removed', { node: st.name });
  }

  private deleteQuietly(ri: typeof NODES, ns: string | undefined, name: string, ownerUid?: string, grace?: number): void {
    try {
      const cur = this.opts.registry.tryGet(ri, ns, name);
      if (!cur) return;
      if (ownerUid && cur.metadata.ownerReferences?.length && !cur.metadata.ownerReferences.some((r) => r.uid === ownerUid)) return;
      this.opts.registry.delete(ri, ns, name, grace === undefined ? {} : { gracePeriodSeconds: grace });
    } catch (e) {
      if (!(e instanceof NotFoundError)) this.log.warn('delete failed', { resource: ri.resource, name, error: errMsg(e) });
    }
  }

  // ----- docker networks -----

  /**
   * The profile's /16: the one its docker Nodes or networks already use, else `podCidr`, else the
   * first range no Docker network overlaps. Decided once, before any pod range is handed out.
   */
  private async resolveClusterCidr(): Promise<void> {
    if (this.opts.podCidr) {
      this.clusterCidr = this.opts.podCidr;
      return;
    }
    if (this.clusterCidr) return;
    if (!this.docker) {
      this.clusterCidr = DEFAULT_POD_CIDR;
      return;
    }
    try {
      for (const n of await listProfileNetworks(this.docker, this.opts.profile)) {
        const c = clusterCidrOf(n.subnet);
        if (c) {
          this.clusterCidr = c;
          return;
        }
      }
      this.clusterCidr = await pickClusterCidr(this.docker, this.excludedCidrs);
    } catch (e) {
      this.log.warn('could not choose a pod range from the Docker networks; using the default', { range: DEFAULT_POD_CIDR, error: errMsg(e) });
      this.clusterCidr = DEFAULT_POD_CIDR;
    }
  }

  /** Runs network changes one at a time (the pod-range decision and Docker's own checks race otherwise). */
  private serializeNetwork<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.netLock.then(fn, fn);
    this.netLock = run.catch(() => undefined);
    return run;
  }

  private dockerNetwork(st: NodeState): Promise<NodeNetwork> {
    return this.serializeNetwork(async () => {
      const docker = this.dockerClient();
      for (let attempt = 0; ; attempt++) {
        const cidr = this.nodes.get(undefined, st.name)?.spec?.podCIDR ?? st.podCidr!;
        st.podCidr = cidr;
        try {
          const net = await ensureNodeNetwork({ docker, profile: this.opts.profile, node: st.name, subnet: cidr });
          await this.ensureCrossNode();
          return net;
        } catch (e) {
          const overlap = /overlap/i.test(errMsg(e));
          const alone = [...this.states.values()].every((s) => s === st || !s.network);
          if (overlap && alone && !this.opts.podCidr && attempt < 8) {
            // Another profile took this range meanwhile: move every docker node to another /16.
            this.excludedCidrs.add(this.clusterCidr!);
            const next = await pickClusterCidr(docker, this.excludedCidrs);
            this.log.info('pod range taken by another Docker network; moving to another', { from: this.clusterCidr, to: next });
            this.rebaseDockerNodes(next);
            continue;
          }
          throw e;
        }
      }
    });
  }

  /** Moves every managed docker Node's pod range (same index) into the /16 `cidr`. */
  private rebaseDockerNodes(cidr: string): void {
    this.clusterCidr = cidr;
    for (const n of this.nodes.list()) {
      if (!isManaged(n) || isSimulated(n)) continue;
      const idx = podCidrIndex(n.spec?.podCIDR, false);
      if (idx === undefined) continue;
      const want = podSubnet(idx, cidr);
      if (want === n.spec?.podCIDR) continue;
      const o = this.opts.registry.guaranteedUpdate(NODES, undefined, n.metadata.name!, (cur) => {
        cur.spec = { ...(cur.spec ?? {}), podCIDR: want, podCIDRs: [want] };
        return cur;
      });
      const s = this.states.get(n.metadata.name!);
      if (s) s.podCidr = o.spec.podCIDR;
    }
  }

  private async ensureCrossNode(): Promise<void> {
    if (!this.clusterCidr) return;
    this.cross = await ensureCrossNodeTraffic({ profile: this.opts.profile, podCidr: this.clusterCidr, docker: this.docker, iptables: this.opts.iptables });
    const note = this.cross.status === 'ok' ? 'ok' : `degraded: ${this.cross.reason}`;
    if (note !== this.crossReported) {
      this.crossReported = note;
      if (this.cross.status === 'ok') this.log.info('cross-node pod traffic enabled', { range: this.clusterCidr });
      else this.log.warn(`cross-node pod traffic is not available (pods on different nodes cannot reach each other by pod IP): ${this.cross.reason}`);
    }
    for (const s of this.states.values()) if (s.docker) this.annotate(s.name, NODE_ANNOTATIONS.crossNodeNetwork, note);
  }

  private annotate(name: string, key: string, value: string): void {
    const n = this.nodes.get(undefined, name);
    if (!n || n.metadata.annotations?.[key] === value) return;
    try {
      this.opts.registry.guaranteedUpdate(NODES, undefined, name, (cur) => {
        cur.metadata.annotations = { ...(cur.metadata.annotations ?? {}), [key]: value };
        return cur;
      });
    } catch (e) {
      if (!(e instanceof NotFoundError)) this.log.warn('annotating node failed', { node: name, error: errMsg(e) });
    }
  }

  // ----- start-up -----

  private createInitialNodes(): void {
    if (this.nodes.list().some(isManaged)) return;
    const n = this.opts.initialNodes ?? 1;
    for (let i = 1; i <= n; i++) {
      const name = nodeNameFor(this.opts.profile, i);
      const annotations: Record<string, string> = { [NODE_ANNOTATIONS.managed]: 'true' };
      if (this.opts.initialCpus) annotations[NODE_ANNOTATIONS.cpus] = this.opts.initialCpus;
      if (this.opts.initialMemory) annotations[NODE_ANNOTATIONS.memory] = this.opts.initialMemory;
      try {
        this.opts.registry.create(NODES, undefined, {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: { name, annotations, labels: nodeLabels(name, i === 1, this.facts.architecture) },
          spec: {},
        });
      } catch (e) {
        if (!(e instanceof AlreadyExistsError)) throw e;
        this.log.warn('a node of that name exists and is not managed by minictl; skipped', { node: name });
      }
    }
  }

  /** Removes containers and networks of the profile whose node is not a managed docker Node. */
  private async removeOrphans(): Promise<void> {
    const docker = this.docker!;
    const keep = new Set(this.nodes.list().filter((n) => isManaged(n) && !isSimulated(n)).map((n) => n.metadata.name!));
    try {
      const list = await docker.listContainers({ all: true, filters: { label: [`${LABELS.profile}=${this.opts.profile}`] } });
      let removed = 0;
      for (const c of list) {
        const node = c.Labels?.[LABELS.node];
        if (node && keep.has(node)) continue;
        await removeContainer(docker, c.Id);
        removed++;
      }
      let nets = 0;
      for (const n of await listProfileNetworks(docker, this.opts.profile)) {
        if (n.node && keep.has(n.node)) continue;
        await removeNodeNetwork(docker, this.opts.profile, n.node);
        nets++;
      }
      if (removed || nets) this.log.info('removed orphans', { containers: removed, networks: nets });
    } catch (e) {
      this.log.warn('could not check for orphan containers and networks', { error: errMsg(e) });
    }
  }

  // ----- heartbeat -----

  private scheduleTick(): void {
    if (this.signal?.aborted) return;
    const tick = Math.max(10, Math.min(1000, Math.floor(this.renewMs / 10)));
    this.timer = this.clock.setTimeout(() => {
      try {
        this.tick();
      } finally {
        this.scheduleTick();
      }
    }, tick);
  }

  /** One heartbeat round: renew due Leases (spread over ticks), post due or dirty statuses. */
  private tick(): void {
    const now = this.clock.now();
    const due: NodeState[] = [];
    let running = 0;
    for (const s of this.states.values()) {
      if (!s.running) continue;
      running++;
      if (now - s.lastRenew >= this.renewMs || s.statusDirty) due.push(s);
    }
    if (!due.length) return;
    const tickMs = Math.max(10, Math.min(1000, Math.floor(this.renewMs / 10)));
    const budget = Math.max(50, Math.ceil(((running * tickMs) / this.renewMs) * 2));
    due.sort((a, b) => Number(b.statusDirty) - Number(a.statusDirty) || a.lastRenew - b.lastRenew);
    for (const s of due.slice(0, budget)) this.heartbeat(s, false);
    // The FakeRuntime records every call (for test assertions); keep that bounded (hollow nodes: none kept).
    for (const s of due) if (s.runtime instanceof FakeRuntime && (s.simulated || s.runtime.calls.length > 10_000)) s.runtime.clearCalls();
  }

  /** Renews the node's Lease and posts its status when due. Never throws. */
  private heartbeat(st: NodeState, force: boolean): void {
    const now = this.clock.now();
    st.lastRenew = now;
    this.renewLease(st, new Date(now));
    this.postStatus(st, force || st.statusDirty);
  }

  private renewLease(st: NodeState, now: Date): void {
    const reg = this.opts.registry;
    try {
      const cur = reg.tryGet(LEASES, NODE_LEASE_NAMESPACE, st.name);
      if (!cur) {
        reg.create(LEASES, NODE_LEASE_NAMESPACE, nodeLease({ name: st.name, uid: st.uid }, now, this.leaseSeconds));
        return;
      }
      const owners = [{ apiVersion: 'v1', kind: 'Node', name: st.name, uid: st.uid }];
      const ownersOk = cur.metadata.ownerReferences?.length === 1 && cur.metadata.ownerReferences[0].uid === st.uid;
      reg.update(LEASES, NODE_LEASE_NAMESPACE, st.name, {
        ...cur,
        metadata: ownersOk ? cur.metadata : { ...cur.metadata, ownerReferences: owners },
        spec: { ...cur.spec, holderIdentity: st.name, leaseDurationSeconds: this.leaseSeconds, renewTime: microTime(now) },
      });
    } catch (e) {
      this.log.v(1, 'lease renewal failed', { node: st.name, error: errMsg(e) });
    }
  }

  private postStatus(st: NodeState, force: boolean): void {
    const node = this.nodes.get(undefined, st.name);
    if (!node || node.metadata.uid !== st.uid) return;
    const now = new Date(this.clock.now());
    const desired = this.desiredStatus(st, node, now);
    if (!force && !nodeStatusNeedsUpdate(node.status, desired, now, this.reportMs)) return;
    try {
      this.opts.registry.guaranteedUpdate(
        NODES,
        undefined,
        st.name,
        (cur) => {
          if (cur.metadata.uid !== st.uid) throw new ConflictError('nodes', st.name, 'the node was replaced');
          cur.status = { ...(cur.status ?? {}), ...this.desiredStatus(st, cur, now) };
          return cur;
        },
        { subresource: 'status' },
      );
      st.statusDirty = false;
    } catch (e) {
      this.log.v(1, 'node status update failed', { node: st.name, error: errMsg(e) });
    }
  }

  private desiredStatus(st: NodeState, node: KObject, now: Date): Record<string, unknown> {
    const cidr = node.spec?.podCIDR ?? st.podCidr;
    const internalIP = st.network?.gateway ?? (cidr ? cidr.replace(/\.0\/\d+$/, '.1') : '127.0.0.1');
    return computeNodeStatus(
      {
        name: st.name,
        facts: this.facts,
        annotations: node.metadata.annotations,
        internalIP,
        containerRuntimeVersion: st.runtimeVersion ?? (st.docker ? 'docker://unknown' : 'fake://0.1.0'),
        notReadyMessage: st.running ? undefined : st.notReadyMessage ?? 'kubelet is starting',
        now,
      },
      node.status,
    );
  }
}

const RUNTIME_METHODS = new Set<string>([
  'version', 'pullImage', 'runPodSandbox', 'stopPodSandbox', 'removePodSandbox', 'createContainer', 'startContainer',
  'stopContainer', 'removeContainer', 'listContainers', 'containerStatus', 'logs', 'exec', 'attach', 'stats',
]);

/**
 * The runtime with every ContainerRuntime call deferred to the event loop's check phase, as real
 * engine I/O is. The FakeRuntime answers within the same microtask chain, so thousands of hollow
 * pods syncing at once would otherwise starve every timer in the process (heartbeats included)
 * for as long as the burst lasts. Other members (the fake's scripting helpers) pass through;
 * `instanceof` still sees the target's class.
 */
export function yieldingRuntime<T extends ContainerRuntime>(rt: T): T {
  return new Proxy(rt, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      if (typeof prop !== 'string' || !RUNTIME_METHODS.has(prop)) return v.bind(target);
      return (...args: unknown[]) => new Promise((resolve, reject) => setImmediate(() => Promise.resolve().then(() => v.apply(target, args)).then(resolve, reject)));
    },
  });
}

/** Removes `<dataDir>/pods/<uid>` directories the kubelet marked as the node's (`.node` file). */
function removePodDirsOf(dataDir: string, node: string): void {
  const root = path.join(dataDir, 'pods');
  let uids: string[];
  try {
    uids = fs.readdirSync(root);
  } catch {
    return;
  }
  for (const uid of uids) {
    try {
      if (fs.readFileSync(path.join(root, uid, '.node'), 'utf8') === node) fs.rmSync(path.join(root, uid), { recursive: true, force: true });
    } catch {
      // not a pod dir of a node, or already gone
    }
  }
}

// ---------------------------------------------------------------------------------------
// Docker helpers shared with `minictl delete`

async function removeContainer(docker: Docker, id: string): Promise<void> {
  try {
    await docker.getContainer(id).remove({ force: true, v: true });
  } catch (e) {
    if (dockerStatus(e) !== 404 && dockerStatus(e) !== 409) throw e;
  }
}

/** Force-removes every container carrying all of `labels` (`key=value`); returns how many. */
export async function removeContainersByLabel(docker: Docker, labels: string[]): Promise<number> {
  const list = await docker.listContainers({ all: true, filters: { label: labels } });
  // App containers first: sandboxes own the network namespace they join.
  list.sort((a, b) => Number(a.Labels?.[LABELS.sandbox] === 'true') - Number(b.Labels?.[LABELS.sandbox] === 'true'));
  for (const c of list) await removeContainer(docker, c.Id);
  return list.length;
}

/**
 * The profile's /16 pod range: 10.244.0.0/16 when no Docker network overlaps it, else the next
 * free of 10.243/16 … 10.112/16 (10.96/12 is the service range), skipping `exclude`.
 */
export async function pickClusterCidr(docker: Docker, exclude: ReadonlySet<string> = new Set()): Promise<string> {
  const nets = (await docker.listNetworks()) as Array<{ IPAM?: { Config?: Array<{ Subnet?: string }> | null } }>;
  const used: Array<[number, number]> = [];
  for (const n of nets) for (const c of n.IPAM?.Config ?? []) if (c.Subnet) used.push(cidrRange(c.Subnet));
  for (let b = 244; b >= 112; b--) {
    const cand = `10.${b}.0.0/16`;
    if (exclude.has(cand)) continue;
    const [lo, hi] = cidrRange(cand);
    if (!used.some(([l, h]) => l <= hi && lo <= h)) return cand;
  }
  throw new Error('no free /16 pod range in 10.112.0.0-10.244.255.255; remove unused Docker networks or pass a pod range');
}

function cidrRange(cidr: string): [number, number] {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) return [1, 0];
  const a = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
  const size = 2 ** (32 - Number(m[5]));
  const lo = a - (a % size);
  return [lo, lo + size - 1];
}

export interface ProfileCleanupResult {
  containers: number;
  networks: string[];
  iptablesRules: string[];
  /** User-defined chains removed once the profile's rules were gone (`-t nat MC-…`). */
  iptablesChains: string[];
  /** Things that could not be checked (Docker unreachable, iptables not permitted …). */
  warnings: string[];
}

/**
 * Removes everything a profile left on the host: containers and networks labelled
 * `io.minictl.profile=<profile>`, and iptables rules commented `minictl:<profile>` (or
 * `minictl:<profile>:<anything>`) in the filter, nat, mangle and raw tables, then the user-defined
 * chains those rules jumped to (or that held only such rules) once they are empty. Works without
 * the daemon. Never throws; what could not be done is in `warnings`.
 */
export async function removeProfileResources(profile: string, opts: { docker?: Docker; iptables?: IptablesRunner } = {}): Promise<ProfileCleanupResult> {
  const res: ProfileCleanupResult = { containers: 0, networks: [], iptablesRules: [], iptablesChains: [], warnings: [] };
  const docker = opts.docker ?? createDockerClient();
  let reachable = true;
  try {
    await docker.ping();
  } catch (e) {
    reachable = false;
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ECONNREFUSED') res.warnings.push(`Docker not reachable: ${errMsg(e)}`);
  }
  if (reachable) {
    try {
      res.containers = await removeContainersByLabel(docker, [`${LABELS.profile}=${profile}`]);
    } catch (e) {
      res.warnings.push(`removing containers: ${errMsg(e)}`);
    }
    try {
      const nets = (await docker.listNetworks({ filters: { label: [`${NETWORK_LABELS.profile}=${profile}`] } })) as Array<{ Id: string; Name: string; Labels?: Record<string, string> }>;
      for (const n of nets) {
        const node = n.Labels?.[NETWORK_LABELS.node];
        if (node && n.Name === nodeNetworkName(profile, node)) await removeNodeNetwork(docker, profile, node);
        else await docker.getNetwork(n.Id).remove();
        res.networks.push(n.Name);
      }
    } catch (e) {
      res.warnings.push(`removing networks: ${errMsg(e)}`);
    }
  }
  const run = opts.iptables ?? defaultIptables;
  const tag = `minictl:${profile}`;
  const tagged = (args: string[]): boolean => {
    const i = args.indexOf('--comment');
    const c = i >= 0 ? args[i + 1] : undefined;
    return c === tag || !!c?.startsWith(tag + ':');
  };
  for (const table of ['filter', 'nat', 'mangle', 'raw']) {
    const listing = await run(['-t', table, '-S']);
    if (listing.code !== 0) {
      const msg = listing.stderr.trim();
      // No iptables, or not permitted (then this user could not have installed rules either).
      if (listing.code === 127 || /permission denied|must be root/i.test(msg)) break;
      if (table === 'filter') res.warnings.push(`iptables: ${msg || 'exit ' + listing.code}`);
      continue;
    }
    const userChains = new Set<string>();
    const rulesPerChain = new Map<string, { all: number; ours: number }>();
    const candidates = new Set<string>();
    const ours: string[][] = [];
    for (const line of listing.stdout.split('\n')) {
      const args = splitIptablesLine(line);
      if (args[0] === '-N' && args[1]) userChains.add(args[1]);
      if (args[0] !== '-A') continue;
      const n = rulesPerChain.get(args[1]) ?? { all: 0, ours: 0 };
      n.all++;
      rulesPerChain.set(args[1], n);
      if (!tagged(args)) continue;
      n.ours++;
      ours.push(args);
      const j = args.findIndex((a) => a === '-j' || a === '-g');
      if (j >= 0 && args[j + 1]) candidates.add(args[j + 1]);
    }
    for (const args of ours) {
      const del = await run(['-t', table, '-D', ...args.slice(1)]);
      if (del.code === 0) res.iptablesRules.push(`-t ${table} ${args.slice(1).join(' ')}`);
      else res.warnings.push(`iptables -t ${table} -D ${args.slice(1).join(' ')}: ${del.stderr.trim()}`);
    }
    // Chains the profile made: targets of its rules, or chains holding only its rules; removed
    // once empty (Docker's own chains are never touched).
    for (const [chain, n] of rulesPerChain) if (n.all === n.ours) candidates.add(chain);
    for (const chain of candidates) {
      if (!userChains.has(chain) || chain.startsWith('DOCKER')) continue;
      const left = await run(['-t', table, '-S', chain]);
      if (left.code !== 0 || left.stdout.split('\n').some((l) => l.startsWith('-A '))) continue;
      const x = await run(['-t', table, '-X', chain]);
      if (x.code === 0) res.iptablesChains.push(`-t ${table} ${chain}`);
    }
  }
  return res;
}

/** Split an `iptables -S` line into argv, honouring double quotes. */
function splitIptablesLine(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]);
  return out;
}
