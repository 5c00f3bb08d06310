/**
 * Test helpers: hand-assemble protobuf wire bytes with protobufjs's Writer, the way Go's
 * generated (gogo) marshallers lay them out.
 */
import { Writer } from 'protobufjs/minimal';

export type Part = (w: Writer) => void;
type Parts = Array<Part | Part[]>;

const LEN = 2;

/** A message made of the given fields, in order. */
export function msg(...parts: Parts): Uint8Array {
  const w = Writer.create();
  for (const p of parts.flat()) p(w);
  return w.finish();
}

export const str = (n: number, s: string): Part => (w) => void w.uint32((n << 3) | LEN).string(s);
export const i32 = (n: number, v: number): Part => (w) => void w.uint32(n << 3).int32(v);
export const i64 = (n: number, v: number): Part => (w) => void w.uint32(n << 3).int64(v);
export const bool = (n: number, v: boolean): Part => (w) => void w.uint32(n << 3).bool(v);
export const bytes = (n: number, b: Uint8Array): Part => (w) => void w.uint32((n << 3) | LEN).bytes(b);
/** An embedded message field. */
export const sub = (n: number, ...parts: Parts): Part => bytes(n, msg(...parts));
/** A map<string,string> field: one entry message {key=1, value=2} per pair. */
export const strMap = (n: number, o: Record<string, string>): Part[] =>
  Object.entries(o).map(([k, v]) => sub(n, str(1, k), str(2, v)));
/** A map<string,bytes> field. */
export const bytesMap = (n: number, o: Record<string, Uint8Array>): Part[] =>
  Object.entries(o).map(([k, v]) => sub(n, str(1, k), bytes(2, v)));
/** A map<string,Quantity> field. */
export const quantityMap = (n: number, o: Record<string, string>): Part[] =>
  Object.entries(o).map(([k, v]) => sub(n, str(1, k), sub(2, str(1, v))));
/** intstr.IntOrString {type=1, intVal=2, strVal=3}, all fields written as Go does. */
export const intOrString = (n: number, v: number | string): Part =>
  typeof v === 'number' ? sub(n, i64(1, 0), i32(2, v), str(3, '')) : sub(n, i64(1, 1), i32(2, 0), str(3, v));

/** ObjectMeta as Go writes it: every non-pointer field, zero creationTimestamp as an empty message. */
export function objectMeta(name: string, opts: { namespace?: string; labels?: Record<string, string> } = {}): Part[] {
  return [
    str(1, name),
    str(2, ''),
    str(3, opts.namespace ?? ''),
    str(4, ''),
    str(5, ''),
    str(6, ''),
    i64(7, 0),
    sub(8),
    ...strMap(11, opts.labels ?? {}),
  ];
}

export const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** A complete request body: magic + runtime.Unknown{typeMeta, raw, contentEncoding, contentType}. */
export function k8sBody(apiVersion: string, kind: string, raw: Uint8Array): Buffer {
  return Buffer.concat([MAGIC, msg(sub(1, str(1, apiVersion), str(2, kind)), bytes(2, raw), str(3, ''), str(4, ''))]);
}
