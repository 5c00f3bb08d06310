import { performance } from 'node:perf_hooks';
import type { KObject } from '../api/types';
import { resourceFor } from '../api/scheme';
import { fromLabelSelector, type Requirement, type Selector } from '../api/selectors';
import type { Registry } from '../apiserver/registry';
import type { EventRecorder } from '../client/events';
import type { Informer, InformerFactory } from '../client/informer';
import { realClock, type Clock } from '../controller/workqueue';
import type { ControllerContext } from '../controllers/context';
import type { Runnable } from '../manager/runnable';
import { deepEqual } from '../util/equal';
import { ConflictError, NotFoundError } from '../util/errors';
import type { Logger } from '../util/log';
import { SchedulerCache } from './cache';
import { Framework, NO_NODES_AVAILABLE, fitErrorMessage, type ClusterEvent, type Handle, type NominatedPods, type Plugin } from './framework';
import type { NodeInfo } from './node-info';
import { newPodInfo, type PodInfo } from './pod-info';
import { DefaultPreemption, type Candidate, type DisruptionBudget } from './preemption';
import { SchedulingQueue, type QueuedPodInfo } from './queue';
import { DEFAULT_WEIGHTS, defaultPlugins } from './plugins';

/**
 * kube-scheduler in miniature: watches pods and nodes through the shared informers, keeps a
 * cache of nodes with the pods bound or assumed on them, takes pending pods (spec.schedulerName
 * `default-scheduler` or empty, no spec.nodeName) from a priority queue, runs the framework's
 * filter and score plugins, and binds the pod through the registry's pods/binding path
 * (spec.nodeName + PodScheduled=True). Pods no node fits stay Pending with PodScheduled=False
 * reason Unschedulable and a Warning FailedScheduling event worded like Kubernetes; they are
 * retried when a cluster event may help (node added or changed, pod deleted …). Higher-priority
 * pods may preempt lower-priority ones (DefaultPreemption).
 *
 * Concurrency: informer handlers only update the cache and the queue; one loop schedules pods
 * one at a time, synchronously (cycle and binding), yielding to the event loop every `sliceMs`.
 */
export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';
const SCHEDULED_RECORDER_ROTATION = 4000;

export interface ScheduledEvent {
  pod: KObject;
  node: string;
  /** the scheduling attempt (filter, score, bind) in ms */
  attemptMs: number;
  /** from first entering the queue to bound, in ms (by the scheduler clock) */
  e2eMs: number;
  attempts: number;
}

export interface FailedEvent {
  pod: KObject;
  message: string;
  attemptMs: number;
}

/** Optional hooks for benchmarks and tests; called synchronously, must not throw. */
export interface SchedulerObserver {
  scheduled?(e: ScheduledEvent): void;
  failed?(e: FailedEvent): void;
}

export interface SchedulerOptions {
  registry: Registry;
  informers: InformerFactory;
  log: Logger;
  /** FailedScheduling and Preempted events (repeats are aggregated by the recorder) */
  recorder: EventRecorder;
  /**
   * Makes the recorder for Normal Scheduled events. Those never repeat, so the scheduler starts
   * a fresh recorder every few thousand events to keep the recorder's repeat index small.
   * Default: `recorder` is used for every event.
   */
  scheduledRecorder?: () => EventRecorder;
  clock?: Clock;
  schedulerName?: string;
  /** kube's percentageOfNodesToScore: 0 = adaptive (default), 100 = every node */
  percentageOfNodesToScore?: number;
  /** tie-breaking and preemption offsets; default Math.random */
  random?: () => number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  maxUnschedulableMs?: number;
  /** replaces the default profile (tests) */
  plugins?: (handle: Handle) => Plugin[];
  weights?: Record<string, number>;
  /** default true */
  preemption?: boolean;
  /** emit a Normal Scheduled event per bound pod (default true, as kube-scheduler) */
  scheduledEvents?: boolean;
  /** how long the loop may run before yielding to I/O (default 10 ms) */
  sliceMs?: number;
  observer?: SchedulerObserver;
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function isTerminal(pod: KObject): boolean {
  const ph = pod.status?.phase;
  return ph === 'Succeeded' || ph === 'Failed';
}

/** Pods nominated to nodes by preemption (kube's nominator). */
class Nominator implements NominatedPods {
  private readonly byNode = new Map<string, Map<string, PodInfo>>();
  private readonly nodeOf = new Map<string, string>();

  get size(): number {
    return this.nodeOf.size;
  }

  set(info: PodInfo, node: string): void {
    this.remove(info.uid);
    let m = this.byNode.get(node);
    if (!m) this.byNode.set(node, (m = new Map()));
    m.set(info.uid, info);
    this.nodeOf.set(info.uid, node);
  }

  remove(uid: string): void {
    const n = this.nodeOf.get(uid);
    if (n === undefined) return;
    this.nodeOf.delete(uid);
    const m = this.byNode.get(n);
    m?.delete(uid);
    if (m && !m.size) this.byNode.delete(n);
  }

  forNode(node: string, priority: number, uid: string): PodInfo[] {
    const m = this.byNode.get(node);
    if (!m) return [];
    const out: PodInfo[] = [];
    for (const p of m.values()) if (p.uid !== uid && p.priority >= priority) out.push(p);
    return out;
  }

  lowerPriority(node: string, priority: number): PodInfo[] {
    const m = this.byNode.get(node);
    return m ? [...m.values()].filter((p) => p.priority < priority) : [];
  }
}

export class Scheduler implements Runnable {
  readonly name = 'scheduler';
  readonly cache = new SchedulerCache();
  readonly queue: SchedulingQueue;
  readonly framework: Framework;
  private readonly nominator = new Nominator();
  private readonly preemption?: DefaultPreemption;
  private readonly clock: Clock;
  private readonly schedulerName: string;
  private readonly podsRI = resourceFor('', 'pods')!;
  private readonly pods: Informer;
  private readonly nodes: Informer;
  private readonly namespaces: Informer;
  private readonly services: Informer;
  private readonly replicaSets: Informer;
  private readonly statefulSets: Informer;
  private readonly pdbs: Informer;
  private readonly claims: Informer;
  private readonly volumes: Informer;
  private readonly storageClasses: Informer;
  private readonly sliceMs: number;
  /** PodInfos of pods being bound, to reuse their computed data when the informer confirms them */
  private readonly assumedInfo = new Map<string, PodInfo>();
  private loopDone?: Promise<void>;
  private stopping = false;
  /** counters for status and benchmarks */
  readonly stats = { attempts: 0, scheduled: 0, unschedulable: 0, errors: 0, preemptions: 0 };

  constructor(private readonly opts: SchedulerOptions) {
    this.clock = opts.clock ?? realClock;
    this.schedulerName = opts.schedulerName ?? DEFAULT_SCHEDULER_NAME;
    this.sliceMs = opts.sliceMs ?? 10;
    const inf = opts.informers;
    this.pods = inf.for(this.podsRI);
    this.nodes = inf.for(resourceFor('', 'nodes')!);
    this.namespaces = inf.for(resourceFor('', 'namespaces')!);
    this.services = inf.for(resourceFor('', 'services')!);
    this.replicaSets = inf.for(resourceFor('apps', 'replicasets')!);
    this.statefulSets = inf.for(resourceFor('apps', 'statefulsets')!);
    this.pdbs = inf.for(resourceFor('policy', 'poddisruptionbudgets')!);
    this.claims = inf.for(resourceFor('', 'persistentvolumeclaims')!);
    this.volumes = inf.for(resourceFor('', 'persistentvolumes')!);
    this.storageClasses = inf.for(resourceFor('storage.k8s.io', 'storageclasses')!);
    const handle = this.handle();
    const plugins = (opts.plugins ?? defaultPlugins)(handle);
    this.framework = new Framework(handle, plugins, opts.weights ?? DEFAULT_WEIGHTS, { percentageOfNodesToScore: opts.percentageOfNodesToScore, random: opts.random });
    this.queue = new SchedulingQueue({
      clock: this.clock,
      eventsByPlugin: this.framework.eventsByPlugin,
      initialBackoffMs: opts.initialBackoffMs,
      maxBackoffMs: opts.maxBackoffMs,
      maxUnschedulableMs: opts.maxUnschedulableMs,
    });
    if (opts.preemption !== false) {
      this.preemption = new DefaultPreemption({ framework: this.framework, nominated: this.nominator, random: opts.random, budgets: (ns) => this.budgets(ns) });
    }
  }

  private handle(): Handle {
    const cache = this.cache;
    return {
      nodeInfos: () => cache.nodeInfos(),
      nodeInfo: (name) => cache.nodeInfo(name),
      namespaceLabels: (ns) => this.namespaces.get(undefined, ns)?.metadata.labels,
      defaultSpreadSelector: (pod) => this.defaultSelector(pod),
      imageNodeCount: (img) => cache.imageNodeCount(img),
      havePodsWithAffinity: () => cache.havePodsWithAffinity(),
      havePodsWithRequiredAntiAffinity: () => cache.havePodsWithRequiredAntiAffinity(),
      storage: {
        claim: (ns, name) => this.claims.get(ns, name),
        volume: (name) => this.volumes.get(undefined, name),
        storageClass: (name) => this.storageClasses.get(undefined, name),
        volumes: () => this.volumes.list(),
      },
    };
  }

  /** kube's DefaultSelector: labels selected by the pod's Services, plus its ReplicaSet's or StatefulSet's selector. */
  private defaultSelector(pod: PodInfo): Selector | null {
    const set: Record<string, string> = {};
    for (const svc of this.services.list(pod.namespace)) {
      const sel = svc.spec?.selector as Record<string, string> | undefined;
      if (!sel || !Object.keys(sel).length) continue;
      if (Object.entries(sel).every(([k, v]) => pod.labels[k] === v)) Object.assign(set, sel);
    }
    const out: Requirement[] = Object.entries(set).map(([key, v]) => ({ key, op: 'in', values: [v] }));
    const owner = pod.pod.metadata.ownerReferences?.find((r) => r.controller);
    if (owner && owner.apiVersion?.startsWith('apps/')) {
      const inf = owner.kind === 'ReplicaSet' ? this.replicaSets : owner.kind === 'StatefulSet' ? this.statefulSets : undefined;
      const o = inf?.get(pod.namespace, owner.name);
      const sel = o ? fromLabelSelector(o.spec?.selector) : null;
      if (sel) out.push(...sel);
    }
    return out.length ? out : null;
  }

  private budgets(ns: string): DisruptionBudget[] {
    return this.pdbs.list(ns).map((b) => ({
      namespace: b.metadata.namespace ?? '',
      selector: fromLabelSelector(b.spec?.selector),
      disruptionsAllowed: typeof b.status?.disruptionsAllowed === 'number' ? b.status.disruptionsAllowed : 0,
      disruptedPods: new Set(Object.keys(b.status?.disruptedPods ?? {})),
    }));
  }

  private responsibleFor(pod: KObject): boolean {
    return (pod.spec?.schedulerName || DEFAULT_SCHEDULER_NAME) === this.schedulerName;
  }

  async start(signal: AbortSignal): Promise<void> {
    this.nodes.addHandlers({
      onAdd: (n) => this.onNodeAdd(n),
      onUpdate: (o, n) => this.onNodeUpdate(o, n),
      onDelete: (n) => this.onNodeDelete(n),
    });
    this.pods.addHandlers({
      onAdd: (p) => this.onPodAdd(p),
      onUpdate: (o, p) => this.onPodUpdate(o, p),
      onDelete: (p) => this.onPodDelete(p),
    });
    this.namespaces.addHandlers({
      onUpdate: (o, n) => {
        if (!this.stopping && !deepEqual(o.metadata.labels, n.metadata.labels)) this.queue.moveAllToActiveOrBackoff('NamespaceUpdate');
      },
    });
    // VolumeBinding: a claim bound or provisioned, a volume added, a class created may help
    const storageEvent = (e: ClusterEvent) => () => !this.stopping && this.event(e);
    this.claims.addHandlers({ onAdd: storageEvent('PvcChange'), onUpdate: storageEvent('PvcChange') });
    this.volumes.addHandlers({ onAdd: storageEvent('PvChange'), onUpdate: storageEvent('PvChange') });
    this.storageClasses.addHandlers({ onAdd: storageEvent('StorageClassChange'), onUpdate: storageEvent('StorageClassChange') });
    for (const i of [this.nodes, this.namespaces, this.services, this.replicaSets, this.statefulSets, this.pdbs, this.storageClasses, this.volumes, this.claims, this.pods]) i.start();
    signal.addEventListener('abort', () => {
      this.stopping = true;
      this.queue.close();
    });
    this.loopDone = this.loop();
  }

  async stopped(): Promise<void> {
    await this.loopDone;
  }

  // ---- event handlers: cache and queue only ----

  private event(e: ClusterEvent): void {
    this.queue.moveAllToActiveOrBackoff(e);
  }

  private onNodeAdd(n: KObject): void {
    if (this.stopping) return;
    this.cache.setNode(n);
    this.event('NodeAdd');
  }

  /** Only changes that matter to scheduling (not heartbeats) count as a NodeUpdate event. */
  private onNodeUpdate(_old: KObject, n: KObject): void {
    if (this.stopping) return;
    const before = this.cache.nodeInfo(n.metadata.name!);
    const snap = before?.node ? { labels: before.labels, taints: before.taints, unsched: before.unschedulable, alloc: before.allocatable, images: before.images.size } : undefined;
    const ni = this.cache.setNode(n);
    if (!snap) return this.event('NodeAdd');
    if (
      snap.unsched !== ni.unschedulable ||
      snap.images !== ni.images.size ||
      !sameAllocatable(snap.alloc, ni.allocatable) ||
      !deepEqual(snap.labels, ni.labels) ||
      !deepEqual(snap.taints, ni.taints)
    ) {
      this.event('NodeUpdate');
    }
  }

  private onNodeDelete(n: KObject): void {
    if (this.stopping) return;
    this.cache.removeNode(n.metadata.name!);
    this.event('NodeDelete');
  }

  private onPodAdd(p: KObject): void {
    if (this.stopping || isTerminal(p)) return;
    if (p.spec?.nodeName) {
      this.cache.addOrUpdatePod(newPodInfo(p));
      this.event('AssignedPodAdd');
      return;
    }
    if (!this.responsibleFor(p) || p.metadata.deletionTimestamp) return;
    const info = newPodInfo(p);
    this.queue.add(info);
    const nom = p.status?.nominatedNodeName;
    if (nom) this.nominator.set(info, nom);
  }

  private onPodUpdate(o: KObject, p: KObject): void {
    if (this.stopping) return;
    const key = `${p.metadata.namespace}/${p.metadata.name}`;
    if (isTerminal(p)) {
      this.queue.delete(key);
      this.nominator.remove(p.metadata.uid!);
      if (this.cache.nodeOf(p.metadata.uid!) !== undefined) {
        this.cache.removePod(p.metadata.uid!);
        this.event('AssignedPodDelete');
      }
      return;
    }
    if (p.spec?.nodeName) {
      this.queue.delete(key);
      this.nominator.remove(p.metadata.uid!);
      if (!o.spec?.nodeName) {
        // just bound (by us or someone else): confirm, reusing the assumed PodInfo when it is ours
        const assumedOn = this.cache.isAssumed(p.metadata.uid!) ? this.cache.nodeOf(p.metadata.uid!) : undefined;
        const prev = assumedOn === p.spec.nodeName ? this.assumedInfo.get(p.metadata.uid!) : undefined;
        this.cache.addOrUpdatePod(prev && prev.pod.metadata.resourceVersion === o.metadata.resourceVersion ? { ...prev, pod: p, nodeName: p.spec.nodeName } : newPodInfo(p));
        this.event('AssignedPodAdd');
        return;
      }
      const labelsChanged = !deepEqual(o.metadata.labels, p.metadata.labels);
      if (labelsChanged || !deepEqual(o.spec, p.spec) || !!o.metadata.deletionTimestamp !== !!p.metadata.deletionTimestamp || this.cache.nodeOf(p.metadata.uid!) === undefined) {
        this.cache.addOrUpdatePod(newPodInfo(p));
        this.event('AssignedPodUpdate');
      }
      return;
    }
    if (!this.responsibleFor(p)) {
      this.queue.delete(key);
      return;
    }
    if (p.metadata.deletionTimestamp) {
      this.queue.delete(key);
      this.nominator.remove(p.metadata.uid!);
      return;
    }
    const specChanged = !deepEqual(o.spec, p.spec) || !deepEqual(o.metadata.labels, p.metadata.labels);
    const prev = this.queue.get(key);
    const info = specChanged || !prev ? newPodInfo(p) : { ...prev.info, pod: p };
    this.queue.update(info, specChanged);
    const nom = p.status?.nominatedNodeName;
    if (nom) this.nominator.set(info, nom);
    else this.nominator.remove(info.uid);
  }

  private onPodDelete(p: KObject): void {
    if (this.stopping) return;
    this.queue.delete(`${p.metadata.namespace}/${p.metadata.name}`);
    this.nominator.remove(p.metadata.uid!);
    if (this.cache.nodeOf(p.metadata.uid!) !== undefined) {
      this.cache.removePod(p.metadata.uid!);
      this.event('AssignedPodDelete');
    }
  }

  // ---- the scheduling loop ----

  private async loop(): Promise<void> {
    let slice = performance.now();
    for (;;) {
      if (this.stopping) return;
      let q = this.queue.tryPop();
      if (!q) {
        q = await this.queue.pop();
        slice = performance.now();
      }
      if (!q || this.stopping) return;
      this.scheduleOneSafe(q);
      if (performance.now() - slice >= this.sliceMs) {
        await new Promise<void>((r) => setImmediate(r));
        slice = performance.now();
      }
    }
  }

  private scheduleOneSafe(q: QueuedPodInfo): void {
    try {
      this.scheduleOne(q);
    } catch (e) {
      this.stats.errors++;
      this.opts.log.error('scheduling attempt failed', { pod: q.info.key, error: (e as Error).message });
      this.queue.addUnschedulable(q, new Set(), true);
    }
  }

  private scheduleOne(q: QueuedPodInfo): void {
    const info = q.info;
    if (info.terminating || this.cache.nodeOf(info.uid) !== undefined) {
      this.queue.done(q);
      return;
    }
    this.stats.attempts++;
    const t0 = performance.now();
    const res = this.framework.schedulePod(info, this.nominator.size ? this.nominator : undefined);
    if ('node' in res) {
      this.bind(q, res.node.name, t0);
      return;
    }
    // no node fits
    let message: string;
    let candidate: Candidate | undefined;
    if (res.numAllNodes === 0) message = NO_NODES_AVAILABLE;
    else {
      if (this.preemption) {
        const pr = this.preemption.preempt(info, res.state, res.diagnosis);
        res.diagnosis.postFilterMsg = pr.message;
        candidate = pr.candidate;
      }
      message = fitErrorMessage(res.numAllNodes, res.diagnosis);
    }
    this.stats.unschedulable++;
    this.queue.addUnschedulable(q, res.diagnosis.unschedulablePlugins);
    if (candidate) this.executePreemption(info, candidate);
    this.opts.recorder.event(info.pod, 'Warning', 'FailedScheduling', message);
    this.setUnschedulableCondition(info, message, candidate?.node);
    this.opts.observer?.failed?.({ pod: info.pod, message, attemptMs: performance.now() - t0 });
    if (this.opts.log.verbosity >= 2) this.opts.log.v(2, 'unschedulable', { pod: info.key, message });
  }

  private bind(q: QueuedPodInfo, node: string, t0: number): void {
    const info = q.info;
    const ns = info.namespace;
    const name = info.name;
    this.cache.assumePod(info, node);
    this.assumedInfo.set(info.uid, info);
    const now = rfc3339(this.clock.now());
    let bound: KObject;
    try {
      bound = this.opts.registry.guaranteedUpdate(
        this.podsRI,
        ns,
        name,
        (pod) => {
          if (pod.metadata.uid !== info.uid) throw new NotFoundError('pods', name);
          if (pod.spec?.nodeName) throw new ConflictError('pods', name, `pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
          if (pod.metadata.deletionTimestamp) throw new ConflictError('pods', name, `pod ${name} is being deleted, cannot be assigned to a host`);
          pod.spec.nodeName = node;
          setCondition(pod, { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now });
          return pod;
        },
        { subresource: 'binding' },
      );
    } catch (e) {
      this.assumedInfo.delete(info.uid);
      if (this.cache.isAssumed(info.uid)) this.cache.forgetPod(info);
      if (e instanceof NotFoundError || (e instanceof ConflictError && /already assigned|being deleted/.test(e.message))) {
        this.queue.done(q);
        return;
      }
      this.stats.errors++;
      this.opts.log.warn('binding failed', { pod: info.key, node, error: (e as Error).message });
      this.queue.addUnschedulable(q, new Set(), true);
      this.opts.recorder.event(info.pod, 'Warning', 'FailedScheduling', `Binding rejected: ${(e as Error).message}`);
      return;
    } finally {
      this.assumedInfo.delete(info.uid);
    }
    if (!hasCondition(bound, 'PodScheduled', 'True')) {
      // the registry's binding path kept the old status: record PodScheduled=True separately
      try {
        this.opts.registry.guaranteedUpdate(
          this.podsRI,
          ns,
          name,
          (pod) => {
            if (pod.metadata.uid !== info.uid) throw new NotFoundError('pods', name);
            setCondition(pod, { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now });
            return pod;
          },
          { subresource: 'status' },
        );
      } catch (e) {
        if (!(e instanceof NotFoundError)) this.opts.log.v(1, 'could not set PodScheduled', { pod: info.key, error: (e as Error).message });
      }
    }
    this.queue.done(q);
    this.stats.scheduled++;
    if (this.opts.scheduledEvents !== false) this.scheduledRecorder().event(bound, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${node}`);
    const attemptMs = performance.now() - t0;
    this.opts.observer?.scheduled?.({ pod: bound, node, attemptMs, e2eMs: this.clock.now() - q.initialTimestamp, attempts: q.attempts });
    if (this.opts.log.verbosity >= 3) this.opts.log.v(3, 'bound', { pod: info.key, node, ms: attemptMs });
  }

  private scheduledRec?: EventRecorder;
  private scheduledRecUses = 0;

  private scheduledRecorder(): EventRecorder {
    const make = this.opts.scheduledRecorder;
    if (!make) return this.opts.recorder;
    if (!this.scheduledRec || ++this.scheduledRecUses > SCHEDULED_RECORDER_ROTATION) {
      this.scheduledRec = make();
      this.scheduledRecUses = 1;
    }
    return this.scheduledRec;
  }

  private setUnschedulableCondition(info: PodInfo, message: string, nominatedNode?: string): void {
    const cur = this.pods.get(info.namespace, info.name);
    if (!cur || cur.metadata.uid !== info.uid || cur.spec?.nodeName) return;
    const c = (cur.status?.conditions ?? []).find((x: { type: string }) => x.type === 'PodScheduled');
    const nomChanged = nominatedNode !== undefined && cur.status?.nominatedNodeName !== nominatedNode;
    if (c && c.status === 'False' && c.reason === 'Unschedulable' && c.message === message && !nomChanged) return;
    const now = rfc3339(this.clock.now());
    try {
      this.opts.registry.guaranteedUpdate(
        this.podsRI,
        info.namespace,
        info.name,
        (pod) => {
          if (pod.metadata.uid !== info.uid || pod.spec?.nodeName) throw new NotFoundError('pods', info.name);
          const old = (pod.status?.conditions ?? []).find((x: { type: string }) => x.type === 'PodScheduled');
          setCondition(pod, {
            type: 'PodScheduled',
            status: 'False',
            lastProbeTime: null,
            lastTransitionTime: old && old.status === 'False' && old.lastTransitionTime ? old.lastTransitionTime : now,
            reason: 'Unschedulable',
            message,
          });
          if (nominatedNode !== undefined) pod.status.nominatedNodeName = nominatedNode;
          return pod;
        },
        { subresource: 'status' },
      );
    } catch (e) {
      if (!(e instanceof NotFoundError)) this.opts.log.v(1, 'could not update pod condition', { pod: info.key, error: (e as Error).message });
    }
  }

  /** Evicts the victims (DisruptionTarget condition, then delete) and nominates the node. */
  private executePreemption(pod: PodInfo, c: Candidate): void {
    this.stats.preemptions++;
    this.nominator.set(pod, c.node);
    const now = rfc3339(this.clock.now());
    for (const v of c.victims) {
      try {
        this.opts.registry.guaranteedUpdate(
          this.podsRI,
          v.namespace,
          v.name,
          (cur) => {
            if (cur.metadata.uid !== v.uid) throw new NotFoundError('pods', v.name);
            setCondition(cur, {
              type: 'DisruptionTarget',
              status: 'True',
              lastProbeTime: null,
              lastTransitionTime: now,
              reason: 'PreemptionByScheduler',
              message: `${this.schedulerName}: preempting to accommodate a higher priority pod`,
            });
            return cur;
          },
          { subresource: 'status' },
        );
        this.opts.registry.delete(this.podsRI, v.namespace, v.name, { preconditions: { uid: v.uid } });
        this.opts.recorder.event(v.pod, 'Normal', 'Preempted', `Preempted by pod ${pod.uid} on node ${c.node}`);
      } catch (e) {
        if (!(e instanceof NotFoundError)) this.opts.log.warn('could not preempt pod', { victim: v.key, error: (e as Error).message });
      }
    }
    // lower-priority pods nominated to this node may no longer fit there
    for (const lp of this.nominator.lowerPriority(c.node, pod.priority)) {
      this.nominator.remove(lp.uid);
      try {
        this.opts.registry.guaranteedUpdate(
          this.podsRI,
          lp.namespace,
          lp.name,
          (cur) => {
            if (cur.metadata.uid !== lp.uid) throw new NotFoundError('pods', lp.name);
            delete cur.status.nominatedNodeName;
            return cur;
          },
          { subresource: 'status' },
        );
      } catch {
        // gone or changed: nothing to clear
      }
    }
  }
}

function setCondition(pod: KObject, cond: Record<string, unknown>): void {
  pod.status = pod.status ?? {};
  const conds = ((pod.status.conditions ?? []) as { type: string }[]).filter((c) => c.type !== cond.type);
  conds.push(cond as { type: string });
  pod.status.conditions = conds;
}

function sameAllocatable(a: NodeInfo['allocatable'], b: NodeInfo['allocatable']): boolean {
  if (a.milliCPU !== b.milliCPU || a.memory !== b.memory || a.ephemeralStorage !== b.ephemeralStorage || a.pods !== b.pods) return false;
  const as = a.scalar ?? new Map<string, number>();
  const bs = b.scalar ?? new Map<string, number>();
  if (as.size !== bs.size) return false;
  for (const [k, v] of as) if (bs.get(k) !== v) return false;
  return true;
}

function hasCondition(pod: KObject, type: string, status: string): boolean {
  return (pod.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === type && c.status === status);
}

/** The scheduler as a built-in component (register in controllers/index.ts FACTORIES). */
export function schedulerFromContext(ctx: ControllerContext): Scheduler {
  const s = ctx.settings;
  const num = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : undefined);
  return new Scheduler({
    registry: ctx.registry,
    informers: ctx.informers,
    log: ctx.log.child('scheduler'),
    recorder: ctx.recorder(DEFAULT_SCHEDULER_NAME),
    scheduledRecorder: () => ctx.recorder(DEFAULT_SCHEDULER_NAME),
    clock: ctx.clock,
    percentageOfNodesToScore: num('schedulerPercentageOfNodesToScore'),
    initialBackoffMs: num('schedulerInitialBackoffMs'),
    maxBackoffMs: num('schedulerMaxBackoffMs'),
  });
}
