import { Any, check, clone, expectError, expectValid, fmt, pod, withField } from './helpers';

const P = (path: string, v: unknown): Any => withField(pod(), path, v);
const C = (path: string, v: unknown): Any => P(`spec.containers[0].${path}`, v);

/** [description, object, field, message (exact string or RegExp), type?] */
const INVALID: Array<[string, Any, string, string | RegExp, string?]> = [
  // containers
  ['no containers', P('spec.containers', []), 'spec.containers', 'Required value', 'FieldValueRequired'],
  ['containers missing', P('spec.containers', undefined), 'spec.containers', 'Required value'],
  ['container name required', C('name', undefined), 'spec.containers[0].name', 'Required value'],
  ['container name DNS label', C('name', 'My_App'), 'spec.containers[0].name', /^Invalid value: "My_App": a lowercase RFC 1123 label/],
  ['duplicate container names', P('spec.containers', [{ name: 'a', image: 'x' }, { name: 'a', image: 'y' }]), 'spec.containers[1].name', 'Duplicate value: "a"', 'FieldValueDuplicate'],
  ['init/regular name clash', P('spec.initContainers', [{ name: 'app', image: 'busybox' }]), 'spec.initContainers[0].name', 'Duplicate value: "app"'],
  ['image required', C('image', undefined), 'spec.containers[0].image', 'Required value'],
  ['image empty', C('image', ''), 'spec.containers[0].image', 'Required value'],
  ['image whitespace', C('image', ' nginx'), 'spec.containers[0].image', 'Invalid value: " nginx": must not have leading or trailing whitespace'],
  ['imagePullPolicy enum', C('imagePullPolicy', 'Sometimes'), 'spec.containers[0].imagePullPolicy', 'Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"', 'FieldValueNotSupported'],
  ['terminationMessagePolicy enum', C('terminationMessagePolicy', 'X'), 'spec.containers[0].terminationMessagePolicy', /^Unsupported value: "X"/],
  // ports
  ['containerPort 0', C('ports', [{ containerPort: 0 }]), 'spec.containers[0].ports[0].containerPort', 'Required value'],
  ['containerPort too big', C('ports', [{ containerPort: 70000 }]), 'spec.containers[0].ports[0].containerPort', 'Invalid value: 70000: must be between 1 and 65535, inclusive'],
  ['containerPort negative', C('ports', [{ containerPort: -1 }]), 'spec.containers[0].ports[0].containerPort', 'Invalid value: -1: must be between 1 and 65535, inclusive'],
  ['hostPort range', C('ports', [{ containerPort: 80, hostPort: 65536 }]), 'spec.containers[0].ports[0].hostPort', 'Invalid value: 65536: must be between 1 and 65535, inclusive'],
  ['protocol enum', C('ports', [{ containerPort: 80, protocol: 'HTTP' }]), 'spec.containers[0].ports[0].protocol', 'Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"'],
  ['port name syntax', C('ports', [{ containerPort: 80, name: 'HTTP' }]), 'spec.containers[0].ports[0].name', /must contain only alpha-numeric characters/],
  ['port name duplicate', C('ports', [{ containerPort: 80, name: 'http' }, { containerPort: 81, name: 'http' }]), 'spec.containers[0].ports[1].name', 'Duplicate value: "http"'],
  ['hostIP', C('ports', [{ containerPort: 80, hostIP: 'nope' }]), 'spec.containers[0].ports[0].hostIP', /must be a valid IP address/],
  // env
  ['env name required', C('env', [{ value: 'x' }]), 'spec.containers[0].env[0].name', 'Required value'],
  ['env name syntax', C('env', [{ name: '1BAD', value: 'x' }]), 'spec.containers[0].env[0].name', /^Invalid value: "1BAD": a valid environment variable name must consist of/],
  ['env value and valueFrom', C('env', [{ name: 'A', value: 'x', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }]), 'spec.containers[0].env[0].valueFrom', 'Invalid value: "": may not be specified when `value` is not empty'],
  ['env valueFrom empty', C('env', [{ name: 'A', valueFrom: {} }]), 'spec.containers[0].env[0].valueFrom', /must specify one of: `fieldRef`/],
  ['env valueFrom two sources', C('env', [{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'metadata.name' }, secretKeyRef: { name: 's', key: 'k' } } }]), 'spec.containers[0].env[0].valueFrom', /may not have more than one field specified/],
  ['env fieldPath unsupported', C('env', [{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'spec.bogus' } } }]), 'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath', /^Unsupported value: "spec.bogus": supported values: "metadata.name"/],
  ['env fieldRef apiVersion', C('env', [{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'metadata.name', apiVersion: 'v2' } } }]), 'spec.containers[0].env[0].valueFrom.fieldRef.apiVersion', 'Unsupported value: "v2": supported values: "v1"'],
  ['env secretKeyRef key', C('env', [{ name: 'A', valueFrom: { secretKeyRef: { name: 's' } } }]), 'spec.containers[0].env[0].valueFrom.secretKeyRef.key', 'Required value'],
  ['env configMapKeyRef key syntax', C('env', [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'c', key: 'a/b' } } }]), 'spec.containers[0].env[0].valueFrom.configMapKeyRef.key', /a valid config key must consist/],
  ['env resourceFieldRef', C('env', [{ name: 'A', valueFrom: { resourceFieldRef: { resource: 'limits.gpu' } } }]), 'spec.containers[0].env[0].valueFrom.resourceFieldRef.resource', /^Unsupported value: "limits.gpu"/],
  ['envFrom needs a source', C('envFrom', [{ prefix: 'X_' }]), 'spec.containers[0].envFrom[0]', /must specify one of: `configMapRef` or `secretRef`/],
  // resources
  ['request > limit', C('resources', { requests: { cpu: '2' }, limits: { cpu: '1' } }), 'spec.containers[0].resources.requests[cpu]', 'Invalid value: "2": must be less than or equal to cpu limit of 1'],
  ['memory request > limit', C('resources', { requests: { memory: '2Gi' }, limits: { memory: '1Gi' } }), 'spec.containers[0].resources.requests[memory]', 'Invalid value: "2Gi": must be less than or equal to memory limit of 1Gi'],
  ['bad quantity', C('resources', { limits: { cpu: 'lots' } }), 'spec.containers[0].resources.limits[cpu]', `Invalid value: "lots": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`],
  ['negative quantity', C('resources', { requests: { memory: '-1Mi' } }), 'spec.containers[0].resources.requests[memory]', 'Invalid value: "-1Mi": must be greater than or equal to 0'],
  ['non-standard resource', C('resources', { limits: { gpu: '1' } }), 'spec.containers[0].resources.limits[gpu]', 'Invalid value: "gpu": must be a standard resource for containers'],
  ['quantity wrong type', C('resources', { limits: { cpu: { x: 1 } } }), 'spec.containers[0].resources.limits[cpu]', /must be a quantity string or number/, 'FieldValueTypeInvalid'],
  // volume mounts
  ['mount unknown volume', C('volumeMounts', [{ name: 'data', mountPath: '/data' }]), 'spec.containers[0].volumeMounts[0].name', 'Not found: "data"', 'FieldValueNotFound'],
  // probes
  ['probe without handler', C('livenessProbe', { periodSeconds: 5 }), 'spec.containers[0].livenessProbe', 'Required value: must specify a handler type'],
  ['probe with two handlers', C('readinessProbe', { exec: { command: ['true'] }, tcpSocket: { port: 80 } }), 'spec.containers[0].readinessProbe.tcpSocket', 'Forbidden: may not specify more than 1 handler type', 'FieldValueForbidden'],
  ['probe negative', C('readinessProbe', { tcpSocket: { port: 80 }, initialDelaySeconds: -1 }), 'spec.containers[0].readinessProbe.initialDelaySeconds', 'Invalid value: -1: must be greater than or equal to 0'],
  ['liveness successThreshold', C('livenessProbe', { tcpSocket: { port: 80 }, successThreshold: 2 }), 'spec.containers[0].livenessProbe.successThreshold', 'Invalid value: 2: must be 1'],
  ['httpGet port required', C('livenessProbe', { httpGet: { path: '/' } }), 'spec.containers[0].livenessProbe.httpGet.port', 'Required value'],
  ['httpGet port range', C('livenessProbe', { httpGet: { port: 0x10000 } }), 'spec.containers[0].livenessProbe.httpGet.port', 'Invalid value: 65536: must be between 1 and 65535, inclusive'],
  ['httpGet named port syntax', C('livenessProbe', { httpGet: { port: 'Web_Port' } }), 'spec.containers[0].livenessProbe.httpGet.port', /must contain only alpha-numeric/],
  ['httpGet scheme', C('livenessProbe', { httpGet: { port: 80, scheme: 'FTP' } }), 'spec.containers[0].livenessProbe.httpGet.scheme', 'Unsupported value: "FTP": supported values: "HTTP", "HTTPS"'],
  ['exec command required', C('livenessProbe', { exec: {} }), 'spec.containers[0].livenessProbe.exec.command', 'Required value'],
  ['lifecycle handler required', C('lifecycle', { preStop: {} }), 'spec.containers[0].lifecycle.preStop', 'Required value: must specify a handler type'],
  ['init container probes forbidden', P('spec.initContainers', [{ name: 'init', image: 'b', readinessProbe: { tcpSocket: { port: 1 } } }]), 'spec.initContainers[0].readinessProbe', 'Forbidden: may not be set for init containers without restartPolicy=Always'],
  ['regular container restartPolicy', C('restartPolicy', 'Always'), 'spec.containers[0].restartPolicy', 'Forbidden: may not be set for non-init containers'],
  ['init container restartPolicy', P('spec.initContainers', [{ name: 'init', image: 'b', restartPolicy: 'Never' }]), 'spec.initContainers[0].restartPolicy', 'Unsupported value: "Never": supported values: "Always"'],
  // pod spec
  ['restartPolicy enum', P('spec.restartPolicy', 'Sometimes'), 'spec.restartPolicy', 'Unsupported value: "Sometimes": supported values: "Always", "Never", "OnFailure"', 'FieldValueNotSupported'],
  ['dnsPolicy enum', P('spec.dnsPolicy', 'Google'), 'spec.dnsPolicy', 'Unsupported value: "Google": supported values: "ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"'],
  ['dnsPolicy None needs dnsConfig', P('spec.dnsPolicy', 'None'), 'spec.dnsConfig', 'Required value: must provide `dnsConfig` when `dnsPolicy` is None'],
  ['dnsConfig nameserver IP', P('spec.dnsConfig', { nameservers: ['x'] }), 'spec.dnsConfig.nameservers[0]', /must be a valid IP address/],
  ['activeDeadlineSeconds', P('spec.activeDeadlineSeconds', 0), 'spec.activeDeadlineSeconds', 'Invalid value: 0: must be between 1 and 2147483647, inclusive'],
  ['nodeSelector value', P('spec.nodeSelector', { disk: 'fast ssd' }), 'spec.nodeSelector', /a valid label must be an empty string/],
  ['nodeName', P('spec.nodeName', 'Node_1'), 'spec.nodeName', /RFC 1123 subdomain/],
  ['serviceAccountName', P('spec.serviceAccountName', 'Bad SA'), 'spec.serviceAccountName', /RFC 1123 subdomain/],
  ['hostname', P('spec.hostname', 'a.b'), 'spec.hostname', /RFC 1123 label/],
  ['toleration operator enum', P('spec.tolerations', [{ key: 'k', operator: 'Maybe' }]), 'spec.tolerations[0].operator', 'Unsupported value: "Maybe": supported values: "Equal", "Exists"'],
  ['toleration Exists with value', P('spec.tolerations', [{ key: 'k', operator: 'Exists', value: 'v' }]), 'spec.tolerations[0].operator', 'Invalid value: "v": value must be empty when `operator` is \'Exists\''],
  ['toleration empty key needs Exists', P('spec.tolerations', [{ operator: 'Equal', value: 'v' }]), 'spec.tolerations[0].operator', /operator must be Exists when `key` is empty/],
  ['toleration effect enum', P('spec.tolerations', [{ key: 'k', operator: 'Exists', effect: 'Sometimes' }]), 'spec.tolerations[0].effect', /^Unsupported value: "Sometimes": supported values: "NoExecute", "NoSchedule", "PreferNoSchedule"/],
  ['tolerationSeconds only with NoExecute', P('spec.tolerations', [{ key: 'k', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 5 }]), 'spec.tolerations[0].effect', /effect must be 'NoExecute' when `tolerationSeconds` is set/],
  ['topologySpread maxSkew', P('spec.topologySpreadConstraints', [{ maxSkew: 0, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule' }]), 'spec.topologySpreadConstraints[0].maxSkew', 'Invalid value: 0: must be greater than zero'],
  ['topologySpread whenUnsatisfiable', P('spec.topologySpreadConstraints', [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'Whatever' }]), 'spec.topologySpreadConstraints[0].whenUnsatisfiable', /^Unsupported value/],
  ['hostAliases ip', P('spec.hostAliases', [{ ip: 'nope', hostnames: ['a'] }]), 'spec.hostAliases[0].ip', /must be a valid IP address/],
  // volumes
  ['volume name required', P('spec.volumes', [{ emptyDir: {} }]), 'spec.volumes[0].name', 'Required value'],
  ['volume name syntax', P('spec.volumes', [{ name: 'Data', emptyDir: {} }]), 'spec.volumes[0].name', /RFC 1123 label/],
  ['volume names unique', P('spec.volumes', [{ name: 'd', emptyDir: {} }, { name: 'd', emptyDir: {} }]), 'spec.volumes[1].name', 'Duplicate value: "d"'],
  ['volume two sources', P('spec.volumes', [{ name: 'd', emptyDir: {}, hostPath: { path: '/x' } }]), 'spec.volumes[0].emptyDir', 'Forbidden: may not specify more than 1 volume type'],
  ['hostPath path required', P('spec.volumes', [{ name: 'd', hostPath: {} }]), 'spec.volumes[0].hostPath.path', 'Required value'],
  ['hostPath type enum', P('spec.volumes', [{ name: 'd', hostPath: { path: '/x', type: 'Dir' } }]), 'spec.volumes[0].hostPath.type', /^Unsupported value: "Dir"/],
  ['secret name required', P('spec.volumes', [{ name: 'd', secret: {} }]), 'spec.volumes[0].secret.secretName', 'Required value'],
  ['configMap name required', P('spec.volumes', [{ name: 'd', configMap: {} }]), 'spec.volumes[0].configMap.name', 'Required value'],
  ['pvc claimName required', P('spec.volumes', [{ name: 'd', persistentVolumeClaim: {} }]), 'spec.volumes[0].persistentVolumeClaim.claimName', 'Required value'],
  ['defaultMode range', P('spec.volumes', [{ name: 'd', configMap: { name: 'c', defaultMode: 512 } }]), 'spec.volumes[0].configMap.defaultMode', 'Invalid value: 512: must be a number between 0 and 0777 (octal), both inclusive'],
  ['items path relative', P('spec.volumes', [{ name: 'd', configMap: { name: 'c', items: [{ key: 'k', path: '/abs' }] } }]), 'spec.volumes[0].configMap.items[0].path', 'Invalid value: "/abs": must be a relative path'],
  ['items path no ..', P('spec.volumes', [{ name: 'd', configMap: { name: 'c', items: [{ key: 'k', path: 'a/../b' }] } }]), 'spec.volumes[0].configMap.items[0].path', `Invalid value: "a/../b": must not contain '..'`],
  ['emptyDir sizeLimit', P('spec.volumes', [{ name: 'd', emptyDir: { sizeLimit: 'big' } }]), 'spec.volumes[0].emptyDir.sizeLimit', /quantities must match/],
  ['emptyDir medium', P('spec.volumes', [{ name: 'd', emptyDir: { medium: 'Disk' } }]), 'spec.volumes[0].emptyDir.medium', /^Unsupported value: "Disk"/],
];

describe('Pod validation', () => {
  test.each(INVALID.map(([d, o, f, m, t]) => [d, o, f, m, t ?? ''] as const))('%s', (_d, obj, field, msg, type) => {
    expectError(check(obj), field, msg, type || undefined);
  });

  test('mountPath required and unique, subPath relative', () => {
    const p = P('spec.volumes', [{ name: 'v', emptyDir: {} }]);
    p.spec.containers[0].volumeMounts = [{ name: 'v' }, { name: 'v', mountPath: '/a' }, { name: 'v', mountPath: '/a', subPath: '/abs' }];
    const errs = check(p);
    expectError(errs, 'spec.containers[0].volumeMounts[0].mountPath', 'Required value');
    expectError(errs, 'spec.containers[0].volumeMounts[2].mountPath', 'Invalid value: "/a": must be unique');
    expectError(errs, 'spec.containers[0].volumeMounts[2].subPath', 'Invalid value: "/abs": must be a relative path');
  });

  test('a fully featured pod is valid', () => {
    const p = pod();
    p.spec.volumes = [
      { name: 'cfg', configMap: { name: 'cfg', items: [{ key: 'a', path: 'a.conf' }] } },
      { name: 'sec', secret: { secretName: 's' } },
      { name: 'data', persistentVolumeClaim: { claimName: 'data' } },
      { name: 'scratch' },
      { name: 'host', hostPath: { path: '/var/log', type: 'Directory' } },
      { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
      { name: 'tok', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3600 } }, { configMap: { name: 'ca' } }] } },
    ];
    p.spec.initContainers = [{ name: 'init', image: 'busybox', command: ['sh', '-c', 'true'] }, { name: 'sidecar', image: 'envoy', restartPolicy: 'Always', readinessProbe: { tcpSocket: { port: 9901 } } }];
    Object.assign(p.spec.containers[0], {
      command: ['nginx'],
      args: ['-g', 'daemon off;'],
      ports: [{ containerPort: 80, name: 'http' }, { containerPort: 53, protocol: 'UDP' }],
      env: [
        { name: 'A', value: '1' },
        { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'ZONE', valueFrom: { fieldRef: { fieldPath: "metadata.labels['zone']" } } },
        { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } } },
        { name: 'PW', valueFrom: { secretKeyRef: { name: 's', key: 'password' } } },
      ],
      envFrom: [{ configMapRef: { name: 'cfg' } }, { prefix: 'S_', secretRef: { name: 's' } }],
      resources: { requests: { cpu: '100m', memory: '64Mi', 'example.com/foo': '1' }, limits: { cpu: 1, memory: '128Mi' } },
      volumeMounts: [
        { name: 'cfg', mountPath: '/etc/nginx/conf.d' },
        { name: 'data', mountPath: '/data', subPath: 'web' },
        { name: 'scratch', mountPath: '/tmp' },
      ],
      livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, initialDelaySeconds: 3 },
      readinessProbe: { tcpSocket: { port: 80 } },
      startupProbe: { exec: { command: ['cat', '/tmp/ready'] }, failureThreshold: 30 },
      lifecycle: { preStop: { exec: { command: ['nginx', '-s', 'quit'] } } },
      securityContext: { runAsUser: 1000, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
    });
    p.spec.nodeSelector = { 'kubernetes.io/os': 'linux' };
    p.spec.tolerations = [{ key: 'dedicated', operator: 'Equal', value: 'web', effect: 'NoSchedule' }, { operator: 'Exists' }];
    p.spec.affinity = { nodeAffinity: {} };
    p.spec.topologySpreadConstraints = [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'web' } } }];
    p.spec.dnsPolicy = 'None';
    p.spec.dnsConfig = { nameservers: ['1.1.1.1'], searches: ['svc.cluster.local'], options: [{ name: 'ndots', value: '2' }] };
    p.spec.hostAliases = [{ ip: '127.0.0.1', hostnames: ['foo.local'] }];
    p.spec.activeDeadlineSeconds = 60;
    expectValid(check(p));
  });

  test('every error is reported, not just the first', () => {
    const p = pod();
    p.spec.containers = [{ name: 'Bad_Name' }, { name: 'ok', image: 'x', ports: [{ containerPort: 0 }] }];
    p.spec.restartPolicy = 'Sometimes';
    const errs = check(p);
    expect(errs.length).toBeGreaterThanOrEqual(4);
    expectError(errs, 'spec.containers[0].name', /RFC 1123 label/);
    expectError(errs, 'spec.containers[0].image', 'Required value');
    expectError(errs, 'spec.containers[1].ports[0].containerPort', 'Required value');
    expectError(errs, 'spec.restartPolicy', /^Unsupported value/);
  });
});

describe('Pod update', () => {
  const FORBIDDEN = /^Forbidden: pod updates may not change fields other than `spec.containers\[\*\].image`/;

  test.each<[string, (p: Any) => void]>([
    ['container image', (p) => (p.spec.containers[0].image = 'nginx:1.26')],
    ['init container image', (p) => (p.spec.initContainers[0].image = 'busybox:2')],
    ['activeDeadlineSeconds set', (p) => (p.spec.activeDeadlineSeconds = 100)],
    ['toleration added', (p) => (p.spec.tolerations = [{ key: 'x', operator: 'Exists' }])],
    ['labels', (p) => (p.metadata.labels = { new: 'label' })],
  ])('allowed: %s', (_d, mutate) => {
    const old = withField(pod(), 'spec.initContainers', [{ name: 'init', image: 'busybox:1' }]);
    const n = clone(old);
    mutate(n);
    expectValid(check(n, old));
  });

  test.each<[string, (p: Any) => void]>([
    ['container command', (p) => (p.spec.containers[0].command = ['sh'])],
    ['container added', (p) => p.spec.containers.push({ name: 'two', image: 'x' })],
    ['restartPolicy', (p) => (p.spec.restartPolicy = 'Never')],
    ['volumes', (p) => (p.spec.volumes = [{ name: 'v', emptyDir: {} }])],
    ['resources', (p) => (p.spec.containers[0].resources = { limits: { cpu: '1' } })],
    ['user toleration removed', (p) => (p.spec.tolerations = [])],
    ['nodeName set by PUT (binding is a separate subresource)', (p) => (p.spec.nodeName = 'node-1')],
  ])('forbidden: %s', (_d, mutate) => {
    const old = withField(pod(), 'spec.tolerations', [{ key: 'dedicated', operator: 'Exists' }]);
    const n = clone(old);
    mutate(n);
    expectError(check(n, old), 'spec', FORBIDDEN, 'FieldValueForbidden');
  });

  test('nodeName cannot change once set', () => {
    const old = withField(pod(), 'spec.nodeName', 'node-1');
    expectError(check(withField(old, 'spec.nodeName', 'node-2'), old), 'spec', FORBIDDEN);
  });

  test('activeDeadlineSeconds may only decrease', () => {
    const old = withField(pod(), 'spec.activeDeadlineSeconds', 100);
    expectValid(check(withField(old, 'spec.activeDeadlineSeconds', 50), old));
    expectError(check(withField(old, 'spec.activeDeadlineSeconds', 200), old), 'spec.activeDeadlineSeconds', 'Invalid value: 200: must be less than or equal to previous value');
  });

  test('resubmitting the same manifest (defaults re-applied) is a no-op update', () => {
    const old = pod();
    const errs = check(pod(), old);
    if (errs.length) throw new Error(fmt(errs));
  });
});
