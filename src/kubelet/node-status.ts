/**
 * Node status as a kubelet reports it, computed without I/O so it can be tested table-driven:
 * node naming, labels, capacity/allocatable from host facts and per-node overrides, conditions
 * (MemoryPressure, DiskPressure, PIDPressure, Ready) with heartbeat/transition times, addresses,
 * nodeInfo, daemonEndpoints, and the node Lease in `kube-node-lease`.
 *
 * Membership annotations (set by `minictl node …` or by the node manager, read by everyone):
 * - `minictl.io/managed: "true"`   the node manager runs a kubelet for this Node;
 * - `minictl.io/simulated: "true"` hollow node: the kubelet uses the fake runtime, no containers;
 * - `minictl.io/stopped: "true"`   simulated failure: no kubelet, no containers, no heartbeat;
 * - `minictl.io/cpus`, `minictl.io/memory` capacity overrides (`2`, `1500m`; `4Gi`, `2048` MiB);
 * - `minictl.io/runtime` written by the manager: `docker` or `fake` (kept across daemon restarts);
 * - `minictl.io/cross-node-network` written by the manager: `ok` or `degraded: <reason>`.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { KObject } from '../api/types';
import { formatQuantity, tryParseQuantity } from '../api/quantity';

export const KUBELET_VERSION = 'v1.32.0-minictl';
export const KUBELET_PORT = 10250;
export const MAX_PODS = 110;
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const DEFAULT_LEASE_DURATION_SECONDS = 40;

export const NODE_ANNOTATIONS = {
  managed: 'minictl.io/managed',
  simulated: 'minictl.io/simulated',
  stopped: 'minictl.io/stopped',
  cpus: 'minictl.io/cpus',
  memory: 'minictl.io/memory',
  crossNodeNetwork: 'minictl.io/cross-node-network',
  /** `docker` or `fake`: the runtime of a non-simulated node, stamped when it is first reconciled. */
  runtime: 'minictl.io/runtime',
} as const;

export const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';
export const NODE_ROLE_PREFIX = 'node-role.kubernetes.io/';

// ---------------------------------------------------------------------------------------
// Naming

/**
 * Name of the `ordinal`-th node of a profile, like minikube: 1 → `<profile>`,
 * 2 → `<profile>-m02`, … 100 → `<profile>-m100`.
 */
export function nodeNameFor(profile: string, ordinal: number): string {
  if (!Number.isInteger(ordinal) || ordinal < 1) throw new RangeError(`node ordinal must be a positive integer, got ${ordinal}`);
  return ordinal === 1 ? profile : `${profile}-m${String(ordinal).padStart(2, '0')}`;
}

/** Name of the `k`-th simulated node (k ≥ 1): `<profile>-s0001`, … */
export function simulatedNodeName(profile: string, k: number): string {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`simulated node index must be a positive integer, got ${k}`);
  return `${profile}-s${String(k).padStart(4, '0')}`;
}

/** The lowest ordinal ≥ 2 whose `nodeNameFor` name is not taken. */
export function nextNodeName(profile: string, taken: ReadonlySet<string>): string {
  for (let i = 2; ; i++) {
    const n = nodeNameFor(profile, i);
    if (!taken.has(n)) return n;
  }
}

/** `count` simulated-node names not in `taken`, lowest indices first. */
export function nextSimulatedNames(profile: string, taken: ReadonlySet<string>, count: number): string[] {
  const out: string[] = [];
  for (let i = 1; out.length < count; i++) {
    const n = simulatedNodeName(profile, i);
    if (!taken.has(n)) out.push(n);
  }
  return out;
}

/**
 * Why `name` cannot be a managed node name, or undefined. Names become part of Docker network
 * and container names (`minictl-<profile>-<node>`), so they must be DNS-1123 labels.
 */
export function nodeNameError(name: string): string | undefined {
  if (!name) return 'node name must not be empty';
  if (name.length > 63) return `invalid node name "${name}": must be no more than 63 characters`;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) {
    return `invalid node name "${name}": use lower-case letters, digits and '-', starting and ending with a letter or digit`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Membership helpers

export function isManaged(node: KObject): boolean {
  return node.metadata.annotations?.[NODE_ANNOTATIONS.managed] === 'true';
}

export function isSimulated(node: KObject): boolean {
  return node.metadata.annotations?.[NODE_ANNOTATIONS.simulated] === 'true';
}

export function isStopped(node: KObject): boolean {
  return node.metadata.annotations?.[NODE_ANNOTATIONS.stopped] === 'true';
}

export function isControlPlane(node: KObject): boolean {
  return node.metadata.labels?.[CONTROL_PLANE_LABEL] !== undefined;
}

/** `control-plane`, `worker,foo` … or `<none>`, as kubectl prints ROLES. */
export function nodeRoles(node: KObject): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
    if (k.startsWith(NODE_ROLE_PREFIX) && k.length > NODE_ROLE_PREFIX.length) roles.add(k.slice(NODE_ROLE_PREFIX.length));
    else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return roles.size ? [...roles].sort().join(',') : '<none>';
}

/** The STATUS column: `Stopped` (minictl node stop), else Ready / NotReady / Unknown (+ `,SchedulingDisabled`). */
export function nodeDisplayStatus(node: KObject): string {
  let s: string;
  if (isStopped(node)) s = 'Stopped';
  else {
    const ready = (node.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready') as { status?: string } | undefined;
    s = ready?.status === 'True' ? 'Ready' : ready ? 'NotReady' : 'Unknown';
  }
  if (node.spec?.unschedulable) s += ',SchedulingDisabled';
  return s;
}

// ---------------------------------------------------------------------------------------
// Capacity

/** What the node status needs to know about the machine; gathered once per daemon. */
export interface HostFacts {
  cpus: number;
  memoryBytes: number;
  ephemeralStorageBytes: number;
  kernelVersion: string;
  osImage: string;
  /** Go-style architecture: amd64, arm64 … */
  architecture: string;
  machineID: string;
  bootID: string;
}

/** Node.js `process.arch` → Kubernetes (Go) architecture names. */
export function goArch(arch: string = process.arch): string {
  const m: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64' };
  return m[arch] ?? arch;
}

function readFirst(paths: string[]): string | undefined {
  for (const p of paths) {
    try {
      const v = fs.readFileSync(p, 'utf8').trim();
      if (v) return v;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/** Reads the host's facts; `dataDir` is where ephemeral storage lives. Never throws. */
export function readHostFacts(dataDir: string): HostFacts {
  let storage = 0;
  try {
    const s = fs.statfsSync(fs.existsSync(dataDir) ? dataDir : os.tmpdir());
    storage = s.blocks * s.bsize;
  } catch {
    storage = 0;
  }
  let osImage = 'Linux';
  const rel = readFirst(['/etc/os-release', '/usr/lib/os-release']);
  const m = rel && /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(rel);
  if (m) osImage = m[1];
  else if (os.platform() !== 'linux') osImage = `${os.type()} ${os.release()}`;
  const machine = readFirst(['/etc/machine-id', '/var/lib/dbus/machine-id']) ?? crypto.createHash('md5').update(os.hostname()).digest('hex');
  const boot = readFirst(['/proc/sys/kernel/random/boot_id']) ?? crypto.randomUUID();
  return {
    cpus: Math.max(1, os.cpus().length),
    memoryBytes: os.totalmem(),
    ephemeralStorageBytes: storage,
    kernelVersion: os.release(),
    osImage,
    architecture: goArch(),
    machineID: machine,
    bootID: boot,
  };
}

/**
 * Parses a `--cpus` value: a positive number of cores (`2`, `1.5`) or a CPU quantity (`500m`).
 * Returns millicores, or throws a RangeError with a user-facing message.
 */
export function parseCpus(v: string): number {
  const q = /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : tryParseQuantity(v.trim());
  const milli = q === undefined ? NaN : Math.round(q * 1000);
  if (!Number.isFinite(milli) || milli <= 0) throw new RangeError(`invalid cpus "${v}": use a positive number of cores such as 2 or 1.5, or millicores such as 500m`);
  return milli;
}

/**
 * Parses a `--memory` value: a Kubernetes quantity (`4Gi`, `512Mi`, `4G`), a minikube-style
 * size (`4g`, `2048mb`) or a plain number of MiB (`2048`). Returns bytes or throws a RangeError.
 */
export function parseMemory(v: string): number {
  const s = v.trim();
  let bytes: number | undefined;
  if (/^\d+$/.test(s)) bytes = Number(s) * 1024 * 1024;
  else {
    const mm = /^(\d+(?:\.\d+)?)\s*([kmgt])b?$/i.exec(s);
    if (mm && mm[2] === mm[2].toLowerCase()) bytes = Number(mm[1]) * 1024 ** ('kmgt'.indexOf(mm[2]) + 1);
    else bytes = tryParseQuantity(s);
  }
  if (bytes === undefined || !Number.isFinite(bytes) || bytes < 64 * 1024 * 1024) {
    throw new RangeError(`invalid memory "${v}": use a size such as 4Gi, 512Mi or 2048 (MiB), at least 64Mi`);
  }
  return Math.floor(bytes);
}

function cpuQuantity(milli: number): string {
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

function kiQuantity(bytes: number): string {
  return `${Math.floor(bytes / 1024)}Ki`;
}

/**
 * Capacity of a node: host facts, overridden by the node's `minictl.io/cpus` / `minictl.io/memory`
 * annotations (invalid overrides are ignored; the CLI validates them before writing).
 */
export function nodeCapacity(facts: HostFacts, annotations: Record<string, string> | undefined): Record<string, string> {
  let cpuMilli = facts.cpus * 1000;
  let mem = facts.memoryBytes;
  const a = annotations ?? {};
  if (a[NODE_ANNOTATIONS.cpus]) {
    try {
      cpuMilli = parseCpus(a[NODE_ANNOTATIONS.cpus]);
    } catch {
      // keep the host default
    }
  }
  if (a[NODE_ANNOTATIONS.memory]) {
    try {
      mem = parseMemory(a[NODE_ANNOTATIONS.memory]);
    } catch {
      // keep the host default
    }
  }
  return {
    cpu: cpuQuantity(cpuMilli),
    'ephemeral-storage': kiQuantity(facts.ephemeralStorageBytes),
    'hugepages-1Gi': '0',
    'hugepages-2Mi': '0',
    memory: kiQuantity(mem),
    pods: String(MAX_PODS),
  };
}

/** Allocatable = capacity (minictl reserves nothing for system daemons). */
export function nodeAllocatable(capacity: Record<string, string>): Record<string, string> {
  return { ...capacity };
}

/** Human form of a capacity for messages: `2 CPUs, 4Gi memory`. */
export function describeCapacity(capacity: Record<string, string>): string {
  const mem = tryParseQuantity(capacity.memory);
  let m = capacity.memory;
  if (mem !== undefined) m = mem % 2 ** 30 === 0 || mem < 2 ** 30 ? formatQuantity(mem, 'BinarySI') : `${(mem / 2 ** 30).toFixed(1)}Gi`;
  return `${capacity.cpu} CPU${capacity.cpu === '1' ? '' : 's'}, ${m} memory`;
}

// ---------------------------------------------------------------------------------------
// Labels

/** The labels a kubelet registers its Node with. */
export function nodeLabels(name: string, controlPlane: boolean, arch: string): Record<string, string> {
  const l: Record<string, string> = {
    'beta.kubernetes.io/arch': arch,
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': arch,
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
  };
  if (controlPlane) l[CONTROL_PLANE_LABEL] = '';
  return l;
}

// ---------------------------------------------------------------------------------------
// Status

export interface NodeCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastHeartbeatTime: string;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface NodeStatusInput {
  name: string;
  facts: HostFacts;
  annotations?: Record<string, string>;
  /** InternalIP: the node network's gateway (docker) or an address of its pod range (simulated). */
  internalIP: string;
  /** `docker://20.10.24`, `fake://0.1.0` */
  containerRuntimeVersion: string;
  /** Ready=True when undefined; otherwise Ready=False with this message (e.g. runtime down). */
  notReadyMessage?: string;
  now: Date;
}

export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Kubernetes MicroTime (`2024-01-01T00:00:00.000000Z`), as Leases carry. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * The desired node status. Conditions keep their `lastTransitionTime` from `previous` while the
 * status is unchanged; `lastHeartbeatTime` is always `now`.
 */
export function computeNodeStatus(input: NodeStatusInput, previous?: { conditions?: NodeCondition[] } | null): Record<string, unknown> {
  const capacity = nodeCapacity(input.facts, input.annotations);
  const now = rfc3339(input.now);
  const prev = new Map<string, NodeCondition>((previous?.conditions ?? []).map((c) => [c.type, c]));
  const cond = (type: string, status: NodeCondition['status'], reason: string, message: string): NodeCondition => {
    const p = prev.get(type);
    return { type, status, lastHeartbeatTime: now, lastTransitionTime: p && p.status === status ? p.lastTransitionTime : now, reason, message };
  };
  const ready = input.notReadyMessage === undefined;
  return {
    capacity,
    allocatable: nodeAllocatable(capacity),
    conditions: [
      cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      ready ? cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status') : cond('Ready', 'False', 'KubeletNotReady', input.notReadyMessage!),
    ],
    addresses: [
      { type: 'InternalIP', address: input.internalIP },
      { type: 'Hostname', address: input.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: KUBELET_PORT } },
    nodeInfo: {
      machineID: input.facts.machineID,
      systemUUID: crypto.createHash('md5').update(`${input.facts.machineID}/${input.name}`).digest('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5'),
      bootID: input.facts.bootID,
      kernelVersion: input.facts.kernelVersion,
      osImage: input.facts.osImage,
      containerRuntimeVersion: input.containerRuntimeVersion,
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: KUBELET_VERSION,
      operatingSystem: 'linux',
      architecture: input.facts.architecture,
    },
  };
}

/** Status without the times that change on every heartbeat (to decide whether a write is due). */
function withoutHeartbeats(status: Record<string, unknown> | undefined): unknown {
  if (!status) return undefined;
  const conditions = ((status.conditions as NodeCondition[] | undefined) ?? []).map(({ lastHeartbeatTime: _h, ...rest }) => rest);
  const { images: _i, volumesInUse: _v, volumesAttached: _a, ...rest } = status as Record<string, unknown>;
  return { ...rest, conditions };
}

/**
 * Whether the node status must be written: anything other than heartbeat times differs from the
 * desired status, or the last heartbeat is `reportPeriodMs` old.
 */
export function nodeStatusNeedsUpdate(current: Record<string, unknown> | undefined, desired: Record<string, unknown>, now: Date, reportPeriodMs: number): boolean {
  if (JSON.stringify(withoutHeartbeats(current)) !== JSON.stringify(withoutHeartbeats(desired))) return true;
  const ready = ((current?.conditions as NodeCondition[] | undefined) ?? []).find((c) => c.type === 'Ready');
  const last = ready ? Date.parse(ready.lastHeartbeatTime) : NaN;
  return !Number.isFinite(last) || now.getTime() - last >= reportPeriodMs;
}

// ---------------------------------------------------------------------------------------
// Lease

/** The node's Lease in kube-node-lease, owned by the Node (garbage-collected with it). */
export function nodeLease(node: { name: string; uid?: string }, now: Date, durationSeconds = DEFAULT_LEASE_DURATION_SECONDS): KObject {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: node.name,
      namespace: NODE_LEASE_NAMESPACE,
      ...(node.uid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node.name, uid: node.uid }] } : {}),
    },
    spec: { holderIdentity: node.name, leaseDurationSeconds: durationSeconds, renewTime: microTime(now) },
  };
}

// ---------------------------------------------------------------------------------------
// Pod ranges

/**
 * Pod range of the `k`-th simulated node (k ≥ 1): `100.<64 + k/256>.<k%256>.0/24` (inside
 * 100.64.0.0/10, never a Docker network: hollow pods get addresses nobody routes to).
 */
export function simulatedPodCidr(k: number): string {
  if (!Number.isInteger(k) || k < 1 || k >= 64 * 256) throw new RangeError(`simulated node index ${k} out of range 1..16383`);
  return `100.${64 + (k >> 8)}.${k & 255}.0/24`;
}

/** The index a pod range was allocated with: its third octet inside the profile's /16, or the simulated index. */
export function podCidrIndex(cidr: string | undefined, simulated: boolean): number | undefined {
  const m = cidr && /^(\d+)\.(\d+)\.(\d+)\.0\/24$/.exec(cidr);
  if (!m) return undefined;
  if (simulated) return Number(m[1]) === 100 ? (Number(m[2]) - 64) * 256 + Number(m[3]) : undefined;
  return Number(m[3]);
}

/** `a.b.0.0/16` containing a `/24` pod range, or undefined. */
export function clusterCidrOf(podCidr: string | undefined): string | undefined {
  const m = podCidr && /^(\d+)\.(\d+)\.\d+\.0\/24$/.exec(podCidr);
  return m ? `${m[1]}.${m[2]}.0.0/16` : undefined;
}
