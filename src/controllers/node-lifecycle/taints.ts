import type { KObject } from '../../api/types';

/**
 * Taints and tolerations as the node lifecycle controller and taint-based eviction use them.
 */

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
export const TAINT_MEMORY_PRESSURE = 'node.kubernetes.io/memory-pressure';
export const TAINT_DISK_PRESSURE = 'node.kubernetes.io/disk-pressure';
export const TAINT_PID_PRESSURE = 'node.kubernetes.io/pid-pressure';
export const TAINT_NETWORK_UNAVAILABLE = 'node.kubernetes.io/network-unavailable';

/** Taint keys this controller owns (added and removed from node conditions / spec). */
export const MANAGED_TAINT_KEYS = new Set([TAINT_NOT_READY, TAINT_UNREACHABLE, TAINT_UNSCHEDULABLE, TAINT_MEMORY_PRESSURE, TAINT_DISK_PRESSURE, TAINT_PID_PRESSURE, TAINT_NETWORK_UNAVAILABLE]);

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' | string;
  timeAdded?: string;
}

export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal' | string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number | null;
}

/** Kubernetes' `Toleration.ToleratesTaint`. */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (!t.key && t.operator !== 'Exists') return false;
  const op = t.operator || 'Equal';
  if (op === 'Exists') return true;
  if (op === 'Equal') return (t.value ?? '') === (taint.value ?? '');
  return false;
}

export function podTolerations(p: KObject): Toleration[] {
  return Array.isArray(p.spec?.tolerations) ? p.spec.tolerations : [];
}

/**
 * When a pod must leave a node with these NoExecute taints, in ms since the epoch:
 * `null` = never (every taint tolerated without tolerationSeconds), else the earliest of, per
 * taint, its timeAdded plus the smallest tolerationSeconds among matching tolerations (0 when
 * no toleration matches; never when none of them has tolerationSeconds). `capMs(taint)` may shorten a toleration (the node lifecycle
 * controller caps not-ready/unreachable at its pod eviction timeout).
 */
export function evictionDeadline(pod: KObject, noExecute: Taint[], fallbackAdded: number, capMs: (t: Taint) => number | undefined): number | null {
  const tols = podTolerations(pod);
  let deadline: number | null = null;
  for (const taint of noExecute) {
    const added = taint.timeAdded ? Date.parse(taint.timeAdded) : NaN;
    const start = Number.isNaN(added) ? fallbackAdded : added;
    const matching = tols.filter((t) => tolerates(t, taint));
    let ms: number | undefined;
    if (matching.length === 0) ms = 0;
    else {
      const secs = matching.map((t) => t.tolerationSeconds).filter((s): s is number => typeof s === 'number');
      // the smallest tolerationSeconds wins; only tolerations all without seconds tolerate forever
      if (secs.length > 0) ms = Math.max(0, Math.min(...secs)) * 1000;
    }
    const cap = capMs(taint);
    if (cap !== undefined && (ms === undefined || ms > cap)) {
      // a forever-toleration is not capped (DaemonSet pods must stay)
      if (ms !== undefined) ms = cap;
    }
    if (ms === undefined) continue;
    const at = start + ms;
    if (deadline === null || at < deadline) deadline = at;
  }
  return deadline;
}
