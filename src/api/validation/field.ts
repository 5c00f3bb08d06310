/**
 * Field-error construction and safe, type-checked reads of untrusted JSON.
 *
 * Contract: nothing in this module throws on any JSON-shaped input. Every reader returns
 * `undefined` for an absent (`undefined`/`null`) value and, for a value of the wrong JSON type,
 * records a `FieldValueTypeInvalid` error and also returns `undefined`, so validators can simply
 * skip what they cannot read.
 */
import type { FieldError } from '../../util/errors';

export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueDuplicate'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueNotFound'
  | 'FieldValueTypeInvalid';

export type Obj = Record<string, unknown>;

/** A plain JSON object (not null, not an array). */
export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isNil(v: unknown): v is null | undefined {
  return v === undefined || v === null;
}

// ---- paths --------------------------------------------------------------------------------

/** `child('spec', 'template')` -> `spec.template`; an empty base yields the bare name. */
export function child(base: string, ...names: string[]): string {
  let p = base;
  for (const n of names) p = p ? `${p}.${n}` : n;
  return p;
}

/** `idx('spec.containers', 0)` -> `spec.containers[0]`. */
export function idx(base: string, i: number): string {
  return `${base}[${i}]`;
}

/** `key('resources.requests', 'cpu')` -> `resources.requests[cpu]`. */
export function key(base: string, k: string): string {
  return `${base}[${k}]`;
}

// ---- value rendering -------------------------------------------------------------------------

const MAX_RENDER = 512;

/**
 * Renders a bad value the way Kubernetes' field errors do: strings quoted, numbers and booleans
 * bare, null as `null`, anything else as compact JSON (truncated when very long).
 */
export function renderValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v === undefined || v === null) return 'null';
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = Object.prototype.toString.call(v);
  }
  return s.length > MAX_RENDER ? s.slice(0, MAX_RENDER) + '...' : s;
}

/** A string map rendered like Go's `%#v`: `map[string]string{"a":"b", "c":"d"}` (keys sorted). */
export function renderStringMap(m: Record<string, unknown> | undefined): string {
  if (!m) return 'map[string]string(nil)';
  const parts = Object.keys(m)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(typeof m[k] === 'string' ? m[k] : String(m[k]))}`);
  return `map[string]string{${parts.join(', ')}}`;
}

/** Pre-rendered value for `invalid()` when the default rendering is not wanted. */
export class Rendered {
  constructor(readonly text: string) {}
}

function render(v: unknown): string {
  return v instanceof Rendered ? v.text : renderValue(v);
}

// ---- error constructors ----------------------------------------------------------------------

function fe(type: FieldErrorType, field: string, message: string): FieldError {
  return { type, field, message };
}

export function required(field: string, detail = ''): FieldError {
  return fe('FieldValueRequired', field, detail ? `Required value: ${detail}` : 'Required value');
}

export function invalid(field: string, value: unknown, detail = ''): FieldError {
  const s = `Invalid value: ${render(value)}`;
  return fe('FieldValueInvalid', field, detail ? `${s}: ${detail}` : s);
}

/** Supported values are listed sorted, quoted, comma-separated. */
export function notSupported(field: string, value: unknown, supported: readonly string[]): FieldError {
  let s = `Unsupported value: ${render(value)}`;
  if (supported.length) s += `: supported values: ${[...supported].sort().map((x) => JSON.stringify(x)).join(', ')}`;
  return fe('FieldValueNotSupported', field, s);
}

export function duplicate(field: string, value: unknown): FieldError {
  return fe('FieldValueDuplicate', field, `Duplicate value: ${render(value)}`);
}

export function forbidden(field: string, detail = ''): FieldError {
  return fe('FieldValueForbidden', field, detail ? `Forbidden: ${detail}` : 'Forbidden');
}

export function tooLong(field: string, maxBytes: number): FieldError {
  return fe('FieldValueTooLong', field, `Too long: may not be more than ${maxBytes} bytes`);
}

export function tooMany(field: string, actual: number, max: number): FieldError {
  return fe('FieldValueTooMany', field, `Too many: ${actual}: must have at most ${max} items`);
}

export function notFound(field: string, value: unknown): FieldError {
  return fe('FieldValueNotFound', field, `Not found: ${render(value)}`);
}

export function typeInvalid(field: string, value: unknown, detail: string): FieldError {
  return fe('FieldValueTypeInvalid', field, `Invalid value: ${render(value)}: ${detail}`);
}

export const IMMUTABLE = 'field is immutable';
export const NON_NEGATIVE = 'must be greater than or equal to 0';

// ---- checked readers -------------------------------------------------------------------------

/**
 * Collects errors and offers type-checked reads. Each reader treats `undefined`/`null` as
 * absent (returns undefined, no error) and a wrong JSON type as a `FieldValueTypeInvalid`.
 */
export class Ctx {
  readonly errs: FieldError[] = [];

  add(...e: FieldError[]): void {
    this.errs.push(...e);
  }

  obj(v: unknown, path: string): Obj | undefined {
    if (isNil(v)) return undefined;
    if (isObj(v)) return v;
    this.errs.push(typeInvalid(path, v, 'must be of type object'));
    return undefined;
  }

  arr(v: unknown, path: string): unknown[] | undefined {
    if (isNil(v)) return undefined;
    if (Array.isArray(v)) return v;
    this.errs.push(typeInvalid(path, v, 'must be of type array'));
    return undefined;
  }

  str(v: unknown, path: string): string | undefined {
    if (isNil(v)) return undefined;
    if (typeof v === 'string') return v;
    this.errs.push(typeInvalid(path, v, 'must be of type string'));
    return undefined;
  }

  /** An integer-valued JSON number (Kubernetes int32/int64 fields). */
  int(v: unknown, path: string): number | undefined {
    if (isNil(v)) return undefined;
    if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
    this.errs.push(typeInvalid(path, v, 'must be of type integer'));
    return undefined;
  }

  num(v: unknown, path: string): number | undefined {
    if (isNil(v)) return undefined;
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    this.errs.push(typeInvalid(path, v, 'must be of type number'));
    return undefined;
  }

  bool(v: unknown, path: string): boolean | undefined {
    if (isNil(v)) return undefined;
    if (typeof v === 'boolean') return v;
    this.errs.push(typeInvalid(path, v, 'must be of type boolean'));
    return undefined;
  }

  /** An IntOrString: integer number or string. */
  intOrStr(v: unknown, path: string): number | string | undefined {
    if (isNil(v)) return undefined;
    if (typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v))) return v;
    this.errs.push(typeInvalid(path, v, 'must be of type integer or string'));
    return undefined;
  }

  /** A map of string to string; entries with non-string values are reported and dropped. */
  strMap(v: unknown, path: string): Record<string, string> | undefined {
    const o = this.obj(v, path);
    if (!o) return undefined;
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(o)) {
      if (typeof val === 'string') out[k] = val;
      else this.errs.push(typeInvalid(key(path, k), val, 'must be of type string'));
    }
    return out;
  }

  /** An array of strings; non-string elements are reported and dropped. */
  strArr(v: unknown, path: string): string[] | undefined {
    const a = this.arr(v, path);
    if (!a) return undefined;
    const out: string[] = [];
    a.forEach((x, i) => {
      if (typeof x === 'string') out.push(x);
      else this.errs.push(typeInvalid(idx(path, i), x, 'must be of type string'));
    });
    return out;
  }

  /**
   * An array of objects: calls `each` for every object element with its path; non-object
   * elements are reported. Returns the object elements (with original indexes) for cross checks.
   */
  objArr(v: unknown, path: string, each?: (o: Obj, p: string, i: number) => void): Array<{ o: Obj; p: string; i: number }> {
    const a = this.arr(v, path);
    const out: Array<{ o: Obj; p: string; i: number }> = [];
    if (!a) return out;
    a.forEach((x, i) => {
      const p = idx(path, i);
      if (isObj(x)) {
        out.push({ o: x, p, i });
        each?.(x, p, i);
      } else {
        this.errs.push(typeInvalid(p, x, 'must be of type object'));
      }
    });
    return out;
  }

  // ---- common numeric rules --------------------------------------------------------------

  /** Reads an integer and requires it to be >= 0. */
  nonNegInt(v: unknown, path: string): number | undefined {
    const n = this.int(v, path);
    if (n !== undefined && n < 0) this.errs.push(invalid(path, n, NON_NEGATIVE));
    return n;
  }

  /** Reads an integer and requires it to be > 0. */
  posInt(v: unknown, path: string): number | undefined {
    const n = this.int(v, path);
    if (n !== undefined && n <= 0) this.errs.push(invalid(path, n, 'must be greater than 0'));
    return n;
  }

  /** Reads a string and requires it to be one of `allowed` (empty string counts as absent unless allowed). */
  enumStr(v: unknown, path: string, allowed: readonly string[], opts: { required?: boolean; requiredDetail?: string } = {}): string | undefined {
    const s = this.str(v, path);
    if (s === undefined) {
      if (opts.required && isNil(v)) this.errs.push(required(path, opts.requiredDetail ?? ''));
      return undefined;
    }
    if (s === '' && !allowed.includes('')) {
      if (opts.required) this.errs.push(required(path, opts.requiredDetail ?? ''));
      return undefined;
    }
    if (!allowed.includes(s)) {
      this.errs.push(notSupported(path, s, allowed));
      return undefined;
    }
    return s;
  }
}

/** Structural equality for JSON values (key order ignored; undefined members ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  const ao = a as Obj;
  const bo = b as Obj;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  if (ak.length !== bk.length) return false;
  for (const k of ak) {
    if (!Object.prototype.hasOwnProperty.call(bo, k)) return false;
    if (!deepEqual(ao[k], bo[k])) return false;
  }
  return true;
}

/** JSON-ish deep clone (for comparing modified copies in update validation). */
export function clone<T>(v: T): T {
  if (v === undefined) return v;
  try {
    return JSON.parse(JSON.stringify(v)) as T;
  } catch {
    return v;
  }
}
