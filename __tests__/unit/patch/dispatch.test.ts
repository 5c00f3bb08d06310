import { applyPatch, PatchApplyError } from '../../../src/apiserver/patch';
import { BadRequestError, UnsupportedMediaTypeError } from '../../../src/util/errors';

/* eslint-disable @typescript-eslint/no-explicit-any */

const pod = () => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', labels: { app: 'web' } },
  spec: { containers: [{ name: 'a', image: '1' }, { name: 'b', image: '2' }] },
});

describe('applyPatch dispatcher', () => {
  test.each<[string, unknown, any]>([
    ['application/json-patch+json', [{ op: 'replace', path: '/spec/containers/0/image', value: '3' }], { containers: [{ name: 'a', image: '3' }, { name: 'b', image: '2' }] }],
    ['application/merge-patch+json', { spec: { containers: [{ name: 'a', image: '3' }] } }, { containers: [{ name: 'a', image: '3' }] }],
    ['application/strategic-merge-patch+json', { spec: { containers: [{ name: 'a', image: '3' }] } }, { containers: [{ name: 'a', image: '3' }, { name: 'b', image: '2' }] }],
    ['application/strategic-merge-patch+json; charset=utf-8', { spec: { containers: [{ name: 'b', image: '4' }] } }, { containers: [{ name: 'a', image: '1' }, { name: 'b', image: '4' }] }],
    ['Application/Merge-Patch+JSON', { spec: { x: 1 } }, { containers: pod().spec.containers, x: 1 }],
  ])('%s', (ct, body, spec) => {
    const doc = pod();
    const out = applyPatch(doc, body, ct, 'Pod') as any;
    expect(out.spec).toEqual(spec);
    expect(doc).toEqual(pod());
  });

  test('raw string and Buffer bodies are parsed', () => {
    expect((applyPatch(pod(), '{"metadata":{"labels":{"app":null}}}', 'application/merge-patch+json', 'Pod') as any).metadata.labels).toEqual({});
    expect((applyPatch(pod(), Buffer.from('[{"op":"add","path":"/metadata/labels/x","value":"y"}]'), 'application/json-patch+json', 'Pod') as any).metadata.labels).toEqual({ app: 'web', x: 'y' });
  });

  test('invalid JSON in a raw body is a bad request', () => {
    expect(() => applyPatch(pod(), '{nope', 'application/merge-patch+json', 'Pod')).toThrow(BadRequestError);
  });

  test('a null merge or strategic patch is a no-op', () => {
    expect(applyPatch(pod(), null, 'application/merge-patch+json', 'Pod')).toEqual(pod());
    expect(applyPatch(pod(), null, 'application/strategic-merge-patch+json', 'Pod')).toEqual(pod());
  });

  test.each<[string, unknown]>([
    ['application/merge-patch+json', [1]],
    ['application/merge-patch+json', 'x'],
    ['application/strategic-merge-patch+json', [1]],
    ['application/json-patch+json', { op: 'add' }],
  ])('%s with a body of the wrong shape is a bad request', (ct, body) => {
    expect(() => applyPatch(pod(), body, ct, 'Pod')).toThrow(BadRequestError);
  });

  test('a failed json patch test is 422', () => {
    expect(() => applyPatch(pod(), [{ op: 'test', path: '/metadata/name', value: 'q' }], 'application/json-patch+json', 'Pod')).toThrow(PatchApplyError);
  });

  test.each(['application/json', 'application/apply-patch+yaml', 'text/plain', ''])('unsupported media type %j', (ct) => {
    let err: unknown;
    try {
      applyPatch(pod(), {}, ct, 'Pod');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsupportedMediaTypeError);
    expect((err as UnsupportedMediaTypeError).code).toBe(415);
  });
});
