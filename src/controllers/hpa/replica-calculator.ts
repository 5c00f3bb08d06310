import type { KObject } from '../../api/types';
import { tryParseQuantity } from '../../api/quantity';
import { findCondition, parseTime } from '../job/job-util';

/**
 * The HPA's replica arithmetic, as Kubernetes' `ReplicaCalculator` does it (values in milli-units:
 * millicores for cpu, milli-bytes for memory):
 *
 *   desired = ceil(currentReadyPods × usageRatio), unchanged when |1 - ratio| <= tolerance (0.1)
 *
 * with pods grouped first: deleted or Failed pods are ignored; Pending pods, and (cpu only) pods
 * not yet Ready or whose sample predates readiness within the 5-minute cpu initialisation
 * period, are "unready"; pods without a sample are "missing". When scaling up, unready pods count
 * as using 0; missing pods count as 0 on a scale-up and as 100% of their request (or the target
 * value) on a scale-down, and a recomputed ratio that changes direction keeps the current size.
 */

export const DEFAULT_TOLERANCE = 0.1;
export const CPU_INITIALIZATION_PERIOD_MS = 5 * 60_000;
export const DELAY_OF_INITIAL_READINESS_MS = 30_000;

export class ReplicaCalcError extends Error {}

/** One metric sample per pod: total usage of its containers (milli-units). */
export interface PodSample {
  value: number;
  timestamp: number;
  windowMs: number;
}

export interface CalcOptions {
  tolerance?: number;
  now: number;
  cpuInitializationPeriodMs?: number;
  delayOfInitialReadinessMs?: number;
}

export interface PodGroups {
  readyPodCount: number;
  unready: Set<string>;
  missing: Set<string>;
  ignored: Set<string>;
}

export function groupPods(pods: KObject[], metrics: Map<string, PodSample>, resource: string, o: CalcOptions): PodGroups {
  const g: PodGroups = { readyPodCount: 0, unready: new Set(), missing: new Set(), ignored: new Set() };
  const initPeriod = o.cpuInitializationPeriodMs ?? CPU_INITIALIZATION_PERIOD_MS;
  const initialReadiness = o.delayOfInitialReadinessMs ?? DELAY_OF_INITIAL_READINESS_MS;
  for (const p of pods) {
    const name = p.metadata.name!;
    if (p.metadata.deletionTimestamp || p.status?.phase === 'Failed') {
      g.ignored.add(name);
      continue;
    }
    if (p.status?.phase === 'Pending' || p.status?.phase === undefined) {
      g.unready.add(name);
      continue;
    }
    const m = metrics.get(name);
    if (!m) {
      g.missing.add(name);
      continue;
    }
    if (resource === 'cpu') {
      const cond = findCondition(p.status?.conditions, 'Ready');
      const start = parseTime(p.status?.startTime);
      let unready: boolean;
      if (!cond || start === undefined) unready = true;
      else {
        const transition = parseTime(cond.lastTransitionTime) ?? 0;
        if (start + initPeriod > o.now) {
          unready = cond.status === 'False' || m.timestamp < transition + m.windowMs;
        } else {
          unready = cond.status === 'False' && start + initialReadiness > transition;
        }
      }
      if (unready) {
        g.unready.add(name);
        continue;
      }
    }
    g.readyPodCount++;
  }
  return g;
}

/** Sum of the containers' requests of `resource` per pod (milli-units). Throws when one lacks it. */
export function podRequests(pods: KObject[], resource: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of pods) {
    let sum = 0;
    for (const c of p.spec?.containers ?? []) {
      const q = tryParseQuantity(c.resources?.requests?.[resource]);
      if (q === undefined) throw new ReplicaCalcError(`missing request for ${resource} in container ${c.name} of Pod ${p.metadata.name}`);
      sum += Math.round(q * 1000);
    }
    out.set(p.metadata.name!, sum);
  }
  return out;
}

/** Kubernetes' GetResourceUtilizationRatio: integer utilization (percent) over pods with samples. */
export function utilizationRatio(metrics: Map<string, number>, requests: Map<string, number>, targetUtilization: number): { ratio: number; utilization: number; rawAverage: number } {
  let total = 0;
  let reqTotal = 0;
  let n = 0;
  for (const [pod, v] of metrics) {
    const r = requests.get(pod);
    if (r === undefined) continue;
    total += v;
    reqTotal += r;
    n++;
  }
  if (reqTotal === 0) throw new ReplicaCalcError('no metrics returned matched known pods');
  const utilization = Math.trunc((total * 100) / reqTotal);
  return { ratio: utilization / targetUtilization, utilization, rawAverage: Math.trunc(total / n) };
}

/** Kubernetes' GetMetricUsageRatio: the average per pod over the target average. */
export function usageRatio(metrics: Map<string, number>, target: number): { ratio: number; average: number } {
  let total = 0;
  for (const v of metrics.values()) total += v;
  const average = Math.trunc(total / metrics.size);
  return { ratio: average / target, average };
}

export interface ResourceProposal {
  replicas: number;
  /** percent of request (Utilization targets) */
  utilization?: number;
  /** average usage per pod, milli-units */
  rawAverage: number;
  timestamp: number;
}

function earliest(metrics: Map<string, PodSample>): number {
  let t = Infinity;
  for (const m of metrics.values()) t = Math.min(t, m.timestamp);
  return Number.isFinite(t) ? t : 0;
}

/** Replicas for a Resource metric with a Utilization target (percent of request). */
export function resourceReplicas(current: number, targetUtilization: number, resource: string, pods: KObject[], samples: Map<string, PodSample>, o: CalcOptions): ResourceProposal {
  const tol = o.tolerance ?? DEFAULT_TOLERANCE;
  if (pods.length === 0) throw new ReplicaCalcError('no pods returned by selector while calculating replica count');
  const g = groupPods(pods, samples, resource, o);
  const metrics = new Map<string, number>();
  for (const [k, v] of samples) if (!g.ignored.has(k) && !g.unready.has(k)) metrics.set(k, v.value);
  if (metrics.size === 0) throw new ReplicaCalcError('did not receive metrics for targeted pods (pods might be unready)');
  const requests = podRequests(pods, resource);
  const ts = earliest(samples);
  const { ratio, utilization, rawAverage } = utilizationRatio(metrics, requests, targetUtilization);
  const scaleUpWithUnready = g.unready.size > 0 && ratio > 1.0;
  if (!scaleUpWithUnready && g.missing.size === 0) {
    if (Math.abs(1.0 - ratio) <= tol) return { replicas: current, utilization, rawAverage, timestamp: ts };
    return { replicas: Math.ceil(ratio * g.readyPodCount), utilization, rawAverage, timestamp: ts };
  }
  if (g.missing.size > 0) {
    if (ratio < 1.0) {
      const fallback = Math.max(100, targetUtilization);
      for (const name of g.missing) metrics.set(name, Math.trunc((requests.get(name)! * fallback) / 100));
    } else if (ratio > 1.0) {
      for (const name of g.missing) metrics.set(name, 0);
    }
  }
  if (scaleUpWithUnready) for (const name of g.unready) metrics.set(name, 0);
  const again = utilizationRatio(metrics, requests, targetUtilization).ratio;
  if (Math.abs(1.0 - again) <= tol || (ratio < 1.0 && again > 1.0) || (ratio > 1.0 && again < 1.0)) {
    return { replicas: current, utilization, rawAverage, timestamp: ts };
  }
  const replicas = Math.ceil(again * metrics.size);
  if ((again < 1.0 && replicas > current) || (again > 1.0 && replicas < current)) return { replicas: current, utilization, rawAverage, timestamp: ts };
  return { replicas, utilization, rawAverage, timestamp: ts };
}

/** Replicas for a Resource metric with an AverageValue target (milli-units per pod). */
export function averageValueReplicas(current: number, targetAverage: number, resource: string, pods: KObject[], samples: Map<string, PodSample>, o: CalcOptions): ResourceProposal {
  const tol = o.tolerance ?? DEFAULT_TOLERANCE;
  if (pods.length === 0) throw new ReplicaCalcError('no pods returned by selector while calculating replica count');
  const g = groupPods(pods, samples, resource, o);
  const metrics = new Map<string, number>();
  for (const [k, v] of samples) if (!g.ignored.has(k) && !g.unready.has(k)) metrics.set(k, v.value);
  if (metrics.size === 0) throw new ReplicaCalcError('did not receive metrics for targeted pods (pods might be unready)');
  const ts = earliest(samples);
  const { ratio, average } = usageRatio(metrics, targetAverage);
  const scaleUpWithUnready = g.unready.size > 0 && ratio > 1.0;
  if (!scaleUpWithUnready && g.missing.size === 0) {
    if (Math.abs(1.0 - ratio) <= tol) return { replicas: current, rawAverage: average, timestamp: ts };
    return { replicas: Math.ceil(ratio * g.readyPodCount), rawAverage: average, timestamp: ts };
  }
  if (g.missing.size > 0) {
    if (ratio < 1.0) for (const name of g.missing) metrics.set(name, targetAverage);
    else for (const name of g.missing) metrics.set(name, 0);
  }
  if (scaleUpWithUnready) for (const name of g.unready) metrics.set(name, 0);
  const again = usageRatio(metrics, targetAverage).ratio;
  if (Math.abs(1.0 - again) <= tol || (ratio < 1.0 && again > 1.0) || (ratio > 1.0 && again < 1.0)) {
    return { replicas: current, rawAverage: average, timestamp: ts };
  }
  const replicas = Math.ceil(again * metrics.size);
  if ((again < 1.0 && replicas > current) || (again > 1.0 && replicas < current)) return { replicas: current, rawAverage: average, timestamp: ts };
  return { replicas, rawAverage: average, timestamp: ts };
}

// ---- normalisation: stabilization window, rate limits, min/max ----------------------------------

export interface Recommendation {
  replicas: number;
  at: number;
}

export interface ScaleEvent {
  change: number;
  at: number;
}

export interface ScalingPolicy {
  type: 'Pods' | 'Percent' | string;
  value: number;
  periodSeconds: number;
}

export interface ScalingRules {
  stabilizationWindowSeconds?: number;
  selectPolicy?: 'Max' | 'Min' | 'Disabled' | string;
  policies?: ScalingPolicy[];
}

export interface Limited {
  replicas: number;
  reason: string;
  message: string;
}

/** `max(2 × current, 4)`: the legacy scale-up limit used without `spec.behavior`. */
export function scaleUpLimit(current: number): number {
  return Math.max(2 * current, 4);
}

/** Clamps to [min, max] and the legacy scale-up limit; the reason feeds the ScalingLimited condition. */
export function convertDesiredWithRules(current: number, desired: number, min: number, max: number): Limited {
  let maxAllowed: number;
  let reason: string;
  let message: string;
  const limit = scaleUpLimit(current);
  if (max > limit) {
    maxAllowed = limit;
    reason = 'ScaleUpLimit';
    message = 'the desired replica count is increasing faster than the maximum scale rate';
  } else {
    maxAllowed = max;
    reason = 'TooManyReplicas';
    message = 'the desired replica count is more than the maximum replica count';
  }
  if (desired < min) return { replicas: min, reason: 'TooFewReplicas', message: 'the desired replica count is less than the minimum replica count' };
  if (desired > maxAllowed) return { replicas: maxAllowed, reason, message };
  return { replicas: desired, reason: 'DesiredWithinRange', message: 'the desired count is within the acceptable range' };
}

/** Without behavior: the highest recommendation within the downscale window (recording `desired`). */
export function stabilize(history: Recommendation[], desired: number, now: number, windowMs: number): { replicas: number; history: Recommendation[] } {
  let max = desired;
  const kept = history.filter((r) => r.at > now - windowMs);
  for (const r of kept) if (r.replicas > max) max = r.replicas;
  return { replicas: max, history: [...kept, { replicas: desired, at: now }] };
}

/**
 * With behavior: stabilize between the lowest recommendation of the scale-up window and the
 * highest of the scale-down window (Kubernetes' stabilizeRecommendationWithBehaviors).
 */
export function stabilizeWithBehavior(
  history: Recommendation[],
  current: number,
  desired: number,
  now: number,
  upWindowMs: number,
  downWindowMs: number,
): { replicas: number; reason: string; message: string; history: Recommendation[] } {
  let up = desired;
  let down = desired;
  const upCutoff = now - upWindowMs;
  const downCutoff = now - downWindowMs;
  for (const r of history) {
    if (r.at > upCutoff) up = Math.min(up, r.replicas);
    if (r.at > downCutoff) down = Math.max(down, r.replicas);
  }
  let replicas = current;
  if (replicas < up) replicas = up;
  if (replicas > down) replicas = down;
  const keep = history.filter((r) => r.at > Math.min(upCutoff, downCutoff));
  const up1 = desired >= current;
  return {
    replicas,
    reason: up1 ? 'ScaleUpStabilized' : 'ScaleDownStabilized',
    message: up1 ? 'recent recommendations were lower than current one, applying the lowest recent recommendation' : 'recent recommendations were higher than current one, applying the highest recent recommendation',
    history: [...keep, { replicas: desired, at: now }],
  };
}

function changeInPeriod(events: ScaleEvent[], periodSeconds: number, now: number): number {
  const from = now - periodSeconds * 1000;
  let n = 0;
  for (const e of events) if (e.at > from) n += e.change;
  return n;
}

export function scaleUpLimitWithRules(current: number, upEvents: ScaleEvent[], downEvents: ScaleEvent[], rules: ScalingRules, now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const useMin = rules.selectPolicy === 'Min';
  let result = useMin ? Infinity : -Infinity;
  for (const p of rules.policies ?? []) {
    const start = current - changeInPeriod(upEvents, p.periodSeconds, now) + changeInPeriod(downEvents, p.periodSeconds, now);
    const proposed = p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    result = useMin ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return Number.isFinite(result) ? result : current;
}

export function scaleDownLimitWithRules(current: number, upEvents: ScaleEvent[], downEvents: ScaleEvent[], rules: ScalingRules, now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const useMin = rules.selectPolicy === 'Min';
  let result = useMin ? -Infinity : Infinity;
  for (const p of rules.policies ?? []) {
    const start = current - changeInPeriod(upEvents, p.periodSeconds, now) + changeInPeriod(downEvents, p.periodSeconds, now);
    const proposed = p.type === 'Pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100));
    result = useMin ? Math.max(result, proposed) : Math.min(result, proposed);
  }
  return Number.isFinite(result) ? result : current;
}

/** Kubernetes' convertDesiredReplicasWithBehaviorRate. */
export function convertDesiredWithBehaviorRate(
  current: number,
  desired: number,
  min: number,
  max: number,
  up: ScalingRules,
  down: ScalingRules,
  upEvents: ScaleEvent[],
  downEvents: ScaleEvent[],
  now: number,
): Limited {
  if (desired > current) {
    let limit = scaleUpLimitWithRules(current, upEvents, downEvents, up, now);
    if (limit < current) limit = current;
    let maxAllowed = max;
    let reason = 'TooManyReplicas';
    let message = 'the desired replica count is more than the maximum replica count';
    if (maxAllowed > limit) {
      maxAllowed = limit;
      reason = 'ScaleUpLimit';
      message = 'the desired replica count is increasing faster than the maximum scale rate';
    }
    if (desired > maxAllowed) return { replicas: maxAllowed, reason, message };
  } else if (desired < current) {
    let limit = scaleDownLimitWithRules(current, upEvents, downEvents, down, now);
    if (limit > current) limit = current;
    let minAllowed = min;
    let reason = 'TooFewReplicas';
    let message = 'the desired replica count is less than the minimum replica count';
    if (minAllowed < limit) {
      minAllowed = limit;
      reason = 'ScaleDownLimit';
      message = 'the desired replica count is decreasing faster than the maximum scale rate';
    }
    if (desired < minAllowed) return { replicas: minAllowed, reason, message };
  }
  return { replicas: desired, reason: 'DesiredWithinRange', message: 'the desired count is within the acceptable range' };
}

/** spec.behavior with Kubernetes' defaults filled in (scale-down window: `downWindowSeconds`). */
export function behaviorWithDefaults(b: { scaleUp?: ScalingRules; scaleDown?: ScalingRules } | undefined, downWindowSeconds: number): { scaleUp: Required<ScalingRules>; scaleDown: Required<ScalingRules> } {
  const up = b?.scaleUp ?? {};
  const down = b?.scaleDown ?? {};
  return {
    scaleUp: {
      stabilizationWindowSeconds: up.stabilizationWindowSeconds ?? 0,
      selectPolicy: up.selectPolicy ?? 'Max',
      policies: up.policies ?? [
        { type: 'Pods', value: 4, periodSeconds: 15 },
        { type: 'Percent', value: 100, periodSeconds: 15 },
      ],
    },
    scaleDown: {
      stabilizationWindowSeconds: down.stabilizationWindowSeconds ?? downWindowSeconds,
      selectPolicy: down.selectPolicy ?? 'Max',
      policies: down.policies ?? [{ type: 'Percent', value: 100, periodSeconds: 15 }],
    },
  };
}
