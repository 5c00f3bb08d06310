import { Any, META, check, clone, defaulted, expectError, expectValid, hpa, ingress, pdb, storageClass, withField } from './helpers';

type Row = [string, Any, string, string | RegExp];
const I = (path: string, v: unknown) => withField(ingress(), path, v);
const PATH0 = 'spec.rules[0].http.paths[0]';

describe('Ingress', () => {
  const rows: Row[] = [
    ['pathType required', I(`${PATH0}.pathType`, undefined), `${PATH0}.pathType`, 'Required value: pathType must be specified'],
    ['pathType enum', I(`${PATH0}.pathType`, 'Regex'), `${PATH0}.pathType`, 'Unsupported value: "Regex": supported values: "Exact", "ImplementationSpecific", "Prefix"'],
    ['absolute path', I(`${PATH0}.path`, 'api'), `${PATH0}.path`, 'Invalid value: "api": must be an absolute path'],
    ['path sequences', I(`${PATH0}.path`, '/a//b'), `${PATH0}.path`, `Invalid value: "/a//b": must not contain '//'`],
    ['backend required', I(`${PATH0}.backend`, undefined), `${PATH0}.backend`, 'Required value'],
    ['empty backend', I(`${PATH0}.backend`, {}), `${PATH0}.backend`, 'Invalid value: "": resource or service backend is required'],
    ['both backends', I(`${PATH0}.backend.resource`, { kind: 'Bucket', name: 'b' }), `${PATH0}.backend`, 'Invalid value: "": cannot set both resource and service backends'],
    ['service name', I(`${PATH0}.backend.service.name`, '1web'), `${PATH0}.backend.service.name`, /a DNS-1035 label/],
    ['service port required', I(`${PATH0}.backend.service.port`, undefined), `${PATH0}.backend.service.port`, 'Required value: port name or number is required'],
    ['port name and number', I(`${PATH0}.backend.service.port`, { name: 'http', number: 80 }), `${PATH0}.backend.service.port`, 'Invalid value: "": cannot set both port name & port number'],
    ['port number range', I(`${PATH0}.backend.service.port`, { number: 70000 }), `${PATH0}.backend.service.port.number`, 'Invalid value: 70000: must be between 1 and 65535, inclusive'],
    ['paths required', I('spec.rules[0].http.paths', []), 'spec.rules[0].http.paths', 'Required value'],
    ['host is not an IP', I('spec.rules[0].host', '10.0.0.1'), 'spec.rules[0].host', 'Invalid value: "10.0.0.1": must be a DNS name, not an IP address'],
    ['host syntax', I('spec.rules[0].host', 'Foo_bar.com'), 'spec.rules[0].host', /RFC 1123 subdomain/],
    ['wildcard host syntax', I('spec.rules[0].host', 'a.*.com'), 'spec.rules[0].host', /a wildcard DNS-1123 subdomain must start with/],
    ['rules or defaultBackend', I('spec.rules', []), 'spec', /either `defaultBackend` or `rules` must be specified/],
    ['ingressClassName', I('spec.ingressClassName', 'Nginx Class'), 'spec.ingressClassName', /RFC 1123 subdomain/],
    ['tls secretName', I('spec.tls', [{ hosts: ['example.com'], secretName: 'Bad_Secret' }]), 'spec.tls[0].secretName', /RFC 1123 subdomain/],
  ];
  test.each(rows)('%s', (_d, obj, field, msg) => {
    expectError(check(obj), field, msg);
  });

  test.each<[string, Any]>([
    ['wildcard host', I('spec.rules[0].host', '*.example.com')],
    ['defaultBackend only', withField(I('spec.rules', undefined), 'spec.defaultBackend', { service: { name: 'web', port: { name: 'http' } } })],
    ['ImplementationSpecific without path', I(PATH0, { pathType: 'ImplementationSpecific', backend: { service: { name: 'web', port: { number: 80 } } } })],
    ['resource backend', I(`${PATH0}.backend`, { resource: { apiGroup: 'k8s.example.com', kind: 'StorageBucket', name: 'static' } })],
    ['host-only rule', I('spec.rules', [{ host: 'a.example.com' }])],
  ])('valid: %s', (_d, obj) => {
    expectValid(check(obj));
  });
});

describe('IngressClass', () => {
  const ic = (spec: unknown): Any => ({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nginx', uid: 'u' }, spec });
  test('controller required and domain-prefixed; immutable', () => {
    expectError(check(ic({})), 'spec.controller', 'Required value');
    expectError(check(ic({ controller: 'nginx' })), 'spec.controller', 'Invalid value: "nginx": must be a domain-prefixed path (such as "acme.io/foo")');
    const old = ic({ controller: 'k8s.io/ingress-nginx' });
    expectError(check(ic({ controller: 'example.com/other' }), old), 'spec.controller', 'Invalid value: "example.com/other": field is immutable');
  });
});

describe('StorageClass', () => {
  test.each<Row>([
    ['provisioner required', withField(storageClass(), 'provisioner', undefined), 'provisioner', 'Required value'],
    ['provisioner syntax', withField(storageClass(), 'provisioner', 'a b'), 'provisioner', /name part must consist/],
    ['reclaimPolicy', withField(storageClass(), 'reclaimPolicy', 'Recycle'), 'reclaimPolicy', 'Unsupported value: "Recycle": supported values: "Delete", "Retain"'],
    ['volumeBindingMode', withField(storageClass(), 'volumeBindingMode', 'Lazy'), 'volumeBindingMode', 'Unsupported value: "Lazy": supported values: "Immediate", "WaitForFirstConsumer"'],
    ['parameters values', withField(storageClass(), 'parameters', { a: 1 }), 'parameters[a]', 'Invalid value: 1: must be of type string'],
  ])('%s', (_d, obj, field, msg) => {
    expectError(check(obj), field, msg);
  });

  test('update rules', () => {
    const old = defaulted(storageClass());
    expectError(check(withField(old, 'parameters', { a: 'b' }), old), 'parameters', 'Forbidden: updates to parameters are forbidden.');
    expectError(check(withField(old, 'provisioner', 'other.io/x'), old), 'provisioner', 'Forbidden: updates to provisioner are forbidden.');
    expectError(check(withField(old, 'reclaimPolicy', 'Retain'), old), 'reclaimPolicy', 'Forbidden: updates to reclaimPolicy are forbidden.');
    expectError(check(withField(old, 'volumeBindingMode', 'WaitForFirstConsumer'), old), 'volumeBindingMode', 'Invalid value: "WaitForFirstConsumer": field is immutable');
    expectValid(check(withField(old, 'allowVolumeExpansion', true), old));
  });
});

describe('HorizontalPodAutoscaler', () => {
  const H = (path: string, v: unknown) => withField(hpa(), path, v);
  test.each<Row>([
    ['scaleTargetRef required', H('spec.scaleTargetRef', undefined), 'spec.scaleTargetRef', 'Required value'],
    ['scaleTargetRef kind', H('spec.scaleTargetRef.kind', undefined), 'spec.scaleTargetRef.kind', 'Required value'],
    ['scaleTargetRef name', H('spec.scaleTargetRef.name', ''), 'spec.scaleTargetRef.name', 'Required value'],
    ['scaleTargetRef name syntax', H('spec.scaleTargetRef.name', 'a/b'), 'spec.scaleTargetRef.name', `Invalid value: "a/b": may not contain '/'`],
    ['maxReplicas required', H('spec.maxReplicas', undefined), 'spec.maxReplicas', 'Required value'],
    ['maxReplicas positive', H('spec.maxReplicas', 0), 'spec.maxReplicas', 'Invalid value: 0: must be greater than 0'],
    ['minReplicas >= 1', H('spec.minReplicas', 0), 'spec.minReplicas', 'Invalid value: 0: must be greater than or equal to 1'],
    ['min <= max', H('spec.minReplicas', 10), 'spec.maxReplicas', 'Invalid value: 5: must be greater than or equal to `minReplicas`'],
    ['metric type', H('spec.metrics', [{ type: 'Magic' }]), 'spec.metrics[0].type', /^Unsupported value: "Magic"/],
    ['metric source missing', H('spec.metrics', [{ type: 'Resource' }]), 'spec.metrics[0].resource', 'Required value: must populate information for the given metric source'],
    ['utilization positive', H('spec.metrics', [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 0 } } }]), 'spec.metrics[0].resource.target.averageUtilization', 'Invalid value: 0: must be greater than 0'],
    ['target type', H('spec.metrics', [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Percent' } } }]), 'spec.metrics[0].resource.target.type', /^Unsupported value: "Percent"/],
    ['policy value', H('spec.behavior', { scaleUp: { policies: [{ type: 'Pods', value: 0, periodSeconds: 15 }] } }), 'spec.behavior.scaleUp.policies[0].value', 'Invalid value: 0: must be greater than zero'],
    ['policy period', H('spec.behavior', { scaleDown: { policies: [{ type: 'Percent', value: 10, periodSeconds: 3600 }] } }), 'spec.behavior.scaleDown.policies[0].periodSeconds', 'Invalid value: 3600: must be less than or equal to 1800'],
    ['stabilization window', H('spec.behavior', { scaleDown: { stabilizationWindowSeconds: 4000 } }), 'spec.behavior.scaleDown.stabilizationWindowSeconds', 'Invalid value: 4000: must be less than or equal to 3600'],
    ['selectPolicy', H('spec.behavior', { scaleUp: { selectPolicy: 'Avg' } }), 'spec.behavior.scaleUp.selectPolicy', 'Unsupported value: "Avg": supported values: "Disabled", "Max", "Min"'],
  ])('%s', (_d, obj, field, msg) => {
    expectError(check(obj), field, msg);
  });

  test('memory AverageValue metric and behavior are valid', () => {
    const h = H('spec.metrics', [{ type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '500Mi' } } }]);
    h.spec.behavior = { scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } };
    h.spec.minReplicas = 2;
    expectValid(check(h));
  });
});

describe('PodDisruptionBudget', () => {
  test.each<Row>([
    ['both set', withField(pdb(), 'spec.maxUnavailable', 1), 'spec', /minAvailable and maxUnavailable cannot be both set$/],
    ['negative', withField(pdb(), 'spec.minAvailable', -1), 'spec.minAvailable', 'Invalid value: -1: must be greater than or equal to 0'],
    ['bad percent', withField(pdb(), 'spec.minAvailable', '50'), 'spec.minAvailable', /a valid percent string/],
    ['over 100%', withField(withField(pdb(), 'spec.minAvailable', undefined), 'spec.maxUnavailable', '120%'), 'spec.maxUnavailable', 'Invalid value: "120%": must not be greater than 100%'],
    ['selector syntax', withField(pdb(), 'spec.selector', { matchLabels: { 'a b': 'c' } }), 'spec.selector.matchLabels', /name part must consist/],
    ['eviction policy', withField(pdb(), 'spec.unhealthyPodEvictionPolicy', 'Never'), 'spec.unhealthyPodEvictionPolicy', 'Unsupported value: "Never": supported values: "AlwaysAllow", "IfHealthyBudget"'],
  ])('%s', (_d, obj, field, msg) => {
    expectError(check(obj), field, msg);
  });

  test('percent maxUnavailable is valid', () => {
    expectValid(check(withField(withField(pdb(), 'spec.minAvailable', undefined), 'spec.maxUnavailable', '25%')));
  });
});

describe('Lease, EndpointSlice, Endpoints, ControllerRevision, Event', () => {
  test('lease duration positive', () => {
    const l = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: META('lock'), spec: { leaseDurationSeconds: 0 } };
    expectError(check(l), 'spec.leaseDurationSeconds', 'Invalid value: 0: must be greater than 0');
  });

  test('endpointslice', () => {
    const es: Any = { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: META('s'), addressType: 'IPv4', endpoints: [{ addresses: ['fd00::1'] }, { addresses: [] }] };
    const errs = check(es);
    expectError(errs, 'endpoints[0].addresses[0]', 'Invalid value: "fd00::1": must be a valid IPv4 address');
    expectError(errs, 'endpoints[1].addresses', 'Required value: must contain at least 1 address');
    expectError(check({ ...es, addressType: 'IPX', endpoints: [] }), 'addressType', /^Unsupported value: "IPX"/);
    const old = { ...es, endpoints: [] };
    expectError(check({ ...old, addressType: 'IPv6' }, old), 'addressType', 'Invalid value: "IPv6": field is immutable');
  });

  test('endpoints', () => {
    const ep: Any = { apiVersion: 'v1', kind: 'Endpoints', metadata: META('web'), subsets: [{ addresses: [{ ip: 'nope' }], ports: [{ port: 0 }] }] };
    const errs = check(ep);
    expectError(errs, 'subsets[0].addresses[0].ip', /must be a valid IP address/);
    expectError(errs, 'subsets[0].ports[0].port', 'Invalid value: 0: must be between 1 and 65535, inclusive');
  });

  test('controllerrevision', () => {
    const cr: Any = { apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: META('r'), data: { a: 1 } };
    expectError(check(cr), 'revision', 'Required value');
    const ok = { ...cr, revision: 2 };
    expectError(check({ ...ok, data: { a: 2 } }, ok), 'data', /field is immutable$/);
  });

  test('event namespace must match involvedObject', () => {
    const ev: Any = { apiVersion: 'v1', kind: 'Event', metadata: META('x.1'), involvedObject: { kind: 'Pod', name: 'p', namespace: 'other' } };
    expectError(check(ev), 'involvedObject.namespace', 'Invalid value: "other": does not match event.namespace');
    expectValid(check(clone({ ...ev, involvedObject: { kind: 'Node', name: 'n' } })));
  });
});
