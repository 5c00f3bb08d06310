import { decodeKubernetesProtobuf, decodeEnvelope } from '../../../src/api/protobuf';
import { ApiError, BadRequestError } from '../../../src/util/errors';
import { bool, bytes, i32, k8sBody, MAGIC, msg, objectMeta, str, strMap, sub, type Part } from './wire';

function deploymentBody(): Buffer {
  const labels = { app: 'web' };
  const container = sub(2, str(1, 'nginx'), str(2, 'nginx'), sub(8), bool(16, false));
  const raw = msg(
    sub(1, ...objectMeta('web', { labels })),
    sub(2, i32(1, 3), sub(2, ...strMap(1, labels)), sub(3, sub(1, ...objectMeta('', { labels })), sub(2, container)), sub(4, str(1, ''))),
    sub(3),
  );
  return k8sBody('apps/v1', 'Deployment', raw);
}

function expectBadRequest(body: Buffer, message?: RegExp): void {
  let err: unknown;
  try {
    decodeKubernetesProtobuf(body);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(BadRequestError);
  if (message) expect((err as Error).message).toMatch(message);
}

/** Decoding either succeeds or fails with an ApiError (never a crash or another error type). */
function decodesOrApiError(body: Buffer): void {
  try {
    decodeKubernetesProtobuf(body);
  } catch (e) {
    if (!(e instanceof ApiError)) throw new Error(`non-ApiError for ${body.toString('hex')}: ${String(e)}`);
  }
}

/** Deterministic xorshift PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

describe('decodeKubernetesProtobuf: rejects bad input with 4xx ApiErrors', () => {
  test('bad magic', () => {
    expectBadRequest(Buffer.from('{"kind":"Pod"}'), /k8s\\x00/);
    expectBadRequest(Buffer.from([0x6b, 0x38, 0x73, 0x01, 0x0a, 0x00]), /not a Kubernetes protobuf message/);
    expectBadRequest(Buffer.from([0x6b, 0x38]));
    expectBadRequest(Buffer.alloc(0));
  });

  test('magic only', () => {
    expectBadRequest(MAGIC, /empty/);
  });

  test('missing typeMeta', () => {
    expectBadRequest(Buffer.concat([MAGIC, msg(bytes(2, msg(sub(1, str(1, 'x')))))]), /apiVersion\/kind/);
  });

  test('truncated body: every proper prefix of a valid body decodes or throws BadRequestError', () => {
    const body = deploymentBody();
    expect(decodeKubernetesProtobuf(body).metadata.name).toBe('web');
    let failures = 0;
    for (let n = 0; n < body.length; n++) {
      try {
        decodeKubernetesProtobuf(body.subarray(0, n));
      } catch (e) {
        expect(e).toBeInstanceOf(BadRequestError);
        failures++;
      }
    }
    expect(failures).toBeGreaterThan(body.length / 2);
  });

  test('a truncated raw object is a BadRequestError naming truncation', () => {
    // Envelope claims a 200-byte raw but only 3 bytes follow.
    const env = Buffer.concat([MAGIC, msg(sub(1, str(1, 'v1'), str(2, 'Pod'))), Buffer.from([0x12, 200, 1, 0x0a, 0x01, 0x61])]);
    expectBadRequest(env, /truncated or malformed/);
    // raw itself is internally truncated: metadata length 50 with 2 bytes present.
    expectBadRequest(k8sBody('v1', 'Pod', Buffer.from([0x0a, 50, 0x0a, 0x00])), /truncated or malformed/);
  });

  test('unknown kind is a 415 telling the client to send JSON', () => {
    let err: unknown;
    try {
      decodeKubernetesProtobuf(k8sBody('rbac.authorization.k8s.io/v1', 'Role', msg(sub(1, str(1, 'r')))));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(415);
    expect((err as ApiError).reason).toBe('UnsupportedMediaType');
    expect((err as ApiError).message).toMatch(/Role.*application\/json/);
  });

  test('a known kind under an unknown apiVersion is unsupported too', () => {
    expect(() => decodeKubernetesProtobuf(k8sBody('apps/v1beta1', 'Deployment', msg()))).toThrow(/not supported/);
  });

  test('wire type that contradicts the schema', () => {
    // metadata (field 1) sent as a varint
    expectBadRequest(k8sBody('v1', 'Pod', msg((w) => void w.uint32((1 << 3) | 0).uint32(5))), /metadata: wire type 0/);
    // metadata.name sent as fixed32
    expectBadRequest(k8sBody('v1', 'Pod', msg(sub(1, (w) => void w.uint32((1 << 3) | 5).fixed32(1)))), /metadata.name/);
  });

  test('field number 0, groups and invalid wire types', () => {
    expectBadRequest(k8sBody('v1', 'Pod', Buffer.from([0x00, 0x01])), /field number 0/);
    expectBadRequest(k8sBody('v1', 'Pod', Buffer.from([(99 << 3) | 3, 0x00])), /wire type 3/);
    expectBadRequest(k8sBody('v1', 'Pod', Buffer.from([(99 << 3) | 7])), /wire type 7/);
  });

  test('invalid IntOrString type and non-JSON RawExtension', () => {
    const svc = msg(sub(2, sub(1, i32(3, 80), sub(4, (w) => void w.uint32(1 << 3).int64(7)))));
    expectBadRequest(k8sBody('v1', 'Service', svc), /IntOrString/);
    const rev = msg(sub(1, str(1, 'r')), sub(2, bytes(1, Buffer.from('{not json'))));
    expectBadRequest(k8sBody('apps/v1', 'ControllerRevision', rev), /not JSON/);
  });

  test('deeply nested unknown fields are skipped by length, without recursion', () => {
    // The schema has no recursive messages, so nesting depth is bounded by the table; unknown
    // fields are skipped without being parsed, however deep their content goes.
    let inner: Uint8Array = msg(str(1, 'x'));
    for (let i = 0; i < 5000; i++) inner = msg(bytes(999, inner));
    expect(decodeKubernetesProtobuf(k8sBody('v1', 'Namespace', inner))).toEqual({ kind: 'Namespace', apiVersion: 'v1', metadata: {} });
  });

  test('decodeEnvelope exposes the runtime.Unknown fields', () => {
    const body = Buffer.concat([MAGIC, msg(sub(1, str(1, 'v1'), str(2, 'Pod')), bytes(2, Buffer.from([1, 2])), str(3, 'gzip'), str(4, 'application/vnd.kubernetes.protobuf'))]);
    const env = decodeEnvelope(body);
    expect(env).toEqual({ apiVersion: 'v1', kind: 'Pod', raw: Buffer.from([1, 2]), contentEncoding: 'gzip', contentType: 'application/vnd.kubernetes.protobuf' });
  });
});

describe('decodeKubernetesProtobuf: fuzz', () => {
  test('random bytes after the magic never throw anything but ApiErrors', () => {
    const rand = rng(12345);
    for (let i = 0; i < 3000; i++) {
      const len = Math.floor(rand() * 64);
      const b = Buffer.alloc(len);
      for (let j = 0; j < len; j++) b[j] = Math.floor(rand() * 256);
      decodesOrApiError(Buffer.concat([MAGIC, b]));
    }
  });

  test('random raw bytes inside a valid envelope for every kind never throw anything but ApiErrors', () => {
    const rand = rng(777);
    const kinds: Array<[string, string]> = [
      ['v1', 'Pod'],
      ['v1', 'Service'],
      ['v1', 'Secret'],
      ['apps/v1', 'Deployment'],
      ['batch/v1', 'CronJob'],
      ['policy/v1', 'Eviction'],
      ['autoscaling/v2', 'HorizontalPodAutoscaler'],
      ['coordination.k8s.io/v1', 'Lease'],
    ];
    for (let i = 0; i < 4000; i++) {
      const len = Math.floor(rand() * 96);
      const b = Buffer.alloc(len);
      for (let j = 0; j < len; j++) b[j] = Math.floor(rand() * 256);
      const [av, k] = kinds[i % kinds.length];
      decodesOrApiError(k8sBody(av, k, b));
    }
  });

  test('byte mutations of a valid Deployment body never throw anything but ApiErrors', () => {
    const rand = rng(99);
    const body = deploymentBody();
    for (let i = 0; i < 5000; i++) {
      const m = Buffer.from(body);
      const flips = 1 + Math.floor(rand() * 4);
      for (let f = 0; f < flips; f++) m[4 + Math.floor(rand() * (m.length - 4))] = Math.floor(rand() * 256);
      decodesOrApiError(m);
    }
  });

  test('a large repeated payload decodes quickly', () => {
    const parts: Part[] = [];
    for (let i = 0; i < 20000; i++) parts.push(sub(2, str(1, `k${i}`), str(2, 'v')));
    const raw = msg(sub(1, str(1, 'big')), ...parts);
    const t0 = Date.now();
    const obj = decodeKubernetesProtobuf(k8sBody('v1', 'ConfigMap', raw));
    expect(Object.keys(obj.data)).toHaveLength(20000);
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});
