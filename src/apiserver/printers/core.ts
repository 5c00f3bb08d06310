/**
 * Printers for the core (v1) kinds, column for column and cell for cell as Kubernetes'
 * pkg/printers/internalversion prints them server-side (always with the wide cells).
 */
import type { KObject } from '../../api/types';
import { AGE_COL, NAME_COL, col, type KindPrinter, type TableRowCondition } from './types';
import {
  accessModesString,
  formatLabels,
  humanDuration,
  int,
  joinHostPort,
  listWithMore,
  parseTime,
  since,
  sortedUniqueJoin,
  trimSpace,
} from './util';

/* eslint-disable @typescript-eslint/no-explicit-any */

// ---------------------------------------------------------------- Pod

/** The pod STATUS, READY, RESTARTS cells computed the way kubectl shows them. */
export interface PodSummary {
  ready: string;
  status: string;
  restarts: string;
}

const NODE_UNREACHABLE_POD_REASON = 'NodeLost';

function isRestartableInit(c: any): boolean {
  return !!c && c.restartPolicy === 'Always';
}

function conditionTrue(conditions: any[] | undefined, type: string): boolean {
  for (const c of conditions ?? []) {
    if (c?.type === type) return c.status === 'True';
  }
  return false;
}

function hasPodReadyCondition(conditions: any[] | undefined): boolean {
  return (conditions ?? []).some((c) => c?.type === 'Ready' && c.status === 'True');
}

/** Keeps the latest of two optional instants (undefined = Go's zero time). */
function later(current: number | undefined, candidate: unknown): number | undefined {
  const t = parseTime(candidate);
  if (t === undefined) return current;
  return current === undefined || current < t ? t : current;
}

/**
 * Computes READY ("ready/total"), STATUS and RESTARTS ("3" or "3 (2m ago)") for a pod, following
 * Kubernetes' printPod: pod phase/reason, SchedulingGated, init containers (Init:N/M,
 * Init:<reason>, Init:ExitCode:N, Init:Signal:N, sidecars counted as containers), container
 * waiting/terminated reasons (last container listed wins), Completed→Running/NotReady when a
 * container still runs, and deletion (Terminating, or Unknown for NodeLost pods).
 */
export function podSummary(pod: KObject, now: Date): PodSummary {
  const spec = pod.spec ?? {};
  const status = pod.status ?? {};
  const initSpecs: any[] = Array.isArray(spec.initContainers) ? spec.initContainers : [];
  const initStatuses: any[] = Array.isArray(status.initContainerStatuses) ? status.initContainerStatuses : [];
  const statuses: any[] = Array.isArray(status.containerStatuses) ? status.containerStatuses : [];
  const conditions: any[] = Array.isArray(status.conditions) ? status.conditions : [];

  let restarts = 0;
  let restartableInitRestarts = 0;
  let totalContainers = Array.isArray(spec.containers) ? spec.containers.length : 0;
  let readyContainers = 0;
  let lastRestart: number | undefined;
  let lastRestartableInitRestart: number | undefined;

  const phase: string = typeof status.phase === 'string' ? status.phase : '';
  let reason = phase;
  if (typeof status.reason === 'string' && status.reason !== '') reason = status.reason;

  for (const c of conditions) {
    if (c?.type === 'PodScheduled' && c.reason === 'SchedulingGated') reason = 'SchedulingGated';
  }

  const initByName = new Map<string, any>();
  for (const c of initSpecs) {
    initByName.set(c?.name, c);
    if (isRestartableInit(c)) totalContainers++;
  }

  let initializing = false;
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i] ?? {};
    const restartable = isRestartableInit(initByName.get(cs.name));
    restarts += int(cs.restartCount);
    const lastTerm = cs.lastState?.terminated;
    if (lastTerm) lastRestart = later(lastRestart, lastTerm.finishedAt);
    if (restartable) {
      restartableInitRestarts += int(cs.restartCount);
      if (lastTerm) lastRestartableInitRestart = later(lastRestartableInitRestart, lastTerm.finishedAt);
    }
    const terminated = cs.state?.terminated;
    const waiting = cs.state?.waiting;
    if (terminated && int(terminated.exitCode) === 0) continue;
    if (restartable && cs.started === true) {
      if (cs.ready === true) readyContainers++;
      continue;
    }
    if (terminated) {
      if (!terminated.reason) {
        reason = int(terminated.signal) !== 0 ? `Init:Signal:${int(terminated.signal)}` : `Init:ExitCode:${int(terminated.exitCode)}`;
      } else {
        reason = `Init:${terminated.reason}`;
      }
    } else if (waiting && typeof waiting.reason === 'string' && waiting.reason !== '' && waiting.reason !== 'PodInitializing') {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${initSpecs.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(conditions, 'Initialized')) {
    restarts = restartableInitRestarts;
    lastRestart = lastRestartableInitRestart;
    let hasRunning = false;
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i] ?? {};
      restarts += int(cs.restartCount);
      const lastTerm = cs.lastState?.terminated;
      if (lastTerm) lastRestart = later(lastRestart, lastTerm.finishedAt);
      const waiting = cs.state?.waiting;
      const terminated = cs.state?.terminated;
      if (waiting && typeof waiting.reason === 'string' && waiting.reason !== '') {
        reason = waiting.reason;
      } else if (terminated && typeof terminated.reason === 'string' && terminated.reason !== '') {
        reason = terminated.reason;
      } else if (terminated) {
        reason = int(terminated.signal) !== 0 ? `Signal:${int(terminated.signal)}` : `ExitCode:${int(terminated.exitCode)}`;
      } else if (cs.ready === true && cs.state?.running) {
        hasRunning = true;
        readyContainers++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      reason = hasPodReadyCondition(conditions) ? 'Running' : 'NotReady';
    }
  }

  const deleting = !!pod.metadata?.deletionTimestamp;
  if (deleting && status.reason === NODE_UNREACHABLE_POD_REASON) {
    reason = 'Unknown';
  } else if (deleting && phase !== 'Failed' && phase !== 'Succeeded') {
    reason = 'Terminating';
  }

  let restartsStr = String(restarts);
  if (restarts !== 0 && lastRestart !== undefined) {
    restartsStr = `${restarts} (${humanDuration(now.getTime() - lastRestart)} ago)`;
  }

  return { ready: `${readyContainers}/${totalContainers}`, status: reason, restarts: restartsStr };
}

function podReadinessGates(pod: KObject): string {
  const gates: any[] = Array.isArray(pod.spec?.readinessGates) ? pod.spec.readinessGates : [];
  if (gates.length === 0) return '<none>';
  const conditions: any[] = Array.isArray(pod.status?.conditions) ? pod.status.conditions : [];
  let trueCount = 0;
  for (const g of gates) {
    const c = conditions.find((x) => x?.type === g?.conditionType);
    if (c && c.status === 'True') trueCount++;
  }
  return `${trueCount}/${gates.length}`;
}

function podIP(pod: KObject): string {
  const status = pod.status ?? {};
  // v1→internal conversion makes podIP authoritative for podIPs[0].
  if (typeof status.podIP === 'string' && status.podIP !== '') return status.podIP;
  const ips: any[] = Array.isArray(status.podIPs) ? status.podIPs : [];
  return typeof ips[0]?.ip === 'string' ? ips[0].ip : '';
}

export const podPrinter: KindPrinter = {
  columns: [
    NAME_COL,
    col('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
    col('Status', 'The aggregate status of the containers in this pod.'),
    col('Restarts', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
    AGE_COL,
    col('IP', 'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', { priority: 1 }),
    col('Node', 'NodeName indicates in which node this pod is scheduled.', { priority: 1 }),
    col('Nominated Node', 'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.', { priority: 1 }),
    col('Readiness Gates', 'If specified, all readiness gates will be evaluated for pod readiness.', { priority: 1 }),
  ],
  cells(pod, now) {
    const s = podSummary(pod, now);
    return [
      pod.metadata?.name ?? '',
      s.ready,
      s.status,
      s.restarts,
      since(pod.metadata?.creationTimestamp, now),
      podIP(pod) || '<none>',
      pod.spec?.nodeName || '<none>',
      pod.status?.nominatedNodeName || '<none>',
      podReadinessGates(pod),
    ];
  },
  conditions(pod): TableRowCondition[] | undefined {
    switch (pod.status?.phase) {
      case 'Succeeded':
        return [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }];
      case 'Failed':
        return [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }];
      default:
        return undefined;
    }
  },
};

// ---------------------------------------------------------------- Node

const NODE_ROLE_PREFIX = 'node-role.kubernetes.io/';
const NODE_LABEL_ROLE = 'kubernetes.io/role';

/** Roles from node-role.kubernetes.io/<role> label keys and the kubernetes.io/role label value; sorted, unique. */
export function nodeRoles(node: KObject): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata?.labels ?? {})) {
    if (k.startsWith(NODE_ROLE_PREFIX)) {
      const role = k.slice(NODE_ROLE_PREFIX.length);
      if (role.length > 0) roles.add(role);
    } else if (k === NODE_LABEL_ROLE && v !== '') {
      roles.add(v);
    }
  }
  return [...roles].sort();
}

/** "Ready", "NotReady" or "Unknown" (no Ready condition), plus ",SchedulingDisabled" when cordoned. */
export function nodeStatus(node: KObject): string {
  const status: string[] = [];
  const conditions: any[] = Array.isArray(node.status?.conditions) ? node.status.conditions : [];
  let ready: any;
  for (const c of conditions) if (c?.type === 'Ready') ready = c;
  if (ready) status.push(ready.status === 'True' ? 'Ready' : 'NotReady');
  if (status.length === 0) status.push('Unknown');
  if (node.spec?.unschedulable === true) status.push('SchedulingDisabled');
  return status.join(',');
}

function nodeAddress(node: KObject, type: string): string {
  const addrs: any[] = Array.isArray(node.status?.addresses) ? node.status.addresses : [];
  const a = addrs.find((x) => x?.type === type);
  return a && typeof a.address === 'string' ? a.address : '<none>';
}

export const nodePrinter: KindPrinter = {
  columns: [
    NAME_COL,
    col('Status', 'The status of the node'),
    col('Roles', 'The roles of the node'),
    AGE_COL,
    col('Version', 'Kubelet Version reported by the node.'),
    col('Internal-IP', 'List of addresses reachable to the node.', { priority: 1 }),
    col('External-IP', 'List of addresses reachable to the node.', { priority: 1 }),
    col('OS-Image', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', { priority: 1 }),
    col('Kernel-Version', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", { priority: 1 }),
    col('Container-Runtime', 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', { priority: 1 }),
  ],
  cells(node, now) {
    const info = node.status?.nodeInfo ?? {};
    const roles = nodeRoles(node).join(',');
    return [
      node.metadata?.name ?? '',
      nodeStatus(node),
      roles || '<none>',
      since(node.metadata?.creationTimestamp, now),
      info.kubeletVersion ?? '',
      nodeAddress(node, 'InternalIP'),
      nodeAddress(node, 'ExternalIP'),
      info.osImage || '<unknown>',
      info.kernelVersion || '<unknown>',
      info.containerRuntimeVersion || '<unknown>',
    ];
  },
};

// ---------------------------------------------------------------- Namespace, ConfigMap, Secret, ServiceAccount

export const namespacePrinter: KindPrinter = {
  columns: [NAME_COL, col('Status', 'The status of the namespace'), AGE_COL],
  cells: (o, now) => [o.metadata?.name ?? '', o.status?.phase ?? '', since(o.metadata?.creationTimestamp, now)],
};

export const configMapPrinter: KindPrinter = {
  columns: [NAME_COL, col('Data', 'Data contains the configuration data.'), AGE_COL],
  cells: (o, now) => [
    o.metadata?.name ?? '',
    Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length,
    since(o.metadata?.creationTimestamp, now),
  ],
};

export const secretPrinter: KindPrinter = {
  columns: [NAME_COL, col('Type', 'Used to facilitate programmatic handling of secret data.'), col('Data', 'Data contains the secret data.'), AGE_COL],
  cells: (o, now) => [
    o.metadata?.name ?? '',
    typeof o.type === 'string' ? o.type : '',
    // stringData is merged into data on write, but count it too for objects not yet normalized.
    new Set([...Object.keys(o.data ?? {}), ...Object.keys(o.stringData ?? {})]).size,
    since(o.metadata?.creationTimestamp, now),
  ],
};

export const serviceAccountPrinter: KindPrinter = {
  columns: [NAME_COL, col('Secrets', 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.'), AGE_COL],
  cells: (o, now) => [o.metadata?.name ?? '', Array.isArray(o.secrets) ? o.secrets.length : 0, since(o.metadata?.creationTimestamp, now)],
};

// ---------------------------------------------------------------- Service

/** The EXTERNAL-IP cell: externalIPs, load-balancer ingress ("<pending>" until assigned), or ExternalName. */
export function serviceExternalIP(svc: KObject): string {
  const spec = svc.spec ?? {};
  const externalIPs: string[] = Array.isArray(spec.externalIPs) ? spec.externalIPs : [];
  switch (spec.type ?? 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const ingress: any[] = Array.isArray(svc.status?.loadBalancer?.ingress) ? svc.status.loadBalancer.ingress : [];
      // Server-side tables are generated wide, so the load-balancer list is never clipped.
      const lb = sortedUniqueJoin(ingress.map((i) => i?.ip || i?.hostname || '').filter((s: string) => s !== ''));
      if (externalIPs.length > 0) return [...(lb ? lb.split(',') : []), ...externalIPs].join(',');
      return lb || '<pending>';
    }
    case 'ExternalName':
      return spec.externalName ?? '';
    default:
      return '<unknown>';
  }
}

/** The PORT(S) cell: "80/TCP", "80:30080/TCP" with a node port; "<none>" without ports. */
export function servicePorts(svc: KObject): string {
  const ports: any[] = Array.isArray(svc.spec?.ports) ? svc.spec.ports : [];
  const s = ports
    .map((p) => {
      const proto = p?.protocol ?? 'TCP';
      return int(p?.nodePort) > 0 ? `${int(p?.port)}:${int(p?.nodePort)}/${proto}` : `${int(p?.port)}/${proto}`;
    })
    .join(',');
  return s || '<none>';
}

function serviceClusterIP(svc: KObject): string {
  const spec = svc.spec ?? {};
  if (typeof spec.clusterIP === 'string' && spec.clusterIP !== '') return spec.clusterIP;
  const ips: string[] = Array.isArray(spec.clusterIPs) ? spec.clusterIPs : [];
  return ips.length > 0 ? ips[0] : '<none>';
}

export const servicePrinter: KindPrinter = {
  columns: [
    NAME_COL,
    col('Type', 'type determines how the Service is exposed.'),
    col('Cluster-IP', 'clusterIP is the IP address of the service and is usually assigned randomly.'),
    col('External-IP', 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'),
    col('Port(s)', 'The list of ports that are exposed by this service.'),
    AGE_COL,
    col('Selector', 'Route service traffic to pods with label keys and values matching this selector.', { priority: 1 }),
  ],
  cells: (svc, now) => [
    svc.metadata?.name ?? '',
    svc.spec?.type ?? 'ClusterIP',
    serviceClusterIP(svc),
    serviceExternalIP(svc),
    servicePorts(svc),
    since(svc.metadata?.creationTimestamp, now),
    formatLabels(svc.spec?.selector),
  ],
};

// ---------------------------------------------------------------- Endpoints

/** formatEndpoints: up to 3 "ip:port" (or bare ip for port-less subsets), then " + N more..."; "<none>" without subsets. */
export function formatEndpoints(ep: KObject): string {
  const subsets: any[] = Array.isArray(ep.subsets) ? ep.subsets : [];
  if (subsets.length === 0) return '<none>';
  const max = 3;
  const list: string[] = [];
  let count = 0;
  for (const ss of subsets) {
    const addrs: any[] = Array.isArray(ss?.addresses) ? ss.addresses : [];
    const ports: any[] = Array.isArray(ss?.ports) ? ss.ports : [];
    if (ports.length === 0) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === max) break;
        list.push(a?.ip ?? '');
      }
      continue;
    }
    for (const p of ports) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === max) break;
        list.push(joinHostPort(a?.ip ?? '', int(p?.port)));
      }
    }
  }
  return listWithMore(list, count, max);
}

export const endpointsPrinter: KindPrinter = {
  columns: [NAME_COL, col('Endpoints', 'The set of all endpoints is the union of all subsets.'), AGE_COL],
  cells: (o, now) => [o.metadata?.name ?? '', formatEndpoints(o), since(o.metadata?.creationTimestamp, now)],
};

// ---------------------------------------------------------------- Event

function eventSource(ev: KObject): string {
  const component = ev.source?.component || ev.reportingComponent || '';
  const host = ev.source?.host || ev.reportingInstance || '';
  return host ? `${component}, ${host}` : component;
}

export const eventPrinter: KindPrinter = {
  columns: [
    col('Last Seen', 'The time at which the most recent occurrence of this event was recorded.'),
    col('Type', 'Type of this event (Normal, Warning), new types could be added in the future'),
    col('Reason', "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
    col('Object', 'The object that this event is about.'),
    col('Subobject', 'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.', { priority: 1 }),
    col('Source', 'The component reporting this event. Should be a short machine understandable string.', { priority: 1 }),
    col('Message', 'A human-readable description of the status of this operation.'),
    col('First Seen', 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)', { priority: 1 }),
    col('Count', 'The number of times this event has occurred.', { priority: 1 }),
    col('Name', 'Name of the event object.', { priority: 1, format: 'name' }),
  ],
  cells(ev, now) {
    let first = since(ev.firstTimestamp, now);
    if (parseTime(ev.firstTimestamp) === undefined) first = since(ev.eventTime, now);
    let last = since(ev.lastTimestamp, now);
    if (parseTime(ev.lastTimestamp) === undefined) last = first;
    let count = int(ev.count);
    if (ev.series) {
      last = since(ev.series.lastObservedTime, now);
      count = int(ev.series.count);
    } else if (count === 0) {
      count = 1;
    }
    const kind = String(ev.involvedObject?.kind ?? '').toLowerCase();
    const name = ev.involvedObject?.name ?? '';
    const target = name ? `${kind}/${name}` : kind;
    return [
      last,
      ev.type ?? '',
      ev.reason ?? '',
      target,
      ev.involvedObject?.fieldPath ?? '',
      eventSource(ev),
      trimSpace(ev.message),
      first,
      count,
      ev.metadata?.name ?? '',
    ];
  },
};

// ---------------------------------------------------------------- PersistentVolume(Claim)

const BETA_STORAGE_CLASS_ANNOTATION = 'volume.beta.kubernetes.io/storage-class';

function storageClassOf(o: KObject): string {
  const ann = o.metadata?.annotations?.[BETA_STORAGE_CLASS_ANNOTATION];
  if (ann !== undefined) return ann;
  return typeof o.spec?.storageClassName === 'string' ? o.spec.storageClassName : '';
}

function quantity(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return '0';
}

export const persistentVolumePrinter: KindPrinter = {
  columns: [
    NAME_COL,
    col('Capacity', "capacity is the description of the persistent volume's resources and capacity."),
    col('Access Modes', 'accessModes contains all ways the volume can be mounted.'),
    col('Reclaim Policy', 'persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.'),
    col('Status', 'phase indicates if a volume is available, bound to a claim, or released by a claim.'),
    col('Claim', 'claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.'),
    col('StorageClass', 'StorageClass of the pv'),
    col('VolumeAttributesClass', 'VolumeAttributesClass of the pv'),
    col('Reason', 'reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.'),
    AGE_COL,
    col('VolumeMode', 'volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.', { priority: 1 }),
  ],
  cells(pv, now) {
    const spec = pv.spec ?? {};
    const claim = spec.claimRef ? `${spec.claimRef.namespace ?? ''}/${spec.claimRef.name ?? ''}` : '';
    const phase = pv.metadata?.deletionTimestamp ? 'Terminating' : pv.status?.phase ?? '';
    return [
      pv.metadata?.name ?? '',
      quantity(spec.capacity?.storage),
      accessModesString(spec.accessModes),
      spec.persistentVolumeReclaimPolicy ?? '',
      phase,
      claim,
      storageClassOf(pv),
      spec.volumeAttributesClassName ?? '<unset>',
      pv.status?.reason ?? '',
      since(pv.metadata?.creationTimestamp, now),
      spec.volumeMode ?? '<unset>',
    ];
  },
};

export const persistentVolumeClaimPrinter: KindPrinter = {
  columns: [
    NAME_COL,
    col('Status', 'phase represents the current phase of PersistentVolumeClaim.'),
    col('Volume', 'volumeName is the binding reference to the PersistentVolume backing this claim.'),
    col('Capacity', 'capacity represents the actual resources of the underlying volume.'),
    col('Access Modes', 'accessModes contains the actual access modes the volume backing the PVC has.'),
    col('StorageClass', 'StorageClass of the pvc'),
    col('VolumeAttributesClass', 'VolumeAttributesClass of the pvc'),
    AGE_COL,
    col('VolumeMode', 'volumeMode defines what type of volume is required by the claim.', { priority: 1 }),
  ],
  cells(pvc, now) {
    const spec = pvc.spec ?? {};
    const phase = pvc.metadata?.deletionTimestamp ? 'Terminating' : pvc.status?.phase ?? '';
    let capacity = '';
    let modes = '';
    if (spec.volumeName) {
      modes = accessModesString(pvc.status?.accessModes);
      capacity = quantity(pvc.status?.capacity?.storage);
    }
    return [
      pvc.metadata?.name ?? '',
      phase,
      spec.volumeName ?? '',
      capacity,
      modes,
      storageClassOf(pvc),
      spec.volumeAttributesClassName ?? '<unset>',
      since(pvc.metadata?.creationTimestamp, now),
      spec.volumeMode ?? '<unset>',
    ];
  },
};
