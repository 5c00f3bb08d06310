/**
 * Translation of pod and container specs into runtime configuration: DNS (dnsPolicy +
 * dnsConfig), hostPort mappings, image pull credentials, and the `ContainerConfig` of one
 * container (security context, resources, mounts, env, command/args). Pure functions.
 */
import { createHash } from 'node:crypto';
import { tryParseQuantity } from '../api/quantity';
import type { KObject } from '../api/types';
import type { ContainerConfig, DnsConfig, KeyValue, Mount, PortMapping, RegistryAuth, TmpfsMount } from './runtime/container-runtime';
import { ContainerConfigError, expandCommandAndArgs } from './env';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export const CLUSTER_DOMAIN = 'cluster.local';
const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;

export interface ClusterDns {
  servers: string[];
  searches?: string[];
  options?: string[];
}

/**
 * The sandbox DNS configuration for `pod`:
 * - ClusterFirst (default) and ClusterFirstWithHostNet: the cluster DNS servers with search
 *   `<ns>.svc.cluster.local svc.cluster.local cluster.local` (+ cluster searches) and
 *   `ndots:5`; without cluster DNS (or ClusterFirst on hostNetwork) it falls back to Default;
 * - Default: the runtime's own (the host's resolv.conf behaviour): undefined unless dnsConfig adds to it;
 * - None: only dnsConfig.
 * `spec.dnsConfig` nameservers and searches are appended (deduplicated, at most 3 servers and
 * 32 searches); its options override options of the same name.
 */
export function podDnsConfig(pod: KObject, cluster: ClusterDns | undefined): DnsConfig | undefined {
  const spec = pod.spec ?? {};
  let policy: string = spec.dnsPolicy || 'ClusterFirst';
  if (policy === 'ClusterFirst' && spec.hostNetwork) policy = 'Default';
  if ((policy === 'ClusterFirst' || policy === 'ClusterFirstWithHostNet') && !cluster?.servers?.length) policy = 'Default';
  let servers: string[] = [];
  let searches: string[] = [];
  let options: string[] = [];
  if (policy === 'ClusterFirst' || policy === 'ClusterFirstWithHostNet') {
    const ns = pod.metadata.namespace ?? 'default';
    servers = [...cluster!.servers];
    searches = [`${ns}.svc.${CLUSTER_DOMAIN}`, `svc.${CLUSTER_DOMAIN}`, CLUSTER_DOMAIN, ...(cluster!.searches ?? [])];
    options = ['ndots:5', ...(cluster!.options ?? [])];
  }
  const dc = spec.dnsConfig;
  if (policy === 'Default' && !dc) return undefined;
  if (dc) {
    for (const s of dc.nameservers ?? []) if (!servers.includes(s)) servers.push(s);
    for (const s of dc.searches ?? []) if (!searches.includes(s)) searches.push(s);
    for (const o of dc.options ?? []) {
      const name = String(o.name ?? '');
      if (!name) continue;
      options = options.filter((x) => x.split(':')[0] !== name);
      options.push(o.value !== undefined && o.value !== null && o.value !== '' ? `${name}:${o.value}` : name);
    }
  }
  const out: DnsConfig = {};
  if (servers.length) out.servers = servers.slice(0, MAX_NAMESERVERS);
  if (searches.length) out.searches = searches.slice(0, MAX_SEARCHES);
  if (options.length) out.options = options;
  return out;
}

/** hostPort mappings of every container (published on 127.0.0.1 unless the port names a hostIP). */
export function portMappings(pod: KObject): PortMapping[] {
  const out: PortMapping[] = [];
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort) continue;
      out.push({ containerPort: p.containerPort, hostPort: p.hostPort, protocol: p.protocol ?? 'TCP', hostIP: p.hostIP || '127.0.0.1' });
    }
  }
  return out;
}

/** The registry host of an image reference (`docker.io` for Docker Hub names). */
export function imageRegistry(image: string): string {
  const first = image.split('/')[0];
  if (image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) return first;
  return 'docker.io';
}

/**
 * Credentials for pulling `image`, from the pod's imagePullSecrets (`kubernetes.io/dockerconfigjson`
 * or `kubernetes.io/dockercfg`). Undefined when none matches.
 */
export function pullAuth(image: string, secrets: KObject[]): RegistryAuth | undefined {
  const registry = imageRegistry(image);
  const hostOf = (k: string): string => k.replace(/^https?:\/\//, '').split('/')[0];
  const matches = (k: string): boolean => {
    const h = hostOf(k);
    return h === registry || (registry === 'docker.io' && (h === 'index.docker.io' || h === 'registry-1.docker.io'));
  };
  for (const s of secrets) {
    let auths: Record<string, Json> | undefined;
    try {
      if (s.data?.['.dockerconfigjson']) auths = JSON.parse(Buffer.from(s.data['.dockerconfigjson'], 'base64').toString('utf8')).auths;
      else if (s.data?.['.dockercfg']) auths = JSON.parse(Buffer.from(s.data['.dockercfg'], 'base64').toString('utf8'));
    } catch {
      continue;
    }
    for (const [k, a] of Object.entries(auths ?? {})) {
      if (!matches(k)) continue;
      let { username, password } = a as { username?: string; password?: string };
      if ((!username || !password) && typeof a.auth === 'string') {
        const dec = Buffer.from(a.auth, 'base64').toString('utf8');
        const i = dec.indexOf(':');
        if (i >= 0) {
          username = dec.slice(0, i);
          password = dec.slice(i + 1);
        }
      }
      const auth: RegistryAuth = { serveraddress: hostOf(k) };
      if (username) auth.username = username;
      if (password) auth.password = password;
      if (a.identitytoken) auth.identitytoken = a.identitytoken;
      return auth;
    }
  }
  return undefined;
}

/** A stable hash of a container spec; a change (e.g. a new image) restarts the container. */
export function containerHash(container: Json): string {
  const stable = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(stable);
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => [k, stable(o[k])]));
    }
    return v;
  };
  return createHash('sha256').update(JSON.stringify(stable(container))).digest('hex').slice(0, 16);
}

export const CONTAINER_HASH_LABEL = 'io.minictl.container.hash';

export interface ContainerConfigInput {
  pod: KObject;
  container: Json;
  env: KeyValue[];
  mounts: Mount[];
  tmpfs: TmpfsMount[];
  restartCount: number;
  allowPrivileged: boolean;
}

function millis(q: unknown): number | undefined {
  const v = tryParseQuantity(q);
  return v === undefined ? undefined : Math.round(v * 1000);
}

/**
 * The runtime configuration of one container. Throws ContainerConfigError for a privileged
 * container on a node that does not allow them, or a runAsNonRoot container set to run as root.
 */
export function buildContainerConfig(i: ContainerConfigInput): ContainerConfig {
  const { pod, container: c } = i;
  const psc = pod.spec?.securityContext ?? {};
  const sc = c.securityContext ?? {};
  if (sc.privileged && !i.allowPrivileged) {
    throw new ContainerConfigError(`container "${c.name}": privileged containers are not allowed on this node (start minictl with --allow-privileged)`);
  }
  const runAsUser: number | undefined = sc.runAsUser ?? psc.runAsUser;
  const runAsGroup: number | undefined = sc.runAsGroup ?? psc.runAsGroup;
  const runAsNonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot;
  if (runAsNonRoot && runAsUser === 0) {
    throw new ContainerConfigError(`container's runAsUser breaks non-root policy (pod: "${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})", container: ${c.name})`);
  }
  const { command, args } = expandCommandAndArgs(c, i.env);
  const cfg: ContainerConfig = {
    name: c.name,
    image: c.image,
    env: i.env,
    mounts: i.mounts,
    tmpfs: i.tmpfs,
    restartCount: i.restartCount,
    labels: { [CONTAINER_HASH_LABEL]: containerHash(c) },
  };
  if (command?.length) cfg.command = command;
  if (args?.length) cfg.args = args;
  if (c.workingDir) cfg.workingDir = c.workingDir;
  if (runAsUser !== undefined) cfg.runAsUser = runAsUser;
  if (runAsGroup !== undefined) cfg.runAsGroup = runAsGroup;
  const groups: number[] = [...(psc.supplementalGroups ?? [])];
  if (psc.fsGroup !== undefined && !groups.includes(psc.fsGroup)) groups.push(psc.fsGroup);
  if (groups.length) cfg.supplementalGroups = groups;
  if (sc.readOnlyRootFilesystem) cfg.readOnlyRootFilesystem = true;
  if (sc.capabilities && (sc.capabilities.add?.length || sc.capabilities.drop?.length)) {
    cfg.capabilities = {};
    if (sc.capabilities.add?.length) cfg.capabilities.add = sc.capabilities.add.map(String);
    if (sc.capabilities.drop?.length) cfg.capabilities.drop = sc.capabilities.drop.map(String);
  }
  if (sc.privileged) cfg.privileged = true;
  const limits = c.resources?.limits ?? {};
  const requests = c.resources?.requests ?? {};
  const res: NonNullable<ContainerConfig['resources']> = {};
  const cpuLimit = millis(limits.cpu);
  const cpuRequest = millis(requests.cpu);
  const mem = tryParseQuantity(limits.memory);
  if (cpuLimit) res.cpuLimitMillis = cpuLimit;
  if (cpuRequest) res.cpuRequestMillis = cpuRequest;
  if (mem) res.memoryLimitBytes = Math.round(mem);
  if (Object.keys(res).length) cfg.resources = res;
  if (c.stdin) cfg.stdin = true;
  if (c.stdinOnce) cfg.stdinOnce = true;
  if (c.tty) cfg.tty = true;
  return cfg;
}
