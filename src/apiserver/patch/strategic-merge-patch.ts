import { BadRequestError } from '../../util/errors';
import { PatchApplyError } from './errors';
import { deepClone, deepEqual, describe, getOwn, hasOwn, isObject, JsonObject, jsonType, setOwn } from './json-util';
import { orderMergedList, sameElement } from './list-order';
import { FieldSchema, fieldSchemaOf, isKnownKind, rootTypeForKind } from './schema';

/**
 * Kubernetes strategic merge patch, `application/strategic-merge-patch+json`, as applied
 * by the apiserver (k8s.io/apimachinery strategicpatch, server side).
 *
 * `applyStrategicMergePatch(doc, patch, kind)` returns a new object; inputs are never
 * modified. `kind` (e.g. `Deployment`) selects the merge metadata in schema.ts.
 *
 * Semantics:
 * - maps merge recursively; `null` deletes a key; scalars and mismatched types replace;
 *   nulls inside newly added values are dropped;
 * - lists with `patchStrategy: merge` merge: lists of objects element-wise by merge key
 *   (new elements are added, matching ones merged recursively), lists of scalars as a set
 *   (metadata.finalizers); every other list is replaced whole;
 * - maps with `patchStrategy: replace` (PodDisruptionBudget spec.selector) are replaced;
 * - kinds unknown to the table (custom resources) merge like a JSON merge patch: maps merge,
 *   lists replace; directives are still honoured and never stored.
 *
 * Directives (never stored in the result):
 * - `"$patch": "replace"` in a map: the map becomes the rest of the patch map;
 *   as a list element: the list becomes the other patch elements;
 * - `"$patch": "delete"` in a map: the map becomes `{}` (it is left absent when it did not
 *   exist); as a list element `{"name": "x", "$patch": "delete"}`: removes the elements with
 *   that merge key value;
 * - `"$patch": "merge"`: the default; accepted and ignored (the apiserver rejects it);
 * - `"$retainKeys": [keys]`: the map keeps only these keys (then the patch merges in);
 *   every non-null key of the patch map must be listed;
 * - `"$setElementOrder/<list>": [elements]`: the merged list follows this order (elements
 *   given by merge key for lists of objects); live elements it does not mention stay near
 *   their live neighbours. Its patch list must list elements in the same relative order;
 * - `"$deleteFromPrimitiveList/<list>": [values]`: removes these values from a scalar list
 *   (applied after the merge of `<list>`).
 *
 * Ordering of merged lists without `$setElementOrder` follows the apiserver: patch
 * elements in patch order, live-only elements interleaved by their live position, so a
 * new element added by a plain `kubectl patch` lands before the live elements.
 *
 * Errors: a malformed patch (non-object patch, bad directive value, unknown `$patch`,
 * element without its merge key, mixed element types, `$setElementOrder` inconsistent
 * with its list) is a BadRequestError (400; the apiserver answers some of these with 500);
 * a list of lists in a merged list is a PatchApplyError (422), as in the apiserver.
 */
export function applyStrategicMergePatch(doc: unknown, patch: unknown, kind: string): unknown {
  if (patch === null || patch === undefined) return deepClone(doc);
  if (!isObject(patch)) {
    throw new BadRequestError(`a strategic merge patch must be a JSON object, got ${jsonType(patch)}`);
  }
  const original: JsonObject = isObject(doc) ? deepClone(doc) : {};
  return mergeMap(original, deepClone(patch), rootTypeForKind(kind), '');
}

/** True when `kind` has strategic merge metadata; other kinds merge like a JSON merge patch. */
export function hasStrategicMergeSchema(kind: string): boolean {
  return isKnownKind(kind);
}

const PATCH = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ELEMENT_ORDER = '$setElementOrder';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList';

/** Marker for a value that must not be stored (a `$patch: delete` map that did not exist). */
const OMIT: unique symbol = Symbol('omit');

function at(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function badRequest(path: string, message: string): BadRequestError {
  return new BadRequestError(path ? `${path}: ${message}` : message);
}

/** `$setElementOrder/containers` → `containers`; errors when the suffix is missing. */
function directiveTarget(key: string, prefix: string, path: string, what: string): string {
  const target = key.startsWith(prefix + '/') ? key.slice(prefix.length + 1) : '';
  if (!target) throw badRequest(path, `invalid patch format of ${what}: ${JSON.stringify(key)}`);
  return target;
}

/**
 * Merges `patch` into `original`. Both are owned copies: `original` is modified and
 * returned (or a new map for `$patch` replace/delete); `patch` is consumed.
 */
function mergeMap(original: JsonObject, patch: JsonObject, type: string | undefined, path: string): JsonObject {
  if (hasOwn(patch, PATCH)) {
    const directive = patch[PATCH];
    delete patch[PATCH];
    if (directive === 'delete') return {};
    if (directive === 'replace') return mergeMap({}, patch, type, path);
    if (directive !== 'merge') {
      throw badRequest(path, `unknown patch type ${describe(directive)} in map ${describe(patch)}`);
    }
  }

  applyRetainKeys(original, patch, path);
  applySetElementOrder(original, patch, type, path);

  const deletions: Array<[string, unknown]> = [];
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (value === undefined) continue;
    if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      deletions.push([directiveTarget(key, DELETE_FROM_PRIMITIVE_LIST, path, 'primitive list'), value]);
      continue;
    }
    const sub = at(path, key);
    if (value === null) {
      delete original[key];
      continue;
    }
    const fs = fieldSchemaOf(type, key);
    const current = getOwn(original, key);
    if (isObject(current) && isObject(value)) {
      setOwn(original, key, fs?.replace ? mergeMap({}, value, fs.type, sub) : mergeMap(current, value, fs?.type, sub));
    } else if (Array.isArray(current) && Array.isArray(value)) {
      setOwn(original, key, mergeList(current, value, fs, sub));
    } else {
      const v = materialize(value, fs, sub);
      if (v === OMIT) delete original[key];
      else setOwn(original, key, v);
    }
  }

  for (const [key, values] of deletions) {
    if (!Array.isArray(values)) {
      throw badRequest(at(path, key), `invalid patch format of primitive list: expected a list, got ${jsonType(values)}`);
    }
    const current = getOwn(original, key);
    if (Array.isArray(current)) {
      setOwn(original, key, current.filter((v) => !values.some((d) => deepEqual(d, v))));
    }
  }
  return original;
}

/** A patch value stored where nothing mergeable existed: directives resolved, nulls dropped. */
function materialize(value: unknown, fs: FieldSchema | undefined, path: string): unknown {
  if (isObject(value)) {
    if (getOwn(value, PATCH) === 'delete') return OMIT;
    return mergeMap({}, value, fs?.type, path);
  }
  if (Array.isArray(value)) return mergeList([], value, fs, path);
  return value;
}

/** `$retainKeys`: drops keys of `original` not listed; every non-null patch key must be listed. */
function applyRetainKeys(original: JsonObject, patch: JsonObject, path: string): void {
  if (!hasOwn(patch, RETAIN_KEYS)) return;
  const list = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(list)) {
    throw badRequest(path, `invalid patch format of retainKeys: expected a list, got ${jsonType(list)}`);
  }
  const keep = new Set(list.filter((k): k is string => typeof k === 'string'));
  for (const k of Object.keys(patch)) {
    if (patch[k] === null || patch[k] === undefined) continue;
    if (k.startsWith(DELETE_FROM_PRIMITIVE_LIST) || k.startsWith(SET_ELEMENT_ORDER)) continue;
    if (!keep.has(k)) {
      throw badRequest(path, `invalid patch format of retainKeys: ${JSON.stringify(k)} is in the patch but not in $retainKeys ${describe(list)}`);
    }
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

/**
 * `$setElementOrder/<list>`: merges `<list>` (if patched) and orders the result; the list
 * is then removed from `patch` so the main merge loop does not touch it again.
 */
function applySetElementOrder(original: JsonObject, patch: JsonObject, type: string | undefined, path: string): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER)) continue;
    const order = patch[key];
    delete patch[key];
    const listKey = directiveTarget(key, SET_ELEMENT_ORDER, path, 'setElementOrder list');
    const sub = at(path, listKey);
    if (!Array.isArray(order)) {
      throw badRequest(sub, `invalid patch format of setElementOrder list: expected a list, got ${jsonType(order)}`);
    }
    const fs = fieldSchemaOf(type, listKey);
    // A replaced list takes the patch's order; nothing to do.
    if (!fs?.merge) continue;
    const current = getOwn(original, listKey);
    const patched = getOwn(patch, listKey);
    // A list being deleted or set to a non-list is left to the main loop.
    if (patched !== undefined && !Array.isArray(patched)) continue;
    const live = Array.isArray(current) ? current : undefined;
    const mergeKey = fs.mergeKey;
    if (mergeKey !== undefined) {
      for (const o of order) {
        if (!isObject(o) || !hasOwn(o, mergeKey)) {
          throw badRequest(sub, `$setElementOrder element ${describe(o)} does not contain declared merge key: ${mergeKey}`);
        }
      }
    }
    if (patched) validateOrder(patched, order, mergeKey, sub);

    let merged: unknown[];
    if (live && patched) merged = mergeList(live, patched, fs, sub);
    else if (live) merged = live;
    else if (patched) merged = mergeList([], patched, fs, sub);
    else continue;
    setOwn(original, listKey, orderMergedList(merged, order, live ?? [], mergeKey));
    delete patch[listKey];
  }
}

/** The non-directive elements of a patch list must appear in `order` in the same relative order. */
function validateOrder(patched: unknown[], order: unknown[], mergeKey: string | undefined, path: string): void {
  const items = patched.filter((e) => !(isObject(e) && hasOwn(e, PATCH)));
  let p = 0;
  for (let s = 0; s < order.length && p < items.length; s++) {
    if (sameElement(items[p], order[s], mergeKey)) p++;
  }
  if (p < items.length) {
    throw badRequest(path, `the order in patch list ${describe(patched)} doesn't match $setElementOrder list ${describe(order)}`);
  }
}

type ElementKind = 'object' | 'scalar' | 'none';

function elementKind(lists: unknown[][], path: string): ElementKind {
  let kind: ElementKind = 'none';
  for (const list of lists) {
    for (const e of list) {
      if (Array.isArray(e)) throw new PatchApplyError(`${path}: lists of lists are not supported`);
      const k: ElementKind = isObject(e) ? 'object' : 'scalar';
      if (kind === 'none') kind = k;
      else if (kind !== k) throw badRequest(path, `list element types are not identical: ${describe(lists)}`);
    }
  }
  return kind;
}

/** Merges a patch list into a live list (both owned) according to the field's strategy. */
function mergeList(live: unknown[], patched: unknown[], fs: FieldSchema | undefined, path: string): unknown[] {
  if (!fs?.merge) return replaceList(patched, fs, path);
  const kind = elementKind([live, patched], path);
  if (kind === 'none') return [];
  if (kind === 'scalar') {
    const merged: unknown[] = [];
    for (const v of [...live, ...patched]) if (!merged.some((m) => deepEqual(m, v))) merged.push(v);
    return orderMergedList(merged, patched, live, undefined);
  }

  const mergeKey = fs.mergeKey;
  if (mergeKey === undefined) throw badRequest(path, 'cannot merge lists of objects without a merge key');
  let base = live;
  let replace = false;
  const items: JsonObject[] = [];
  for (const e of patched as JsonObject[]) {
    if (!hasOwn(e, PATCH)) {
      items.push(e);
      continue;
    }
    const directive = e[PATCH];
    if (directive === 'delete') {
      if (!hasOwn(e, mergeKey)) throw noMergeKey(e, mergeKey, path);
      base = base.filter((o) => !sameElement(o, e, mergeKey));
    } else if (directive === 'replace') {
      replace = true;
    } else if (directive === 'merge') {
      delete e[PATCH];
      if (Object.keys(e).length > 0) items.push(e);
    } else {
      throw badRequest(path, `unknown patch type ${describe(directive)} in list element ${describe(e)}`);
    }
  }
  if (replace) return items.map((e) => mergeMap({}, e, fs.type, path));

  const merged = base.slice();
  for (const e of items) {
    if (!hasOwn(e, mergeKey)) throw noMergeKey(e, mergeKey, path);
    const i = merged.findIndex((o) => sameElement(o, e, mergeKey));
    if (i >= 0) merged[i] = mergeMap(merged[i] as JsonObject, e, fs.type, path);
    else merged.push(mergeMap({}, e, fs.type, path));
  }
  return orderMergedList(merged, items, base, mergeKey);
}

/** A list without merge strategy: the patch list, with directives resolved in its elements. */
function replaceList(patched: unknown[], fs: FieldSchema | undefined, path: string): unknown[] {
  const out: unknown[] = [];
  for (const e of patched) {
    if (!isObject(e)) {
      out.push(e);
      continue;
    }
    if (hasOwn(e, PATCH)) {
      const directive = e[PATCH];
      if (directive === 'delete') continue;
      if (directive !== 'replace' && directive !== 'merge') {
        throw badRequest(path, `unknown patch type ${describe(directive)} in list element ${describe(e)}`);
      }
      delete e[PATCH];
      if (Object.keys(e).length === 0) continue;
    }
    out.push(mergeMap({}, e, fs?.type, path));
  }
  return out;
}

function noMergeKey(e: JsonObject, mergeKey: string, path: string): BadRequestError {
  return badRequest(path, `map: ${describe(e)} does not contain declared merge key: ${mergeKey}`);
}
