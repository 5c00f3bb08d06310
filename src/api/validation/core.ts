/**
 * core/v1 kinds other than Pod: Service, ConfigMap, Secret, Namespace, Node,
 * PersistentVolumeClaim, PersistentVolume, Endpoints, ServiceAccount, Event.
 */
import { tryParseQuantity } from '../quantity';
import {
  Ctx,
  Obj,
  child,
  clone,
  deepEqual,
  duplicate,
  forbidden,
  idx,
  invalid,
  isNil,
  isObj,
  key,
  notSupported,
  required,
  tooLong,
  typeInvalid,
  IMMUTABLE,
  Rendered,
  renderValue,
} from './field';
import { validateLabelSelector, validateLabels } from './meta';
import {
  IP_ERROR,
  base64Error,
  isConfigMapKey,
  isDNS1123Label,
  isDNS1123Subdomain,
  isIPv4,
  isQualifiedName,
  isValidCIDR,
  isValidIP,
  isValidLabelValue,
  isValidPortNum,
} from './names';
import { PROTOCOLS, checkName, requiredStr, validatePortNumOrName, validateResourceList } from './pod';

function specOf(c: Ctx, obj: Obj, isRequired = true): Obj | undefined {
  if (isNil(obj.spec)) {
    if (isRequired) c.add(required('spec'));
    return undefined;
  }
  return c.obj(obj.spec, 'spec');
}

// ---- Service -----------------------------------------------------------------------------------

export const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
export const NODE_PORT_MIN = 30000;
export const NODE_PORT_MAX = 32767;

export function validateService(c: Ctx, obj: Obj, old?: Obj): void {
  const spec = specOf(c, obj);
  if (spec) validateServiceSpec(c, spec);
  if (old && isObj(obj.spec) && isObj(old.spec)) {
    const n = obj.spec;
    const o = old.spec;
    const externalName = n.type === 'ExternalName' || o.type === 'ExternalName';
    const nip = typeof n.clusterIP === 'string' ? n.clusterIP : '';
    const oip = typeof o.clusterIP === 'string' ? o.clusterIP : '';
    if (!externalName && nip !== '' && oip !== '' && nip !== oip) c.add(invalid('spec.clusterIP', nip, IMMUTABLE));
  }
}

function validateServiceSpec(c: Ctx, spec: Obj): void {
  const type = c.enumStr(spec.type, 'spec.type', SERVICE_TYPES, { required: true });
  const clusterIP = c.str(spec.clusterIP, 'spec.clusterIP');
  const clusterIPs = c.strArr(spec.clusterIPs, 'spec.clusterIPs');
  const headless = clusterIP === 'None';

  if (type === 'ExternalName') {
    const en = c.str(spec.externalName, 'spec.externalName');
    if (en === undefined || en === '') {
      if (isNil(spec.externalName) || spec.externalName === '') c.add(required('spec.externalName'));
    } else {
      const cname = en.endsWith('.') ? en.slice(0, -1) : en;
      for (const m of isDNS1123Subdomain(cname)) c.add(invalid('spec.externalName', en, m));
    }
    if (clusterIP) c.add(forbidden('spec.clusterIP', 'may not be set for ExternalName services'));
  } else if (clusterIP && clusterIP !== 'None') {
    if (!isIPv4(clusterIP)) c.add(invalid('spec.clusterIP', clusterIP, isValidIP(clusterIP).length ? IP_ERROR : 'must be a valid IPv4 address'));
  }
  if (headless && (type === 'NodePort' || type === 'LoadBalancer')) {
    c.add(invalid('spec.clusterIP', clusterIP, `may not be set to 'None' for ${type} services`));
  }
  if (clusterIPs && type !== 'ExternalName') {
    clusterIPs.forEach((ip, i) => {
      if (ip === 'None' && i === 0) return;
      for (const m of isValidIP(ip)) c.add(invalid(idx('spec.clusterIPs', i), ip, m));
    });
    if (clusterIP && clusterIPs.length > 0 && clusterIPs[0] !== clusterIP) {
      c.add(invalid('spec.clusterIPs', new Rendered(renderValue(clusterIPs)), 'first value must match `clusterIP`'));
    }
    if (clusterIPs.length > 2) c.add(invalid('spec.clusterIPs', new Rendered(renderValue(clusterIPs)), 'may only hold up to 2 values'));
  }

  // ports
  const portsRaw = spec.ports;
  const ports = c.objArr(portsRaw, 'spec.ports');
  if (ports.length === 0 && type !== 'ExternalName' && !headless && (isNil(portsRaw) || Array.isArray(portsRaw))) {
    c.add(required('spec.ports'));
  }
  const needName = Array.isArray(portsRaw) && portsRaw.length > 1;
  const names = new Set<string>();
  const portProto = new Set<string>();
  const nodePorts = new Set<string>();
  for (const { o: sp, p } of ports) {
    const name = c.str(sp.name, child(p, 'name'));
    if (!name) {
      if (needName && (isNil(sp.name) || sp.name === '')) c.add(required(child(p, 'name')));
    } else {
      for (const m of isDNS1123Label(name)) c.add(invalid(child(p, 'name'), name, m));
      if (names.has(name)) c.add(duplicate(child(p, 'name'), name));
      names.add(name);
    }
    const port = c.int(sp.port, child(p, 'port'));
    if (port === undefined) {
      if (isNil(sp.port)) c.add(required(child(p, 'port')));
    } else for (const m of isValidPortNum(port)) c.add(invalid(child(p, 'port'), port, m));
    const proto = c.enumStr(sp.protocol, child(p, 'protocol'), PROTOCOLS, { required: true });
    validatePortNumOrName(c, sp.targetPort, child(p, 'targetPort'), false);
    c.str(sp.appProtocol, child(p, 'appProtocol'));
    if (port !== undefined && proto !== undefined) {
      const k = `${port}/${proto}`;
      if (portProto.has(k)) c.add(duplicate(p, new Rendered(JSON.stringify({ port, protocol: proto }))));
      portProto.add(k);
    }
    const np = c.int(sp.nodePort, child(p, 'nodePort'));
    if (np !== undefined && np !== 0) {
      if (type === 'ClusterIP' || type === 'ExternalName') {
        c.add(forbidden(child(p, 'nodePort'), `may not be used when \`type\` is '${type}'`));
      } else if (np < NODE_PORT_MIN || np > NODE_PORT_MAX) {
        c.add(invalid(child(p, 'nodePort'), np, `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_MIN}-${NODE_PORT_MAX}`));
      } else {
        const k = `${np}/${proto ?? ''}`;
        if (nodePorts.has(k)) c.add(duplicate(child(p, 'nodePort'), np));
        nodePorts.add(k);
      }
    }
  }

  validateLabels(c, spec.selector, 'spec.selector');
  const affinity = c.enumStr(spec.sessionAffinity, 'spec.sessionAffinity', ['ClientIP', 'None'], { required: true });
  const sac = c.obj(spec.sessionAffinityConfig, 'spec.sessionAffinityConfig');
  if (sac) {
    if (affinity === 'None') c.add(forbidden('spec.sessionAffinityConfig', 'must not be set when session affinity is None'));
    const cip = c.obj(sac.clientIP, 'spec.sessionAffinityConfig.clientIP');
    if (cip) {
      const t = c.int(cip.timeoutSeconds, 'spec.sessionAffinityConfig.clientIP.timeoutSeconds');
      if (t !== undefined && (t <= 0 || t > 86400)) c.add(invalid('spec.sessionAffinityConfig.clientIP.timeoutSeconds', t, 'must be greater than 0 and less than 86400'));
    }
  }
  c.enumStr(spec.externalTrafficPolicy, 'spec.externalTrafficPolicy', ['Cluster', 'Local']);
  c.enumStr(spec.internalTrafficPolicy, 'spec.internalTrafficPolicy', ['Cluster', 'Local']);
  c.enumStr(spec.ipFamilyPolicy, 'spec.ipFamilyPolicy', ['PreferDualStack', 'RequireDualStack', 'SingleStack']);
  const fams = c.strArr(spec.ipFamilies, 'spec.ipFamilies');
  if (fams) {
    const seen = new Set<string>();
    fams.forEach((f, i) => {
      if (f !== 'IPv4' && f !== 'IPv6') c.add(notSupported(idx('spec.ipFamilies', i), f, ['IPv4', 'IPv6']));
      else if (seen.has(f)) c.add(duplicate(idx('spec.ipFamilies', i), f));
      seen.add(f);
    });
    if (fams.length > 2) c.add(invalid('spec.ipFamilies', new Rendered(renderValue(fams)), 'may only hold up to 2 values'));
  }
  const eips = c.strArr(spec.externalIPs, 'spec.externalIPs');
  eips?.forEach((ip, i) => {
    for (const m of isValidIP(ip)) c.add(invalid(idx('spec.externalIPs', i), ip, m));
  });
  const lbIP = c.str(spec.loadBalancerIP, 'spec.loadBalancerIP');
  if (lbIP) for (const m of isValidIP(lbIP)) c.add(invalid('spec.loadBalancerIP', lbIP, m));
  const ranges = c.strArr(spec.loadBalancerSourceRanges, 'spec.loadBalancerSourceRanges');
  ranges?.forEach((r, i) => {
    for (const m of isValidCIDR(r.trim())) c.add(invalid(idx('spec.loadBalancerSourceRanges', i), r, m));
  });
  c.str(spec.loadBalancerClass, 'spec.loadBalancerClass');
  c.bool(spec.publishNotReadyAddresses, 'spec.publishNotReadyAddresses');
  c.bool(spec.allocateLoadBalancerNodePorts, 'spec.allocateLoadBalancerNodePorts');
  c.int(spec.healthCheckNodePort, 'spec.healthCheckNodePort');
  c.str(spec.trafficDistribution, 'spec.trafficDistribution');
}

// ---- ConfigMap / Secret -----------------------------------------------------------------------------

export const MAX_CONFIG_SIZE = 1024 * 1024;
const IMMUTABLE_SET = 'field is immutable when `immutable` is set';

function validateDataKeys(c: Ctx, o: Obj, path: string): void {
  for (const k of Object.keys(o)) {
    for (const m of isConfigMapKey(k)) c.add(invalid(key(path, k), k, m));
  }
}

function validateImmutableUpdate(c: Ctx, obj: Obj, old: Obj, fields: string[]): void {
  if (old.immutable !== true) return;
  if (obj.immutable !== true) c.add(forbidden('immutable', IMMUTABLE_SET));
  for (const f of fields) {
    if (!deepEqual(obj[f] ?? {}, old[f] ?? {})) c.add(forbidden(f, IMMUTABLE_SET));
  }
}

export function validateConfigMap(c: Ctx, obj: Obj, old?: Obj): void {
  let size = 0;
  const data = c.obj(obj.data, 'data');
  if (data) {
    validateDataKeys(c, data, 'data');
    for (const [k, v] of Object.entries(data)) {
      if (typeof v !== 'string') c.add(typeInvalid(key('data', k), v, 'must be of type string'));
      else size += Buffer.byteLength(k) + Buffer.byteLength(v);
    }
  }
  const bin = c.obj(obj.binaryData, 'binaryData');
  if (bin) {
    validateDataKeys(c, bin, 'binaryData');
    for (const [k, v] of Object.entries(bin)) {
      if (typeof v !== 'string') {
        c.add(typeInvalid(key('binaryData', k), v, 'must be of type string'));
        continue;
      }
      const e = base64Error(v);
      if (e) c.add(invalid(key('binaryData', k), v, e));
      size += Buffer.byteLength(k) + Math.floor((v.length * 3) / 4);
      if (data && Object.prototype.hasOwnProperty.call(data, k)) c.add(invalid(key('binaryData', k), k, 'duplicate of key present in data'));
    }
  }
  if (size > MAX_CONFIG_SIZE) c.add(tooLong('', MAX_CONFIG_SIZE));
  c.bool(obj.immutable, 'immutable');
  if (old) validateImmutableUpdate(c, obj, old, ['data', 'binaryData']);
}

const REDACTED = new Rendered('"<secret contents redacted>"');

export function validateSecret(c: Ctx, obj: Obj, old?: Obj): void {
  const type = c.str(obj.type, 'type');
  let size = 0;
  const data = c.obj(obj.data, 'data');
  const present = new Set<string>();
  if (data) {
    validateDataKeys(c, data, 'data');
    for (const [k, v] of Object.entries(data)) {
      if (typeof v !== 'string') {
        c.add(typeInvalid(key('data', k), REDACTED, 'must be of type string (base64-encoded bytes)'));
        continue;
      }
      const e = base64Error(v);
      if (e) c.add(invalid(key('data', k), REDACTED, e));
      size += Buffer.byteLength(k) + Math.floor((v.length * 3) / 4);
      if (v.length > 0) present.add(k);
    }
  }
  const sd = c.obj(obj.stringData, 'stringData');
  if (sd) {
    validateDataKeys(c, sd, 'stringData');
    for (const [k, v] of Object.entries(sd)) {
      if (typeof v !== 'string') c.add(typeInvalid(key('stringData', k), REDACTED, 'must be of type string'));
      else {
        size += Buffer.byteLength(k) + Buffer.byteLength(v);
        if (v.length > 0) present.add(k);
      }
    }
  }
  if (size > MAX_CONFIG_SIZE) c.add(tooLong('data', MAX_CONFIG_SIZE));
  c.bool(obj.immutable, 'immutable');

  const need = (k: string) => {
    if (!present.has(k)) c.add(required(key('data', k)));
  };
  switch (type) {
    case 'kubernetes.io/service-account-token': {
      const ann = isObj(obj.metadata) && isObj(obj.metadata.annotations) ? obj.metadata.annotations : {};
      const n = ann['kubernetes.io/service-account.name'];
      if (typeof n !== 'string' || n === '') c.add(required('metadata.annotations[kubernetes.io/service-account.name]'));
      break;
    }
    case 'kubernetes.io/dockercfg':
      need('.dockercfg');
      break;
    case 'kubernetes.io/dockerconfigjson':
      need('.dockerconfigjson');
      break;
    case 'kubernetes.io/basic-auth':
      if (!present.has('username') && !present.has('password')) {
        c.add(required(key('data', 'username')));
        c.add(required(key('data', 'password')));
      }
      break;
    case 'kubernetes.io/ssh-auth':
      need('ssh-privatekey');
      break;
    case 'kubernetes.io/tls':
      need('tls.crt');
      need('tls.key');
      break;
    default:
      break;
  }

  if (old) {
    const ot = typeof old.type === 'string' ? old.type : '';
    if ((type ?? '') !== ot) c.add(invalid('type', type ?? '', IMMUTABLE));
    validateImmutableUpdate(c, obj, old, ['data']);
  }
}

// ---- Namespace / Node ------------------------------------------------------------------------------

export function validateNamespace(c: Ctx, obj: Obj): void {
  const spec = specOf(c, obj, false);
  if (spec) {
    const fins = c.strArr(spec.finalizers, 'spec.finalizers');
    fins?.forEach((f, i) => {
      const p = idx('spec.finalizers', i);
      const msgs = isQualifiedName(f);
      for (const m of msgs) c.add(invalid(p, f, m));
      if (!msgs.length && !f.includes('/') && f !== 'kubernetes') c.add(invalid(p, f, 'name is neither a standard finalizer name nor is it fully qualified'));
    });
  }
  const status = c.obj(obj.status, 'status');
  if (status) c.enumStr(status.phase, 'status.phase', ['Active', 'Terminating']);
}

const TAINT_EFFECTS = ['NoExecute', 'NoSchedule', 'PreferNoSchedule'];

export function validateNode(c: Ctx, obj: Obj): void {
  const spec = specOf(c, obj, false);
  if (spec) {
    const cidr = c.str(spec.podCIDR, 'spec.podCIDR');
    if (cidr) for (const m of isValidCIDR(cidr)) c.add(invalid('spec.podCIDR', cidr, m));
    const cidrs = c.strArr(spec.podCIDRs, 'spec.podCIDRs');
    cidrs?.forEach((x, i) => {
      for (const m of isValidCIDR(x)) c.add(invalid(idx('spec.podCIDRs', i), x, m));
    });
    c.str(spec.providerID, 'spec.providerID');
    c.bool(spec.unschedulable, 'spec.unschedulable');
    const seen = new Set<string>();
    c.objArr(spec.taints, 'spec.taints', (t, p) => {
      const k = requiredStr(c, t.key, child(p, 'key'));
      if (k !== undefined) for (const m of isQualifiedName(k)) c.add(invalid(child(p, 'key'), k, m));
      const v = c.str(t.value, child(p, 'value'));
      if (v) for (const m of isValidLabelValue(v)) c.add(invalid(child(p, 'value'), v, m));
      const e = c.enumStr(t.effect, child(p, 'effect'), TAINT_EFFECTS, { required: true });
      c.str(t.timeAdded, child(p, 'timeAdded'));
      if (k !== undefined && e !== undefined) {
        const id = `${k}:${e}`;
        if (seen.has(id)) c.add(duplicate(p, new Rendered(JSON.stringify({ key: k, effect: e }))));
        seen.add(id);
      }
    });
    c.obj(spec.configSource, 'spec.configSource');
  }
  const status = c.obj(obj.status, 'status');
  if (status) {
    validateResourceList(c, status.capacity, 'status.capacity', 'any');
    validateResourceList(c, status.allocatable, 'status.allocatable', 'any');
    c.objArr(status.addresses, 'status.addresses', (a, p) => {
      c.str(a.type, child(p, 'type'));
      c.str(a.address, child(p, 'address'));
    });
    c.arr(status.conditions, 'status.conditions');
    c.obj(status.nodeInfo, 'status.nodeInfo');
  }
}

// ---- PersistentVolumeClaim / PersistentVolume -------------------------------------------------------

const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];
const VOLUME_MODES = ['Block', 'Filesystem'];

function validateAccessModes(c: Ctx, v: unknown, path: string): void {
  const modes = c.strArr(v, path);
  if (!modes || modes.length === 0) {
    if (isNil(v) || Array.isArray(v)) c.add(required(path, 'at least 1 access mode is required'));
    return;
  }
  for (const m of modes) if (!ACCESS_MODES.includes(m)) c.add(notSupported(path, m, ACCESS_MODES));
  if (modes.includes('ReadWriteOncePod') && modes.length > 1) c.add(forbidden(path, 'may not use ReadWriteOncePod with other access modes'));
}

function validateTypedRef(c: Ctx, v: unknown, path: string): void {
  const r = c.obj(v, path);
  if (!r) return;
  c.str(r.apiGroup, child(path, 'apiGroup'));
  requiredStr(c, r.kind, child(path, 'kind'));
  requiredStr(c, r.name, child(path, 'name'));
}

/** PVC spec (also used for StatefulSet volumeClaimTemplates). */
export function validatePVCSpec(c: Ctx, v: unknown, path: string): void {
  const spec = c.obj(v, path);
  if (!spec) {
    if (isNil(v)) c.add(required(path));
    return;
  }
  validateAccessModes(c, spec.accessModes, child(path, 'accessModes'));
  validateLabelSelector(c, spec.selector, child(path, 'selector'));
  const res = c.obj(spec.resources, child(path, 'resources'));
  const storagePath = key(child(path, 'resources'), 'storage');
  if (!res) {
    if (isNil(spec.resources)) c.add(required(storagePath));
  } else {
    const requests = validateResourceList(c, res.requests, child(path, 'resources', 'requests'), 'any');
    validateResourceList(c, res.limits, child(path, 'resources', 'limits'), 'any');
    const st = requests.get('storage');
    const raw = isObj(res.requests) ? res.requests.storage : undefined;
    if (!st) {
      if (isNil(raw)) c.add(required(storagePath));
    } else if (st.n <= 0) c.add(invalid(storagePath, String(st.raw), 'must be greater than zero'));
  }
  const sc = c.str(spec.storageClassName, child(path, 'storageClassName'));
  checkName(c, sc, child(path, 'storageClassName'), isDNS1123Subdomain);
  c.enumStr(spec.volumeMode, child(path, 'volumeMode'), VOLUME_MODES);
  c.str(spec.volumeName, child(path, 'volumeName'));
  c.str(spec.volumeAttributesClassName, child(path, 'volumeAttributesClassName'));
  validateTypedRef(c, spec.dataSource, child(path, 'dataSource'));
  validateTypedRef(c, spec.dataSourceRef, child(path, 'dataSourceRef'));
}

export function validatePVC(c: Ctx, obj: Obj, old?: Obj): void {
  if (isNil(obj.spec)) c.add(required('spec'));
  else validatePVCSpec(c, obj.spec, 'spec');
  if (!old || !isObj(obj.spec) || !isObj(old.spec)) return;
  const n = clone(obj.spec);
  const o = clone(old.spec);
  if (isNil(o.volumeName) || o.volumeName === '') n.volumeName = o.volumeName;
  const nReq = isObj(n.resources) && isObj(n.resources.requests) ? n.resources.requests : undefined;
  const oReq = isObj(o.resources) && isObj(o.resources.requests) ? o.resources.requests : undefined;
  const ns = nReq ? tryParseQuantity(nReq.storage) : undefined;
  const os = oReq ? tryParseQuantity(oReq.storage) : undefined;
  if (ns !== undefined && os !== undefined && ns < os) {
    c.add(forbidden('spec.resources.requests.storage', 'field can not be less than previous value'));
  }
  if (isObj(n.resources) && isObj(o.resources)) n.resources.requests = o.resources.requests;
  n.volumeAttributesClassName = o.volumeAttributesClassName;
  if (!deepEqual(n, o)) c.add(forbidden('spec', 'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims'));
}

const PV_SOURCES = [
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'hostPath',
  'glusterfs',
  'nfs',
  'rbd',
  'iscsi',
  'cinder',
  'cephfs',
  'fc',
  'flocker',
  'flexVolume',
  'azureFile',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'portworxVolume',
  'scaleIO',
  'local',
  'storageos',
  'csi',
];

export function validatePV(c: Ctx, obj: Obj, old?: Obj): void {
  const spec = specOf(c, obj);
  if (spec) {
    const capRaw = spec.capacity;
    const cap = c.obj(capRaw, 'spec.capacity');
    if (!cap || Object.keys(cap).length === 0) {
      if (isNil(capRaw) || cap) c.add(required('spec.capacity'));
    } else {
      if (!('storage' in cap) || Object.keys(cap).length > 1) c.add(notSupported('spec.capacity', new Rendered(renderValue(cap)), ['storage']));
      validateResourceList(c, cap, 'spec.capacity', 'any');
    }
    validateAccessModes(c, spec.accessModes, 'spec.accessModes');
    c.enumStr(spec.persistentVolumeReclaimPolicy, 'spec.persistentVolumeReclaimPolicy', ['Delete', 'Recycle', 'Retain'], { required: true });
    c.enumStr(spec.volumeMode, 'spec.volumeMode', VOLUME_MODES);
    const sc = c.str(spec.storageClassName, 'spec.storageClassName');
    checkName(c, sc, 'spec.storageClassName', isDNS1123Subdomain);
    c.strArr(spec.mountOptions, 'spec.mountOptions');
    c.obj(spec.nodeAffinity, 'spec.nodeAffinity');
    const cr = c.obj(spec.claimRef, 'spec.claimRef');
    if (cr) for (const f of ['name', 'namespace', 'uid', 'kind', 'apiVersion', 'resourceVersion']) c.str(cr[f], child('spec.claimRef', f));
    const sources = PV_SOURCES.filter((s) => !isNil(spec[s]));
    if (sources.length === 0) c.add(required('spec', 'must specify a volume type'));
    else if (sources.length > 1) c.add(forbidden(child('spec', sources[1]), 'may not specify more than 1 volume type'));
    for (const s of sources) {
      const sp = child('spec', s);
      const src = c.obj(spec[s], sp);
      if (!src) continue;
      if (s === 'hostPath' || s === 'local') requiredStr(c, src.path, child(sp, 'path'));
      if (s === 'hostPath') c.enumStr(src.type, child(sp, 'type'), ['', 'BlockDevice', 'CharDevice', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate', 'Socket']);
      if (s === 'local' && isNil(spec.nodeAffinity)) c.add(required('spec.nodeAffinity', 'Local volume requires node affinity'));
      if (s === 'nfs') {
        requiredStr(c, src.server, child(sp, 'server'));
        requiredStr(c, src.path, child(sp, 'path'));
      }
      if (s === 'csi') {
        requiredStr(c, src.driver, child(sp, 'driver'));
        requiredStr(c, src.volumeHandle, child(sp, 'volumeHandle'));
      }
    }
  }
  const status = c.obj(obj.status, 'status');
  if (status) c.enumStr(status.phase, 'status.phase', ['Available', 'Bound', 'Failed', 'Pending', 'Released']);
  if (old && isObj(obj.spec) && isObj(old.spec)) {
    const n = obj.spec;
    const o = old.spec;
    if (PV_SOURCES.some((s) => !deepEqual(n[s] ?? null, o[s] ?? null))) {
      c.add(forbidden('spec.persistentvolumesource', 'spec.persistentvolumesource is immutable after creation'));
    }
    if ((n.volumeMode ?? null) !== (o.volumeMode ?? null)) c.add(invalid('spec.volumeMode', n.volumeMode ?? null, IMMUTABLE));
    if (!isNil(o.nodeAffinity) && !deepEqual(n.nodeAffinity ?? null, o.nodeAffinity)) c.add(invalid('spec.nodeAffinity', new Rendered(renderValue(n.nodeAffinity)), IMMUTABLE));
  }
}

// ---- Endpoints / ServiceAccount / Event -------------------------------------------------------------

export function validateEndpoints(c: Ctx, obj: Obj): void {
  c.objArr(obj.subsets, 'subsets', (s, p) => {
    for (const f of ['addresses', 'notReadyAddresses']) {
      c.objArr(s[f], child(p, f), (a, ap) => {
        const ip = requiredStr(c, a.ip, child(ap, 'ip'));
        if (ip !== undefined) for (const m of isValidIP(ip)) c.add(invalid(child(ap, 'ip'), ip, m));
        c.str(a.hostname, child(ap, 'hostname'));
        c.str(a.nodeName, child(ap, 'nodeName'));
        c.obj(a.targetRef, child(ap, 'targetRef'));
      });
    }
    const ports = c.objArr(s.ports, child(p, 'ports'));
    for (const { o: pt, p: pp } of ports) {
      const n = c.str(pt.name, child(pp, 'name'));
      if (n) for (const m of isDNS1123Label(n)) c.add(invalid(child(pp, 'name'), n, m));
      else if (ports.length > 1 && (isNil(pt.name) || pt.name === '')) c.add(required(child(pp, 'name')));
      const port = c.int(pt.port, child(pp, 'port'));
      if (port !== undefined) for (const m of isValidPortNum(port)) c.add(invalid(child(pp, 'port'), port, m));
      c.enumStr(pt.protocol, child(pp, 'protocol'), PROTOCOLS, { required: true });
      c.str(pt.appProtocol, child(pp, 'appProtocol'));
    }
  });
}

export function validateServiceAccount(c: Ctx, obj: Obj): void {
  c.objArr(obj.secrets, 'secrets', (s, p) => {
    c.str(s.name, child(p, 'name'));
  });
  c.objArr(obj.imagePullSecrets, 'imagePullSecrets', (s, p) => {
    c.str(s.name, child(p, 'name'));
  });
  c.bool(obj.automountServiceAccountToken, 'automountServiceAccountToken');
}

export function validateEvent(c: Ctx, obj: Obj): void {
  const io = c.obj(obj.involvedObject, 'involvedObject');
  if (io) for (const f of ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath']) c.str(io[f], child('involvedObject', f));
  for (const f of ['reason', 'message', 'type', 'firstTimestamp', 'lastTimestamp', 'eventTime', 'action', 'reportingComponent', 'reportingInstance']) {
    c.str(obj[f], f);
  }
  c.int(obj.count, 'count');
  c.obj(obj.source, 'source');
  c.obj(obj.series, 'series');
  c.obj(obj.related, 'related');
  if (io && isObj(obj.metadata)) {
    const ns = obj.metadata.namespace;
    const ions = io.namespace;
    if (typeof ns === 'string' && typeof ions === 'string' && ions !== '' && ns !== ions) {
      c.add(invalid('involvedObject.namespace', ions, 'does not match event.namespace'));
    }
  }
}
