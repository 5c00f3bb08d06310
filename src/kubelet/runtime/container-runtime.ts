/**
 * ContainerRuntime: the kubelet's view of a container engine, in CRI vocabulary.
 *
 * One runtime instance serves one node of one profile: everything it creates carries the
 * labels below, and `listContainers` only ever returns containers of that profile and node.
 * A pod is a *sandbox* (a pause container that owns the pod's network namespace, IP,
 * hostname and DNS config) plus app containers that join the sandbox's namespace.
 *
 * Contracts shared by every implementation (docker, fake):
 * - Every method rejects with a `RuntimeError` (or a subclass below) carrying the engine's
 *   own message; no other error type escapes.
 * - `stop*` and `remove*` are idempotent: an id that no longer exists, or a container that is
 *   already stopped, is success.  Other methods given an unknown id reject with
 *   `ContainerNotFoundError`.
 * - Methods may be called concurrently for different containers. For one container the
 *   caller (the kubelet's pod worker) serialises calls; implementations do not lock.
 * - Times are milliseconds since the Unix epoch.
 */
import type { Readable, Writable } from 'node:stream';
import { RuntimeError } from '../../util/errors';

/** Docker labels written on every container; a restarted daemon adopts containers by these. */
export const LABELS = {
  profile: 'io.minictl.profile',
  node: 'io.minictl.node',
  podUid: 'io.minictl.pod.uid',
  podName: 'io.minictl.pod.name',
  podNamespace: 'io.minictl.pod.namespace',
  containerName: 'io.minictl.container.name',
  restartCount: 'io.minictl.restart-count',
  sandbox: 'io.minictl.sandbox',
} as const;

/** The container name recorded on sandbox containers (as the kubelet's `POD`). */
export const SANDBOX_CONTAINER_NAME = 'POD';

export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

/** Registry credentials for one pull (the fields of a docker config `auths` entry). */
export interface RegistryAuth {
  username?: string;
  password?: string;
  /** e.g. `registry.example.com:5000` */
  serveraddress?: string;
  identitytoken?: string;
}

export interface PullResult {
  /** The engine's immutable image id, e.g. `sha256:…` (the pod status `imageID`). */
  imageRef: string;
  /** True when this call downloaded the image; false when it was already present. */
  pulled: boolean;
}

export interface PortMapping {
  containerPort: number;
  hostPort: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  /** Host address to bind; default `127.0.0.1`. */
  hostIP?: string;
}

export interface DnsConfig {
  servers?: string[];
  searches?: string[];
  /** resolv.conf options, e.g. `ndots:5`. */
  options?: string[];
}

export interface PodSandboxConfig {
  podUid: string;
  podName: string;
  namespace: string;
  /** Sandbox generation for this pod (0 for the first); part of the name and labels. */
  attempt?: number;
  /** Default: the pod name, truncated to 63 characters. */
  hostname?: string;
  dns?: DnsConfig;
  portMappings?: PortMapping[];
  /** Extra labels; the runtime's own labels (`LABELS`) win on a clash. */
  labels?: Record<string, string>;
}

export interface PodSandbox {
  id: string;
  /** The pod IP on the node's network. */
  ip: string;
}

export interface KeyValue {
  name: string;
  value: string;
}

export interface Mount {
  /** Absolute host path, bind-mounted; it must exist (the kubelet prepares volume dirs). */
  hostPath: string;
  containerPath: string;
  readOnly?: boolean;
}

export interface TmpfsMount {
  containerPath: string;
  sizeBytes?: number;
}

export interface ContainerConfig {
  /** The Kubernetes container name (DNS label). */
  name: string;
  image: string;
  /** Kubernetes `command`: replaces the image ENTRYPOINT (and drops its CMD). */
  command?: string[];
  /** Kubernetes `args`: replaces the image CMD. */
  args?: string[];
  env?: KeyValue[];
  workingDir?: string;
  mounts?: Mount[];
  tmpfs?: TmpfsMount[];
  /** Numeric uid; `runAsGroup` is only honoured together with `runAsUser`. */
  runAsUser?: number;
  runAsGroup?: number;
  supplementalGroups?: number[];
  readOnlyRootFilesystem?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  privileged?: boolean;
  resources?: {
    /** CPU limit in millicores (→ NanoCpus). */
    cpuLimitMillis?: number;
    /** CPU request in millicores (→ CPU shares). */
    cpuRequestMillis?: number;
    memoryLimitBytes?: number;
  };
  /** How many times this container has been restarted in the pod (0 first). */
  restartCount?: number;
  labels?: Record<string, string>;
  stdin?: boolean;
  stdinOnce?: boolean;
  tty?: boolean;
}

export type ContainerState = 'created' | 'running' | 'exited' | 'unknown';

export interface ContainerInfo {
  id: string;
  /** Engine-side name (unique per engine). */
  runtimeName: string;
  podUid: string;
  podName: string;
  namespace: string;
  /** Kubernetes container name; `POD` for sandboxes. */
  containerName: string;
  restartCount: number;
  sandbox: boolean;
  /** For app containers: the sandbox whose namespaces it joined. */
  sandboxId?: string;
  /** For sandboxes: the pod IP, when connected. */
  ip?: string;
  state: ContainerState;
  image: string;
  imageRef: string;
  createdAt: number;
  labels: Record<string, string>;
}

export interface ContainerStatus {
  id: string;
  state: ContainerState;
  exitCode?: number;
  /** Set once exited: `OOMKilled`, `Error` (non-zero exit) or `Completed` (zero exit). */
  reason?: 'OOMKilled' | 'Error' | 'Completed';
  message?: string;
  createdAt?: number;
  startedAt?: number;
  finishedAt?: number;
  image: string;
  imageRef: string;
}

export interface LogOptions {
  /** Keep the stream open and emit new output until the container stops. */
  follow?: boolean;
  /** Only the last N lines. */
  tail?: number;
  /** Only output after this time (ms since epoch). */
  since?: number;
  /** Prefix every line with an RFC3339Nano timestamp and a space. */
  timestamps?: boolean;
}

export interface ExecOptions {
  stdin?: boolean;
  tty?: boolean;
}

export interface ExecSession {
  /** Present when `stdin` was requested; ending it closes the process's stdin. */
  stdin?: Writable;
  stdout: Readable;
  /** With `tty`, everything arrives on stdout and this stream is empty. */
  stderr: Readable;
  /** Resize the tty (no-op without one, or once the process has exited). */
  resize(width: number, height: number): Promise<void>;
  /**
   * Resolves with the exit code once the process has exited; by then all of its output has
   * been written to `stdout`/`stderr` (which end independently, when read).
   */
  exitCode: Promise<number>;
}

export interface AttachOptions {
  /**
   * Forward input to the main process's stdin (effective only when the container was created
   * with `stdin`).
   */
  stdin?: boolean;
}

/** A connection to a running container's main process stdio (`kubectl attach`). */
export interface AttachSession {
  /**
   * Present when `stdin` was requested. Ending it closes the container's stdin only when the
   * container has `stdinOnce` (the process then sees EOF); otherwise stdin stays open for later
   * attaches and the session continues until the container exits or `close()`.
   */
  stdin?: Writable;
  /** Output from the moment of attaching on (no history); raw tty output when the container has a tty. */
  stdout: Readable;
  /** Empty when the container has a tty. */
  stderr: Readable;
  /** True when the container was created with a tty. */
  tty: boolean;
  /** Resize the container's tty (no-op without one, or once it has exited). */
  resize(width: number, height: number): Promise<void>;
  /**
   * Resolves once the container has exited or `close()` was called; by then `stdout` and
   * `stderr` have ended. Never rejects.
   */
  done: Promise<void>;
  /** Detach without affecting the container; idempotent. */
  close(): void;
}

export interface ContainerStats {
  /** CPU usage averaged over the engine's last sampling interval. */
  cpuNanoCores: number;
  /** Working set: usage minus inactive file cache. */
  memoryBytes: number;
}

export interface ListFilter {
  podUid?: string;
  /** Include stopped containers (default: running only). */
  all?: boolean;
}

export interface RuntimeVersion {
  /** e.g. `docker` */
  runtimeName: string;
  /** e.g. `20.10.24` — node status reports `<runtimeName>://<runtimeVersion>`. */
  runtimeVersion: string;
}

export interface ContainerRuntime {
  /** Engine name and version for the node status. */
  version(): Promise<RuntimeVersion>;

  /**
   * Make `image` present according to `policy`. `Never` with the image absent rejects with
   * `ImageNeverPullError`; a failed pull rejects with `ImagePullError` carrying the engine's
   * message. Concurrent pulls of one image share one download.
   */
  pullImage(image: string, policy: PullPolicy, auth?: RegistryAuth): Promise<PullResult>;

  /** Create and start the pod's sandbox on the node network. */
  runPodSandbox(config: PodSandboxConfig): Promise<PodSandbox>;
  /**
   * The two halves of `runPodSandbox`, so that a caller can create the pod's containers while
   * the sandbox starts (optional; a runtime without them is driven through `runPodSandbox`).
   * `createPodSandbox` creates the sandbox without starting it and returns its id; app
   * containers may be created in it at once (`createContainer`) but only started after
   * `startPodSandbox` resolved. `startPodSandbox` starts it and answers its IP; when that fails
   * it removes the sandbox together with every container created in it, then rejects.
   */
  createPodSandbox?(config: PodSandboxConfig): Promise<string>;
  startPodSandbox?(id: string): Promise<PodSandbox>;
  /** Stop the sandbox and force-stop any app container still running in it. */
  stopPodSandbox(id: string): Promise<void>;
  /** Remove the sandbox and every container that joined it. */
  removePodSandbox(id: string): Promise<void>;

  /** Create (not start) an app container inside a sandbox; returns its id. */
  createContainer(sandboxId: string, config: ContainerConfig): Promise<string>;
  /**
   * Start a created container; already running is success. Starting an exited container
   * is outside the contract (the kubelet creates a new container per restart): Docker
   * would rerun it, the fake rejects to expose the mistake.
   */
  startContainer(id: string): Promise<void>;
  /**
   * Send SIGTERM (the image's stop signal), then SIGKILL after `gracePeriodSeconds`;
   * resolves once the container has exited.
   */
  stopContainer(id: string, gracePeriodSeconds: number): Promise<void>;
  /** Remove a container (force: a running one is killed). */
  removeContainer(id: string): Promise<void>;

  /** Containers (sandboxes included) of this runtime's profile and node. */
  listContainers(filter?: ListFilter): Promise<ContainerInfo[]>;
  containerStatus(id: string): Promise<ContainerStatus>;

  /** Combined stdout+stderr, demultiplexed. Destroying the stream releases the engine. */
  logs(id: string, options?: LogOptions): Promise<Readable>;
  exec(id: string, cmd: string[], options?: ExecOptions): Promise<ExecSession>;
  /**
   * Attach to a running container's main process (as `docker attach`). Rejects with
   * `ContainerNotFoundError` for an unknown id and a `RuntimeError` when it is not running.
   * Optional so that partial test doubles need not implement it; docker and fake do.
   */
  attach?(id: string, options?: AttachOptions): Promise<AttachSession>;
  /** Current usage; Docker takes about a second to answer (it samples CPU twice). */
  stats(id: string): Promise<ContainerStats>;
}

/** The image is absent and the pull policy is `Never` (kubelet reason `ErrImageNeverPull`). */
export class ImageNeverPullError extends RuntimeError {
  readonly reason = 'ErrImageNeverPull';
  constructor(readonly image: string) {
    super(`Container image "${image}" is not present with pull policy of Never`);
    this.name = 'ImageNeverPullError';
  }
}

/** Pulling failed (kubelet reason `ErrImagePull`); `output` is the engine's message. */
export class ImagePullError extends RuntimeError {
  readonly reason = 'ErrImagePull';
  constructor(readonly image: string, output: string) {
    super(`failed to pull image "${image}": ${output}`, output);
    this.name = 'ImagePullError';
  }
}

/** The container or sandbox id is unknown to the engine. */
export class ContainerNotFoundError extends RuntimeError {
  constructor(readonly id: string, output?: string) {
    super(`container "${id}" not found`, output);
    this.name = 'ContainerNotFoundError';
  }
}

/**
 * Engine-side container name: `minictl-<profile>-<node>_<ns>_<pod>_<container>_<uid8>_<restart>`.
 * Unique per (pod uid, container, restart); the uid prefix keeps a recreated pod of the same
 * name from clashing with its predecessor's leftovers.
 */
export function runtimeContainerName(
  profile: string,
  node: string,
  namespace: string,
  podName: string,
  podUid: string,
  containerName: string,
  restartCount: number,
): string {
  const uid8 = podUid.replace(/[^a-zA-Z0-9]/g, '').slice(0, 8) || 'nouid';
  return `minictl-${profile}-${node}_${namespace}_${podName}_${containerName}_${uid8}_${restartCount}`;
}

/**
 * Normalise an image reference the way the engine resolves it: a missing tag means
 * `:latest`; digests and explicit tags are kept. `localhost:5000/app` → `localhost:5000/app:latest`.
 */
export function normalizeImage(image: string): string {
  if (image.includes('@')) return image;
  const lastSlash = image.lastIndexOf('/');
  const lastPart = image.slice(lastSlash + 1);
  return lastPart.includes(':') ? image : `${image}:latest`;
}

/** The reason a container exited with, per Kubernetes' conventions. */
export function exitReason(exitCode: number, oomKilled: boolean): 'OOMKilled' | 'Error' | 'Completed' {
  if (oomKilled) return 'OOMKilled';
  return exitCode === 0 ? 'Completed' : 'Error';
}
