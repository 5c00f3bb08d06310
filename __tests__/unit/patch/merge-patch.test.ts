import { applyMergePatch } from '../../../src/apiserver/patch';

type Case = [name: string, doc: unknown, patch: unknown, expected: unknown];

describe('applyMergePatch (RFC 7386)', () => {
  // The examples of RFC 7386 appendix A, then Kubernetes shapes.
  test.each<Case>([
    ['rfc: replace member', { a: 'b' }, { a: 'c' }, { a: 'c' }],
    ['rfc: add member', { a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    ['rfc: null removes', { a: 'b' }, { a: null }, {}],
    ['rfc: null removes one of two', { a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    ['rfc: array replaced by scalar', { a: ['b'] }, { a: 'c' }, { a: 'c' }],
    ['rfc: scalar replaced by array', { a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    ['rfc: nested merge and delete', { a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    ['rfc: arrays replace whole', { a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    ['rfc: array patch replaces document', ['a', 'b'], ['c', 'd'], ['c', 'd']],
    ['rfc: object patch on array target', ['a'], { a: 'b' }, { a: 'b' }],
    ['rfc: object patch on scalar target', 'x', { a: 'b' }, { a: 'b' }],
    ['rfc: nulls in added objects are dropped', {}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
    ['rfc: scalar patch', { a: 'foo' }, 'bar', 'bar'],
    ['rfc: null patch', { e: null }, null, null],
    ['rfc: null member kept in target when not patched', { e: null }, { a: 1 }, { e: null, a: 1 }],
    ['rfc: nested object replaces scalar', { a: 'foo' }, { a: { b: 1 } }, { a: { b: 1 } }],
    ['nulls inside arrays are kept', {}, { a: [null, { b: null }] }, { a: [null, { b: null }] }],
    [
      'kubectl label app=web tier-',
      { metadata: { name: 'p', labels: { tier: 'fe', run: 'p' } } },
      { metadata: { labels: { app: 'web', tier: null } } },
      { metadata: { name: 'p', labels: { run: 'p', app: 'web' } } },
    ],
    [
      'kubectl annotate removing the only annotation',
      { metadata: { annotations: { a: '1' } } },
      { metadata: { annotations: { a: null } } },
      { metadata: { annotations: {} } },
    ],
    [
      'kubectl label on an object without labels',
      { metadata: { name: 'p' } },
      { metadata: { labels: { app: 'web' } } },
      { metadata: { name: 'p', labels: { app: 'web' } } },
    ],
    [
      'kubectl scale (scale subresource)',
      { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: { name: 'web' }, spec: { replicas: 1 }, status: { replicas: 1 } },
      { spec: { replicas: 3 } },
      { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: { name: 'web' }, spec: { replicas: 3 }, status: { replicas: 1 } },
    ],
    [
      'containers list is replaced whole (no strategic semantics)',
      { spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }] } },
      { spec: { containers: [{ name: 'a', image: 'z' }] } },
      { spec: { containers: [{ name: 'a', image: 'z' }] } },
    ],
    ['__proto__ is an ordinary key', {}, JSON.parse('{"__proto__":{"x":1}}'), JSON.parse('{"__proto__":{"x":1}}')],
    ['empty patch', { a: 1 }, {}, { a: 1 }],
  ])('%s', (_name, doc, patch, expected) => {
    const before = JSON.stringify(doc);
    const patchBefore = JSON.stringify(patch);
    expect(applyMergePatch(doc, patch)).toEqual(expected);
    expect(JSON.stringify(doc)).toBe(before);
    expect(JSON.stringify(patch)).toBe(patchBefore);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  test('returns a new object sharing nothing with its inputs', () => {
    const doc = { a: { b: [1] }, c: { d: 1 } };
    const patch = { e: { f: [2] } };
    const out = applyMergePatch(doc, patch) as { a: { b: number[] }; c: object; e: { f: number[] } };
    expect(out).not.toBe(doc);
    expect(out.a).not.toBe(doc.a);
    expect(out.c).not.toBe(doc.c);
    expect(out.e).not.toBe(patch.e);
    out.a.b.push(9);
    out.e.f.push(9);
    expect(doc.a.b).toEqual([1]);
    expect(patch.e.f).toEqual([2]);
  });
});
