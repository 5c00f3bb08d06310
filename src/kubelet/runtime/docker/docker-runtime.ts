/**
 * DockerRuntime: the ContainerRuntime on a Docker engine through dockerode.
 *
 * One instance per (profile, node). Sandboxes are pause containers on the node's bridge
 * network (`minictl-<profile>-<node>`, see network/node-network.ts); app containers join the
 * sandbox's network and IPC namespaces (`NetworkMode/IpcMode: container:<sandbox>`), so they
 * share its IP, hostname and resolv.conf. Everything is labelled (see `LABELS`) so that a
 * restarted daemon can adopt or remove what it finds.
 *
 * Errors: every engine failure is a `RuntimeError` whose `output` is Docker's own message;
 * unknown ids are `ContainerNotFoundError`; pull failures `ImagePullError` /
 * `ImageNeverPullError`.
 *
 * Pause image: the default `minictl/pause:local` is built on first use when missing, with
 * `docker import` of a one-file root filesystem holding a static ELF generated below (no
 * registry needed). See `pauseElf` for why it stops instantly on SIGTERM.
 */
import { Duplex, PassThrough, Readable, Writable } from 'node:stream';
import Docker from 'dockerode';
import { RuntimeError } from '../../../util/errors';
import { nodeNetworkName } from '../../../network/node-network';
import {
  ContainerConfig,
  ContainerInfo,
  ContainerNotFoundError,
  ContainerRuntime,
  ContainerState,
  ContainerStats,
  ContainerStatus,
  AttachOptions,
  AttachSession,
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

export const DEFAULT_PAUSE_IMAGE = 'minictl/pause:local';

export interface DockerRuntimeOptions {
  profile: string;
  node: string;
  /** Default: a client for DOCKER_HOST or /var/run/docker.sock. */
  docker?: Docker;
  /** Network sandboxes join; default `minictl-<profile>-<node>` (it must exist). */
  network?: string;
  /**
   * Sandbox image; default `minictl/pause:local`. The default is built locally when missing;
   * any other image is pulled with policy IfNotPresent and must run a pause process by default.
   */
  pauseImage?: string;
  /** Seconds given to a sandbox to stop before SIGKILL; default 2 (the pause process exits at once). */
  sandboxStopTimeoutSeconds?: number;
}

/** A dockerode client for DOCKER_HOST, or the local socket /var/run/docker.sock. */
export function createDockerClient(): Docker {
  return new Docker();
}

// ---------------------------------------------------------------------------------------
// Error helpers

interface DockerError {
  statusCode?: number;
  json?: { message?: string } | null;
  reason?: string;
  message?: string;
}

function dockerMessage(err: unknown): string {
  const e = err as DockerError;
  const msg = e?.json?.message ?? e?.message ?? String(err);
  return String(msg).trim();
}

function statusOf(err: unknown): number | undefined {
  return (err as DockerError)?.statusCode;
}

function isNoSuchContainer(err: unknown): boolean {
  return statusOf(err) === 404 && /no such container|not found/i.test(dockerMessage(err));
}

function wrap(what: string, err: unknown, id?: string): RuntimeError {
  if (err instanceof RuntimeError) return err;
  const msg = dockerMessage(err);
  if (id !== undefined && isNoSuchContainer(err)) return new ContainerNotFoundError(id, msg);
  return new RuntimeError(`${what}: ${msg}`, msg);
}

/** Docker's zero time (`0001-01-01T00:00:00Z`) and unparsable strings become undefined. */
function parseDockerTime(s: string | undefined): number | undefined {
  if (!s || s.startsWith('0001-01-01')) return undefined;
  const trimmed = s.replace(/(\.\d{3})\d+/, '$1');
  const t = Date.parse(trimmed);
  return Number.isNaN(t) ? undefined : t;
}

function mapState(status: string | undefined): ContainerState {
  switch (status) {
    case 'created':
      return 'created';
    case 'running':
    case 'paused':
    case 'restarting':
      return 'running';
    case 'exited':
    case 'dead':
      return 'exited';
    default:
      return 'unknown';
  }
}

// ---------------------------------------------------------------------------------------
// Stream helpers

/**
 * Split Docker's multiplexed attach/log stream (8-byte frame headers: stream type, 3 zero
 * bytes, big-endian length) into `stdout`/`stderr`, ending both when `src` ends.
 * Stream type 0 (stdin echo) goes to stdout.
 */
function demux(src: Readable, stdout: PassThrough, stderr: PassThrough): void {
  let buf: Buffer = Buffer.alloc(0);
  src.on('data', (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 8) {
      const type = buf[0];
      const len = buf.readUInt32BE(4);
      if (buf.length < 8 + len) break;
      const payload = buf.subarray(8, 8 + len);
      (type === 2 ? stderr : stdout).write(payload);
      buf = buf.subarray(8 + len);
    }
  });
  const finish = (): void => {
    if (!stdout.writableEnded) stdout.end();
    if (!stderr.writableEnded) stderr.end();
  };
  src.on('end', finish);
  src.on('close', finish);
  src.on('error', (err) => {
    stdout.destroy(err);
    stderr.destroy(err);
  });
}

/** Read a JSON-lines progress stream (pull, import); resolves with the first error message, if any. */
function consumeProgress(stream: Readable): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let rest = '';
    let error: string | undefined;
    const onLine = (line: string): void => {
      if (!line.trim()) return;
      try {
        const ev = JSON.parse(line) as { error?: string; errorDetail?: { message?: string } };
        if (!error && (ev.error || ev.errorDetail)) error = ev.errorDetail?.message ?? ev.error;
      } catch {
        // Not JSON: ignore progress noise.
      }
    };
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      rest += chunk;
      const lines = rest.split('\n');
      rest = lines.pop() ?? '';
      lines.forEach(onLine);
    });
    stream.on('end', () => {
      onLine(rest);
      resolve(error);
    });
    stream.on('error', reject);
  });
}

// ---------------------------------------------------------------------------------------
// Pause image

/**
 * A complete static ELF executable (~190 bytes) for `arch` that blocks SIGTERM and SIGINT,
 * waits for one of them with rt_sigtimedwait(2), and exits 0.
 *
 * Why this shape: PID 1 in a PID namespace ignores every signal it has no handler for, so a
 * plain `pause(2)` loop would sit out Docker's whole stop timeout and die by SIGKILL. Blocked
 * signals are never discarded (even for PID 1), so waiting for them synchronously makes
 * `docker stop` return in milliseconds, without handlers, a signal-return trampoline, or a
 * dependency on the engine's `docker-init` (`Init: true`).
 *
 * Supported: `x64` (amd64) and `arm64`. Throws RangeError for anything else.
 */
export function pauseElf(arch: string): Buffer {
  let machine: number;
  let code: Buffer;
  if (arch === 'x64' || arch === 'amd64' || arch === 'x86_64') {
    machine = 62; // EM_X86_64
    // prettier-ignore
    code = Buffer.from([
      0xb8, 0x0e, 0x00, 0x00, 0x00,             // mov eax, 14 (rt_sigprocmask)
      0x31, 0xff,                               // xor edi, edi (SIG_BLOCK)
      0x48, 0x8d, 0x35, 0x2f, 0x00, 0x00, 0x00, // lea rsi, [rip+set]
      0x31, 0xd2,                               // xor edx, edx (oldset = NULL)
      0x41, 0xba, 0x08, 0x00, 0x00, 0x00,       // mov r10d, 8 (sigsetsize)
      0x0f, 0x05,                               // syscall
      // wait:
      0xb8, 0x80, 0x00, 0x00, 0x00,             // mov eax, 128 (rt_sigtimedwait)
      0x48, 0x8d, 0x3d, 0x19, 0x00, 0x00, 0x00, // lea rdi, [rip+set]
      0x31, 0xf6,                               // xor esi, esi (info = NULL)
      0x31, 0xd2,                               // xor edx, edx (timeout = NULL)
      0x41, 0xba, 0x08, 0x00, 0x00, 0x00,       // mov r10d, 8
      0x0f, 0x05,                               // syscall
      0x85, 0xc0,                               // test eax, eax
      0x78, 0xe4,                               // js wait (EINTR)
      0xb8, 0xe7, 0x00, 0x00, 0x00,             // mov eax, 231 (exit_group)
      0x31, 0xff,                               // xor edi, edi (status 0)
      0x0f, 0x05,                               // syscall
      // set: SIGINT (2) | SIGTERM (15) → bits 1 and 14
      0x02, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]);
  } else if (arch === 'arm64' || arch === 'aarch64') {
    machine = 183; // EM_AARCH64
    const words = [
      0xd2800000, // mov x0, #0 (SIG_BLOCK)
      0x100001e1, // adr x1, set (+60)
      0xd2800002, // mov x2, #0
      0xd2800103, // mov x3, #8
      0xd28010e8, // mov x8, #135 (rt_sigprocmask)
      0xd4000001, // svc #0
      // wait:
      0x10000140, // adr x0, set (+40)
      0xd2800001, // mov x1, #0
      0xd2800002, // mov x2, #0
      0xd2800103, // mov x3, #8
      0xd2801128, // mov x8, #137 (rt_sigtimedwait)
      0xd4000001, // svc #0
      0xb7ffff40, // tbnz x0, #63, wait (-24)
      0xd2800000, // mov x0, #0
      0xd2800bc8, // mov x8, #94 (exit_group)
      0xd4000001, // svc #0
    ];
    code = Buffer.alloc(words.length * 4 + 8);
    words.forEach((w, i) => code.writeUInt32LE(w, i * 4));
    code.writeBigUInt64LE(0x4002n, words.length * 4); // set
  } else {
    throw new RangeError(`no built-in pause binary for architecture "${arch}"`);
  }
  const base = 0x400000n;
  const headers = 64 + 56;
  const elf = Buffer.alloc(headers + code.length);
  // ELF header
  elf.write('\x7fELF', 0, 'latin1');
  elf[4] = 2; // ELFCLASS64
  elf[5] = 1; // little endian
  elf[6] = 1; // EV_CURRENT
  elf.writeUInt16LE(2, 16); // ET_EXEC
  elf.writeUInt16LE(machine, 18);
  elf.writeUInt32LE(1, 20);
  elf.writeBigUInt64LE(base + BigInt(headers), 24); // e_entry
  elf.writeBigUInt64LE(64n, 32); // e_phoff
  elf.writeUInt16LE(64, 52); // e_ehsize
  elf.writeUInt16LE(56, 54); // e_phentsize
  elf.writeUInt16LE(1, 56); // e_phnum
  // One PT_LOAD segment mapping the whole file read+execute.
  elf.writeUInt32LE(1, 64); // PT_LOAD
  elf.writeUInt32LE(5, 68); // PF_R | PF_X
  elf.writeBigUInt64LE(0n, 72); // p_offset
  elf.writeBigUInt64LE(base, 80); // p_vaddr
  elf.writeBigUInt64LE(base, 88); // p_paddr
  elf.writeBigUInt64LE(BigInt(elf.length), 96); // p_filesz
  elf.writeBigUInt64LE(BigInt(elf.length), 104); // p_memsz
  elf.writeBigUInt64LE(0x1000n, 112); // p_align
  code.copy(elf, headers);
  return elf;
}

/** A ustar archive holding regular files at the root (enough for `docker import`). */
function tarOf(files: Array<{ name: string; mode: number; data: Buffer }>): Buffer {
  const blocks: Buffer[] = [];
  const mtime = Math.floor(Date.now() / 1000);
  for (const f of files) {
    const h = Buffer.alloc(512);
    h.write(f.name, 0, 100, 'utf8');
    h.write(f.mode.toString(8).padStart(7, '0') + '\0', 100, 'latin1');
    h.write('0000000\0', 108, 'latin1'); // uid
    h.write('0000000\0', 116, 'latin1'); // gid
    h.write(f.data.length.toString(8).padStart(11, '0') + '\0', 124, 'latin1');
    h.write(mtime.toString(8).padStart(11, '0') + '\0', 136, 'latin1');
    h.write('        ', 148, 'latin1'); // checksum placeholder
    h.write('0', 156, 'latin1'); // regular file
    h.write('ustar\0', 257, 'latin1');
    h.write('00', 263, 'latin1');
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    blocks.push(h, f.data, Buffer.alloc((512 - (f.data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

const pauseBuilds = new WeakMap<Docker, Map<string, Promise<string>>>();

/**
 * Make sure the pause image `name` exists, building it with `docker import` (a root
 * filesystem holding only `/pause`, CMD ["/pause"]) when missing. Resolves with the image
 * id. Concurrent calls for one engine and name share one build; every later call checks
 * again (a removed image is rebuilt, a failed build retried). Rejects with RuntimeError on engine errors or an unsupported engine
 * architecture.
 */
export async function ensurePauseImage(docker: Docker, name = DEFAULT_PAUSE_IMAGE): Promise<string> {
  let perDocker = pauseBuilds.get(docker);
  if (!perDocker) pauseBuilds.set(docker, (perDocker = new Map()));
  const inflight = perDocker.get(name);
  if (inflight) return inflight;
  const p = buildPauseImage(docker, name);
  perDocker.set(name, p);
  // Only the in-flight build is shared: a later call re-checks (the image may have been removed).
  p.then(
    () => perDocker?.delete(name),
    () => perDocker?.delete(name),
  );
  return p;
}

async function buildPauseImage(docker: Docker, name: string): Promise<string> {
  const ref = normalizeImage(name);
  const existing = await inspectImageId(docker, ref);
  if (existing) return existing;
  let arch: string;
  try {
    arch = (await docker.version()).Arch;
  } catch (err) {
    throw wrap('querying the engine version', err);
  }
  let elf: Buffer;
  try {
    elf = pauseElf(arch);
  } catch (err) {
    throw new RuntimeError(`cannot build pause image ${ref}: ${(err as Error).message}; configure a pause image to pull`);
  }
  const colon = ref.lastIndexOf(':');
  const tar = tarOf([{ name: 'pause', mode: 0o755, data: elf }]);
  try {
    const stream = (await docker.importImage(Readable.from([tar]), {
      repo: ref.slice(0, colon),
      tag: ref.slice(colon + 1),
      changes: ['CMD ["/pause"]'],
    } as object)) as unknown as Readable;
    const error = await consumeProgress(stream);
    if (error) throw new RuntimeError(`importing pause image ${ref}: ${error}`, error);
  } catch (err) {
    throw wrap(`importing pause image ${ref}`, err);
  }
  const id = await inspectImageId(docker, ref);
  if (!id) throw new RuntimeError(`pause image ${ref} missing right after import`);
  return id;
}

async function inspectImageId(docker: Docker, ref: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(ref).inspect()).Id;
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw wrap(`inspecting image ${ref}`, err);
  }
}

// ---------------------------------------------------------------------------------------
// The runtime

interface ListedContainer {
  Id: string;
  Names?: string[];
  Image: string;
  ImageID: string;
  Created: number;
  State: string;
  Labels?: Record<string, string>;
  HostConfig?: { NetworkMode?: string };
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> };
}

export class DockerRuntime implements ContainerRuntime {
  readonly docker: Docker;
  readonly profile: string;
  readonly node: string;
  readonly network: string;
  readonly pauseImage: string;
  private readonly sandboxStopTimeout: number;
  private readonly pulls = new Map<string, Promise<PullResult>>();
  private pauseImageReady = false;
  /**
   * Pod identity of the sandboxes this instance created (full id → labels), so creating a
   * container in one needs no inspect. Sandboxes it did not create (adopted after a restart)
   * are inspected. Entries go when the sandbox is removed through this runtime.
   */
  private readonly sandboxes = new Map<string, { podUid: string; podName: string; namespace: string }>();

  constructor(opts: DockerRuntimeOptions) {
    this.docker = opts.docker ?? createDockerClient();
    this.profile = opts.profile;
    this.node = opts.node;
    this.network = opts.network ?? nodeNetworkName(opts.profile, opts.node);
    this.pauseImage = opts.pauseImage ?? DEFAULT_PAUSE_IMAGE;
    this.sandboxStopTimeout = opts.sandboxStopTimeoutSeconds ?? 2;
  }

  async version(): Promise<RuntimeVersion> {
    try {
      const v = await this.docker.version();
      return { runtimeName: 'docker', runtimeVersion: v.Version };
    } catch (err) {
      throw wrap('querying the engine version', err);
    }
  }

  async pullImage(image: string, policy: PullPolicy, auth?: RegistryAuth): Promise<PullResult> {
    const ref = normalizeImage(image);
    if (policy !== 'Always') {
      const id = await inspectImageId(this.docker, ref);
      if (id) return { imageRef: id, pulled: false };
      if (policy === 'Never') throw new ImageNeverPullError(image);
    }
    const key = `${ref}\0${auth ? JSON.stringify(auth) : ''}`;
    const inflight = this.pulls.get(key);
    if (inflight) return inflight;
    const p = this.doPull(image, ref, auth).finally(() => this.pulls.delete(key));
    this.pulls.set(key, p);
    return p;
  }

  private async doPull(image: string, ref: string, auth?: RegistryAuth): Promise<PullResult> {
    let error: string | undefined;
    try {
      const stream = (await this.docker.pull(ref, auth ? { authconfig: auth } : {})) as Readable;
      error = await consumeProgress(stream);
    } catch (err) {
      error = dockerMessage(err);
    }
    if (error) throw new ImagePullError(image, error);
    const id = await inspectImageId(this.docker, ref);
    if (!id) throw new ImagePullError(image, 'image not present after a successful pull');
    return { imageRef: id, pulled: true };
  }

  /**
   * The pause image is checked (or built / pulled) once per runtime; later sandboxes skip the
   * check. Should the image be removed behind our back, sandbox creation fails with "No such
   * image", the mark is dropped and the next call checks again.
   */
  private async ensureSandboxImage(): Promise<void> {
    if (this.pauseImageReady) return;
    if (this.pauseImage === DEFAULT_PAUSE_IMAGE) await ensurePauseImage(this.docker, this.pauseImage);
    else await this.pullImage(this.pauseImage, 'IfNotPresent');
    this.pauseImageReady = true;
  }

  private baseLabels(podUid: string, podName: string, namespace: string): Record<string, string> {
    return {
      [LABELS.profile]: this.profile,
      [LABELS.node]: this.node,
      [LABELS.podUid]: podUid,
      [LABELS.podName]: podName,
      [LABELS.podNamespace]: namespace,
    };
  }

  async runPodSandbox(config: PodSandboxConfig): Promise<PodSandbox> {
    return this.startPodSandbox(await this.createPodSandbox(config));
  }

  async createPodSandbox(config: PodSandboxConfig): Promise<string> {
    await this.ensureSandboxImage();
    const attempt = config.attempt ?? 0;
    const name = runtimeContainerName(
      this.profile,
      this.node,
      config.namespace,
      config.podName,
      config.podUid,
      SANDBOX_CONTAINER_NAME,
      attempt,
    );
    const hostname = (config.hostname ?? config.podName).slice(0, 63).replace(/[-.]+$/, '');
    const exposed: Record<string, object> = {};
    const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
    for (const pm of config.portMappings ?? []) {
      const key = `${pm.containerPort}/${(pm.protocol ?? 'TCP').toLowerCase()}`;
      exposed[key] = {};
      (bindings[key] ??= []).push({ HostIp: pm.hostIP ?? '127.0.0.1', HostPort: String(pm.hostPort) });
    }
    const labels = {
      ...(config.labels ?? {}),
      ...this.baseLabels(config.podUid, config.podName, config.namespace),
      [LABELS.containerName]: SANDBOX_CONTAINER_NAME,
      [LABELS.restartCount]: String(attempt),
      [LABELS.sandbox]: 'true',
    };
    const spec: Docker.ContainerCreateOptions = {
      name,
      Image: this.pauseImage,
      Hostname: hostname,
      Labels: labels,
      ExposedPorts: exposed,
      HostConfig: {
        NetworkMode: this.network,
        IpcMode: 'shareable',
        PortBindings: bindings,
        Dns: config.dns?.servers ?? [],
        DnsSearch: config.dns?.searches ?? [],
        DnsOptions: config.dns?.options ?? [],
        RestartPolicy: { Name: 'no' },
      },
      NetworkingConfig: { EndpointsConfig: { [this.network]: {} } },
    };
    let id: string;
    try {
      id = (await this.docker.createContainer(spec)).id;
    } catch (err) {
      if (statusOf(err) !== 404 || !/no such image/i.test(dockerMessage(err))) throw wrap(`creating sandbox for pod ${config.namespace}/${config.podName}`, err);
      // The pause image went away since it was checked: make it again, once.
      this.pauseImageReady = false;
      await this.ensureSandboxImage();
      try {
        id = (await this.docker.createContainer(spec)).id;
      } catch (err2) {
        throw wrap(`creating sandbox for pod ${config.namespace}/${config.podName}`, err2);
      }
    }
    this.sandboxes.set(id, { podUid: config.podUid, podName: config.podName, namespace: config.namespace });
    return id;
  }

  async startPodSandbox(id: string): Promise<PodSandbox> {
    const known = this.sandboxes.get(id);
    const what = known ? `pod ${known.namespace}/${known.podName}` : id;
    try {
      await this.docker.getContainer(id).start();
      const info = await this.docker.getContainer(id).inspect();
      const ip = info.NetworkSettings.Networks?.[this.network]?.IPAddress ?? '';
      return { id, ip };
    } catch (err) {
      // Containers created in the sandbox meanwhile go with it (their namespaces are its).
      try {
        await this.removePodSandbox(id);
      } catch {
        // Best effort cleanup of a half-created sandbox; the original error is what matters.
      }
      throw wrap(`starting sandbox for ${what}`, err);
    }
  }

  /** App containers that joined `sandboxId` (any state). */
  private async sandboxMembers(sandboxId: string): Promise<ListedContainer[]> {
    const all = await this.listRaw({ all: true });
    const full = await this.resolveId(sandboxId);
    return all.filter((c) => c.HostConfig?.NetworkMode === `container:${full}`);
  }

  private async resolveId(id: string): Promise<string> {
    try {
      return (await this.docker.getContainer(id).inspect()).Id;
    } catch (err) {
      if (isNoSuchContainer(err)) return id;
      throw wrap(`inspecting ${id}`, err);
    }
  }

  async stopPodSandbox(id: string): Promise<void> {
    for (const c of await this.sandboxMembers(id)) {
      if (c.State === 'running' || c.State === 'restarting' || c.State === 'paused') await this.stopContainer(c.Id, 0);
    }
    await this.stopContainer(id, this.sandboxStopTimeout);
  }

  async removePodSandbox(id: string): Promise<void> {
    for (const c of await this.sandboxMembers(id)) await this.removeContainer(c.Id);
    await this.removeContainer(id);
  }

  async createContainer(sandboxId: string, config: ContainerConfig): Promise<string> {
    let sandbox: { Id: string; podUid: string; podName: string; namespace: string };
    const known = this.sandboxes.get(sandboxId);
    if (known) sandbox = { Id: sandboxId, ...known };
    else {
      try {
        const info = await this.docker.getContainer(sandboxId).inspect();
        const sl = info.Config.Labels ?? {};
        sandbox = { Id: info.Id, podUid: sl[LABELS.podUid] ?? '', podName: sl[LABELS.podName] ?? '', namespace: sl[LABELS.podNamespace] ?? '' };
      } catch (err) {
        throw wrap(`inspecting sandbox ${sandboxId}`, err, sandboxId);
      }
    }
    const { podUid, podName, namespace } = sandbox;
    const restartCount = config.restartCount ?? 0;
    const name = runtimeContainerName(this.profile, this.node, namespace, podName, podUid, config.name, restartCount);
    const labels = {
      ...(config.labels ?? {}),
      ...this.baseLabels(podUid, podName, namespace),
      [LABELS.containerName]: config.name,
      [LABELS.restartCount]: String(restartCount),
      [LABELS.sandbox]: 'false',
    };
    let user: string | undefined;
    if (config.runAsUser !== undefined) {
      user = config.runAsGroup !== undefined ? `${config.runAsUser}:${config.runAsGroup}` : String(config.runAsUser);
    }
    const r = config.resources ?? {};
    const tmpfs: Record<string, string> = {};
    for (const t of config.tmpfs ?? []) tmpfs[t.containerPath] = t.sizeBytes ? `size=${t.sizeBytes}` : '';
    const hostConfig: Docker.HostConfig = {
      NetworkMode: `container:${sandbox.Id}`,
      IpcMode: `container:${sandbox.Id}`,
      Mounts: (config.mounts ?? []).map((m) => ({
        Type: 'bind' as const,
        Source: m.hostPath,
        Target: m.containerPath,
        ReadOnly: !!m.readOnly,
      })),
      Tmpfs: tmpfs,
      ReadonlyRootfs: !!config.readOnlyRootFilesystem,
      CapAdd: config.capabilities?.add,
      CapDrop: config.capabilities?.drop,
      Privileged: !!config.privileged,
      GroupAdd: config.supplementalGroups?.map(String),
      RestartPolicy: { Name: 'no' },
    };
    if (r.cpuLimitMillis) hostConfig.NanoCpus = Math.round(r.cpuLimitMillis * 1e6);
    if (r.cpuRequestMillis) hostConfig.CpuShares = Math.max(2, Math.round((r.cpuRequestMillis * 1024) / 1000));
    if (r.memoryLimitBytes) {
      hostConfig.Memory = r.memoryLimitBytes;
      hostConfig.MemorySwap = r.memoryLimitBytes; // no swap: exceeding the limit OOM-kills, as in Kubernetes
    }
    try {
      const c = await this.docker.createContainer({
        name,
        Image: config.image,
        // Kubernetes semantics: command replaces ENTRYPOINT (Docker then ignores the image CMD),
        // args replace CMD; neither given keeps the image's.
        Entrypoint: config.command && config.command.length ? config.command : undefined,
        Cmd: config.args && config.args.length ? config.args : undefined,
        Env: (config.env ?? []).map((e) => `${e.name}=${e.value}`),
        WorkingDir: config.workingDir,
        User: user,
        Labels: labels,
        Tty: !!config.tty,
        OpenStdin: !!config.stdin,
        StdinOnce: !!config.stdinOnce,
        AttachStdin: false,
        AttachStdout: false,
        AttachStderr: false,
        HostConfig: hostConfig,
      });
      return c.id;
    } catch (err) {
      // A sandbox removed behind our back: IpcMode container:<id> names a container that is gone.
      if (known && isNoSuchContainer(err)) this.sandboxes.delete(sandboxId);
      throw wrap(`creating container ${config.name} of pod ${namespace}/${podName}`, err, known && isNoSuchContainer(err) ? sandboxId : undefined);
    }
  }

  async startContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (err) {
      if (statusOf(err) === 304) return; // already running
      throw wrap(`starting container ${id}`, err, id);
    }
  }

  async stopContainer(id: string, gracePeriodSeconds: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: Math.max(0, Math.ceil(gracePeriodSeconds)) });
    } catch (err) {
      const code = statusOf(err);
      if (code === 304 || isNoSuchContainer(err)) return; // already stopped / gone
      throw wrap(`stopping container ${id}`, err);
    }
  }

  async removeContainer(id: string): Promise<void> {
    this.sandboxes.delete(id);
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (err) {
      if (isNoSuchContainer(err)) return;
      if (statusOf(err) === 409 && /already in progress/i.test(dockerMessage(err))) return;
      throw wrap(`removing container ${id}`, err);
    }
  }

  private async listRaw(filter: ListFilter): Promise<ListedContainer[]> {
    const label = [`${LABELS.profile}=${this.profile}`, `${LABELS.node}=${this.node}`];
    if (filter.podUid) label.push(`${LABELS.podUid}=${filter.podUid}`);
    try {
      return (await this.docker.listContainers({ all: !!filter.all, filters: { label } })) as ListedContainer[];
    } catch (err) {
      throw wrap('listing containers', err);
    }
  }

  async listContainers(filter: ListFilter = {}): Promise<ContainerInfo[]> {
    const raw = await this.listRaw(filter);
    return raw.map((c) => {
      const l = c.Labels ?? {};
      const sandbox = l[LABELS.sandbox] === 'true';
      const mode = c.HostConfig?.NetworkMode ?? '';
      const info: ContainerInfo = {
        id: c.Id,
        runtimeName: (c.Names?.[0] ?? '').replace(/^\//, ''),
        podUid: l[LABELS.podUid] ?? '',
        podName: l[LABELS.podName] ?? '',
        namespace: l[LABELS.podNamespace] ?? '',
        containerName: l[LABELS.containerName] ?? '',
        restartCount: Number(l[LABELS.restartCount] ?? 0) || 0,
        sandbox,
        state: mapState(c.State),
        image: c.Image,
        imageRef: c.ImageID,
        createdAt: c.Created * 1000,
        labels: l,
      };
      if (!sandbox && mode.startsWith('container:')) info.sandboxId = mode.slice('container:'.length);
      if (sandbox) {
        const ip = c.NetworkSettings?.Networks?.[this.network]?.IPAddress;
        if (ip) info.ip = ip;
      }
      return info;
    });
  }

  async containerStatus(id: string): Promise<ContainerStatus> {
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(id).inspect();
    } catch (err) {
      throw wrap(`inspecting container ${id}`, err, id);
    }
    const st = info.State;
    const state = mapState(st.Status);
    const status: ContainerStatus = {
      id: info.Id,
      state,
      createdAt: parseDockerTime(info.Created),
      startedAt: parseDockerTime(st.StartedAt),
      finishedAt: parseDockerTime(st.FinishedAt),
      image: info.Config.Image,
      imageRef: info.Image,
    };
    // Docker stamps StartedAt after the start call returns, so a process that exits within
    // milliseconds can look finished before it started; never report that.
    if (status.startedAt !== undefined && status.finishedAt !== undefined && status.finishedAt < status.startedAt) {
      status.finishedAt = status.startedAt;
    }
    if (state === 'exited') {
      status.exitCode = st.ExitCode;
      status.reason = exitReason(st.ExitCode, st.OOMKilled);
    }
    if (st.Error) status.message = st.Error;
    return status;
  }

  async logs(id: string, options: LogOptions = {}): Promise<Readable> {
    const container = this.docker.getContainer(id);
    let tty: boolean;
    try {
      tty = !!(await container.inspect()).Config.Tty;
    } catch (err) {
      throw wrap(`inspecting container ${id}`, err, id);
    }
    const opts: Record<string, unknown> = {
      stdout: true,
      stderr: true,
      follow: !!options.follow,
      timestamps: !!options.timestamps,
    };
    if (options.tail !== undefined) opts.tail = options.tail;
    if (options.since !== undefined) opts.since = (options.since / 1000).toFixed(3);
    let raw: Readable | Buffer;
    try {
      raw = (await container.logs(opts as { follow: false })) as unknown as Readable | Buffer;
    } catch (err) {
      throw wrap(`reading logs of ${id}`, err, id);
    }
    const src = Buffer.isBuffer(raw) ? Readable.from([raw]) : raw;
    if (tty) return src;
    // stdout and stderr interleave in arrival order into one stream.
    const merged = new PassThrough();
    demux(src, merged, merged);
    merged.on('close', () => {
      if (!src.destroyed) src.destroy();
    });
    return merged;
  }

  async exec(id: string, cmd: string[], options: ExecOptions = {}): Promise<ExecSession> {
    const tty = !!options.tty;
    const wantStdin = !!options.stdin;
    let execObj: Docker.Exec;
    try {
      execObj = await this.docker.getContainer(id).exec({
        Cmd: cmd,
        AttachStdin: wantStdin,
        AttachStdout: true,
        AttachStderr: true,
        Tty: tty,
      });
    } catch (err) {
      throw wrap(`exec in ${id}`, err, id);
    }
    let sock: Duplex;
    try {
      sock = (await execObj.start({ hijack: true, stdin: wantStdin, Tty: tty })) as Duplex;
    } catch (err) {
      throw wrap(`starting exec in ${id}`, err, id);
    }
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    if (tty) {
      // No backpressure towards the engine: output nobody reads is buffered, so exitCode
      // never waits on the caller draining stdout.
      sock.on('data', (d: Buffer) => stdout.write(d));
      const end = (): void => {
        if (!stdout.writableEnded) stdout.end();
      };
      sock.on('end', end);
      sock.on('close', end);
      stderr.end();
    } else {
      demux(sock, stdout, stderr);
    }
    const ended = new Promise<void>((resolve) => {
      sock.on('end', resolve);
      sock.on('close', resolve);
      sock.on('error', () => resolve());
    });
    const exitCode = ended.then(async () => {
      // The engine may report Running for a moment after the stream closes.
      for (let i = 0; i < 100; i++) {
        let st: Docker.ExecInspectInfo;
        try {
          st = await execObj.inspect();
        } catch (err) {
          throw wrap(`inspecting exec in ${id}`, err);
        }
        if (!st.Running) return st.ExitCode ?? -1;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new RuntimeError(`exec in ${id}: process still running after its streams closed`);
    });
    exitCode.catch(() => undefined);
    let stdin: Writable | undefined;
    if (wantStdin) {
      const input = new PassThrough();
      input.on('data', (d: Buffer) => {
        if (sock.writable) sock.write(d);
      });
      input.on('end', () => {
        // Half-close: the engine then closes the process's stdin.
        if (sock.writable) sock.end();
      });
      stdin = input;
    }
    return {
      stdin,
      stdout,
      stderr,
      resize: async (width: number, height: number) => {
        if (!tty) return;
        try {
          await execObj.resize({ w: width, h: height });
        } catch (err) {
          // Resizing races with the process exiting; after exit it is a no-op.
          const running = await execObj.inspect().then((s) => s.Running, () => false);
          if (running) throw wrap(`resizing exec in ${id}`, err);
        }
      },
      exitCode,
    };
  }

  async attach(id: string, options: AttachOptions = {}): Promise<AttachSession> {
    const container = this.docker.getContainer(id);
    let info: Docker.ContainerInspectInfo;
    try {
      info = await container.inspect();
    } catch (err) {
      throw wrap(`inspecting container ${id}`, err, id);
    }
    if (!info.State.Running) throw new RuntimeError(`attaching to ${id}: container is not running`, 'container is not running');
    const tty = !!info.Config.Tty;
    const wantStdin = !!options.stdin && !!info.Config.OpenStdin;
    let sock: Duplex;
    try {
      // Without stdin the plain response stream is enough; with it the connection is hijacked.
      sock = (await container.attach({ stream: true, stdin: wantStdin, stdout: true, stderr: true, hijack: wantStdin })) as unknown as Duplex;
    } catch (err) {
      throw wrap(`attaching to ${id}`, err, id);
    }
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    if (tty) {
      sock.on('data', (d: Buffer) => stdout.write(d));
      const end = (): void => {
        if (!stdout.writableEnded) stdout.end();
      };
      sock.on('end', end);
      sock.on('close', end);
      stderr.end();
    } else {
      demux(sock, stdout, stderr);
    }
    const done = new Promise<void>((resolve) => {
      sock.on('end', () => resolve());
      sock.on('close', () => resolve());
      sock.on('error', () => resolve());
    });
    let stdin: Writable | undefined;
    if (wantStdin) {
      const input = new PassThrough();
      input.on('data', (d: Buffer) => {
        if (sock.writable) sock.write(d);
      });
      input.on('end', () => {
        // stdinOnce: half-close, the engine then closes the container's stdin (the process sees
        // EOF) and output keeps flowing. Otherwise Docker would end the whole attach on our EOF,
        // losing the output still to come: keep the connection and just stop writing.
        if (info.Config.StdinOnce && sock.writable) sock.end();
      });
      stdin = input;
    }
    return {
      stdin,
      stdout,
      stderr,
      tty,
      resize: async (width: number, height: number) => {
        if (!tty) return;
        try {
          await container.resize({ w: width, h: height });
        } catch (err) {
          const running = await container.inspect().then((s) => s.State.Running, () => false);
          if (running) throw wrap(`resizing ${id}`, err);
        }
      },
      done,
      close: () => {
        if (!sock.destroyed) sock.destroy();
      },
    };
  }

  async stats(id: string): Promise<ContainerStats> {
    type Raw = {
      cpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number; online_cpus?: number };
      precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
      memory_stats?: { usage?: number; stats?: Record<string, number> };
      read?: string;
      preread?: string;
    };
    let s: Raw;
    try {
      s = (await this.docker.getContainer(id).stats({ stream: false })) as unknown as Raw;
    } catch (err) {
      throw wrap(`stats of ${id}`, err, id);
    }
    const cpu = s.cpu_stats?.cpu_usage?.total_usage ?? 0;
    const preCpu = s.precpu_stats?.cpu_usage?.total_usage ?? 0;
    const read = parseDockerTime(s.read);
    const preread = parseDockerTime(s.preread);
    let cpuNanoCores = 0;
    if (preCpu && read !== undefined && preread !== undefined && read > preread) {
      // CPU nanoseconds used per wall nanosecond, ×1e9 = nanocores.
      cpuNanoCores = Math.max(0, Math.round(((cpu - preCpu) / ((read - preread) * 1e6)) * 1e9));
    }
    const mem = s.memory_stats ?? {};
    const inactive = mem.stats?.total_inactive_file ?? mem.stats?.inactive_file ?? 0;
    const memoryBytes = Math.max(0, (mem.usage ?? 0) - inactive);
    return { cpuNanoCores, memoryBytes };
  }
}
