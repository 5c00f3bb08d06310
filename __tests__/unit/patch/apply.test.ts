import type { KObject } from '../../../src/api/types';
import { mergeForServerSideApply } from '../../../src/apiserver/patch';
import { BadRequestError } from '../../../src/util/errors';

/* eslint-disable @typescript-eslint/no-explicit-any */

const obj = (o: any): KObject => ({ apiVersion: 'v1', kind: 'X', metadata: { name: 'x' }, ...o });

type Case = [name: string, kind: string, live: any, applied: any, expected: any];

function run(kind: string, live: KObject, applied: KObject): any {
  const lb = JSON.stringify(live);
  const ab = JSON.stringify(applied);
  const out = mergeForServerSideApply(live, applied, kind);
  expect(JSON.stringify(live)).toBe(lb);
  expect(JSON.stringify(applied)).toBe(ab);
  return out;
}

describe('mergeForServerSideApply', () => {
  test.each<Case>([
    [
      'applied fields override, absent fields are kept',
      'ConfigMap',
      { metadata: { name: 'x', uid: 'u', labels: { a: '1' } }, data: { k1: 'v1', k2: 'v2' } },
      { metadata: { name: 'x', labels: { b: '2' } }, data: { k1: 'new' } },
      { metadata: { name: 'x', uid: 'u', labels: { a: '1', b: '2' } }, data: { k1: 'new', k2: 'v2' } },
    ],
    [
      'null in applied means unspecified',
      'ConfigMap',
      { data: { a: '1' } },
      { data: { a: null, b: '2' } },
      { data: { a: '1', b: '2' } },
    ],
    [
      'Deployment image change merges containers by name',
      'Deployment',
      {
        spec: {
          replicas: 3,
          template: {
            spec: {
              containers: [
                { name: 'web', image: 'nginx:1.25', imagePullPolicy: 'IfNotPresent', env: [{ name: 'A', value: '1' }], ports: [{ containerPort: 80, protocol: 'TCP' }] },
                { name: 'sidecar', image: 'envoy' },
              ],
              dnsPolicy: 'ClusterFirst',
            },
          },
        },
      },
      { spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:1.26', env: [{ name: 'B', value: '2' }], ports: [{ containerPort: 80 }] }] } } } },
      {
        spec: {
          replicas: 3,
          template: {
            spec: {
              containers: [
                {
                  name: 'web',
                  image: 'nginx:1.26',
                  imagePullPolicy: 'IfNotPresent',
                  env: [{ name: 'B', value: '2' }, { name: 'A', value: '1' }],
                  ports: [{ containerPort: 80, protocol: 'TCP' }],
                },
                { name: 'sidecar', image: 'envoy' },
              ],
              dnsPolicy: 'ClusterFirst',
            },
          },
        },
      },
    ],
    [
      'CronJob nested containers merge by name',
      'CronJob',
      { spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'c', image: 'a', args: ['x'] }] } } } } } },
      { spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'c', image: 'b' }] } } } } } },
      { spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'c', image: 'b', args: ['x'] }] } } } } } },
    ],
    [
      'lists without merge key are replaced',
      'Deployment',
      { spec: { template: { spec: { tolerations: [{ key: 'a' }], containers: [{ name: 'c', args: ['1', '2'] }] } } } },
      { spec: { template: { spec: { tolerations: [{ key: 'b' }], containers: [{ name: 'c', args: ['3'] }] } } } },
      { spec: { template: { spec: { tolerations: [{ key: 'b' }], containers: [{ name: 'c', args: ['3'] }] } } } },
    ],
    [
      'applied order wins, live-only elements stay near their neighbours',
      'Pod',
      { spec: { containers: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] } },
      { spec: { containers: [{ name: 'c' }, { name: 'a' }] } },
      { spec: { containers: [{ name: 'b' }, { name: 'c' }, { name: 'a' }] } },
    ],
    [
      'finalizers are a union',
      'ConfigMap',
      { metadata: { finalizers: ['a', 'b'] } },
      { metadata: { finalizers: ['b', 'c'] } },
      { metadata: { finalizers: ['a', 'b', 'c'] } },
    ],
    [
      'status conditions merge by type',
      'Deployment',
      { status: { conditions: [{ type: 'Available', status: 'False' }, { type: 'Progressing', status: 'True' }] } },
      { status: { conditions: [{ type: 'Available', status: 'True' }] } },
      { status: { conditions: [{ type: 'Available', status: 'True' }, { type: 'Progressing', status: 'True' }] } },
    ],
    [
      'strategy RollingUpdate -> Recreate drops rollingUpdate (retainKeys)',
      'Deployment',
      { spec: { replicas: 1, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%' } } } },
      { spec: { strategy: { type: 'Recreate' } } },
      { spec: { replicas: 1, strategy: { type: 'Recreate' } } },
    ],
    [
      'volume source switch keeps only the applied source (retainKeys)',
      'Pod',
      { spec: { volumes: [{ name: 'data', emptyDir: {} }, { name: 'other', hostPath: { path: '/x' } }] } },
      { spec: { volumes: [{ name: 'data', configMap: { name: 'cfg' } }] } },
      { spec: { volumes: [{ name: 'data', configMap: { name: 'cfg' } }, { name: 'other', hostPath: { path: '/x' } }] } },
    ],
    [
      'PodDisruptionBudget selector is replaced',
      'PodDisruptionBudget',
      { spec: { selector: { matchLabels: { a: '1' } } } },
      { spec: { selector: { matchLabels: { b: '2' } } } },
      { spec: { selector: { matchLabels: { b: '2' } } } },
    ],
    [
      'unknown kind: maps merge, lists replace',
      'Widget',
      { spec: { size: 1, items: [{ name: 'a' }], m: { a: 1 } } },
      { spec: { items: [{ name: 'b' }], m: { b: 2 } } },
      { spec: { size: 1, items: [{ name: 'b' }], m: { a: 1, b: 2 } } },
    ],
    [
      'Scale subresource',
      'Scale',
      { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'x' }, spec: { replicas: 1 }, status: { replicas: 1 } },
      { apiVersion: 'autoscaling/v1', kind: 'Scale', spec: { replicas: 4 } },
      { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'x' }, spec: { replicas: 4 }, status: { replicas: 1 } },
    ],
  ])('%s', (_name, kind, live, applied, expected) => {
    expect(run(kind, obj(live), obj(applied))).toEqual(obj(expected));
  });

  test('keys starting with $ are data, not directives', () => {
    const out = run('Pod', obj({ spec: { x: { a: 1 } } }), obj({ spec: { x: { $patch: 'delete' } } }));
    expect(out.spec.x).toEqual({ a: 1, $patch: 'delete' });
  });

  test('a merge-keyed element without its key is a bad request', () => {
    expect(() => mergeForServerSideApply(obj({ spec: { containers: [{ name: 'a' }] } }), obj({ spec: { containers: [{ image: 'x' }] } }), 'Pod')).toThrow(BadRequestError);
  });

  test('the result shares nothing with its inputs', () => {
    const live = obj({ spec: { a: { b: [1] } } });
    const applied = obj({ spec: { c: { d: [2] } } });
    const out = mergeForServerSideApply(live, applied, 'ConfigMap');
    out.spec.a.b.push(9);
    out.spec.c.d.push(9);
    expect(live.spec.a.b).toEqual([1]);
    expect(applied.spec.c.d).toEqual([2]);
  });
});
