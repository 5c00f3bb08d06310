import type { KObject } from '../api/types';
import { tryParseQuantity } from '../api/quantity';
import { fromLabelSelector, matchesLabels, type LabelSelectorSpec, type Selector } from '../api/selectors';

/**
 * What the scheduler needs to know about a pod, computed once per pod version: resource requests
 * (with the init-container and sidecar rules), host ports, tolerations, compiled node selectors
 * and pod (anti-)affinity terms. Plugins read these instead of re-parsing the pod object.
 */

export const LABEL_HOSTNAME = 'kubernetes.io/hostname';
export const LABEL_ZONE = 'topology.kubernetes.io/zone';

/** CPU in millicores, memory and storage in bytes; `scalar` holds extended resources. */
export interface Resources {
  milliCPU: number;
  memory: number;
  ephemeralStorage: number;
  scalar?: Map<string, number>;
}

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

/** One requirement of a node selector term (labels: all operators; fields: metadata.name In/NotIn). */
export interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values: string[];
}

/** A compiled NodeSelectorTerm: all requirements must hold; a term with none matches nothing. */
export interface NodeSelectorTerm {
  expressions: NodeSelectorRequirement[];
  fields: NodeSelectorRequirement[];
}

export interface PreferredNodeTerm {
  weight: number;
  term: NodeSelectorTerm;
}

/**
 * A compiled PodAffinityTerm. `selector` null matches no pod; `namespaceSelector` null means "only
 * `namespaces`", an empty selector means every namespace.
 */
export interface AffinityTerm {
  namespaces: Set<string>;
  namespaceSelector: Selector | null;
  selector: Selector | null;
  topologyKey: string;
}

export interface WeightedAffinityTerm extends AffinityTerm {
  weight: number;
}

export interface TopologySpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: string;
  selector: Selector | null;
  minDomains: number;
  nodeAffinityPolicy: string;
  nodeTaintsPolicy: string;
}

export interface PodInfo {
  readonly pod: KObject;
  /** namespace/name */
  readonly key: string;
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly priority: number;
  /** requests as NodeResourcesFit counts them */
  readonly requests: Resources;
  /** cpu/memory with the scheduler's non-zero defaults (100m, 200Mi) for scoring */
  readonly nonZeroMilliCPU: number;
  readonly nonZeroMemory: number;
  readonly hostPorts: readonly HostPort[];
  readonly tolerations: readonly Toleration[];
  readonly nodeName: string;
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** required node affinity terms (ORed), undefined when none */
  readonly requiredNodeTerms?: readonly NodeSelectorTerm[];
  readonly preferredNodeTerms: readonly PreferredNodeTerm[];
  readonly requiredAffinityTerms: readonly AffinityTerm[];
  readonly requiredAntiAffinityTerms: readonly AffinityTerm[];
  readonly preferredAffinityTerms: readonly WeightedAffinityTerm[];
  readonly preferredAntiAffinityTerms: readonly WeightedAffinityTerm[];
  /** any pod affinity or anti-affinity term, required or preferred */
  readonly hasAffinity: boolean;
  readonly topologySpreadConstraints: readonly TopologySpreadConstraint[];
  readonly images: readonly string[];
  readonly terminating: boolean;
  readonly preemptionPolicy: string;
  /** ms since epoch of status.startTime (or creation), for preemption's importance order */
  readonly startTime: number;
  readonly schedulerName: string;
  readonly gated: boolean;
}

export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

const EMPTY: readonly never[] = Object.freeze([]);

function milli(q: unknown): number {
  const v = tryParseQuantity(q);
  if (v === undefined || v <= 0) return 0;
  return Math.ceil(v * 1000 - 1e-9);
}

function whole(q: unknown): number {
  const v = tryParseQuantity(q);
  if (v === undefined || v <= 0) return 0;
  return Math.ceil(v - 1e-9);
}

/** True for resources NodeResourcesFit checks as scalars (extended resources, hugepages). */
export function isScalarResourceName(name: string): boolean {
  return name.startsWith('hugepages-') || (name.includes('/') && !name.startsWith('kubernetes.io/') && !name.startsWith('requests.'));
}

export function emptyResources(): Resources {
  return { milliCPU: 0, memory: 0, ephemeralStorage: 0 };
}

/** Parses a ResourceList (requests, allocatable) into Resources; `pods` is returned separately. */
export function parseResourceList(rl: Record<string, unknown> | undefined): Resources & { pods: number } {
  const r: Resources & { pods: number } = { milliCPU: 0, memory: 0, ephemeralStorage: 0, pods: 0 };
  if (!rl) return r;
  for (const [name, q] of Object.entries(rl)) {
    switch (name) {
      case 'cpu':
        r.milliCPU = milli(q);
        break;
      case 'memory':
        r.memory = whole(q);
        break;
      case 'ephemeral-storage':
        r.ephemeralStorage = whole(q);
        break;
      case 'pods':
        r.pods = whole(q);
        break;
      default:
        if (isScalarResourceName(name)) (r.scalar ??= new Map()).set(name, whole(q));
    }
  }
  return r;
}

function addInto(dst: Resources, src: Resources, sign = 1): void {
  dst.milliCPU += sign * src.milliCPU;
  dst.memory += sign * src.memory;
  dst.ephemeralStorage += sign * src.ephemeralStorage;
  if (src.scalar) {
    for (const [k, v] of src.scalar) {
      const m = (dst.scalar ??= new Map());
      m.set(k, (m.get(k) ?? 0) + sign * v);
    }
  }
}

export function addResources(dst: Resources, src: Resources): void {
  addInto(dst, src, 1);
}

export function subtractResources(dst: Resources, src: Resources): void {
  addInto(dst, src, -1);
}

function maxInto(dst: Resources, src: Resources): void {
  dst.milliCPU = Math.max(dst.milliCPU, src.milliCPU);
  dst.memory = Math.max(dst.memory, src.memory);
  dst.ephemeralStorage = Math.max(dst.ephemeralStorage, src.ephemeralStorage);
  if (src.scalar) {
    for (const [k, v] of src.scalar) {
      const m = (dst.scalar ??= new Map());
      m.set(k, Math.max(m.get(k) ?? 0, v));
    }
  }
}

function cloneResources(r: Resources): Resources {
  return { milliCPU: r.milliCPU, memory: r.memory, ephemeralStorage: r.ephemeralStorage, scalar: r.scalar ? new Map(r.scalar) : undefined };
}

interface ContainerLike {
  name?: string;
  image?: string;
  restartPolicy?: string;
  resources?: { requests?: Record<string, unknown> };
  ports?: { hostPort?: number; hostIP?: string; protocol?: string }[];
}

/**
 * The pod's effective request, as kube-scheduler computes it: the sum of the regular containers
 * plus the sidecars (restartable init containers), or the largest init-container step if larger,
 * plus spec.overhead. With `nonZero`, absent cpu/memory requests count as 100m / 200Mi.
 */
export function computePodRequests(spec: { containers?: ContainerLike[]; initContainers?: ContainerLike[]; overhead?: Record<string, unknown> }, nonZero = false): Resources {
  const req = (c: ContainerLike): Resources => {
    const rl = c.resources?.requests;
    const r: Resources = parseResourceList(rl);
    delete (r as { pods?: number }).pods;
    if (nonZero) {
      if (rl?.cpu === undefined) r.milliCPU = DEFAULT_MILLI_CPU_REQUEST;
      if (rl?.memory === undefined) r.memory = DEFAULT_MEMORY_REQUEST;
    }
    return r;
  };
  const sum = emptyResources();
  for (const c of spec.containers ?? []) addInto(sum, req(c));
  const sidecars = emptyResources();
  const initMax = emptyResources();
  for (const c of spec.initContainers ?? []) {
    const r = req(c);
    if (c.restartPolicy === 'Always') {
      addInto(sidecars, r);
      maxInto(initMax, sidecars);
    } else {
      const step = cloneResources(r);
      addInto(step, sidecars);
      maxInto(initMax, step);
    }
  }
  addInto(sum, sidecars);
  maxInto(sum, initMax);
  if (spec.overhead) {
    const o = parseResourceList(spec.overhead);
    addInto(sum, o);
  }
  return sum;
}

function hostPortsOf(spec: { containers?: ContainerLike[]; initContainers?: ContainerLike[] }): HostPort[] {
  const out: HostPort[] = [];
  const add = (c: ContainerLike) => {
    for (const p of c.ports ?? []) {
      if (typeof p.hostPort === 'number' && p.hostPort > 0) out.push({ ip: p.hostIP || '0.0.0.0', protocol: p.protocol || 'TCP', port: p.hostPort });
    }
  };
  for (const c of spec.containers ?? []) add(c);
  for (const c of spec.initContainers ?? []) if (c.restartPolicy === 'Always') add(c);
  return out;
}

function compileRequirements(rs: unknown): NodeSelectorRequirement[] {
  if (!Array.isArray(rs)) return [];
  return rs.map((r: { key?: string; operator?: string; values?: unknown[] }) => ({ key: String(r.key ?? ''), operator: String(r.operator ?? ''), values: Array.isArray(r.values) ? r.values.map(String) : [] }));
}

export function compileNodeSelectorTerm(t: { matchExpressions?: unknown; matchFields?: unknown } | undefined | null): NodeSelectorTerm {
  return { expressions: compileRequirements(t?.matchExpressions), fields: compileRequirements(t?.matchFields) };
}

const INT_RE = /^[+-]?\d+$/;

function requirementMatches(r: NodeSelectorRequirement, value: string | undefined): boolean {
  switch (r.operator) {
    case 'In':
      return value !== undefined && r.values.includes(value);
    case 'NotIn':
      return value === undefined || !r.values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || r.values.length !== 1 || !INT_RE.test(value) || !INT_RE.test(r.values[0])) return false;
      const a = parseInt(value, 10);
      const b = parseInt(r.values[0], 10);
      return r.operator === 'Gt' ? a > b : a < b;
    }
    default:
      return false;
  }
}

/** A node selector term against a node's labels and name; an empty term matches nothing. */
export function nodeSelectorTermMatches(t: NodeSelectorTerm, labels: Readonly<Record<string, string>>, nodeName: string): boolean {
  if (!t.expressions.length && !t.fields.length) return false;
  for (const r of t.expressions) {
    const v = Object.prototype.hasOwnProperty.call(labels, r.key) ? labels[r.key] : undefined;
    if (!requirementMatches(r, v)) return false;
  }
  for (const r of t.fields) {
    if (r.key !== 'metadata.name') return false;
    if (r.operator !== 'In' && r.operator !== 'NotIn') return false;
    if (!requirementMatches(r, nodeName)) return false;
  }
  return true;
}

/** nodeSelector plus required node affinity (terms ORed), as the NodeAffinity filter applies them. */
export function podMatchesNodeSelectorAndAffinity(p: PodInfo, labels: Readonly<Record<string, string>>, nodeName: string): boolean {
  if (p.nodeSelector) {
    for (const k in p.nodeSelector) if (labels[k] !== p.nodeSelector[k]) return false;
  }
  if (p.requiredNodeTerms) {
    let any = false;
    for (const t of p.requiredNodeTerms) {
      if (nodeSelectorTermMatches(t, labels, nodeName)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

/** Whether a toleration tolerates a taint (kube's ToleratesTaint; operators Equal and Exists). */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator || 'Equal') {
    case 'Exists':
      return true;
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    default:
      return false;
  }
}

export function tolerationsTolerate(ts: readonly Toleration[], taint: Taint): boolean {
  for (const t of ts) if (toleratesTaint(t, taint)) return true;
  return false;
}

/** The first taint (in node order) with effect NoSchedule or NoExecute that no toleration tolerates. */
export function findUntoleratedTaint(taints: readonly Taint[], ts: readonly Toleration[]): Taint | undefined {
  for (const taint of taints) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (!tolerationsTolerate(ts, taint)) return taint;
  }
  return undefined;
}

function mergeLabelKeys(sel: Selector | null, pod: { labels: Record<string, string> }, match: unknown, mismatch: unknown): Selector | null {
  if (sel === null) return null;
  let out = sel;
  if (Array.isArray(match)) {
    for (const k of match) if (typeof k === 'string' && k in pod.labels) out = [...out, { key: k, op: 'in', values: [pod.labels[k]] }];
  }
  if (Array.isArray(mismatch)) {
    for (const k of mismatch) if (typeof k === 'string' && k in pod.labels) out = [...out, { key: k, op: 'notin', values: [pod.labels[k]] }];
  }
  return out;
}

interface RawAffinityTerm {
  labelSelector?: LabelSelectorSpec | null;
  namespaces?: string[];
  namespaceSelector?: LabelSelectorSpec | null;
  topologyKey?: string;
  matchLabelKeys?: string[];
  mismatchLabelKeys?: string[];
}

function compileAffinityTerm(t: RawAffinityTerm, ns: string, labels: Record<string, string>): AffinityTerm {
  const namespaces = new Set<string>();
  const nsSel = fromLabelSelector(t.namespaceSelector);
  if ((!t.namespaces || t.namespaces.length === 0) && nsSel === null) namespaces.add(ns);
  else for (const n of t.namespaces ?? []) namespaces.add(n);
  return {
    namespaces,
    namespaceSelector: nsSel,
    selector: mergeLabelKeys(fromLabelSelector(t.labelSelector), { labels }, t.matchLabelKeys, t.mismatchLabelKeys),
    topologyKey: String(t.topologyKey ?? ''),
  };
}

/** Whether `term` (of some pod) selects pod `p`; `nsLabels` reads a namespace's labels. */
export function affinityTermMatches(term: AffinityTerm, p: { namespace: string; labels: Readonly<Record<string, string>> }, nsLabels: (ns: string) => Record<string, string> | undefined): boolean {
  if (term.selector === null) return false;
  if (!term.namespaces.has(p.namespace)) {
    if (term.namespaceSelector === null) return false;
    if (term.namespaceSelector.length && !matchesLabels(term.namespaceSelector, nsLabels(p.namespace))) return false;
  }
  return matchesLabels(term.selector, p.labels);
}

function compileSpread(raw: unknown, labels: Record<string, string>): TopologySpreadConstraint[] {
  if (!Array.isArray(raw) || raw.length === 0) return EMPTY as unknown as TopologySpreadConstraint[];
  return raw.map(
    (c: {
      maxSkew?: number;
      topologyKey?: string;
      whenUnsatisfiable?: string;
      labelSelector?: LabelSelectorSpec | null;
      minDomains?: number;
      nodeAffinityPolicy?: string;
      nodeTaintsPolicy?: string;
      matchLabelKeys?: string[];
    }) => ({
      maxSkew: typeof c.maxSkew === 'number' ? c.maxSkew : 1,
      topologyKey: String(c.topologyKey ?? ''),
      whenUnsatisfiable: c.whenUnsatisfiable ?? 'DoNotSchedule',
      selector: mergeLabelKeys(fromLabelSelector(c.labelSelector), { labels }, c.matchLabelKeys, undefined),
      minDomains: typeof c.minDomains === 'number' && c.minDomains > 0 ? c.minDomains : 1,
      nodeAffinityPolicy: c.nodeAffinityPolicy ?? 'Honor',
      nodeTaintsPolicy: c.nodeTaintsPolicy ?? 'Ignore',
    }),
  );
}

function time(s: unknown): number {
  if (typeof s !== 'string') return 0;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : 0;
}

/** Builds the PodInfo of a pod object. Never throws on malformed fields (they match nothing). */
export function newPodInfo(pod: KObject): PodInfo {
  const spec = pod.spec ?? {};
  const ns = pod.metadata.namespace ?? '';
  const labels = (pod.metadata.labels ?? {}) as Record<string, string>;
  const aff = spec.affinity ?? {};
  const reqNode = aff.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  const requiredNodeTerms = reqNode ? (Array.isArray(reqNode.nodeSelectorTerms) ? reqNode.nodeSelectorTerms : []).map(compileNodeSelectorTerm) : undefined;
  const prefNodeRaw = aff.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution;
  const preferredNodeTerms: PreferredNodeTerm[] = Array.isArray(prefNodeRaw)
    ? prefNodeRaw.filter((t: { weight?: number }) => typeof t?.weight === 'number' && t.weight !== 0).map((t: { weight: number; preference?: unknown }) => ({ weight: t.weight, term: compileNodeSelectorTerm(t.preference as never) }))
    : [];
  const terms = (raw: unknown): AffinityTerm[] => (Array.isArray(raw) ? raw.map((t: RawAffinityTerm) => compileAffinityTerm(t ?? {}, ns, labels)) : []);
  const weighted = (raw: unknown): WeightedAffinityTerm[] =>
    Array.isArray(raw)
      ? raw.filter((t: { weight?: number }) => typeof t?.weight === 'number').map((t: { weight: number; podAffinityTerm?: RawAffinityTerm }) => ({ ...compileAffinityTerm(t.podAffinityTerm ?? {}, ns, labels), weight: t.weight }))
      : [];
  const requiredAffinityTerms = terms(aff.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution);
  const requiredAntiAffinityTerms = terms(aff.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution);
  const preferredAffinityTerms = weighted(aff.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution);
  const preferredAntiAffinityTerms = weighted(aff.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution);
  const nonZero = computePodRequests(spec, true);
  const images: string[] = [];
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) if (typeof c?.image === 'string') images.push(c.image);
  const nodeSelector = spec.nodeSelector && typeof spec.nodeSelector === 'object' && Object.keys(spec.nodeSelector).length ? (spec.nodeSelector as Record<string, string>) : undefined;
  return {
    pod,
    key: `${ns}/${pod.metadata.name}`,
    uid: pod.metadata.uid ?? `${ns}/${pod.metadata.name}`,
    namespace: ns,
    name: pod.metadata.name ?? '',
    labels,
    priority: typeof spec.priority === 'number' ? spec.priority : 0,
    requests: computePodRequests(spec),
    nonZeroMilliCPU: nonZero.milliCPU,
    nonZeroMemory: nonZero.memory,
    hostPorts: hostPortsOf(spec),
    tolerations: Array.isArray(spec.tolerations) ? spec.tolerations : EMPTY,
    nodeName: typeof spec.nodeName === 'string' ? spec.nodeName : '',
    nodeSelector,
    requiredNodeTerms,
    preferredNodeTerms,
    requiredAffinityTerms,
    requiredAntiAffinityTerms,
    preferredAffinityTerms,
    preferredAntiAffinityTerms,
    hasAffinity: requiredAffinityTerms.length + requiredAntiAffinityTerms.length + preferredAffinityTerms.length + preferredAntiAffinityTerms.length > 0,
    topologySpreadConstraints: compileSpread(spec.topologySpreadConstraints, labels),
    images,
    terminating: !!pod.metadata.deletionTimestamp,
    preemptionPolicy: spec.preemptionPolicy ?? 'PreemptLowerPriority',
    startTime: time(pod.status?.startTime) || time(pod.metadata.creationTimestamp),
    schedulerName: spec.schedulerName || 'default-scheduler',
    gated: Array.isArray(spec.schedulingGates) && spec.schedulingGates.length > 0,
  };
}

/** kube's MoreImportantPod: higher priority first, then the one that started earlier. */
export function moreImportantPod(a: PodInfo, b: PodInfo): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  return a.startTime < b.startTime;
}

/** Image name as the kubelet reports it (`busybox` → `busybox:latest`; digests kept). */
export function normalizedImageName(name: string): string {
  if (name.includes('@')) return name;
  const slash = name.lastIndexOf('/');
  if (name.indexOf(':', slash + 1) < 0) return name + ':latest';
  return name;
}
