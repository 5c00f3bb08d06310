/**
 * Kubernetes resource quantities (`100m`, `64Mi`, `1.5`, `2e3`, `1G`).
 *
 * Values are plain JavaScript numbers in base units: cores for cpu (`100m` -> 0.1), bytes for
 * memory and storage (`64Mi` -> 67108864). Precision is that of a double, which is ample for
 * scheduling arithmetic; exact decimal canonicalisation is done by `formatQuantity`.
 */

/** The syntax message Kubernetes reports for an unparseable quantity. */
export const QUANTITY_SYNTAX_MESSAGE =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

const QUANTITY_RE = /^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/;

/** Decimal suffixes as powers of ten (parsed through the exponent form, which rounds exactly). */
const DECIMAL_EXPONENT: Record<string, number> = { '': 0, n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

const BINARY_MULTIPLIER: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/**
 * Parses a quantity string (or a JSON number, which Kubernetes also accepts) into base units.
 * Returns undefined for anything that is not a valid quantity; never throws.
 */
export function tryParseQuantity(q: unknown): number | undefined {
  if (typeof q === 'number') return Number.isFinite(q) ? q : undefined;
  if (typeof q !== 'string') return undefined;
  const m = QUANTITY_RE.exec(q);
  if (!m) return undefined;
  const [, sign, digits, suffix = ''] = m;
  let v: number;
  if (/^[eE][+-]?[0-9]+$/.test(suffix)) {
    v = Number(`${digits}e${suffix.slice(1)}`);
  } else if (suffix in DECIMAL_EXPONENT) {
    v = Number(`${digits}e${DECIMAL_EXPONENT[suffix]}`);
  } else {
    v = Number(digits) * BINARY_MULTIPLIER[suffix];
  }
  if (!Number.isFinite(v)) return undefined;
  return sign === '-' ? -v : v;
}

/** True when `q` is a quantity string or a finite number. */
export function isValidQuantity(q: unknown): boolean {
  return tryParseQuantity(q) !== undefined;
}

/**
 * Parses a quantity into base units. Contract: throws an Error whose message is the
 * Kubernetes syntax message when `q` is not a valid quantity; use `tryParseQuantity` for a
 * non-throwing variant. Objects that passed `validateObject` only hold valid quantities.
 */
export function parseQuantity(q: string | number): number {
  const v = tryParseQuantity(q);
  if (v === undefined) throw new Error(`${JSON.stringify(q)}: ${QUANTITY_SYNTAX_MESSAGE}`);
  return v;
}

export type QuantityFormat = 'DecimalSI' | 'BinarySI';

const DECIMAL_STEPS: Array<[bigint, string]> = [
  [27n, 'E'],
  [24n, 'P'],
  [21n, 'T'],
  [18n, 'G'],
  [15n, 'M'],
  [12n, 'k'],
  [9n, ''],
  [6n, 'm'],
  [3n, 'u'],
  [0n, 'n'],
];

const BINARY_STEPS: Array<[bigint, string]> = [
  [60n, 'Ei'],
  [50n, 'Pi'],
  [40n, 'Ti'],
  [30n, 'Gi'],
  [20n, 'Mi'],
  [10n, 'Ki'],
];

/** Value in nano-units, rounded away from zero at nano precision like Kubernetes rounds up. */
function toNanos(v: number): bigint {
  if (Number.isInteger(v) && Math.abs(v) <= Number.MAX_SAFE_INTEGER) return BigInt(v) * 1_000_000_000n;
  const scaled = v * 1e9;
  // Tolerate binary floating noise (0.1 * 1e9 = 100000000.00000001) before rounding up.
  const near = Math.round(scaled);
  const r = Math.abs(scaled - near) < 1e-6 * Math.max(1, Math.abs(scaled)) ? near : scaled > 0 ? Math.ceil(scaled) : Math.floor(scaled);
  return BigInt(r);
}

/**
 * Formats base units canonically, as Kubernetes prints quantities: DecimalSI picks the largest
 * SI suffix that keeps an integer mantissa (0.1 -> `100m`, 1000 -> `1k`, 1500 -> `1500`);
 * BinarySI uses Ki..Ei for integers divisible by 1024 (67108864 -> `64Mi`) and falls back to
 * DecimalSI otherwise (1536 -> `1536`, 0.5 -> `500m`). Non-finite input formats as `0`.
 */
export function formatQuantity(value: number, format: QuantityFormat = 'DecimalSI'): string {
  if (!Number.isFinite(value) || value === 0) return '0';
  const nanos = toNanos(value);
  if (nanos === 0n) return '0';
  const neg = nanos < 0n;
  const abs = neg ? -nanos : nanos;
  const sign = neg ? '-' : '';
  if (format === 'BinarySI' && abs % 1_000_000_000n === 0n) {
    const whole = abs / 1_000_000_000n;
    for (const [shift, suffix] of BINARY_STEPS) {
      const unit = 1n << shift;
      if (whole % unit === 0n) return `${sign}${whole / unit}${suffix}`;
    }
    return `${sign}${whole}`;
  }
  for (const [exp, suffix] of DECIMAL_STEPS) {
    const unit = 10n ** exp;
    if (abs % unit === 0n) return `${sign}${abs / unit}${suffix}`;
  }
  return `${sign}${abs}n`;
}

/**
 * Canonical form of a quantity string, keeping its family (binary suffix input stays
 * binary): `1024Mi` -> `1Gi`, `0.5` -> `500m`, `1000` -> `1k`. Returns the input unchanged when
 * it is not a valid quantity.
 */
export function canonicalQuantity(q: string | number): string {
  const v = tryParseQuantity(q);
  if (v === undefined) return String(q);
  const binary = typeof q === 'string' && /(Ki|Mi|Gi|Ti|Pi|Ei)$/.test(q);
  return formatQuantity(v, binary ? 'BinarySI' : 'DecimalSI');
}
