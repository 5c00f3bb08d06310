import type { KObject } from './types';
import { groupVersion, type ResourceInfo } from './scheme';

/**
 * Conversion between a resource's storage version and its other served versions. Objects are
 * stored in `ri.version`; requests in an alternate version are converted on the way in and
 * answers on the way out. Today: autoscaling/v1 ↔ autoscaling/v2 HorizontalPodAutoscaler
 * (kubectl ≤ 1.32 `autoscale` speaks v1).
 */
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function hpaV1ToV2(o: Obj): Obj {
  const spec = o.spec && typeof o.spec === 'object' ? o.spec : undefined;
  const out: Obj = { ...o, apiVersion: 'autoscaling/v2' };
  if (spec) {
    const { targetCPUUtilizationPercentage, ...rest } = spec;
    out.spec = { ...rest };
    if (targetCPUUtilizationPercentage !== undefined) {
      out.spec.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: targetCPUUtilizationPercentage } } }];
    }
  }
  if (o.status && typeof o.status === 'object') {
    const { currentCPUUtilizationPercentage, ...rest } = o.status;
    out.status = { ...rest };
    if (currentCPUUtilizationPercentage !== undefined) {
      out.status.currentMetrics = [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: currentCPUUtilizationPercentage } } }];
    }
  }
  return out;
}

function hpaV2ToV1(o: Obj): Obj {
  const out: Obj = { ...o, apiVersion: 'autoscaling/v1' };
  if (o.spec) {
    const { metrics, behavior: _behavior, ...rest } = o.spec;
    out.spec = { ...rest };
    const cpu = (metrics ?? []).find((m: Obj) => m?.type === 'Resource' && m.resource?.name === 'cpu' && m.resource?.target?.type === 'Utilization');
    if (cpu) out.spec.targetCPUUtilizationPercentage = cpu.resource.target.averageUtilization;
  }
  if (o.status) {
    const { currentMetrics, conditions: _c, ...rest } = o.status;
    out.status = { ...rest };
    const cpu = (currentMetrics ?? []).find((m: Obj) => m?.type === 'Resource' && m.resource?.name === 'cpu');
    if (cpu?.resource?.current?.averageUtilization !== undefined) out.status.currentCPUUtilizationPercentage = cpu.resource.current.averageUtilization;
  }
  return out;
}

/** Converts a request body in `version` to the storage version. Non-objects pass through. */
export function toStorageVersion(ri: ResourceInfo, version: string, body: unknown): unknown {
  if (version === ri.version || !body || typeof body !== 'object' || Array.isArray(body)) return body;
  if (ri.kind === 'HorizontalPodAutoscaler' && version === 'v1') return hpaV1ToV2(body as Obj);
  return { ...(body as Obj), apiVersion: groupVersion(ri) };
}

/** Converts a stored object to the version the client asked for. */
export function fromStorageVersion(ri: ResourceInfo, version: string, obj: KObject): KObject {
  if (version === ri.version || !obj || typeof obj !== 'object') return obj;
  if (ri.kind === 'HorizontalPodAutoscaler' && version === 'v1') return hpaV2ToV1(obj as Obj) as KObject;
  return { ...obj, apiVersion: `${ri.group}/${version}` };
}
