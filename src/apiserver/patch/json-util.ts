/**
 * JSON value helpers shared by the patch implementations. Values are plain JSON trees:
 * null, booleans, numbers, strings, arrays and plain objects. Anything else (a `Date`
 * produced by a YAML decoder, a Buffer) is treated as an opaque scalar.
 *
 * Object keys are always read and written as own properties, so a patch can never reach
 * `Object.prototype` through keys such as `__proto__` or `constructor`.
 */

export type JsonObject = { [key: string]: unknown };

/** True for plain objects (`{}` literals, JSON.parse output); false for arrays, null, class instances. */
export function isObject(v: unknown): v is JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function hasOwn(o: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

/** Reads an own property; inherited properties read as undefined. */
export function getOwn(o: JsonObject, key: string): unknown {
  return hasOwn(o, key) ? o[key] : undefined;
}

/** Writes an own, enumerable property, even for the key `__proto__`. */
export function setOwn(o: JsonObject, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    o[key] = value;
  }
}

/**
 * Deep copy of a JSON tree. Object members whose value is `undefined` are dropped (as
 * JSON.stringify would); opaque scalars are shared.
 */
export function deepClone<T>(v: T): T {
  if (Array.isArray(v)) return v.map((e) => deepClone(e)) as unknown as T;
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const k of Object.keys(v)) {
      const e = v[k];
      if (e !== undefined) setOwn(out, k, deepClone(e));
    }
    return out as T;
  }
  return v;
}

/** Structural equality of two JSON values; object key order does not matter. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    if (ka.length !== kb.length) return false;
    for (const k of ka) if (!hasOwn(b, k) || !deepEqual(a[k], b[k])) return false;
    return true;
  }
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  return false;
}

/** A short JSON rendering of a value for error messages. */
export function describe(v: unknown, max = 200): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > max ? s.slice(0, max) + '...' : s;
}

/** The JSON type name of a value, for error messages. */
export function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (isObject(v)) return 'object';
  return typeof v;
}
