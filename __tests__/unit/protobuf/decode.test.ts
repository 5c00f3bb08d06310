import { decodeKubernetesProtobuf } from '../../../src/api/protobuf';
import { bool, bytes, bytesMap, i32, i64, intOrString, k8sBody, msg, objectMeta, quantityMap, str, strMap, sub, type Part } from './wire';

/** core/v1 Container with every non-pointer field written, as Go marshals it. */
function container(name: string, image: string, extra: Part[] = []): Part[] {
  return [
    str(1, name),
    str(2, image),
    str(5, ''),
    sub(8),
    str(13, ''),
    str(14, ''),
    bool(16, false),
    bool(17, false),
    bool(18, false),
    str(20, ''),
    ...extra,
  ];
}

/** core/v1 PodSpec with every non-pointer field written. */
function podSpec(containers: Part[][], o: { restartPolicy?: string; dnsPolicy?: string; extra?: Part[] } = {}): Part[] {
  return [
    ...containers.map((c) => sub(2, ...c)),
    str(3, o.restartPolicy ?? ''),
    str(6, o.dnsPolicy ?? ''),
    str(8, ''),
    str(9, ''),
    str(10, ''),
    bool(11, false),
    bool(12, false),
    bool(13, false),
    str(16, ''),
    str(17, ''),
    str(19, ''),
    str(24, ''),
    ...(o.extra ?? []),
  ];
}

describe('decodeKubernetesProtobuf: kubectl create bodies', () => {
  test('Namespace (kubectl create namespace)', () => {
    const raw = msg(sub(1, ...objectMeta('team-a')), sub(2), sub(3, str(1, '')));
    expect(decodeKubernetesProtobuf(k8sBody('v1', 'Namespace', raw))).toEqual({
      kind: 'Namespace',
      apiVersion: 'v1',
      metadata: { name: 'team-a' },
      spec: {},
      status: {},
    });
  });

  test('ConfigMap (kubectl create configmap --from-literal)', () => {
    const raw = msg(sub(1, ...objectMeta('cfg', { namespace: 'default' })), ...strMap(2, { a: '1', b: 'two words' }), ...bytesMap(3, { bin: Buffer.from([0, 1, 2]) }));
    const obj = decodeKubernetesProtobuf(k8sBody('v1', 'ConfigMap', raw));
    expect(obj).toEqual({
      kind: 'ConfigMap',
      apiVersion: 'v1',
      metadata: { name: 'cfg', namespace: 'default' },
      data: { a: '1', b: 'two words' },
      binaryData: { bin: 'AAEC' },
    });
    expect(JSON.stringify(obj)).toBe(
      '{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cfg","namespace":"default"},"data":{"a":"1","b":"two words"},"binaryData":{"bin":"AAEC"}}',
    );
  });

  test('Secret (kubectl create secret generic): bytes become base64', () => {
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
    const raw = msg(sub(1, ...objectMeta('creds')), ...bytesMap(2, { password: Buffer.from('s3cr3t'), blob: binary }), str(3, 'Opaque'));
    expect(decodeKubernetesProtobuf(k8sBody('v1', 'Secret', raw))).toEqual({
      kind: 'Secret',
      apiVersion: 'v1',
      metadata: { name: 'creds' },
      data: { password: 'czNjcjN0', blob: binary.toString('base64') },
      type: 'Opaque',
    });
  });

  test('ServiceAccount with automountServiceAccountToken=false kept (pointer field)', () => {
    const raw = msg(sub(1, ...objectMeta('robot')), bool(4, false));
    expect(decodeKubernetesProtobuf(k8sBody('v1', 'ServiceAccount', raw))).toEqual({
      kind: 'ServiceAccount',
      apiVersion: 'v1',
      metadata: { name: 'robot' },
      automountServiceAccountToken: false,
    });
  });

  test('Deployment (kubectl create deployment web --image=nginx --replicas=3)', () => {
    const labels = { app: 'web' };
    const raw = msg(
      sub(1, ...objectMeta('web', { labels })),
      sub(
        2,
        i32(1, 3), // replicas (*int32)
        sub(2, ...strMap(1, labels)), // selector.matchLabels
        sub(3, sub(1, ...objectMeta('', { labels })), sub(2, ...podSpec([container('nginx', 'nginx')]))), // template
        sub(4, str(1, '')), // strategy {type: ""}
        i32(5, 0), // minReadySeconds
        bool(7, false), // paused
      ),
      sub(3, i64(1, 0), i32(2, 0), i32(3, 0), i32(4, 0), i32(5, 0), i32(7, 0)),
    );
    const obj = decodeKubernetesProtobuf(k8sBody('apps/v1', 'Deployment', raw));
    expect(obj).toEqual({
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'nginx', image: 'nginx', resources: {} }] },
        },
        strategy: {},
      },
      status: {},
    });
    // Key order follows the Go structs, as kubectl's own JSON does.
    expect(Object.keys(obj.spec)).toEqual(['replicas', 'selector', 'template', 'strategy']);
  });

  test('Deployment with replicas=0 keeps the zero (pointer field)', () => {
    const raw = msg(sub(1, ...objectMeta('web')), sub(2, i32(1, 0), i32(5, 0)));
    expect(decodeKubernetesProtobuf(k8sBody('apps/v1', 'Deployment', raw)).spec).toEqual({ replicas: 0 });
  });

  test('Pod (kubectl run nginx --image=nginx)', () => {
    const raw = msg(
      sub(1, ...objectMeta('nginx', { labels: { run: 'nginx' } })),
      sub(2, ...podSpec([container('nginx', 'nginx')], { restartPolicy: 'Always', dnsPolicy: 'ClusterFirst' })),
      sub(3, str(1, ''), str(3, ''), str(4, ''), str(5, ''), str(6, ''), str(7, '')),
    );
    expect(decodeKubernetesProtobuf(k8sBody('v1', 'Pod', raw))).toEqual({
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { name: 'nginx', labels: { run: 'nginx' } },
      spec: {
        containers: [{ name: 'nginx', image: 'nginx', resources: {} }],
        restartPolicy: 'Always',
        dnsPolicy: 'ClusterFirst',
      },
      status: {},
    });
  });

  test('Pod with probes, env, volumes, resources, securityContext, tolerations, affinity', () => {
    const c = container('app', 'busybox:1.36', [
      str(3, 'sh'),
      str(4, '-c'),
      str(4, 'sleep 3600'),
      sub(6, str(1, 'http'), i32(2, 0), i32(3, 8080), str(4, 'TCP'), str(5, '')),
      sub(7, str(1, 'MODE'), str(2, 'prod')),
      sub(7, str(1, 'POD_NAME'), str(2, ''), sub(3, sub(1, str(1, 'v1'), str(2, 'metadata.name')))),
      sub(7, str(1, 'PASS'), str(2, ''), sub(3, sub(4, sub(1, str(1, 'creds')), str(2, 'password'), bool(3, true)))),
      sub(19, str(1, 'CFG_'), sub(2, sub(1, str(1, 'cfg')))),
      sub(8, ...quantityMap(1, { cpu: '500m', memory: '128Mi' }), ...quantityMap(2, { cpu: '100m' })),
      sub(9, str(1, 'data'), bool(2, true), str(3, '/data'), str(4, '')),
      sub(10, sub(1, sub(2, str(1, '/healthz'), intOrString(2, 'http'), str(3, ''), str(4, 'HTTP'))), i32(2, 5), i32(3, 1), i32(4, 10), i32(5, 1), i32(6, 3)),
      sub(11, sub(1, sub(3, intOrString(1, 8080), str(2, ''))), i32(2, 0), i32(3, 0), i32(4, 0), i32(5, 0), i32(6, 0)),
      sub(12, sub(2, sub(1, str(1, 'sh'), str(1, '-c'), str(1, 'sleep 5')))),
      sub(15, i64(4, 0), bool(5, true), bool(6, false), sub(1, str(2, 'NET_ADMIN'), str(1, 'ALL'))),
    ]);
    const raw = msg(
      sub(1, ...objectMeta('complex', { namespace: 'prod' })),
      sub(
        2,
        ...podSpec([c], {
          restartPolicy: 'Never',
          extra: [
            sub(1, str(1, 'data'), sub(2, sub(19, sub(1, str(1, 'cfg')), sub(2, str(1, 'k'), str(2, 'k.txt')), i32(3, 420)))),
            sub(1, str(1, 'scratch'), sub(2, sub(2, str(1, 'Memory'), sub(2, str(1, '64Mi'))))),
            sub(1, str(1, 'host'), sub(2, sub(1, str(1, '/var/log'), str(2, 'Directory')))),
            sub(1, str(1, 'claim'), sub(2, sub(10, str(1, 'pvc-1'), bool(2, false)))),
            sub(1, str(1, 'sec'), sub(2, sub(6, str(1, 'creds'), i32(3, 256)))),
            i64(4, 0), // terminationGracePeriodSeconds: 0 (pointer, kept)
            ...strMap(7, { disk: 'ssd' }),
            sub(14, i64(2, 1000), bool(3, true), i64(5, 2000), i64(4, 3000), i64(4, 3001)),
            sub(22, str(1, 'node-role.kubernetes.io/control-plane'), str(2, 'Exists'), str(3, ''), str(4, 'NoSchedule')),
            sub(22, str(1, 'k'), str(2, 'Equal'), str(3, 'v'), str(4, 'NoExecute'), i64(5, 30)),
            sub(
              18,
              sub(1, sub(1, sub(1, sub(1, str(1, 'kubernetes.io/os'), str(2, 'In'), str(3, 'linux'))))),
              sub(3, sub(2, i32(1, 100), sub(2, sub(1, ...strMap(1, { app: 'db' })), str(3, 'kubernetes.io/hostname')))),
            ),
            sub(33, i32(1, 1), str(2, 'topology.kubernetes.io/zone'), str(3, 'DoNotSchedule'), sub(4, ...strMap(1, { app: 'x' }))),
          ],
        }),
      ),
    );
    const obj = decodeKubernetesProtobuf(k8sBody('v1', 'Pod', raw));
    expect(obj.spec).toEqual({
      volumes: [
        { name: 'data', configMap: { name: 'cfg', items: [{ key: 'k', path: 'k.txt' }], defaultMode: 420 } },
        { name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
        { name: 'host', hostPath: { path: '/var/log', type: 'Directory' } },
        { name: 'claim', persistentVolumeClaim: { claimName: 'pvc-1' } },
        { name: 'sec', secret: { secretName: 'creds', defaultMode: 256 } },
      ],
      containers: [
        {
          name: 'app',
          image: 'busybox:1.36',
          command: ['sh'],
          args: ['-c', 'sleep 3600'],
          ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
          envFrom: [{ prefix: 'CFG_', configMapRef: { name: 'cfg' } }],
          env: [
            { name: 'MODE', value: 'prod' },
            { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
            { name: 'PASS', valueFrom: { secretKeyRef: { name: 'creds', key: 'password', optional: true } } },
          ],
          resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '100m' } },
          volumeMounts: [{ name: 'data', readOnly: true, mountPath: '/data' }],
          livenessProbe: {
            httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP' },
            initialDelaySeconds: 5,
            timeoutSeconds: 1,
            periodSeconds: 10,
            successThreshold: 1,
            failureThreshold: 3,
          },
          readinessProbe: { tcpSocket: { port: 8080 } },
          lifecycle: { preStop: { exec: { command: ['sh', '-c', 'sleep 5'] } } },
          securityContext: {
            capabilities: { add: ['ALL'], drop: ['NET_ADMIN'] },
            runAsUser: 0,
            runAsNonRoot: true,
            readOnlyRootFilesystem: false,
          },
        },
      ],
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      nodeSelector: { disk: 'ssd' },
      securityContext: { runAsUser: 1000, runAsNonRoot: true, supplementalGroups: [3000, 3001], fsGroup: 2000 },
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] }],
          },
        },
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'kubernetes.io/hostname' } },
          ],
        },
      },
      tolerations: [
        { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
        { key: 'k', operator: 'Equal', value: 'v', effect: 'NoExecute', tolerationSeconds: 30 },
      ],
      topologySpreadConstraints: [
        { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'x' } } },
      ],
    });
  });

  test('Service (kubectl create service clusterip web --tcp=80:8080)', () => {
    const raw = msg(
      sub(1, ...objectMeta('web', { labels: { app: 'web' } })),
      sub(
        2,
        sub(1, str(1, '80-8080'), str(2, 'TCP'), i32(3, 80), intOrString(4, 8080), i32(5, 0)),
        ...strMap(2, { app: 'web' }),
        str(3, ''),
        str(4, 'ClusterIP'),
        str(7, ''),
        str(10, ''),
        str(11, ''),
        i32(12, 0),
        bool(13, false),
      ),
      sub(3, sub(1)),
    );
    expect(decodeKubernetesProtobuf(k8sBody('v1', 'Service', raw))).toEqual({
      kind: 'Service',
      apiVersion: 'v1',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        ports: [{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 }],
        selector: { app: 'web' },
        type: 'ClusterIP',
      },
      status: { loadBalancer: {} },
    });
  });

  test('Service port with a named targetPort (IntOrString string)', () => {
    const raw = msg(sub(1, ...objectMeta('web')), sub(2, sub(1, str(1, ''), str(2, 'TCP'), i32(3, 443), intOrString(4, 'https'), i32(5, 0))));
    expect(decodeKubernetesProtobuf(k8sBody('v1', 'Service', raw)).spec.ports).toEqual([{ protocol: 'TCP', port: 443, targetPort: 'https' }]);
  });

  test('Eviction (kubectl drain) with DeleteOptions.gracePeriodSeconds=0 kept', () => {
    const raw = msg(sub(1, ...objectMeta('web-1', { namespace: 'default' })), sub(2, i64(1, 0), str(5, 'All')));
    expect(decodeKubernetesProtobuf(k8sBody('policy/v1', 'Eviction', raw))).toEqual({
      kind: 'Eviction',
      apiVersion: 'policy/v1',
      metadata: { name: 'web-1', namespace: 'default' },
      deleteOptions: { gracePeriodSeconds: 0, dryRun: ['All'] },
    });
  });

  test('Eviction without deleteOptions', () => {
    const raw = msg(sub(1, ...objectMeta('web-1', { namespace: 'default' })));
    expect(decodeKubernetesProtobuf(k8sBody('policy/v1', 'Eviction', raw))).toEqual({
      kind: 'Eviction',
      apiVersion: 'policy/v1',
      metadata: { name: 'web-1', namespace: 'default' },
    });
  });

  test('DeleteOptions under any apiVersion', () => {
    const raw = msg(i64(1, 5), sub(2, str(1, 'uid-1')), str(4, 'Foreground'));
    expect(decodeKubernetesProtobuf(k8sBody('v1', 'DeleteOptions', raw))).toEqual({
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      gracePeriodSeconds: 5,
      preconditions: { uid: 'uid-1' },
      propagationPolicy: 'Foreground',
    });
  });

  test('Job and CronJob (kubectl create job / cronjob)', () => {
    const tmpl = sub(6, sub(1, ...objectMeta('')), sub(2, ...podSpec([container('pi', 'perl')], { restartPolicy: 'Never' })));
    const job = msg(sub(1, ...objectMeta('pi')), sub(2, i32(7, 0), tmpl));
    expect(decodeKubernetesProtobuf(k8sBody('batch/v1', 'Job', job))).toEqual({
      kind: 'Job',
      apiVersion: 'batch/v1',
      metadata: { name: 'pi' },
      spec: { backoffLimit: 0, template: { metadata: {}, spec: { containers: [{ name: 'pi', image: 'perl', resources: {} }], restartPolicy: 'Never' } } },
    });
    const jobTemplate = sub(5, sub(1, ...objectMeta('pi')), sub(2, tmpl));
    const cron = msg(sub(1, ...objectMeta('pi')), sub(2, str(1, '*/5 * * * *'), jobTemplate), sub(3));
    expect(decodeKubernetesProtobuf(k8sBody('batch/v1', 'CronJob', cron))).toEqual({
      kind: 'CronJob',
      apiVersion: 'batch/v1',
      metadata: { name: 'pi' },
      spec: {
        schedule: '*/5 * * * *',
        jobTemplate: {
          metadata: { name: 'pi' },
          spec: { template: { metadata: {}, spec: { containers: [{ name: 'pi', image: 'perl', resources: {} }], restartPolicy: 'Never' } } },
        },
      },
      status: {},
    });
  });

  test('PodDisruptionBudget with minAvailable percentage', () => {
    const raw = msg(sub(1, ...objectMeta('pdb')), sub(2, intOrString(1, '50%'), sub(2, ...strMap(1, { app: 'web' }))));
    expect(decodeKubernetesProtobuf(k8sBody('policy/v1', 'PodDisruptionBudget', raw)).spec).toEqual({
      minAvailable: '50%',
      selector: { matchLabels: { app: 'web' } },
    });
  });

  test('Ingress (kubectl create ingress --rule=foo.com/bar=svc:80)', () => {
    const backend = sub(2, sub(4, str(1, 'svc'), sub(2, str(1, ''), i32(2, 80))));
    const raw = msg(
      sub(1, ...objectMeta('simple')),
      sub(2, sub(3, str(1, 'foo.com'), sub(2, sub(1, sub(1, str(1, '/bar'), backend, str(3, 'Exact')))))),
    );
    expect(decodeKubernetesProtobuf(k8sBody('networking.k8s.io/v1', 'Ingress', raw)).spec).toEqual({
      rules: [{ host: 'foo.com', http: { paths: [{ path: '/bar', pathType: 'Exact', backend: { service: { name: 'svc', port: { number: 80 } } } }] } }],
    });
  });

  test('HorizontalPodAutoscaler autoscaling/v1 (kubectl autoscale) and autoscaling/v2', () => {
    const ref = sub(1, str(1, 'Deployment'), str(2, 'web'), str(3, 'apps/v1'));
    const v1 = msg(sub(1, ...objectMeta('web')), sub(2, ref, i32(2, 1), i32(3, 5), i32(4, 80)), sub(3, i32(3, 0), i32(4, 0)));
    expect(decodeKubernetesProtobuf(k8sBody('autoscaling/v1', 'HorizontalPodAutoscaler', v1))).toEqual({
      kind: 'HorizontalPodAutoscaler',
      apiVersion: 'autoscaling/v1',
      metadata: { name: 'web' },
      spec: { scaleTargetRef: { kind: 'Deployment', name: 'web', apiVersion: 'apps/v1' }, minReplicas: 1, maxReplicas: 5, targetCPUUtilizationPercentage: 80 },
      status: { currentReplicas: 0, desiredReplicas: 0 },
    });
    const metric = sub(4, str(1, 'Resource'), sub(4, str(1, 'cpu'), sub(2, str(1, 'Utilization'), i32(4, 80))));
    const v2 = msg(sub(1, ...objectMeta('web')), sub(2, ref, i32(2, 1), i32(3, 5), metric));
    expect(decodeKubernetesProtobuf(k8sBody('autoscaling/v2', 'HorizontalPodAutoscaler', v2)).spec).toEqual({
      scaleTargetRef: { kind: 'Deployment', name: 'web', apiVersion: 'apps/v1' },
      minReplicas: 1,
      maxReplicas: 5,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }],
    });
  });

  test('Scale and Binding', () => {
    const scale = msg(sub(1, ...objectMeta('web', { namespace: 'default' })), sub(2, i32(1, 0)), sub(3, i32(1, 0), str(2, '')));
    expect(decodeKubernetesProtobuf(k8sBody('autoscaling/v1', 'Scale', scale))).toEqual({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: 'web', namespace: 'default' },
      spec: {}, // ScaleSpec.replicas is a non-pointer omitempty int32
      status: { replicas: 0 },
    });
    const binding = msg(sub(1, ...objectMeta('p')), sub(2, str(1, 'Node'), str(2, ''), str(3, 'node-1')));
    expect(decodeKubernetesProtobuf(k8sBody('v1', 'Binding', binding))).toEqual({
      kind: 'Binding',
      apiVersion: 'v1',
      metadata: { name: 'p' },
      target: { kind: 'Node', name: 'node-1' },
    });
  });

  test('StatefulSet, DaemonSet, ReplicaSet decode through the shared PodTemplateSpec', () => {
    const tmpl = sub(1, ...objectMeta('')), spec = sub(2, ...podSpec([container('c', 'img')]));
    const sts = msg(sub(1, ...objectMeta('db')), sub(2, i32(1, 2), sub(2, ...strMap(1, { a: 'b' })), sub(3, tmpl, spec), str(5, 'db'), str(6, 'Parallel')));
    expect(decodeKubernetesProtobuf(k8sBody('apps/v1', 'StatefulSet', sts)).spec).toEqual({
      replicas: 2,
      selector: { matchLabels: { a: 'b' } },
      template: { metadata: {}, spec: { containers: [{ name: 'c', image: 'img', resources: {} }] } },
      serviceName: 'db',
      podManagementPolicy: 'Parallel',
    });
    const ds = msg(sub(1, ...objectMeta('agent')), sub(2, sub(2, tmpl, spec), sub(3, str(1, 'RollingUpdate'), sub(2, intOrString(1, 1)))));
    expect(decodeKubernetesProtobuf(k8sBody('apps/v1', 'DaemonSet', ds)).spec).toEqual({
      template: { metadata: {}, spec: { containers: [{ name: 'c', image: 'img', resources: {} }] } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
    });
    const rs = msg(sub(1, ...objectMeta('rs')), sub(2, i32(1, 1), sub(3, tmpl, spec)));
    expect(decodeKubernetesProtobuf(k8sBody('apps/v1', 'ReplicaSet', rs)).spec.replicas).toBe(1);
  });
});

describe('decodeKubernetesProtobuf: wire details', () => {
  test('Time and MicroTime become RFC3339; zero Time is omitted', () => {
    const t = Date.UTC(2024, 0, 2, 3, 4, 5) / 1000;
    const pod = msg(sub(1, str(1, 'p'), sub(8), sub(9, i64(1, t), i32(2, 999)), i64(10, 30)));
    expect(decodeKubernetesProtobuf(k8sBody('v1', 'Pod', pod)).metadata).toEqual({
      name: 'p',
      deletionTimestamp: '2024-01-02T03:04:05Z',
      deletionGracePeriodSeconds: 30,
    });
    const lease = msg(sub(1, str(1, 'l')), sub(2, str(1, 'me'), sub(3, i64(1, t), i32(2, 123456789))));
    expect(decodeKubernetesProtobuf(k8sBody('coordination.k8s.io/v1', 'Lease', lease)).spec).toEqual({
      holderIdentity: 'me',
      acquireTime: '2024-01-02T03:04:05.123456Z',
    });
  });

  test('ownerReferences, finalizers, annotations and managedFields (FieldsV1 is embedded JSON)', () => {
    const meta = sub(
      1,
      str(1, 'x'),
      ...strMap(12, { note: 'hi' }),
      sub(13, str(1, 'ReplicaSet'), str(3, 'rs'), str(4, 'u1'), str(5, 'apps/v1'), bool(6, true), bool(7, true)),
      str(14, 'example.com/f'),
      sub(17, str(1, 'kubectl'), str(2, 'Update'), str(3, 'v1'), str(6, 'FieldsV1'), sub(7, bytes(1, Buffer.from('{"f:data":{}}'))), str(8, '')),
    );
    expect(decodeKubernetesProtobuf(k8sBody('v1', 'ConfigMap', msg(meta))).metadata).toEqual({
      name: 'x',
      annotations: { note: 'hi' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u1', controller: true, blockOwnerDeletion: true }],
      finalizers: ['example.com/f'],
      managedFields: [{ manager: 'kubectl', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': {} } }],
    });
  });

  test('unknown field numbers of every wire type are skipped', () => {
    const unknownFields: Part[] = [
      (w) => void w.uint32((900 << 3) | 0).uint64(12345678901),
      (w) => void w.uint32((901 << 3) | 1).fixed64(7),
      (w) => void w.uint32((902 << 3) | 2).string('ignored'),
      (w) => void w.uint32((903 << 3) | 5).fixed32(9),
    ];
    const raw = msg(...unknownFields, sub(1, str(1, 'ns'), ...unknownFields), sub(2, ...unknownFields));
    expect(decodeKubernetesProtobuf(k8sBody('v1', 'Namespace', raw))).toEqual({ kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'ns' }, spec: {} });
  });

  test('packed and unpacked repeated varints are both accepted', () => {
    const packed: Part = (w) => void w.uint32((4 << 3) | 2).fork().int64(1).int64(2).int64(300).ldelim();
    const raw = msg(sub(1, str(1, 'p')), sub(2, sub(14, packed, i64(4, 4))));
    expect(decodeKubernetesProtobuf(k8sBody('v1', 'Pod', raw)).spec).toEqual({ securityContext: { supplementalGroups: [1, 2, 300, 4] } });
  });

  test('a repeated singular message merges, last scalar wins (protobuf semantics)', () => {
    const raw = msg(sub(1, str(1, 'a')), sub(1, str(3, 'ns')), sub(1, str(1, 'b')));
    expect(decodeKubernetesProtobuf(k8sBody('v1', 'ConfigMap', raw)).metadata).toEqual({ name: 'b', namespace: 'ns' });
  });

  test('metadata is {} when absent; negative int32 decodes', () => {
    const raw = msg(sub(2, i32(1, -1)));
    expect(decodeKubernetesProtobuf(k8sBody('apps/v1', 'Deployment', raw))).toEqual({ kind: 'Deployment', apiVersion: 'apps/v1', metadata: {}, spec: { replicas: -1 } });
  });
});
