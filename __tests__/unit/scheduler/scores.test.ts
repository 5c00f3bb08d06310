import { Code, CycleState, defaultNormalizeScore } from '../../../src/scheduler/framework';
import { NodeResourcesBalancedAllocation, NodeResourcesFit } from '../../../src/scheduler/plugins/node-resources';
import { TaintToleration } from '../../../src/scheduler/plugins/taint-toleration';
import { NodeAffinity } from '../../../src/scheduler/plugins/node-affinity';
import { ImageLocality } from '../../../src/scheduler/plugins/image-locality';
import { cluster, info, node, nodeInfo, pod, req } from './helpers';

describe('NodeResourcesFit score (LeastAllocated)', () => {
  test.each([
    // node 4 cpu / 8Gi; pod 1 cpu / 2Gi on an empty node: cpu (4-1)/4 = 75, mem (8-2)/8 = 75
    ['empty node', [], [req('1', '2Gi')], 75],
    // existing 2 cpu / 4Gi: cpu (4-3)/4=25, mem (8-6)/8=25
    ['half full', [[req('2', '4Gi')]], [req('1', '2Gi')], 25],
    // best-effort pod counts 100m / 200Mi: cpu 3900/4000 → 97, mem (8192-200)/8192 → 97
    ['best-effort uses non-zero defaults', [], [{ name: 'c', image: 'x' }], 97],
    // the bound pod has no memory request, so its 200Mi default counts: mem (8192-200-2048)/8192 → 72
    ['over capacity scores 0 for that resource', [[req('4')]], [req('1', '2Gi')], Math.trunc((0 + 72) / 2)],
  ])('%s', (_n, bound, containers, want) => {
    const ni = nodeInfo(node('n', { cpu: '4', memory: '8Gi' }), (bound as never[][]).map((c, i) => pod('b' + i, { containers: c })));
    expect(new NodeResourcesFit().score(new CycleState(), info(pod('p', { containers })), ni)).toBe(want);
  });
});

describe('NodeResourcesBalancedAllocation', () => {
  test.each([
    ['balanced', [req('2', '4Gi')], 100],
    ['cpu-heavy', [req('4', '0')], 50],
    ['skewed', [req('2', '0')], 75],
  ])('%s', (_n, containers, want) => {
    const ni = nodeInfo(node('n', { cpu: '4', memory: '8Gi' }));
    expect(new NodeResourcesBalancedAllocation().score(new CycleState(), info(pod('p', { containers })), ni)).toBe(want);
  });
  test('skipped for best-effort pods', () => {
    expect(new NodeResourcesBalancedAllocation().preScore(new CycleState(), info(pod('p')))?.code).toBe(Code.Skip);
  });
});

describe('defaultNormalizeScore', () => {
  test.each([
    [[0, 5, 10], false, [0, 50, 100]],
    [[0, 5, 10], true, [100, 50, 0]],
    [[0, 0], true, [100, 100]],
    [[0, 0], false, [0, 0]],
  ])('%j reverse=%s', (input, rev, want) => {
    const s = [...input];
    defaultNormalizeScore(s, rev);
    expect(s).toEqual(want);
  });
});

describe('TaintToleration score', () => {
  test('fewer untolerated PreferNoSchedule taints is better', () => {
    const pl = new TaintToleration();
    const nodes = [
      nodeInfo(node('clean')),
      nodeInfo(node('one', { taints: [{ key: 'a', effect: 'PreferNoSchedule' }] })),
      nodeInfo(node('two', { taints: [{ key: 'a', effect: 'PreferNoSchedule' }, { key: 'b', effect: 'PreferNoSchedule' }] })),
    ];
    const run = (tolerations: unknown[]) => {
      const s = new CycleState();
      const p = info(pod('p', { tolerations }));
      expect(pl.preScore(s, p, nodes)).toBeNull();
      const sc = nodes.map((n) => pl.score(s, p, n));
      pl.normalizeScore(s, p, sc);
      return sc;
    };
    expect(run([])).toEqual([100, 50, 0]);
    expect(run([{ key: 'a', operator: 'Exists', effect: 'PreferNoSchedule' }])).toEqual([100, 100, 0]);
    // nothing to tell apart without PreferNoSchedule taints
    expect(pl.preScore(new CycleState(), info(pod('p')), [nodes[0]])?.code).toBe(Code.Skip);
  });
});

describe('NodeAffinity score', () => {
  test('sums the weights of matching preferred terms', () => {
    const pl = new NodeAffinity();
    const nodes = [nodeInfo(node('a', { labels: { zone: 'a', disk: 'ssd' } })), nodeInfo(node('b', { labels: { zone: 'b', disk: 'ssd' } })), nodeInfo(node('c', { labels: { zone: 'c' } }))];
    const p = info(
      pod('p', {
        affinity: {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight: 80, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] } },
              { weight: 20, preference: { matchExpressions: [{ key: 'disk', operator: 'Exists' }] } },
            ],
          },
        },
      }),
    );
    const s = new CycleState();
    expect(pl.preScore(s, p)).toBeNull();
    const sc = nodes.map((n) => pl.score(s, p, n));
    expect(sc).toEqual([100, 20, 0]);
    pl.normalizeScore(s, p, sc);
    expect(sc).toEqual([100, 20, 0]);
  });
});

describe('ImageLocality', () => {
  test('prefers nodes that have the image', () => {
    const MB = 1024 * 1024;
    const h = cluster([node('has', { images: [{ names: ['docker.io/library/nginx:1.25', 'nginx:1.25'], sizeBytes: 500 * MB }] }), node('not')]);
    const pl = new ImageLocality(h.handle);
    const p = info(pod('p', { containers: [{ name: 'c', image: 'nginx:1.25' }] }));
    const s = new CycleState();
    expect(pl.preScore(s, p)).toBeNull();
    const [a, b] = h.handle.nodeInfos().map((n) => pl.score(s, p, n));
    expect(a).toBeGreaterThan(b);
    expect(b).toBe(0);
    expect(pl.preScore(new CycleState(), info(pod('q', { containers: [{ name: 'c', image: 'redis' }] })))?.code).toBe(Code.Skip);
  });
});
