/**
 * Ingress, IngressClass, StorageClass, HorizontalPodAutoscaler, PodDisruptionBudget, Lease,
 * EndpointSlice and ControllerRevision.
 */
import { QUANTITY_SYNTAX_MESSAGE, tryParseQuantity } from '../quantity';
import {
  Ctx,
  Obj,
  child,
  deepEqual,
  forbidden,
  idx,
  invalid,
  isNil,
  isObj,
  notSupported,
  required,
  typeInvalid,
  tooMany,
  IMMUTABLE,
  Rendered,
  renderValue,
} from './field';
import { validateLabelSelector } from './meta';
import {
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isIPv4,
  isIPv6,
  isQualifiedName,
  isValidPathSegmentName,
  isValidPortName,
  isValidPortNum,
  isWildcardDNS1123Subdomain,
} from './names';
import { PROTOCOLS, checkName, requiredStr } from './pod';
import { validateIntOrPercent } from './apps';

function specOf(c: Ctx, obj: Obj): Obj | undefined {
  if (isNil(obj.spec)) {
    c.add(required('spec'));
    return undefined;
  }
  return c.obj(obj.spec, 'spec');
}

function validateQuantityField(c: Ctx, v: unknown, path: string): number | undefined {
  if (isNil(v)) return undefined;
  if (typeof v !== 'string' && typeof v !== 'number') {
    c.add(typeInvalid(path, v, 'must be a quantity string or number'));
    return undefined;
  }
  const n = tryParseQuantity(v);
  if (n === undefined) c.add(invalid(path, v, QUANTITY_SYNTAX_MESSAGE));
  return n;
}

// ---- Ingress ----------------------------------------------------------------------------------------

const PATH_TYPES = ['Exact', 'ImplementationSpecific', 'Prefix'];
const INVALID_PATH_SEQUENCES = ['//', '/./', '/../', '%2f', '%2F'];
const INVALID_PATH_SUFFIXES = ['/..', '/.'];

function validateIngressBackend(c: Ctx, v: unknown, path: string): void {
  const b = c.obj(v, path);
  if (!b) {
    if (isNil(v)) c.add(required(path));
    return;
  }
  const hasService = !isNil(b.service);
  const hasResource = !isNil(b.resource);
  if (hasService && hasResource) {
    c.add(invalid(path, '', 'cannot set both resource and service backends'));
    return;
  }
  if (hasResource) {
    const r = c.obj(b.resource, child(path, 'resource'));
    if (r) {
      c.str(r.apiGroup, child(path, 'resource', 'apiGroup'));
      requiredStr(c, r.kind, child(path, 'resource', 'kind'));
      requiredStr(c, r.name, child(path, 'resource', 'name'));
    }
    return;
  }
  if (!hasService) {
    c.add(invalid(path, '', 'resource or service backend is required'));
    return;
  }
  const s = c.obj(b.service, child(path, 'service'));
  if (!s) return;
  const name = requiredStr(c, s.name, child(path, 'service', 'name'));
  checkName(c, name, child(path, 'service', 'name'), isDNS1035Label);
  if (isNil(s.port)) {
    c.add(required(child(path, 'service', 'port'), 'port name or number is required'));
    return;
  }
  const port = c.obj(s.port, child(path, 'service', 'port'));
  if (!port) return;
  const pname = c.str(port.name, child(path, 'service', 'port', 'name'));
  const pnum = c.int(port.number, child(path, 'service', 'port', 'number'));
  const hasName = !!pname;
  const hasNum = pnum !== undefined && pnum !== 0;
  if (hasName && hasNum) c.add(invalid(child(path, 'service', 'port'), '', 'cannot set both port name & port number'));
  else if (hasName) for (const m of isValidPortName(pname)) c.add(invalid(child(path, 'service', 'port', 'name'), pname, m));
  else if (hasNum) for (const m of isValidPortNum(pnum)) c.add(invalid(child(path, 'service', 'port', 'number'), pnum, m));
  else if (isNil(port.name) && isNil(port.number)) c.add(required(child(path, 'service', 'port'), 'port name or number is required'));
}

function validateIngressHost(c: Ctx, host: string, path: string): void {
  if (isIPv4(host) || isIPv6(host)) {
    c.add(invalid(path, host, 'must be a DNS name, not an IP address'));
    return;
  }
  const msgs = host.includes('*') ? isWildcardDNS1123Subdomain(host) : isDNS1123Subdomain(host);
  for (const m of msgs) c.add(invalid(path, host, m));
}

export function validateIngress(c: Ctx, obj: Obj): void {
  const spec = specOf(c, obj);
  if (!spec) return;
  const cls = c.str(spec.ingressClassName, 'spec.ingressClassName');
  checkName(c, cls, 'spec.ingressClassName', isDNS1123Subdomain);
  if (!isNil(spec.defaultBackend)) validateIngressBackend(c, spec.defaultBackend, 'spec.defaultBackend');
  c.objArr(spec.tls, 'spec.tls', (t, p) => {
    const hosts = c.strArr(t.hosts, child(p, 'hosts'));
    hosts?.forEach((h, i) => {
      const msgs = h.includes('*') ? isWildcardDNS1123Subdomain(h) : isDNS1123Subdomain(h);
      for (const m of msgs) c.add(invalid(idx(child(p, 'hosts'), i), h, m));
    });
    checkName(c, c.str(t.secretName, child(p, 'secretName')), child(p, 'secretName'), isDNS1123Subdomain);
  });
  const rules = c.objArr(spec.rules, 'spec.rules', (r, p) => {
    const host = c.str(r.host, child(p, 'host'));
    if (host) validateIngressHost(c, host, child(p, 'host'));
    if (isNil(r.http)) return;
    const http = c.obj(r.http, child(p, 'http'));
    if (!http) return;
    const pp = child(p, 'http', 'paths');
    const paths = c.objArr(http.paths, pp, (hp, hpp) => {
      const ptype = c.str(hp.pathType, child(hpp, 'pathType'));
      const pathStr = c.str(hp.path, child(hpp, 'path'));
      if (ptype === undefined || ptype === '') {
        if (isNil(hp.pathType) || hp.pathType === '') c.add(required(child(hpp, 'pathType'), 'pathType must be specified'));
      } else if (!PATH_TYPES.includes(ptype)) {
        c.add(notSupported(child(hpp, 'pathType'), ptype, PATH_TYPES));
      } else if (ptype === 'Exact' || ptype === 'Prefix') {
        if (!pathStr || !pathStr.startsWith('/')) c.add(invalid(child(hpp, 'path'), pathStr ?? '', 'must be an absolute path'));
        else {
          for (const seq of INVALID_PATH_SEQUENCES) if (pathStr.includes(seq)) c.add(invalid(child(hpp, 'path'), pathStr, `must not contain '${seq}'`));
          for (const suf of INVALID_PATH_SUFFIXES) if (pathStr.endsWith(suf)) c.add(invalid(child(hpp, 'path'), pathStr, `cannot end with '${suf}'`));
        }
      } else if (pathStr && !pathStr.startsWith('/')) {
        c.add(invalid(child(hpp, 'path'), pathStr, 'must be an absolute path'));
      }
      validateIngressBackend(c, hp.backend, child(hpp, 'backend'));
    });
    if (paths.length === 0 && (isNil(http.paths) || Array.isArray(http.paths))) c.add(required(pp));
  });
  if (rules.length === 0 && isNil(spec.defaultBackend) && (isNil(spec.rules) || Array.isArray(spec.rules))) {
    c.add(invalid('spec', new Rendered(renderValue(spec.rules ?? [])), 'either `defaultBackend` or `rules` must be specified'));
  }
}

export function validateIngressClass(c: Ctx, obj: Obj, old?: Obj): void {
  const spec = specOf(c, obj);
  if (spec) {
    const ctl = requiredStr(c, spec.controller, 'spec.controller');
    if (ctl !== undefined) {
      if (ctl.length > 250) c.add(invalid('spec.controller', ctl, 'must be no more than 250 characters'));
      const slash = ctl.indexOf('/');
      if (slash <= 0) c.add(invalid('spec.controller', ctl, 'must be a domain-prefixed path (such as "acme.io/foo")'));
      else for (const m of isDNS1123Subdomain(ctl.slice(0, slash))) c.add(invalid('spec.controller', ctl, m));
    }
    const params = c.obj(spec.parameters, 'spec.parameters');
    if (params) {
      c.str(params.apiGroup, 'spec.parameters.apiGroup');
      requiredStr(c, params.kind, 'spec.parameters.kind');
      requiredStr(c, params.name, 'spec.parameters.name');
      const scope = c.enumStr(params.scope, 'spec.parameters.scope', ['Cluster', 'Namespace']);
      const ns = c.str(params.namespace, 'spec.parameters.namespace');
      if (scope === 'Namespace' && !ns) c.add(required('spec.parameters.namespace', '`parameters.scope` is set to "Namespace"'));
      if (scope === 'Cluster' && ns) c.add(forbidden('spec.parameters.namespace', '`parameters.scope` is set to "Cluster"'));
    }
  }
  if (old && isObj(obj.spec) && isObj(old.spec) && (obj.spec.controller ?? null) !== (old.spec.controller ?? null)) {
    c.add(invalid('spec.controller', obj.spec.controller ?? null, IMMUTABLE));
  }
}

// ---- StorageClass -------------------------------------------------------------------------------------

export function validateStorageClass(c: Ctx, obj: Obj, old?: Obj): void {
  const prov = requiredStr(c, obj.provisioner, 'provisioner');
  if (prov !== undefined) for (const m of isQualifiedName(prov.toLowerCase())) c.add(invalid('provisioner', prov, m));
  const params = c.strMap(obj.parameters, 'parameters');
  if (params && Object.keys(params).length > 512) c.add(tooMany('parameters', Object.keys(params).length, 512));
  c.enumStr(obj.reclaimPolicy, 'reclaimPolicy', ['Delete', 'Retain'], { required: true });
  c.enumStr(obj.volumeBindingMode, 'volumeBindingMode', ['Immediate', 'WaitForFirstConsumer'], { required: true });
  c.bool(obj.allowVolumeExpansion, 'allowVolumeExpansion');
  c.strArr(obj.mountOptions, 'mountOptions');
  c.arr(obj.allowedTopologies, 'allowedTopologies');
  if (old) {
    if (!deepEqual(obj.parameters ?? {}, old.parameters ?? {})) c.add(forbidden('parameters', 'updates to parameters are forbidden.'));
    if ((obj.provisioner ?? null) !== (old.provisioner ?? null)) c.add(forbidden('provisioner', 'updates to provisioner are forbidden.'));
    if ((obj.reclaimPolicy ?? null) !== (old.reclaimPolicy ?? null)) c.add(forbidden('reclaimPolicy', 'updates to reclaimPolicy are forbidden.'));
    if ((obj.volumeBindingMode ?? null) !== (old.volumeBindingMode ?? null)) c.add(invalid('volumeBindingMode', obj.volumeBindingMode ?? null, IMMUTABLE));
  }
}

// ---- HorizontalPodAutoscaler ------------------------------------------------------------------------

const METRIC_TYPES = ['ContainerResource', 'External', 'Object', 'Pods', 'Resource'];
const TARGET_TYPES = ['AverageValue', 'Utilization', 'Value'];

function validateMetricTarget(c: Ctx, v: unknown, path: string, allowUtilization: boolean): void {
  if (isNil(v)) {
    c.add(required(path));
    return;
  }
  const t = c.obj(v, path);
  if (!t) return;
  const type = c.enumStr(t.type, child(path, 'type'), TARGET_TYPES, { required: true });
  const util = c.int(t.averageUtilization, child(path, 'averageUtilization'));
  if (util !== undefined && util <= 0) c.add(invalid(child(path, 'averageUtilization'), util, 'must be greater than 0'));
  const value = validateQuantityField(c, t.value, child(path, 'value'));
  const avg = validateQuantityField(c, t.averageValue, child(path, 'averageValue'));
  if (value !== undefined && value <= 0) c.add(invalid(child(path, 'value'), t.value, 'must be positive'));
  if (avg !== undefined && avg <= 0) c.add(invalid(child(path, 'averageValue'), t.averageValue, 'must be positive'));
  if (type === 'Utilization' && isNil(t.averageUtilization)) c.add(required(child(path, 'averageUtilization'), 'must set averageUtilization when type is Utilization'));
  if (type === 'Utilization' && !allowUtilization) c.add(notSupported(child(path, 'type'), type, ['AverageValue', 'Value']));
  if (type === 'Value' && isNil(t.value)) c.add(required(child(path, 'value'), 'must set value when type is Value'));
  if (type === 'AverageValue' && isNil(t.averageValue)) c.add(required(child(path, 'averageValue'), 'must set averageValue when type is AverageValue'));
}

function validateMetricIdentifier(c: Ctx, v: unknown, path: string): void {
  if (isNil(v)) {
    c.add(required(path));
    return;
  }
  const m = c.obj(v, path);
  if (!m) return;
  requiredStr(c, m.name, child(path, 'name'));
  validateLabelSelector(c, m.selector, child(path, 'selector'));
}

function validateScalingRules(c: Ctx, v: unknown, path: string): void {
  const r = c.obj(v, path);
  if (!r) return;
  const sw = c.int(r.stabilizationWindowSeconds, child(path, 'stabilizationWindowSeconds'));
  if (sw !== undefined && sw < 0) c.add(invalid(child(path, 'stabilizationWindowSeconds'), sw, 'must be greater than or equal to zero'));
  if (sw !== undefined && sw > 3600) c.add(invalid(child(path, 'stabilizationWindowSeconds'), sw, 'must be less than or equal to 3600'));
  c.enumStr(r.selectPolicy, child(path, 'selectPolicy'), ['Disabled', 'Max', 'Min']);
  const policies = c.objArr(r.policies, child(path, 'policies'), (p, pp) => {
    c.enumStr(p.type, child(pp, 'type'), ['Percent', 'Pods'], { required: true });
    const val = c.int(p.value, child(pp, 'value'));
    if (val === undefined ? isNil(p.value) : val <= 0) c.add(invalid(child(pp, 'value'), val ?? 0, 'must be greater than zero'));
    const ps = c.int(p.periodSeconds, child(pp, 'periodSeconds'));
    if (ps === undefined ? isNil(p.periodSeconds) : ps <= 0) c.add(invalid(child(pp, 'periodSeconds'), ps ?? 0, 'must be greater than zero'));
    else if (ps !== undefined && ps > 1800) c.add(invalid(child(pp, 'periodSeconds'), ps, 'must be less than or equal to 1800'));
  });
  if (Array.isArray(r.policies) && policies.length === 0 && r.policies.length === 0 && r.selectPolicy !== 'Disabled') {
    c.add(required(child(path, 'policies'), 'must specify at least one Policy'));
  }
}

export function validateHPA(c: Ctx, obj: Obj): void {
  const spec = specOf(c, obj);
  if (!spec) return;
  if (isNil(spec.scaleTargetRef)) c.add(required('spec.scaleTargetRef'));
  const ref = c.obj(spec.scaleTargetRef, 'spec.scaleTargetRef');
  if (ref) {
    requiredStr(c, ref.kind, 'spec.scaleTargetRef.kind');
    const n = requiredStr(c, ref.name, 'spec.scaleTargetRef.name');
    checkName(c, n, 'spec.scaleTargetRef.name', isValidPathSegmentName);
    c.str(ref.apiVersion, 'spec.scaleTargetRef.apiVersion');
  }
  const min = c.int(spec.minReplicas, 'spec.minReplicas');
  if (min !== undefined && min < 1) c.add(invalid('spec.minReplicas', min, 'must be greater than or equal to 1'));
  const max = c.int(spec.maxReplicas, 'spec.maxReplicas');
  if (max === undefined) {
    if (isNil(spec.maxReplicas)) c.add(required('spec.maxReplicas'));
  } else if (max < 1) c.add(invalid('spec.maxReplicas', max, 'must be greater than 0'));
  else if (min !== undefined && min > max) c.add(invalid('spec.maxReplicas', max, 'must be greater than or equal to `minReplicas`'));
  c.objArr(spec.metrics, 'spec.metrics', (m, p) => {
    const type = c.enumStr(m.type, child(p, 'type'), METRIC_TYPES, { required: true });
    const expected: Record<string, string> = {
      Resource: 'resource',
      ContainerResource: 'containerResource',
      Pods: 'pods',
      Object: 'object',
      External: 'external',
    };
    const present = Object.values(expected).filter((f) => !isNil(m[f]));
    if (present.length > 1) c.add(forbidden(child(p, present[1]), 'must populate the given metric source only'));
    if (type && isNil(m[expected[type]])) c.add(required(child(p, expected[type]), `must populate information for the given metric source`));
    const res = c.obj(m.resource, child(p, 'resource'));
    if (res) {
      requiredStr(c, res.name, child(p, 'resource', 'name'));
      validateMetricTarget(c, res.target, child(p, 'resource', 'target'), true);
    }
    const cres = c.obj(m.containerResource, child(p, 'containerResource'));
    if (cres) {
      requiredStr(c, cres.name, child(p, 'containerResource', 'name'));
      const cn = requiredStr(c, cres.container, child(p, 'containerResource', 'container'));
      checkName(c, cn, child(p, 'containerResource', 'container'), isDNS1123Label);
      validateMetricTarget(c, cres.target, child(p, 'containerResource', 'target'), true);
    }
    const pods = c.obj(m.pods, child(p, 'pods'));
    if (pods) {
      validateMetricIdentifier(c, pods.metric, child(p, 'pods', 'metric'));
      validateMetricTarget(c, pods.target, child(p, 'pods', 'target'), false);
    }
    const ob = c.obj(m.object, child(p, 'object'));
    if (ob) {
      const d = c.obj(ob.describedObject, child(p, 'object', 'describedObject'));
      if (isNil(ob.describedObject)) c.add(required(child(p, 'object', 'describedObject')));
      if (d) {
        requiredStr(c, d.kind, child(p, 'object', 'describedObject', 'kind'));
        requiredStr(c, d.name, child(p, 'object', 'describedObject', 'name'));
      }
      validateMetricIdentifier(c, ob.metric, child(p, 'object', 'metric'));
      validateMetricTarget(c, ob.target, child(p, 'object', 'target'), false);
    }
    const ex = c.obj(m.external, child(p, 'external'));
    if (ex) {
      validateMetricIdentifier(c, ex.metric, child(p, 'external', 'metric'));
      validateMetricTarget(c, ex.target, child(p, 'external', 'target'), false);
    }
  });
  const b = c.obj(spec.behavior, 'spec.behavior');
  if (b) {
    validateScalingRules(c, b.scaleUp, 'spec.behavior.scaleUp');
    validateScalingRules(c, b.scaleDown, 'spec.behavior.scaleDown');
  }
}

// ---- PodDisruptionBudget ------------------------------------------------------------------------------

export function validatePDB(c: Ctx, obj: Obj): void {
  const spec = c.obj(obj.spec, 'spec');
  if (!spec) return;
  if (!isNil(spec.minAvailable) && !isNil(spec.maxUnavailable)) {
    c.add(invalid('spec', new Rendered(renderValue(spec)), 'minAvailable and maxUnavailable cannot be both set'));
  }
  for (const f of ['minAvailable', 'maxUnavailable']) {
    const p = child('spec', f);
    validateIntOrPercent(c, spec[f], p);
    const v = spec[f];
    if (typeof v === 'string' && /^[0-9]+%$/.test(v) && Number(v.slice(0, -1)) > 100) c.add(invalid(p, v, 'must not be greater than 100%'));
  }
  validateLabelSelector(c, spec.selector, 'spec.selector');
  c.enumStr(spec.unhealthyPodEvictionPolicy, 'spec.unhealthyPodEvictionPolicy', ['AlwaysAllow', 'IfHealthyBudget']);
}

// ---- Lease / EndpointSlice / ControllerRevision ----------------------------------------------------------

export function validateLease(c: Ctx, obj: Obj): void {
  const spec = c.obj(obj.spec, 'spec');
  if (!spec) return;
  c.str(spec.holderIdentity, 'spec.holderIdentity');
  const d = c.int(spec.leaseDurationSeconds, 'spec.leaseDurationSeconds');
  if (d !== undefined && d <= 0) c.add(invalid('spec.leaseDurationSeconds', d, 'must be greater than 0'));
  c.nonNegInt(spec.leaseTransitions, 'spec.leaseTransitions');
  c.str(spec.acquireTime, 'spec.acquireTime');
  c.str(spec.renewTime, 'spec.renewTime');
  c.str(spec.strategy, 'spec.strategy');
  c.str(spec.preferredHolder, 'spec.preferredHolder');
}

const ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'];

export function validateEndpointSlice(c: Ctx, obj: Obj, old?: Obj): void {
  const at = c.enumStr(obj.addressType, 'addressType', ADDRESS_TYPES, { required: true });
  c.objArr(obj.endpoints, 'endpoints', (e, p) => {
    const addrs = c.strArr(e.addresses, child(p, 'addresses'));
    if (!addrs || addrs.length === 0) {
      if (isNil(e.addresses) || Array.isArray(e.addresses)) c.add(required(child(p, 'addresses'), 'must contain at least 1 address'));
    } else if (addrs.length > 100) {
      c.add(tooMany(child(p, 'addresses'), addrs.length, 100));
    }
    addrs?.forEach((a, i) => {
      const ap = idx(child(p, 'addresses'), i);
      if (at === 'IPv4' && !isIPv4(a)) c.add(invalid(ap, a, 'must be a valid IPv4 address'));
      else if (at === 'IPv6' && !isIPv6(a)) c.add(invalid(ap, a, 'must be a valid IPv6 address'));
      else if (at === 'FQDN') for (const m of isDNS1123Subdomain(a)) c.add(invalid(ap, a, m));
    });
    const cond = c.obj(e.conditions, child(p, 'conditions'));
    if (cond) for (const f of ['ready', 'serving', 'terminating']) c.bool(cond[f], child(p, 'conditions', f));
    c.str(e.nodeName, child(p, 'nodeName'));
    c.str(e.hostname, child(p, 'hostname'));
    c.obj(e.targetRef, child(p, 'targetRef'));
    c.str(e.zone, child(p, 'zone'));
  });
  c.objArr(obj.ports, 'ports', (pt, p) => {
    const n = c.str(pt.name, child(p, 'name'));
    if (n) for (const m of isDNS1123Label(n)) c.add(invalid(child(p, 'name'), n, m));
    const port = c.int(pt.port, child(p, 'port'));
    if (port !== undefined && port !== 0) for (const m of isValidPortNum(port)) c.add(invalid(child(p, 'port'), port, m));
    c.enumStr(pt.protocol, child(p, 'protocol'), PROTOCOLS);
    c.str(pt.appProtocol, child(p, 'appProtocol'));
  });
  if (old && (obj.addressType ?? null) !== (old.addressType ?? null)) c.add(invalid('addressType', obj.addressType ?? null, IMMUTABLE));
}

export function validateControllerRevision(c: Ctx, obj: Obj, old?: Obj): void {
  const rev = c.int(obj.revision, 'revision');
  if (rev === undefined) {
    if (isNil(obj.revision)) c.add(required('revision'));
  } else if (rev < 0) c.add(invalid('revision', rev, 'must be greater than or equal to 0'));
  if (old && !deepEqual(obj.data ?? null, old.data ?? null)) c.add(invalid('data', new Rendered(renderValue(obj.data)), IMMUTABLE));
}
