/**
 * PodSpec, containers, volumes, resources, probes and the Pod update rules.
 */
import { QUANTITY_SYNTAX_MESSAGE, tryParseQuantity } from '../quantity';
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
  notFound,
  notSupported,
  required,
  typeInvalid,
  NON_NEGATIVE,
} from './field';
import { validateLabelSelector, validateLabels, validateTemplateMeta } from './meta';
import {
  inclusiveRangeError,
  isConfigMapKey,
  isDNS1123Label,
  isDNS1123Subdomain,
  isEnvVarName,
  isQualifiedName,
  isValidIP,
  isValidLabelValue,
  isValidPortName,
  isValidPortNum,
} from './names';

export const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const DNS_POLICIES = ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'];
export const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const TERMINATION_MESSAGE_POLICIES = ['FallbackToLogsOnError', 'File'];
const TAINT_EFFECTS = ['NoExecute', 'NoSchedule', 'PreferNoSchedule'];
const HOST_PATH_TYPES = ['', 'BlockDevice', 'CharDevice', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate', 'Socket'];
const MOUNT_PROPAGATION = ['Bidirectional', 'HostToContainer', 'None'];
const ENV_FIELD_PATHS = [
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.serviceAccountName',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
];
const VOLUME_FIELD_PATHS = ['metadata.annotations', 'metadata.labels', 'metadata.name', 'metadata.namespace', 'metadata.uid'];
const RESOURCE_FIELD_REFS = [
  'limits.cpu',
  'limits.ephemeral-storage',
  'limits.memory',
  'requests.cpu',
  'requests.ephemeral-storage',
  'requests.memory',
];

/** Every volume source key a core/v1 Volume may carry (exactly one must be set). */
export const VOLUME_SOURCES = [
  'hostPath',
  'emptyDir',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'secret',
  'nfs',
  'iscsi',
  'glusterfs',
  'persistentVolumeClaim',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'downwardAPI',
  'fc',
  'azureFile',
  'configMap',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'projected',
  'portworxVolume',
  'scaleIO',
  'storageos',
  'csi',
  'ephemeral',
  'image',
];

// ---- small shared checks -------------------------------------------------------------------

/** A required, non-empty string; returns it when present. */
export function requiredStr(c: Ctx, v: unknown, path: string, detail = ''): string | undefined {
  const s = c.str(v, path);
  if (s === undefined || s === '') {
    if (isNil(v) || v === '') c.add(required(path, detail));
    return undefined;
  }
  return s;
}

/** Applies a name checker to a string, reporting each message as Invalid. */
export function checkName(c: Ctx, s: string | undefined, path: string, fn: (s: string) => string[]): void {
  if (s === undefined || s === '') return;
  for (const m of fn(s)) c.add(invalid(path, s, m));
}

/** An IntOrString port: number 1-65535 or IANA port name. */
export function validatePortNumOrName(c: Ctx, v: unknown, path: string, isRequired = true): void {
  const p = c.intOrStr(v, path);
  if (p === undefined || p === '' || p === 0) {
    if (isRequired && (isNil(v) || v === '' || v === 0)) c.add(required(path));
    return;
  }
  if (typeof p === 'number') for (const m of isValidPortNum(p)) c.add(invalid(path, p, m));
  else for (const m of isValidPortName(p)) c.add(invalid(path, p, m));
}

/** Local descending path: relative, no `..` element. */
function validateLocalPath(c: Ctx, s: string, path: string): void {
  if (s.startsWith('/')) c.add(invalid(path, s, 'must be a relative path'));
  if (s.split('/').includes('..')) c.add(invalid(path, s, "must not contain '..'"));
}

function validateFileMode(c: Ctx, v: unknown, path: string): void {
  const n = c.int(v, path);
  if (n !== undefined && (n < 0 || n > 0o777)) c.add(invalid(path, n, 'must be a number between 0 and 0777 (octal), both inclusive'));
}

// ---- resources -------------------------------------------------------------------------------

const STANDARD_CONTAINER_RESOURCES = ['cpu', 'memory', 'ephemeral-storage'];

function isStandardContainerResource(name: string): boolean {
  return STANDARD_CONTAINER_RESOURCES.includes(name) || name.startsWith('hugepages-');
}

/**
 * A ResourceList (`{cpu: "100m", memory: "64Mi"}`): resource names and quantity syntax.
 * Returns parsed values for cross checks.
 */
export function validateResourceList(
  c: Ctx,
  v: unknown,
  path: string,
  nameCheck: 'container' | 'any' = 'container',
): Map<string, { n: number; raw: string | number }> {
  const out = new Map<string, { n: number; raw: string | number }>();
  const o = c.obj(v, path);
  if (!o) return out;
  for (const [name, q] of Object.entries(o)) {
    const p = key(path, name);
    if (!name.includes('/')) {
      if (nameCheck === 'container' && !isStandardContainerResource(name)) c.add(invalid(p, name, 'must be a standard resource for containers'));
      else for (const m of isQualifiedName(name)) c.add(invalid(p, name, m));
    } else {
      for (const m of isQualifiedName(name)) c.add(invalid(p, name, m));
    }
    if (typeof q !== 'string' && typeof q !== 'number') {
      c.add(typeInvalid(p, q, 'must be a quantity string or number'));
      continue;
    }
    const n = tryParseQuantity(q);
    if (n === undefined) {
      c.add(invalid(p, q, QUANTITY_SYNTAX_MESSAGE));
      continue;
    }
    if (n < 0) {
      c.add(invalid(p, q, NON_NEGATIVE));
      continue;
    }
    out.set(name, { n, raw: q });
  }
  return out;
}

export function validateResourceRequirements(c: Ctx, v: unknown, path: string): void {
  const r = c.obj(v, path);
  if (!r) return;
  const limits = validateResourceList(c, r.limits, child(path, 'limits'));
  const requests = validateResourceList(c, r.requests, child(path, 'requests'));
  for (const [name, req] of requests) {
    const lim = limits.get(name);
    if (lim && req.n > lim.n) {
      c.add(invalid(key(child(path, 'requests'), name), String(req.raw), `must be less than or equal to ${name} limit of ${lim.raw}`));
    }
  }
  c.objArr(r.claims, child(path, 'claims'), (cl, p) => {
    requiredStr(c, cl.name, child(p, 'name'));
  });
}

// ---- probes and handlers -------------------------------------------------------------------------

function validateHTTPGet(c: Ctx, h: Obj, path: string): void {
  c.str(h.path, child(path, 'path'));
  c.str(h.host, child(path, 'host'));
  validatePortNumOrName(c, h.port, child(path, 'port'));
  c.enumStr(h.scheme, child(path, 'scheme'), ['HTTP', 'HTTPS']);
  c.objArr(h.httpHeaders, child(path, 'httpHeaders'), (hh, p) => {
    requiredStr(c, hh.name, child(p, 'name'));
    c.str(hh.value, child(p, 'value'));
  });
}

/** Validates the handler members present on `h`; `kinds` lists the allowed handler keys. */
function validateHandler(c: Ctx, h: Obj, path: string, kinds: string[]): void {
  const present = kinds.filter((k) => !isNil(h[k]));
  if (present.length === 0) c.add(required(path, 'must specify a handler type'));
  else if (present.length > 1) c.add(forbidden(child(path, present[1]), 'may not specify more than 1 handler type'));
  const exec = c.obj(h.exec, child(path, 'exec'));
  if (exec) {
    const cmd = c.strArr(exec.command, child(path, 'exec', 'command'));
    if (!cmd || cmd.length === 0) {
      if (isNil(exec.command) || Array.isArray(exec.command)) c.add(required(child(path, 'exec', 'command')));
    }
  }
  const hg = c.obj(h.httpGet, child(path, 'httpGet'));
  if (hg) validateHTTPGet(c, hg, child(path, 'httpGet'));
  const tcp = c.obj(h.tcpSocket, child(path, 'tcpSocket'));
  if (tcp) {
    validatePortNumOrName(c, tcp.port, child(path, 'tcpSocket', 'port'));
    c.str(tcp.host, child(path, 'tcpSocket', 'host'));
  }
  if (kinds.includes('grpc')) {
    const g = c.obj(h.grpc, child(path, 'grpc'));
    if (g) {
      const port = c.int(g.port, child(path, 'grpc', 'port'));
      if (port === undefined) {
        if (isNil(g.port)) c.add(required(child(path, 'grpc', 'port')));
      } else for (const m of isValidPortNum(port)) c.add(invalid(child(path, 'grpc', 'port'), port, m));
      c.str(g.service, child(path, 'grpc', 'service'));
    }
  }
  if (kinds.includes('sleep')) {
    const s = c.obj(h.sleep, child(path, 'sleep'));
    if (s) {
      const secs = c.int(s.seconds, child(path, 'sleep', 'seconds'));
      if (secs === undefined && isNil(s.seconds)) c.add(required(child(path, 'sleep', 'seconds')));
      else if (secs !== undefined && secs < 0) c.add(invalid(child(path, 'sleep', 'seconds'), secs, NON_NEGATIVE));
    }
  }
}

function validateProbe(c: Ctx, v: unknown, path: string, successMustBeOne: boolean): void {
  const p = c.obj(v, path);
  if (!p) return;
  validateHandler(c, p, path, ['exec', 'httpGet', 'tcpSocket', 'grpc']);
  for (const f of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) {
    c.nonNegInt(p[f], child(path, f));
  }
  const st = typeof p.successThreshold === 'number' ? p.successThreshold : undefined;
  if (successMustBeOne && st !== undefined && st !== 1 && Number.isInteger(st) && st >= 0) c.add(invalid(child(path, 'successThreshold'), st, 'must be 1'));
  c.posInt(p.terminationGracePeriodSeconds, child(path, 'terminationGracePeriodSeconds'));
}

function validateLifecycle(c: Ctx, v: unknown, path: string): void {
  const l = c.obj(v, path);
  if (!l) return;
  for (const hook of ['postStart', 'preStop']) {
    const h = c.obj(l[hook], child(path, hook));
    if (h) validateHandler(c, h, child(path, hook), ['exec', 'httpGet', 'tcpSocket', 'sleep']);
  }
  c.str(l.stopSignal, child(path, 'stopSignal'));
}

// ---- env -----------------------------------------------------------------------------------------

function validateFieldRef(c: Ctx, v: unknown, path: string, allowed: string[]): void {
  const f = c.obj(v, path);
  if (!f) return;
  const apiVersion = c.str(f.apiVersion, child(path, 'apiVersion'));
  if (apiVersion !== undefined && apiVersion !== '' && apiVersion !== 'v1') c.add(notSupported(child(path, 'apiVersion'), apiVersion, ['v1']));
  const fp = requiredStr(c, f.fieldPath, child(path, 'fieldPath'));
  if (fp === undefined) return;
  const m = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(fp);
  if (m) {
    for (const msg of isQualifiedName(m[2].toLowerCase())) c.add(invalid(child(path, 'fieldPath'), fp, msg));
    return;
  }
  if (!allowed.includes(fp)) c.add(notSupported(child(path, 'fieldPath'), fp, allowed));
}

function validateResourceFieldRef(c: Ctx, v: unknown, path: string): void {
  const r = c.obj(v, path);
  if (!r) return;
  c.str(r.containerName, child(path, 'containerName'));
  const res = requiredStr(c, r.resource, child(path, 'resource'));
  if (res !== undefined && !RESOURCE_FIELD_REFS.includes(res) && !/^(limits|requests)\.hugepages-/.test(res)) {
    c.add(notSupported(child(path, 'resource'), res, RESOURCE_FIELD_REFS));
  }
  if (!isNil(r.divisor)) {
    if (typeof r.divisor !== 'string' && typeof r.divisor !== 'number') c.add(typeInvalid(child(path, 'divisor'), r.divisor, 'must be a quantity string or number'));
    else if (tryParseQuantity(r.divisor) === undefined) c.add(invalid(child(path, 'divisor'), r.divisor, QUANTITY_SYNTAX_MESSAGE));
  }
}

function validateKeySelector(c: Ctx, v: unknown, path: string): void {
  const s = c.obj(v, path);
  if (!s) return;
  c.str(s.name, child(path, 'name'));
  const k = requiredStr(c, s.key, child(path, 'key'));
  checkName(c, k, child(path, 'key'), isConfigMapKey);
  c.bool(s.optional, child(path, 'optional'));
}

function validateEnv(c: Ctx, v: unknown, path: string): void {
  c.objArr(v, path, (e, p) => {
    const name = requiredStr(c, e.name, child(p, 'name'));
    checkName(c, name, child(p, 'name'), isEnvVarName);
    const value = c.str(e.value, child(p, 'value'));
    const vf = c.obj(e.valueFrom, child(p, 'valueFrom'));
    if (!vf) return;
    const vfp = child(p, 'valueFrom');
    const refs = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef', 'fileKeyRef'].filter((k) => !isNil(vf[k]));
    if (refs.length === 0) c.add(invalid(vfp, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
    else if (refs.length > 1) c.add(invalid(vfp, '', 'may not have more than one field specified at a time'));
    if (value) c.add(invalid(vfp, '', 'may not be specified when `value` is not empty'));
    validateFieldRef(c, vf.fieldRef, child(vfp, 'fieldRef'), ENV_FIELD_PATHS);
    validateResourceFieldRef(c, vf.resourceFieldRef, child(vfp, 'resourceFieldRef'));
    validateKeySelector(c, vf.configMapKeyRef, child(vfp, 'configMapKeyRef'));
    validateKeySelector(c, vf.secretKeyRef, child(vfp, 'secretKeyRef'));
    c.obj(vf.fileKeyRef, child(vfp, 'fileKeyRef'));
  });
}

function validateEnvFrom(c: Ctx, v: unknown, path: string): void {
  c.objArr(v, path, (e, p) => {
    const prefix = c.str(e.prefix, child(p, 'prefix'));
    checkName(c, prefix, child(p, 'prefix'), isEnvVarName);
    const refs = ['configMapRef', 'secretRef'].filter((k) => !isNil(e[k]));
    if (refs.length === 0) c.add(invalid(p, '', 'must specify one of: `configMapRef` or `secretRef`'));
    else if (refs.length > 1) c.add(invalid(p, '', 'may not have more than one field specified at a time'));
    for (const r of ['configMapRef', 'secretRef']) {
      const ref = c.obj(e[r], child(p, r));
      if (!ref) continue;
      const n = requiredStr(c, ref.name, child(p, r, 'name'));
      checkName(c, n, child(p, r, 'name'), isDNS1123Subdomain);
      c.bool(ref.optional, child(p, r, 'optional'));
    }
  });
}

// ---- containers ------------------------------------------------------------------------------------

type ContainerKind = 'container' | 'init' | 'ephemeral';

function validateSecurityContext(c: Ctx, v: unknown, path: string): void {
  const s = c.obj(v, path);
  if (!s) return;
  for (const f of ['privileged', 'readOnlyRootFilesystem', 'allowPrivilegeEscalation', 'runAsNonRoot']) c.bool(s[f], child(path, f));
  for (const f of ['runAsUser', 'runAsGroup']) {
    const n = c.int(s[f], child(path, f));
    if (n !== undefined && (n < 0 || n > 2147483647)) c.add(invalid(child(path, f), n, inclusiveRangeError(0, 2147483647)));
  }
  const caps = c.obj(s.capabilities, child(path, 'capabilities'));
  if (caps) {
    c.strArr(caps.add, child(path, 'capabilities', 'add'));
    c.strArr(caps.drop, child(path, 'capabilities', 'drop'));
  }
  c.obj(s.seLinuxOptions, child(path, 'seLinuxOptions'));
  c.obj(s.seccompProfile, child(path, 'seccompProfile'));
}

function validateContainer(c: Ctx, ct: Obj, p: string, kind: ContainerKind, volumes: Map<string, Obj>, names: Set<string>): void {
  const name = requiredStr(c, ct.name, child(p, 'name'));
  if (name !== undefined) {
    checkName(c, name, child(p, 'name'), isDNS1123Label);
    if (names.has(name)) c.add(duplicate(child(p, 'name'), name));
    names.add(name);
  }
  const image = requiredStr(c, ct.image, child(p, 'image'));
  if (image !== undefined && image.trim() !== image) c.add(invalid(child(p, 'image'), image, 'must not have leading or trailing whitespace'));
  c.strArr(ct.command, child(p, 'command'));
  c.strArr(ct.args, child(p, 'args'));
  c.str(ct.workingDir, child(p, 'workingDir'));
  for (const f of ['stdin', 'stdinOnce', 'tty']) c.bool(ct[f], child(p, f));
  c.enumStr(ct.imagePullPolicy, child(p, 'imagePullPolicy'), PULL_POLICIES, { required: true });
  c.str(ct.terminationMessagePath, child(p, 'terminationMessagePath'));
  c.enumStr(ct.terminationMessagePolicy, child(p, 'terminationMessagePolicy'), TERMINATION_MESSAGE_POLICIES, { required: true });

  // ports
  const portNames = new Set<string>();
  c.objArr(ct.ports, child(p, 'ports'), (pt, pp) => {
    const cp = c.int(pt.containerPort, child(pp, 'containerPort'));
    if (cp === undefined || cp === 0) {
      if (isNil(pt.containerPort) || pt.containerPort === 0) c.add(required(child(pp, 'containerPort')));
    } else for (const m of isValidPortNum(cp)) c.add(invalid(child(pp, 'containerPort'), cp, m));
    const hp = c.int(pt.hostPort, child(pp, 'hostPort'));
    if (hp !== undefined && hp !== 0) for (const m of isValidPortNum(hp)) c.add(invalid(child(pp, 'hostPort'), hp, m));
    c.enumStr(pt.protocol, child(pp, 'protocol'), PROTOCOLS, { required: true });
    const pn = c.str(pt.name, child(pp, 'name'));
    if (pn) {
      for (const m of isValidPortName(pn)) c.add(invalid(child(pp, 'name'), pn, m));
      if (portNames.has(pn)) c.add(duplicate(child(pp, 'name'), pn));
      portNames.add(pn);
    }
    const hip = c.str(pt.hostIP, child(pp, 'hostIP'));
    if (hip) for (const m of isValidIP(hip)) c.add(invalid(child(pp, 'hostIP'), hip, m));
  });

  validateEnv(c, ct.env, child(p, 'env'));
  validateEnvFrom(c, ct.envFrom, child(p, 'envFrom'));
  validateResourceRequirements(c, ct.resources, child(p, 'resources'));
  c.arr(ct.resizePolicy, child(p, 'resizePolicy'));

  // volume mounts
  const mountPaths = new Set<string>();
  c.objArr(ct.volumeMounts, child(p, 'volumeMounts'), (vm, vp) => {
    const vn = requiredStr(c, vm.name, child(vp, 'name'));
    if (vn !== undefined && !volumes.has(vn)) c.add(notFound(child(vp, 'name'), vn));
    const mp = requiredStr(c, vm.mountPath, child(vp, 'mountPath'));
    if (mp !== undefined) {
      if (mountPaths.has(mp)) c.add(invalid(child(vp, 'mountPath'), mp, 'must be unique'));
      mountPaths.add(mp);
    }
    c.bool(vm.readOnly, child(vp, 'readOnly'));
    const sp = c.str(vm.subPath, child(vp, 'subPath'));
    if (sp) validateLocalPath(c, sp, child(vp, 'subPath'));
    c.str(vm.subPathExpr, child(vp, 'subPathExpr'));
    if (sp && typeof vm.subPathExpr === 'string' && vm.subPathExpr) c.add(invalid(child(vp, 'subPathExpr'), vm.subPathExpr, 'subPathExpr and subPath are mutually exclusive'));
    c.enumStr(vm.mountPropagation, child(vp, 'mountPropagation'), MOUNT_PROPAGATION);
  });
  c.objArr(ct.volumeDevices, child(p, 'volumeDevices'), (vd, vp) => {
    requiredStr(c, vd.name, child(vp, 'name'));
    requiredStr(c, vd.devicePath, child(vp, 'devicePath'));
  });

  // restartPolicy on containers: only sidecar init containers may set it.
  const rp = c.str(ct.restartPolicy, child(p, 'restartPolicy'));
  const sidecar = kind === 'init' && rp === 'Always';
  if (rp) {
    if (kind === 'init') {
      if (rp !== 'Always') c.add(notSupported(child(p, 'restartPolicy'), rp, ['Always']));
    } else {
      c.add(forbidden(child(p, 'restartPolicy'), 'may not be set for non-init containers'));
    }
  }

  // probes and lifecycle
  for (const [f, mustBeOne] of [
    ['livenessProbe', true],
    ['readinessProbe', false],
    ['startupProbe', true],
  ] as const) {
    if (isNil(ct[f])) continue;
    if (kind === 'ephemeral' || (kind === 'init' && !sidecar)) {
      c.add(forbidden(child(p, f), kind === 'init' ? 'may not be set for init containers without restartPolicy=Always' : 'cannot be set for an Ephemeral Container'));
      continue;
    }
    validateProbe(c, ct[f], child(p, f), mustBeOne);
  }
  if (!isNil(ct.lifecycle) && kind === 'init' && !sidecar) {
    c.add(forbidden(child(p, 'lifecycle'), 'may not be set for init containers without restartPolicy=Always'));
  } else {
    validateLifecycle(c, ct.lifecycle, child(p, 'lifecycle'));
  }
  validateSecurityContext(c, ct.securityContext, child(p, 'securityContext'));
}

function validateContainers(c: Ctx, v: unknown, path: string, kind: ContainerKind, volumes: Map<string, Obj>, names: Set<string>, isRequired: boolean): void {
  const arr = c.arr(v, path);
  if (!arr) {
    if (isRequired && isNil(v)) c.add(required(path));
    return;
  }
  if (isRequired && arr.length === 0) c.add(required(path));
  c.objArr(arr, path, (ct, p) => validateContainer(c, ct, p, kind, volumes, names));
}

// ---- volumes -----------------------------------------------------------------------------------------

function validateKeyToPaths(c: Ctx, v: unknown, path: string): void {
  c.objArr(v, path, (it, p) => {
    requiredStr(c, it.key, child(p, 'key'));
    const ip = requiredStr(c, it.path, child(p, 'path'));
    if (ip !== undefined) validateLocalPath(c, ip, child(p, 'path'));
    validateFileMode(c, it.mode, child(p, 'mode'));
  });
}

function validateDownwardAPIItems(c: Ctx, v: unknown, path: string): void {
  c.objArr(v, path, (it, p) => {
    const ip = requiredStr(c, it.path, child(p, 'path'));
    if (ip !== undefined) validateLocalPath(c, ip, child(p, 'path'));
    validateFileMode(c, it.mode, child(p, 'mode'));
    const refs = ['fieldRef', 'resourceFieldRef'].filter((k) => !isNil(it[k]));
    if (refs.length > 1) c.add(invalid(p, 'resource', 'fieldRef and resourceFieldRef can not be specified simultaneously'));
    else if (refs.length === 0) c.add(required(p, 'one of fieldRef and resourceFieldRef is required'));
    validateFieldRef(c, it.fieldRef, child(p, 'fieldRef'), VOLUME_FIELD_PATHS);
    validateResourceFieldRef(c, it.resourceFieldRef, child(p, 'resourceFieldRef'));
  });
}

function validateVolumeSource(c: Ctx, vol: Obj, p: string, src: string): void {
  const sp = child(p, src);
  const s = c.obj(vol[src], sp);
  if (!s) return;
  switch (src) {
    case 'hostPath':
      requiredStr(c, s.path, child(sp, 'path'));
      c.enumStr(s.type, child(sp, 'type'), HOST_PATH_TYPES);
      break;
    case 'emptyDir': {
      const medium = c.str(s.medium, child(sp, 'medium'));
      if (medium && medium !== 'Memory' && !medium.startsWith('HugePages')) c.add(notSupported(child(sp, 'medium'), medium, ['', 'HugePages', 'Memory']));
      if (!isNil(s.sizeLimit)) {
        if (typeof s.sizeLimit !== 'string' && typeof s.sizeLimit !== 'number') c.add(typeInvalid(child(sp, 'sizeLimit'), s.sizeLimit, 'must be a quantity string or number'));
        else if (tryParseQuantity(s.sizeLimit) === undefined) c.add(invalid(child(sp, 'sizeLimit'), s.sizeLimit, QUANTITY_SYNTAX_MESSAGE));
      }
      break;
    }
    case 'secret': {
      const n = requiredStr(c, s.secretName, child(sp, 'secretName'));
      checkName(c, n, child(sp, 'secretName'), isDNS1123Subdomain);
      validateKeyToPaths(c, s.items, child(sp, 'items'));
      validateFileMode(c, s.defaultMode, child(sp, 'defaultMode'));
      c.bool(s.optional, child(sp, 'optional'));
      break;
    }
    case 'configMap': {
      const n = requiredStr(c, s.name, child(sp, 'name'));
      checkName(c, n, child(sp, 'name'), isDNS1123Subdomain);
      validateKeyToPaths(c, s.items, child(sp, 'items'));
      validateFileMode(c, s.defaultMode, child(sp, 'defaultMode'));
      c.bool(s.optional, child(sp, 'optional'));
      break;
    }
    case 'persistentVolumeClaim':
      requiredStr(c, s.claimName, child(sp, 'claimName'));
      c.bool(s.readOnly, child(sp, 'readOnly'));
      break;
    case 'downwardAPI':
      validateDownwardAPIItems(c, s.items, child(sp, 'items'));
      validateFileMode(c, s.defaultMode, child(sp, 'defaultMode'));
      break;
    case 'projected':
      validateFileMode(c, s.defaultMode, child(sp, 'defaultMode'));
      c.objArr(s.sources, child(sp, 'sources'), (ps, pp) => {
        const kinds = ['secret', 'configMap', 'downwardAPI', 'serviceAccountToken', 'clusterTrustBundle', 'podCertificate'].filter((k) => !isNil(ps[k]));
        if (kinds.length === 0) c.add(required(pp, 'must specify exactly 1 of: secret, configMap, downwardAPI, serviceAccountToken, clusterTrustBundle'));
        else if (kinds.length > 1) c.add(forbidden(child(pp, kinds[1]), 'may not specify more than 1 volume type per source'));
        for (const k of ['secret', 'configMap']) {
          const ref = c.obj(ps[k], child(pp, k));
          if (ref) {
            c.str(ref.name, child(pp, k, 'name'));
            validateKeyToPaths(c, ref.items, child(pp, k, 'items'));
          }
        }
        const da = c.obj(ps.downwardAPI, child(pp, 'downwardAPI'));
        if (da) validateDownwardAPIItems(c, da.items, child(pp, 'downwardAPI', 'items'));
        const sat = c.obj(ps.serviceAccountToken, child(pp, 'serviceAccountToken'));
        if (sat) {
          const tp = requiredStr(c, sat.path, child(pp, 'serviceAccountToken', 'path'));
          if (tp !== undefined) validateLocalPath(c, tp, child(pp, 'serviceAccountToken', 'path'));
          const exp = c.int(sat.expirationSeconds, child(pp, 'serviceAccountToken', 'expirationSeconds'));
          if (exp !== undefined && exp < 600) c.add(invalid(child(pp, 'serviceAccountToken', 'expirationSeconds'), exp, 'may not specify a duration less than 10 minutes'));
          c.str(sat.audience, child(pp, 'serviceAccountToken', 'audience'));
        }
      });
      break;
    case 'nfs':
      requiredStr(c, s.server, child(sp, 'server'));
      requiredStr(c, s.path, child(sp, 'path'));
      break;
    case 'csi':
      requiredStr(c, s.driver, child(sp, 'driver'));
      c.strMap(s.volumeAttributes, child(sp, 'volumeAttributes'));
      break;
    case 'ephemeral':
      if (isNil(s.volumeClaimTemplate)) c.add(required(child(sp, 'volumeClaimTemplate')));
      else c.obj(s.volumeClaimTemplate, child(sp, 'volumeClaimTemplate'));
      break;
    case 'image':
      c.str(s.reference, child(sp, 'reference'));
      c.enumStr(s.pullPolicy, child(sp, 'pullPolicy'), PULL_POLICIES);
      break;
    default:
      break;
  }
}

/** Volumes: unique DNS-label names, exactly one source each. Returns volumes by name. */
export function validateVolumes(c: Ctx, v: unknown, path: string): Map<string, Obj> {
  const byName = new Map<string, Obj>();
  c.objArr(v, path, (vol, p) => {
    const name = requiredStr(c, vol.name, child(p, 'name'));
    if (name !== undefined) {
      checkName(c, name, child(p, 'name'), isDNS1123Label);
      if (byName.has(name)) c.add(duplicate(child(p, 'name'), name));
      else byName.set(name, vol);
    }
    const sources = VOLUME_SOURCES.filter((s) => !isNil(vol[s]));
    if (sources.length === 0) c.add(required(p, 'must specify a volume type'));
    else if (sources.length > 1) c.add(forbidden(child(p, sources[1]), 'may not specify more than 1 volume type'));
    for (const s of sources) validateVolumeSource(c, vol, p, s);
  });
  return byName;
}

// ---- pod-level fields --------------------------------------------------------------------------------

export function validateTolerations(c: Ctx, v: unknown, path: string): void {
  c.objArr(v, path, (t, p) => {
    const k = c.str(t.key, child(p, 'key'));
    if (k) for (const m of isQualifiedName(k)) c.add(invalid(child(p, 'key'), k, m));
    const op = c.enumStr(t.operator, child(p, 'operator'), ['Equal', 'Exists']);
    const opValid = op !== undefined || isNil(t.operator) || t.operator === '';
    const value = c.str(t.value, child(p, 'value'));
    const keyEmpty = isNil(t.key) || t.key === '';
    if (keyEmpty && opValid && op !== 'Exists') {
      c.add(invalid(child(p, 'operator'), op ?? '', 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    }
    if (op === 'Exists' && value) c.add(invalid(child(p, 'operator'), value, "value must be empty when `operator` is 'Exists'"));
    else if (value) for (const m of isValidLabelValue(value)) c.add(invalid(child(p, 'value'), value, m));
    const effect = c.enumStr(t.effect, child(p, 'effect'), TAINT_EFFECTS);
    const secs = c.int(t.tolerationSeconds, child(p, 'tolerationSeconds'));
    if (secs !== undefined && effect !== 'NoExecute') c.add(invalid(child(p, 'effect'), effect ?? '', "effect must be 'NoExecute' when `tolerationSeconds` is set"));
  });
}

function validateDNSConfig(c: Ctx, v: unknown, path: string, dnsPolicy: string | undefined): void {
  const d = c.obj(v, path);
  if (!d) {
    if (dnsPolicy === 'None' && isNil(v)) c.add(required(path, 'must provide `dnsConfig` when `dnsPolicy` is None'));
    return;
  }
  const ns = c.strArr(d.nameservers, child(path, 'nameservers'));
  if (ns) {
    if (ns.length > 3) c.add(invalid(child(path, 'nameservers'), ns, 'must not have more than 3 nameservers'));
    ns.forEach((n, i) => {
      for (const m of isValidIP(n)) c.add(invalid(idx(child(path, 'nameservers'), i), n, m));
    });
  }
  if (dnsPolicy === 'None' && (!ns || ns.length === 0)) c.add(required(child(path, 'nameservers'), 'must provide at least one DNS nameserver when `dnsPolicy` is None'));
  const searches = c.strArr(d.searches, child(path, 'searches'));
  if (searches && searches.length > 32) c.add(invalid(child(path, 'searches'), searches, 'must not have more than 32 search paths'));
  c.objArr(d.options, child(path, 'options'), (o, p) => {
    requiredStr(c, o.name, child(p, 'name'), 'Option.Name must not be empty');
    c.str(o.value, child(p, 'value'));
  });
}

function validatePodSecurityContext(c: Ctx, v: unknown, path: string): void {
  const s = c.obj(v, path);
  if (!s) return;
  for (const f of ['runAsUser', 'runAsGroup', 'fsGroup']) {
    const n = c.int(s[f], child(path, f));
    if (n !== undefined && (n < 0 || n > 2147483647)) c.add(invalid(child(path, f), n, inclusiveRangeError(0, 2147483647)));
  }
  c.bool(s.runAsNonRoot, child(path, 'runAsNonRoot'));
  const groups = c.arr(s.supplementalGroups, child(path, 'supplementalGroups'));
  groups?.forEach((g, i) => c.int(g, idx(child(path, 'supplementalGroups'), i)));
  c.objArr(s.sysctls, child(path, 'sysctls'), (sc, p) => {
    requiredStr(c, sc.name, child(p, 'name'));
    c.str(sc.value, child(p, 'value'));
  });
  c.obj(s.seLinuxOptions, child(path, 'seLinuxOptions'));
  c.obj(s.seccompProfile, child(path, 'seccompProfile'));
}

export interface PodSpecOptions {
  /** Allowed spec.restartPolicy values; default Always, OnFailure, Never. */
  restartPolicies?: string[];
  /** Detail for the Required error when restartPolicy is missing. */
  restartPolicyRequiredDetail?: string;
  /** Volume names supplied from outside the spec (a StatefulSet's volumeClaimTemplates): mounts may refer to them. */
  claimTemplateVolumes?: string[];
}

/** Full PodSpec validation. A missing spec is reported as Required at `path`. */
export function validatePodSpec(c: Ctx, v: unknown, path: string, opts: PodSpecOptions = {}): Obj | undefined {
  const spec = c.obj(v, path);
  if (!spec) {
    if (isNil(v)) c.add(required(path));
    return undefined;
  }
  const volumes = validateVolumes(c, spec.volumes, child(path, 'volumes'));
  for (const n of opts.claimTemplateVolumes ?? []) if (!volumes.has(n)) volumes.set(n, { name: n, persistentVolumeClaim: { claimName: n } });
  const names = new Set<string>();
  validateContainers(c, spec.containers, child(path, 'containers'), 'container', volumes, names, true);
  validateContainers(c, spec.initContainers, child(path, 'initContainers'), 'init', volumes, names, false);
  validateContainers(c, spec.ephemeralContainers, child(path, 'ephemeralContainers'), 'ephemeral', volumes, names, false);

  const allowed = opts.restartPolicies ?? RESTART_POLICIES;
  const rp = c.str(spec.restartPolicy, child(path, 'restartPolicy'));
  if (rp === undefined || rp === '') {
    if (isNil(spec.restartPolicy) || spec.restartPolicy === '') c.add(required(child(path, 'restartPolicy'), opts.restartPolicyRequiredDetail ?? ''));
  } else if (!allowed.includes(rp)) {
    c.add(notSupported(child(path, 'restartPolicy'), rp, allowed));
  }

  const dnsPolicy = c.enumStr(spec.dnsPolicy, child(path, 'dnsPolicy'), DNS_POLICIES, { required: true });
  validateDNSConfig(c, spec.dnsConfig, child(path, 'dnsConfig'), dnsPolicy);

  validateLabels(c, spec.nodeSelector, child(path, 'nodeSelector'));
  checkName(c, c.str(spec.nodeName, child(path, 'nodeName')), child(path, 'nodeName'), isDNS1123Subdomain);
  checkName(c, c.str(spec.serviceAccountName, child(path, 'serviceAccountName')), child(path, 'serviceAccountName'), isDNS1123Subdomain);
  c.str(spec.serviceAccount, child(path, 'serviceAccount'));
  checkName(c, c.str(spec.hostname, child(path, 'hostname')), child(path, 'hostname'), isDNS1123Label);
  checkName(c, c.str(spec.subdomain, child(path, 'subdomain')), child(path, 'subdomain'), isDNS1123Label);
  checkName(c, c.str(spec.runtimeClassName, child(path, 'runtimeClassName')), child(path, 'runtimeClassName'), isDNS1123Subdomain);
  checkName(c, c.str(spec.priorityClassName, child(path, 'priorityClassName')), child(path, 'priorityClassName'), isDNS1123Subdomain);
  c.str(spec.schedulerName, child(path, 'schedulerName'));
  for (const f of ['automountServiceAccountToken', 'hostNetwork', 'hostPID', 'hostIPC', 'hostUsers', 'shareProcessNamespace', 'enableServiceLinks', 'setHostnameAsFQDN']) {
    c.bool(spec[f], child(path, f));
  }
  c.int(spec.priority, child(path, 'priority'));
  c.enumStr(spec.preemptionPolicy, child(path, 'preemptionPolicy'), ['Never', 'PreemptLowerPriority']);
  c.int(spec.terminationGracePeriodSeconds, child(path, 'terminationGracePeriodSeconds'));
  const ads = c.int(spec.activeDeadlineSeconds, child(path, 'activeDeadlineSeconds'));
  if (ads !== undefined && (ads < 1 || ads > 2147483647)) c.add(invalid(child(path, 'activeDeadlineSeconds'), ads, inclusiveRangeError(1, 2147483647)));
  validatePodSecurityContext(c, spec.securityContext, child(path, 'securityContext'));
  c.objArr(spec.imagePullSecrets, child(path, 'imagePullSecrets'), (s, p) => {
    c.str(s.name, child(p, 'name'));
  });
  const aff = c.obj(spec.affinity, child(path, 'affinity'));
  if (aff) for (const f of ['nodeAffinity', 'podAffinity', 'podAntiAffinity']) c.obj(aff[f], child(path, 'affinity', f));
  validateTolerations(c, spec.tolerations, child(path, 'tolerations'));
  c.objArr(spec.hostAliases, child(path, 'hostAliases'), (h, p) => {
    const ip = requiredStr(c, h.ip, child(p, 'ip'));
    if (ip !== undefined) for (const m of isValidIP(ip)) c.add(invalid(child(p, 'ip'), ip, m));
    c.strArr(h.hostnames, child(p, 'hostnames'));
  });
  c.objArr(spec.topologySpreadConstraints, child(path, 'topologySpreadConstraints'), (t, p) => {
    const skew = c.int(t.maxSkew, child(p, 'maxSkew'));
    if (skew === undefined ? isNil(t.maxSkew) : skew <= 0) c.add(invalid(child(p, 'maxSkew'), skew ?? 0, 'must be greater than zero'));
    const tk = requiredStr(c, t.topologyKey, child(p, 'topologyKey'), 'can not be empty');
    if (tk) for (const m of isQualifiedName(tk)) c.add(invalid(child(p, 'topologyKey'), tk, m));
    c.enumStr(t.whenUnsatisfiable, child(p, 'whenUnsatisfiable'), ['DoNotSchedule', 'ScheduleAnyway'], { required: true });
    validateLabelSelector(c, t.labelSelector, child(p, 'labelSelector'));
    const md = c.int(t.minDomains, child(p, 'minDomains'));
    if (md !== undefined && md <= 0) c.add(invalid(child(p, 'minDomains'), md, 'must be greater than 0'));
  });
  c.objArr(spec.readinessGates, child(path, 'readinessGates'), (g, p) => {
    requiredStr(c, g.conditionType, child(p, 'conditionType'));
  });
  c.objArr(spec.schedulingGates, child(path, 'schedulingGates'), (g, p) => {
    requiredStr(c, g.name, child(p, 'name'));
  });
  const os = c.obj(spec.os, child(path, 'os'));
  if (os) c.enumStr(os.name, child(path, 'os', 'name'), ['linux', 'windows'], { required: true });
  validateResourceList(c, spec.overhead, child(path, 'overhead'));
  validateResourceRequirements(c, spec.resources, child(path, 'resources'));
  return spec;
}

/** A PodTemplateSpec (`metadata` + `spec`). Missing template is Required. */
export function validatePodTemplateSpec(c: Ctx, v: unknown, path: string, opts: PodSpecOptions = {}): Obj | undefined {
  const t = c.obj(v, path);
  if (!t) {
    if (isNil(v)) c.add(required(path));
    return undefined;
  }
  validateTemplateMeta(c, t.metadata, child(path, 'metadata'));
  validatePodSpec(c, t.spec, child(path, 'spec'), opts);
  return t;
}

// ---- Pod object ------------------------------------------------------------------------------------------

export function validatePod(c: Ctx, obj: Obj): void {
  validatePodSpec(c, obj.spec, 'spec');
  const status = c.obj(obj.status, 'status');
  if (status) {
    c.str(status.phase, 'status.phase');
    c.arr(status.conditions, 'status.conditions');
    c.arr(status.containerStatuses, 'status.containerStatuses');
  }
}

export const POD_UPDATE_FORBIDDEN =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/**
 * Pod spec update rules: only container images, activeDeadlineSeconds (set or lowered),
 * toleration additions and scheduling-gate removals may change. nodeName is not among them:
 * binding goes through pods/binding, which the server validates as a create (no `old`).
 * Contract: `newSpec`/`oldSpec` are the defaulted specs; nothing is mutated.
 */
export function validatePodSpecUpdate(c: Ctx, newSpecV: unknown, oldSpecV: unknown): void {
  if (!isObj(newSpecV) || !isObj(oldSpecV)) return;
  const n = clone(newSpecV);
  const o = clone(oldSpecV);

  // Container images may change (same container count, index by index).
  for (const f of ['containers', 'initContainers']) {
    const na = n[f];
    const oa = o[f];
    if (Array.isArray(na) && Array.isArray(oa) && na.length === oa.length) {
      na.forEach((ct, i) => {
        if (isObj(ct) && isObj(oa[i])) ct.image = (oa[i] as Obj).image;
      });
    }
  }

  // activeDeadlineSeconds may be set when unset, or lowered, never removed or raised.
  const nAds = n.activeDeadlineSeconds;
  const oAds = o.activeDeadlineSeconds;
  if (typeof oAds === 'number' && oAds > 0) {
    if (isNil(nAds)) c.add(invalid('spec.activeDeadlineSeconds', null, 'must not update from a positive integer to nil value'));
    else if (typeof nAds === 'number' && nAds > oAds) c.add(invalid('spec.activeDeadlineSeconds', nAds, 'must be less than or equal to previous value'));
  }
  n.activeDeadlineSeconds = o.activeDeadlineSeconds;

  // Tolerations: every old toleration must still be present; additions are fine.
  const nt = Array.isArray(n.tolerations) ? n.tolerations : [];
  const ot = Array.isArray(o.tolerations) ? o.tolerations : [];
  const kept = ot.every((t) => nt.some((x) => deepEqual(x, t) || sameTolerationWithLowerSeconds(x, t)));
  if (kept && (isNil(n.tolerations) || Array.isArray(n.tolerations))) n.tolerations = o.tolerations;

  // terminationGracePeriodSeconds: only negative -> 1.
  if (typeof o.terminationGracePeriodSeconds === 'number' && o.terminationGracePeriodSeconds < 0 && n.terminationGracePeriodSeconds === 1) {
    n.terminationGracePeriodSeconds = o.terminationGracePeriodSeconds;
  }

  // schedulingGates: removals only.
  const ng = Array.isArray(n.schedulingGates) ? n.schedulingGates : isNil(n.schedulingGates) ? [] : undefined;
  const og = Array.isArray(o.schedulingGates) ? o.schedulingGates : [];
  if (ng && ng.every((g) => og.some((x) => deepEqual(x, g)))) n.schedulingGates = o.schedulingGates;

  if (!deepEqual(n, o)) c.add(forbidden('spec', POD_UPDATE_FORBIDDEN));
}

function sameTolerationWithLowerSeconds(x: unknown, t: unknown): boolean {
  if (!isObj(x) || !isObj(t)) return false;
  if (typeof x.tolerationSeconds !== 'number' || typeof t.tolerationSeconds !== 'number') return false;
  if (x.tolerationSeconds > t.tolerationSeconds) return false;
  const a = { ...x, tolerationSeconds: 0 };
  const b = { ...t, tolerationSeconds: 0 };
  return deepEqual(a, b);
}
