import type { KObject } from '../../../src/api/types';
import { evictionDeadline, tolerates, type Taint, type Toleration } from '../../../src/controllers/node-lifecycle/taints';

const T0 = Date.UTC(2024, 0, 1);
const added = new Date(T0).toISOString();
const unreachable: Taint = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: added };
const notReady: Taint = { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute', timeAdded: added };
const maint: Taint = { key: 'maint', value: 'yes', effect: 'NoExecute', timeAdded: new Date(T0 + 7_000).toISOString() };

const pod = (tolerations?: Toleration[]): KObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { tolerations } });
const cap30 = (t: Taint) => (t.key.startsWith('node.kubernetes.io/') ? 30_000 : undefined);
const defaults: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
];

describe('tolerates', () => {
  test.each<[string, Toleration, Taint, boolean]>([
    ['Exists without key tolerates everything', { operator: 'Exists' }, maint, true],
    ['key Exists', { key: 'maint', operator: 'Exists' }, maint, true],
    ['Equal value', { key: 'maint', operator: 'Equal', value: 'yes' }, maint, true],
    ['Equal is the default operator', { key: 'maint', value: 'yes' }, maint, true],
    ['wrong value', { key: 'maint', value: 'no' }, maint, false],
    ['wrong effect', { key: 'maint', operator: 'Exists', effect: 'NoSchedule' }, maint, false],
    ['empty key needs Exists', { value: 'yes' }, maint, false],
  ])('%s', (_n, tol, taint, want) => {
    expect(tolerates(tol, taint)).toBe(want);
  });
});

describe('evictionDeadline (taint-based eviction timing)', () => {
  test.each<[string, Toleration[] | undefined, Taint[], number | null]>([
    ['no toleration: at once', undefined, [unreachable], T0],
    ['default 300 s tolerations are capped at the pod eviction timeout', defaults, [unreachable], T0 + 30_000],
    ['a shorter tolerationSeconds wins', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 }], [unreachable], T0 + 5_000],
    ['tolerationSeconds 0 or negative: at once', [{ operator: 'Exists', tolerationSeconds: -3 }], [unreachable], T0],
    ['tolerating without seconds: never (DaemonSet pods)', [{ operator: 'Exists' }], [unreachable, notReady], null],
    ['forever and 60 s both match: the 60 s wins', [{ operator: 'Exists' }, { key: 'maint', operator: 'Exists', tolerationSeconds: 60 }], [maint], T0 + 67_000],
    ['user taints are not capped and count from their timeAdded', [{ key: 'maint', operator: 'Exists', tolerationSeconds: 100 }], [maint], T0 + 107_000],
    ['one untolerated taint among several: at once', defaults, [unreachable, maint], T0 + 7_000],
  ])('%s', (_n, tols, taints, want) => {
    expect(evictionDeadline(pod(tols), taints, T0 + 99_000, cap30)).toBe(want);
  });

  test('a taint without timeAdded counts from the fallback time', () => {
    expect(evictionDeadline(pod(defaults), [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }], T0 + 1_000, cap30)).toBe(T0 + 31_000);
  });
});
