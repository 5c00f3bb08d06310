import type { KObject } from '../../api/types';
import { parseApiVersion, resourceFor, resourceForKind, type ResourceInfo } from '../../api/scheme';
import { formatQuantity, tryParseQuantity } from '../../api/quantity';
import { fromLabelSelector, matchesLabels } from '../../api/selectors';
import { Controller } from '../../controller/controller';
import { NotFoundError } from '../../util/errors';
import { deepEqual } from '../../util/equal';
import type { ResourceMetricsProvider } from '../../apiserver/metrics/collector';
import type { ControllerContext } from '../context';
import { rfc3339 } from '../job/job-util';
import { DelayedRequeue } from '../job/requeue';
import {
  averageValueReplicas,
  behaviorWithDefaults,
  convertDesiredWithBehaviorRate,
  convertDesiredWithRules,
  ReplicaCalcError,
  resourceReplicas,
  stabilize,
  stabilizeWithBehavior,
  type PodSample,
  type Recommendation,
  type ScaleEvent,
} from './replica-calculator';

/**
 * The HorizontalPodAutoscaler controller (autoscaling/v2), as kube-controller-manager's:
 * every `hpaSyncPeriodMs` (default 15 s, on the injected clock) and on HPA changes it reads the
 * target's scale (Deployment, ReplicaSet or StatefulSet: spec.replicas and spec.selector), the
 * pods' latest usage from the metrics pipeline (ResourceMetricsProvider) and computes, per
 * `Resource` metric (cpu or memory; `Utilization` of requests or `AverageValue`), a proposal
 * (see replica-calculator.ts); the largest wins. Without `spec.behavior` the proposal is
 * stabilized over the downscale window (default 300 s, `hpaDownscaleStabilizationMs`) and the
 * scale-up is limited to max(2 × current, 4); with it the behavior's windows and policies apply.
 * min/max bound the result. A new size is written to the target's spec.replicas (the scale
 * subresource's field) with event SuccessfulRescale "New size: N; reason: …".
 * Status: currentReplicas, desiredReplicas, currentMetrics, lastScaleTime, observedGeneration and
 * the conditions AbleToScale, ScalingActive, ScalingLimited with Kubernetes' reasons.
 * Metric types other than Resource are reported invalid (FailedGetResourceMetric-style).
 */
export interface HpaControllerOptions {
  metrics: ResourceMetricsProvider;
  syncPeriodMs?: number;
  downscaleStabilizationMs?: number;
  tolerance?: number;
}

interface Cond {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
  lastTransitionTime?: string;
}

/** One entry of spec.metrics (autoscaling/v2), as far as this controller reads it. */
interface MetricSpec {
  type?: string;
  resource?: { name: string; target?: { type?: string; averageUtilization?: number; averageValue?: string | number } };
  [k: string]: unknown;
}

interface MetricResult {
  replicas: number;
  name: string;
  status: Record<string, unknown>;
  timestamp: number;
}

function numSetting(v: unknown, dflt: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : dflt;
}

export function hpaController(ctx: ControllerContext, opts: HpaControllerOptions): Controller {
  const { registry, clock } = ctx;
  const log = ctx.log.child('horizontal-pod-autoscaler');
  const recorder = ctx.recorder('horizontal-pod-autoscaler');
  const hpaRI = resourceFor('autoscaling', 'horizontalpodautoscalers')!;
  const hpas = ctx.informers.for(hpaRI);
  const pods = ctx.informers.for(resourceFor('', 'pods')!);
  const period = opts.syncPeriodMs ?? numSetting(ctx.settings.hpaSyncPeriodMs, 15_000);
  const downWindow = opts.downscaleStabilizationMs ?? numSetting(ctx.settings.hpaDownscaleStabilizationMs, 300_000);
  const tolerance = opts.tolerance ?? numSetting(ctx.settings.hpaTolerance, 0.1);
  const recommendations = new Map<string, Recommendation[]>();
  const upEvents = new Map<string, ScaleEvent[]>();
  const downEvents = new Map<string, ScaleEvent[]>();
  let requeue: DelayedRequeue;

  const targetResource = (ref: { apiVersion?: string; kind?: string }): ResourceInfo | undefined => {
    const gv = parseApiVersion(ref.apiVersion ?? '');
    const ri = resourceForKind(gv.group, ref.kind ?? '');
    return ri && ri.subresources.includes('scale') ? ri : undefined;
  };

  const reconcile = (key: string): void => {
    const [ns, name] = key.split('/');
    const hpa = hpas.get(ns, name);
    if (!hpa) {
      recommendations.delete(key);
      upEvents.delete(key);
      downEvents.delete(key);
      requeue.forget(key);
      return;
    }
    requeue.after(key, period);
    const now = clock.now();
    const nowStr = rfc3339(now);
    const spec = hpa.spec ?? {};
    let conds: Cond[] = hpa.status?.conditions ?? [];
    const setCond = (type: string, status: 'True' | 'False', reason: string, message: string) => {
      const prev = conds.find((c) => c.type === type);
      const c: Cond = { type, status, lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : nowStr, reason, message };
      conds = prev ? conds.map((x) => (x.type === type ? c : x)) : [...conds, c];
    };
    const writeStatus = (status: Record<string, unknown>) => {
      const next = JSON.parse(JSON.stringify({ ...status, conditions: conds }));
      if (deepEqual(next, hpa.status ?? {})) return;
      registry.guaranteedUpdate(
        hpaRI,
        ns,
        name,
        (cur) => {
          if (cur.metadata.uid !== hpa.metadata.uid) throw new NotFoundError('horizontalpodautoscalers.autoscaling', name, 'autoscaling');
          cur.status = next;
          return cur;
        },
        { subresource: 'status' },
      );
    };
    const base = { observedGeneration: hpa.metadata.generation, lastScaleTime: hpa.status?.lastScaleTime };

    // 1. The target's scale.
    const ref = spec.scaleTargetRef ?? {};
    const ri = targetResource(ref);
    const target = ri ? registry.tryGet(ri, ns, ref.name) : undefined;
    if (!ri || !target) {
      const what = ri ? `${ri.resource}${ri.group ? '.' + ri.group : ''} "${ref.name}" not found` : `no matches for kind "${ref.kind}" in group "${parseApiVersion(ref.apiVersion ?? '').group}"`;
      const msg = `the HPA controller was unable to get the target's current scale: ${what}`;
      recorder.event(hpa, 'Warning', 'FailedGetScale', what);
      setCond('AbleToScale', 'False', 'FailedGetScale', msg);
      writeStatus({ ...base, currentReplicas: hpa.status?.currentReplicas ?? 0, desiredReplicas: hpa.status?.desiredReplicas ?? 0, currentMetrics: hpa.status?.currentMetrics });
      return;
    }
    setCond('AbleToScale', 'True', 'SucceededGetScale', "the HPA controller was able to get the target's current scale");
    const current: number = typeof target.spec?.replicas === 'number' ? target.spec.replicas : 1;
    const minReplicas: number = typeof spec.minReplicas === 'number' ? spec.minReplicas : 1;
    const maxReplicas: number = spec.maxReplicas;
    if (!recommendations.has(key)) recommendations.set(key, [{ replicas: current, at: now }]);

    let desired = 0;
    let rescaleReason = '';
    let metricStatuses: Record<string, unknown>[] | undefined = hpa.status?.currentMetrics;
    if (current === 0 && minReplicas !== 0) {
      setCond('ScalingActive', 'False', 'ScalingDisabled', 'scaling is disabled since the replica count of the target is zero');
    } else if (current > maxReplicas) {
      rescaleReason = 'Current number of replicas above Spec.MaxReplicas';
      desired = maxReplicas;
    } else if (current < minReplicas) {
      rescaleReason = 'Current number of replicas below Spec.MinReplicas';
      desired = minReplicas;
    } else {
      const r = computeForMetrics(hpa, target, current, now, setCond);
      metricStatuses = r.statuses;
      if (r.error !== undefined) {
        recorder.event(hpa, 'Warning', 'FailedComputeMetricsReplicas', r.error);
        writeStatus({ ...base, currentReplicas: current, desiredReplicas: hpa.status?.desiredReplicas ?? current, currentMetrics: metricStatuses.length ? metricStatuses : undefined });
        return;
      }
      desired = r.replicas;
      if (desired > current) rescaleReason = `${r.metricName} above target`;
      if (desired < current) rescaleReason = 'All metrics below target';
      desired = normalize(key, hpa, current, desired, minReplicas, maxReplicas, now, setCond);
    }

    let lastScaleTime = hpa.status?.lastScaleTime;
    if (desired !== current && !(current === 0 && minReplicas !== 0)) {
      try {
        registry.guaranteedUpdate(ri, ns, ref.name, (cur) => {
          if (cur.metadata.uid !== target.metadata.uid) throw new NotFoundError(ri.resource, ref.name, ri.group);
          cur.spec = { ...(cur.spec ?? {}), replicas: desired };
          return cur;
        });
      } catch (e) {
        setCond('AbleToScale', 'False', 'FailedUpdateScale', `the HPA controller was unable to update the target scale: ${(e as Error).message}`);
        recorder.event(hpa, 'Warning', 'FailedRescale', `New size: ${desired}; reason: ${rescaleReason}; error: ${(e as Error).message}`);
        writeStatus({ ...base, currentReplicas: current, desiredReplicas: current, currentMetrics: metricStatuses?.length ? metricStatuses : undefined });
        throw e;
      }
      setCond('AbleToScale', 'True', 'SucceededRescale', `the HPA controller was able to update the target scale to ${desired}`);
      recorder.event(hpa, 'Normal', 'SuccessfulRescale', `New size: ${desired}; reason: ${rescaleReason}`);
      log.info('rescaled', { hpa: key, from: current, to: desired, reason: rescaleReason });
      const evs = desired > current ? upEvents : downEvents;
      evs.set(key, [...(evs.get(key) ?? []).filter((e) => e.at > now - 1800_000), { change: Math.abs(desired - current), at: now }]);
      lastScaleTime = nowStr;
    } else {
      desired = current === 0 && minReplicas !== 0 ? 0 : desired;
    }
    writeStatus({
      ...base,
      lastScaleTime,
      currentReplicas: current,
      desiredReplicas: desired,
      currentMetrics: metricStatuses?.length ? metricStatuses : undefined,
    });
  };

  /** Kubernetes' computeReplicasForMetrics over the Resource metrics. */
  const computeForMetrics = (
    hpa: KObject,
    target: KObject,
    current: number,
    now: number,
    setCond: (type: string, status: 'True' | 'False', reason: string, message: string) => void,
  ): { replicas: number; metricName: string; statuses: Record<string, unknown>[]; error?: string } => {
    const specs: MetricSpec[] = hpa.spec?.metrics?.length ? hpa.spec.metrics : [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }];
    const statuses: Record<string, unknown>[] = [];
    let replicas = 0;
    let metricName = '';
    let invalid = 0;
    let firstError: string | undefined;
    let firstCond: [string, string] | undefined;
    for (const m of specs) {
      try {
        const r = computeResourceMetric(hpa, target, m, current, now);
        statuses.push(r.status);
        if (replicas === 0 || r.replicas > replicas) {
          replicas = r.replicas;
          metricName = r.name;
        }
      } catch (e) {
        statuses.push({ type: '' });
        const msg = (e as Error).message;
        const reason = m.type === 'Resource' ? 'FailedGetResourceMetric' : `FailedGet${m.type ?? ''}Metric`;
        recorder.event(hpa, 'Warning', reason, msg);
        if (invalid === 0) {
          firstError = msg;
          firstCond = [reason, `the HPA was unable to compute the replica count: ${msg}`];
        }
        invalid++;
      }
    }
    const valid = statuses.filter((s) => s.type !== '');
    if (invalid >= specs.length || (invalid > 0 && replicas < current)) {
      setCond('ScalingActive', 'False', firstCond![0], firstCond![1]);
      return { replicas: -1, metricName: '', statuses: valid, error: `invalid metrics (${invalid} invalid out of ${specs.length}), first error is: ${firstError}` };
    }
    setCond('ScalingActive', 'True', 'ValidMetricFound', `the HPA was able to successfully calculate a replica count from ${metricName}`);
    return { replicas, metricName, statuses: valid };
  };

  const computeResourceMetric = (hpa: KObject, target: KObject, m: MetricSpec, current: number, now: number): MetricResult => {
    if (m.type !== 'Resource' || !m.resource) throw new Error(`unable to get metric ${m.type ?? 'unknown'}: only Resource metrics are supported by this cluster`);
    const resource: string = m.resource.name;
    const t = m.resource.target ?? {};
    if (resource !== 'cpu' && resource !== 'memory') throw new Error(`failed to get ${resource} utilization: unable to get metrics for resource ${resource}: no metrics returned from resource metrics API`);
    const sel = fromLabelSelector(target.spec?.selector);
    if (!sel) throw new Error('failed to get the target\'s selector');
    const ns = hpa.metadata.namespace!;
    const podList = pods.list(ns, sel);
    const samples = new Map<string, PodSample>();
    for (const s of opts.metrics.podMetrics(ns)) {
      if (!matchesLabels(sel, s.labels)) continue;
      let v = 0;
      for (const c of s.containers) v += resource === 'cpu' ? c.cpuNanoCores / 1e6 : c.memoryBytes * 1000;
      samples.set(s.name, { value: Math.round(v), timestamp: s.timestamp, windowMs: s.windowMs });
    }
    const what = t.type === 'Utilization' ? 'utilization' : 'usage';
    if (samples.size === 0) throw new Error(`failed to get ${resource} ${what}: unable to get metrics for resource ${resource}: no metrics returned from resource metrics API`);
    const calc = { now, tolerance };
    try {
      if (t.type === 'Utilization') {
        if (typeof t.averageUtilization !== 'number' || t.averageUtilization <= 0) throw new ReplicaCalcError('invalid resource metric source: averageUtilization must be set');
        const r = resourceReplicas(current, t.averageUtilization, resource, podList, samples, calc);
        return {
          replicas: r.replicas,
          name: `${resource} resource utilization (percentage of request)`,
          timestamp: r.timestamp,
          status: { type: 'Resource', resource: { name: resource, current: { averageUtilization: r.utilization, averageValue: formatQuantity(r.rawAverage / 1000) } } },
        };
      }
      const avg = tryParseQuantity(t.averageValue);
      if (t.type !== 'AverageValue' || avg === undefined) throw new ReplicaCalcError(`invalid resource metric source: neither a utilization target nor a value target was set`);
      const r = averageValueReplicas(current, Math.round(avg * 1000), resource, podList, samples, calc);
      return {
        replicas: r.replicas,
        name: `${resource} resource`,
        timestamp: r.timestamp,
        status: { type: 'Resource', resource: { name: resource, current: { averageValue: formatQuantity(r.rawAverage / 1000) } } },
      };
    } catch (e) {
      throw new Error(`failed to get ${resource} ${what}: ${(e as Error).message}`);
    }
  };

  const normalize = (
    key: string,
    hpa: KObject,
    current: number,
    proposed: number,
    min: number,
    max: number,
    now: number,
    setCond: (type: string, status: 'True' | 'False', reason: string, message: string) => void,
  ): number => {
    const history = recommendations.get(key) ?? [];
    if (!hpa.spec?.behavior) {
      const s = stabilize(history, proposed, now, downWindow);
      recommendations.set(key, s.history);
      if (s.replicas !== proposed) setCond('AbleToScale', 'True', 'ScaleDownStabilized', 'recent recommendations were higher than current one, applying the highest recent recommendation');
      else setCond('AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size');
      const l = convertDesiredWithRules(current, s.replicas, min, max);
      setCond('ScalingLimited', l.replicas === s.replicas ? 'False' : 'True', l.reason, l.message);
      return l.replicas;
    }
    const b = behaviorWithDefaults(hpa.spec.behavior, Math.round(downWindow / 1000));
    const s = stabilizeWithBehavior(history, current, proposed, now, b.scaleUp.stabilizationWindowSeconds * 1000, b.scaleDown.stabilizationWindowSeconds * 1000);
    recommendations.set(key, s.history);
    if (s.replicas !== proposed) setCond('AbleToScale', 'True', s.reason, s.message);
    else setCond('AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size');
    const l = convertDesiredWithBehaviorRate(current, s.replicas, min, max, b.scaleUp, b.scaleDown, upEvents.get(key) ?? [], downEvents.get(key) ?? [], now);
    setCond('ScalingLimited', l.replicas === s.replicas ? 'False' : 'True', l.reason, l.message);
    return l.replicas;
  };

  return new Controller({
    name: 'horizontal-pod-autoscaler',
    log,
    clock,
    setup: (enqueue) => {
      requeue = new DelayedRequeue(clock, enqueue);
      const k = (o: KObject) => `${o.metadata.namespace}/${o.metadata.name}`;
      hpas.addHandlers({
        onAdd: (o) => enqueue(k(o)),
        onUpdate: (o, n) => {
          if (!deepEqual(o.spec, n.spec)) enqueue(k(n));
        },
        onDelete: (o) => enqueue(k(o)),
      });
      hpas.start();
      pods.start();
    },
    teardown: () => requeue?.stop(),
    reconcile,
  });
}
