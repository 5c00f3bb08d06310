/**
 * Admission defaulting for every served kind, mirroring Kubernetes' `SetDefaults_*` functions
 * (pkg/apis/<group>/v1/defaults.go) plus the defaulting parts of the built-in admission chain
 * (DefaultTolerationSeconds, Priority, ServiceAccount) and the registry strategies (Job selector
 * generation, Namespace finalizer, Service ipFamilies, Pod status).
 *
 * Contract: `applyDefaults(obj)` mutates `obj` in place, is idempotent, never throws and never
 * replaces a value of the wrong JSON type (validation reports those). A default is written only
 * where the field is absent (`undefined`/`null`; `""` for string enums; `0` for the probe
 * thresholds, as Go zero values). The API server calls it on create and update after setting
 * uid/creationTimestamp/namespace/resourceVersion.
 */
import type { KObject } from './types';
import { tryParseQuantity } from './quantity';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function absent(v: unknown): boolean {
  return v === undefined || v === null;
}

/** Returns `parent[k]` as an object, creating `{}` when absent; undefined when of another type. */
function ensureObj(parent: Obj, k: string): Obj | undefined {
  const v = parent[k];
  if (absent(v)) {
    const o: Obj = {};
    parent[k] = o;
    return o;
  }
  return isObj(v) ? v : undefined;
}

function getObj(parent: Obj, k: string): Obj | undefined {
  const v = parent[k];
  return isObj(v) ? v : undefined;
}

/** Sets `o[k] = v` when absent. */
function def(o: Obj, k: string, v: unknown): void {
  if (absent(o[k])) o[k] = v;
}

/** Sets a string field when absent or empty. */
function defStr(o: Obj, k: string, v: string): void {
  if (absent(o[k]) || o[k] === '') o[k] = v;
}

/** Sets an int field when absent or 0 (Go non-pointer zero value). */
function defNonZero(o: Obj, k: string, v: number): void {
  if (absent(o[k]) || o[k] === 0) o[k] = v;
}

function eachObj(v: unknown, fn: (o: Obj) => void): void {
  if (!Array.isArray(v)) return;
  for (const x of v) if (isObj(x)) fn(x);
}

// ---- images ----------------------------------------------------------------------------------------

/**
 * The tag of an image reference, `latest` when neither tag nor digest is given and `` when only a
 * digest is (Docker reference parsing as Kubernetes' parsers.ParseImageName does it).
 */
export function imageTag(image: string): string {
  let ref = image;
  const at = ref.indexOf('@');
  const hasDigest = at >= 0;
  if (hasDigest) ref = ref.slice(0, at);
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return ref.slice(colon + 1);
  return hasDigest ? '' : 'latest';
}

/** `Always` for `:latest` or untagged images without digest, else `IfNotPresent`. */
export function defaultPullPolicy(image: unknown): string {
  return typeof image === 'string' && imageTag(image) === 'latest' ? 'Always' : 'IfNotPresent';
}

// ---- pod spec ----------------------------------------------------------------------------------------

function defaultHTTPGet(h: unknown): void {
  if (!isObj(h)) return;
  defStr(h, 'path', '/');
  defStr(h, 'scheme', 'HTTP');
}

function defaultProbe(p: unknown): void {
  if (!isObj(p)) return;
  defNonZero(p, 'timeoutSeconds', 1);
  defNonZero(p, 'periodSeconds', 10);
  defNonZero(p, 'successThreshold', 1);
  defNonZero(p, 'failureThreshold', 3);
  defaultHTTPGet(p.httpGet);
}

function defaultFieldRef(f: unknown): void {
  if (isObj(f)) defStr(f, 'apiVersion', 'v1');
}

function defaultContainer(c: Obj): void {
  if (absent(c.imagePullPolicy) || c.imagePullPolicy === '') c.imagePullPolicy = defaultPullPolicy(c.image);
  defStr(c, 'terminationMessagePath', '/dev/termination-log');
  defStr(c, 'terminationMessagePolicy', 'File');
  def(c, 'resources', {});
  eachObj(c.ports, (p) => defStr(p, 'protocol', 'TCP'));
  eachObj(c.env, (e) => {
    const vf = getObj(e, 'valueFrom');
    if (vf) defaultFieldRef(vf.fieldRef);
  });
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) defaultProbe(c[probe]);
  const lc = getObj(c, 'lifecycle');
  if (lc) {
    for (const hook of ['postStart', 'preStop']) {
      const h = getObj(lc, hook);
      if (h) defaultHTTPGet(h.httpGet);
    }
  }
}

function defaultDownwardAPIItems(items: unknown): void {
  eachObj(items, (it) => defaultFieldRef(it.fieldRef));
}

const VOLUME_SOURCE_KEYS = [
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

/** 0644: the default file mode of configMap/secret/downwardAPI/projected volumes. */
export const DEFAULT_VOLUME_MODE = 420;

function defaultVolume(v: Obj): void {
  if (VOLUME_SOURCE_KEYS.every((k) => absent(v[k]))) v.emptyDir = {};
  for (const k of ['secret', 'configMap', 'downwardAPI', 'projected']) {
    const s = getObj(v, k);
    if (s) def(s, 'defaultMode', DEFAULT_VOLUME_MODE);
  }
  const hp = getObj(v, 'hostPath');
  if (hp) def(hp, 'type', '');
  const da = getObj(v, 'downwardAPI');
  if (da) defaultDownwardAPIItems(da.items);
  const pr = getObj(v, 'projected');
  if (pr) {
    eachObj(pr.sources, (src) => {
      const sat = getObj(src, 'serviceAccountToken');
      if (sat) def(sat, 'expirationSeconds', 3600);
      const d = getObj(src, 'downwardAPI');
      if (d) defaultDownwardAPIItems(d.items);
    });
  }
  const img = getObj(v, 'image');
  if (img && (absent(img.pullPolicy) || img.pullPolicy === '')) {
    img.pullPolicy = typeof img.reference === 'string' && imageTag(img.reference) === 'latest' ? 'Always' : 'IfNotPresent';
  }
  const eph = getObj(v, 'ephemeral');
  const vct = eph ? getObj(eph, 'volumeClaimTemplate') : undefined;
  const vctSpec = vct ? getObj(vct, 'spec') : undefined;
  if (vctSpec) defStr(vctSpec, 'volumeMode', 'Filesystem');
}

export interface PodSpecDefaultOptions {
  /** Job templates leave restartPolicy unset (it is required there). */
  skipRestartPolicy?: boolean;
}

/** SetDefaults_PodSpec plus the nested container/volume/probe defaults. */
export function defaultPodSpec(spec: Obj, opts: PodSpecDefaultOptions = {}): void {
  defStr(spec, 'dnsPolicy', 'ClusterFirst');
  if (!opts.skipRestartPolicy) defStr(spec, 'restartPolicy', 'Always');
  def(spec, 'securityContext', {});
  def(spec, 'terminationGracePeriodSeconds', 30);
  defStr(spec, 'schedulerName', 'default-scheduler');
  for (const k of ['containers', 'initContainers', 'ephemeralContainers']) eachObj(spec[k], defaultContainer);
  eachObj(spec.volumes, defaultVolume);
}

function defaultPodTemplate(t: unknown, opts: PodSpecDefaultOptions = {}): void {
  if (!isObj(t)) return;
  const spec = getObj(t, 'spec');
  if (spec) defaultPodSpec(spec, opts);
}

// ---- Pod -------------------------------------------------------------------------------------------

const NOT_READY = 'node.kubernetes.io/not-ready';
const UNREACHABLE = 'node.kubernetes.io/unreachable';
/** Seconds a pod tolerates a not-ready/unreachable node (DefaultTolerationSeconds admission). */
export const DEFAULT_TOLERATION_SECONDS = 300;

const SYSTEM_PRIORITIES: Record<string, number> = {
  'system-node-critical': 2000001000,
  'system-cluster-critical': 2000000000,
};

function toleratesNoExecute(tols: unknown[], key: string): boolean {
  return tols.some(
    (t) =>
      isObj(t) &&
      (t.effect === 'NoExecute' || absent(t.effect) || t.effect === '') &&
      (t.key === key || ((absent(t.key) || t.key === '') && t.operator === 'Exists')),
  );
}

/** Pod QoS class from container requests/limits (cpu and memory), as the kubelet computes it. */
export function podQOSClass(spec: unknown): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  if (!isObj(spec)) return 'BestEffort';
  const containers: Obj[] = [];
  for (const k of ['containers', 'initContainers']) eachObj(spec[k], (c) => containers.push(c));
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const r = getObj(c, 'resources') ?? {};
    const req = getObj(r, 'requests') ?? {};
    const lim = getObj(r, 'limits') ?? {};
    for (const res of ['cpu', 'memory']) {
      const q = req[res];
      const l = lim[res];
      if (!absent(q) || !absent(l)) any = true;
      if (absent(l) || (!absent(q) && tryParseQuantity(q) !== tryParseQuantity(l))) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function defaultPod(pod: KObject): void {
  const spec = ensureObj(pod, 'spec');
  if (!spec) return;
  // SetDefaults_Pod: requests default to limits (Pods only, not templates).
  for (const k of ['containers', 'initContainers']) {
    eachObj(spec[k], (c) => {
      const r = getObj(c, 'resources');
      const lim = r ? getObj(r, 'limits') : undefined;
      if (!r || !lim) return;
      const req = ensureObj(r, 'requests');
      if (!req) return;
      for (const [name, q] of Object.entries(lim)) if (absent(req[name])) req[name] = q;
    });
  }
  def(spec, 'enableServiceLinks', true);
  if (spec.hostNetwork === true) {
    for (const k of ['containers', 'initContainers']) {
      eachObj(spec[k], (c) =>
        eachObj(c.ports, (p) => {
          if ((absent(p.hostPort) || p.hostPort === 0) && typeof p.containerPort === 'number') p.hostPort = p.containerPort;
        }),
      );
    }
  }
  defaultPodSpec(spec);

  // ServiceAccount admission.
  if (absent(spec.serviceAccountName) || spec.serviceAccountName === '') {
    spec.serviceAccountName = typeof spec.serviceAccount === 'string' && spec.serviceAccount !== '' ? spec.serviceAccount : 'default';
  }
  if ((absent(spec.serviceAccount) || spec.serviceAccount === '') && typeof spec.serviceAccountName === 'string') {
    spec.serviceAccount = spec.serviceAccountName;
  }

  // Priority admission (no PriorityClass objects are served: only the system classes resolve).
  if (absent(spec.priority)) {
    const pcn = spec.priorityClassName;
    if (absent(pcn) || pcn === '') spec.priority = 0;
    else if (typeof pcn === 'string' && pcn in SYSTEM_PRIORITIES) spec.priority = SYSTEM_PRIORITIES[pcn];
  }
  defStr(spec, 'preemptionPolicy', 'PreemptLowerPriority');

  // DefaultTolerationSeconds admission.
  if (absent(spec.tolerations)) spec.tolerations = [];
  if (Array.isArray(spec.tolerations)) {
    const tols = spec.tolerations;
    for (const key of [NOT_READY, UNREACHABLE]) {
      if (!toleratesNoExecute(tols, key)) {
        tols.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: DEFAULT_TOLERATION_SECONDS });
      }
    }
  }

  // Registry PrepareForCreate: a new pod is Pending with its QoS class.
  const status = ensureObj(pod, 'status');
  if (status) {
    defStr(status, 'phase', 'Pending');
    defStr(status, 'qosClass', podQOSClass(spec));
  }
}

// ---- apps ------------------------------------------------------------------------------------------

function defaultDeployment(o: KObject): void {
  const spec = ensureObj(o, 'spec');
  if (!spec) return;
  def(spec, 'replicas', 1);
  const strategy = ensureObj(spec, 'strategy');
  if (strategy) {
    defStr(strategy, 'type', 'RollingUpdate');
    if (strategy.type === 'RollingUpdate') {
      const ru = ensureObj(strategy, 'rollingUpdate');
      if (ru) {
        def(ru, 'maxUnavailable', '25%');
        def(ru, 'maxSurge', '25%');
      }
    }
  }
  def(spec, 'revisionHistoryLimit', 10);
  def(spec, 'progressDeadlineSeconds', 600);
  defaultPodTemplate(spec.template);
}

function defaultReplicaSet(o: KObject): void {
  const spec = ensureObj(o, 'spec');
  if (!spec) return;
  def(spec, 'replicas', 1);
  defaultPodTemplate(spec.template);
}

function defaultPVCSpec(spec: unknown): void {
  if (isObj(spec)) defStr(spec, 'volumeMode', 'Filesystem');
}

function defaultStatefulSet(o: KObject): void {
  const spec = ensureObj(o, 'spec');
  if (!spec) return;
  defStr(spec, 'podManagementPolicy', 'OrderedReady');
  const us = ensureObj(spec, 'updateStrategy');
  if (us) {
    if (absent(us.type) || us.type === '') {
      us.type = 'RollingUpdate';
      def(us, 'rollingUpdate', {});
    }
    const ru = getObj(us, 'rollingUpdate');
    if (us.type === 'RollingUpdate' && ru) def(ru, 'partition', 0);
  }
  const pol = ensureObj(spec, 'persistentVolumeClaimRetentionPolicy');
  if (pol) {
    defStr(pol, 'whenDeleted', 'Retain');
    defStr(pol, 'whenScaled', 'Retain');
  }
  def(spec, 'replicas', 1);
  def(spec, 'revisionHistoryLimit', 10);
  defaultPodTemplate(spec.template);
  eachObj(spec.volumeClaimTemplates, (t) => {
    defaultPVCSpec(t.spec);
    const st = ensureObj(t, 'status');
    if (st) defStr(st, 'phase', 'Pending');
  });
}

function defaultDaemonSet(o: KObject): void {
  const spec = ensureObj(o, 'spec');
  if (!spec) return;
  const us = ensureObj(spec, 'updateStrategy');
  if (us) {
    defStr(us, 'type', 'RollingUpdate');
    if (us.type === 'RollingUpdate') {
      const ru = ensureObj(us, 'rollingUpdate');
      if (ru) {
        def(ru, 'maxUnavailable', 1);
        def(ru, 'maxSurge', 0);
      }
    }
  }
  def(spec, 'revisionHistoryLimit', 10);
  defaultPodTemplate(spec.template);
}

// ---- batch -----------------------------------------------------------------------------------------

export const JOB_CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const LEGACY_JOB_CONTROLLER_UID_LABEL = 'controller-uid';
export const LEGACY_JOB_NAME_LABEL = 'job-name';

function defaultJob(o: KObject): void {
  const spec = ensureObj(o, 'spec');
  if (!spec) return;
  if (absent(spec.completions) && absent(spec.parallelism)) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  def(spec, 'parallelism', 1);
  def(spec, 'backoffLimit', absent(spec.backoffLimitPerIndex) ? 6 : 2147483647);
  defStr(spec, 'completionMode', 'NonIndexed');
  def(spec, 'suspend', false);
  def(spec, 'podReplacementPolicy', absent(spec.podFailurePolicy) ? 'TerminatingOrFailed' : 'Failed');

  const template = getObj(spec, 'template');
  const tmeta = template ? ensureObj(template, 'metadata') : undefined;
  const userTemplateLabels = tmeta && isObj(tmeta.labels) ? { ...tmeta.labels } : undefined;

  // Registry strategy: generate the selector and the template labels it selects on.
  const meta = isObj(o.metadata) ? o.metadata : undefined;
  const uid = meta && typeof meta.uid === 'string' && meta.uid !== '' ? meta.uid : undefined;
  const name = meta && typeof meta.name === 'string' ? meta.name : '';
  if (spec.manualSelector !== true && uid && tmeta) {
    const labels = ensureObj(tmeta, 'labels');
    if (labels) {
      def(labels, JOB_CONTROLLER_UID_LABEL, uid);
      def(labels, JOB_NAME_LABEL, name);
      def(labels, LEGACY_JOB_CONTROLLER_UID_LABEL, uid);
      def(labels, LEGACY_JOB_NAME_LABEL, name);
    }
    const sel = ensureObj(spec, 'selector');
    if (sel) {
      const ml = ensureObj(sel, 'matchLabels');
      if (ml) def(ml, JOB_CONTROLLER_UID_LABEL, uid);
    }
  }

  // SetDefaults_Job: an unlabelled Job takes its template's labels.
  if (meta && (absent(meta.labels) || (isObj(meta.labels) && Object.keys(meta.labels).length === 0))) {
    const src = userTemplateLabels ?? (tmeta && isObj(tmeta.labels) ? tmeta.labels : undefined);
    if (src && Object.keys(src).length > 0) meta.labels = { ...(src as Record<string, string>) };
  }
  defaultPodTemplate(template, { skipRestartPolicy: true });
}

function defaultCronJob(o: KObject): void {
  const spec = ensureObj(o, 'spec');
  if (!spec) return;
  defStr(spec, 'concurrencyPolicy', 'Allow');
  def(spec, 'suspend', false);
  def(spec, 'successfulJobsHistoryLimit', 3);
  def(spec, 'failedJobsHistoryLimit', 1);
  const jt = getObj(spec, 'jobTemplate');
  const jspec = jt ? getObj(jt, 'spec') : undefined;
  if (jspec) defaultPodTemplate(jspec.template, { skipRestartPolicy: true });
}

// ---- core ------------------------------------------------------------------------------------------

function defaultService(o: KObject): void {
  const spec = ensureObj(o, 'spec');
  if (!spec) return;
  defStr(spec, 'sessionAffinity', 'None');
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === 'ClientIP') {
    const sac = getObj(spec, 'sessionAffinityConfig');
    const cip = sac ? getObj(sac, 'clientIP') : undefined;
    if (absent(spec.sessionAffinityConfig) || (sac && absent(sac.clientIP)) || (cip && absent(cip.timeoutSeconds))) {
      spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
    }
  }
  defStr(spec, 'type', 'ClusterIP');
  eachObj(spec.ports, (p) => {
    defStr(p, 'protocol', 'TCP');
    if ((absent(p.targetPort) || p.targetPort === 0 || p.targetPort === '') && typeof p.port === 'number') p.targetPort = p.port;
  });
  const type = spec.type;
  if (type === 'NodePort' || type === 'LoadBalancer') defStr(spec, 'externalTrafficPolicy', 'Cluster');
  if (type === 'NodePort' || type === 'LoadBalancer' || type === 'ClusterIP') def(spec, 'internalTrafficPolicy', 'Cluster');
  if (type === 'LoadBalancer') def(spec, 'allocateLoadBalancerNodePorts', true);
  if (type !== 'ExternalName') {
    // Registry: clusterIP/clusterIPs kept consistent; single-stack IPv4 families.
    if (typeof spec.clusterIP === 'string' && spec.clusterIP !== '' && absent(spec.clusterIPs)) spec.clusterIPs = [spec.clusterIP];
    if ((absent(spec.clusterIP) || spec.clusterIP === '') && Array.isArray(spec.clusterIPs) && typeof spec.clusterIPs[0] === 'string') {
      spec.clusterIP = spec.clusterIPs[0];
    }
    defStr(spec, 'ipFamilyPolicy', 'SingleStack');
    if (absent(spec.ipFamilies) || (Array.isArray(spec.ipFamilies) && spec.ipFamilies.length === 0)) spec.ipFamilies = ['IPv4'];
  }
}

function defaultNamespace(o: KObject): void {
  const meta = isObj(o.metadata) ? o.metadata : undefined;
  if (meta && typeof meta.name === 'string' && meta.name !== '') {
    const labels = ensureObj(meta, 'labels');
    if (labels) labels['kubernetes.io/metadata.name'] = meta.name;
  }
  const status = ensureObj(o, 'status');
  if (status) defStr(status, 'phase', 'Active');
  const terminating = (meta && !absent(meta.deletionTimestamp)) || (status && status.phase === 'Terminating');
  const spec = ensureObj(o, 'spec');
  if (spec && !terminating) def(spec, 'finalizers', ['kubernetes']);
}

function defaultSecret(o: KObject): void {
  defStr(o, 'type', 'Opaque');
  // stringData is write-only: merged into data (base64) and dropped, like the v1 conversion.
  const sd = o.stringData;
  if (!isObj(sd)) return;
  if (!absent(o.data) && !isObj(o.data)) return;
  const data = ensureObj(o, 'data');
  if (!data) return;
  const rest: Obj = {};
  for (const [k, v] of Object.entries(sd)) {
    if (typeof v === 'string') data[k] = Buffer.from(v, 'utf8').toString('base64');
    else rest[k] = v;
  }
  if (Object.keys(rest).length > 0) o.stringData = rest;
  else delete o.stringData;
}

function defaultPV(o: KObject): void {
  const spec = ensureObj(o, 'spec');
  if (spec) {
    defStr(spec, 'persistentVolumeReclaimPolicy', 'Retain');
    defStr(spec, 'volumeMode', 'Filesystem');
    const hp = getObj(spec, 'hostPath');
    if (hp) def(hp, 'type', '');
  }
  const status = ensureObj(o, 'status');
  if (status) defStr(status, 'phase', 'Pending');
}

function defaultPVC(o: KObject): void {
  const spec = ensureObj(o, 'spec');
  if (spec) defaultPVCSpec(spec);
  const status = ensureObj(o, 'status');
  if (status) defStr(status, 'phase', 'Pending');
}

function defaultNode(o: KObject): void {
  const status = getObj(o, 'status');
  if (status && absent(status.allocatable) && isObj(status.capacity)) status.allocatable = { ...status.capacity };
}

function defaultEndpoints(o: KObject): void {
  eachObj(o.subsets, (s) => eachObj(s.ports, (p) => defStr(p, 'protocol', 'TCP')));
}

function defaultEndpointSlice(o: KObject): void {
  eachObj(o.ports, (p) => {
    def(p, 'name', '');
    def(p, 'protocol', 'TCP');
  });
}

// ---- other groups ----------------------------------------------------------------------------------

function defaultStorageClass(o: KObject): void {
  defStr(o, 'reclaimPolicy', 'Delete');
  defStr(o, 'volumeBindingMode', 'Immediate');
}

function defaultIngressClass(o: KObject): void {
  const spec = getObj(o, 'spec');
  const params = spec ? getObj(spec, 'parameters') : undefined;
  if (params) defStr(params, 'scope', 'Cluster');
}

/** Fills unset HPA scaling-rule fields (GenerateHPAScaleUpRules/ScaleDownRules); junk is returned as is. */
function scalingRules(r: unknown, up: boolean): unknown {
  if (!absent(r) && !isObj(r)) return r;
  const from: Obj = isObj(r) ? r : {};
  const out: Obj = { ...from };
  if (up) def(out, 'stabilizationWindowSeconds', 0);
  def(out, 'selectPolicy', 'Max');
  def(
    out,
    'policies',
    up
      ? [
          { type: 'Pods', value: 4, periodSeconds: 15 },
          { type: 'Percent', value: 100, periodSeconds: 15 },
        ]
      : [{ type: 'Percent', value: 100, periodSeconds: 15 }],
  );
  if (isObj(r)) {
    Object.assign(r, out);
    return r;
  }
  return out;
}

/** The default CPU utilization target of an HPA without metrics. */
export const DEFAULT_HPA_CPU_UTILIZATION = 80;

function defaultHPA(o: KObject): void {
  const spec = ensureObj(o, 'spec');
  if (!spec) return;
  def(spec, 'minReplicas', 1);
  if (absent(spec.metrics) || (Array.isArray(spec.metrics) && spec.metrics.length === 0)) {
    spec.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: DEFAULT_HPA_CPU_UTILIZATION } } }];
  }
  const b = getObj(spec, 'behavior');
  if (b) {
    b.scaleUp = scalingRules(b.scaleUp, true);
    b.scaleDown = scalingRules(b.scaleDown, false);
  }
}

// ---- dispatch --------------------------------------------------------------------------------------

const DEFAULTERS: Record<string, (o: KObject) => void> = {
  '/Pod': defaultPod,
  '/Service': defaultService,
  '/Namespace': defaultNamespace,
  '/Secret': defaultSecret,
  '/PersistentVolume': defaultPV,
  '/PersistentVolumeClaim': defaultPVC,
  '/Node': defaultNode,
  '/Endpoints': defaultEndpoints,
  'apps/Deployment': defaultDeployment,
  'apps/ReplicaSet': defaultReplicaSet,
  'apps/StatefulSet': defaultStatefulSet,
  'apps/DaemonSet': defaultDaemonSet,
  'batch/Job': defaultJob,
  'batch/CronJob': defaultCronJob,
  'storage.k8s.io/StorageClass': defaultStorageClass,
  'networking.k8s.io/IngressClass': defaultIngressClass,
  'autoscaling/HorizontalPodAutoscaler': defaultHPA,
  'discovery.k8s.io/EndpointSlice': defaultEndpointSlice,
};

/**
 * Applies the defaults for `obj.kind` (group from `obj.apiVersion`); unknown kinds are left
 * alone. Never throws: an internal defaulting bug leaves the object partially defaulted and
 * validation reports whatever is still missing.
 */
export function applyDefaults(obj: KObject): void {
  try {
    applyDefaultsUnchecked(obj);
  } catch {
    // Defensive: defaulting is best-effort; the daemon must never crash on input.
  }
}

/** `applyDefaults` without the safety net: any internal error propagates (used by tests). */
export function applyDefaultsUnchecked(obj: KObject): void {
  if (!isObj(obj)) return;
  const kind = typeof obj.kind === 'string' ? obj.kind : '';
  const av = typeof obj.apiVersion === 'string' ? obj.apiVersion : '';
  const slash = av.indexOf('/');
  const group = slash < 0 ? '' : av.slice(0, slash);
  DEFAULTERS[`${group}/${kind}`]?.(obj);
}
