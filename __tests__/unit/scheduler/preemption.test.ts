import { Framework, fitErrorMessage, type FitFailure } from '../../../src/scheduler/framework';
import { defaultPlugins, DEFAULT_WEIGHTS } from '../../../src/scheduler/plugins';
import { DefaultPreemption, filterPodsWithPDBViolation, pickOneNodeForPreemption, type DisruptionBudget } from '../../../src/scheduler/preemption';
import { cluster, info, node, pod, req } from './helpers';

function attempt(nodes: ReturnType<typeof node>[], bound: [ReturnType<typeof pod>, string][], p: ReturnType<typeof pod>, budgets?: DisruptionBudget[]) {
  const h = cluster(nodes, bound);
  const fw = new Framework(h.handle, defaultPlugins(h.handle), DEFAULT_WEIGHTS, { random: () => 0 });
  const pi = info(p);
  const r = fw.schedulePod(pi) as FitFailure;
  expect('diagnosis' in r).toBe(true);
  const res = new DefaultPreemption({ framework: fw, random: () => 0, budgets: budgets && (() => budgets) }).preempt(pi, r.state, r.diagnosis);
  r.diagnosis.postFilterMsg = res.message;
  return { res, message: fitErrorMessage(r.numAllNodes, r.diagnosis) };
}

const big = (name: string, cpu: string, priority = 0) => pod(name, { priority, containers: [req(cpu)] });

describe('DefaultPreemption', () => {
  test('equal priority: no victims (Kubernetes wording)', () => {
    const { res, message } = attempt([node('a', { cpu: '2' }), node('b', { cpu: '2' })], [[big('x', '2'), 'a'], [big('y', '2'), 'b']], big('p', '1'));
    expect(res.candidate).toBeUndefined();
    expect(message).toBe('0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.');
  });

  test('unresolvable rejections are not helpful', () => {
    const { message } = attempt([node('a', { cpu: '2', taints: [{ key: 't', effect: 'NoSchedule' }] }), node('b', { cpu: '2' })], [[big('y', '2', 10), 'b']], big('p', '1', 10));
    expect(message).toBe('0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {t: }. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.');
  });

  test('preemptionPolicy Never', () => {
    const p = big('p', '1', 100);
    p.spec.preemptionPolicy = 'Never';
    const { message } = attempt([node('a', { cpu: '2' })], [[big('x', '2'), 'a']], p);
    expect(message).toBe('0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.');
  });

  test('evicts the fewest, least important lower-priority pods', () => {
    const { res, message } = attempt(
      [node('a', { cpu: '4' }), node('b', { cpu: '4' })],
      [
        [big('a-low', '2', 1), 'a'],
        [big('a-mid', '2', 5), 'a'],
        [big('b-mid1', '2', 5), 'b'],
        [big('b-mid2', '2', 5), 'b'],
      ],
      big('p', '2', 10),
    );
    expect(message).toBe('0/2 nodes are available: 2 Insufficient cpu.');
    expect(res.candidate!.node).toBe('a');
    expect(res.candidate!.victims.map((v) => v.name)).toEqual(['a-low']);
  });

  test('a node where evicting every lower-priority pod is not enough reports the filter reason', () => {
    const { res, message } = attempt([node('a', { cpu: '4' })], [[big('hi', '3', 100), 'a'], [big('lo', '1', 0), 'a']], big('p', '2', 10));
    expect(res.candidate).toBeUndefined();
    expect(message).toBe('0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Insufficient cpu.');
  });

  test('pickOneNodeForPreemption order', () => {
    const v = (name: string, priority: number, start = 0) => ({ ...info(big(name, '1', priority)), startTime: start });
    const c = (node: string, victims: ReturnType<typeof v>[], pdbViolations = 0) => ({ node, victims, pdbViolations });
    expect(pickOneNodeForPreemption([c('x', [v('a', 1)], 1), c('y', [v('b', 5)])]).node).toBe('y');
    expect(pickOneNodeForPreemption([c('x', [v('a', 5)]), c('y', [v('b', 3), v('c', 3)])]).node).toBe('y');
    expect(pickOneNodeForPreemption([c('x', [v('a', 5), v('b', 1)]), c('y', [v('c', 5)])]).node).toBe('y');
    expect(pickOneNodeForPreemption([c('x', [v('a', 5, 1)]), c('y', [v('c', 5, 2)])]).node).toBe('y');
  });

  test('PodDisruptionBudgets: violating victims are spared first and such nodes lose', () => {
    const budget: DisruptionBudget = { namespace: 'default', selector: [{ key: 'app', op: 'in', values: ['db'] }], disruptionsAllowed: 0, disruptedPods: new Set() };
    const db = (name: string) => pod(name, { priority: 1, containers: [req('2')] }, { labels: { app: 'db' } });
    const web = (name: string) => pod(name, { priority: 1, containers: [req('2')] }, { labels: { app: 'web' } });
    const { res } = attempt(
      [node('a', { cpu: '4' }), node('b', { cpu: '4' })],
      [
        [db('db-a'), 'a'],
        [db('db-a2'), 'a'],
        [db('db-b'), 'b'],
        [web('web-b'), 'b'],
      ],
      big('p', '2', 10),
      [budget],
    );
    expect(res.candidate).toMatchObject({ node: 'b', pdbViolations: 0 });
    expect(res.candidate!.victims.map((x) => x.name)).toEqual(['web-b']);
  });

  test('filterPodsWithPDBViolation uses each budget once per victim, skipping already disrupted pods', () => {
    const budget: DisruptionBudget = { namespace: 'default', selector: [{ key: 'app', op: 'in', values: ['db'] }], disruptionsAllowed: 1, disruptedPods: new Set(['gone']) };
    const p = (name: string, app: string) => info(pod(name, {}, { labels: { app } }));
    const r = filterPodsWithPDBViolation([p('gone', 'db'), p('one', 'db'), p('two', 'db'), p('web', 'web')], () => [budget]);
    expect(r.violating.map((x) => x.name)).toEqual(['two']);
    expect(r.nonViolating.map((x) => x.name)).toEqual(['gone', 'one', 'web']);
  });
});
