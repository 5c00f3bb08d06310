import { canonicalQuantity, formatQuantity, isValidQuantity, parseQuantity, QUANTITY_SYNTAX_MESSAGE, tryParseQuantity } from '../../../src/api/quantity';

describe('parseQuantity', () => {
  test.each<[string | number, number]>([
    ['0', 0],
    ['1', 1],
    ['100m', 0.1],
    ['1.5', 1.5],
    ['250m', 0.25],
    ['1.1m', 0.0011],
    ['64Mi', 64 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1Ki', 1024],
    ['2Ti', 2 * 2 ** 40],
    ['1Pi', 2 ** 50],
    ['1Ei', 2 ** 60],
    ['1k', 1000],
    ['1M', 1e6],
    ['1G', 1e9],
    ['1T', 1e12],
    ['1P', 1e15],
    ['1E', 1e18],
    ['5n', 5e-9],
    ['5u', 5e-6],
    ['1e3', 1000],
    ['1E3', 1000],
    ['1.5e-3', 0.0015],
    ['2e+2', 200],
    ['+1', 1],
    ['-1', -1],
    ['.5', 0.5],
    ['1.', 1],
    ['0.5Gi', 2 ** 29],
    [3, 3],
    [0.5, 0.5],
  ])('%p -> %p', (input, expected) => {
    const got = parseQuantity(input);
    expect(Math.abs(got - expected)).toBeLessThanOrEqual(Math.abs(expected) * 1e-12 + 1e-18);
    expect(isValidQuantity(input)).toBe(true);
  });

  test.each<unknown>(['', 'abc', '1Z', '1 Gi', ' 1', '1Mi ', '1.2.3', '1mi', '1KiB', '--1', '.', 'e3', '1e', '1ee3', 'Mi', NaN, Infinity, null, undefined, {}, [], true])(
    'invalid %p',
    (input) => {
      expect(tryParseQuantity(input)).toBeUndefined();
      expect(isValidQuantity(input)).toBe(false);
    },
  );

  test('parseQuantity throws the Kubernetes syntax message on bad input', () => {
    expect(() => parseQuantity('abc')).toThrow(QUANTITY_SYNTAX_MESSAGE);
  });
});

describe('formatQuantity', () => {
  test.each<[number, 'DecimalSI' | 'BinarySI' | undefined, string]>([
    [0, undefined, '0'],
    [0.1, undefined, '100m'],
    [0.25, undefined, '250m'],
    [1, undefined, '1'],
    [1.5, undefined, '1500m'],
    [1000, undefined, '1k'],
    [1500, undefined, '1500'],
    [2e6, undefined, '2M'],
    [1e9, undefined, '1G'],
    [5e-9, undefined, '5n'],
    [0.000005, undefined, '5u'],
    [-0.5, undefined, '-500m'],
    [64 * 2 ** 20, 'BinarySI', '64Mi'],
    [2 ** 30, 'BinarySI', '1Gi'],
    [1024, 'BinarySI', '1Ki'],
    [1536, 'BinarySI', '1536'],
    [1000, 'BinarySI', '1000'],
    [0.5, 'BinarySI', '500m'],
    [3 * 2 ** 40, 'BinarySI', '3Ti'],
    [NaN, undefined, '0'],
    [Infinity, 'BinarySI', '0'],
  ])('%p (%p) -> %p', (v, f, expected) => {
    expect(formatQuantity(v, f)).toBe(expected);
  });

  test.each(['100m', '64Mi', '1Gi', '1', '1500m', '2k', '5n'])('round-trips %p', (q) => {
    const binary = /i$/.test(q);
    expect(formatQuantity(parseQuantity(q), binary ? 'BinarySI' : 'DecimalSI')).toBe(q);
  });

  test.each([
    ['1024Mi', '1Gi'],
    ['0.5', '500m'],
    ['1000', '1k'],
    ['2048Ki', '2Mi'],
    ['1e3', '1k'],
    ['bogus', 'bogus'],
  ])('canonicalQuantity(%p) = %p', (q, expected) => {
    expect(canonicalQuantity(q)).toBe(expected);
  });
});
