/**
 * Decoding of `application/vnd.kubernetes.protobuf` request bodies (what kubectl 1.32+ sends
 * for typed creates such as `kubectl create deployment`, `kubectl run`, drain's evictions).
 *
 * Wire format: the 4-byte magic "k8s\0", then a runtime.Unknown message
 *   { typeMeta = 1: runtime.TypeMeta { apiVersion = 1, kind = 2 }, raw = 2: bytes,
 *     contentEncoding = 3: string, contentType = 4: string }
 * whose `raw` is the object in k8s.io/api's generated.proto encoding. As in the Kubernetes
 * serializer, contentEncoding and contentType are not consulted.
 */
import { Reader } from 'protobufjs/minimal';
import { ApiError, BadRequestError } from '../../util/errors';
import type { KObject } from '../types';
import { decodeMessage, messageFieldNames, readTag, skipField } from './decoder';
import { DELETE_OPTIONS, KINDS } from './schema';

export { KINDS } from './schema';

/** "k8s\0" */
export const KUBERNETES_PROTOBUF_MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** The runtime.Unknown envelope of a Kubernetes protobuf body. */
export interface KubernetesProtobufEnvelope {
  apiVersion: string;
  kind: string;
  raw: Buffer;
  contentEncoding: string;
  contentType: string;
}

/**
 * Checks the magic prefix and decodes the runtime.Unknown envelope.
 * Throws BadRequestError for a missing prefix, an empty envelope or malformed bytes.
 */
export function decodeEnvelope(body: Buffer): KubernetesProtobufEnvelope {
  if (body.length < 4 || !body.subarray(0, 4).equals(KUBERNETES_PROTOBUF_MAGIC)) {
    throw new BadRequestError(
      'the request body is not a Kubernetes protobuf message: it must start with the 4 bytes "k8s\\x00" (6b 38 73 00)',
    );
  }
  if (body.length === 4) throw new BadRequestError('the Kubernetes protobuf request body is empty after its "k8s\\x00" prefix');
  return guard(() => {
    const env: KubernetesProtobufEnvelope = { apiVersion: '', kind: '', raw: Buffer.alloc(0), contentEncoding: '', contentType: '' };
    const r = Reader.create(body.subarray(4));
    while (r.pos < r.len) {
      const [num, wt] = readTag(r, 'runtime.Unknown');
      if (num >= 1 && num <= 4 && wt !== 2) throw new BadRequestError(`invalid protobuf body: runtime.Unknown field ${num} has wire type ${wt}, expected 2`);
      if (num === 1) {
        const tm = Reader.create(r.bytes());
        while (tm.pos < tm.len) {
          const [n, w] = readTag(tm, 'runtime.Unknown.typeMeta');
          if ((n === 1 || n === 2) && w !== 2) throw new BadRequestError(`invalid protobuf body: runtime.TypeMeta field ${n} has wire type ${w}, expected 2`);
          if (n === 1) env.apiVersion = tm.string();
          else if (n === 2) env.kind = tm.string();
          else skipField(tm, w, 'runtime.Unknown.typeMeta');
        }
      } else if (num === 2) env.raw = Buffer.from(r.bytes());
      else if (num === 3) env.contentEncoding = r.string();
      else if (num === 4) env.contentType = r.string();
      else skipField(r, wt, 'runtime.Unknown');
    }
    return env;
  });
}

/** The schema message key for a TypeMeta, or undefined when minictl has no protobuf schema for it. */
export function messageForKind(apiVersion: string, kind: string): string | undefined {
  if (kind === 'DeleteOptions') return DELETE_OPTIONS;
  return KINDS[`${apiVersion} ${kind}`];
}

/**
 * Decodes a Kubernetes protobuf request body into the JSON object the Kubernetes JSON API
 * would have for it, with `kind` and `apiVersion` set from the envelope's TypeMeta.
 *
 * Throws BadRequestError for a missing magic prefix, a missing apiVersion/kind, or truncated /
 * malformed bytes; throws a 415 UnsupportedMediaType ApiError when the kind has no protobuf
 * schema here (the client should send JSON). Objects with ObjectMeta always carry `metadata`
 * (`{}` when absent on the wire); DeleteOptions has none.
 */
export function decodeKubernetesProtobuf(body: Buffer): KObject {
  const env = decodeEnvelope(body);
  if (!env.kind || !env.apiVersion) {
    throw new BadRequestError('the Kubernetes protobuf request body has no apiVersion/kind in its runtime.Unknown typeMeta');
  }
  const key = messageForKind(env.apiVersion, env.kind);
  if (!key) {
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      `protobuf encoding is not supported for ${env.kind} (${env.apiVersion}); send the request body as application/json`,
    );
  }
  const fields = guard(() => decodeMessage(key, env.raw));
  const obj: KObject = { kind: env.kind, apiVersion: env.apiVersion, ...fields } as KObject;
  if (obj.metadata === undefined && messageFieldNames(key).includes('metadata')) obj.metadata = {};
  return obj;
}

/** Runs a decoding step, turning anything but an ApiError (reader range errors etc.) into a 400. */
function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw new BadRequestError(`invalid protobuf body: truncated or malformed message (${(e as Error).message})`);
  }
}
