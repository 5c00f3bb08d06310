import { computePodRequests, newPodInfo, nodeSelectorTermMatches, compileNodeSelectorTerm, toleratesTaint, findUntoleratedTaint, affinityTermMatches, normalizedImageName } from '../../../src/scheduler/pod-info';
import { pod, req } from './helpers';

describe('computePodRequests', () => {
  test.each([
    ['sum of containers', { containers: [req('100m', '64Mi'), req('200m', '64Mi')] }, { milliCPU: 300, memory: 128 * 2 ** 20 }],
    ['init container larger than the sum wins', { containers: [req('1', '1G'), req('1', '1G')], initContainers: [req('3', '1G'), req('2', '3G')] }, { milliCPU: 3000, memory: 3e9 }],
    ['sidecars add to the sum and to later init steps', { containers: [req('1')], initContainers: [{ ...req('500m'), restartPolicy: 'Always' }, req('2')] }, { milliCPU: 2500, memory: 0 }],
    ['overhead is added', { containers: [req('100m')], overhead: { cpu: '250m' } }, { milliCPU: 350, memory: 0 }],
    ['fractional millicores round up', { containers: [req('0.0001')] }, { milliCPU: 1, memory: 0 }],
  ])('%s', (_n, spec, want) => {
    const r = computePodRequests(spec as never);
    expect(r.milliCPU).toBe(want.milliCPU);
    expect(r.memory).toBe(want.memory);
  });

  test('non-zero defaults apply to absent cpu/memory only', () => {
    const r = computePodRequests({ containers: [{ name: 'a' }, req('0', undefined), req(undefined, '1Gi')] }, true);
    expect(r.milliCPU).toBe(100 + 0 + 100);
    expect(r.memory).toBe(200 * 2 ** 20 * 2 + 2 ** 30);
  });

  test('extended resources are scalars', () => {
    const r = computePodRequests({ containers: [req('1', undefined, { 'example.com/gpu': '2' })] });
    expect(r.scalar?.get('example.com/gpu')).toBe(2);
  });
});

describe('node selector terms', () => {
  const labels = { zone: 'a', gen: '5', disk: 'ssd' };
  test.each([
    ['In', [{ key: 'zone', operator: 'In', values: ['a', 'b'] }], true],
    ['In miss', [{ key: 'zone', operator: 'In', values: ['c'] }], false],
    ['NotIn', [{ key: 'zone', operator: 'NotIn', values: ['c'] }], true],
    ['NotIn absent label matches', [{ key: 'gpu', operator: 'NotIn', values: ['x'] }], true],
    ['Exists', [{ key: 'disk', operator: 'Exists' }], true],
    ['DoesNotExist', [{ key: 'disk', operator: 'DoesNotExist' }], false],
    ['Gt', [{ key: 'gen', operator: 'Gt', values: ['4'] }], true],
    ['Gt equal', [{ key: 'gen', operator: 'Gt', values: ['5'] }], false],
    ['Lt', [{ key: 'gen', operator: 'Lt', values: ['6'] }], true],
    ['Lt on a non-integer label', [{ key: 'zone', operator: 'Lt', values: ['6'] }], false],
    ['Gt on an absent label', [{ key: 'nope', operator: 'Gt', values: ['1'] }], false],
    ['all expressions must hold', [{ key: 'zone', operator: 'In', values: ['a'] }, { key: 'disk', operator: 'In', values: ['hdd'] }], false],
  ])('%s', (_n, exprs, want) => {
    expect(nodeSelectorTermMatches(compileNodeSelectorTerm({ matchExpressions: exprs }), labels, 'n1')).toBe(want);
  });

  test('matchFields metadata.name; an empty term matches nothing', () => {
    expect(nodeSelectorTermMatches(compileNodeSelectorTerm({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }), {}, 'n1')).toBe(true);
    expect(nodeSelectorTermMatches(compileNodeSelectorTerm({ matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['n1'] }] }), {}, 'n1')).toBe(false);
    expect(nodeSelectorTermMatches(compileNodeSelectorTerm({}), labels, 'n1')).toBe(false);
  });
});

describe('tolerations', () => {
  const t = { key: 'k', value: 'v', effect: 'NoSchedule' };
  test.each([
    [{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule' }, true],
    [{ key: 'k', value: 'v' }, true],
    [{ key: 'k', operator: 'Exists' }, true],
    [{ operator: 'Exists' }, true],
    [{ key: 'k', operator: 'Equal', value: 'w' }, false],
    [{ key: 'k', operator: 'Exists', effect: 'NoExecute' }, false],
    [{ key: 'other', operator: 'Exists' }, false],
  ])('%j tolerates k=v:NoSchedule: %s', (tol, want) => {
    expect(toleratesTaint(tol, t)).toBe(want);
  });

  test('the first untolerated NoSchedule/NoExecute taint in node order; PreferNoSchedule ignored', () => {
    const taints = [
      { key: 'soft', effect: 'PreferNoSchedule' },
      { key: 'a', effect: 'NoSchedule' },
      { key: 'b', value: 'x', effect: 'NoExecute' },
    ];
    expect(findUntoleratedTaint(taints, [])).toEqual({ key: 'a', effect: 'NoSchedule' });
    expect(findUntoleratedTaint(taints, [{ key: 'a', operator: 'Exists' }])).toEqual({ key: 'b', value: 'x', effect: 'NoExecute' });
    expect(findUntoleratedTaint(taints, [{ operator: 'Exists' }])).toBeUndefined();
  });
});

describe('pod affinity terms', () => {
  const nsLabels = (ns: string) => ({ team: ns === 'prod' ? 'a' : 'b' });
  const other = (ns: string, labels: Record<string, string>) => ({ namespace: ns, labels });
  const termOf = (t: Record<string, unknown>) =>
    newPodInfo(pod('p', { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'zone', ...t }] } } }, { labels: { app: 'me', ver: '1' } })).requiredAffinityTerms[0];

  test('default namespace is the pod\'s own', () => {
    const t = termOf({ labelSelector: { matchLabels: { app: 'db' } } });
    expect(affinityTermMatches(t, other('default', { app: 'db' }), nsLabels)).toBe(true);
    expect(affinityTermMatches(t, other('prod', { app: 'db' }), nsLabels)).toBe(false);
  });
  test('namespaces list and namespaceSelector', () => {
    expect(affinityTermMatches(termOf({ labelSelector: {}, namespaces: ['prod'] }), other('prod', {}), nsLabels)).toBe(true);
    expect(affinityTermMatches(termOf({ labelSelector: {}, namespaceSelector: { matchLabels: { team: 'a' } } }), other('prod', {}), nsLabels)).toBe(true);
    expect(affinityTermMatches(termOf({ labelSelector: {}, namespaceSelector: { matchLabels: { team: 'a' } } }), other('dev', {}), nsLabels)).toBe(false);
    expect(affinityTermMatches(termOf({ labelSelector: {}, namespaceSelector: {} }), other('dev', {}), nsLabels)).toBe(true);
  });
  test('a nil labelSelector matches nothing; matchLabelKeys and mismatchLabelKeys use the pod\'s values', () => {
    expect(affinityTermMatches(termOf({}), other('default', {}), nsLabels)).toBe(false);
    const t = termOf({ labelSelector: { matchLabels: { app: 'me' } }, matchLabelKeys: ['ver'] });
    expect(affinityTermMatches(t, other('default', { app: 'me', ver: '1' }), nsLabels)).toBe(true);
    expect(affinityTermMatches(t, other('default', { app: 'me', ver: '2' }), nsLabels)).toBe(false);
    const m = termOf({ labelSelector: { matchLabels: { app: 'me' } }, mismatchLabelKeys: ['ver'] });
    expect(affinityTermMatches(m, other('default', { app: 'me', ver: '2' }), nsLabels)).toBe(true);
  });
});

describe('newPodInfo', () => {
  test('reads priority, host ports (defaults 0.0.0.0/TCP), images, gates', () => {
    const i = newPodInfo(
      pod('p', {
        priority: 1000,
        schedulingGates: [{ name: 'g' }],
        containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 53, hostPort: 53, protocol: 'UDP', hostIP: '127.0.0.1' }, { containerPort: 9 }] }],
      }),
    );
    expect(i.priority).toBe(1000);
    expect(i.gated).toBe(true);
    expect(i.hostPorts).toEqual([
      { ip: '0.0.0.0', protocol: 'TCP', port: 8080 },
      { ip: '127.0.0.1', protocol: 'UDP', port: 53 },
    ]);
    expect(i.images).toEqual(['nginx']);
    expect(normalizedImageName('nginx')).toBe('nginx:latest');
    expect(normalizedImageName('reg:5000/x/nginx')).toBe('reg:5000/x/nginx:latest');
    expect(normalizedImageName('nginx:1.25')).toBe('nginx:1.25');
  });
});
