/**
 * Probes and lifecycle handlers.
 *
 * `Prober` runs one action against a container: `httpGet` (GET http(s)://<host or pod IP>:<port><path>,
 * success for 200–399), `tcpSocket` (a TCP connect), `exec` (runtime exec, success for exit
 * code 0), `grpc` (approximated by a TCP connect) and, for lifecycle hooks, `sleep`. Every
 * run is bounded by a timeout measured on the injected clock; it never throws, it answers
 * `{ result, output }` with Kubernetes-like messages.
 *
 * `ProbeManager` keeps one worker per (pod, container, probe type), as the kubelet's
 * prober manager does:
 * - results are per container instance (a restarted container starts over): readiness
 *   starts as failure, liveness as success, startup as unknown (not started);
 * - the first probe runs `initialDelaySeconds` after the container started, then every
 *   `periodSeconds`; liveness and readiness wait until the startup probe has succeeded;
 * - a result flips only after `failureThreshold` consecutive failures or `successThreshold`
 *   consecutive successes; after a liveness/startup failure the worker holds until the
 *   container is replaced;
 * - every failed run is reported through `onFailure` (the kubelet's Unhealthy event), every
 *   change of a result through `onChange` (the kubelet re-syncs the pod).
 * Concurrency: one probe in flight per worker; timers run on the injected clock.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { Readable } from 'node:stream';
import type { Clock } from '../controller/workqueue';
import type { KObject } from '../api/types';
import type { ContainerRuntime } from './runtime/container-runtime';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export type ProbeType = 'liveness' | 'readiness' | 'startup';

export interface ProbeOutcome {
  result: 'success' | 'failure';
  output: string;
}

export interface ActionTarget {
  /** The pod IP (default host of httpGet/tcpSocket). */
  podIP?: string;
  containerId: string;
  /** The container spec, for named ports. */
  container: Json;
}

export interface HttpGetFn {
  (req: { url: string; headers: Record<string, string>; timeoutMs: number }): Promise<{ status: number; body: string }>;
}
export interface TcpConnectFn {
  (req: { host: string; port: number; timeoutMs: number }): Promise<void>;
}

export interface ProberOptions {
  runtime: ContainerRuntime;
  clock: Clock;
  /** Test seam; default: node's http/https client. */
  httpGet?: HttpGetFn;
  /** Test seam; default: node's net.connect. */
  tcpConnect?: TcpConnectFn;
  /** Sent as User-Agent of http probes. */
  userAgent?: string;
}

class TimeoutError extends Error {}

/** Resolve a port given as number, numeric string, or the name of a container port. */
export function resolvePort(port: unknown, container: Json): number | undefined {
  if (typeof port === 'number') return port;
  if (typeof port === 'string') {
    if (/^\d+$/.test(port)) return Number(port);
    const p = (container?.ports ?? []).find((x: Json) => x.name === port);
    return p?.containerPort;
  }
  return undefined;
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

const defaultHttpGet: HttpGetFn = ({ url, headers, timeoutMs }) =>
  new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request(
      u,
      { method: 'GET', headers, rejectUnauthorized: false, timeout: timeoutMs, agent: false } as https.RequestOptions,
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          if (body.length < 10240) body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new TimeoutError('timeout')));
    req.on('error', reject);
    req.end();
  });

const defaultTcpConnect: TcpConnectFn = ({ host, port, timeoutMs }) =>
  new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    s.setTimeout(timeoutMs, () => s.destroy(new TimeoutError('timeout')));
    s.once('connect', () => {
      s.destroy();
      resolve();
    });
    s.once('error', reject);
  });

function dialMessage(err: unknown, host: string, port: number): string {
  const e = err as NodeJS.ErrnoException;
  const where = `dial tcp ${formatHost(host)}:${port}`;
  if (e instanceof TimeoutError) return `${where}: i/o timeout`;
  if (e?.code === 'ECONNREFUSED') return `${where}: connect: connection refused`;
  if (e?.code === 'EHOSTUNREACH') return `${where}: connect: no route to host`;
  if (e?.code === 'ENETUNREACH') return `${where}: connect: network is unreachable`;
  return `${where}: ${e?.message ?? String(err)}`;
}

function readStream(s: Readable | undefined): Promise<string> {
  return new Promise((resolve) => {
    if (!s) return resolve('');
    let out = '';
    s.on('data', (d: Buffer) => {
      if (out.length < 10240) out += d.toString();
    });
    s.on('end', () => resolve(out));
    s.on('error', () => resolve(out));
  });
}

export class Prober {
  private readonly httpGetFn: HttpGetFn;
  private readonly tcpConnectFn: TcpConnectFn;
  private readonly userAgent: string;

  constructor(private readonly opts: ProberOptions) {
    this.httpGetFn = opts.httpGet ?? defaultHttpGet;
    this.tcpConnectFn = opts.tcpConnect ?? defaultTcpConnect;
    this.userAgent = opts.userAgent ?? 'kube-probe/1.32';
  }

  /** Run a probe (httpGet / tcpSocket / exec / grpc) with its timeoutSeconds. */
  probe(probe: Json, target: ActionTarget): Promise<ProbeOutcome> {
    return this.run(probe, target, Math.max(1, probe.timeoutSeconds ?? 1) * 1000);
  }

  /** Run a lifecycle handler (exec / httpGet / tcpSocket / sleep) within `timeoutMs`. */
  runHandler(handler: Json, target: ActionTarget, timeoutMs: number): Promise<ProbeOutcome> {
    return this.run(handler, target, timeoutMs);
  }

  private async run(action: Json, target: ActionTarget, timeoutMs: number): Promise<ProbeOutcome> {
    let work: Promise<ProbeOutcome>;
    let onTimeout: string;
    if (action.exec) {
      const cmd: string[] = action.exec.command ?? [];
      work = this.exec(cmd, target);
      onTimeout = `command ${JSON.stringify(cmd.join(' '))} timed out`;
    } else if (action.httpGet) {
      const h = action.httpGet;
      const port = resolvePort(h.port, target.container);
      const host = h.host || target.podIP;
      if (port === undefined) return { result: 'failure', output: `unable to resolve port ${JSON.stringify(h.port)}` };
      if (!host) return { result: 'failure', output: 'the pod has no IP yet' };
      const scheme = String(h.scheme ?? 'HTTP').toLowerCase();
      let path: string = h.path || '/';
      if (!path.startsWith('/')) path = '/' + path;
      const url = `${scheme}://${formatHost(host)}:${port}${path}`;
      work = this.http(url, h.httpHeaders ?? [], timeoutMs);
      onTimeout = `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`;
    } else if (action.tcpSocket || action.grpc) {
      const t = action.tcpSocket ?? action.grpc;
      const port = resolvePort(t.port, target.container);
      const host = (action.tcpSocket && t.host) || target.podIP;
      if (port === undefined) return { result: 'failure', output: `unable to resolve port ${JSON.stringify(t.port)}` };
      if (!host) return { result: 'failure', output: 'the pod has no IP yet' };
      work = this.tcp(host, port, timeoutMs);
      onTimeout = `dial tcp ${formatHost(host)}:${port}: i/o timeout`;
    } else if (action.sleep) {
      const ms = Math.max(0, Number(action.sleep.seconds ?? 0) * 1000);
      work = new Promise((resolve) => this.opts.clock.setTimeout(() => resolve({ result: 'success', output: '' }), ms));
      onTimeout = '';
      if (ms >= timeoutMs) {
        // A sleep longer than the grace period ends with it, successfully.
        return new Promise((resolve) => this.opts.clock.setTimeout(() => resolve({ result: 'success', output: '' }), timeoutMs));
      }
    } else {
      return { result: 'failure', output: 'missing probe handler' };
    }
    return new Promise<ProbeOutcome>((resolve) => {
      let done = false;
      const timer = this.opts.clock.setTimeout(() => {
        if (done) return;
        done = true;
        resolve({ result: 'failure', output: onTimeout });
      }, timeoutMs);
      work.then(
        (r) => {
          if (done) return;
          done = true;
          this.opts.clock.clearTimeout(timer);
          resolve(r);
        },
        (err) => {
          if (done) return;
          done = true;
          this.opts.clock.clearTimeout(timer);
          resolve({ result: 'failure', output: String((err as Error)?.message ?? err) });
        },
      );
    });
  }

  private async exec(cmd: string[], target: ActionTarget): Promise<ProbeOutcome> {
    let session;
    try {
      session = await this.opts.runtime.exec(target.containerId, cmd, {});
    } catch (err) {
      return { result: 'failure', output: String((err as Error).message ?? err) };
    }
    const [out, errOut, code] = await Promise.all([readStream(session.stdout), readStream(session.stderr), session.exitCode]);
    const output = (out + errOut).trim();
    if (code === 0) return { result: 'success', output };
    return { result: 'failure', output: output || `command ${JSON.stringify(cmd.join(' '))} exited with ${code}` };
  }

  private async http(url: string, headerList: Array<{ name: string; value: string }>, timeoutMs: number): Promise<ProbeOutcome> {
    const headers: Record<string, string> = { 'User-Agent': this.userAgent, Accept: '*/*' };
    for (const h of headerList) headers[h.name] = h.value;
    try {
      const res = await this.httpGetFn({ url, headers, timeoutMs });
      if (res.status >= 200 && res.status < 400) return { result: 'success', output: res.body };
      return { result: 'failure', output: `HTTP probe failed with statuscode: ${res.status}` };
    } catch (err) {
      const u = new URL(url);
      const port = Number(u.port) || (u.protocol === 'https:' ? 443 : 80);
      const host = u.hostname.replace(/^\[|\]$/g, '');
      return { result: 'failure', output: `Get "${url}": ${dialMessage(err, host, port)}` };
    }
  }

  private async tcp(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
    try {
      await this.tcpConnectFn({ host, port, timeoutMs });
      return { result: 'success', output: '' };
    } catch (err) {
      return { result: 'failure', output: dialMessage(err, host, port) };
    }
  }
}

// ---------------------------------------------------------------------------------------
// Probe manager

/** The runtime state of one container, as the prober needs it. */
export interface ProbedContainerState {
  /** The current instance (undefined before the first start). */
  id?: string;
  running: boolean;
  startedAt?: number;
}

export interface ProbeManagerOptions {
  clock: Clock;
  prober: Pick<Prober, 'probe'>;
  /** A result changed (readiness flipped, liveness/startup failed or startup succeeded). */
  onChange(podUid: string): void;
  /** One probe run failed (reported as an `Unhealthy` event). */
  onFailure(pod: KObject, containerName: string, type: ProbeType, output: string): void;
}

type Result = 'success' | 'failure' | 'unknown';

const PROBE_FIELD: Record<ProbeType, string> = { liveness: 'livenessProbe', readiness: 'readinessProbe', startup: 'startupProbe' };

interface Worker {
  key: string;
  podUid: string;
  pod: KObject;
  containerName: string;
  container: Json;
  type: ProbeType;
  probe: Json;
  state: ProbedContainerState;
  podIP?: string;
  containerId?: string;
  timer?: unknown;
  busy: boolean;
  lastResult?: 'success' | 'failure';
  resultRun: number;
  onHold: boolean;
  stopped: boolean;
}

export class ProbeManager {
  private readonly workers = new Map<string, Worker>();
  /** `<containerId>/<type>` → result */
  private readonly results = new Map<string, Result>();

  constructor(private readonly opts: ProbeManagerOptions) {}

  /**
   * Reconcile the workers of a pod with its spec and the current state of its containers
   * (regular containers and restartable init containers). With `terminating`, liveness and
   * startup probing stops.
   */
  syncPod(pod: KObject, podIP: string | undefined, states: Map<string, ProbedContainerState>, terminating: boolean): void {
    const uid = pod.metadata.uid!;
    const wanted = new Set<string>();
    const containers: Json[] = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? []).filter((c: Json) => c.restartPolicy === 'Always')];
    for (const c of containers) {
      for (const type of ['startup', 'liveness', 'readiness'] as ProbeType[]) {
        const probe = c[PROBE_FIELD[type]];
        if (!probe) continue;
        if (terminating && type !== 'readiness') continue;
        const key = `${uid}/${c.name}/${type}`;
        wanted.add(key);
        let w = this.workers.get(key);
        if (!w) {
          w = { key, podUid: uid, pod, containerName: c.name, container: c, type, probe, state: { running: false }, busy: false, resultRun: 0, onHold: false, stopped: false };
          this.workers.set(key, w);
        }
        w.pod = pod;
        w.container = c;
        w.probe = probe;
        w.podIP = podIP;
        this.updateWorker(w, states.get(c.name) ?? { running: false });
      }
    }
    for (const [key, w] of this.workers) {
      if (w.podUid === uid && !wanted.has(key)) this.stopWorker(w);
    }
  }

  /** Stop every worker of a pod and forget its results. */
  removePod(uid: string): void {
    for (const w of [...this.workers.values()]) {
      if (w.podUid !== uid) continue;
      this.stopWorker(w);
      if (w.containerId) this.results.delete(`${w.containerId}/${w.type}`);
    }
  }

  stopAll(): void {
    for (const w of [...this.workers.values()]) this.stopWorker(w);
  }

  /** Readiness of a container instance; true when it has no readiness probe. */
  isReady(container: Json, containerId: string): boolean {
    if (!container.readinessProbe) return true;
    return this.results.get(`${containerId}/readiness`) === 'success';
  }

  /** Whether the startup probe succeeded; true when there is none. */
  isStarted(container: Json, containerId: string): boolean {
    if (!container.startupProbe) return true;
    return this.results.get(`${containerId}/startup`) === 'success';
  }

  /** 'liveness' or 'startup' when that probe failed for this instance (it must be restarted). */
  failedProbe(container: Json, containerId: string): 'liveness' | 'startup' | undefined {
    if (container.startupProbe && this.results.get(`${containerId}/startup`) === 'failure') return 'startup';
    if (container.livenessProbe && this.results.get(`${containerId}/liveness`) === 'failure') return 'liveness';
    return undefined;
  }

  private setResult(w: Worker, r: Result): void {
    if (!w.containerId) return;
    const k = `${w.containerId}/${w.type}`;
    const prev = this.results.get(k);
    this.results.set(k, r);
    if (prev !== r) this.opts.onChange(w.podUid);
  }

  private updateWorker(w: Worker, st: ProbedContainerState): void {
    w.state = st;
    if (st.id && st.id !== w.containerId) {
      if (w.containerId) this.results.delete(`${w.containerId}/${w.type}`);
      w.containerId = st.id;
      w.resultRun = 0;
      w.lastResult = undefined;
      w.onHold = false;
      this.results.set(`${st.id}/${w.type}`, w.type === 'readiness' ? 'failure' : w.type === 'liveness' ? 'success' : 'unknown');
      this.cancel(w);
    }
    if (!st.running) {
      this.cancel(w);
      if (w.type === 'readiness' && w.containerId) this.setResult(w, 'failure');
      return;
    }
    if (w.timer === undefined && !w.busy && !w.onHold) {
      const startedAt = st.startedAt ?? this.opts.clock.now();
      const first = startedAt + (w.probe.initialDelaySeconds ?? 0) * 1000 - this.opts.clock.now();
      this.schedule(w, Math.max(0, first));
    }
  }

  private cancel(w: Worker): void {
    if (w.timer !== undefined) this.opts.clock.clearTimeout(w.timer);
    w.timer = undefined;
  }

  private stopWorker(w: Worker): void {
    w.stopped = true;
    this.cancel(w);
    this.workers.delete(w.key);
  }

  private schedule(w: Worker, ms: number): void {
    this.cancel(w);
    if (w.stopped) return;
    w.timer = this.opts.clock.setTimeout(() => {
      w.timer = undefined;
      void this.tick(w);
    }, ms);
  }

  private period(w: Worker): number {
    return Math.max(1, w.probe.periodSeconds ?? 10) * 1000;
  }

  private async tick(w: Worker): Promise<void> {
    if (w.stopped || w.busy || w.onHold || !w.state.running || !w.containerId) return;
    const id = w.containerId;
    if (w.type !== 'startup' && w.container.startupProbe && this.results.get(`${id}/startup`) !== 'success') {
      this.schedule(w, this.period(w));
      return;
    }
    if (w.type === 'startup' && this.results.get(`${id}/startup`) === 'success') return;
    w.busy = true;
    let outcome: ProbeOutcome;
    try {
      outcome = await this.opts.prober.probe(w.probe, { podIP: w.podIP, containerId: id, container: w.container });
    } catch (err) {
      outcome = { result: 'failure', output: String((err as Error)?.message ?? err) };
    } finally {
      w.busy = false;
    }
    if (w.stopped || w.containerId !== id) return;
    if (outcome.result === 'failure') this.opts.onFailure(w.pod, w.containerName, w.type, outcome.output);
    if (w.lastResult === outcome.result) w.resultRun++;
    else {
      w.lastResult = outcome.result;
      w.resultRun = 1;
    }
    const failureThreshold = Math.max(1, w.probe.failureThreshold ?? 3);
    const successThreshold = Math.max(1, w.probe.successThreshold ?? 1);
    const hold = (outcome.result === 'failure' && w.resultRun < failureThreshold) || (outcome.result === 'success' && w.resultRun < successThreshold);
    if (!hold) {
      this.setResult(w, outcome.result);
      if (w.type !== 'readiness' && outcome.result === 'failure') {
        w.onHold = true;
        w.resultRun = 0;
        return;
      }
      if (w.type === 'startup' && outcome.result === 'success') {
        // Start the container's other probes now rather than at their next period.
        for (const o of this.workers.values()) {
          if (o.podUid === w.podUid && o.containerName === w.containerName && o !== w && !o.busy && o.state.running) this.schedule(o, 0);
        }
        return;
      }
    }
    this.schedule(w, this.period(w));
  }
}
