import { deepClone, isObject, JsonObject, setOwn } from './json-util';

/**
 * JSON Merge Patch (RFC 7386), `application/merge-patch+json`.
 *
 * `applyMergePatch(doc, patch)` returns a new value; inputs are never modified.
 * - a patch that is not an object replaces the target whole (so arrays and scalars replace);
 * - an object patch merges member by member into the target (a non-object target is
 *   first replaced by `{}`): `null` removes the member, anything else merges recursively.
 * Nulls nested inside values that are added are dropped, as the RFC's algorithm does.
 *
 * kubectl sends merge patches for `kubectl label`/`annotate` (`{"metadata":{"labels":{"k":null}}}`
 * removes a label), `kubectl scale` (`{"spec":{"replicas":3}}`) and for custom resources.
 * The caller decides whether a non-object patch is acceptable for a whole resource
 * (the dispatcher in index.ts rejects it with 400).
 */
export function applyMergePatch(doc: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return deepClone(patch);
  const target: JsonObject = isObject(doc) ? deepClone(doc) : {};
  mergeInto(target, patch);
  return target;
}

/** Merges `patch` into `target` (owned, modified in place); `patch` is only read. */
function mergeInto(target: JsonObject, patch: JsonObject): void {
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (value === undefined) continue;
    if (value === null) {
      delete target[key];
      continue;
    }
    if (isObject(value)) {
      const current = Object.prototype.hasOwnProperty.call(target, key) ? target[key] : undefined;
      const next: JsonObject = isObject(current) ? current : {};
      mergeInto(next, value);
      setOwn(target, key, next);
    } else {
      setOwn(target, key, deepClone(value));
    }
  }
}
