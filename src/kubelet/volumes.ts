/**
 * Pod volumes on the host, bind-mounted into containers.
 *
 * Layout (as the kubelet's): `<dataDir>/pods/<podUID>/volumes/<plugin>/<volume>` with plugin
 * directories `kubernetes.io~empty-dir`, `~configmap`, `~secret`, `~downward-api`,
 * `~projected`; plus `<dataDir>/pods/<podUID>/etc-hosts` (the pod's managed /etc/hosts),
 * `containers/<name>/<restartCount>` (termination-message files) and `.node` (the node that
 * owns the directory, so kubelets sharing a data dir never clean up each other's pods).
 *
 * Supported sources:
 * - emptyDir: a 0777 directory. `medium: Memory` is a tmpfs: a per-container tmpfs mount
 *   when one container mounts it, else a directory under /dev/shm (shared and memory-backed)
 *   when the host has one, else a plain directory.
 * - configMap, secret, downwardAPI, projected (configMap, secret, downwardAPI,
 *   serviceAccountToken as a placeholder token): written with the kubelet's atomic writer
 *   (`..<timestamp>` directory, `..data` symlink swapped atomically, user-visible symlinks
 *   `<key> → ..data/<key>`), so containers see updates in place; honouring items, mode,
 *   defaultMode and optional. Always mounted read-only. Rewritten only when content changes.
 * - hostPath with its `type` checks (DirectoryOrCreate, Directory, FileOrCreate, File,
 *   Socket, CharDevice, BlockDevice).
 * - persistentVolumeClaim and generic ephemeral volumes: the claim must be bound
 *   (spec.volumeName); the host directory is `pvDir(pv)`, else the PV's hostPath/local path,
 *   else `<dataDir>/volumes/<pv>` (created when missing).
 * Anything else, or a missing non-optional source, fails the pod's volume setup with a
 * `VolumeError` (the kubelet's FailedMount event); the pod waits in ContainerCreating.
 *
 * All file operations are synchronous (small files; keeps pod workers deterministic).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { KObject } from '../api/types';
import { tryParseQuantity } from '../api/quantity';
import type { KeyValue, Mount, TmpfsMount } from './runtime/container-runtime';
import { ContainerConfigError, expand, mappingFuncFor, podFieldValue, resourceFieldValue, type PodFieldContext } from './env';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export const PLUGIN_DIRS = {
  emptyDir: 'kubernetes.io~empty-dir',
  configMap: 'kubernetes.io~configmap',
  secret: 'kubernetes.io~secret',
  downwardAPI: 'kubernetes.io~downward-api',
  projected: 'kubernetes.io~projected',
} as const;

/** A volume could not be set up (reported as `MountVolume.SetUp failed for volume "<name>" : <message>`). */
export class VolumeError extends Error {
  constructor(
    readonly volume: string,
    message: string,
  ) {
    super(message);
    this.name = 'VolumeError';
  }
}

export interface PreparedVolume {
  name: string;
  /** Host path to bind-mount (absent for a per-container tmpfs). */
  hostPath?: string;
  /** Mounted read-only whatever the volumeMount says. */
  readOnly: boolean;
  /** Per-container tmpfs (emptyDir medium Memory mounted by one container). */
  tmpfs?: { sizeBytes?: number };
  /** Writable volume: missing subPath directories are created. */
  writable: boolean;
}

export interface VolumeSources {
  configMap(namespace: string, name: string): KObject | undefined;
  secret(namespace: string, name: string): KObject | undefined;
  pvc(namespace: string, name: string): KObject | undefined;
  pv(name: string): KObject | undefined;
}

export interface VolumeManagerOptions {
  dataDir: string;
  nodeName: string;
  sources: VolumeSources;
  pvDir?: (pvName: string) => string | undefined;
  /** Where shared memory-backed emptyDirs go; default /dev/shm when it exists. */
  shmDir?: string | null;
}

export interface FileEntry {
  data: Buffer;
  mode: number;
}
export type Payload = Map<string, FileEntry>;

function validateRelPath(p: string, what: string): void {
  if (!p || path.isAbsolute(p) || p.split('/').some((s) => s === '..')) {
    throw new Error(`invalid path ${JSON.stringify(p)} in ${what}: must be relative and may not contain '..'`);
  }
}

function timestampDirName(): string {
  const d = new Date();
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `..${d.getUTCFullYear()}_${pad(d.getUTCMonth() + 1)}_${pad(d.getUTCDate())}_${pad(d.getUTCHours())}_${pad(d.getUTCMinutes())}_${pad(d.getUTCSeconds())}.${randomBytes(5).readUInt32BE(0)}`;
}

function payloadDigest(p: Payload): string {
  const parts = [...p.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}\0${v.mode}\0${v.data.toString('base64')}`);
  return parts.join('\n');
}

/**
 * The kubelet's atomic writer: make `dir` hold exactly `payload` in one atomic step (rename
 * of the `..data` symlink). Returns false when the content was already current.
 */
export function writeAtomic(dir: string, payload: Payload, digestCache?: Map<string, string>): boolean {
  const digest = payloadDigest(payload);
  const dataLink = path.join(dir, '..data');
  if (digestCache?.get(dir) === digest && fs.existsSync(dataLink)) return false;
  fs.mkdirSync(dir, { recursive: true });
  let oldTs: string | undefined;
  try {
    oldTs = fs.readlinkSync(dataLink);
  } catch {
    oldTs = undefined;
  }
  const ts = timestampDirName();
  const tsDir = path.join(dir, ts);
  fs.mkdirSync(tsDir, { mode: 0o755 });
  fs.chmodSync(tsDir, 0o755);
  for (const [rel, f] of payload) {
    const target = path.join(tsDir, rel);
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
    fs.writeFileSync(target, f.data);
    fs.chmodSync(target, f.mode & 0o7777);
  }
  const tmpLink = path.join(dir, '..data_tmp');
  fs.rmSync(tmpLink, { force: true });
  fs.symlinkSync(ts, tmpLink);
  fs.renameSync(tmpLink, dataLink);
  const top = new Set([...payload.keys()].map((k) => k.split('/')[0]));
  for (const name of top) {
    const link = path.join(dir, name);
    let ok = false;
    try {
      ok = fs.readlinkSync(link) === path.join('..data', name);
    } catch {
      ok = false;
    }
    if (!ok) {
      fs.rmSync(link, { recursive: true, force: true });
      fs.symlinkSync(path.join('..data', name), link);
    }
  }
  for (const entry of fs.readdirSync(dir)) {
    if (entry === '..data' || entry === ts) continue;
    if (entry.startsWith('..') || !top.has(entry)) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
  }
  if (oldTs && oldTs !== ts) fs.rmSync(path.join(dir, oldTs), { recursive: true, force: true });
  digestCache?.set(dir, digest);
  return true;
}

function modeOf(item: Json, defaultMode: number | undefined): number {
  const m = item?.mode ?? defaultMode ?? 0o644;
  return typeof m === 'number' ? m : 0o644;
}

/** A placeholder projected service-account token (unsigned, JWT-shaped). */
export function placeholderToken(pod: KObject, audience: string | undefined, expirationSeconds: number, now: number): string {
  const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const iat = Math.floor(now / 1000);
  const ns = pod.metadata.namespace ?? 'default';
  const sa = pod.spec?.serviceAccountName ?? 'default';
  return [
    b64({ alg: 'none', typ: 'JWT' }),
    b64({
      aud: [audience || 'https://kubernetes.default.svc.cluster.local'],
      exp: iat + expirationSeconds,
      iat,
      iss: 'https://kubernetes.default.svc.cluster.local',
      sub: `system:serviceaccount:${ns}:${sa}`,
      'kubernetes.io': { namespace: ns, pod: { name: pod.metadata.name, uid: pod.metadata.uid }, serviceaccount: { name: sa } },
    }),
    'minictl-placeholder-signature',
  ].join('.');
}

export class VolumeManager {
  private readonly digests = new Map<string, string>();
  private readonly shmDir: string | undefined;

  constructor(private readonly opts: VolumeManagerOptions) {
    if (opts.shmDir === null) this.shmDir = undefined;
    else this.shmDir = opts.shmDir ?? (isWritableDir('/dev/shm') ? '/dev/shm' : undefined);
  }

  podDir(uid: string): string {
    return path.join(this.opts.dataDir, 'pods', uid);
  }

  volumeDir(uid: string, plugin: string, name: string): string {
    return path.join(this.podDir(uid), 'volumes', plugin, name);
  }

  private sharedShmDir(uid: string, name: string): string | undefined {
    return this.shmDir ? path.join(this.shmDir, 'minictl-pods', uid, name) : undefined;
  }

  /** Create the pod directory and claim it for this node. */
  ensurePodDir(uid: string): string {
    const dir = this.podDir(uid);
    fs.mkdirSync(dir, { recursive: true, mode: 0o750 });
    const marker = path.join(dir, '.node');
    if (!fs.existsSync(marker)) fs.writeFileSync(marker, this.opts.nodeName);
    return dir;
  }

  /** UIDs of pod directories owned by this node. */
  ownedPodUids(): string[] {
    const root = path.join(this.opts.dataDir, 'pods');
    let entries: string[];
    try {
      entries = fs.readdirSync(root);
    } catch {
      return [];
    }
    return entries.filter((uid) => {
      try {
        return fs.readFileSync(path.join(root, uid, '.node'), 'utf8') === this.opts.nodeName;
      } catch {
        return false;
      }
    });
  }

  /** Remove everything of a pod (its directory and shared memory volumes). */
  cleanup(uid: string): void {
    const dir = this.podDir(uid);
    for (const k of [...this.digests.keys()]) if (k.startsWith(dir + path.sep)) this.digests.delete(k);
    fs.rmSync(dir, { recursive: true, force: true });
    if (this.shmDir) fs.rmSync(path.join(this.shmDir, 'minictl-pods', uid), { recursive: true, force: true });
  }

  /**
   * Set up (or refresh) every volume of the pod. Throws VolumeError for the first volume that
   * cannot be set up.
   */
  setUp(pod: KObject, ctx: PodFieldContext, now: number): Map<string, PreparedVolume> {
    const uid = pod.metadata.uid!;
    this.ensurePodDir(uid);
    const out = new Map<string, PreparedVolume>();
    for (const v of pod.spec?.volumes ?? []) {
      try {
        out.set(v.name, this.setUpVolume(pod, v, ctx, now));
      } catch (e) {
        if (e instanceof VolumeError) throw e;
        throw new VolumeError(v.name, (e as Error).message);
      }
    }
    return out;
  }

  private setUpVolume(pod: KObject, v: Json, ctx: PodFieldContext, now: number): PreparedVolume {
    const uid = pod.metadata.uid!;
    const ns = pod.metadata.namespace ?? 'default';
    const name: string = v.name;
    if (v.emptyDir) {
      if (v.emptyDir.medium === 'Memory') {
        const users = usersOf(pod, name);
        const sizeBytes = tryParseQuantity(v.emptyDir.sizeLimit);
        if (users <= 1) return { name, readOnly: false, writable: true, tmpfs: { sizeBytes } };
        const shm = this.sharedShmDir(uid, name);
        if (shm) {
          mkdir777(shm);
          return { name, hostPath: shm, readOnly: false, writable: true };
        }
      }
      const dir = this.volumeDir(uid, PLUGIN_DIRS.emptyDir, name);
      mkdir777(dir);
      return { name, hostPath: dir, readOnly: false, writable: true };
    }
    if (v.configMap || v.secret || v.downwardAPI || v.projected) {
      let plugin: string;
      let payload: Payload;
      if (v.configMap) {
        plugin = PLUGIN_DIRS.configMap;
        payload = this.configMapPayload(ns, v.configMap, v.configMap.defaultMode);
      } else if (v.secret) {
        plugin = PLUGIN_DIRS.secret;
        payload = this.secretPayload(ns, v.secret, v.secret.defaultMode);
      } else if (v.downwardAPI) {
        plugin = PLUGIN_DIRS.downwardAPI;
        payload = downwardPayload(pod, v.downwardAPI.items ?? [], v.downwardAPI.defaultMode, ctx);
      } else {
        plugin = PLUGIN_DIRS.projected;
        payload = new Map();
        const dm = v.projected.defaultMode;
        for (const src of v.projected.sources ?? []) {
          let part: Payload = new Map();
          if (src.configMap) part = this.configMapPayload(ns, src.configMap, dm);
          else if (src.secret) part = this.secretPayload(ns, src.secret, dm);
          else if (src.downwardAPI) part = downwardPayload(pod, src.downwardAPI.items ?? [], dm, ctx);
          else if (src.serviceAccountToken) {
            const t = src.serviceAccountToken;
            validateRelPath(t.path, `volume ${name}`);
            part.set(t.path, { data: Buffer.from(placeholderToken(pod, t.audience, t.expirationSeconds ?? 3600, now)), mode: dm ?? 0o644 });
          } else if (src.clusterTrustBundle) {
            if (!src.clusterTrustBundle.optional) throw new VolumeError(name, 'clusterTrustBundle projections are not supported');
          }
          for (const [k, f] of part) payload.set(k, f);
        }
      }
      const dir = this.volumeDir(uid, plugin, name);
      writeAtomic(dir, payload, this.digests);
      return { name, hostPath: dir, readOnly: true, writable: false };
    }
    if (v.hostPath) return { name, hostPath: checkHostPath(name, v.hostPath.path, v.hostPath.type ?? ''), readOnly: false, writable: true };
    if (v.persistentVolumeClaim || v.ephemeral) {
      const claim: string = v.persistentVolumeClaim ? v.persistentVolumeClaim.claimName : `${pod.metadata.name}-${name}`;
      const pvc = this.opts.sources.pvc(ns, claim);
      if (!pvc) throw new VolumeError(name, `persistentvolumeclaim "${claim}" not found`);
      if (pvc.metadata.deletionTimestamp && v.ephemeral) throw new VolumeError(name, `persistentvolumeclaim "${claim}" is being deleted`);
      const pvName: string | undefined = pvc.spec?.volumeName;
      if (!pvName) throw new VolumeError(name, `persistentvolumeclaim "${claim}" is not bound to a volume yet`);
      const pv = this.opts.sources.pv(pvName);
      const dir = this.opts.pvDir?.(pvName) ?? pv?.spec?.hostPath?.path ?? pv?.spec?.local?.path ?? path.join(this.opts.dataDir, 'volumes', pvName);
      if (!fs.existsSync(dir)) mkdir777(dir);
      return { name, hostPath: dir, readOnly: !!v.persistentVolumeClaim?.readOnly, writable: true };
    }
    const kind = Object.keys(v).find((k) => k !== 'name') ?? 'unknown';
    throw new VolumeError(name, `volume type "${kind}" is not supported by minictl`);
  }

  private configMapPayload(ns: string, src: Json, defaultMode: number | undefined): Payload {
    const cm = this.opts.sources.configMap(ns, src.name);
    if (!cm) return missingSource(src, `configmap "${src.name}" not found`);
    return keyedPayload(src, defaultMode, [...Object.keys(cm.data ?? {}), ...Object.keys(cm.binaryData ?? {})], (k) => {
      if (typeof cm.data?.[k] === 'string') return Buffer.from(cm.data[k], 'utf8');
      if (typeof cm.binaryData?.[k] === 'string') return Buffer.from(cm.binaryData[k], 'base64');
      return undefined;
    }, (key) => `configmap references non-existent config key: ${key}`, `configmap ${src.name}`);
  }

  private secretPayload(ns: string, src: Json, defaultMode: number | undefined): Payload {
    const secretName: string = src.secretName ?? src.name;
    const s = this.opts.sources.secret(ns, secretName);
    if (!s) return missingSource(src, `secret "${secretName}" not found`);
    return keyedPayload(src, defaultMode, [...new Set([...Object.keys(s.data ?? {}), ...Object.keys(s.stringData ?? {})])], (k) => {
      if (typeof s.data?.[k] === 'string') return Buffer.from(s.data[k], 'base64');
      if (typeof s.stringData?.[k] === 'string') return Buffer.from(s.stringData[k], 'utf8');
      return undefined;
    }, (key) => `references non-existent secret key: ${key}`, `secret ${secretName}`);
  }

  /**
   * The bind and tmpfs mounts of one container. `env` expands subPathExpr. Throws
   * ContainerConfigError for a mount naming an unknown volume or an invalid subPath.
   */
  mountsFor(pod: KObject, container: Json, volumes: Map<string, PreparedVolume>, env: KeyValue[]): { mounts: Mount[]; tmpfs: TmpfsMount[] } {
    const mounts: Mount[] = [];
    const tmpfs: TmpfsMount[] = [];
    const mapping = mappingFuncFor(new Map(env.map((e) => [e.name, e.value] as [string, string])));
    for (const vm of container.volumeMounts ?? []) {
      const vol = volumes.get(vm.name);
      if (!vol) throw new ContainerConfigError(`cannot find volume "${vm.name}" to mount into container "${container.name}"`);
      if (vol.tmpfs) {
        tmpfs.push({ containerPath: vm.mountPath, sizeBytes: vol.tmpfs.sizeBytes });
        continue;
      }
      let sub: string = vm.subPath ?? '';
      if (!sub && vm.subPathExpr) sub = expand(vm.subPathExpr, mapping);
      let hostPath = vol.hostPath!;
      if (sub) {
        if (path.isAbsolute(sub) || sub.split('/').some((s) => s === '..')) {
          throw new ContainerConfigError(`invalid subpath "${sub}" for volume "${vm.name}": must be a relative path without '..'`);
        }
        hostPath = path.join(hostPath, sub);
        if (vol.writable) {
          if (!fs.existsSync(hostPath)) mkdir777(hostPath);
        } else {
          try {
            hostPath = fs.realpathSync(hostPath);
          } catch {
            throw new ContainerConfigError(`failed to prepare subPath for volumeMount "${vm.name}" of container "${container.name}": ${sub} does not exist`);
          }
        }
      }
      mounts.push({ hostPath, containerPath: vm.mountPath, readOnly: !!vm.readOnly || vol.readOnly });
    }
    return { mounts, tmpfs };
  }

  /** Write the pod's managed /etc/hosts; returns its path. */
  writeHostsFile(pod: KObject, podIP: string | undefined): string {
    const file = path.join(this.ensurePodDir(pod.metadata.uid!), 'etc-hosts');
    const content = hostsFileContent(pod, podIP);
    let cur: string | undefined;
    try {
      cur = fs.readFileSync(file, 'utf8');
    } catch {
      cur = undefined;
    }
    // Written in place (never renamed): bind mounts keep pointing at the same inode.
    if (cur !== content) fs.writeFileSync(file, content, { mode: 0o644 });
    return file;
  }

  /** An empty, world-writable termination-message file for one container instance. */
  terminationLogFile(uid: string, containerName: string, restartCount: number): string {
    const dir = path.join(this.podDir(uid), 'containers', containerName);
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    const file = path.join(dir, String(restartCount));
    fs.writeFileSync(file, '');
    fs.chmodSync(file, 0o666);
    return file;
  }

  /** The termination message a container instance left (at most 4096 bytes), or ''. */
  readTerminationLog(uid: string, containerName: string, restartCount: number): string {
    try {
      const buf = fs.readFileSync(path.join(this.podDir(uid), 'containers', containerName, String(restartCount)));
      return buf.subarray(0, 4096).toString('utf8');
    } catch {
      return '';
    }
  }

  /** Remove the termination-message files of instances no longer kept. */
  removeTerminationLog(uid: string, containerName: string, restartCount: number): void {
    fs.rmSync(path.join(this.podDir(uid), 'containers', containerName, String(restartCount)), { force: true });
  }
}

function usersOf(pod: KObject, volume: string): number {
  let n = 0;
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    if ((c.volumeMounts ?? []).some((m: Json) => m.name === volume)) n++;
  }
  return n;
}

function mkdir777(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  try {
    fs.chmodSync(dir, 0o777);
  } catch {
    // Not ours to chmod (e.g. an existing host directory): leave its mode alone.
  }
}

function isWritableDir(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

function downwardPayload(pod: KObject, items: Json[], defaultMode: number | undefined, ctx: PodFieldContext): Payload {
  const out: Payload = new Map();
  for (const it of items) {
    validateRelPath(it.path, 'downwardAPI');
    let value: string;
    if (it.fieldRef) value = podFieldValue(pod, it.fieldRef.fieldPath, ctx);
    else if (it.resourceFieldRef) {
      const r = it.resourceFieldRef;
      value = resourceFieldValue(pod, r.containerName, r.resource, r.divisor, ctx);
    } else continue;
    out.set(it.path, { data: Buffer.from(value, 'utf8'), mode: modeOf(it, defaultMode) });
  }
  return out;
}

/** hostPath `type` checks and creation, as the kubelet's hostPath plugin does them. */
export function checkHostPath(volume: string, p: string, type: string): string {
  const stat = (): fs.Stats | undefined => {
    try {
      return fs.statSync(p);
    } catch {
      return undefined;
    }
  };
  let st = stat();
  switch (type) {
    case '':
      return p;
    case 'DirectoryOrCreate':
      if (!st) {
        fs.mkdirSync(p, { recursive: true, mode: 0o755 });
        st = stat();
      }
      if (!st?.isDirectory()) throw new VolumeError(volume, `hostPath type check failed: ${p} is not a directory`);
      return p;
    case 'Directory':
      if (!st) throw new VolumeError(volume, `hostPath type check failed: ${p} is not a directory`);
      if (!st.isDirectory()) throw new VolumeError(volume, `hostPath type check failed: ${p} is not a directory`);
      return p;
    case 'FileOrCreate':
      if (!st) {
        fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o755 });
        fs.writeFileSync(p, '', { mode: 0o644 });
        st = stat();
      }
      if (!st?.isFile()) throw new VolumeError(volume, `hostPath type check failed: ${p} is not a file`);
      return p;
    case 'File':
      if (!st?.isFile()) throw new VolumeError(volume, `hostPath type check failed: ${p} is not a file`);
      return p;
    case 'Socket':
      if (!st?.isSocket()) throw new VolumeError(volume, `hostPath type check failed: ${p} is not a socket file`);
      return p;
    case 'CharDevice':
      if (!st?.isCharacterDevice()) throw new VolumeError(volume, `hostPath type check failed: ${p} is not a character device`);
      return p;
    case 'BlockDevice':
      if (!st?.isBlockDevice()) throw new VolumeError(volume, `hostPath type check failed: ${p} is not a block device`);
      return p;
    default:
      throw new VolumeError(volume, `hostPath type "${type}" is not supported`);
  }
}

/** The pod's managed /etc/hosts, as the kubelet writes it. */
export function hostsFileContent(pod: KObject, podIP: string | undefined): string {
  const lines = [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
  ];
  const hostname = String(pod.spec?.hostname || pod.metadata.name || '').slice(0, 63);
  if (podIP) {
    const sub = pod.spec?.subdomain;
    if (sub) lines.push(`${podIP}\t${hostname}.${sub}.${pod.metadata.namespace}.svc.cluster.local\t${hostname}`);
    else lines.push(`${podIP}\t${hostname}`);
  }
  const aliases: Json[] = pod.spec?.hostAliases ?? [];
  if (aliases.length) {
    lines.push('', '# Entries added by HostAliases.');
    for (const a of aliases) lines.push(`${a.ip}\t${(a.hostnames ?? []).join('\t')}`);
  }
  return lines.join('\n') + '\n';
}

/** An absent configMap/secret: empty when the volume source is optional, else an error. */
function missingSource(src: Json, message: string): Payload {
  if (src.optional) return new Map();
  throw new Error(message);
}

/**
 * Files of a configMap or secret volume: the listed `items` (missing keys skipped when optional,
 * else an error), or every key. `value` reads one key's bytes.
 */
function keyedPayload(src: Json, defaultMode: number | undefined, keys: string[], value: (k: string) => Buffer | undefined, missingKey: (key: string) => string, what: string): Payload {
  const out: Payload = new Map();
  if (src.items?.length) {
    for (const it of src.items) {
      const data = value(it.key);
      if (!data) {
        if (src.optional) continue;
        throw new Error(missingKey(it.key));
      }
      validateRelPath(it.path, what);
      out.set(it.path, { data, mode: modeOf(it, defaultMode) });
    }
  } else {
    for (const k of keys) out.set(k, { data: value(k)!, mode: modeOf(undefined, defaultMode) });
  }
  return out;
}
