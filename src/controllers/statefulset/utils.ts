import type { KObject } from '../../api/types';
import { newControllerRef } from '../util/controller-ref';
import { CONTROLLER_HASH_LABEL, CONTROLLER_REVISION_HASH_LABEL, hashRevisionData, newControllerRevision, templateFromRevision, templatePatchData } from '../util/history';
import { isPodAvailable, isPodReady, podFromTemplate } from '../util/pod';

/**
 * Pure StatefulSet logic (Kubernetes' pkg/controller/statefulset: stateful_set_utils.go and the
 * decision part of stateful_set_control.go). `planStatefulSet` turns the current pods and the
 * current/update revisions into an ordered list of actions and the status to report; the
 * controller executes the actions in order and stops at the first failure.
 */

export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

const ORDINAL_RE = /^(.*)-([0-9]+)$/;

/** Parent name and ordinal from a pod name `<parent>-<ordinal>`; ordinal -1 when it has none. */
export function parentAndOrdinal(pod: KObject): { parent: string; ordinal: number } {
  const m = ORDINAL_RE.exec(pod.metadata.name ?? '');
  if (!m) return { parent: '', ordinal: -1 };
  const n = Number(m[2]);
  return Number.isSafeInteger(n) ? { parent: m[1], ordinal: n } : { parent: '', ordinal: -1 };
}

export function ordinalOf(pod: KObject): number {
  return parentAndOrdinal(pod).ordinal;
}

export function startOrdinal(set: KObject): number {
  const s = set.spec?.ordinals?.start;
  return typeof s === 'number' && s > 0 ? s : 0;
}

export function setReplicas(set: KObject): number {
  const r = set.spec?.replicas;
  return typeof r === 'number' ? r : 1;
}

export function podName(set: KObject, ordinal: number): string {
  return `${set.metadata.name}-${ordinal}`;
}

/** `<claim template>-<set>-<ordinal>` */
export function claimName(set: KObject, claimTemplate: string, ordinal: number): string {
  return `${claimTemplate}-${set.metadata.name}-${ordinal}`;
}

/** A pod belongs to the set when its name is `<set>-<ordinal>`. */
export function isMemberOf(set: KObject, pod: KObject): boolean {
  return parentAndOrdinal(pod).parent === set.metadata.name;
}

export function allowsBurst(set: KObject): boolean {
  return set.spec?.podManagementPolicy === 'Parallel';
}

export function podRevision(pod: KObject): string {
  return pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] ?? '';
}

/** A real pod (phase set), as opposed to one the plan would create. */
export function isCreated(pod: KObject): boolean {
  return !!pod.status?.phase;
}
export const isFailed = (p: KObject) => p.status?.phase === 'Failed';
export const isSucceeded = (p: KObject) => p.status?.phase === 'Succeeded';
export const isPending = (p: KObject) => p.status?.phase === 'Pending';
export const isTerminating = (p: KObject) => !!p.metadata.deletionTimestamp;
export const isRunningAndReady = (p: KObject) => p.status?.phase === 'Running' && isPodReady(p);
export function isRunningAndAvailable(p: KObject, minReadySeconds: number | undefined, nowMs: number): boolean {
  return p.status?.phase === 'Running' && isPodAvailable(p, minReadySeconds, nowMs);
}
export const isHealthy = (p: KObject) => isRunningAndReady(p) && !isTerminating(p);

/** The PersistentVolumeClaims a pod of the set uses, one per volumeClaimTemplate. */
export function claimsFor(set: KObject, ordinal: number): KObject[] {
  const selectorLabels: Record<string, string> = set.spec?.selector?.matchLabels ?? {};
  return (set.spec?.volumeClaimTemplates ?? []).map((t: KObject) => {
    const c = JSON.parse(JSON.stringify(t));
    delete c.status;
    return {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        ...(c.metadata ?? {}),
        name: claimName(set, t.metadata.name!, ordinal),
        namespace: set.metadata.namespace,
        labels: { ...(c.metadata?.labels ?? {}), ...selectorLabels },
      },
      spec: c.spec ?? {},
    } as KObject;
  });
}

/** Name, namespace and the pod-name/pod-index labels (`updateIdentity`). */
export function updateIdentity(set: KObject, pod: KObject): void {
  const ordinal = ordinalOf(pod);
  pod.metadata.name = podName(set, ordinal);
  pod.metadata.namespace = set.metadata.namespace;
  pod.metadata.labels = { ...(pod.metadata.labels ?? {}), [POD_NAME_LABEL]: pod.metadata.name!, [POD_INDEX_LABEL]: String(ordinal) };
}

export function identityMatches(set: KObject, pod: KObject): boolean {
  const { parent, ordinal } = parentAndOrdinal(pod);
  return (
    ordinal >= 0 &&
    parent === set.metadata.name &&
    pod.metadata.name === podName(set, ordinal) &&
    pod.metadata.namespace === set.metadata.namespace &&
    pod.metadata.labels?.[POD_NAME_LABEL] === pod.metadata.name
  );
}

/** Volumes named after each claim template pointing at the pod's claims (`updateStorage`). */
export function updateStorage(set: KObject, pod: KObject): void {
  const ordinal = ordinalOf(pod);
  const templates: KObject[] = set.spec?.volumeClaimTemplates ?? [];
  if (!templates.length) return;
  const names = new Set(templates.map((t) => t.metadata.name));
  const vols = templates.map((t) => ({ name: t.metadata.name, persistentVolumeClaim: { claimName: claimName(set, t.metadata.name!, ordinal) } }));
  for (const v of pod.spec?.volumes ?? []) if (!names.has(v.name)) vols.push(v);
  pod.spec.volumes = vols;
}

export function storageMatches(set: KObject, pod: KObject): boolean {
  const ordinal = ordinalOf(pod);
  if (ordinal < 0) return false;
  const vols = new Map<string, KObject>((pod.spec?.volumes ?? []).map((v: KObject) => [v.name, v]));
  for (const t of set.spec?.volumeClaimTemplates ?? []) {
    const v = vols.get(t.metadata.name);
    if (!v?.persistentVolumeClaim || v.persistentVolumeClaim.claimName !== claimName(set, t.metadata.name, ordinal)) return false;
  }
  return true;
}

/** `newStatefulSetPod`: pod `<set>-<ordinal>` from the template, with identity and storage. */
export function newStatefulSetPod(set: KObject, template: KObject['spec'], ordinal: number): KObject {
  const pod = podFromTemplate(template, set.metadata.name!, newControllerRef(set));
  pod.metadata.name = podName(set, ordinal);
  updateIdentity(set, pod);
  pod.spec.hostname = pod.metadata.name;
  if (set.spec?.serviceName) pod.spec.subdomain = set.spec.serviceName;
  updateStorage(set, pod);
  return pod;
}

/**
 * `newVersionedStatefulSetPod`: ordinals below the partition (or, without rollingUpdate, below
 * status.currentReplicas) are created at the current revision, the others at the update revision.
 */
export function newVersionedStatefulSetPod(set: KObject, current: KObject, update: KObject, ordinal: number): KObject {
  const us = set.spec?.updateStrategy;
  const useCurrent =
    us?.type === 'RollingUpdate' &&
    ((!us.rollingUpdate && ordinal < (set.status?.currentReplicas ?? 0)) || (us.rollingUpdate && ordinal < (us.rollingUpdate.partition ?? 0)));
  const rev = useCurrent ? current : update;
  const pod = newStatefulSetPod(set, templateFromRevision(rev) ?? set.spec.template, ordinal);
  pod.metadata.labels = { ...(pod.metadata.labels ?? {}), [CONTROLLER_REVISION_HASH_LABEL]: rev.metadata.name! };
  return pod;
}

/**
 * `newRevision`: the ControllerRevision for the set's current template — data is the
 * `$patch: replace` template patch, labels the template labels plus controller.kubernetes.io/hash,
 * annotations copied from the set, name `<set>-<hash>`.
 */
export function newStatefulSetRevision(set: KObject, revision: number, collisionCount: number): KObject {
  const data = templatePatchData(set.spec?.template);
  const hash = hashRevisionData(data, collisionCount);
  return newControllerRevision({
    owner: set,
    templateLabels: set.spec?.template?.metadata?.labels,
    extraLabels: (h) => ({ [CONTROLLER_HASH_LABEL]: h }),
    annotations: set.metadata.annotations,
    data,
    revision,
    hash,
  });
}

export interface StatefulSetStatus {
  observedGeneration?: number;
  replicas: number;
  readyReplicas: number;
  currentReplicas: number;
  updatedReplicas: number;
  availableReplicas: number;
  currentRevision: string;
  updateRevision: string;
  collisionCount: number;
}

export type StatefulSetAction =
  /** create the pod's missing claims, then the pod */
  | { kind: 'create'; pod: KObject }
  /** delete a pod: failed/finished (then recreated), condemned by scale-down, or outdated */
  | { kind: 'delete'; pod: KObject; why: 'failed' | 'succeeded' | 'scale-down' | 'update' }
  /** restore identity labels / claim volumes of an existing pod */
  | { kind: 'update'; pod: KObject }
  /** create missing claims of a pending pod */
  | { kind: 'claims'; pod: KObject };

export interface StatefulSetPlan {
  actions: StatefulSetAction[];
  status: StatefulSetStatus;
  /** why the plan stopped early (OrderedReady waiting), for logs and tests */
  waiting?: string;
}

function countStatus(status: StatefulSetStatus, pods: KObject[], minReadySeconds: number | undefined, nowMs: number): void {
  for (const p of pods) {
    if (isCreated(p)) status.replicas++;
    if (isRunningAndReady(p)) {
      status.readyReplicas++;
      if (isRunningAndAvailable(p, minReadySeconds, nowMs)) status.availableReplicas++;
    }
    if (isCreated(p) && !isTerminating(p)) {
      const rev = podRevision(p);
      if (rev === status.currentRevision) status.currentReplicas++;
      if (rev === status.updateRevision) status.updatedReplicas++;
    }
  }
}

/**
 * Decides what to do for one sync (`updateStatefulSet`):
 * 1. pods in [start, start+replicas): recreate failed/finished ones; create missing ones (with
 *    their claims first); restore identity/storage. OrderedReady handles one ordinal at a time and
 *    waits until each pod is Running, Ready and available; Parallel does all at once.
 * 2. condemned pods (ordinals outside the range), highest first; OrderedReady deletes one at a
 *    time and only when all others are healthy (the first unhealthy pod may go).
 * 3. RollingUpdate: from the highest ordinal down to the partition, delete one pod not at the
 *    update revision and wait for it to come back healthy. OnDelete: nothing.
 * A set being deleted only gets its status.
 */
export function planStatefulSet(set: KObject, pods: KObject[], current: KObject, update: KObject, collisionCount: number, nowMs: number): StatefulSetPlan {
  const minReady = set.spec?.minReadySeconds;
  const status: StatefulSetStatus = {
    observedGeneration: set.metadata.generation,
    replicas: 0,
    readyReplicas: 0,
    currentReplicas: 0,
    updatedReplicas: 0,
    availableReplicas: 0,
    currentRevision: current.metadata.name!,
    updateRevision: update.metadata.name!,
    collisionCount,
  };
  const start = startOrdinal(set);
  const count = setReplicas(set);
  const replicas: (KObject | undefined)[] = new Array(count).fill(undefined);
  const condemned: KObject[] = [];
  for (const p of pods) {
    const ord = ordinalOf(p);
    if (ord >= start && ord < start + count) {
      if (!replicas[ord - start]) replicas[ord - start] = p;
    } else if (ord >= 0) condemned.push(p);
  }
  for (let i = 0; i < count; i++) if (!replicas[i]) replicas[i] = newVersionedStatefulSetPod(set, current, update, start + i);
  const reps = replicas as KObject[];
  condemned.sort((a, b) => ordinalOf(b) - ordinalOf(a));

  let firstUnhealthy: KObject | undefined;
  for (const p of reps) if (!isHealthy(p) && !firstUnhealthy) firstUnhealthy = p;
  for (let i = condemned.length - 1; i >= 0; i--) if (!isHealthy(condemned[i]) && !firstUnhealthy) firstUnhealthy = condemned[i];

  const finish = (actions: StatefulSetAction[], waiting?: string): StatefulSetPlan => {
    countStatus(status, reps, minReady, nowMs);
    countStatus(status, condemned, minReady, nowMs);
    return { actions, status, waiting };
  };
  if (set.metadata.deletionTimestamp) return finish([]);

  const monotonic = !allowsBurst(set);
  const actions: StatefulSetAction[] = [];
  const updateSet = { ...set, spec: { ...set.spec, template: templateFromRevision(update) ?? set.spec.template } };

  // 1. replicas in range
  for (const p of reps) {
    if (isFailed(p) || isSucceeded(p)) {
      if (!isTerminating(p)) actions.push({ kind: 'delete', pod: p, why: isFailed(p) ? 'failed' : 'succeeded' });
      if (monotonic) return finish(actions, `pod ${p.metadata.name} finished; recreating it`);
      continue;
    }
    if (!isCreated(p)) {
      actions.push({ kind: 'create', pod: p });
      if (monotonic) return finish(actions, `creating pod ${p.metadata.name}`);
      continue;
    }
    if (isPending(p) && (set.spec?.volumeClaimTemplates ?? []).length) actions.push({ kind: 'claims', pod: p });
    if (monotonic) {
      if (isTerminating(p)) return finish(actions, `waiting for pod ${p.metadata.name} to terminate`);
      if (!isRunningAndReady(p)) return finish(actions, `waiting for pod ${p.metadata.name} to be Running and Ready`);
      if (!isRunningAndAvailable(p, minReady, nowMs)) return finish(actions, `waiting for pod ${p.metadata.name} to be available`);
    }
    if (identityMatches(set, p) && storageMatches(set, p)) continue;
    const fixed = JSON.parse(JSON.stringify(p));
    updateIdentity(updateSet, fixed);
    updateStorage(updateSet, fixed);
    actions.push({ kind: 'update', pod: fixed });
  }

  // 2. condemned pods, highest ordinal first
  for (const p of condemned) {
    if (isTerminating(p)) {
      if (monotonic) return finish(actions, `waiting for pod ${p.metadata.name} to terminate`);
      continue;
    }
    if (monotonic && p !== firstUnhealthy && (!isRunningAndReady(p) || !isRunningAndAvailable(p, minReady, nowMs))) {
      return finish(actions, `waiting for pod ${p.metadata.name} to be Running and Ready before scaling down`);
    }
    actions.push({ kind: 'delete', pod: p, why: 'scale-down' });
    if (monotonic) return finish(actions, `scaling down: deleting ${p.metadata.name}`);
  }

  // 3. rolling update
  const us = set.spec?.updateStrategy;
  if (us?.type === 'OnDelete') return finish(actions);
  const updateMin = us?.rollingUpdate?.partition ?? 0;
  for (let target = reps.length - 1; target >= updateMin; target--) {
    const p = reps[target];
    if (podRevision(p) !== update.metadata.name && !isTerminating(p)) {
      actions.push({ kind: 'delete', pod: p, why: 'update' });
      const plan = finish(actions, `updating pod ${p.metadata.name}`);
      plan.status.currentReplicas--;
      return plan;
    }
    if (!isHealthy(p)) return finish(actions, `waiting for pod ${p.metadata.name} to update`);
  }
  return finish(actions);
}

/** `completeRollingUpdate`: once every pod is updated and ready, the update revision is current. */
export function completeRollingUpdate(set: KObject, s: StatefulSetStatus): void {
  if (set.spec?.updateStrategy?.type === 'RollingUpdate' && s.updatedReplicas === s.replicas && s.readyReplicas === s.replicas) {
    s.currentReplicas = s.updatedReplicas;
    s.currentRevision = s.updateRevision;
  }
}

/** The status as Kubernetes serialises it (omitempty fields dropped when zero). */
export function serializeStatefulSetStatus(s: StatefulSetStatus, conditions?: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (s.observedGeneration) out.observedGeneration = s.observedGeneration;
  out.replicas = s.replicas;
  if (s.readyReplicas) out.readyReplicas = s.readyReplicas;
  if (s.currentReplicas) out.currentReplicas = s.currentReplicas;
  if (s.updatedReplicas) out.updatedReplicas = s.updatedReplicas;
  if (s.currentRevision) out.currentRevision = s.currentRevision;
  if (s.updateRevision) out.updateRevision = s.updateRevision;
  out.collisionCount = s.collisionCount;
  if (conditions && conditions.length) out.conditions = conditions;
  out.availableReplicas = s.availableReplicas;
  return out;
}
