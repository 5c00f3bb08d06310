import { Any, check, clone, configMap, defaulted, expectError, expectValid, namespace, node, pv, pvc, secret, service, withField } from './helpers';

type Row = [string, Any, string, string | RegExp];
const S = (path: string, v: unknown) => withField(service(), path, v);

describe('Service', () => {
  const rows: Row[] = [
    ['type enum', S('spec.type', 'Internal'), 'spec.type', 'Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'],
    ['ports required', S('spec.ports', []), 'spec.ports', 'Required value'],
    ['ports missing', S('spec.ports', undefined), 'spec.ports', 'Required value'],
    ['port 0', S('spec.ports', [{ port: 0 }]), 'spec.ports[0].port', 'Invalid value: 0: must be between 1 and 65535, inclusive'],
    ['port too big', S('spec.ports', [{ port: 65536 }]), 'spec.ports[0].port', 'Invalid value: 65536: must be between 1 and 65535, inclusive'],
    ['port missing', S('spec.ports', [{ name: 'x' }]), 'spec.ports[0].port', 'Required value'],
    ['names required with >1 port', S('spec.ports', [{ port: 80 }, { port: 443, name: 'https' }]), 'spec.ports[0].name', 'Required value'],
    ['names unique', S('spec.ports', [{ port: 80, name: 'web' }, { port: 81, name: 'web' }]), 'spec.ports[1].name', 'Duplicate value: "web"'],
    ['name syntax', S('spec.ports', [{ port: 80, name: 'Web' }]), 'spec.ports[0].name', /RFC 1123 label/],
    ['protocol enum', S('spec.ports', [{ port: 80, protocol: 'ICMP' }]), 'spec.ports[0].protocol', 'Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"'],
    ['duplicate port/protocol', S('spec.ports', [{ port: 80, name: 'a' }, { port: 80, name: 'b' }]), 'spec.ports[1]', 'Duplicate value: {"port":80,"protocol":"TCP"}'],
    ['targetPort range', S('spec.ports', [{ port: 80, targetPort: 70000 }]), 'spec.ports[0].targetPort', 'Invalid value: 70000: must be between 1 and 65535, inclusive'],
    ['targetPort name', S('spec.ports', [{ port: 80, targetPort: 'Http_Port' }]), 'spec.ports[0].targetPort', /must contain only alpha-numeric/],
    ['nodePort range', withField(S('spec.type', 'NodePort'), 'spec.ports', [{ port: 80, nodePort: 8080 }]), 'spec.ports[0].nodePort', 'Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767'],
    ['nodePort on ClusterIP', S('spec.ports', [{ port: 80, nodePort: 30080 }]), 'spec.ports[0].nodePort', "Forbidden: may not be used when `type` is 'ClusterIP'"],
    ['nodePort duplicate', withField(S('spec.type', 'NodePort'), 'spec.ports', [{ port: 80, name: 'a', nodePort: 30080 }, { port: 81, name: 'b', nodePort: 30080 }]), 'spec.ports[1].nodePort', 'Duplicate value: 30080'],
    ['clusterIP syntax', S('spec.clusterIP', '10.0.0.300'), 'spec.clusterIP', 'Invalid value: "10.0.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'],
    ['clusterIP IPv6', S('spec.clusterIP', 'fd00::1'), 'spec.clusterIP', 'Invalid value: "fd00::1": must be a valid IPv4 address'],
    ['clusterIPs mismatch', withField(S('spec.clusterIP', '10.96.0.1'), 'spec.clusterIPs', ['10.96.0.2']), 'spec.clusterIPs', /first value must match `clusterIP`/],
    ['None on NodePort', withField(S('spec.type', 'NodePort'), 'spec.clusterIP', 'None'), 'spec.clusterIP', "Invalid value: \"None\": may not be set to 'None' for NodePort services"],
    ['ExternalName requires externalName', S('spec.type', 'ExternalName'), 'spec.externalName', 'Required value'],
    ['externalName syntax', withField(S('spec.type', 'ExternalName'), 'spec.externalName', 'Not A Host'), 'spec.externalName', /RFC 1123 subdomain/],
    ['ExternalName with clusterIP', withField(withField(S('spec.type', 'ExternalName'), 'spec.externalName', 'db.example.com'), 'spec.clusterIP', '10.0.0.1'), 'spec.clusterIP', 'Forbidden: may not be set for ExternalName services'],
    ['sessionAffinity enum', S('spec.sessionAffinity', 'Sticky'), 'spec.sessionAffinity', 'Unsupported value: "Sticky": supported values: "ClientIP", "None"'],
    ['affinity timeout', withField(S('spec.sessionAffinity', 'ClientIP'), 'spec.sessionAffinityConfig', { clientIP: { timeoutSeconds: 0 } }), 'spec.sessionAffinityConfig.clientIP.timeoutSeconds', 'Invalid value: 0: must be greater than 0 and less than 86400'],
    ['selector values', S('spec.selector', { app: 'a b' }), 'spec.selector', /a valid label must be/],
    ['externalTrafficPolicy', withField(S('spec.type', 'NodePort'), 'spec.externalTrafficPolicy', 'Global'), 'spec.externalTrafficPolicy', 'Unsupported value: "Global": supported values: "Cluster", "Local"'],
    ['ipFamilies', S('spec.ipFamilies', ['IPv5']), 'spec.ipFamilies[0]', 'Unsupported value: "IPv5": supported values: "IPv4", "IPv6"'],
    ['externalIPs', S('spec.externalIPs', ['x']), 'spec.externalIPs[0]', /must be a valid IP address/],
  ];
  test.each(rows)('%s', (_d, obj, field, msg) => {
    expectError(check(obj), field, msg);
  });

  test.each<[string, Any]>([
    ['headless without ports', withField(S('spec.clusterIP', 'None'), 'spec.ports', undefined)],
    ['ExternalName without ports', withField(withField(S('spec.type', 'ExternalName'), 'spec.externalName', 'db.example.com.'), 'spec.ports', undefined)],
    ['NodePort with nodePort', withField(S('spec.type', 'NodePort'), 'spec.ports', [{ port: 80, nodePort: 30080 }])],
    ['LoadBalancer', withField(S('spec.type', 'LoadBalancer'), 'spec.ports', [{ port: 80, name: 'http', targetPort: 'http' }, { port: 443, name: 'https' }])],
    ['explicit clusterIP', S('spec.clusterIP', '10.96.0.10')],
    ['same port, different protocols', S('spec.ports', [{ port: 53, name: 'dns', protocol: 'UDP' }, { port: 53, name: 'dns-tcp', protocol: 'TCP' }])],
  ])('valid: %s', (_d, obj) => {
    expectValid(check(obj));
  });

  test('update: clusterIP immutable once set, may be omitted, changes allowed for ExternalName', () => {
    const old = S('spec.clusterIP', '10.96.0.10');
    expectError(check(withField(old, 'spec.clusterIP', '10.96.0.11'), old), 'spec.clusterIP', 'Invalid value: "10.96.0.11": field is immutable');
    expectValid(check(clone(old), old));
    expectValid(check(withField(old, 'spec.clusterIP', undefined), old));
    const toExt = withField(withField(withField(old, 'spec.type', 'ExternalName'), 'spec.externalName', 'x.example.com'), 'spec.clusterIP', undefined);
    expectValid(check(toExt, old));
  });
});

describe('ConfigMap', () => {
  const rows: Row[] = [
    ['bad key', withField(configMap(), 'data', { 'a/b': 'x' }), 'data[a/b]', /^Invalid value: "a\/b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' \(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '\[-._a-zA-Z0-9\]\+'\)$/],
    ['dot key', withField(configMap(), 'data', { '..': 'x' }), 'data[..]', `Invalid value: "..": must not be '..'`],
    ['non-string value', withField(configMap(), 'data', { a: 1 }), 'data[a]', 'Invalid value: 1: must be of type string'],
    ['binaryData base64', withField(configMap(), 'binaryData', { b: '!!!' }), 'binaryData[b]', /illegal base64 data/],
    ['key in both', withField(configMap(), 'binaryData', { 'app.conf': 'eA==' }), 'binaryData[app.conf]', 'Invalid value: "app.conf": duplicate of key present in data'],
    ['too big', withField(configMap(), 'data', { big: 'x'.repeat(1024 * 1024 + 1) }), '', 'Too long: may not be more than 1048576 bytes'],
  ];
  test.each(rows)('%s', (_d, obj, field, msg) => {
    expectError(check(obj), field, msg);
  });

  test('immutable configmaps', () => {
    const old = withField(configMap(), 'immutable', true);
    expectError(check(withField(old, 'data.x', 'y'), old), 'data', 'Forbidden: field is immutable when `immutable` is set');
    expectError(check(withField(old, 'immutable', false), old), 'immutable', 'Forbidden: field is immutable when `immutable` is set');
    expectValid(check(withField(old, 'metadata.labels', { a: 'b' }), old));
    expectValid(check(withField(configMap(), 'data.x', 'y'), configMap()));
  });
});

describe('Secret', () => {
  const rows: Row[] = [
    ['bad base64', withField(secret(), 'data.password', 'not base64!'), 'data[password]', /^Invalid value: "<secret contents redacted>": illegal base64 data at input byte/],
    ['bad key', withField(secret(), 'data', { 'a b': 'eA==' }), 'data[a b]', /a valid config key/],
    ['tls requires keys', withField(withField(secret(), 'type', 'kubernetes.io/tls'), 'data', { 'tls.crt': 'eA==' }), 'data[tls.key]', 'Required value'],
    ['dockerconfigjson', withField(secret(), 'type', 'kubernetes.io/dockerconfigjson'), 'data[.dockerconfigjson]', 'Required value'],
    ['basic-auth', withField(withField(secret(), 'type', 'kubernetes.io/basic-auth'), 'data', {}), 'data[username]', 'Required value'],
    ['ssh-auth', withField(secret(), 'type', 'kubernetes.io/ssh-auth'), 'data[ssh-privatekey]', 'Required value'],
    ['sa token annotation', withField(secret(), 'type', 'kubernetes.io/service-account-token'), 'metadata.annotations[kubernetes.io/service-account.name]', 'Required value'],
    ['stringData junk value', withField(secret(), 'stringData', { a: 5 }), 'stringData[a]', /must be of type string/],
  ];
  test.each(rows)('%s', (_d, obj, field, msg) => {
    expectError(check(obj), field, msg);
  });

  test('tls via stringData is valid', () => {
    expectValid(check(withField(withField(secret(), 'type', 'kubernetes.io/tls'), 'stringData', { 'tls.crt': 'CERT', 'tls.key': 'KEY' })));
  });

  test('type is immutable; immutable secrets', () => {
    const old = defaulted(secret());
    expectError(check(withField(old, 'type', 'kubernetes.io/basic-auth'), old), 'type', 'Invalid value: "kubernetes.io/basic-auth": field is immutable');
    const frozen = withField(old, 'immutable', true);
    expectError(check(withField(frozen, 'data.password', 'eA=='), frozen), 'data', 'Forbidden: field is immutable when `immutable` is set');
  });

  test('secret values never appear in messages', () => {
    const errs = check(withField(secret(), 'data.password', 'super$ecret'));
    expect(JSON.stringify(errs)).not.toContain('super$ecret');
  });
});

describe('Namespace and Node', () => {
  test('namespace finalizers and phase', () => {
    expectError(check(withField(namespace(), 'spec.finalizers', ['custom'])), 'spec.finalizers[0]', 'Invalid value: "custom": name is neither a standard finalizer name nor is it fully qualified');
    expectValid(check(withField(namespace(), 'spec.finalizers', ['example.com/x'])));
    expectError(check(withField(namespace(), 'status.phase', 'Gone')), 'status.phase', 'Unsupported value: "Gone": supported values: "Active", "Terminating"');
  });

  const rows: Row[] = [
    ['taint key required', withField(node(), 'spec.taints', [{ effect: 'NoSchedule' }]), 'spec.taints[0].key', 'Required value'],
    ['taint effect required', withField(node(), 'spec.taints', [{ key: 'k' }]), 'spec.taints[0].effect', 'Required value'],
    ['taint effect enum', withField(node(), 'spec.taints', [{ key: 'k', effect: 'NoRun' }]), 'spec.taints[0].effect', 'Unsupported value: "NoRun": supported values: "NoExecute", "NoSchedule", "PreferNoSchedule"'],
    ['taint duplicate', withField(node(), 'spec.taints', [{ key: 'k', effect: 'NoSchedule' }, { key: 'k', value: 'v', effect: 'NoSchedule' }]), 'spec.taints[1]', 'Duplicate value: {"key":"k","effect":"NoSchedule"}'],
    ['podCIDR', withField(node(), 'spec.podCIDR', '10.0.0.0'), 'spec.podCIDR', /must be a valid CIDR value/],
    ['capacity quantity', withField(node(), 'status.capacity.cpu', 'many'), 'status.capacity[cpu]', /quantities must match/],
  ];
  test.each(rows)('%s', (_d, obj, field, msg) => {
    expectError(check(obj), field, msg);
  });

  test('node with taints is valid', () => {
    expectValid(check(withField(node(), 'spec.taints', [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }, { key: 'k', value: 'v', effect: 'NoExecute' }])));
  });
});

describe('PersistentVolumeClaim', () => {
  const rows: Row[] = [
    ['accessModes required', withField(pvc(), 'spec.accessModes', []), 'spec.accessModes', 'Required value: at least 1 access mode is required'],
    ['accessModes enum', withField(pvc(), 'spec.accessModes', ['ReadWriteSometimes']), 'spec.accessModes', /^Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"$/],
    ['storage required', withField(pvc(), 'spec.resources', {}), 'spec.resources[storage]', 'Required value'],
    ['storage positive', withField(pvc(), 'spec.resources.requests.storage', '0'), 'spec.resources[storage]', 'Invalid value: "0": must be greater than zero'],
    ['storage syntax', withField(pvc(), 'spec.resources.requests.storage', '1 GB'), 'spec.resources.requests[storage]', /quantities must match/],
    ['volumeMode', withField(pvc(), 'spec.volumeMode', 'Raw'), 'spec.volumeMode', 'Unsupported value: "Raw": supported values: "Block", "Filesystem"'],
    ['storageClassName', withField(pvc(), 'spec.storageClassName', 'Fast SSD'), 'spec.storageClassName', /RFC 1123 subdomain/],
  ];
  test.each(rows)('%s', (_d, obj, field, msg) => {
    expectError(check(obj), field, msg);
  });

  test('update: only resources.requests may grow; volumeName may be bound once', () => {
    const old = defaulted(pvc());
    expectValid(check(withField(old, 'spec.resources.requests.storage', '2Gi'), old));
    expectValid(check(withField(old, 'spec.volumeName', 'pv1'), old));
    expectError(check(withField(old, 'spec.accessModes', ['ReadWriteMany']), old), 'spec', 'Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims');
    expectError(check(withField(old, 'spec.resources.requests.storage', '500Mi'), old), 'spec.resources.requests.storage', 'Forbidden: field can not be less than previous value');
    const bound = withField(old, 'spec.volumeName', 'pv1');
    expectError(check(withField(bound, 'spec.volumeName', 'pv2'), bound), 'spec', /^Forbidden: spec is immutable/);
  });
});

describe('PersistentVolume', () => {
  const rows: Row[] = [
    ['capacity required', withField(pv(), 'spec.capacity', undefined), 'spec.capacity', 'Required value'],
    ['capacity storage only', withField(pv(), 'spec.capacity', { cpu: '1' }), 'spec.capacity', 'Unsupported value: {"cpu":"1"}: supported values: "storage"'],
    ['no source', withField(pv(), 'spec.hostPath', undefined), 'spec', 'Required value: must specify a volume type'],
    ['two sources', withField(pv(), 'spec.nfs', { server: 'nfs', path: '/x' }), 'spec.nfs', 'Forbidden: may not specify more than 1 volume type'],
    ['hostPath path', withField(pv(), 'spec.hostPath', {}), 'spec.hostPath.path', 'Required value'],
    ['local needs nodeAffinity', withField(withField(pv(), 'spec.hostPath', undefined), 'spec.local', { path: '/mnt/disk' }), 'spec.nodeAffinity', 'Required value: Local volume requires node affinity'],
    ['reclaimPolicy', withField(pv(), 'spec.persistentVolumeReclaimPolicy', 'Keep'), 'spec.persistentVolumeReclaimPolicy', 'Unsupported value: "Keep": supported values: "Delete", "Recycle", "Retain"'],
    ['accessModes', withField(pv(), 'spec.accessModes', undefined), 'spec.accessModes', 'Required value: at least 1 access mode is required'],
  ];
  test.each(rows)('%s', (_d, obj, field, msg) => {
    expectError(check(obj), field, msg);
  });

  test('update: source immutable, claimRef/reclaimPolicy mutable', () => {
    const old = defaulted(pv());
    expectError(check(withField(old, 'spec.hostPath.path', '/other'), old), 'spec.persistentvolumesource', 'Forbidden: spec.persistentvolumesource is immutable after creation');
    expectValid(check(withField(withField(old, 'spec.claimRef', { namespace: 'default', name: 'data' }), 'spec.persistentVolumeReclaimPolicy', 'Delete'), old));
  });
});
