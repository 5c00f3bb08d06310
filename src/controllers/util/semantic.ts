import { deepEqual } from '../../util/equal';

/**
 * Semantic equality of API objects held as JSON, approximating Kubernetes'
 * `apiequality.Semantic.DeepEqual` on typed structs: a `null` member is the same as an absent one
 * (Go zero values such as the `creationTimestamp: null` kubectl sends back in pod templates), and
 * empty objects/arrays are the same as absent ones (nil and empty maps/slices compare equal).
 */
export function semanticNormalize<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => semanticNormalize(x)) as unknown as T;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (x === null || x === undefined) continue;
    const n = semanticNormalize(x);
    if (typeof n === 'object' && n !== null && (Array.isArray(n) ? n.length === 0 : Object.keys(n).length === 0)) continue;
    out[k] = n;
  }
  return out as T;
}

export function semanticEqual(a: unknown, b: unknown): boolean {
  return deepEqual(semanticNormalize(a ?? {}), semanticNormalize(b ?? {}));
}
