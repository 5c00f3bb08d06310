import { Code, Framework, fitErrorMessage, newDiagnosis, unresolvable, unschedulable, Status, type FitFailure, type ScheduleResult } from '../../../src/scheduler/framework';
import { defaultPlugins, DEFAULT_WEIGHTS } from '../../../src/scheduler/plugins';
import { cluster, info, node, pod, req } from './helpers';

describe('fitErrorMessage (FitError.Error wording)', () => {
  test('sorted "count reason" list, then the PostFilter message', () => {
    const d = newDiagnosis();
    d.nodeToStatus.set('n1', unschedulable('NodeResourcesFit', 'Insufficient cpu'));
    const taint = unresolvable('TaintToleration', 'node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }');
    d.nodeToStatus.set('n2', taint);
    d.nodeToStatus.set('n3', taint);
    d.postFilterMsg = 'preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.';
    expect(fitErrorMessage(3, d)).toBe(
      '0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.',
    );
  });

  test('every reason of a multi-reason status counts; Go string order ("10" before "2")', () => {
    const d = newDiagnosis();
    for (let i = 0; i < 10; i++) d.nodeToStatus.set('a' + i, new Status(Code.Unschedulable, ['Insufficient cpu', 'Insufficient memory']));
    d.nodeToStatus.set('b', unresolvable('', 'node(s) were unschedulable'));
    d.nodeToStatus.set('c', unresolvable('', 'node(s) were unschedulable'));
    expect(fitErrorMessage(12, d)).toBe('0/12 nodes are available: 10 Insufficient cpu, 10 Insufficient memory, 2 node(s) were unschedulable.');
  });

  test('absent nodes take the absent status; a PreFilter message replaces the list', () => {
    const d = newDiagnosis();
    d.nodeToStatus.set('n1', unresolvable('', "node(s) didn't match Pod's node affinity/selector"));
    d.absentStatus = unresolvable('', "node(s) didn't satisfy plugin(s) [NodeAffinity]");
    expect(fitErrorMessage(3, d)).toBe("0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 node(s) didn't satisfy plugin(s) [NodeAffinity].");
    const p = newDiagnosis();
    p.preFilterMsg = 'pod affinity terms conflict';
    expect(fitErrorMessage(3, p)).toBe('0/3 nodes are available: pod affinity terms conflict.');
  });
});

describe('numFeasibleNodesToFind', () => {
  const fw = (pct?: number) => new Framework(cluster([]).handle, [], {}, { percentageOfNodesToScore: pct });
  test.each([
    [undefined, 50, 50],
    [undefined, 100, 100],
    [undefined, 1000, 420],
    [undefined, 5000, 500],
    [undefined, 6000, 300],
    [undefined, 10000, 500],
    [100, 1000, 1000],
    [10, 500, 100],
  ])('percentage %s of %i nodes → %i', (pct, n, want) => {
    expect(fw(pct).numFeasibleNodesToFind(n)).toBe(want);
  });
});

function schedule(nodes: ReturnType<typeof node>[], bound: [ReturnType<typeof pod>, string][], p: ReturnType<typeof pod>, random = () => 0.5): ScheduleResult | FitFailure {
  const h = cluster(nodes, bound);
  const fw = new Framework(h.handle, defaultPlugins(h.handle), DEFAULT_WEIGHTS, { random });
  return fw.schedulePod(info(p));
}

describe('schedulePod with the default profile', () => {
  test('picks the least loaded node', () => {
    const r = schedule([node('a'), node('b'), node('c')], [[pod('x', { containers: [req('2', '2Gi')] }), 'a'], [pod('y', { containers: [req('1', '1Gi')] }), 'b']], pod('p', { containers: [req('500m', '512Mi')] }));
    expect('node' in r && r.node.name).toBe('c');
  });

  test('the first rejecting filter names the reason, in kube-scheduler order', () => {
    const r = schedule(
      [node('cp', { cpu: '2', taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }), node('small', { cpu: '2' }), node('cordoned', { cpu: '2', unschedulable: true })],
      [],
      pod('p', { containers: [req('3')] }),
    ) as FitFailure;
    expect(fitErrorMessage(r.numAllNodes, r.diagnosis)).toBe(
      '0/3 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 1 node(s) were unschedulable.',
    );
    expect([...r.diagnosis.unschedulablePlugins].sort()).toEqual(['NodeResourcesFit', 'NodeUnschedulable', 'TaintToleration']);
  });

  test('PreFilter narrowing: nodes outside the pinned set are reported as not satisfying the plugin', () => {
    const p = pod('p', { containers: [req('8')], affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['b'] }] }] } } } });
    const r = schedule([node('a'), node('b'), node('c')], [], p) as FitFailure;
    expect(fitErrorMessage(r.numAllNodes, r.diagnosis)).toBe("0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity].");
    const ok = schedule([node('a'), node('b'), node('c')], [], pod('q', { affinity: p.spec.affinity }));
    expect('node' in ok && ok.node.name).toBe('b');
  });

  test('ties are broken by the injected random source', () => {
    const names = new Set<string>();
    for (const rnd of [0, 0.99]) {
      const r = schedule([node('a'), node('b')], [], pod('p'), () => rnd);
      if ('node' in r) names.add(r.node.name);
    }
    expect(names.size).toBe(2);
  });

  test('sampling: with 1,000 nodes only numFeasibleNodesToFind nodes are filtered and the start rotates', () => {
    const nodes = Array.from({ length: 1000 }, (_, i) => node('n' + i));
    const h = cluster(nodes);
    const fw = new Framework(h.handle, defaultPlugins(h.handle), DEFAULT_WEIGHTS);
    const r1 = fw.schedulePod(info(pod('p1'))) as ScheduleResult;
    expect(r1.evaluatedNodes).toBe(420);
    expect(r1.feasibleNodes).toBe(420);
    const r2 = fw.schedulePod(info(pod('p2'))) as ScheduleResult;
    expect(Number(r2.node.name.slice(1))).toBeGreaterThanOrEqual(420);
  });

  test('no nodes at all', () => {
    const r = schedule([], [], pod('p')) as FitFailure;
    expect(r.numAllNodes).toBe(0);
    expect(r.diagnosis.preFilterMsg).toBe('no nodes available to schedule pods');
  });
});
