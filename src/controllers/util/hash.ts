/**
 * Hashes used to name what workload controllers create: the Deployment `pod-template-hash`, the
 * DaemonSet `controller-revision-hash` and StatefulSet ControllerRevision names.
 *
 * Kubernetes hashes the Go struct with FNV-32a over a spew dump (`hashutil.DeepHashObject`), which
 * only Go can reproduce. minictl hashes the *canonical JSON* of the object instead (object keys
 * sorted, `undefined` members left out, no whitespace) with the same FNV-32a, mixes in the
 * collision count exactly as `controller.ComputeHash` does (its uint32 written little-endian into
 * 8 bytes) and renders the 32-bit sum as Kubernetes does (`rand.SafeEncodeString` of the decimal
 * number), so names look like Kubernetes' (`web-5d4b8c9f7`) and are stable across restarts and
 * processes. The value itself differs from a real cluster's for the same template.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** k8s.io/apimachinery/pkg/util/rand: consonants and digits, no vowels (no words), no 0/1/3. */
const SAFE_ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

/** Incremental FNV-1a 32-bit hash over bytes. */
export class Fnv32a {
  private h = FNV_OFFSET;

  write(bytes: Uint8Array | string): this {
    const b = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
    let h = this.h;
    for (let i = 0; i < b.length; i++) {
      h ^= b[i];
      h = Math.imul(h, FNV_PRIME) >>> 0;
    }
    this.h = h >>> 0;
    return this;
  }

  sum32(): number {
    return this.h >>> 0;
  }
}

/** Maps every character to one of SAFE_ALPHANUMS (by code point modulo 27), as Kubernetes does. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (const ch of s) out += SAFE_ALPHANUMS[ch.codePointAt(0)! % SAFE_ALPHANUMS.length];
  return out;
}

/** JSON with object keys sorted at every level; `undefined` members are omitted. */
export function canonicalJSON(v: unknown): string {
  if (v === null || typeof v !== 'object') return v === undefined ? 'null' : JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map((x) => (x === undefined ? 'null' : canonicalJSON(x))).join(',') + ']';
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalJSON(o[k])).join(',') + '}';
}

/** A deep copy of a JSON value with object keys in sorted order (how Go marshals maps). */
export function sortedKeys<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => sortedKeys(x)) as unknown as T;
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) if (o[k] !== undefined) out[k] = sortedKeys(o[k]);
  return out as T;
}

/**
 * `controller.ComputeHash`: the hash of a pod template plus an optional collision count. Used
 * for the Deployment pod-template-hash and the DaemonSet controller-revision-hash.
 */
export function computeHash(template: unknown, collisionCount?: number | null): string {
  const h = new Fnv32a().write(canonicalJSON(template));
  if (collisionCount !== undefined && collisionCount !== null) {
    const b = Buffer.alloc(8);
    b.writeUInt32LE(collisionCount >>> 0, 0);
    h.write(b);
  }
  return safeEncodeString(String(h.sum32()));
}
