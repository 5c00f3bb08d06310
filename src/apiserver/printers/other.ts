/**
 * Printers for policy, coordination, networking, storage, autoscaling and discovery kinds,
 * matching Kubernetes' server-side table columns.
 */
import type { KObject } from '../../api/types';
import { AGE_COL, NAME_COL, col, type KindPrinter } from './types';
import { int, intOrString, listWithMore, since, sortedUniqueJoin } from './util';

/* eslint-disable @typescript-eslint/no-explicit-any */

// ---------------------------------------------------------------- PodDisruptionBudget

export const podDisruptionBudgetPrinter: KindPrinter = {
  columns: [
    NAME_COL,
    col('Min Available', 'The minimum number of pods that must be available.'),
    col('Max Unavailable', 'The maximum number of pods that may be unavailable.'),
    col('Allowed Disruptions', 'Calculated number of pods that may be disrupted at this time.', { type: 'integer' }),
    AGE_COL,
  ],
  cells: (o, now) => [
    o.metadata?.name ?? '',
    o.spec?.minAvailable !== undefined && o.spec?.minAvailable !== null ? intOrString(o.spec.minAvailable) : 'N/A',
    o.spec?.maxUnavailable !== undefined && o.spec?.maxUnavailable !== null ? intOrString(o.spec.maxUnavailable) : 'N/A',
    int(o.status?.disruptionsAllowed),
    since(o.metadata?.creationTimestamp, now),
  ],
};

// ---------------------------------------------------------------- Lease

export const leasePrinter: KindPrinter = {
  columns: [NAME_COL, col('Holder', 'holderIdentity contains the identity of the holder of a current lease.'), AGE_COL],
  cells: (o, now) => [o.metadata?.name ?? '', typeof o.spec?.holderIdentity === 'string' ? o.spec.holderIdentity : '', since(o.metadata?.creationTimestamp, now)],
};

// ---------------------------------------------------------------- Ingress, IngressClass

/** formatHosts: up to 3 rule hosts, "*" when no rule names a host. */
export function ingressHosts(o: KObject): string {
  const rules: any[] = Array.isArray(o.spec?.rules) ? o.spec.rules : [];
  const max = 3;
  const list: string[] = [];
  let more = false;
  for (const rule of rules) {
    if (list.length === max) more = true;
    if (!more && typeof rule?.host === 'string' && rule.host !== '') list.push(rule.host);
  }
  if (list.length === 0) return '*';
  const ret = list.join(',');
  return more ? `${ret} + ${rules.length - max} more...` : ret;
}

/** Load-balancer ingress points (ip, else hostname), unique and sorted; never clipped server-side. */
function loadBalancerAddresses(o: KObject): string {
  const ingress: any[] = Array.isArray(o.status?.loadBalancer?.ingress) ? o.status.loadBalancer.ingress : [];
  return sortedUniqueJoin(ingress.map((i) => i?.ip || i?.hostname || '').filter((s: string) => s !== ''));
}

export const ingressPrinter: KindPrinter = {
  columns: [
    NAME_COL,
    col('Class', 'The name of the IngressClass resource that should be used for additional configuration'),
    col('Hosts', 'Hosts that incoming requests are matched against before the ingress rule'),
    col('Address', 'Address is a list containing ingress points for the load-balancer'),
    col('Ports', 'Ports of TLS configurations that open'),
    AGE_COL,
  ],
  cells: (o, now) => [
    o.metadata?.name ?? '',
    typeof o.spec?.ingressClassName === 'string' ? o.spec.ingressClassName : '<none>',
    ingressHosts(o),
    loadBalancerAddresses(o),
    Array.isArray(o.spec?.tls) && o.spec.tls.length > 0 ? '80, 443' : '80',
    since(o.metadata?.creationTimestamp, now),
  ],
};

export const ingressClassPrinter: KindPrinter = {
  columns: [
    NAME_COL,
    col('Controller', 'Controller that is responsible for handling this class'),
    col('Parameters', 'A reference to a resource with additional parameters'),
    AGE_COL,
  ],
  cells(o, now) {
    const p = o.spec?.parameters;
    let parameters = '<none>';
    if (p) {
      parameters = `${p.kind ?? ''}${typeof p.apiGroup === 'string' ? `.${p.apiGroup}` : ''}/${p.name ?? ''}`;
    }
    return [o.metadata?.name ?? '', o.spec?.controller ?? '', parameters, since(o.metadata?.creationTimestamp, now)];
  },
};

// ---------------------------------------------------------------- StorageClass

const DEFAULT_SC_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';
const BETA_DEFAULT_SC_ANNOTATION = 'storageclass.beta.kubernetes.io/is-default-class';

/** True when the (GA or beta) is-default-class annotation is exactly "true". */
export function isDefaultStorageClass(o: KObject): boolean {
  const ann = o.metadata?.annotations ?? {};
  return ann[DEFAULT_SC_ANNOTATION] === 'true' || ann[BETA_DEFAULT_SC_ANNOTATION] === 'true';
}

export const storageClassPrinter: KindPrinter = {
  columns: [
    NAME_COL,
    col('Provisioner', 'provisioner indicates the type of the provisioner.'),
    col('ReclaimPolicy', 'reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class.'),
    col('VolumeBindingMode', 'volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.'),
    col('AllowVolumeExpansion', 'allowVolumeExpansion shows whether the storage class allow volume expand.'),
    AGE_COL,
  ],
  cells: (o, now) => [
    (o.metadata?.name ?? '') + (isDefaultStorageClass(o) ? ' (default)' : ''),
    typeof o.provisioner === 'string' ? o.provisioner : '',
    typeof o.reclaimPolicy === 'string' ? o.reclaimPolicy : 'Delete',
    typeof o.volumeBindingMode === 'string' ? o.volumeBindingMode : 'Immediate',
    o.allowVolumeExpansion === true,
    since(o.metadata?.creationTimestamp, now),
  ],
};

// ---------------------------------------------------------------- HorizontalPodAutoscaler (autoscaling/v2)

/** resource.Quantity.String() of a JSON quantity; "<nil>" for an absent pointer. */
function q(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return '<nil>';
}

/** formatHPAMetrics: "cpu: 40%/80%", "<unknown>/500m", ... at most 2, then " + N more..."; "<none>" without metrics. */
export function hpaTargets(o: KObject): string {
  const specs: any[] = Array.isArray(o.spec?.metrics) ? o.spec.metrics : [];
  const statuses: any[] = Array.isArray(o.status?.currentMetrics) ? o.status.currentMetrics : [];
  if (specs.length === 0) return '<none>';
  const list: string[] = [];
  specs.forEach((spec, i) => {
    const st = statuses[i];
    switch (spec?.type) {
      case 'External':
      case 'Object': {
        const field = spec.type === 'External' ? 'external' : 'object';
        const target = spec[field]?.target ?? {};
        const cur = st?.[field];
        if (target.averageValue !== undefined && target.averageValue !== null) {
          const current = cur && cur.current?.averageValue !== undefined && cur.current?.averageValue !== null ? q(cur.current.averageValue) : '<unknown>';
          list.push(`${current}/${q(target.averageValue)} (avg)`);
        } else {
          const current = cur ? q(cur.current?.value) : '<unknown>';
          list.push(`${current}/${q(target.value)}`);
        }
        break;
      }
      case 'Pods': {
        const current = st?.pods ? q(st.pods.current?.averageValue) : '<unknown>';
        list.push(`${current}/${q(spec.pods?.target?.averageValue)}`);
        break;
      }
      case 'Resource':
      case 'ContainerResource': {
        const field = spec.type === 'Resource' ? 'resource' : 'containerResource';
        const src = spec[field] ?? {};
        const target = src.target ?? {};
        const cur = st?.[field];
        if (target.averageValue !== undefined && target.averageValue !== null) {
          const current = cur ? q(cur.current?.averageValue) : '<unknown>';
          list.push(`${src.name ?? ''}: ${current}/${q(target.averageValue)}`);
        } else {
          const util = cur?.current?.averageUtilization;
          const current = typeof util === 'number' ? `${int(util)}%` : '<unknown>';
          const t = typeof target.averageUtilization === 'number' ? `${int(target.averageUtilization)}%` : '<auto>';
          list.push(`${src.name ?? ''}: ${current}/${t}`);
        }
        break;
      }
      default:
        list.push('<unknown type>');
    }
  });
  const max = 2;
  if (list.length > max) return `${list.slice(0, max).join(', ')} + ${list.length - max} more...`;
  return list.join(', ');
}

export const horizontalPodAutoscalerPrinter: KindPrinter = {
  columns: [
    NAME_COL,
    col('Reference', 'scaleTargetRef points to the target resource to scale.'),
    col('Targets', 'metrics contains the specifications for which to use to calculate the desired replica count.'),
    col('MinPods', 'minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.'),
    col('MaxPods', 'maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up.'),
    col('Replicas', 'currentReplicas is current number of replicas of pods managed by this autoscaler.'),
    AGE_COL,
  ],
  cells: (o, now) => [
    o.metadata?.name ?? '',
    `${o.spec?.scaleTargetRef?.kind ?? ''}/${o.spec?.scaleTargetRef?.name ?? ''}`,
    hpaTargets(o),
    typeof o.spec?.minReplicas === 'number' ? String(int(o.spec.minReplicas)) : '<unset>',
    int(o.spec?.maxReplicas),
    int(o.status?.currentReplicas),
    since(o.metadata?.creationTimestamp, now),
  ],
};

// ---------------------------------------------------------------- EndpointSlice

function withUnset(list: string[], total: number, max: number): string {
  const s = listWithMore(list, total, max);
  return s === '' ? '<unset>' : s;
}

/** formatDiscoveryPorts: port numbers (or names, or "*"), up to 3. */
export function endpointSlicePorts(o: KObject): string {
  const ports: any[] = Array.isArray(o.ports) ? o.ports : [];
  const list = ports.map((p) => (typeof p?.port === 'number' ? String(p.port) : typeof p?.name === 'string' ? p.name : '*'));
  return withUnset(list, list.length, 3);
}

/** formatDiscoveryEndpoints: endpoint addresses, up to 3. */
export function endpointSliceEndpoints(o: KObject): string {
  const eps: any[] = Array.isArray(o.endpoints) ? o.endpoints : [];
  const list: string[] = [];
  for (const ep of eps) for (const a of Array.isArray(ep?.addresses) ? ep.addresses : []) list.push(String(a));
  return withUnset(list, list.length, 3);
}

export const endpointSlicePrinter: KindPrinter = {
  columns: [
    NAME_COL,
    col('AddressType', 'addressType specifies the type of address carried by this EndpointSlice.'),
    col('Ports', 'ports specifies the list of network ports exposed by each endpoint in this slice.'),
    col('Endpoints', 'endpoints is a list of unique endpoints in this slice.'),
    AGE_COL,
  ],
  cells: (o, now) => [o.metadata?.name ?? '', o.addressType ?? '', endpointSlicePorts(o), endpointSliceEndpoints(o), since(o.metadata?.creationTimestamp, now)],
};
