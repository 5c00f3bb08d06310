import type { KObject } from '../../../src/api/types';
import { CycleState, type Handle } from '../../../src/scheduler/framework';
import { NodeInfo } from '../../../src/scheduler/node-info';
import { newPodInfo, type PodInfo } from '../../../src/scheduler/pod-info';
import { SchedulerCache } from '../../../src/scheduler/cache';

/** Builders for scheduler unit tests: plain Node/Pod objects, NodeInfos and a cache-backed Handle. */
export interface NodeOpts {
  cpu?: string;
  memory?: string;
  pods?: string;
  storage?: string;
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
  unschedulable?: boolean;
  ready?: 'True' | 'False' | 'Unknown' | null;
  images?: { names: string[]; sizeBytes: number }[];
  extra?: Record<string, string>;
}

export function node(name: string, o: NodeOpts = {}): KObject {
  const alloc: Record<string, string> = { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: o.pods ?? '110', ...(o.storage ? { 'ephemeral-storage': o.storage } : {}), ...(o.extra ?? {}) };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, uid: `uid-${name}`, labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) } },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    status: {
      capacity: alloc,
      allocatable: alloc,
      conditions: o.ready === null ? [] : [{ type: 'Ready', status: o.ready ?? 'True' }],
      ...(o.images ? { images: o.images } : {}),
    },
  };
}

let seq = 0;
export function pod(name: string, spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KObject {
  const containers = (spec.containers as unknown[]) ?? [{ name: 'c', image: 'busybox' }];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${name}-${++seq}`, creationTimestamp: '2024-01-01T00:00:00Z', ...meta },
    spec: { ...spec, containers },
    status: { phase: 'Pending' },
  };
}

export function req(cpu?: string, memory?: string, extra: Record<string, string> = {}): { name: string; image: string; resources: { requests: Record<string, string> } } {
  const r: Record<string, string> = { ...extra };
  if (cpu) r.cpu = cpu;
  if (memory) r.memory = memory;
  return { name: 'c' + ++seq, image: 'busybox', resources: { requests: r } };
}

export function nodeInfo(n: KObject, pods: KObject[] = []): NodeInfo {
  const ni = new NodeInfo(n.metadata.name!);
  ni.setNode(n);
  for (const p of pods) ni.addPod(newPodInfo({ ...p, spec: { ...p.spec, nodeName: n.metadata.name } }));
  return ni;
}

export function info(p: KObject): PodInfo {
  return newPodInfo(p);
}

/** A cache with the given nodes and bound pods ([pod, nodeName]) and a Handle over it. */
export function cluster(nodes: KObject[], bound: [KObject, string][] = [], nsLabels: Record<string, Record<string, string>> = {}): { cache: SchedulerCache; handle: Handle } {
  const cache = new SchedulerCache();
  for (const n of nodes) cache.setNode(n);
  for (const [p, n] of bound) cache.addOrUpdatePod(newPodInfo({ ...p, spec: { ...p.spec, nodeName: n } }));
  const handle: Handle = {
    nodeInfos: () => cache.nodeInfos(),
    nodeInfo: (name) => cache.nodeInfo(name),
    namespaceLabels: (ns) => nsLabels[ns],
    defaultSpreadSelector: () => null,
    imageNodeCount: (i) => cache.imageNodeCount(i),
    havePodsWithAffinity: () => cache.havePodsWithAffinity(),
    havePodsWithRequiredAntiAffinity: () => cache.havePodsWithRequiredAntiAffinity(),
  };
  return { cache, handle };
}

export function state(): CycleState {
  return new CycleState();
}
