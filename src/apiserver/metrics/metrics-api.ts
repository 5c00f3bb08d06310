import type { IncomingMessage, ServerResponse } from 'node:http';
import { formatQuantity } from '../../api/quantity';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from '../../api/selectors';
import type { KObject } from '../../api/types';
import { ApiError, MethodNotAllowedError, NotFoundError } from '../../util/errors';
import { sendError, sendJSON } from '../handlers';
import type { ExtraHandler } from '../server';
import type { NodeMetricsSample, PodMetricsSample, ResourceMetricsProvider } from './collector';

/**
 * The metrics.k8s.io/v1beta1 API group (what metrics-server serves, read by `kubectl top`):
 * discovery at /apis/metrics.k8s.io and /apis/metrics.k8s.io/v1beta1, and read-only
 * PodMetrics (`/namespaces/NS/pods[/NAME]`, `/pods`) and NodeMetrics (`/nodes[/NAME]`) with
 * labelSelector and fieldSelector (metadata.name, metadata.namespace). CPU is reported in
 * nanocores (`1234n`), memory in bytes with a binary suffix when exact (`1234Ki`). Only GET is
 * served (405 otherwise, including watch).
 */
export const METRICS_GROUP = 'metrics.k8s.io';
export const METRICS_VERSION = 'v1beta1';
const GV = `${METRICS_GROUP}/${METRICS_VERSION}`;

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Go's Duration.String() for a whole or fractional number of seconds (`15s`, `1.5s`, `1m30s`). */
export function goDuration(ms: number): string {
  if (ms <= 0) return '0s';
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  const sec = `${Number.isInteger(s) ? s : s.toFixed(3).replace(/0+$/, '')}s`;
  if (h) return `${h}h${m}m${sec}`;
  if (m) return `${m}m${sec}`;
  return sec;
}

export function cpuQuantity(nanoCores: number): string {
  return formatQuantity(Math.round(nanoCores) / 1e9);
}

export function memoryQuantity(bytes: number): string {
  return formatQuantity(Math.round(bytes), 'BinarySI');
}

export function podMetricsObject(s: PodMetricsSample, now: number): KObject {
  return {
    kind: 'PodMetrics',
    apiVersion: GV,
    metadata: { name: s.name, namespace: s.namespace, creationTimestamp: rfc3339(now), labels: s.labels },
    timestamp: rfc3339(s.timestamp),
    window: goDuration(s.windowMs),
    containers: s.containers.map((c) => ({ name: c.name, usage: { cpu: cpuQuantity(c.cpuNanoCores), memory: memoryQuantity(c.memoryBytes) } })),
  };
}

export function nodeMetricsObject(s: NodeMetricsSample, now: number): KObject {
  return {
    kind: 'NodeMetrics',
    apiVersion: GV,
    metadata: { name: s.name, creationTimestamp: rfc3339(now), labels: s.labels },
    timestamp: rfc3339(s.timestamp),
    window: goDuration(s.windowMs),
    usage: { cpu: cpuQuantity(s.cpuNanoCores), memory: memoryQuantity(s.memoryBytes) },
  };
}

export function metricsDiscovery(): { group: object; resources: object } {
  const version = { groupVersion: GV, version: METRICS_VERSION };
  return {
    group: { kind: 'APIGroup', apiVersion: 'v1', name: METRICS_GROUP, versions: [version], preferredVersion: version },
    resources: {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: GV,
      resources: [
        { name: 'nodes', singularName: '', namespaced: false, kind: 'NodeMetrics', verbs: ['get', 'list'] },
        { name: 'pods', singularName: '', namespaced: true, kind: 'PodMetrics', verbs: ['get', 'list'] },
      ],
    },
  };
}

/**
 * The ApiServer extra group entry: `apiserver.extraGroups.push(metricsAPIGroup(provider))`.
 * `now` stamps creationTimestamp (injectable for tests).
 */
export function metricsAPIGroup(provider: ResourceMetricsProvider, now: () => number = Date.now): { name: string; versions: string[]; handler: ExtraHandler } {
  const handler: ExtraHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const p = url.pathname.replace(/\/+$/, '');
    const prefix = `/apis/${METRICS_GROUP}`;
    if (p !== prefix && !p.startsWith(prefix + '/')) return false;
    try {
      serve(req, res, p.slice(prefix.length), url.searchParams);
    } catch (e) {
      sendError(res, e);
    }
    return true;
  };

  const serve = (req: IncomingMessage, res: ServerResponse, rest: string, q: URLSearchParams): void => {
    const segs = rest.split('/').filter(Boolean).map(decodeURIComponent);
    const d = metricsDiscovery();
    if (req.method !== 'GET') throw new MethodNotAllowedError(`${req.method} is not supported on ${METRICS_GROUP}`);
    if (segs.length === 0) return sendJSON(res, 200, d.group);
    if (segs[0] !== METRICS_VERSION) throw notFound();
    if (segs.length === 1) return sendJSON(res, 200, d.resources);
    if (q.get('watch') === 'true' || q.get('watch') === '1' || segs[1] === 'watch') throw new MethodNotAllowedError('watch is not supported on metrics.k8s.io');
    const labelSel = parseLabelSelector(q.get('labelSelector'));
    const fieldSel = parseFieldSelector(q.get('fieldSelector'));
    const t = now();
    const filter = (o: KObject) => (!labelSel.length || matchesLabels(labelSel, o.metadata.labels)) && (!fieldSel.length || matchesFields(fieldSel, o));
    const list = (kind: string, items: KObject[]) =>
      sendJSON(res, 200, { kind: `${kind}List`, apiVersion: GV, metadata: {}, items: items.filter(filter) });

    // /v1beta1/nodes[/NAME]
    if (segs[1] === 'nodes' && segs.length <= 3) {
      const all = provider.nodeMetrics().map((s) => nodeMetricsObject(s, t));
      if (segs.length === 2) return list('NodeMetrics', all);
      const o = all.find((x) => x.metadata.name === segs[2]);
      if (!o) throw new NotFoundError('nodes.metrics.k8s.io', segs[2], METRICS_GROUP);
      return sendJSON(res, 200, o);
    }
    // /v1beta1/pods
    if (segs[1] === 'pods' && segs.length === 2) return list('PodMetrics', provider.podMetrics().map((s) => podMetricsObject(s, t)));
    // /v1beta1/namespaces/NS/pods[/NAME]
    if (segs[1] === 'namespaces' && segs[3] === 'pods' && segs.length >= 4 && segs.length <= 5) {
      const all = provider.podMetrics(segs[2]).map((s) => podMetricsObject(s, t));
      if (segs.length === 4) return list('PodMetrics', all);
      const o = all.find((x) => x.metadata.name === segs[4]);
      if (!o) throw new NotFoundError('pods.metrics.k8s.io', segs[4], METRICS_GROUP);
      return sendJSON(res, 200, o);
    }
    throw notFound();
  };

  return { name: METRICS_GROUP, versions: [METRICS_VERSION], handler };
}

function notFound(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource');
}
