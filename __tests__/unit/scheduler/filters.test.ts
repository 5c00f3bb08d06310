import { Code, CycleState, type Status } from '../../../src/scheduler/framework';
import { NodeUnschedulable } from '../../../src/scheduler/plugins/node-unschedulable';
import { NodeName } from '../../../src/scheduler/plugins/node-name';
import { TaintToleration } from '../../../src/scheduler/plugins/taint-toleration';
import { NodeAffinity } from '../../../src/scheduler/plugins/node-affinity';
import { NodePorts } from '../../../src/scheduler/plugins/node-ports';
import { NodeResourcesFit } from '../../../src/scheduler/plugins/node-resources';
import type { KObject } from '../../../src/api/types';
import { info, node, nodeInfo, pod, req, type NodeOpts } from './helpers';

type Want = null | { code: Code; reasons: string[] };

function run(plugin: { filter(s: CycleState, p: ReturnType<typeof info>, n: ReturnType<typeof nodeInfo>): Status | null; preFilter?: (...a: never[]) => Status | null }, p: KObject, n: KObject, bound: KObject[] = []): Want {
  const s = new CycleState();
  const pi = info(p);
  if (plugin.preFilter) {
    const st = (plugin.preFilter as unknown as (s: CycleState, p: unknown, narrow: () => void) => Status | null)(s, pi, () => undefined);
    if (st && st.code === Code.Skip) return null;
    if (st) return { code: st.code, reasons: [...st.reasons] };
  }
  const st = plugin.filter(s, pi, nodeInfo(n, bound));
  return st ? { code: st.code, reasons: [...st.reasons] } : null;
}

const U = Code.Unschedulable;
const UU = Code.UnschedulableAndUnresolvable;

describe('NodeUnschedulable', () => {
  const cordoned: NodeOpts = { unschedulable: true };
  test.each([
    ['schedulable node', {}, {}, null],
    ['cordoned node', cordoned, {}, { code: UU, reasons: ['node(s) were unschedulable'] }],
    ['tolerating node.kubernetes.io/unschedulable', cordoned, { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] }, null],
    ['tolerating everything', cordoned, { tolerations: [{ operator: 'Exists' }] }, null],
  ])('%s', (_n, no, spec, want) => {
    expect(run(new NodeUnschedulable(), pod('p', spec), node('n1', no))).toEqual(want);
  });
});

describe('NodeName', () => {
  test.each([
    ['no nodeName', {}, null],
    ['matching', { nodeName: 'n1' }, null],
    ['other node', { nodeName: 'n2' }, { code: UU, reasons: ["node(s) didn't match the requested node name"] }],
  ])('%s', (_n, spec, want) => {
    expect(run(new NodeName(), pod('p', spec), node('n1'))).toEqual(want);
  });
});

describe('TaintToleration filter', () => {
  const cp = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };
  test.each([
    ['no taints', {}, {}, null],
    ['untolerated NoSchedule', { taints: [cp] }, {}, { code: UU, reasons: ['node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }'] }],
    ['value is printed', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoExecute' }] }, {}, { code: UU, reasons: ['node(s) had untolerated taint {dedicated: gpu}'] }],
    ['tolerated', { taints: [cp] }, { tolerations: [{ key: cp.key, operator: 'Exists', effect: 'NoSchedule' }] }, null],
    ['PreferNoSchedule does not filter', { taints: [{ key: 'soft', effect: 'PreferNoSchedule' }] }, {}, null],
    ['Ready=False acts as the not-ready taint', { ready: 'False' }, {}, { code: UU, reasons: ['node(s) had untolerated taint {node.kubernetes.io/not-ready: }'] }],
    ['Ready=Unknown acts as the unreachable taint', { ready: 'Unknown' }, {}, { code: UU, reasons: ['node(s) had untolerated taint {node.kubernetes.io/unreachable: }'] }],
    ['not-ready tolerated', { ready: 'False' }, { tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists' }] }, null],
    ['no Ready condition at all is schedulable', { ready: null }, {}, null],
  ] as [string, NodeOpts, Record<string, unknown>, Want][])('%s', (_n, no, spec, want) => {
    expect(run(new TaintToleration(), pod('p', spec), node('n1', no))).toEqual(want);
  });
});

describe('NodeAffinity filter', () => {
  const na = (terms: unknown[]) => ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } });
  const miss = { code: UU, reasons: ["node(s) didn't match Pod's node affinity/selector"] };
  test.each([
    ['nothing to match', {}, null],
    ['nodeSelector match', { nodeSelector: { disk: 'ssd' } }, null],
    ['nodeSelector miss', { nodeSelector: { disk: 'hdd' } }, miss],
    ['terms are ORed', na([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }, { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }]), null],
    ['no term matches', na([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }]), miss],
    ['Gt', na([{ matchExpressions: [{ key: 'cores', operator: 'Gt', values: ['8'] }] }]), null],
    ['Lt', na([{ matchExpressions: [{ key: 'cores', operator: 'Lt', values: ['8'] }] }]), miss],
    ['DoesNotExist', na([{ matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] }]), null],
    ['matchFields metadata.name', na([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }]), null],
    ['nodeSelector and affinity must both hold', { nodeSelector: { disk: 'ssd' }, ...na([{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }]) }, miss],
  ])('%s', (_n, spec, want) => {
    expect(run(new NodeAffinity(), pod('p', spec), node('n1', { labels: { disk: 'ssd', zone: 'a', cores: '16' } }))).toEqual(want);
  });

  test('PreFilter narrows the nodes when every term pins metadata.name, and detects conflicts', () => {
    const pl = new NodeAffinity();
    let narrowed: ReadonlySet<string> | undefined;
    const p = info(pod('p', na([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }, { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n2', 'n3'] }] }])));
    expect(pl.preFilter(new CycleState(), p, (s) => (narrowed = s))).toBeNull();
    expect([...narrowed!].sort()).toEqual(['n1', 'n2', 'n3']);
    narrowed = undefined;
    const mixed = info(pod('p', na([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }, { matchExpressions: [{ key: 'zone', operator: 'Exists' }] }])));
    expect(pl.preFilter(new CycleState(), mixed, (s) => (narrowed = s))).toBeNull();
    expect(narrowed).toBeUndefined();
    const conflict = info(pod('p', na([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }, { key: 'metadata.name', operator: 'In', values: ['n2'] }] }])));
    expect(pl.preFilter(new CycleState(), conflict, () => undefined)?.reasons).toEqual(['pod affinity terms conflict']);
    expect(pl.preFilter(new CycleState(), info(pod('p')), () => undefined)?.code).toBe(Code.Skip);
  });
});

describe('NodePorts', () => {
  const withPort = (port: number, ip?: string, protocol?: string) => ({ containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80, hostPort: port, ...(ip ? { hostIP: ip } : {}), ...(protocol ? { protocol } : {}) }] }] });
  const busy = { code: U, reasons: ["node(s) didn't have free ports for the requested pod ports"] };
  test.each([
    ['free port', withPort(8080), [withPort(9090)], null],
    ['same port, both wildcard', withPort(8080), [withPort(8080)], busy],
    ['same port, different IPs', withPort(8080, '10.0.0.1'), [withPort(8080, '10.0.0.2')], null],
    ['wildcard conflicts with a specific IP', withPort(8080), [withPort(8080, '10.0.0.2')], busy],
    ['specific IP conflicts with a wildcard', withPort(8080, '10.0.0.1'), [withPort(8080)], busy],
    ['different protocol', withPort(53, undefined, 'UDP'), [withPort(53)], null],
  ])('%s', (_n, spec, others, want) => {
    expect(run(new NodePorts(), pod('p', spec), node('n1'), others.map((o, i) => pod('o' + i, o)))).toEqual(want);
  });
});

describe('NodeResourcesFit filter', () => {
  const fit = new NodeResourcesFit();
  test.each([
    ['fits', [req('1', '1Gi')], [], null],
    ['insufficient cpu', [req('3')], [[req('2')]], { code: U, reasons: ['Insufficient cpu'] }],
    ['insufficient cpu and memory', [req('3', '7Gi')], [[req('2', '2Gi')]], { code: U, reasons: ['Insufficient cpu', 'Insufficient memory'] }],
    ['larger than the node: unresolvable', [req('5')], [], { code: UU, reasons: ['Insufficient cpu'] }],
    ['over-committed node still takes a best-effort pod', [{ name: 'c', image: 'x' }], [[req('5')]], null],
    ['ephemeral storage', [req(undefined, undefined, { 'ephemeral-storage': '20Gi' })], [], { code: UU, reasons: ['Insufficient ephemeral-storage'] }],
    ['extended resources', [req(undefined, undefined, { 'example.com/gpu': '1' })], [], { code: UU, reasons: ['Insufficient example.com/gpu'] }],
  ])('%s', (_n, containers, bound, want) => {
    const n = node('n1', { cpu: '4', memory: '8Gi', storage: '10Gi' });
    expect(run(fit, pod('p', { containers }), n, bound.map((c, i) => pod('b' + i, { containers: c })))).toEqual(want);
  });

  test('too many pods', () => {
    const n = node('n1', { pods: '2' });
    expect(run(fit, pod('p'), n, [pod('a'), pod('b')])).toEqual({ code: U, reasons: ['Too many pods'] });
    expect(run(fit, pod('p'), n, [pod('a')])).toBeNull();
  });

  test('a node without allocatable fits no pod', () => {
    const n = { ...node('n1'), status: { conditions: [{ type: 'Ready', status: 'True' }] } };
    expect(run(fit, pod('p'), n)).toEqual({ code: U, reasons: ['Too many pods'] });
  });

  test('init containers: the largest step counts', () => {
    const n = node('n1', { cpu: '4' });
    expect(run(fit, pod('p', { containers: [req('1')], initContainers: [req('3')] }), n, [pod('b', { containers: [req('1500m')] })])).toEqual({ code: U, reasons: ['Insufficient cpu'] });
    expect(run(fit, pod('p', { containers: [req('1')], initContainers: [req('2')] }), n, [pod('b', { containers: [req('1500m')] })])).toBeNull();
  });
});
