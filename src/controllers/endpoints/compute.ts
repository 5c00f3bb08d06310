/**
 * What a Service's Endpoints and EndpointSlices should hold, computed from the Service and its
 * selected pods. Pure functions; the controllers diff the result against what is stored.
 *
 * Rules (those of the Kubernetes endpoint and endpointslice controllers):
 * - A pod is an endpoint when it has an IP and is not terminal (Succeeded/Failed).
 * - Named targetPorts resolve per pod against its containers' ports (same name and protocol); a
 *   pod lacking the named port is not an endpoint for that Service port. Pods resolving to
 *   different port numbers end up in different subsets / slices.
 * - EndpointSlices: `ready` = pod Ready and not terminating (or `publishNotReadyAddresses`);
 *   `serving` = pod Ready; `terminating` = deletionTimestamp set. Terminating pods stay listed.
 * - Endpoints: ready → `addresses`, not ready → `notReadyAddresses`, terminating pods left out
 *   (all in `addresses` with `publishNotReadyAddresses`).
 * - `hostname` is set when the pod has `spec.hostname` and `spec.subdomain` equals the Service name.
 */
import type { KObject } from '../../api/types';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const SLICE_CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
export const MIRRORING_CONTROLLER_NAME = 'endpointslicemirroring-controller.k8s.io';
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
/** Endpoints per EndpointSlice (the controller's default --max-endpoints-per-slice). */
export const MAX_ENDPOINTS_PER_SLICE = 100;

export interface EndpointPort {
  name: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

export interface TargetRef {
  kind: 'Pod';
  namespace: string;
  name: string;
  uid: string;
}

export interface SliceEndpoint {
  addresses: string[];
  conditions: { ready: boolean; serving: boolean; terminating: boolean };
  hostname?: string;
  nodeName?: string;
  zone?: string;
  /** the pod behind the endpoint; absent for mirrored endpoints that name none */
  targetRef?: TargetRef;
}

export interface DesiredSlice {
  /** canonical key of `ports` (slices with equal keys are interchangeable) */
  portsKey: string;
  ports: EndpointPort[];
  endpoints: SliceEndpoint[];
}

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: TargetRef;
}

export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointPort[];
}

interface ServicePortSpec {
  name?: string;
  port: number;
  protocol?: string;
  targetPort?: number | string;
  appProtocol?: string;
}

export function isPodReady(pod: KObject): boolean {
  return (pod.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
}

/** Whether the pod can be an endpoint at all (IP assigned, not terminal). */
export function podHasEndpoint(pod: KObject): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  return typeof pod.status?.podIP === 'string' && pod.status.podIP !== '';
}

/** The container port a Service port reaches on this pod, or undefined when it has none. */
export function resolveTargetPort(pod: KObject, sp: ServicePortSpec): number | undefined {
  const tp = sp.targetPort ?? sp.port;
  if (typeof tp === 'number') return tp > 0 ? tp : sp.port;
  if (/^\d+$/.test(tp)) return Number(tp);
  const proto = sp.protocol ?? 'TCP';
  for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
    for (const p of c.ports ?? []) {
      if (p.name === tp && (p.protocol ?? 'TCP') === proto) return p.containerPort;
    }
  }
  return undefined;
}

function servicePorts(svc: KObject): ServicePortSpec[] {
  return Array.isArray(svc.spec?.ports) ? svc.spec.ports : [];
}

/** The ports of this pod's endpoint for the Service (name, resolved port, protocol). */
export function endpointPorts(svc: KObject, pod: KObject): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of servicePorts(svc)) {
    const port = resolveTargetPort(pod, sp);
    if (port === undefined) continue;
    const ep: EndpointPort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
    if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
    out.push(ep);
  }
  return out;
}

function comparePorts(a: EndpointPort, b: EndpointPort): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0;
}

export function portsKey(ports: EndpointPort[]): string {
  return [...ports]
    .sort(comparePorts)
    .map((p) => `${p.name}/${p.protocol}/${p.port}/${p.appProtocol ?? ''}`)
    .join(',');
}

function hostnameFor(svc: KObject, pod: KObject): string | undefined {
  const h = pod.spec?.hostname;
  if (h && pod.spec?.subdomain === svc.metadata.name && pod.metadata.namespace === svc.metadata.namespace) return h;
  return undefined;
}

function targetRef(pod: KObject): TargetRef {
  return { kind: 'Pod', namespace: pod.metadata.namespace!, name: pod.metadata.name!, uid: pod.metadata.uid! };
}

function compareIP(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The EndpointSlices a selector Service should have: endpoints grouped by resolved port set,
 * sorted by address, at most `maxPerSlice` each. A Service without any endpoint gets one empty
 * slice (so watchers see the Service has been processed).
 */
export function desiredSlices(svc: KObject, pods: KObject[], zoneOf: (node: string) => string | undefined = () => undefined, maxPerSlice = MAX_ENDPOINTS_PER_SLICE): DesiredSlice[] {
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const groups = new Map<string, { ports: EndpointPort[]; endpoints: SliceEndpoint[] }>();
  for (const pod of pods) {
    if (!podHasEndpoint(pod)) continue;
    const ports = endpointPorts(svc, pod);
    if (servicePorts(svc).length > 0 && ports.length === 0) continue;
    const key = portsKey(ports);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ports: sortPorts(ports), endpoints: [] }));
    const terminating = !!pod.metadata.deletionTimestamp;
    const podReady = isPodReady(pod);
    const ep: SliceEndpoint = {
      addresses: [pod.status.podIP],
      conditions: { ready: publishNotReady || (podReady && !terminating), serving: podReady, terminating },
      targetRef: targetRef(pod),
    };
    const hn = hostnameFor(svc, pod);
    if (hn) ep.hostname = hn;
    if (pod.spec?.nodeName) {
      ep.nodeName = pod.spec.nodeName;
      const z = zoneOf(pod.spec.nodeName);
      if (z) ep.zone = z;
    }
    g.endpoints.push(ep);
  }
  const out: DesiredSlice[] = [];
  for (const [key, g] of [...groups.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    g.endpoints.sort((a, b) => compareIP(a.addresses[0], b.addresses[0]) || (a.targetRef?.name ?? '').localeCompare(b.targetRef?.name ?? ''));
    for (let i = 0; i < g.endpoints.length; i += maxPerSlice) out.push({ portsKey: key, ports: g.ports, endpoints: g.endpoints.slice(i, i + maxPerSlice) });
  }
  if (out.length === 0) out.push({ portsKey: '', ports: [], endpoints: [] });
  return out;
}

function sortPorts(ports: EndpointPort[]): EndpointPort[] {
  return [...ports].sort(comparePorts);
}

/** The `subsets` of the Service's Endpoints object (empty array: no endpoints). */
export function desiredSubsets(svc: KObject, pods: KObject[]): EndpointSubset[] {
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const groups = new Map<string, { ports: EndpointPort[]; ready: EndpointAddress[]; notReady: EndpointAddress[] }>();
  for (const pod of pods) {
    if (!podHasEndpoint(pod)) continue;
    if (pod.metadata.deletionTimestamp && !publishNotReady) continue;
    const ports = endpointPorts(svc, pod);
    if (servicePorts(svc).length > 0 && ports.length === 0) continue;
    const key = portsKey(ports);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ports: sortPorts(ports), ready: [], notReady: [] }));
    const addr: EndpointAddress = { ip: pod.status.podIP, targetRef: targetRef(pod) };
    const hn = hostnameFor(svc, pod);
    if (hn) addr.hostname = hn;
    if (pod.spec?.nodeName) addr.nodeName = pod.spec.nodeName;
    (publishNotReady || isPodReady(pod) ? g.ready : g.notReady).push(addr);
  }
  const out: EndpointSubset[] = [];
  for (const [, g] of [...groups.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const s: EndpointSubset = {};
    const byIP = (a: EndpointAddress, b: EndpointAddress) => compareIP(a.ip, b.ip) || (a.targetRef?.name ?? '').localeCompare(b.targetRef?.name ?? '');
    if (g.ready.length) s.addresses = g.ready.sort(byIP);
    if (g.notReady.length) s.notReadyAddresses = g.notReady.sort(byIP);
    if (g.ports.length) s.ports = g.ports;
    out.push(s);
  }
  return out;
}

/** Labels of the Service's Endpoints / EndpointSlices: the Service's own plus the controller's. */
export function endpointLabels(svc: KObject, extra: Record<string, string> = {}): Record<string, string> {
  const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
  delete labels[SERVICE_NAME_LABEL];
  delete labels[MANAGED_BY_LABEL];
  if (svc.spec?.clusterIP === 'None') labels[HEADLESS_LABEL] = '';
  else delete labels[HEADLESS_LABEL];
  return { ...labels, ...extra };
}

/**
 * EndpointSlices mirrored from a selector-less Service's Endpoints (the mirroring controller):
 * one slice per subset, ready addresses ready, not-ready ones not.
 */
export function mirroredSlices(endpoints: KObject, maxPerSlice = MAX_ENDPOINTS_PER_SLICE): DesiredSlice[] {
  const out: DesiredSlice[] = [];
  for (const s of (endpoints.subsets ?? []) as EndpointSubset[]) {
    const ports = sortPorts((s.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP', ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) })));
    const eps: SliceEndpoint[] = [];
    const add = (a: EndpointAddress, ready: boolean) => {
      const ep: SliceEndpoint = { addresses: [a.ip], conditions: { ready, serving: ready, terminating: false } };
      if (a.targetRef) ep.targetRef = a.targetRef;
      if (a.hostname) ep.hostname = a.hostname;
      if (a.nodeName) ep.nodeName = a.nodeName;
      eps.push(ep);
    };
    for (const a of s.addresses ?? []) add(a, true);
    for (const a of s.notReadyAddresses ?? []) add(a, false);
    eps.sort((a, b) => compareIP(a.addresses[0], b.addresses[0]));
    const key = portsKey(ports);
    for (let i = 0; i < eps.length; i += maxPerSlice) out.push({ portsKey: key, ports, endpoints: eps.slice(i, i + maxPerSlice) });
  }
  return out;
}
