/**
 * Robustness: defaulting and validation must never throw, whatever JSON they are handed; wrong
 * types become field errors.
 */
import { applyDefaultsUnchecked } from '../../../src/api/defaults';
import { validateObject } from '../../../src/api/validation';
import type { KObject } from '../../../src/api/types';
import type { FieldError } from '../../../src/util/errors';
import { Any, allValid, clone, defaulted, fmt, pod, set } from './helpers';

function deep(n: number, leaf: unknown = 'x'): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < n; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

const JUNK: unknown[] = [
  0,
  -1,
  1.5,
  1e308,
  -0,
  '',
  'x',
  'Foo_bar',
  '   ',
  '\u0000',
  '%2F..',
  true,
  false,
  null,
  [],
  [1, 'a', null, {}],
  [[[[]]]],
  {},
  { a: { b: { c: [] } } },
  { '': '' },
  JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1}'),
  deep(60),
  deep(2000),
];

/** Every path (dotted, with [i]) of a JSON value. */
function paths(v: unknown, base = ''): string[] {
  const out: string[] = [];
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      const p = `${base}[${i}]`;
      out.push(p, ...paths(x, p));
    });
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (/[.[\]]/.test(k)) continue;
      const p = base ? `${base}.${k}` : k;
      out.push(p, ...paths(x, p));
    }
  }
  return out;
}

/** Small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function run(obj: unknown, old?: unknown): FieldError[] {
  // Both steps must complete without throwing (the unchecked defaulter has no safety net).
  applyDefaultsUnchecked(obj as KObject);
  if (old !== undefined) applyDefaultsUnchecked(old as KObject);
  const errs = validateObject(obj as KObject, old as KObject | undefined);
  const internal = errs.filter((e) => e.type === 'InternalError');
  if (internal.length) throw new Error(`validator bug: ${fmt(internal)}`);
  expect(Array.isArray(errs)).toBe(true);
  for (const e of errs) {
    expect(typeof e.field).toBe('string');
    expect(typeof e.message).toBe('string');
    expect(typeof e.type).toBe('string');
  }
  return errs;
}

const kinds = allValid();

describe('garbage at the top level', () => {
  test.each<unknown>([
    null,
    undefined,
    5,
    'Pod',
    [],
    [pod()],
    {},
    { kind: 5, apiVersion: [] },
    { kind: 'Pod' },
    { kind: 'Pod', apiVersion: 'v1' },
    { kind: 'Pod', apiVersion: 'v1', metadata: 'web' },
    { kind: 'Pod', apiVersion: 'v1', metadata: [], spec: 'nginx' },
    { kind: 'Pod', apiVersion: 'v1', metadata: { name: ['a'] }, spec: { containers: 'nginx' } },
    { kind: 'Deployment', apiVersion: 'apps/v1', metadata: { name: 'x', namespace: 'd' }, spec: [] },
    { kind: 'Service', apiVersion: 'v1', metadata: { name: 'x', namespace: 'd' }, spec: { ports: {} } },
    { kind: '__proto__', apiVersion: 'constructor/v1', metadata: { name: 'x' } },
    { kind: 'toString', apiVersion: 'v1', metadata: { name: 'x' } },
  ])('%p', (obj) => {
    expect(() => run(clone(obj === undefined ? null : obj))).not.toThrow();
  });

  test('non-object input is reported, not thrown', () => {
    expect(validateObject(7 as unknown as KObject)[0]).toMatchObject({ type: 'FieldValueTypeInvalid' });
  });
});

describe.each(kinds.map((k) => [k.kind, k] as const))('%s with junk at every path', (_kind, valid) => {
  const base = defaulted(valid);
  const all = paths(base);

  test('every path × every junk value: no throw', () => {
    for (const p of all) {
      for (const j of JUNK) {
        const obj = set(clone(base), p, j === undefined ? undefined : JSON.parse(JSON.stringify(j) ?? 'null'));
        try {
          run(obj);
          run(clone(obj), base);
        } catch (e) {
          throw new Error(`${p} = ${JSON.stringify(j)?.slice(0, 80)}: ${(e as Error).stack}`);
        }
      }
    }
  });

  test('random multi-point corruption (seeded)', () => {
    const r = rng(valid.kind.length * 7919);
    for (let round = 0; round < 150; round++) {
      const obj = clone(base);
      const n = 1 + Math.floor(r() * 4);
      for (let i = 0; i < n; i++) {
        const p = all[Math.floor(r() * all.length)];
        const j = JUNK[Math.floor(r() * JUNK.length)];
        if (p) set(obj, p, JSON.parse(JSON.stringify(j) ?? 'null'));
      }
      run(clone(obj));
      run(clone(obj), clone(base));
      run(clone(base), clone(obj));
    }
  });
});

describe('wrong JSON types become errors', () => {
  const P = (path: string, v: unknown): Any => set(clone(pod()), path, v);
  test.each<[string, Any, string]>([
    ['spec as string', P('spec', 'nginx'), 'spec'],
    ['containers as object', P('spec.containers', { name: 'a' }), 'spec.containers'],
    ['container as string', P('spec.containers', ['nginx']), 'spec.containers[0]'],
    ['image as number', P('spec.containers[0].image', 5), 'spec.containers[0].image'],
    ['image as array', P('spec.containers[0].image', ['nginx']), 'spec.containers[0].image'],
    ['ports as number', P('spec.containers[0].ports', 80), 'spec.containers[0].ports'],
    ['containerPort as string', P('spec.containers[0].ports', [{ containerPort: '80' }]), 'spec.containers[0].ports[0].containerPort'],
    ['env as object', P('spec.containers[0].env', { A: '1' }), 'spec.containers[0].env'],
    ['env value as number', P('spec.containers[0].env', [{ name: 'A', value: 1 }]), 'spec.containers[0].env[0].value'],
    ['command as string', P('spec.containers[0].command', 'sh -c x'), 'spec.containers[0].command'],
    ['args with number', P('spec.containers[0].args', ['a', 2]), 'spec.containers[0].args[1]'],
    ['resources as string', P('spec.containers[0].resources', '1cpu'), 'spec.containers[0].resources'],
    ['limits as array', P('spec.containers[0].resources', { limits: ['1'] }), 'spec.containers[0].resources.limits'],
    ['restartPolicy as bool', P('spec.restartPolicy', true), 'spec.restartPolicy'],
    ['labels as array', P('metadata.labels', ['a=b']), 'metadata.labels'],
    ['name as number', P('metadata.name', 42), 'metadata.name'],
    ['volumes as object', P('spec.volumes', { data: {} }), 'spec.volumes'],
    ['hostNetwork as string', P('spec.hostNetwork', 'true'), 'spec.hostNetwork'],
    ['tolerations as string', P('spec.tolerations', 'all'), 'spec.tolerations'],
    ['nodeSelector value number', P('spec.nodeSelector', { zone: 1 }), 'spec.nodeSelector[zone]'],
    ['grace period float', P('spec.terminationGracePeriodSeconds', 1.5), 'spec.terminationGracePeriodSeconds'],
    ['probe as string', P('spec.containers[0].livenessProbe', 'http'), 'spec.containers[0].livenessProbe'],
  ])('%s', (_d, obj, field) => {
    const errs = run(obj);
    const hit = errs.find((e) => e.field === field && (e.type === 'FieldValueTypeInvalid' || e.type === 'FieldValueInvalid'));
    if (!hit) throw new Error(`no type error on ${field}:\n${fmt(errs)}`);
  });

  test.each(['apps/v1/Deployment', 'batch/v1/Job', 'v1/Pod'])('deeply nested junk does not overflow (%s)', (gvk) => {
    const i = gvk.lastIndexOf('/');
    const make = (): Any => ({
      apiVersion: gvk.slice(0, i),
      kind: gvk.slice(i + 1),
      metadata: { name: 'x', namespace: 'd', uid: 'u' },
      spec: { selector: { matchLabels: { a: 'b' } }, template: deep(3000), containers: [{ name: 'a', image: 'b', env: deep(3000) }] },
    });
    expect(() => run(make(), make())).not.toThrow();
  });

  test('__proto__ keys are treated as plain data', () => {
    const obj = JSON.parse('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"d","labels":{"__proto__":"x"}},"data":{"__proto__":"y"}}');
    const errs = run(obj);
    expect(({} as Any).polluted).toBeUndefined();
    expect(Array.isArray(errs)).toBe(true);
  });
});
