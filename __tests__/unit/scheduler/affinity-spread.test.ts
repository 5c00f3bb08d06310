import { Code, CycleState } from '../../../src/scheduler/framework';
import { InterPodAffinity } from '../../../src/scheduler/plugins/inter-pod-affinity';
import { PodTopologySpread } from '../../../src/scheduler/plugins/pod-topology-spread';
import type { KObject } from '../../../src/api/types';
import { cluster, info, node, pod } from './helpers';

const nodes = [node('a1', { labels: { zone: 'a' } }), node('a2', { labels: { zone: 'a' } }), node('b1', { labels: { zone: 'b' } }), node('nolabel')];

/** Runs PreFilter then Filter on every node; returns node → null | reason. */
function filterAll(pl: InterPodAffinity | PodTopologySpread, p: KObject, h: ReturnType<typeof cluster>): Record<string, string | null> {
  const s = new CycleState();
  const pi = info(p);
  const pre = pl.preFilter(s, pi);
  const out: Record<string, string | null> = {};
  for (const n of h.handle.nodeInfos()) {
    if (pre && pre.code === Code.Skip) out[n.name] = null;
    else {
      const st = pl.filter(s, pi, n);
      out[n.name] = st ? `${st.code === Code.Unschedulable ? 'U' : 'UU'}: ${st.reasons.join(', ')}` : null;
    }
  }
  return out;
}

const web = (name: string, extra: Record<string, unknown> = {}) => pod(name, extra, { labels: { app: 'web' } });
const aff = (kind: 'podAffinity' | 'podAntiAffinity', topologyKey: string, labels: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  affinity: { [kind]: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: labels }, topologyKey, ...extra }] } },
});

describe('InterPodAffinity filter', () => {
  test('no affinity anywhere: skipped', () => {
    const h = cluster(nodes, [[web('w1'), 'a1']]);
    expect(new InterPodAffinity(h.handle).preFilter(new CycleState(), info(web('x')))?.code).toBe(Code.Skip);
  });

  test('required anti-affinity by hostname: one per node', () => {
    const h = cluster(nodes, [[web('w1', aff('podAntiAffinity', 'kubernetes.io/hostname', { app: 'web' })), 'a1']]);
    const r = filterAll(new InterPodAffinity(h.handle), web('w2', aff('podAntiAffinity', 'kubernetes.io/hostname', { app: 'web' })), h);
    expect(r).toEqual({ a1: "U: node(s) didn't match pod anti-affinity rules", a2: null, b1: null, nolabel: null });
  });

  test("existing pods' anti-affinity repels a matching newcomer", () => {
    const h = cluster(nodes, [[pod('db', aff('podAntiAffinity', 'zone', { app: 'web' }), { labels: { app: 'db' } }), 'a1']]);
    const r = filterAll(new InterPodAffinity(h.handle), web('w'), h);
    expect(r).toEqual({ a1: "U: node(s) didn't satisfy existing pods anti-affinity rules", a2: "U: node(s) didn't satisfy existing pods anti-affinity rules", b1: null, nolabel: null });
  });

  test('required affinity by zone: nodes in the zone of a matching pod; a node without the key is rejected', () => {
    const h = cluster(nodes, [[pod('db', {}, { labels: { app: 'db' } }), 'b1']]);
    const r = filterAll(new InterPodAffinity(h.handle), web('w', aff('podAffinity', 'zone', { app: 'db' })), h);
    const no = "UU: node(s) didn't match pod affinity rules";
    expect(r).toEqual({ a1: no, a2: no, b1: null, nolabel: no });
  });

  test('the first pod of a self-affine group may go anywhere with the topology key', () => {
    const h = cluster(nodes);
    const r = filterAll(new InterPodAffinity(h.handle), web('w', aff('podAffinity', 'zone', { app: 'web' })), h);
    expect(r).toEqual({ a1: null, a2: null, b1: null, nolabel: "UU: node(s) didn't match pod affinity rules" });
    // not self-affine: nothing matches, nowhere to go
    const r2 = filterAll(new InterPodAffinity(h.handle), web('w', aff('podAffinity', 'zone', { app: 'db' })), h);
    expect(Object.values(r2).every((v) => v !== null)).toBe(true);
  });

  test('namespaces: a term only sees its namespaces (or those its namespaceSelector picks)', () => {
    const other = pod('db', {}, { labels: { app: 'db' }, namespace: 'prod' });
    const h = cluster(nodes, [[other, 'a1']], { prod: { env: 'prod' }, default: {} });
    const same = filterAll(new InterPodAffinity(h.handle), web('w', aff('podAntiAffinity', 'zone', { app: 'db' })), h);
    expect(same.a1).toBeNull();
    const byNs = filterAll(new InterPodAffinity(h.handle), web('w', aff('podAntiAffinity', 'zone', { app: 'db' }, { namespaces: ['prod'] })), h);
    expect(byNs.a1).toMatch(/anti-affinity/);
    const bySel = filterAll(new InterPodAffinity(h.handle), web('w', aff('podAntiAffinity', 'zone', { app: 'db' }, { namespaceSelector: { matchLabels: { env: 'prod' } } })), h);
    expect(bySel.a2).toMatch(/anti-affinity/);
    expect(bySel.b1).toBeNull();
  });
});

describe('InterPodAffinity score', () => {
  test('preferred affinity pulls toward the zone of matching pods, preferred anti-affinity pushes away', () => {
    const h = cluster(nodes.slice(0, 3), [[pod('db', {}, { labels: { app: 'db' } }), 'b1']]);
    const pl = new InterPodAffinity(h.handle);
    const score = (p: KObject) => {
      const s = new CycleState();
      const pi = info(p);
      expect(pl.preScore(s, pi)).toBeNull();
      const ns = h.handle.nodeInfos();
      const sc = ns.map((n) => pl.score(s, pi, n));
      pl.normalizeScore(s, pi, sc);
      return Object.fromEntries(ns.map((n, i) => [n.name, sc[i]]));
    };
    const pref = (kind: string, w: number) => ({ affinity: { [kind]: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: w, podAffinityTerm: { labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'zone' } }] } } });
    expect(score(web('w', pref('podAffinity', 50)))).toEqual({ a1: 0, a2: 0, b1: 100 });
    expect(score(web('w', pref('podAntiAffinity', 50)))).toEqual({ a1: 100, a2: 100, b1: 0 });
  });
});

describe('PodTopologySpread filter', () => {
  const spread = (maxSkew: number, key = 'zone', extra: Record<string, unknown> = {}) => ({
    topologySpreadConstraints: [{ maxSkew, topologyKey: key, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } }, ...extra }],
  });
  const skew = "U: node(s) didn't match pod topology spread constraints";
  const missing = "UU: node(s) didn't match pod topology spread constraints (missing required label)";

  test('maxSkew 1 over zones', () => {
    const h = cluster(nodes, [
      [web('w1'), 'a1'],
      [web('w2'), 'a2'],
      [web('w3'), 'b1'],
    ]);
    // a: 2, b: 1 → placing in a makes skew 2
    expect(filterAll(new PodTopologySpread(h.handle), web('x', spread(1)), h)).toEqual({ a1: skew, a2: skew, b1: null, nolabel: missing });
    expect(filterAll(new PodTopologySpread(h.handle), web('x', spread(2)), h)).toEqual({ a1: null, a2: null, b1: null, nolabel: missing });
  });

  test('pods in other namespaces, not matching, or terminating do not count', () => {
    const h = cluster(nodes.slice(0, 3), [
      [pod('o', {}, { labels: { app: 'web' }, namespace: 'other' }), 'a1'],
      [pod('d', {}, { labels: { app: 'db' } }), 'a1'],
      [pod('t', {}, { labels: { app: 'web' }, deletionTimestamp: '2024-01-01T00:00:00Z' }), 'a1'],
    ]);
    expect(filterAll(new PodTopologySpread(h.handle), web('x', spread(1)), h)).toEqual({ a1: null, a2: null, b1: null });
  });

  test('minDomains: fewer domains than required makes the global minimum 0', () => {
    const h = cluster(nodes.slice(0, 3), [
      [web('w1'), 'a1'],
      [web('w2'), 'b1'],
    ]);
    expect(filterAll(new PodTopologySpread(h.handle), web('x', spread(1, 'zone', { minDomains: 3 })), h)).toEqual({ a1: skew, a2: skew, b1: skew });
    expect(filterAll(new PodTopologySpread(h.handle), web('x', spread(1, 'zone', { minDomains: 2 })), h)).toEqual({ a1: null, a2: null, b1: null });
  });

  test('nodeAffinityPolicy Honor (default) ignores domains the pod cannot use', () => {
    const h = cluster(nodes.slice(0, 3), [
      [web('w1'), 'a1'],
      [web('w2'), 'a2'],
    ]);
    const p = web('x', { ...spread(1), nodeSelector: { zone: 'a' } });
    // zone b is excluded, so the minimum is zone a's own count and a stays allowed (skew 1)
    expect(filterAll(new PodTopologySpread(h.handle), p, h).a1).toBeNull();
    const ignore = web('x', { ...spread(1, 'zone', { nodeAffinityPolicy: 'Ignore' }), nodeSelector: { zone: 'a' } });
    expect(filterAll(new PodTopologySpread(h.handle), ignore, h).a1).toBe(skew);
  });

  test('ScheduleAnyway constraints do not filter', () => {
    const h = cluster(nodes.slice(0, 3), [[web('w1'), 'a1']]);
    const p = web('x', { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'web' } } }] });
    expect(new PodTopologySpread(h.handle).preFilter(new CycleState(), info(p))?.code).toBe(Code.Skip);
  });
});

describe('PodTopologySpread score', () => {
  test('ScheduleAnyway prefers the emptier domain; nodes missing the key score 0', () => {
    const h = cluster(nodes, [
      [web('w1'), 'a1'],
      [web('w2'), 'a2'],
    ]);
    const pl = new PodTopologySpread(h.handle);
    const p = info(web('x', { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'web' } } }] }));
    const s = new CycleState();
    const ns = h.handle.nodeInfos();
    expect(pl.preScore(s, p, ns)).toBeNull();
    const sc = ns.map((n) => pl.score(s, p, n));
    pl.normalizeScore(s, p, sc, ns);
    const r = Object.fromEntries(ns.map((n, i) => [n.name, sc[i]]));
    expect(r.b1).toBe(100);
    expect(r.a1).toBeLessThan(r.b1);
    expect(r.a1).toBe(r.a2);
    expect(r.nolabel).toBe(0);
  });

  test('system defaults spread a controller-owned pod by hostname', () => {
    const h = cluster(nodes.slice(0, 3), [
      [web('w1'), 'a1'],
      [web('w2'), 'a1'],
    ]);
    h.handle.defaultSpreadSelector = () => [{ key: 'app', op: 'in', values: ['web'] }];
    const pl = new PodTopologySpread(h.handle);
    const p = info(web('x'));
    const s = new CycleState();
    const ns = h.handle.nodeInfos();
    expect(pl.preScore(s, p, ns)).toBeNull();
    const sc = ns.map((n) => pl.score(s, p, n));
    pl.normalizeScore(s, p, sc, ns);
    expect(sc[0]).toBeLessThan(sc[1]);
    expect(sc[1]).toBe(sc[2]);
    h.handle.defaultSpreadSelector = () => null;
    expect(pl.preScore(new CycleState(), p, ns)?.code).toBe(Code.Skip);
  });
});
