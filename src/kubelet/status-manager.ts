/**
 * Pod status: computed from the runtime's view of a pod plus the kubelet's own knowledge
 * (why a container waits, probe results), then merged into the API object and written
 * through the `status` subresource only when something changed.
 *
 * The computation follows the kubelet (kubelet_pods.go `generateAPIPodStatus`,
 * `getPhase`, `convertToAPIContainerStatuses`; status/generate.go for conditions):
 * - container status: the latest instance gives `state` (running / terminated, or waiting
 *   with the kubelet's reason when it will be restarted), the instance before it gives
 *   `lastState`; `restartCount` is the latest instance's count; regular containers are
 *   sorted by name, init containers keep spec order;
 * - phase by `getPhase`; a pod that is being terminated gets a terminal phase;
 * - conditions PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled
 *   with `lastTransitionTime` kept while a condition's status does not change; conditions
 *   of other owners (readiness gates, DisruptionTarget …) are preserved.
 *
 * `StatusManager` owns the write: read the current object, merge, compare, update with the
 * expected uid (a recreated pod of the same name is never touched).
 */
import { ConflictError, NotFoundError } from '../util/errors';
import { deepEqual } from '../util/equal';
import type { KObject } from '../api/types';
import type { ResourceInfo } from '../api/scheme';
import type { Registry } from '../apiserver/registry';
import type { Logger } from '../util/log';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** One runtime instance of a container, as far as status is concerned. */
export interface InstanceView {
  id: string;
  state: 'created' | 'running' | 'exited' | 'unknown';
  restartCount: number;
  exitCode?: number;
  /** Completed / Error / OOMKilled, or StartError for a container that could not start. */
  reason?: string;
  message?: string;
  startedAt?: number;
  finishedAt?: number;
  imageRef?: string;
}

/** Everything known about one container of the spec. */
export interface ContainerView {
  name: string;
  /** The image of the spec (what the user asked for). */
  image: string;
  /** The latest instance. */
  current?: InstanceView;
  /** The instance before the latest. */
  previous?: InstanceView;
  /**
   * The kubelet's reason for the container not running (CrashLoopBackOff, ErrImagePull,
   * CreateContainerConfigError …). Set only while it is going to be (re)started.
   */
  waiting?: { reason: string; message?: string };
  ready: boolean;
  started: boolean;
}

export interface PodStatusInput {
  pod: KObject;
  /** The API status the computation starts from (startTime, podIP of a stopped sandbox …). */
  oldStatus?: Json;
  now: number;
  /** Prefix of containerID, e.g. `docker`. */
  runtimeName: string;
  podIP?: string;
  hostIP?: string;
  /** The sandbox runs and has its IP. */
  sandboxReady: boolean;
  initContainers: ContainerView[];
  containers: ContainerView[];
  /** The pod is terminating or terminated: its phase must become Succeeded or Failed. */
  terminal?: boolean;
  /** Forced terminal outcome (e.g. DeadlineExceeded). */
  failure?: { reason: string; message: string };
}

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function terminatedState(i: InstanceView, runtimeName: string): Json {
  const t: Json = {
    exitCode: i.exitCode ?? (i.reason === 'StartError' ? 128 : 0),
    reason: i.reason ?? ((i.exitCode ?? 0) === 0 ? 'Completed' : 'Error'),
  };
  if (i.message) t.message = i.message;
  t.startedAt = i.startedAt !== undefined ? rfc3339(i.startedAt) : null;
  t.finishedAt = i.finishedAt !== undefined ? rfc3339(i.finishedAt) : null;
  t.containerID = `${runtimeName}://${i.id}`;
  return t;
}

function isFinished(i: InstanceView | undefined): boolean {
  return !!i && (i.state === 'exited' || (i.state === 'created' && i.reason === 'StartError'));
}

/** The API ContainerStatus of one container. */
export function toApiContainerStatus(v: ContainerView, runtimeName: string, defaultWaitingReason: string): Json {
  const s: Json = {
    name: v.name,
    state: {},
    lastState: {},
    ready: v.ready,
    restartCount: v.current?.restartCount ?? 0,
    image: v.image,
    imageID: v.current?.imageRef ?? '',
    started: v.started,
  };
  const cur = v.current;
  if (cur) s.containerID = `${runtimeName}://${cur.id}`;
  const prevTerminated = isFinished(v.previous) ? { terminated: terminatedState(v.previous!, runtimeName) } : {};
  if (cur && cur.state === 'running') {
    s.state = { running: { startedAt: rfc3339(cur.startedAt ?? 0) } };
    s.lastState = prevTerminated;
  } else if (cur && isFinished(cur)) {
    if (v.waiting) {
      s.state = { waiting: waitingState(v.waiting) };
      s.lastState = { terminated: terminatedState(cur, runtimeName) };
    } else {
      s.state = { terminated: terminatedState(cur, runtimeName) };
      s.lastState = prevTerminated;
    }
  } else {
    s.state = { waiting: waitingState(v.waiting ?? { reason: defaultWaitingReason }) };
    s.lastState = cur ? prevTerminated : {};
  }
  return s;
}

function waitingState(w: { reason: string; message?: string }): Json {
  return w.message ? { reason: w.reason, message: w.message } : { reason: w.reason };
}

function statusOf(list: Json[], name: string): Json | undefined {
  return list.find((s) => s.name === name);
}

function isSidecar(c: Json): boolean {
  return c?.restartPolicy === 'Always';
}

/** True when a regular container has run (its status is running, terminated, or waiting after a termination). */
export function hasAnyRegularContainerStarted(spec: Json, statuses: Json[]): boolean {
  for (const c of spec.containers ?? []) {
    const s = statusOf(statuses, c.name);
    if (!s) continue;
    if (s.state?.running || s.state?.terminated || s.lastState?.terminated) return true;
  }
  return false;
}

/** kubelet `getPhase`: the pod phase from its container statuses. */
export function getPhase(spec: Json, initStatuses: Json[], statuses: Json[], podIsTerminal: boolean): 'Pending' | 'Running' | 'Succeeded' | 'Failed' {
  let pendingInit = 0;
  let failedInit = 0;
  for (const c of spec.initContainers ?? []) {
    if (isSidecar(c)) continue;
    const s = statusOf(initStatuses, c.name);
    if (!s) {
      pendingInit++;
      continue;
    }
    if (s.state?.running) pendingInit++;
    else if (s.state?.terminated) {
      if (s.state.terminated.exitCode !== 0) failedInit++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) {
        if (s.lastState.terminated.exitCode !== 0) failedInit++;
      } else pendingInit++;
    } else pendingInit++;
  }
  let unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of spec.containers ?? []) {
    const s = statusOf(statuses, c.name);
    if (!s) {
      unknown++;
      continue;
    }
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    } else unknown++;
  }
  const policy = spec.restartPolicy ?? 'Always';
  if (failedInit > 0 && policy === 'Never') return 'Failed';
  if ((pendingInit > 0 && !hasAnyRegularContainerStarted(spec, statuses)) || waiting > 0) return 'Pending';
  if (running > 0 && unknown === 0) return 'Running';
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (podIsTerminal) return stopped === succeeded ? 'Succeeded' : 'Failed';
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

/** The conditions the kubelet owns (plus PodScheduled, which it sets when absent). */
export const KUBELET_CONDITIONS = ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'];

function cond(type: string, ok: boolean, reason?: string, message?: string): Json {
  const c: Json = { type, status: ok ? 'True' : 'False', lastProbeTime: null };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

function generateConditions(spec: Json, phase: string, initStatuses: Json[], statuses: Json[], sandboxReady: boolean, oldConditions: Json[]): Json[] {
  const out: Json[] = [];
  out.push(cond('PodReadyToStartContainers', sandboxReady));

  // Initialized
  const incomplete: string[] = [];
  for (const c of spec.initContainers ?? []) {
    const s = statusOf(initStatuses, c.name);
    if (isSidecar(c)) {
      if (!s?.started) incomplete.push(c.name);
    } else if (!(s?.state?.terminated && s.state.terminated.exitCode === 0)) {
      incomplete.push(c.name);
    }
  }
  if (!incomplete.length || hasAnyRegularContainerStarted(spec, statuses)) {
    out.push(phase === 'Succeeded' && (spec.initContainers ?? []).length ? cond('Initialized', true, 'PodCompleted') : cond('Initialized', true));
  } else {
    out.push(cond('Initialized', false, 'ContainersNotInitialized', `containers with incomplete status: [${incomplete.join(' ')}]`));
  }

  // ContainersReady (regular containers and sidecars)
  let containersReady: Json;
  if (phase === 'Succeeded') {
    containersReady = cond('ContainersReady', false, 'PodCompleted');
  } else {
    const unknown: string[] = [];
    const unready: string[] = [];
    const check = (c: Json, list: Json[]): void => {
      const s = statusOf(list, c.name);
      if (!s) unknown.push(c.name);
      else if (!s.ready) unready.push(c.name);
    };
    for (const c of spec.initContainers ?? []) if (isSidecar(c)) check(c, initStatuses);
    for (const c of spec.containers ?? []) check(c, statuses);
    if (!unknown.length && !unready.length) containersReady = cond('ContainersReady', true);
    else {
      const parts: string[] = [];
      if (unknown.length) parts.push(`containers with unknown status: [${unknown.join(' ')}]`);
      if (unready.length) parts.push(`containers with unready status: [${unready.join(' ')}]`);
      containersReady = cond('ContainersReady', false, 'ContainersNotReady', parts.join(', '));
    }
  }

  // Ready = ContainersReady and every readiness gate.
  let ready: Json;
  if (phase === 'Succeeded') ready = cond('Ready', false, 'PodCompleted');
  else if (containersReady.status !== 'True') ready = cond('Ready', false, containersReady.reason, containersReady.message);
  else {
    const missing: string[] = [];
    const unready: string[] = [];
    for (const g of spec.readinessGates ?? []) {
      const c = oldConditions.find((x) => x.type === g.conditionType);
      if (!c) missing.push(g.conditionType);
      else if (c.status !== 'True') unready.push(g.conditionType);
    }
    if (!missing.length && !unready.length) ready = cond('Ready', true);
    else {
      const msgs: string[] = [];
      if (missing.length) msgs.push(`corresponding condition of pod readiness gate "${missing.join('", "')}" does not exist.`);
      if (unready.length) msgs.push(`the status of pod readiness gate "${unready.join('", "')}" is not "True", but False.`);
      ready = cond('Ready', false, 'ReadinessGatesNotReady', msgs.join(' '));
    }
  }
  out.push(ready, containersReady);
  const sched = oldConditions.find((c) => c.type === 'PodScheduled');
  out.push(sched ? { ...sched } : cond('PodScheduled', true));
  return out;
}

/**
 * The status the kubelet wants for the pod (kubelet-owned fields only; `mergePodStatus`
 * combines it with the current API status).
 */
export function computePodStatus(input: PodStatusInput): Json {
  const { pod, oldStatus = {}, runtimeName } = input;
  const spec = pod.spec ?? {};
  const defaultWaiting = (spec.initContainers ?? []).length ? 'PodInitializing' : 'ContainerCreating';
  const initStatuses = input.initContainers.map((v) => toApiContainerStatus(v, runtimeName, defaultWaiting));
  const statuses = input.containers.map((v) => toApiContainerStatus(v, runtimeName, defaultWaiting));
  statuses.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let phase: string = getPhase(spec, initStatuses, statuses, !!input.terminal);
  if (input.failure) phase = 'Failed';
  else if (input.terminal && phase !== 'Succeeded' && phase !== 'Failed') phase = 'Failed';
  const conditions = generateConditions(spec, phase, initStatuses, statuses, input.sandboxReady, oldStatus.conditions ?? []);
  const s: Json = { phase, conditions };
  if (input.failure) {
    s.reason = input.failure.reason;
    s.message = input.failure.message;
  }
  const hostIP = input.hostIP ?? oldStatus.hostIP;
  if (hostIP) {
    s.hostIP = hostIP;
    s.hostIPs = [{ ip: hostIP }];
  }
  const podIP = input.podIP ?? oldStatus.podIP;
  if (podIP) {
    s.podIP = podIP;
    s.podIPs = [{ ip: podIP }];
  }
  s.startTime = oldStatus.startTime ?? rfc3339(input.now);
  if (initStatuses.length) s.initContainerStatuses = initStatuses;
  s.containerStatuses = statuses;
  return s;
}

const KUBELET_FIELDS = ['phase', 'reason', 'message', 'hostIP', 'hostIPs', 'podIP', 'podIPs', 'startTime', 'initContainerStatuses', 'containerStatuses'];

/**
 * Merge the kubelet's `desired` status into the API status `old`: kubelet fields are taken
 * from `desired`; conditions of other owners are kept; a condition whose status did not change
 * keeps its lastTransitionTime (new transitions get `now`).
 */
export function mergePodStatus(old: Json, desired: Json, now: number): Json {
  const out: Json = JSON.parse(JSON.stringify(old ?? {}));
  for (const f of KUBELET_FIELDS) {
    if (desired[f] !== undefined) out[f] = desired[f];
    else delete out[f];
  }
  const oldConds: Json[] = old?.conditions ?? [];
  const conds: Json[] = [];
  for (const c of desired.conditions ?? []) {
    const prev = oldConds.find((o) => o.type === c.type);
    const n = { ...c };
    n.lastTransitionTime = prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : rfc3339(now);
    if (prev && 'lastProbeTime' in prev) n.lastProbeTime = prev.lastProbeTime;
    conds.push(n);
  }
  for (const o of oldConds) if (!conds.some((c) => c.type === o.type)) conds.push(o);
  out.conditions = conds;
  return out;
}

/**
 * Writes pod statuses. `setPodStatus` merges, compares with the current API object and writes
 * only when different; it never writes to a pod with another uid and swallows NotFound (the
 * pod is gone). Concurrency: called from one pod worker per pod at a time.
 */
export class StatusManager {
  constructor(
    private readonly registry: Registry,
    private readonly podsRI: ResourceInfo,
    private readonly log: Logger,
  ) {}

  /** Returns the pod as stored after the call (undefined when the pod no longer exists). */
  setPodStatus(namespace: string, name: string, uid: string, desired: Json, now: number): KObject | undefined {
    for (let attempt = 0; attempt < 5; attempt++) {
      const cur = this.registry.tryGet(this.podsRI, namespace, name);
      if (!cur || cur.metadata.uid !== uid) return undefined;
      const merged = mergePodStatus(cur.status ?? {}, desired, now);
      if (deepEqual(merged, cur.status ?? {})) return cur;
      const next = { ...cur, metadata: { ...cur.metadata }, status: merged };
      try {
        return this.registry.update(this.podsRI, namespace, name, next, { subresource: 'status' });
      } catch (e) {
        if (e instanceof NotFoundError) return undefined;
        if (e instanceof ConflictError) continue;
        throw e;
      }
    }
    this.log.v(1, 'pod status update kept conflicting', { pod: `${namespace}/${name}` });
    return undefined;
  }
}
