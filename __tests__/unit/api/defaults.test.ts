import { applyDefaults, defaultPullPolicy, imageTag, podQOSClass } from '../../../src/api/defaults';
import type { KObject } from '../../../src/api/types';
import {
  Any,
  clone,
  cronJob,
  daemonSet,
  defaulted,
  deployment,
  get,
  hpa,
  job,
  namespace,
  node,
  pod,
  pv,
  pvc,
  replicaSet,
  secret,
  service,
  statefulSet,
  storageClass,
  withField,
} from './helpers';

const NOT_READY = { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 };
const UNREACHABLE = { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 };

const podWith = (path: string, v: unknown) => withField(pod(), path, v);

/** [description, input, path, expected] */
const CASES: Array<[string, Any, string, unknown]> = [
  // Pod spec
  ['pod restartPolicy', pod(), 'spec.restartPolicy', 'Always'],
  ['pod dnsPolicy', pod(), 'spec.dnsPolicy', 'ClusterFirst'],
  ['pod schedulerName', pod(), 'spec.schedulerName', 'default-scheduler'],
  ['pod terminationGracePeriodSeconds', pod(), 'spec.terminationGracePeriodSeconds', 30],
  ['pod securityContext', pod(), 'spec.securityContext', {}],
  ['pod enableServiceLinks', pod(), 'spec.enableServiceLinks', true],
  ['pod priority', pod(), 'spec.priority', 0],
  ['pod system-node-critical priority', podWith('spec.priorityClassName', 'system-node-critical'), 'spec.priority', 2000001000],
  ['pod preemptionPolicy', pod(), 'spec.preemptionPolicy', 'PreemptLowerPriority'],
  ['pod serviceAccountName', pod(), 'spec.serviceAccountName', 'default'],
  ['pod serviceAccount alias', podWith('spec.serviceAccountName', 'builder'), 'spec.serviceAccount', 'builder'],
  ['pod tolerations', pod(), 'spec.tolerations', [NOT_READY, UNREACHABLE]],
  ['pod status phase', pod(), 'status.phase', 'Pending'],
  ['pod qosClass', pod(), 'status.qosClass', 'BestEffort'],
  ['user restartPolicy kept', podWith('spec.restartPolicy', 'Never'), 'spec.restartPolicy', 'Never'],
  ['user grace period kept (0 is a value)', podWith('spec.terminationGracePeriodSeconds', 0), 'spec.terminationGracePeriodSeconds', 0],
  ['user enableServiceLinks false kept', podWith('spec.enableServiceLinks', false), 'spec.enableServiceLinks', false],
  // containers
  ['imagePullPolicy tagged', pod(), 'spec.containers[0].imagePullPolicy', 'IfNotPresent'],
  ['imagePullPolicy latest', podWith('spec.containers[0].image', 'nginx:latest'), 'spec.containers[0].imagePullPolicy', 'Always'],
  ['imagePullPolicy untagged', podWith('spec.containers[0].image', 'nginx'), 'spec.containers[0].imagePullPolicy', 'Always'],
  ['imagePullPolicy registry port untagged', podWith('spec.containers[0].image', 'localhost:5000/app'), 'spec.containers[0].imagePullPolicy', 'Always'],
  ['imagePullPolicy registry port tagged', podWith('spec.containers[0].image', 'localhost:5000/app:v1'), 'spec.containers[0].imagePullPolicy', 'IfNotPresent'],
  ['imagePullPolicy digest', podWith('spec.containers[0].image', 'nginx@sha256:abc'), 'spec.containers[0].imagePullPolicy', 'IfNotPresent'],
  ['imagePullPolicy user value kept', podWith('spec.containers[0].imagePullPolicy', 'Never'), 'spec.containers[0].imagePullPolicy', 'Never'],
  ['terminationMessagePath', pod(), 'spec.containers[0].terminationMessagePath', '/dev/termination-log'],
  ['terminationMessagePolicy', pod(), 'spec.containers[0].terminationMessagePolicy', 'File'],
  ['resources {}', pod(), 'spec.containers[0].resources', {}],
  ['container port protocol', podWith('spec.containers[0].ports', [{ containerPort: 80 }]), 'spec.containers[0].ports[0].protocol', 'TCP'],
  ['UDP port kept', podWith('spec.containers[0].ports', [{ containerPort: 53, protocol: 'UDP' }]), 'spec.containers[0].ports[0].protocol', 'UDP'],
  ['hostNetwork hostPort', withField(podWith('spec.hostNetwork', true), 'spec.containers[0].ports', [{ containerPort: 8080 }]), 'spec.containers[0].ports[0].hostPort', 8080],
  ['initContainer defaults', podWith('spec.initContainers', [{ name: 'init', image: 'busybox' }]), 'spec.initContainers[0].imagePullPolicy', 'Always'],
  ['initContainer message path', podWith('spec.initContainers', [{ name: 'init', image: 'busybox' }]), 'spec.initContainers[0].terminationMessagePath', '/dev/termination-log'],
  ['requests from limits', podWith('spec.containers[0].resources', { limits: { cpu: '1', memory: '1Gi' } }), 'spec.containers[0].resources.requests', { cpu: '1', memory: '1Gi' }],
  ['requests kept', podWith('spec.containers[0].resources', { limits: { cpu: '1' }, requests: { cpu: '500m' } }), 'spec.containers[0].resources.requests', { cpu: '500m' }],
  ['Guaranteed qos', podWith('spec.containers[0].resources', { limits: { cpu: '1', memory: '1Gi' } }), 'status.qosClass', 'Guaranteed'],
  ['Burstable qos', podWith('spec.containers[0].resources', { requests: { cpu: '100m' } }), 'status.qosClass', 'Burstable'],
  // probes
  ['probe timeoutSeconds', podWith('spec.containers[0].livenessProbe', { httpGet: { port: 80 } }), 'spec.containers[0].livenessProbe.timeoutSeconds', 1],
  ['probe periodSeconds', podWith('spec.containers[0].livenessProbe', { httpGet: { port: 80 } }), 'spec.containers[0].livenessProbe.periodSeconds', 10],
  ['probe successThreshold', podWith('spec.containers[0].readinessProbe', { tcpSocket: { port: 80 } }), 'spec.containers[0].readinessProbe.successThreshold', 1],
  ['probe failureThreshold', podWith('spec.containers[0].startupProbe', { exec: { command: ['true'] } }), 'spec.containers[0].startupProbe.failureThreshold', 3],
  ['probe 0 is defaulted', podWith('spec.containers[0].livenessProbe', { httpGet: { port: 80 }, periodSeconds: 0 }), 'spec.containers[0].livenessProbe.periodSeconds', 10],
  ['probe user value kept', podWith('spec.containers[0].livenessProbe', { httpGet: { port: 80 }, periodSeconds: 5 }), 'spec.containers[0].livenessProbe.periodSeconds', 5],
  ['httpGet scheme', podWith('spec.containers[0].livenessProbe', { httpGet: { port: 80 } }), 'spec.containers[0].livenessProbe.httpGet.scheme', 'HTTP'],
  ['httpGet path', podWith('spec.containers[0].livenessProbe', { httpGet: { port: 80 } }), 'spec.containers[0].livenessProbe.httpGet.path', '/'],
  ['lifecycle httpGet path', podWith('spec.containers[0].lifecycle', { preStop: { httpGet: { port: 80 } } }), 'spec.containers[0].lifecycle.preStop.httpGet.path', '/'],
  // env
  ['env fieldRef apiVersion', podWith('spec.containers[0].env', [{ name: 'N', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }]), 'spec.containers[0].env[0].valueFrom.fieldRef.apiVersion', 'v1'],
  // volumes
  ['configMap defaultMode', podWith('spec.volumes', [{ name: 'c', configMap: { name: 'cfg' } }]), 'spec.volumes[0].configMap.defaultMode', 420],
  ['secret defaultMode', podWith('spec.volumes', [{ name: 's', secret: { secretName: 's' } }]), 'spec.volumes[0].secret.defaultMode', 420],
  ['downwardAPI defaultMode', podWith('spec.volumes', [{ name: 'd', downwardAPI: { items: [{ path: 'n', fieldRef: { fieldPath: 'metadata.name' } }] } }]), 'spec.volumes[0].downwardAPI.defaultMode', 420],
  ['downwardAPI item fieldRef apiVersion', podWith('spec.volumes', [{ name: 'd', downwardAPI: { items: [{ path: 'n', fieldRef: { fieldPath: 'metadata.name' } }] } }]), 'spec.volumes[0].downwardAPI.items[0].fieldRef.apiVersion', 'v1'],
  ['projected defaultMode', podWith('spec.volumes', [{ name: 'p', projected: { sources: [{ serviceAccountToken: { path: 't' } }] } }]), 'spec.volumes[0].projected.defaultMode', 420],
  ['projected token expiration', podWith('spec.volumes', [{ name: 'p', projected: { sources: [{ serviceAccountToken: { path: 't' } }] } }]), 'spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds', 3600],
  ['user defaultMode kept', podWith('spec.volumes', [{ name: 'c', configMap: { name: 'cfg', defaultMode: 256 } }]), 'spec.volumes[0].configMap.defaultMode', 256],
  ['volume without source -> emptyDir', podWith('spec.volumes', [{ name: 'scratch' }]), 'spec.volumes[0].emptyDir', {}],
  ['hostPath type', podWith('spec.volumes', [{ name: 'h', hostPath: { path: '/tmp' } }]), 'spec.volumes[0].hostPath.type', ''],
  // workload templates
  ['deployment template restartPolicy', deployment(), 'spec.template.spec.restartPolicy', 'Always'],
  ['deployment template dnsPolicy', deployment(), 'spec.template.spec.dnsPolicy', 'ClusterFirst'],
  ['deployment template container', deployment(), 'spec.template.spec.containers[0].terminationMessagePolicy', 'File'],
  ['replicaset template', replicaSet(), 'spec.template.spec.schedulerName', 'default-scheduler'],
  ['statefulset template', statefulSet(), 'spec.template.spec.terminationGracePeriodSeconds', 30],
  ['daemonset template', daemonSet(), 'spec.template.spec.securityContext', {}],
  ['job template dnsPolicy', job(), 'spec.template.spec.dnsPolicy', 'ClusterFirst'],
  ['cronjob template', cronJob(), 'spec.jobTemplate.spec.template.spec.containers[0].imagePullPolicy', 'IfNotPresent'],
  ['templates get no tolerations', deployment(), 'spec.template.spec.tolerations', undefined],
  ['templates get no enableServiceLinks', deployment(), 'spec.template.spec.enableServiceLinks', undefined],
  // Deployment
  ['deployment replicas', deployment(), 'spec.replicas', 1],
  ['deployment replicas 0 kept', withField(deployment(), 'spec.replicas', 0), 'spec.replicas', 0],
  ['deployment strategy', deployment(), 'spec.strategy', { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } }],
  ['deployment Recreate gets no rollingUpdate', withField(deployment(), 'spec.strategy', { type: 'Recreate' }), 'spec.strategy', { type: 'Recreate' }],
  ['deployment partial rollingUpdate', withField(deployment(), 'spec.strategy', { rollingUpdate: { maxSurge: 1 } }), 'spec.strategy.rollingUpdate', { maxSurge: 1, maxUnavailable: '25%' }],
  ['deployment revisionHistoryLimit', deployment(), 'spec.revisionHistoryLimit', 10],
  ['deployment progressDeadlineSeconds', deployment(), 'spec.progressDeadlineSeconds', 600],
  // ReplicaSet
  ['replicaset replicas', replicaSet(), 'spec.replicas', 1],
  // StatefulSet
  ['sts replicas', statefulSet(), 'spec.replicas', 1],
  ['sts podManagementPolicy', statefulSet(), 'spec.podManagementPolicy', 'OrderedReady'],
  ['sts updateStrategy', statefulSet(), 'spec.updateStrategy', { type: 'RollingUpdate', rollingUpdate: { partition: 0 } }],
  ['sts OnDelete kept', withField(statefulSet(), 'spec.updateStrategy', { type: 'OnDelete' }), 'spec.updateStrategy', { type: 'OnDelete' }],
  ['sts revisionHistoryLimit', statefulSet(), 'spec.revisionHistoryLimit', 10],
  ['sts pvc retention', statefulSet(), 'spec.persistentVolumeClaimRetentionPolicy', { whenDeleted: 'Retain', whenScaled: 'Retain' }],
  ['sts vct volumeMode', withField(statefulSet(), 'spec.volumeClaimTemplates', [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }]), 'spec.volumeClaimTemplates[0].spec.volumeMode', 'Filesystem'],
  ['sts vct status', withField(statefulSet(), 'spec.volumeClaimTemplates', [{ metadata: { name: 'data' }, spec: {} }]), 'spec.volumeClaimTemplates[0].status.phase', 'Pending'],
  // DaemonSet
  ['ds updateStrategy', daemonSet(), 'spec.updateStrategy', { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } }],
  ['ds revisionHistoryLimit', daemonSet(), 'spec.revisionHistoryLimit', 10],
  // Job
  ['job completions', job(), 'spec.completions', 1],
  ['job parallelism', job(), 'spec.parallelism', 1],
  ['job parallel: completions unset', withField(job(), 'spec.parallelism', 3), 'spec.completions', undefined],
  ['job completions only: parallelism 1', withField(job(), 'spec.completions', 5), 'spec.parallelism', 1],
  ['job backoffLimit', job(), 'spec.backoffLimit', 6],
  ['job completionMode', job(), 'spec.completionMode', 'NonIndexed'],
  ['job suspend', job(), 'spec.suspend', false],
  ['job manualSelector unset', job(), 'spec.manualSelector', undefined],
  ['job podReplacementPolicy', job(), 'spec.podReplacementPolicy', 'TerminatingOrFailed'],
  ['job podReplacementPolicy with failure policy', withField(job(), 'spec.podFailurePolicy', { rules: [] }), 'spec.podReplacementPolicy', 'Failed'],
  ['job template restartPolicy not defaulted', withField(job(), 'spec.template.spec.restartPolicy', undefined), 'spec.template.spec.restartPolicy', undefined],
  ['job selector generated', job(), 'spec.selector', { matchLabels: { 'batch.kubernetes.io/controller-uid': 'uid-1' } }],
  ['job template controller-uid label', job(), 'spec.template.metadata.labels', { app: 'batch', 'batch.kubernetes.io/controller-uid': 'uid-1', 'batch.kubernetes.io/job-name': 'pi', 'controller-uid': 'uid-1', 'job-name': 'pi' }],
  ['job labels from template', job(), 'metadata.labels', { app: 'batch' }],
  ['job manualSelector: no generation', withField(job(), 'spec.manualSelector', true), 'spec.selector', undefined],
  // CronJob
  ['cronjob concurrencyPolicy', cronJob(), 'spec.concurrencyPolicy', 'Allow'],
  ['cronjob suspend', cronJob(), 'spec.suspend', false],
  ['cronjob successfulJobsHistoryLimit', cronJob(), 'spec.successfulJobsHistoryLimit', 3],
  ['cronjob failedJobsHistoryLimit', cronJob(), 'spec.failedJobsHistoryLimit', 1],
  ['cronjob jobTemplate restartPolicy not defaulted', withField(cronJob(), 'spec.jobTemplate.spec.template.spec.restartPolicy', undefined), 'spec.jobTemplate.spec.template.spec.restartPolicy', undefined],
  ['cronjob job-level defaults not applied to template', cronJob(), 'spec.jobTemplate.spec.backoffLimit', undefined],
  // Service
  ['service type', service(), 'spec.type', 'ClusterIP'],
  ['service sessionAffinity', service(), 'spec.sessionAffinity', 'None'],
  ['service port protocol', service(), 'spec.ports[0].protocol', 'TCP'],
  ['service targetPort', service(), 'spec.ports[0].targetPort', 80],
  ['service targetPort kept', withField(service(), 'spec.ports[0].targetPort', 'http'), 'spec.ports[0].targetPort', 'http'],
  ['service targetPort 0 replaced', withField(service(), 'spec.ports[0].targetPort', 0), 'spec.ports[0].targetPort', 80],
  ['service internalTrafficPolicy', service(), 'spec.internalTrafficPolicy', 'Cluster'],
  ['service ipFamilies', service(), 'spec.ipFamilies', ['IPv4']],
  ['service ipFamilyPolicy', service(), 'spec.ipFamilyPolicy', 'SingleStack'],
  ['ClusterIP: no externalTrafficPolicy', service(), 'spec.externalTrafficPolicy', undefined],
  ['NodePort externalTrafficPolicy', withField(service(), 'spec.type', 'NodePort'), 'spec.externalTrafficPolicy', 'Cluster'],
  ['LoadBalancer externalTrafficPolicy', withField(service(), 'spec.type', 'LoadBalancer'), 'spec.externalTrafficPolicy', 'Cluster'],
  ['LoadBalancer allocateLoadBalancerNodePorts', withField(service(), 'spec.type', 'LoadBalancer'), 'spec.allocateLoadBalancerNodePorts', true],
  ['ExternalName: no ipFamilies', withField(withField(service(), 'spec.type', 'ExternalName'), 'spec.externalName', 'example.com'), 'spec.ipFamilies', undefined],
  ['ExternalName: no internalTrafficPolicy', withField(service(), 'spec.type', 'ExternalName'), 'spec.internalTrafficPolicy', undefined],
  ['ClientIP affinity config', withField(service(), 'spec.sessionAffinity', 'ClientIP'), 'spec.sessionAffinityConfig', { clientIP: { timeoutSeconds: 10800 } }],
  ['clusterIPs from clusterIP', withField(service(), 'spec.clusterIP', '10.96.0.10'), 'spec.clusterIPs', ['10.96.0.10']],
  ['clusterIP from clusterIPs', withField(service(), 'spec.clusterIPs', ['10.96.0.11']), 'spec.clusterIP', '10.96.0.11'],
  // Namespace
  ['namespace finalizers', namespace(), 'spec.finalizers', ['kubernetes']],
  ['namespace phase', namespace(), 'status.phase', 'Active'],
  ['namespace name label', namespace('dev'), 'metadata.labels', { 'kubernetes.io/metadata.name': 'dev' }],
  ['terminating namespace keeps empty finalizers', withField(withField(namespace(), 'status.phase', 'Terminating'), 'spec.finalizers', []), 'spec.finalizers', []],
  // Secret
  ['secret type', secret(), 'type', 'Opaque'],
  ['secret type kept', withField(secret(), 'type', 'kubernetes.io/tls'), 'type', 'kubernetes.io/tls'],
  ['secret stringData merged', withField(secret(), 'stringData', { user: 'admin' }), 'data.user', 'YWRtaW4='],
  ['secret stringData dropped', withField(secret(), 'stringData', { user: 'admin' }), 'stringData', undefined],
  ['secret stringData overrides data', withField(secret(), 'stringData', { password: 'x' }), 'data.password', 'eA=='],
  // PV / PVC / StorageClass
  ['pvc volumeMode', pvc(), 'spec.volumeMode', 'Filesystem'],
  ['pvc phase', pvc(), 'status.phase', 'Pending'],
  ['pv reclaimPolicy', pv(), 'spec.persistentVolumeReclaimPolicy', 'Retain'],
  ['pv volumeMode', pv(), 'spec.volumeMode', 'Filesystem'],
  ['pv phase', pv(), 'status.phase', 'Pending'],
  ['storageclass reclaimPolicy', storageClass(), 'reclaimPolicy', 'Delete'],
  ['storageclass volumeBindingMode', storageClass(), 'volumeBindingMode', 'Immediate'],
  // HPA
  ['hpa minReplicas', hpa(), 'spec.minReplicas', 1],
  ['hpa default metric', hpa(), 'spec.metrics', [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }]],
  ['hpa no behavior unless given', hpa(), 'spec.behavior', undefined],
  [
    'hpa behavior scaleUp',
    withField(hpa(), 'spec.behavior', {}),
    'spec.behavior.scaleUp',
    { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }] },
  ],
  ['hpa behavior scaleDown', withField(hpa(), 'spec.behavior', { scaleDown: { stabilizationWindowSeconds: 60 } }), 'spec.behavior.scaleDown', { stabilizationWindowSeconds: 60, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] }],
  // Node
  ['node allocatable from capacity', node(), 'status.allocatable', { cpu: '4', memory: '8Gi', pods: '110' }],
  ['node: no taints added', node(), 'spec.taints', undefined],
  // Endpoints / EndpointSlice
  ['endpoints port protocol', { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'e' }, subsets: [{ ports: [{ port: 80 }] }] }, 'subsets[0].ports[0].protocol', 'TCP'],
  ['endpointslice port protocol', { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'e' }, addressType: 'IPv4', ports: [{ port: 80 }] }, 'ports[0].protocol', 'TCP'],
  ['ingressclass parameters scope', { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'i' }, spec: { controller: 'a.io/b', parameters: { kind: 'X', name: 'y' } } }, 'spec.parameters.scope', 'Cluster'],
];

describe('applyDefaults', () => {
  test.each(CASES)('%s', (_d, input, path, expected) => {
    expect(get(defaulted(input), path)).toEqual(expected);
  });

  test.each(CASES.map(([d, input]) => [d, input] as const))('idempotent: %s', (_d, input) => {
    const once = defaulted(input);
    const twice = defaulted(once);
    expect(twice).toEqual(once);
  });

  test('existing not-ready toleration is not duplicated', () => {
    const p = withField(pod(), 'spec.tolerations', [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }]);
    const tols = get(defaulted(p), 'spec.tolerations') as unknown[];
    expect(tols).toHaveLength(2);
    expect(tols[0]).toMatchObject({ tolerationSeconds: 60 });
    expect(tols[1]).toEqual(UNREACHABLE);
  });

  test('a match-all Exists toleration suppresses the defaults', () => {
    const p = withField(pod(), 'spec.tolerations', [{ operator: 'Exists' }]);
    expect(get(defaulted(p), 'spec.tolerations')).toEqual([{ operator: 'Exists' }]);
  });

  test('generated job labels are copied when the template had none', () => {
    const j = withField(job(), 'spec.template.metadata', undefined);
    const d = defaulted(j);
    expect(get(d, 'metadata.labels')).toEqual({
      'batch.kubernetes.io/controller-uid': 'uid-1',
      'batch.kubernetes.io/job-name': 'pi',
      'controller-uid': 'uid-1',
      'job-name': 'pi',
    });
  });

  test('job without uid gets no selector (server sets uid first)', () => {
    const j = withField(job(), 'metadata.uid', undefined);
    expect(get(defaulted(j), 'spec.selector')).toBeUndefined();
  });

  test('unknown kinds and group mismatches are left alone', () => {
    const o = { apiVersion: 'example.com/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: {} };
    expect(defaulted(o)).toEqual(o);
    const w = { apiVersion: 'v1', kind: 'Widget', metadata: { name: 'x' } };
    expect(defaulted(w)).toEqual(w);
  });

  test('wrong-typed values are not overwritten', () => {
    const p = pod();
    p.spec.restartPolicy = 5;
    p.spec.containers[0].imagePullPolicy = ['x'];
    p.spec.tolerations = 'nope';
    const d = defaulted(p);
    expect(d.spec.restartPolicy).toBe(5);
    expect(d.spec.containers[0].imagePullPolicy).toEqual(['x']);
    expect(d.spec.tolerations).toBe('nope');
  });

  test('missing spec is created for workloads', () => {
    const d: Any = defaulted({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' } });
    expect(d.spec).toMatchObject({ replicas: 1, revisionHistoryLimit: 10 });
  });

  test('does not throw on non-object input', () => {
    for (const v of [null, undefined, 1, 'x', [], true]) expect(() => applyDefaults(v as unknown as KObject)).not.toThrow();
  });

  test('mutates in place', () => {
    const o = clone(deployment()) as KObject;
    applyDefaults(o);
    expect(o.spec.replicas).toBe(1);
  });
});

describe('image helpers', () => {
  test.each([
    ['nginx', 'latest'],
    ['nginx:1.25', '1.25'],
    ['library/nginx:latest', 'latest'],
    ['localhost:5000/app', 'latest'],
    ['localhost:5000/app:v2', 'v2'],
    ['app@sha256:abcd', ''],
    ['app:v1@sha256:abcd', 'v1'],
  ])('imageTag(%p) = %p', (img, tag) => {
    expect(imageTag(img)).toBe(tag);
  });

  test.each([
    ['nginx', 'Always'],
    ['nginx:latest', 'Always'],
    ['nginx:1', 'IfNotPresent'],
    ['nginx@sha256:00', 'IfNotPresent'],
    [42, 'IfNotPresent'],
  ])('defaultPullPolicy(%p) = %p', (img, pol) => {
    expect(defaultPullPolicy(img)).toBe(pol);
  });

  test('podQOSClass tolerates junk', () => {
    expect(podQOSClass(null)).toBe('BestEffort');
    expect(podQOSClass({ containers: 'x' })).toBe('BestEffort');
    expect(podQOSClass({ containers: [{ resources: { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '1000m', memory: '1Gi' } } }] })).toBe('Guaranteed');
  });
});
