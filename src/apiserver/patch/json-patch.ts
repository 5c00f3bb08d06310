import { BadRequestError } from '../../util/errors';
import { PatchApplyError } from './errors';
import { deepClone, deepEqual, describe, getOwn, hasOwn, isObject, JsonObject, setOwn } from './json-util';

/**
 * JSON Patch (RFC 6902), `application/json-patch+json`.
 *
 * `applyJsonPatch(doc, ops)` returns a new document; `doc` and `ops` are never modified.
 * The operations apply in order and atomically: if any fails, nothing is returned.
 *
 * Errors, as the Kubernetes apiserver reports them:
 * - `ops` is not an array of objects: BadRequestError (400), like a patch body that does
 *   not decode.
 * - anything that goes wrong while applying (unknown `op`, missing `path`/`from`/`value`,
 *   malformed JSON pointer, a path that does not exist, an array index out of range, a
 *   failed `test`): PatchApplyError (422 Invalid, the problem in the cause message).
 *
 * Follows the RFC strictly: `replace`, `remove`, `test`, and `from` of `move`/`copy` need
 * an existing target (testing a missing path against null fails); array indices are
 * decimal without leading zeros; `-` (append) is only meaningful for `add` and as the
 * target of `move`/`copy`. `kubectl rollout undo` sends
 * `[{"op":"replace","path":"/spec/template",...},{"op":"replace","path":"/metadata/annotations",...}]`.
 */
export function applyJsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) {
    throw new BadRequestError(`a JSON patch must be an array of operations, got ${describe(ops, 80)}`);
  }
  for (const op of ops) {
    if (!isObject(op)) throw new BadRequestError(`a JSON patch operation must be an object, got ${describe(op, 80)}`);
  }
  let root = deepClone(doc);
  (ops as JsonObject[]).forEach((op, i) => {
    root = applyOne(root, op, i);
  });
  return root;
}

function fail(index: number, op: JsonObject, message: string): never {
  const name = typeof op.op === 'string' ? op.op : 'unknown';
  throw new PatchApplyError(`${name} operation ${index} ${message}`.replace(/\s+/g, ' ').trim());
}

function applyOne(root: unknown, op: JsonObject, index: number): unknown {
  const kind = getOwn(op, 'op');
  if (typeof kind !== 'string') fail(index, op, 'has no "op" member');
  const path = pointerMember(op, 'path', index);
  switch (kind) {
    case 'add':
      return add(root, path, requireValue(op, index), op, index);
    case 'remove':
      return remove(root, path, op, index);
    case 'replace': {
      const value = requireValue(op, index);
      return replace(root, path, value, op, index);
    }
    case 'move': {
      const from = pointerMember(op, 'from', index);
      if (isProperPrefix(from, path)) fail(index, op, `cannot move ${formatPointer(from)} into its own child ${formatPointer(path)}`);
      const value = resolveExisting(root, from, op, index);
      if (samePointer(from, path)) return root;
      return add(remove(root, from, op, index), path, value, op, index);
    }
    case 'copy': {
      const from = pointerMember(op, 'from', index);
      const value = deepClone(resolveExisting(root, from, op, index));
      return add(root, path, value, op, index);
    }
    case 'test': {
      const value = requireValue(op, index);
      const actual = resolveExisting(root, path, op, index);
      if (!deepEqual(actual, value)) {
        throw new PatchApplyError(`testing value ${formatPointer(path)} failed: test failed`);
      }
      return root;
    }
    default:
      return fail(index, op, `has an unknown "op" ${JSON.stringify(kind)}`);
  }
}

function requireValue(op: JsonObject, index: number): unknown {
  if (!hasOwn(op, 'value') || op.value === undefined) fail(index, op, 'has no "value" member');
  return deepClone(op.value);
}

/** Parses a JSON pointer (RFC 6901) into its unescaped reference tokens. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`JSON pointer ${JSON.stringify(pointer)} must be empty or start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => {
      if (/~(?![01])/.test(t)) throw new Error(`JSON pointer ${JSON.stringify(pointer)} has an invalid escape`);
      return t.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

/** Formats reference tokens back into a JSON pointer, escaping `~` and `/`. */
export function formatPointer(tokens: string[]): string {
  return tokens.map((t) => '/' + t.replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

function pointerMember(op: JsonObject, member: 'path' | 'from', index: number): string[] {
  const p = getOwn(op, member);
  if (typeof p !== 'string') fail(index, op, `has no "${member}" member`);
  try {
    return parsePointer(p);
  } catch (e) {
    return fail(index, op, (e as Error).message);
  }
}

function isProperPrefix(prefix: string[], path: string[]): boolean {
  return prefix.length < path.length && prefix.every((t, i) => t === path[i]);
}

function samePointer(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}

/** An array index token: `0` or a decimal without leading zeros. */
function arrayIndex(token: string): number | undefined {
  return /^(0|[1-9][0-9]*)$/.test(token) ? Number(token) : undefined;
}

/** The container holding the last token of `path`; fails if it does not exist. */
function parentOf(root: unknown, path: string[], op: JsonObject, index: number): unknown {
  let cur = root;
  for (let i = 0; i < path.length - 1; i++) {
    cur = step(cur, path[i], path.slice(0, i + 1), op, index);
  }
  return cur;
}

function step(cur: unknown, token: string, upTo: string[], op: JsonObject, index: number): unknown {
  if (Array.isArray(cur)) {
    const n = arrayIndex(token);
    if (n === undefined || n >= cur.length) fail(index, op, `path ${formatPointer(upTo)} does not exist`);
    return cur[n];
  }
  if (isObject(cur)) {
    if (!hasOwn(cur, token)) fail(index, op, `path ${formatPointer(upTo)} does not exist`);
    return cur[token];
  }
  return fail(index, op, `path ${formatPointer(upTo)} does not exist`);
}

function resolveExisting(root: unknown, path: string[], op: JsonObject, index: number): unknown {
  let cur = root;
  for (let i = 0; i < path.length; i++) cur = step(cur, path[i], path.slice(0, i + 1), op, index);
  return cur;
}

function add(root: unknown, path: string[], value: unknown, op: JsonObject, index: number): unknown {
  if (path.length === 0) return value;
  const parent = parentOf(root, path, op, index);
  const last = path[path.length - 1];
  if (Array.isArray(parent)) {
    if (last === '-') {
      parent.push(value);
      return root;
    }
    const n = arrayIndex(last);
    if (n === undefined || n > parent.length) fail(index, op, `array index ${JSON.stringify(last)} of ${formatPointer(path.slice(0, -1))} is out of range`);
    parent.splice(n, 0, value);
    return root;
  }
  if (isObject(parent)) {
    setOwn(parent, last, value);
    return root;
  }
  return fail(index, op, `path ${formatPointer(path.slice(0, -1))} is not an object or array`);
}

function remove(root: unknown, path: string[], op: JsonObject, index: number): unknown {
  if (path.length === 0) fail(index, op, 'cannot remove the whole document');
  const parent = parentOf(root, path, op, index);
  const last = path[path.length - 1];
  if (Array.isArray(parent)) {
    const n = arrayIndex(last);
    if (n === undefined || n >= parent.length) fail(index, op, `path ${formatPointer(path)} does not exist`);
    parent.splice(n, 1);
    return root;
  }
  if (isObject(parent) && hasOwn(parent, last)) {
    delete parent[last];
    return root;
  }
  return fail(index, op, `path ${formatPointer(path)} does not exist`);
}

function replace(root: unknown, path: string[], value: unknown, op: JsonObject, index: number): unknown {
  if (path.length === 0) return value;
  const parent = parentOf(root, path, op, index);
  const last = path[path.length - 1];
  if (Array.isArray(parent)) {
    const n = arrayIndex(last);
    if (n === undefined || n >= parent.length) fail(index, op, `path ${formatPointer(path)} does not exist`);
    parent[n] = value;
    return root;
  }
  if (isObject(parent) && hasOwn(parent, last)) {
    setOwn(parent, last, value);
    return root;
  }
  return fail(index, op, `path ${formatPointer(path)} does not exist`);
}
