import { applyJsonPatch, formatPointer, parsePointer, PatchApplyError } from '../../../src/apiserver/patch';
import { ApiError, BadRequestError } from '../../../src/util/errors';

type Case = [name: string, doc: unknown, ops: unknown[], expected: unknown];

describe('applyJsonPatch (RFC 6902)', () => {
  test.each<Case>([
    ['add object member', { a: 1 }, [{ op: 'add', path: '/b', value: 2 }], { a: 1, b: 2 }],
    ['add replaces an existing member', { a: 1 }, [{ op: 'add', path: '/a', value: [1] }], { a: [1] }],
    ['add nested', { a: { b: {} } }, [{ op: 'add', path: '/a/b/c', value: null }], { a: { b: { c: null } } }],
    ['add inserts into array', { l: [1, 3] }, [{ op: 'add', path: '/l/1', value: 2 }], { l: [1, 2, 3] }],
    ['add at array end index', { l: [1] }, [{ op: 'add', path: '/l/1', value: 2 }], { l: [1, 2] }],
    ['add with - appends', { l: [1] }, [{ op: 'add', path: '/l/-', value: { x: 1 } }], { l: [1, { x: 1 }] }],
    ['add to root replaces the document', { a: 1 }, [{ op: 'add', path: '', value: { b: 2 } }], { b: 2 }],
    ['remove member', { a: 1, b: 2 }, [{ op: 'remove', path: '/a' }], { b: 2 }],
    ['remove array element', { l: ['a', 'b', 'c'] }, [{ op: 'remove', path: '/l/1' }], { l: ['a', 'c'] }],
    ['replace member', { spec: { replicas: 1 } }, [{ op: 'replace', path: '/spec/replicas', value: 5 }], { spec: { replicas: 5 } }],
    ['replace array element', { l: [1, 2] }, [{ op: 'replace', path: '/l/0', value: 9 }], { l: [9, 2] }],
    ['replace root', [1], [{ op: 'replace', path: '', value: 'x' }], 'x'],
    ['move member', { a: { x: 1 }, b: {} }, [{ op: 'move', from: '/a/x', path: '/b/y' }], { a: {}, b: { y: 1 } }],
    ['move array element', { l: [1, 2, 3] }, [{ op: 'move', from: '/l/0', path: '/l/-' }], { l: [2, 3, 1] }],
    ['move to the same path is a no-op', { a: 1 }, [{ op: 'move', from: '/a', path: '/a' }], { a: 1 }],
    ['move up to the parent', { a: { b: { c: 1 } } }, [{ op: 'move', from: '/a/b', path: '/a' }], { a: { c: 1 } }],
    ['copy member', { a: { x: [1] } }, [{ op: 'copy', from: '/a', path: '/b' }], { a: { x: [1] }, b: { x: [1] } }],
    ['test passes then applies', { a: [1, { b: 'c' }] }, [{ op: 'test', path: '/a', value: [1, { b: 'c' }] }, { op: 'remove', path: '/a' }], {}],
    ['test object key order does not matter', { a: { x: 1, y: 2 } }, [{ op: 'test', path: '/a', value: { y: 2, x: 1 } }], { a: { x: 1, y: 2 } }],
    ['~1 escapes slash', { metadata: { labels: { 'app.kubernetes.io/name': 'x' } } }, [{ op: 'remove', path: '/metadata/labels/app.kubernetes.io~1name' }], { metadata: { labels: {} } }],
    ['~0 escapes tilde', { 'a~b': 1 }, [{ op: 'replace', path: '/a~0b', value: 2 }], { 'a~b': 2 }],
    ['~01 is ~1 literally', { '~1': 1 }, [{ op: 'remove', path: '/~01' }], {}],
    ['empty key', { '': 1 }, [{ op: 'replace', path: '/', value: 2 }], { '': 2 }],
    ['__proto__ is an ordinary key', {}, [{ op: 'add', path: '/__proto__', value: { polluted: true } }], JSON.parse('{"__proto__":{"polluted":true}}')],
    ['operations apply in order', { a: 1 }, [{ op: 'add', path: '/b', value: 1 }, { op: 'copy', from: '/b', path: '/c' }, { op: 'remove', path: '/a' }], { b: 1, c: 1 }],
    ['empty patch', { a: 1 }, [], { a: 1 }],
  ])('%s', (_name, doc, ops, expected) => {
    const before = JSON.stringify(doc);
    const out = applyJsonPatch(doc, ops);
    expect(out).toEqual(expected);
    expect(JSON.stringify(doc)).toBe(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('kubectl rollout undo: replace /spec/template and /metadata/annotations', () => {
    const live = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', annotations: { 'deployment.kubernetes.io/revision': '2' } },
      spec: {
        replicas: 2,
        template: {
          metadata: { labels: { app: 'web' }, annotations: { 'kubectl.kubernetes.io/restartedAt': 't2' } },
          spec: { containers: [{ name: 'web', image: 'nginx:1.26' }] },
        },
      },
    };
    const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.25' }] } };
    const ops = [
      { op: 'replace', path: '/spec/template', value: template },
      { op: 'replace', path: '/metadata/annotations', value: { 'deployment.kubernetes.io/revision': '2', 'kubernetes.io/change-cause': 'x' } },
    ];
    const out = applyJsonPatch(live, ops) as typeof live;
    expect(out.spec.template).toEqual(template);
    expect(out.spec.template).not.toBe(template);
    expect(out.spec.replicas).toBe(2);
    expect(out.metadata.annotations).toEqual({ 'deployment.kubernetes.io/revision': '2', 'kubernetes.io/change-cause': 'x' });
    expect(live.spec.template.spec.containers[0].image).toBe('nginx:1.26');
  });

  test('the result shares nothing with the op values', () => {
    const value = { x: [1] };
    const out = applyJsonPatch({}, [{ op: 'add', path: '/a', value }]) as { a: { x: number[] } };
    out.a.x.push(2);
    expect(value.x).toEqual([1]);
  });

  type ErrCase = [name: string, doc: unknown, ops: unknown, status: number, detail: RegExp];
  test.each<ErrCase>([
    ['ops not an array', {}, { op: 'add' }, 400, /must be an array/],
    ['op not an object', {}, ['add'], 400, /must be an object/],
    ['missing op', {}, [{ path: '/a' }], 422, /no "op"/],
    ['unknown op', {}, [{ op: 'merge', path: '/a', value: 1 }], 422, /unknown "op" "merge"/],
    ['missing path', {}, [{ op: 'add', value: 1 }], 422, /no "path"/],
    ['missing value', {}, [{ op: 'add', path: '/a' }], 422, /no "value"/],
    ['missing from', { a: 1 }, [{ op: 'move', path: '/b' }], 422, /no "from"/],
    ['pointer without leading slash', {}, [{ op: 'add', path: 'a', value: 1 }], 422, /must be empty or start with/],
    ['bad escape', {}, [{ op: 'add', path: '/a~2', value: 1 }], 422, /invalid escape/],
    ['add under a missing parent', {}, [{ op: 'add', path: '/a/b', value: 1 }], 422, /path \/a does not exist/],
    ['add into a scalar', { a: 1 }, [{ op: 'add', path: '/a/b', value: 1 }], 422, /not an object or array/],
    ['add past the array end', { l: [] }, [{ op: 'add', path: '/l/1', value: 1 }], 422, /out of range/],
    ['add with leading-zero index', { l: [1, 2] }, [{ op: 'add', path: '/l/01', value: 1 }], 422, /out of range/],
    ['remove a missing member', { a: 1 }, [{ op: 'remove', path: '/b' }], 422, /path \/b does not exist/],
    ['remove an inherited member', {}, [{ op: 'remove', path: '/constructor' }], 422, /does not exist/],
    ['remove out of range', { l: [1] }, [{ op: 'remove', path: '/l/1' }], 422, /does not exist/],
    ['remove -', { l: [1] }, [{ op: 'remove', path: '/l/-' }], 422, /does not exist/],
    ['remove root', { a: 1 }, [{ op: 'remove', path: '' }], 422, /whole document/],
    ['replace a missing member (annotations absent)', { metadata: {} }, [{ op: 'replace', path: '/metadata/annotations', value: {} }], 422, /\/metadata\/annotations does not exist/],
    ['move from a missing path', {}, [{ op: 'move', from: '/a', path: '/b' }], 422, /does not exist/],
    ['move into its own child', { a: { b: 1 } }, [{ op: 'move', from: '/a', path: '/a/c' }], 422, /own child/],
    ['copy from a missing path', {}, [{ op: 'copy', from: '/a', path: '/b' }], 422, /does not exist/],
    ['failed test', { spec: { replicas: 1 } }, [{ op: 'test', path: '/spec/replicas', value: 2 }], 422, /testing value \/spec\/replicas failed/],
    ['test of a missing path', {}, [{ op: 'test', path: '/a', value: null }], 422, /does not exist/],
    ['test type mismatch', { a: '1' }, [{ op: 'test', path: '/a', value: 1 }], 422, /test failed/],
  ])('%s', (_name, doc, ops, status, detail) => {
    const before = JSON.stringify(doc);
    let err: unknown;
    try {
      applyJsonPatch(doc, ops);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    const e = err as ApiError;
    expect(e.code).toBe(status);
    if (status === 400) {
      expect(e).toBeInstanceOf(BadRequestError);
      expect(e.message).toMatch(detail);
    } else {
      expect(e).toBeInstanceOf(PatchApplyError);
      expect(e.reason).toBe('Invalid');
      expect(e.message).toBe('the server rejected our request due to an error in our request');
      expect((e as PatchApplyError).detail).toMatch(detail);
      expect(e.toStatus()).toMatchObject({ code: 422, reason: 'Invalid', details: { causes: [{ reason: 'UnexpectedServerResponse' }] } });
    }
    expect(JSON.stringify(doc)).toBe(before);
  });

  test('a failing operation leaves no partial result (atomic)', () => {
    const doc = { a: 1 };
    expect(() => applyJsonPatch(doc, [{ op: 'add', path: '/b', value: 2 }, { op: 'test', path: '/a', value: 2 }])).toThrow(PatchApplyError);
    expect(doc).toEqual({ a: 1 });
  });

  test.each<[string, string[]]>([
    ['', []],
    ['/', ['']],
    ['/a/b', ['a', 'b']],
    ['/a~1b/c~0d', ['a/b', 'c~d']],
    ['/~01', ['~1']],
  ])('pointer %j', (pointer, tokens) => {
    expect(parsePointer(pointer)).toEqual(tokens);
    expect(formatPointer(tokens)).toBe(pointer);
  });
});
