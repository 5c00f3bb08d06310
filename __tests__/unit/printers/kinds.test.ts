import { RESOURCES, type ResourceInfo } from '../../../src/api/scheme';
import type { KObject } from '../../../src/api/types';
import { printTable } from '../../../src/apiserver/printers';

const NOW = new Date('2024-06-01T12:00:00Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
const ri = (kind: string): ResourceInfo => RESOURCES.find((r) => r.kind === kind)!;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function obj(kind: string, body: any = {}, meta: any = {}): KObject {
  const r = ri(kind);
  return {
    apiVersion: r.group ? `${r.group}/${r.version}` : r.version,
    kind,
    metadata: { name: 'x', creationTimestamp: ago(5 * 60_000 + 10_000), ...meta },
    ...body,
  };
}

/** Cells keyed by column name, for readable assertions. */
function row(kind: string, o: KObject): Record<string, unknown> {
  const t = printTable(ri(kind), [o], NOW);
  expect(t.rows[0].cells).toHaveLength(t.columnDefinitions.length);
  return Object.fromEntries(t.columnDefinitions.map((c, i) => [c.name, t.rows[0].cells[i]]));
}

function columns(kind: string): string[] {
  return printTable(ri(kind), [], NOW).columnDefinitions.map((c) => (c.priority ? `${c.name}*` : c.name));
}

describe('every served kind', () => {
  test.each(RESOURCES.map((r) => [r.kind, r] as const))('%s: a row per object, cells match columns, Name first', (_k, r) => {
    const o = obj(r.kind);
    const t = printTable(r, [o, { ...o, metadata: { ...o.metadata, name: 'y' } }], NOW);
    expect(t.rows).toHaveLength(2);
    for (const rw of t.rows) expect(rw.cells).toHaveLength(t.columnDefinitions.length);
    const nameIdx = t.columnDefinitions.findIndex((c) => c.format === 'name');
    expect(nameIdx).toBeGreaterThanOrEqual(0);
    expect(t.rows[1].cells[nameIdx]).toBe('y');
    for (const c of t.columnDefinitions) expect(['string', 'integer', 'boolean', 'number', 'date']).toContain(c.type);
  });

  test('unknown kinds fall back to Name and Age', () => {
    const r: ResourceInfo = { group: 'example.com', version: 'v1', resource: 'widgets', singular: 'widget', kind: 'Widget', namespaced: true, verbs: [], subresources: [] };
    const t = printTable(r, [{ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', creationTimestamp: ago(45 * 86400_000) } }], NOW);
    expect(t.columnDefinitions.map((c) => c.name)).toEqual(['Name', 'Age']);
    expect(t.rows[0].cells).toEqual(['w', '45d']);
  });

  test('missing creationTimestamp prints <unknown>', () => {
    expect(row('ConfigMap', obj('ConfigMap', {}, { creationTimestamp: undefined })).Age).toBe('<unknown>');
  });
});

describe('column layouts', () => {
  test.each<[string, string[]]>([
    ['Node', ['Name', 'Status', 'Roles', 'Age', 'Version', 'Internal-IP*', 'External-IP*', 'OS-Image*', 'Kernel-Version*', 'Container-Runtime*']],
    ['Service', ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', 'Selector*']],
    ['Deployment', ['Name', 'Ready', 'Up-to-date', 'Available', 'Age', 'Containers*', 'Images*', 'Selector*']],
    ['Job', ['Name', 'Status', 'Completions', 'Duration', 'Age', 'Containers*', 'Images*', 'Selector*']],
    ['CronJob', ['Name', 'Schedule', 'Timezone', 'Suspend', 'Active', 'Last Schedule', 'Age', 'Containers*', 'Images*', 'Selector*']],
    ['Event', ['Last Seen', 'Type', 'Reason', 'Object', 'Subobject*', 'Source*', 'Message', 'First Seen*', 'Count*', 'Name*']],
    ['StorageClass', ['Name', 'Provisioner', 'ReclaimPolicy', 'VolumeBindingMode', 'AllowVolumeExpansion', 'Age']],
    ['HorizontalPodAutoscaler', ['Name', 'Reference', 'Targets', 'MinPods', 'MaxPods', 'Replicas', 'Age']],
    ['Ingress', ['Name', 'Class', 'Hosts', 'Address', 'Ports', 'Age']],
    ['Lease', ['Name', 'Holder', 'Age']],
  ])('%s', (kind, want) => {
    expect(columns(kind)).toEqual(want);
  });
});

describe('Service', () => {
  const svc = (spec: object, status: object = {}) => obj('Service', { spec, status });
  test.each<[string, KObject, string, string]>([
    ['ClusterIP', svc({ type: 'ClusterIP', clusterIP: '10.96.0.10', ports: [{ port: 80, protocol: 'TCP' }] }), '<none>', '80/TCP'],
    ['ClusterIP with externalIPs', svc({ type: 'ClusterIP', externalIPs: ['1.2.3.4', '5.6.7.8'], ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] }), '1.2.3.4,5.6.7.8', '53/UDP,53/TCP'],
    ['NodePort', svc({ type: 'NodePort', ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }] }), '<none>', '80:30080/TCP'],
    ['LoadBalancer pending', svc({ type: 'LoadBalancer', ports: [{ port: 443, nodePort: 31443, protocol: 'TCP' }] }), '<pending>', '443:31443/TCP'],
    [
      'LoadBalancer assigned (sorted, ip over hostname)',
      svc({ type: 'LoadBalancer', ports: [] }, { loadBalancer: { ingress: [{ ip: '172.18.0.3' }, { hostname: 'lb.example.com' }, { ip: '172.18.0.2' }] } }),
      '172.18.0.2,172.18.0.3,lb.example.com',
      '<none>',
    ],
    ['LoadBalancer + externalIPs', svc({ type: 'LoadBalancer', externalIPs: ['9.9.9.9'] }, { loadBalancer: { ingress: [{ ip: '1.1.1.1' }] } }), '1.1.1.1,9.9.9.9', '<none>'],
    ['ExternalName', svc({ type: 'ExternalName', externalName: 'db.example.com' }), 'db.example.com', '<none>'],
    ['protocol defaults to TCP', svc({ type: 'ClusterIP', ports: [{ port: 8080 }] }), '<none>', '8080/TCP'],
  ])('%s', (_n, s, ext, ports) => {
    const r = row('Service', s);
    expect(r['External-IP']).toBe(ext);
    expect(r['Port(s)']).toBe(ports);
  });

  test('cluster IP, headless, selector and age', () => {
    const r = row('Service', svc({ type: 'ClusterIP', clusterIP: 'None', clusterIPs: ['None'], selector: { tier: 'web', app: 'nginx' } }));
    expect(r).toMatchObject({ Name: 'x', Type: 'ClusterIP', 'Cluster-IP': 'None', Age: '5m10s', Selector: 'app=nginx,tier=web' });
    expect(row('Service', svc({ type: 'ExternalName', externalName: 'a' }))['Cluster-IP']).toBe('<none>');
    expect(row('Service', svc({ type: 'ClusterIP' })).Selector).toBe('<none>');
  });
});

describe('Node', () => {
  const node = (labels: Record<string, string>, conditions: object[], spec: object = {}) =>
    obj('Node', { spec, status: { conditions, nodeInfo: { kubeletVersion: 'v1.30.0' }, addresses: [{ type: 'InternalIP', address: '172.18.0.2' }] } }, { labels });
  test.each<[string, KObject, string, string]>([
    ['Ready, no roles', node({}, [{ type: 'Ready', status: 'True' }]), 'Ready', '<none>'],
    ['NotReady', node({}, [{ type: 'Ready', status: 'False' }]), 'NotReady', '<none>'],
    ['Unknown ready status', node({}, [{ type: 'Ready', status: 'Unknown' }]), 'NotReady', '<none>'],
    ['no Ready condition', node({}, [{ type: 'MemoryPressure', status: 'False' }]), 'Unknown', '<none>'],
    ['cordoned', node({}, [{ type: 'Ready', status: 'True' }], { unschedulable: true }), 'Ready,SchedulingDisabled', '<none>'],
    [
      'roles sorted and de-duplicated',
      node({ 'node-role.kubernetes.io/worker': '', 'node-role.kubernetes.io/control-plane': '', 'kubernetes.io/role': 'worker', 'node-role.kubernetes.io/': '' }, [{ type: 'Ready', status: 'True' }]),
      'Ready',
      'control-plane,worker',
    ],
  ])('%s', (_n, n, status, roles) => {
    const r = row('Node', n);
    expect(r.Status).toBe(status);
    expect(r.Roles).toBe(roles);
  });

  test('wide cells', () => {
    const r = row('Node', node({}, []));
    expect(r).toMatchObject({ Version: 'v1.30.0', 'Internal-IP': '172.18.0.2', 'External-IP': '<none>', 'OS-Image': '<unknown>', 'Kernel-Version': '<unknown>', 'Container-Runtime': '<unknown>' });
  });
});

describe('Deployment', () => {
  const dep = (spec: object, status: object) =>
    obj('Deployment', {
      spec: { selector: { matchLabels: { app: 'web' } }, template: { spec: { containers: [{ name: 'nginx', image: 'nginx:1.25' }, { name: 'side', image: 'busybox' }] } }, ...spec },
      status,
    });
  test.each<[string, KObject, string, number, number]>([
    ['fresh', dep({ replicas: 3 }, {}), '0/3', 0, 0],
    ['rolling', dep({ replicas: 3 }, { readyReplicas: 2, updatedReplicas: 1, availableReplicas: 2 }), '2/3', 1, 2],
    ['ready', dep({ replicas: 2 }, { readyReplicas: 2, updatedReplicas: 2, availableReplicas: 2 }), '2/2', 2, 2],
    ['scaled to zero', dep({ replicas: 0 }, {}), '0/0', 0, 0],
    ['replicas defaults to 1', dep({}, { readyReplicas: 1 }), '1/1', 0, 0],
  ])('%s', (_n, d, ready, upToDate, available) => {
    const r = row('Deployment', d);
    expect(r).toMatchObject({ Ready: ready, 'Up-to-date': upToDate, Available: available, Age: '5m10s' });
  });

  test('wide: containers, images, selector', () => {
    const r = row('Deployment', dep({ selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'dev'] }] } }, {}));
    expect(r).toMatchObject({ Containers: 'nginx,side', Images: 'nginx:1.25,busybox', Selector: 'app=web,env in (dev,prod)' });
  });

  test('ReplicaSet, StatefulSet and DaemonSet counts', () => {
    const tmpl = { template: { spec: { containers: [{ name: 'c', image: 'i' }] } }, selector: { matchLabels: { a: 'b' } } };
    expect(row('ReplicaSet', obj('ReplicaSet', { spec: { replicas: 3, ...tmpl }, status: { replicas: 3, readyReplicas: 1 } }))).toMatchObject({ Desired: 3, Current: 3, Ready: 1, Selector: 'a=b' });
    expect(row('StatefulSet', obj('StatefulSet', { spec: { replicas: 2, ...tmpl }, status: { readyReplicas: 1 } }))).toMatchObject({ Ready: '1/2' });
    expect(
      row('DaemonSet', obj('DaemonSet', { spec: { ...tmpl }, status: { desiredNumberScheduled: 1, currentNumberScheduled: 1, numberReady: 1, updatedNumberScheduled: 1, numberAvailable: 0 } })),
    ).toMatchObject({ Desired: 1, Current: 1, Ready: 1, 'Up-to-date': 1, Available: 0, 'Node Selector': '<none>' });
  });
});

describe('Job', () => {
  const job = (spec: object, status: object, meta: object = {}) => obj('Job', { spec: { template: { spec: { containers: [] } }, ...spec }, status }, meta);
  const cond = (type: string, status = 'True') => ({ type, status });
  test.each<[string, KObject, string, string, string]>([
    ['not started', job({ completions: 1 }, {}), 'Running', '0/1', ''],
    ['running', job({ completions: 3 }, { startTime: ago(90_000), succeeded: 1, active: 1 }), 'Running', '1/3', '90s'],
    [
      'complete',
      job({ completions: 1 }, { startTime: ago(3600_000), completionTime: ago(3600_000 - 12_000), succeeded: 1, conditions: [cond('SuccessCriteriaMet'), cond('Complete')] }),
      'Complete',
      '1/1',
      '12s',
    ],
    ['failed', job({ completions: 1 }, { startTime: ago(600_000), conditions: [cond('FailureTarget'), cond('Failed')] }), 'Failed', '0/1', '10m'],
    ['failure target only', job({ completions: 1 }, { conditions: [cond('FailureTarget')] }), 'FailureTarget', '0/1', ''],
    ['suspended', job({ completions: 2, suspend: true }, { conditions: [cond('Suspended')] }), 'Suspended', '0/2', ''],
    ['condition False is ignored', job({ completions: 1 }, { conditions: [cond('Suspended', 'False')] }), 'Running', '0/1', ''],
    ['terminating', job({ completions: 1 }, { startTime: ago(5000) }, { deletionTimestamp: ago(1000) }), 'Terminating', '0/1', '5s'],
    ['work queue (parallelism, no completions)', job({ parallelism: 4 }, { succeeded: 2 }), 'Running', '2/1 of 4', ''],
    ['no completions, parallelism 1', job({ parallelism: 1 }, {}), 'Running', '0/1', ''],
  ])('%s', (_n, j, status, completions, duration) => {
    const r = row('Job', j);
    expect(r).toMatchObject({ Status: status, Completions: completions, Duration: duration });
  });

  test('CronJob cells', () => {
    const cj = obj('CronJob', {
      spec: { schedule: '*/5 * * * *', suspend: false, jobTemplate: { spec: { template: { spec: { containers: [{ name: 'c', image: 'busybox' }] } } } } },
      status: { active: [{ name: 'j1' }], lastScheduleTime: ago(65_000) },
    });
    expect(row('CronJob', cj)).toMatchObject({ Schedule: '*/5 * * * *', Timezone: '<none>', Suspend: 'False', Active: 1, 'Last Schedule': '65s', Images: 'busybox', Selector: '<none>' });
    expect(row('CronJob', obj('CronJob', { spec: { schedule: '@daily', timeZone: 'Etc/UTC' } }))).toMatchObject({ Timezone: 'Etc/UTC', Suspend: '<unset>', Active: 0, 'Last Schedule': '<none>' });
  });
});

describe('StorageClass', () => {
  test.each<[string, Record<string, string> | undefined, string]>([
    ['not default', undefined, 'standard'],
    ['GA annotation', { 'storageclass.kubernetes.io/is-default-class': 'true' }, 'standard (default)'],
    ['beta annotation', { 'storageclass.beta.kubernetes.io/is-default-class': 'true' }, 'standard (default)'],
    ['annotation not exactly "true"', { 'storageclass.kubernetes.io/is-default-class': 'True' }, 'standard'],
  ])('%s', (_n, annotations, name) => {
    const sc = obj('StorageClass', { provisioner: 'rancher.io/local-path' }, { name: 'standard', annotations });
    expect(row('StorageClass', sc)).toEqual({
      Name: name,
      Provisioner: 'rancher.io/local-path',
      ReclaimPolicy: 'Delete',
      VolumeBindingMode: 'Immediate',
      AllowVolumeExpansion: false,
      Age: '5m10s',
    });
  });
});

describe('other kinds', () => {
  test('Event (wide layout, count defaults to 1, series)', () => {
    const ev = obj('Event', {
      involvedObject: { kind: 'Pod', name: 'web-1', fieldPath: 'spec.containers{nginx}' },
      reason: 'Pulled',
      type: 'Normal',
      message: ' pulled image \n',
      source: { component: 'kubelet', host: 'node-1' },
      firstTimestamp: ago(600_000),
      lastTimestamp: ago(30_000),
    }, { name: 'web-1.17a' });
    expect(printTable(ri('Event'), [ev], NOW).rows[0].cells).toEqual(['30s', 'Normal', 'Pulled', 'pod/web-1', 'spec.containers{nginx}', 'kubelet, node-1', 'pulled image', '10m', 1, 'web-1.17a']);
    const newApi = obj('Event', { involvedObject: { kind: 'Node' }, eventTime: ago(5000), reportingComponent: 'scheduler', series: { count: 4, lastObservedTime: ago(2000) } });
    expect(row('Event', newApi)).toMatchObject({ 'Last Seen': '2s', 'First Seen': '5s', Object: 'node', Source: 'scheduler', Count: 4 });
  });

  test('ConfigMap, Secret, ServiceAccount, Namespace, Lease', () => {
    expect(row('ConfigMap', obj('ConfigMap', { data: { a: '1', b: '2' }, binaryData: { c: 'AA==' } })).Data).toBe(3);
    expect(row('Secret', obj('Secret', { type: 'Opaque', data: { a: 'YQ==' } }))).toMatchObject({ Type: 'Opaque', Data: 1 });
    expect(row('ServiceAccount', obj('ServiceAccount', {})).Secrets).toBe(0);
    expect(row('Namespace', obj('Namespace', { status: { phase: 'Active' } })).Status).toBe('Active');
    expect(row('Lease', obj('Lease', { spec: { holderIdentity: 'minictl-1' } })).Holder).toBe('minictl-1');
    expect(row('Lease', obj('Lease', { spec: {} })).Holder).toBe('');
  });

  test('Endpoints and EndpointSlice', () => {
    const ep = obj('Endpoints', {
      subsets: [{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }, { ip: 'fd00::3' }, { ip: '10.0.0.4' }], ports: [{ port: 80 }] }],
    });
    expect(row('Endpoints', ep).Endpoints).toBe('10.0.0.1:80,10.0.0.2:80,[fd00::3]:80 + 1 more...');
    expect(row('Endpoints', obj('Endpoints', {})).Endpoints).toBe('<none>');
    const slice = obj('EndpointSlice', { addressType: 'IPv4', ports: [{ port: 80 }, { name: 'http' }, {}], endpoints: [{ addresses: ['10.0.0.1'] }] });
    expect(row('EndpointSlice', slice)).toMatchObject({ AddressType: 'IPv4', Ports: '80,http,*', Endpoints: '10.0.0.1' });
    expect(row('EndpointSlice', obj('EndpointSlice', { addressType: 'IPv4' }))).toMatchObject({ Ports: '<unset>', Endpoints: '<unset>' });
  });

  test('PV and PVC', () => {
    const pv = obj('PersistentVolume', {
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteMany', 'ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', claimRef: { namespace: 'default', name: 'data' }, storageClassName: 'standard' },
      status: { phase: 'Bound' },
    });
    expect(row('PersistentVolume', pv)).toMatchObject({ Capacity: '1Gi', 'Access Modes': 'RWO,RWX', 'Reclaim Policy': 'Retain', Status: 'Bound', Claim: 'default/data', StorageClass: 'standard', VolumeAttributesClass: '<unset>', Reason: '', VolumeMode: '<unset>' });
    const pending = obj('PersistentVolumeClaim', { spec: { storageClassName: 'standard', resources: { requests: { storage: '1Gi' } } }, status: { phase: 'Pending' } });
    expect(row('PersistentVolumeClaim', pending)).toMatchObject({ Status: 'Pending', Volume: '', Capacity: '', 'Access Modes': '', StorageClass: 'standard' });
    const bound = obj('PersistentVolumeClaim', { spec: { volumeName: 'pv-1', volumeMode: 'Filesystem' }, status: { phase: 'Bound', capacity: { storage: '2Gi' }, accessModes: ['ReadWriteOnce'] } }, { deletionTimestamp: ago(1) });
    expect(row('PersistentVolumeClaim', bound)).toMatchObject({ Status: 'Terminating', Volume: 'pv-1', Capacity: '2Gi', 'Access Modes': 'RWO', VolumeMode: 'Filesystem' });
  });

  test('Ingress and IngressClass', () => {
    const ing = obj('Ingress', {
      spec: { ingressClassName: 'nginx', rules: [{ host: 'a.example.com' }, {}, { host: 'b.example.com' }, { host: 'c.example.com' }, { host: 'd.example.com' }], tls: [{ hosts: ['a.example.com'] }] },
      status: { loadBalancer: { ingress: [{ ip: '172.18.0.2' }] } },
    });
    expect(row('Ingress', ing)).toMatchObject({ Class: 'nginx', Hosts: 'a.example.com,b.example.com,c.example.com + 2 more...', Address: '172.18.0.2', Ports: '80, 443' });
    expect(row('Ingress', obj('Ingress', { spec: { rules: [{}] } }))).toMatchObject({ Class: '<none>', Hosts: '*', Address: '', Ports: '80' });
    const ic = obj('IngressClass', { spec: { controller: 'k8s.io/ingress-nginx', parameters: { apiGroup: 'k8s.example.com', kind: 'IngressParameters', name: 'p' } } });
    expect(row('IngressClass', ic)).toMatchObject({ Controller: 'k8s.io/ingress-nginx', Parameters: 'IngressParameters.k8s.example.com/p' });
  });

  test('PodDisruptionBudget, ControllerRevision', () => {
    expect(row('PodDisruptionBudget', obj('PodDisruptionBudget', { spec: { minAvailable: 2 }, status: { disruptionsAllowed: 1 } }))).toMatchObject({
      'Min Available': '2',
      'Max Unavailable': 'N/A',
      'Allowed Disruptions': 1,
    });
    expect(row('PodDisruptionBudget', obj('PodDisruptionBudget', { spec: { maxUnavailable: '25%' } }))).toMatchObject({ 'Min Available': 'N/A', 'Max Unavailable': '25%' });
    const cr = obj('ControllerRevision', { revision: 3 }, { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'fluentd', uid: 'u', controller: true }] });
    expect(row('ControllerRevision', cr)).toMatchObject({ Controller: 'daemonset.apps/fluentd', Revision: 3 });
    expect(row('ControllerRevision', obj('ControllerRevision', { revision: 1 })).Controller).toBe('<none>');
  });

  test('HorizontalPodAutoscaler targets', () => {
    const hpa = obj('HorizontalPodAutoscaler', {
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        minReplicas: 1,
        maxReplicas: 10,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } },
          { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '100Mi' } } },
          { type: 'Pods', pods: { metric: { name: 'qps' }, target: { type: 'AverageValue', averageValue: '1k' } } },
        ],
      },
      status: { currentReplicas: 2, currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 20, averageValue: '100m' } } }] },
    });
    expect(row('HorizontalPodAutoscaler', hpa)).toMatchObject({
      Reference: 'Deployment/web',
      Targets: 'cpu: 20%/50%, memory: <unknown>/100Mi + 1 more...',
      MinPods: '1',
      MaxPods: 10,
      Replicas: 2,
    });
    expect(row('HorizontalPodAutoscaler', obj('HorizontalPodAutoscaler', { spec: { scaleTargetRef: { kind: 'Deployment', name: 'w' }, maxReplicas: 3 } }))).toMatchObject({
      Targets: '<none>',
      MinPods: '<unset>',
      Replicas: 0,
    });
  });
});
