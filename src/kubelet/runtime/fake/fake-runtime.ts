/**
 * FakeRuntime: an in-memory, scriptable ContainerRuntime for unit and integration tests.
 *
 * Behaviour mirrors DockerRuntime's contract (see container-runtime.ts) closely enough for
 * the kubelet not to tell the difference: same errors for unknown ids, missing images and
 * name clashes; sandboxes get IPs from the node's pod subnet (lowest free address, released
 * when the sandbox stops, as Docker does); idempotent stop/remove.
 *
 * What containers do is scripted per container or per image (`FakeScript`): run forever
 * (default), run N seconds and exit, crash after N seconds, be OOM-killed, ignore SIGTERM,
 * fail to start, print log lines, answer execs. All timing goes through the injected
 * `FakeClock`, so tests advance a `ManualClock` instead of sleeping.
 *
 * Every public call is recorded in `calls` (method, arguments, clock time) for assertions.
 * Concurrency: single-threaded; state changes happen synchronously inside each call or
 * inside a clock timer, so a test observes a consistent state after each await.
 */
import { createHash } from 'node:crypto';
import { PassThrough, Readable, Writable } from 'node:stream';
import { RuntimeError } from '../../../util/errors';
import {
  AttachOptions,
  AttachSession,
  ContainerConfig,
  ContainerInfo,
  ContainerNotFoundError,
  ContainerRuntime,
  ContainerState,
  ContainerStats,
  ContainerStatus,
  ExecOptions,
  ExecSession,
  exitReason,
  ImageNeverPullError,
  ImagePullError,
  LABELS,
  ListFilter,
  LogOptions,
  normalizeImage,
  PodSandbox,
  PodSandboxConfig,
  PullPolicy,
  PullResult,
  RegistryAuth,
  runtimeContainerName,
  RuntimeVersion,
  SANDBOX_CONTAINER_NAME,
} from '../container-runtime';

// ---------------------------------------------------------------------------------------
// Clock

/** The time source the fake runs on; structurally compatible with a util clock. */
export interface FakeClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: FakeClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * A clock that only moves when told to. `advance(ms)` fires due timers in time order
 * (including timers they schedule, when due), letting promise callbacks and stream events
 * run after each one (it yields with the real `setImmediate`, so do not fake that with
 * jest's modern fake timers).
 */
export class ManualClock implements FakeClock {
  private t: number;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = Date.UTC(2024, 0, 1)) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Number of timers not yet fired. */
  pending(): number {
    return this.timers.size;
  }

  /** Move time forward by `ms` (0 fires timers already due). */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    await flush();
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= target && (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[0] < next[0]))) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
      await flush();
    }
    this.t = target;
    await flush();
  }
}

/** Let pending promise callbacks (and stream events) run. */
function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

// ---------------------------------------------------------------------------------------
// Scripts

export interface FakeExecResult {
  exitCode?: number;
  stdout?: string;
  stderr?: string;
  /** Clock time the exec takes before exiting (default 0: exits at once, without the clock). */
  delayMs?: number;
}

/** What an exec does: given the command and everything written to stdin (when attached). */
export type FakeExecHandler = (cmd: string[], stdin: string, container: FakeContainerView) => FakeExecResult;

export interface FakeScript {
  /** Exit code when the run ends on its own: default 0, or 1 with `crashAfterSeconds`. */
  exitCode?: number;
  /** Run this long, then exit with `exitCode` (default: run until stopped). */
  runSeconds?: number;
  /** Run this long, then exit with `exitCode ?? 1`; wins over `runSeconds`. */
  crashAfterSeconds?: number;
  /** The scripted exit is an OOM kill: exit code 137, reason OOMKilled. */
  oomKilled?: boolean;
  /** Image scripts: the registry does not have it, every pull fails with ErrImagePull. */
  missing?: boolean;
  /** Image scripts: clock time a pull takes. */
  pullDelayMs?: number;
  /** Lines the container prints at start (stdout). */
  logs?: string[];
  /** startContainer rejects with this message; the container stays `created`. */
  startError?: string;
  /** The process ignores SIGTERM: stop waits the whole grace period, then kills (137). */
  ignoreSigterm?: boolean;
  /** Exit code after a SIGTERM the process obeys; default 143 (128 + SIGTERM). */
  sigtermExitCode?: number;
  stats?: ContainerStats;
  exec?: FakeExecHandler;
}

export interface FakeScriptContext {
  namespace: string;
  podName: string;
  podUid: string;
  containerName: string;
  image: string;
  restartCount: number;
}

/** A fixed script, or one chosen per container instance (e.g. crash on the first 2 restarts). */
export type FakeScriptSource = FakeScript | ((ctx: FakeScriptContext) => FakeScript);

export interface FakeCall {
  method: string;
  args: unknown[];
  at: number;
}

/** A read-only snapshot of one fake container, for assertions. */
export interface FakeContainerView extends ContainerInfo {
  startedAt?: number;
  finishedAt?: number;
  exitCode?: number;
  config?: ContainerConfig;
  sandboxConfig?: PodSandboxConfig;
}

export interface FakeRuntimeOptions {
  profile?: string;
  node?: string;
  /** The node's pod subnet; sandboxes get addresses from it (default 10.244.1.0/24). */
  podCidr?: string;
  clock?: FakeClock;
  /** Images present from the start (a pull with IfNotPresent/Never finds them). */
  images?: string[];
  /** Exec behaviour for containers whose script has none (default: exit 0, no output). */
  execHandler?: FakeExecHandler;
}

// ---------------------------------------------------------------------------------------
// Internals

interface LogLine {
  at: number;
  text: string;
}

interface FakeContainer {
  id: string;
  runtimeName: string;
  sandbox: boolean;
  sandboxId?: string;
  podUid: string;
  podName: string;
  namespace: string;
  containerName: string;
  restartCount: number;
  labels: Record<string, string>;
  image: string;
  imageRef: string;
  state: ContainerState;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  exitCode?: number;
  oomKilled: boolean;
  message?: string;
  ip?: string;
  config?: ContainerConfig;
  sandboxConfig?: PodSandboxConfig;
  script: FakeScript;
  timer?: unknown;
  logs: LogLine[];
  /** Everything written to the main process's stdin through `attach`. */
  stdinData: string;
  followers: Set<PassThrough>;
  exitWaiters: Array<() => void>;
}

function parseCidr(cidr: string): { base: number; size: number } {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) throw new RangeError(`invalid CIDR "${cidr}"`);
  const prefix = Number(m[5]);
  const addr = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
  const size = 2 ** (32 - prefix);
  return { base: addr - (addr % size), size };
}

function ipString(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function imageId(ref: string): string {
  return 'sha256:' + createHash('sha256').update(ref).digest('hex');
}

export class FakeRuntime implements ContainerRuntime {
  readonly profile: string;
  readonly node: string;
  readonly clock: FakeClock;
  /** Every public call, in order. */
  readonly calls: FakeCall[] = [];

  private readonly cidr: { base: number; size: number };
  private readonly usedIps = new Set<number>();
  private readonly images = new Map<string, string>(); // normalized ref → id
  private readonly imageScripts = new Map<string, FakeScriptSource>();
  private readonly containerScripts = new Map<string, FakeScriptSource>();
  private readonly containers = new Map<string, FakeContainer>();
  private readonly pulls = new Map<string, Promise<PullResult>>();
  private readonly injected = new Map<string, Array<string>>();
  private execHandler?: FakeExecHandler;
  private seq = 0;

  constructor(opts: FakeRuntimeOptions = {}) {
    this.profile = opts.profile ?? 'fake';
    this.node = opts.node ?? 'node-1';
    this.clock = opts.clock ?? realClock;
    this.cidr = parseCidr(opts.podCidr ?? '10.244.1.0/24');
    for (const i of opts.images ?? []) this.addImage(i);
    this.execHandler = opts.execHandler;
  }

  // ----- scripting and inspection helpers (not part of ContainerRuntime) -----

  /** Script every container started from `image` (with or without tag). */
  setImageScript(image: string, script: FakeScriptSource): void {
    this.imageScripts.set(normalizeImage(image), script);
  }

  /** Script containers by Kubernetes name: `<container>` or `<namespace>/<pod>/<container>`. */
  setContainerScript(name: string, script: FakeScriptSource): void {
    this.containerScripts.set(name, script);
  }

  setExecHandler(handler: FakeExecHandler | undefined): void {
    this.execHandler = handler;
  }

  addImage(image: string): void {
    const ref = normalizeImage(image);
    this.images.set(ref, imageId(ref));
  }

  removeImage(image: string): void {
    this.images.delete(normalizeImage(image));
  }

  hasImage(image: string): boolean {
    return this.images.has(normalizeImage(image));
  }

  /** Make the next `times` calls of `method` reject with a RuntimeError carrying `message`. */
  injectError(method: keyof ContainerRuntime, message: string, times = 1): void {
    const q = this.injected.get(method) ?? [];
    for (let i = 0; i < times; i++) q.push(message);
    this.injected.set(method, q);
  }

  /** Calls of one method. */
  callsOf(method: keyof ContainerRuntime): FakeCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  clearCalls(): void {
    this.calls.length = 0;
  }

  /** Snapshot of a container (any state), or undefined. */
  get(id: string): FakeContainerView | undefined {
    const c = this.containers.get(id);
    return c ? this.view(c) : undefined;
  }

  /** Snapshots of every container, sandboxes included, in creation order. */
  all(): FakeContainerView[] {
    return [...this.containers.values()].map((c) => this.view(c));
  }

  /** Simulate the process dying on its own (e.g. a crash, or an OOM kill). No-op unless running. */
  crash(id: string, exitCode = 1, oomKilled = false): void {
    const c = this.mustGet(id);
    if (c.state === 'running') this.exit(c, oomKilled ? 137 : exitCode, oomKilled);
  }

  /** Everything written to the container's main process stdin through `attach` so far. */
  stdinOf(id: string): string {
    return this.mustGet(id).stdinData;
  }

  /** Append a line to a container's log (followers receive it at once). */
  emitLog(id: string, text: string): void {
    this.appendLog(this.mustGet(id), text);
  }

  // ----- ContainerRuntime -----

  async version(): Promise<RuntimeVersion> {
    this.record('version', []);
    return { runtimeName: 'fake', runtimeVersion: '0.1.0' };
  }

  async pullImage(image: string, policy: PullPolicy, auth?: RegistryAuth): Promise<PullResult> {
    this.record('pullImage', [image, policy, auth]);
    const ref = normalizeImage(image);
    const present = this.images.get(ref);
    if (policy !== 'Always' && present) return { imageRef: present, pulled: false };
    if (policy === 'Never') throw new ImageNeverPullError(image);
    const inflight = this.pulls.get(ref);
    if (inflight) return inflight;
    const script = this.imageScriptFor(ref, undefined);
    let settled = false;
    const p = new Promise<PullResult>((resolve, reject) => {
      const finish = (): void => {
        settled = true;
        this.pulls.delete(ref);
        if (script.missing) {
          reject(new ImagePullError(image, `pull access denied for ${ref.replace(/:[^:/]+$/, '')}, repository does not exist or may require 'docker login'`));
          return;
        }
        const id = imageId(ref);
        this.images.set(ref, id);
        resolve({ imageRef: id, pulled: true });
      };
      if (script.pullDelayMs) this.clock.setTimeout(finish, script.pullDelayMs);
      else finish();
    });
    // a pull that finished synchronously must not be cached as in flight
    if (!settled) this.pulls.set(ref, p);
    return p;
  }

  async runPodSandbox(config: PodSandboxConfig): Promise<PodSandbox> {
    this.record('runPodSandbox', [config]);
    const c = this.newSandbox(config);
    this.startSandbox(c);
    return { id: c.id, ip: c.ip! };
  }

  async createPodSandbox(config: PodSandboxConfig): Promise<string> {
    this.record('createPodSandbox', [config]);
    return this.newSandbox(config).id;
  }

  async startPodSandbox(id: string): Promise<PodSandbox> {
    const sb = this.mustGet(id);
    try {
      this.record('startPodSandbox', [id]);
      if (!sb.sandbox) throw new RuntimeError(`starting sandbox ${id}: not a sandbox`, 'not a sandbox');
      if (sb.state !== 'running') this.startSandbox(sb);
    } catch (e) {
      for (const c of this.members(id)) this.destroy(c);
      this.destroy(sb);
      throw e;
    }
    return { id: sb.id, ip: sb.ip! };
  }

  private newSandbox(config: PodSandboxConfig): FakeContainer {
    const attempt = config.attempt ?? 0;
    const name = runtimeContainerName(this.profile, this.node, config.namespace, config.podName, config.podUid, SANDBOX_CONTAINER_NAME, attempt);
    this.checkName(name);
    const c = this.newContainer({
      runtimeName: name,
      sandbox: true,
      podUid: config.podUid,
      podName: config.podName,
      namespace: config.namespace,
      containerName: SANDBOX_CONTAINER_NAME,
      restartCount: attempt,
      extraLabels: config.labels,
      image: 'minictl/pause:local',
      script: {},
    });
    c.sandboxConfig = config;
    return c;
  }

  /** The sandbox gets its IP when it starts (as with Docker); no free address → it stays created. */
  private startSandbox(c: FakeContainer): void {
    try {
      c.ip = this.allocateIp();
    } catch (e) {
      this.destroy(c);
      throw e;
    }
    c.state = 'running';
    c.startedAt = this.clock.now();
  }

  async stopPodSandbox(id: string): Promise<void> {
    this.record('stopPodSandbox', [id]);
    const sb = this.containers.get(id);
    if (!sb) return;
    for (const c of this.members(id)) if (c.state === 'running') this.exit(c, 137, false);
    if (sb.state === 'running') this.exit(sb, 0, false);
  }

  async removePodSandbox(id: string): Promise<void> {
    this.record('removePodSandbox', [id]);
    for (const c of this.members(id)) this.destroy(c);
    const sb = this.containers.get(id);
    if (sb) this.destroy(sb);
  }

  async createContainer(sandboxId: string, config: ContainerConfig): Promise<string> {
    this.record('createContainer', [sandboxId, config]);
    const sb = this.containers.get(sandboxId);
    if (!sb || !sb.sandbox) throw new ContainerNotFoundError(sandboxId, `No such container: ${sandboxId}`);
    const ref = normalizeImage(config.image);
    if (!this.images.has(ref)) throw new RuntimeError(`creating container ${config.name}: No such image: ${ref}`, `No such image: ${ref}`);
    const restartCount = config.restartCount ?? 0;
    const name = runtimeContainerName(this.profile, this.node, sb.namespace, sb.podName, sb.podUid, config.name, restartCount);
    this.checkName(name);
    const ctx: FakeScriptContext = {
      namespace: sb.namespace,
      podName: sb.podName,
      podUid: sb.podUid,
      containerName: config.name,
      image: ref,
      restartCount,
    };
    const c = this.newContainer({
      runtimeName: name,
      sandbox: false,
      podUid: sb.podUid,
      podName: sb.podName,
      namespace: sb.namespace,
      containerName: config.name,
      restartCount,
      extraLabels: config.labels,
      image: config.image,
      script: this.scriptFor(ctx),
    });
    c.sandboxId = sb.id;
    c.config = config;
    return c.id;
  }

  async startContainer(id: string): Promise<void> {
    this.record('startContainer', [id]);
    const c = this.mustGet(id);
    if (c.state === 'running') return;
    if (c.state === 'exited') {
      throw new RuntimeError(`starting container ${id}: container has already run; create a new one`, 'container already ran');
    }
    const sb = c.sandboxId ? this.containers.get(c.sandboxId) : undefined;
    if (!c.sandbox && (!sb || sb.state !== 'running')) {
      const msg = `cannot join network of a non running container: ${c.sandboxId}`;
      c.message = msg;
      throw new RuntimeError(`starting container ${id}: ${msg}`, msg);
    }
    if (c.script.startError) {
      c.message = c.script.startError;
      throw new RuntimeError(`starting container ${id}: ${c.script.startError}`, c.script.startError);
    }
    c.state = 'running';
    c.startedAt = this.clock.now();
    for (const line of c.script.logs ?? []) this.appendLog(c, line);
    const s = c.script;
    const after = s.crashAfterSeconds ?? s.runSeconds;
    if (after !== undefined) {
      const code = s.oomKilled ? 137 : (s.exitCode ?? (s.crashAfterSeconds !== undefined ? 1 : 0));
      c.timer = this.clock.setTimeout(() => {
        c.timer = undefined;
        if (c.state === 'running') this.exit(c, code, !!s.oomKilled);
      }, after * 1000);
    }
  }

  async stopContainer(id: string, gracePeriodSeconds: number): Promise<void> {
    this.record('stopContainer', [id, gracePeriodSeconds]);
    const c = this.containers.get(id);
    if (!c || c.state !== 'running') return;
    if (gracePeriodSeconds <= 0) {
      this.exit(c, 137, false);
      return;
    }
    if (!c.script.ignoreSigterm) {
      this.exit(c, c.sandbox ? 0 : (c.script.sigtermExitCode ?? 143), false);
      return;
    }
    await new Promise<void>((resolve) => {
      const kill = this.clock.setTimeout(() => {
        if (c.state === 'running') this.exit(c, 137, false);
      }, gracePeriodSeconds * 1000);
      c.exitWaiters.push(() => {
        this.clock.clearTimeout(kill);
        resolve();
      });
    });
  }

  async removeContainer(id: string): Promise<void> {
    this.record('removeContainer', [id]);
    const c = this.containers.get(id);
    if (c) this.destroy(c);
  }

  async listContainers(filter: ListFilter = {}): Promise<ContainerInfo[]> {
    this.record('listContainers', [filter]);
    return [...this.containers.values()]
      .filter((c) => (filter.all || c.state === 'running') && (!filter.podUid || c.podUid === filter.podUid))
      .map((c) => this.info(c));
  }

  async containerStatus(id: string): Promise<ContainerStatus> {
    this.record('containerStatus', [id]);
    const c = this.mustGet(id);
    const st: ContainerStatus = {
      id: c.id,
      state: c.state,
      createdAt: c.createdAt,
      startedAt: c.startedAt,
      finishedAt: c.finishedAt,
      image: c.image,
      imageRef: c.imageRef,
    };
    if (c.state === 'exited') {
      st.exitCode = c.exitCode;
      st.reason = exitReason(c.exitCode ?? 0, c.oomKilled);
    }
    if (c.message) st.message = c.message;
    return st;
  }

  async logs(id: string, options: LogOptions = {}): Promise<Readable> {
    this.record('logs', [id, options]);
    const c = this.mustGet(id);
    const fmt = (l: LogLine): string => (options.timestamps ? `${new Date(l.at).toISOString()} ${l.text}\n` : `${l.text}\n`);
    let lines = c.logs.filter((l) => options.since === undefined || l.at >= options.since);
    if (options.tail !== undefined && options.tail >= 0) lines = options.tail === 0 ? [] : lines.slice(-options.tail);
    const out = new PassThrough();
    for (const l of lines) out.write(fmt(l));
    if (options.follow && c.state !== 'exited') {
      const follower = new PassThrough({ objectMode: true });
      follower.on('data', (l: LogLine) => out.write(fmt(l)));
      follower.on('end', () => out.end());
      c.followers.add(follower);
      out.on('close', () => c.followers.delete(follower));
    } else {
      out.end();
    }
    return out;
  }

  async exec(id: string, cmd: string[], options: ExecOptions = {}): Promise<ExecSession> {
    this.record('exec', [id, cmd, options]);
    const c = this.mustGet(id);
    if (c.state !== 'running') {
      const msg = `container ${id} is not running`;
      throw new RuntimeError(`exec in ${id}: ${msg}`, msg);
    }
    const handler = c.script.exec ?? this.execHandler ?? (() => ({ exitCode: 0 }));
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let input = '';
    let stdin: Writable | undefined;
    const inputDone = new Promise<void>((resolve) => {
      if (!options.stdin) {
        resolve();
        return;
      }
      const w = new PassThrough();
      w.on('data', (d: Buffer) => (input += d.toString()));
      w.on('end', resolve);
      stdin = w;
    });
    const exitCode = inputDone.then(
      () =>
        new Promise<number>((resolve) => {
          let r: FakeExecResult;
          try {
            r = handler(cmd, input, this.view(c));
          } catch (err) {
            r = { exitCode: 126, stderr: String((err as Error).message ?? err) };
          }
          const finish = (): void => {
            if (r.stdout) stdout.write(r.stdout);
            // With a tty everything arrives on stdout, as with a real engine.
            if (r.stderr) (options.tty ? stdout : stderr).write(r.stderr);
            stdout.end();
            stderr.end();
            resolve(r.exitCode ?? 0);
          };
          if (r.delayMs) this.clock.setTimeout(finish, r.delayMs);
          else finish();
        }),
    );
    return { stdin, stdout, stderr, resize: async () => undefined, exitCode };
  }

  /**
   * Attached output is the log lines appended from now on (`emitLog`, scripted output), on
   * stdout; attached input accumulates in `stdinOf(id)`. The session ends when the container exits.
   */
  async attach(id: string, options: AttachOptions = {}): Promise<AttachSession> {
    this.record('attach', [id, options]);
    const c = this.mustGet(id);
    if (c.state !== 'running') {
      const msg = `container ${id} is not running`;
      throw new RuntimeError(`attaching to ${id}: ${msg}`, msg);
    }
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const follower = new PassThrough({ objectMode: true });
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const end = (): void => {
      c.followers.delete(follower);
      if (!stdout.writableEnded) stdout.end();
      if (!stderr.writableEnded) stderr.end();
      finish();
    };
    follower.on('data', (l: LogLine) => stdout.write(`${l.text}\n`));
    follower.on('end', end);
    c.followers.add(follower);
    if (c.config?.tty) stderr.end();
    let stdin: Writable | undefined;
    if (options.stdin && c.config?.stdin) {
      const w = new PassThrough();
      w.on('data', (d: Buffer) => (c.stdinData += d.toString()));
      stdin = w;
    }
    return { stdin, stdout, stderr, tty: !!c.config?.tty, resize: async () => undefined, done, close: end };
  }

  async stats(id: string): Promise<ContainerStats> {
    this.record('stats', [id]);
    const c = this.mustGet(id);
    if (c.state !== 'running') return { cpuNanoCores: 0, memoryBytes: 0 };
    return c.script.stats ?? { cpuNanoCores: 0, memoryBytes: 0 };
  }

  // ----- internals -----

  private record(method: string, args: unknown[]): void {
    this.calls.push({ method, args, at: this.clock.now() });
    const q = this.injected.get(method);
    if (q && q.length) {
      const message = q.shift()!;
      throw new RuntimeError(`${method}: ${message}`, message);
    }
  }

  private mustGet(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw new ContainerNotFoundError(id, `No such container: ${id}`);
    return c;
  }

  private checkName(name: string): void {
    for (const c of this.containers.values()) {
      if (c.runtimeName === name) {
        const msg = `Conflict. The container name "/${name}" is already in use by container "${c.id}". You have to remove (or rename) that container to be able to reuse that name.`;
        throw new RuntimeError(`creating container ${name}: ${msg}`, msg);
      }
    }
  }

  private allocateIp(): string {
    const { base, size } = this.cidr;
    for (let n = base + 2; n < base + size - 1; n++) {
      if (!this.usedIps.has(n)) {
        this.usedIps.add(n);
        return ipString(n);
      }
    }
    const msg = `no available IPv4 addresses on this network's address pools (${ipString(base)}/${32 - Math.log2(size)})`;
    throw new RuntimeError(`creating sandbox: ${msg}`, msg);
  }

  private releaseIp(c: FakeContainer): void {
    if (!c.ip) return;
    const p = c.ip.split('.').map(Number);
    this.usedIps.delete(((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0);
    c.ip = undefined;
  }

  private newContainer(a: {
    runtimeName: string;
    sandbox: boolean;
    podUid: string;
    podName: string;
    namespace: string;
    containerName: string;
    restartCount: number;
    extraLabels?: Record<string, string>;
    image: string;
    script: FakeScript;
  }): FakeContainer {
    const id = createHash('sha256').update(`${this.profile}/${this.node}/${++this.seq}`).digest('hex');
    const ref = normalizeImage(a.image);
    const c: FakeContainer = {
      id,
      runtimeName: a.runtimeName,
      sandbox: a.sandbox,
      podUid: a.podUid,
      podName: a.podName,
      namespace: a.namespace,
      containerName: a.containerName,
      restartCount: a.restartCount,
      labels: {
        ...(a.extraLabels ?? {}),
        [LABELS.profile]: this.profile,
        [LABELS.node]: this.node,
        [LABELS.podUid]: a.podUid,
        [LABELS.podName]: a.podName,
        [LABELS.podNamespace]: a.namespace,
        [LABELS.containerName]: a.containerName,
        [LABELS.restartCount]: String(a.restartCount),
        [LABELS.sandbox]: String(a.sandbox),
      },
      image: a.image,
      imageRef: this.images.get(ref) ?? imageId(ref),
      state: 'created',
      createdAt: this.clock.now(),
      oomKilled: false,
      script: a.script,
      logs: [],
      stdinData: '',
      followers: new Set(),
      exitWaiters: [],
    };
    this.containers.set(id, c);
    return c;
  }

  private members(sandboxId: string): FakeContainer[] {
    return [...this.containers.values()].filter((c) => c.sandboxId === sandboxId);
  }

  private exit(c: FakeContainer, code: number, oomKilled: boolean): void {
    if (c.timer !== undefined) {
      this.clock.clearTimeout(c.timer);
      c.timer = undefined;
    }
    c.state = 'exited';
    c.exitCode = code;
    c.oomKilled = oomKilled;
    c.finishedAt = this.clock.now();
    if (c.sandbox) this.releaseIp(c);
    for (const f of c.followers) f.end();
    c.followers.clear();
    const waiters = c.exitWaiters.splice(0);
    for (const w of waiters) w();
  }

  private destroy(c: FakeContainer): void {
    if (c.state === 'running') this.exit(c, 137, false);
    this.releaseIp(c);
    this.containers.delete(c.id);
  }

  private appendLog(c: FakeContainer, text: string): void {
    const line = { at: this.clock.now(), text };
    c.logs.push(line);
    for (const f of c.followers) f.write(line);
  }

  private imageScriptFor(ref: string, ctx: FakeScriptContext | undefined): FakeScript {
    const src = this.imageScripts.get(ref);
    if (!src) return {};
    if (typeof src === 'function') {
      return src(ctx ?? { namespace: '', podName: '', podUid: '', containerName: '', image: ref, restartCount: 0 });
    }
    return src;
  }

  private scriptFor(ctx: FakeScriptContext): FakeScript {
    const src =
      this.containerScripts.get(`${ctx.namespace}/${ctx.podName}/${ctx.containerName}`) ??
      this.containerScripts.get(ctx.containerName);
    if (src) return typeof src === 'function' ? src(ctx) : src;
    return this.imageScriptFor(ctx.image, ctx);
  }

  private info(c: FakeContainer): ContainerInfo {
    const i: ContainerInfo = {
      id: c.id,
      runtimeName: c.runtimeName,
      podUid: c.podUid,
      podName: c.podName,
      namespace: c.namespace,
      containerName: c.containerName,
      restartCount: c.restartCount,
      sandbox: c.sandbox,
      state: c.state,
      image: c.image,
      imageRef: c.imageRef,
      createdAt: c.createdAt,
      labels: { ...c.labels },
    };
    if (c.sandboxId) i.sandboxId = c.sandboxId;
    if (c.ip) i.ip = c.ip;
    return i;
  }

  private view(c: FakeContainer): FakeContainerView {
    const v: FakeContainerView = { ...this.info(c), startedAt: c.startedAt, finishedAt: c.finishedAt, exitCode: c.exitCode };
    if (c.config) v.config = c.config;
    if (c.sandboxConfig) v.sandboxConfig = c.sandboxConfig;
    return v;
  }
}
