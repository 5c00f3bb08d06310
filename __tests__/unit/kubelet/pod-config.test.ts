import { buildContainerConfig, containerHash, imageRegistry, podDnsConfig, portMappings, pullAuth, CONTAINER_HASH_LABEL } from '../../../src/kubelet/pod-config';
import { ContainerConfigError } from '../../../src/kubelet/env';
import type { KObject } from '../../../src/api/types';

const pod = (spec: Record<string, unknown>, ns = 'team'): KObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: ns, uid: 'u' }, spec });
const cluster = { servers: ['10.96.0.10'] };

describe('podDnsConfig', () => {
  test.each([
    ['ClusterFirst with cluster DNS', { dnsPolicy: 'ClusterFirst' }, cluster, { servers: ['10.96.0.10'], searches: ['team.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], options: ['ndots:5'] }],
    ['default policy is ClusterFirst', {}, cluster, { servers: ['10.96.0.10'], searches: ['team.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], options: ['ndots:5'] }],
    ['ClusterFirst without cluster DNS falls back to Default', { dnsPolicy: 'ClusterFirst' }, undefined, undefined],
    ['ClusterFirst on hostNetwork is Default', { dnsPolicy: 'ClusterFirst', hostNetwork: true }, cluster, undefined],
    ['ClusterFirstWithHostNet', { dnsPolicy: 'ClusterFirstWithHostNet', hostNetwork: true }, cluster, { servers: ['10.96.0.10'], searches: ['team.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], options: ['ndots:5'] }],
    ['Default', { dnsPolicy: 'Default' }, cluster, undefined],
    ['Default + dnsConfig', { dnsPolicy: 'Default', dnsConfig: { searches: ['corp'] } }, cluster, { searches: ['corp'] }],
    [
      'None with dnsConfig',
      { dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], searches: ['a.example'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } },
      cluster,
      { servers: ['1.1.1.1'], searches: ['a.example'], options: ['ndots:2', 'edns0'] },
    ],
    [
      'ClusterFirst merged with dnsConfig (dedupe, option override)',
      { dnsConfig: { nameservers: ['10.96.0.10', '8.8.8.8'], searches: ['cluster.local', 'corp'], options: [{ name: 'ndots', value: '1' }] } },
      { servers: ['10.96.0.10'], searches: ['extra'], options: ['timeout:2'] },
      { servers: ['10.96.0.10', '8.8.8.8'], searches: ['team.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'extra', 'corp'], options: ['timeout:2', 'ndots:1'] },
    ],
    ['at most 3 nameservers', { dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1', '2.2.2.2', '3.3.3.3', '4.4.4.4'] } }, undefined, { servers: ['1.1.1.1', '2.2.2.2', '3.3.3.3'] }],
  ])('%s', (_n, spec, c, want) => {
    expect(podDnsConfig(pod(spec), c)).toEqual(want);
  });
});

test('portMappings: hostPorts of every container, on 127.0.0.1 by default', () => {
  const p = pod({
    initContainers: [{ name: 'i', ports: [{ containerPort: 1, hostPort: 1001 }] }],
    containers: [{ name: 'a', ports: [{ containerPort: 80 }, { containerPort: 53, hostPort: 5353, protocol: 'UDP', hostIP: '0.0.0.0' }] }],
  });
  expect(portMappings(p)).toEqual([
    { containerPort: 1, hostPort: 1001, protocol: 'TCP', hostIP: '127.0.0.1' },
    { containerPort: 53, hostPort: 5353, protocol: 'UDP', hostIP: '0.0.0.0' },
  ]);
});

describe('image pull credentials', () => {
  test.each([
    ['busybox', 'docker.io'],
    ['library/busybox:1', 'docker.io'],
    ['registry.example.com/app:1', 'registry.example.com'],
    ['localhost:5000/app', 'localhost:5000'],
    ['localhost/app', 'localhost'],
    ['user/app', 'docker.io'],
  ])('registry of %s is %s', (image, want) => {
    expect(imageRegistry(image)).toBe(want);
  });

  const dockerconfig = (auths: Record<string, unknown>): KObject => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's' },
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': Buffer.from(JSON.stringify({ auths })).toString('base64') },
  });

  test('matching registry with username/password or auth', () => {
    const s = dockerconfig({ 'https://localhost:5000/v1/': { auth: Buffer.from('u:p:w').toString('base64') }, 'index.docker.io': { username: 'hub', password: 'x' } });
    expect(pullAuth('localhost:5000/app:1', [s])).toEqual({ serveraddress: 'localhost:5000', username: 'u', password: 'p:w' });
    expect(pullAuth('busybox', [s])).toEqual({ serveraddress: 'index.docker.io', username: 'hub', password: 'x' });
    expect(pullAuth('other.example/app', [s])).toBeUndefined();
  });
});

describe('buildContainerConfig', () => {
  const base = { env: [{ name: 'A', value: 'a' }], mounts: [], tmpfs: [], restartCount: 2, allowPrivileged: false };

  test('security context (pod and container), resources, command/args expansion, labels', () => {
    const p = pod({ securityContext: { runAsUser: 1000, runAsGroup: 3000, supplementalGroups: [4], fsGroup: 2000 } });
    const c = {
      name: 'app',
      image: 'img:1',
      command: ['run', '$(A)'],
      args: ['--x=$(A)'],
      workingDir: '/w',
      securityContext: { runAsUser: 1001, readOnlyRootFilesystem: true, capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] } },
      resources: { limits: { cpu: '1500m', memory: '128Mi' }, requests: { cpu: '0.5' } },
      tty: true,
      stdin: true,
    };
    const cfg = buildContainerConfig({ ...base, pod: p, container: c });
    expect(cfg).toMatchObject({
      name: 'app',
      image: 'img:1',
      command: ['run', 'a'],
      args: ['--x=a'],
      workingDir: '/w',
      runAsUser: 1001,
      runAsGroup: 3000,
      supplementalGroups: [4, 2000],
      readOnlyRootFilesystem: true,
      capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] },
      resources: { cpuLimitMillis: 1500, cpuRequestMillis: 500, memoryLimitBytes: 128 * 1024 * 1024 },
      restartCount: 2,
      tty: true,
      stdin: true,
    });
    expect(cfg.labels?.[CONTAINER_HASH_LABEL]).toBe(containerHash(c));
    expect(cfg.privileged).toBeUndefined();
  });

  test('privileged is refused unless allowed; runAsNonRoot with uid 0 is refused', () => {
    const priv = { name: 'app', image: 'i', securityContext: { privileged: true } };
    expect(() => buildContainerConfig({ ...base, pod: pod({}), container: priv })).toThrow(ContainerConfigError);
    expect(buildContainerConfig({ ...base, allowPrivileged: true, pod: pod({}), container: priv }).privileged).toBe(true);
    expect(() => buildContainerConfig({ ...base, pod: pod({ securityContext: { runAsNonRoot: true } }), container: { name: 'a', image: 'i', securityContext: { runAsUser: 0 } } })).toThrow(/runAsUser breaks non-root policy/);
  });

  test('containerHash is stable across key order and changes with the image', () => {
    expect(containerHash({ name: 'a', image: 'x', env: [{ name: 'A', value: '1' }] })).toBe(containerHash({ env: [{ value: '1', name: 'A' }], image: 'x', name: 'a' }));
    expect(containerHash({ name: 'a', image: 'x' })).not.toBe(containerHash({ name: 'a', image: 'y' }));
  });
});
