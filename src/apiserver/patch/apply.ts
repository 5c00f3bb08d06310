import type { KObject } from '../../api/types';
import { BadRequestError } from '../../util/errors';
import { deepClone, getOwn, hasOwn, isObject, JsonObject, jsonType, setOwn } from './json-util';
import { orderMergedList, sameElement } from './list-order';
import { FieldSchema, fieldSchemaOf, rootTypeForKind } from './schema';

/**
 * Minimal server-side apply (`application/apply-patch+yaml`) without field ownership:
 * merges the applied configuration into the live object and returns a new object; inputs
 * are never modified.
 *
 * - fields present in `applied` override `live`, maps recursively;
 * - fields absent from `applied` are kept (there is no managedFields tracking, so applying
 *   a configuration without a field never removes it);
 * - `null` in `applied` means "not specified": the live value is kept;
 * - lists with a merge key in schema.ts (containers by name, env by name, ports, ...) merge
 *   element by element; the result follows the applied order, with live-only elements kept
 *   next to their live neighbours; scalar merge lists (finalizers) are unions;
 * - every other list (and every list of an unknown kind) is replaced by the applied one;
 * - retainKeys fields (Deployment spec.strategy, each PodSpec volume) keep only the keys
 *   present in the applied value, so switching `strategy.type` to Recreate drops
 *   `rollingUpdate` and switching a volume source drops the old source;
 * - map fields with patchStrategy replace (PodDisruptionBudget spec.selector) are replaced.
 *
 * No key is treated as a directive. Identity/metadata rules (name, resourceVersion,
 * managedFields, ...) are the caller's business: metadata merges like any other map.
 * An element of a merge-keyed list without its key is a BadRequestError (400).
 */
export function mergeForServerSideApply(live: KObject, applied: KObject, kind: string): KObject {
  if (!isObject(applied)) throw new BadRequestError(`the applied configuration must be an object, got ${jsonType(applied)}`);
  const target: JsonObject = isObject(live) ? deepClone(live) : {};
  return applyMap(target, applied, rootTypeForKind(kind), '', false) as KObject;
}

function at(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** Applies `applied` (read only) onto `target` (owned, modified and returned). */
function applyMap(target: JsonObject, applied: JsonObject, type: string | undefined, path: string, retainKeys: boolean): JsonObject {
  if (retainKeys) {
    for (const k of Object.keys(target)) {
      const v = getOwn(applied, k);
      if (v === undefined || v === null) delete target[k];
    }
  }
  for (const key of Object.keys(applied)) {
    const value = applied[key];
    if (value === null || value === undefined) continue;
    const fs = fieldSchemaOf(type, key);
    const sub = at(path, key);
    const current = getOwn(target, key);
    if (isObject(value)) {
      const base = isObject(current) && !fs?.replace ? current : {};
      setOwn(target, key, applyMap(base, value, fs?.type, sub, fs?.retainKeys === true));
    } else if (Array.isArray(value)) {
      setOwn(target, key, applyList(Array.isArray(current) ? current : [], value, fs, sub));
    } else {
      setOwn(target, key, deepClone(value));
    }
  }
  return target;
}

/** A list value: merged into `live` (owned) for merge-strategy fields, otherwise replaced. */
function applyList(live: unknown[], applied: unknown[], fs: FieldSchema | undefined, path: string): unknown[] {
  const fresh = (e: unknown): unknown => (isObject(e) ? applyMap({}, e, fs?.type, path, false) : deepClone(e));
  if (!fs?.merge) return applied.map(fresh);

  const allScalars = [...live, ...applied].every((e) => !isObject(e) && !Array.isArray(e));
  if (allScalars) {
    const merged: unknown[] = [];
    for (const v of [...live, ...applied]) if (!merged.some((m) => sameElement(m, v, undefined))) merged.push(v);
    return orderMergedList(merged, applied, live, undefined);
  }

  const mergeKey = fs.mergeKey;
  const allObjects = [...live, ...applied].every((e) => isObject(e));
  if (mergeKey === undefined || !allObjects) return applied.map(fresh);

  const merged = live.slice();
  for (const e of applied as JsonObject[]) {
    if (!hasOwn(e, mergeKey) || e[mergeKey] === null) {
      throw new BadRequestError(`${path}: element ${JSON.stringify(e).slice(0, 200)} does not contain the merge key ${JSON.stringify(mergeKey)}`);
    }
    const i = merged.findIndex((o) => sameElement(o, e, mergeKey));
    if (i >= 0) merged[i] = applyMap(merged[i] as JsonObject, e, fs.type, path, fs.retainKeys === true);
    else merged.push(applyMap({}, e, fs.type, path, false));
  }
  return orderMergedList(merged, applied, live, mergeKey);
}
