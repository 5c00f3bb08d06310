/**
 * Table-driven protobuf (proto2 wire format) to JSON decoder for Kubernetes API messages.
 *
 * Contract: `decodeMessage(key, bytes)` turns the wire bytes of the message `key` of
 * `schema.ts` into the JSON value Go's encoding/json would print for the same Go struct:
 * JSON tag names, Go struct field order, `omitempty` scalars dropped when zero (unless flagged
 * 'P'), messages present on the wire always emitted (empty ones as `{}`), empty repeated and
 * map fields omitted, embedded ('I') structs flattened into their parent, zero `Time`s omitted.
 * Unknown field numbers are skipped. Malformed input (truncation, bad varints, wire types that
 * do not match the schema, nesting deeper than MAX_DEPTH) throws `BadRequestError`; any other
 * error escaping from here is a bug.
 */
import { Reader } from 'protobufjs/minimal';
import { BadRequestError } from '../../util/errors';
import { MESSAGES, type FieldDef } from './schema';

/** Deepest message nesting accepted; real Kubernetes objects stay well below 20. */
export const MAX_DEPTH = 100;

type Scalar = 'string' | 'bytes' | 'bool' | 'int32' | 'int64';
type Special = 'Time' | 'MicroTime' | 'Quantity' | 'IntOrString' | 'RawExtension' | 'FieldsV1';
type JsonValue = unknown;
type JsonObject = Record<string, JsonValue>;

const SCALARS = new Set<string>(['string', 'bytes', 'bool', 'int32', 'int64']);
const SPECIALS = new Set<string>(['Time', 'MicroTime', 'Quantity', 'IntOrString', 'RawExtension', 'FieldsV1']);

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

interface Field {
  num: number;
  name: string;
  /** index into the message's field list (slot for decoded values) */
  index: number;
  scalar?: Scalar;
  special?: Special;
  message?: Message;
  repeated: boolean;
  map: boolean;
  inline: boolean;
  keepZero: boolean;
}

interface Message {
  key: string;
  fields: Field[];
  byNum: Map<number, Field>;
}

const compiled = new Map<string, Message>();

/** Builds the lookup structures for every message of the schema; throws on a schema typo. */
function compileSchema(): void {
  for (const key of Object.keys(MESSAGES)) compiled.set(key, { key, fields: [], byNum: new Map() });
  for (const [key, defs] of Object.entries(MESSAGES)) {
    const msg = compiled.get(key)!;
    defs.forEach((def: FieldDef, index) => {
      const [num, name, type, flags = ''] = def;
      const f: Field = {
        num,
        name,
        index,
        repeated: flags === 'R',
        map: flags === 'M',
        inline: flags === 'I',
        keepZero: flags === 'P',
      };
      if (SCALARS.has(type)) f.scalar = type as Scalar;
      else if (SPECIALS.has(type)) f.special = type as Special;
      else {
        const m = compiled.get(type);
        if (!m) throw new Error(`protobuf schema: ${key}.${name} refers to unknown message ${type}`);
        f.message = m;
      }
      if (msg.byNum.has(num)) throw new Error(`protobuf schema: ${key} has field number ${num} twice`);
      msg.fields.push(f);
      msg.byNum.set(num, f);
    });
  }
}
compileSchema();

/** True when `key` names a message of the schema. */
export function hasMessage(key: string): boolean {
  return compiled.has(key);
}

/** Names of the fields of message `key`, in order (used to tell whether it has `metadata`). */
export function messageFieldNames(key: string): string[] {
  return (compiled.get(key)?.fields ?? []).map((f) => f.name);
}

/** Decodes `bytes` as message `key` of the schema into its JSON object. */
export function decodeMessage(key: string, bytes: Uint8Array): JsonObject {
  const msg = compiled.get(key);
  if (!msg) throw new Error(`protobuf schema has no message ${key}`);
  return decodeObject(msg, toBuffer(bytes), 0, '');
}

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function malformed(path: string, why: string): BadRequestError {
  return new BadRequestError(`invalid protobuf body${path ? ` at ${path}` : ''}: ${why}`);
}

function join(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

/** Skips one field value of wire type `wt`. Groups (3/4) are never used by Kubernetes. */
export function skipField(r: Reader, wt: number, path: string): void {
  switch (wt) {
    case WIRE_VARINT:
      r.skip();
      return;
    case WIRE_FIXED64:
      r.skip(8);
      return;
    case WIRE_LEN:
      r.skip(r.uint32());
      return;
    case WIRE_FIXED32:
      r.skip(4);
      return;
    default:
      throw malformed(path, `unsupported wire type ${wt}`);
  }
}

/** Reads a field tag; returns [fieldNumber, wireType]. */
export function readTag(r: Reader, path: string): [number, number] {
  const tag = r.uint32();
  const num = tag >>> 3;
  if (num === 0) throw malformed(path, 'field number 0');
  return [num, tag & 7];
}

function wireTypeOf(f: Field): number {
  return f.scalar === 'bool' || f.scalar === 'int32' || f.scalar === 'int64' ? WIRE_VARINT : WIRE_LEN;
}

function readInt64(r: Reader): number {
  const v = r.int64() as unknown as { toNumber(): number } | number;
  return typeof v === 'number' ? v : v.toNumber();
}

function readScalar(r: Reader, t: Scalar): string | number | boolean {
  switch (t) {
    case 'string':
      return r.string();
    case 'bytes':
      return toBuffer(r.bytes()).toString('base64');
    case 'bool':
      return r.bool();
    case 'int32':
      return r.int32();
    case 'int64':
      return readInt64(r);
  }
}

function isZero(v: unknown): boolean {
  return v === '' || v === 0 || v === false;
}

/** Per-field accumulator while reading one message. */
interface Slot {
  value?: unknown; // singular scalar
  list?: unknown[]; // repeated
  map?: JsonObject; // map
  chunks?: Buffer[]; // singular message occurrences (merged, as protobuf does)
}

function decodeObject(msg: Message, buf: Buffer, depth: number, path: string): JsonObject {
  if (depth > MAX_DEPTH) throw malformed(path, `messages nested deeper than ${MAX_DEPTH} levels`);
  const r = Reader.create(buf);
  const slots: Slot[] = new Array(msg.fields.length);
  while (r.pos < r.len) {
    const [num, wt] = readTag(r, path);
    const f = msg.byNum.get(num);
    if (!f) {
      skipField(r, wt, path);
      continue;
    }
    const slot = (slots[f.index] ??= {});
    const fpath = join(path, f.name);
    if (f.map) {
      if (wt !== WIRE_LEN) throw malformed(fpath, `wire type ${wt}, expected ${WIRE_LEN}`);
      const [k, v] = decodeMapEntry(f, toBuffer(r.bytes()), depth + 1, fpath);
      (slot.map ??= {})[k] = v;
    } else if (f.scalar) {
      const want = wireTypeOf(f);
      if (f.repeated && wt === WIRE_LEN && want === WIRE_VARINT) {
        // packed repeated varints
        const end = r.uint32() + r.pos;
        if (end > r.len) throw malformed(fpath, 'packed field overruns the message');
        const list = (slot.list ??= []);
        while (r.pos < end) list.push(readScalar(r, f.scalar));
        if (r.pos !== end) throw malformed(fpath, 'packed field overruns its length');
      } else {
        if (wt !== want) throw malformed(fpath, `wire type ${wt}, expected ${want}`);
        const v = readScalar(r, f.scalar);
        if (f.repeated) (slot.list ??= []).push(v);
        else slot.value = v;
      }
    } else {
      if (wt !== WIRE_LEN) throw malformed(fpath, `wire type ${wt}, expected ${WIRE_LEN}`);
      const b = toBuffer(r.bytes());
      if (f.repeated) {
        const list = (slot.list ??= []);
        list.push(decodeValue(f, b, depth + 1, `${fpath}[${list.length}]`) ?? null);
      } else (slot.chunks ??= []).push(b);
    }
  }

  const out: JsonObject = {};
  for (const f of msg.fields) {
    const slot = slots[f.index];
    if (!slot) continue;
    if (f.map) {
      if (slot.map) out[f.name] = slot.map;
    } else if (f.repeated) {
      if (slot.list && slot.list.length > 0) out[f.name] = slot.list;
    } else if (f.scalar) {
      if (f.keepZero || !isZero(slot.value)) out[f.name] = slot.value;
    } else if (slot.chunks) {
      const b = slot.chunks.length === 1 ? slot.chunks[0] : Buffer.concat(slot.chunks);
      const v = decodeValue(f, b, depth + 1, join(path, f.name));
      if (v === undefined) continue;
      if (f.inline) Object.assign(out, v as JsonObject);
      else out[f.name] = v;
    }
  }
  return out;
}

/** Decodes a message-typed value (a schema message or a well-known type). */
function decodeValue(f: Field, b: Buffer, depth: number, path: string): unknown {
  if (f.message) return decodeObject(f.message, b, depth, path);
  return decodeSpecial(f.special!, b, path);
}

function decodeMapEntry(f: Field, b: Buffer, depth: number, path: string): [string, unknown] {
  const r = Reader.create(b);
  let key = '';
  let value: unknown;
  let valueChunk: Buffer | undefined;
  while (r.pos < r.len) {
    const [num, wt] = readTag(r, path);
    if (num === 1) {
      if (wt !== WIRE_LEN) throw malformed(path, `map key wire type ${wt}, expected ${WIRE_LEN}`);
      key = r.string();
    } else if (num === 2) {
      if (f.scalar) {
        const want = wireTypeOf(f);
        if (wt !== want) throw malformed(path, `map value wire type ${wt}, expected ${want}`);
        value = readScalar(r, f.scalar);
      } else {
        if (wt !== WIRE_LEN) throw malformed(path, `map value wire type ${wt}, expected ${WIRE_LEN}`);
        valueChunk = toBuffer(r.bytes());
      }
    } else skipField(r, wt, path);
  }
  const vpath = `${path}[${JSON.stringify(key)}]`;
  if (f.scalar) {
    if (value === undefined) value = f.scalar === 'bool' ? false : f.scalar === 'int32' || f.scalar === 'int64' ? 0 : '';
  } else {
    value = decodeValue(f, valueChunk ?? Buffer.alloc(0), depth, vpath) ?? null;
  }
  return [key, value];
}

function decodeSpecial(t: Special, b: Buffer, path: string): unknown {
  switch (t) {
    case 'Time':
    case 'MicroTime': {
      if (b.length === 0) return undefined; // zero time
      let seconds = 0;
      let nanos = 0;
      const r = Reader.create(b);
      while (r.pos < r.len) {
        const [num, wt] = readTag(r, path);
        if ((num === 1 || num === 2) && wt !== WIRE_VARINT) throw malformed(path, `wire type ${wt}, expected ${WIRE_VARINT}`);
        if (num === 1) seconds = readInt64(r);
        else if (num === 2) nanos = r.int32();
        else skipField(r, wt, path);
      }
      // metav1.Time keeps whole seconds only; MicroTime keeps microseconds.
      return formatTime(seconds, t === 'MicroTime' ? nanos : 0, t === 'MicroTime', path);
    }
    case 'Quantity': {
      let s: string | undefined;
      const r = Reader.create(b);
      while (r.pos < r.len) {
        const [num, wt] = readTag(r, path);
        if (num === 1) {
          if (wt !== WIRE_LEN) throw malformed(path, `wire type ${wt}, expected ${WIRE_LEN}`);
          s = r.string();
        } else skipField(r, wt, path);
      }
      return s ?? '0';
    }
    case 'IntOrString': {
      let type = 0;
      let intVal = 0;
      let strVal = '';
      const r = Reader.create(b);
      while (r.pos < r.len) {
        const [num, wt] = readTag(r, path);
        const want = num === 3 ? WIRE_LEN : WIRE_VARINT;
        if (num >= 1 && num <= 3 && wt !== want) throw malformed(path, `wire type ${wt}, expected ${want}`);
        if (num === 1) type = readInt64(r);
        else if (num === 2) intVal = r.int32();
        else if (num === 3) strVal = r.string();
        else skipField(r, wt, path);
      }
      if (type === 0) return intVal;
      if (type === 1) return strVal;
      throw malformed(path, `IntOrString has invalid type ${type}`);
    }
    case 'RawExtension':
    case 'FieldsV1': {
      let raw: Buffer | undefined;
      const r = Reader.create(b);
      while (r.pos < r.len) {
        const [num, wt] = readTag(r, path);
        if (num === 1) {
          if (wt !== WIRE_LEN) throw malformed(path, `wire type ${wt}, expected ${WIRE_LEN}`);
          raw = toBuffer(r.bytes());
        } else skipField(r, wt, path);
      }
      if (!raw || raw.length === 0) return undefined;
      try {
        return JSON.parse(raw.toString('utf8')) as unknown;
      } catch {
        throw malformed(path, `embedded ${t} is not JSON`);
      }
    }
  }
}

/** Go's zero time.Time (0001-01-01T00:00:00Z) in Unix seconds. */
const GO_ZERO_TIME_SECONDS = -62135596800;

/**
 * RFC3339 in UTC as metav1.Time / metav1.MicroTime print it: "2024-01-02T03:04:05Z" or
 * "2024-01-02T03:04:05.123456Z". The zero time yields undefined (omitted).
 */
export function formatTime(seconds: number, nanos: number, micro: boolean, path = ''): string | undefined {
  // Normalise nanos into [0, 1e9) as Go's time.Unix does.
  const carry = Math.floor(nanos / 1e9);
  seconds += carry;
  nanos -= carry * 1e9;
  if (seconds === GO_ZERO_TIME_SECONDS && nanos === 0) return undefined;
  const d = new Date(seconds * 1000);
  const year = d.getUTCFullYear();
  if (!Number.isFinite(d.getTime()) || year < 0 || year > 9999) throw malformed(path, `timestamp ${seconds}s is out of range`);
  const base = d.toISOString().slice(0, 19);
  if (!micro) return `${base}Z`;
  return `${base}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z`;
}
