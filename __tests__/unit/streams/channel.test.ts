import {
  decodeFrame,
  encodeFrame,
  encodeStatus,
  exitCodeStatus,
  internalErrorStatus,
  negotiateSpdyProtocol,
  negotiateWebSocketProtocol,
  parseProtocolHeader,
  ResizeDecoder,
  successStatus,
} from '../../../src/apiserver/streams/channel';

describe('WebSocket subprotocol negotiation', () => {
  test.each([
    [['v5.channel.k8s.io'], 'v5.channel.k8s.io'],
    [['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'], 'v5.channel.k8s.io'],
    [['v4.channel.k8s.io', 'v5.channel.k8s.io'], 'v4.channel.k8s.io'], // the client's order wins
    [['x.example', 'base64.channel.k8s.io'], 'base64.channel.k8s.io'],
    [['v4.base64.channel.k8s.io'], 'v4.base64.channel.k8s.io'],
    [[], ''],
  ])('%j → %s', (offered, name) => {
    expect(negotiateWebSocketProtocol(offered)?.name).toBe(name);
  });

  test('nothing supported → undefined', () => {
    expect(negotiateWebSocketProtocol(['SPDY/3.1+portforward.k8s.io'])).toBeUndefined();
  });

  test('capabilities per protocol', () => {
    expect(negotiateWebSocketProtocol(['v5.channel.k8s.io'])).toMatchObject({ base64: false, statusJson: true, closeSignal: true });
    expect(negotiateWebSocketProtocol(['v4.channel.k8s.io'])).toMatchObject({ base64: false, statusJson: true, closeSignal: false });
    expect(negotiateWebSocketProtocol(['channel.k8s.io'])).toMatchObject({ base64: false, statusJson: false, closeSignal: false });
    expect(negotiateWebSocketProtocol(['base64.channel.k8s.io'])).toMatchObject({ base64: true, statusJson: false });
  });

  test('header parsing: comma lists and repeated headers', () => {
    expect(parseProtocolHeader('v5.channel.k8s.io, v4.channel.k8s.io')).toEqual(['v5.channel.k8s.io', 'v4.channel.k8s.io']);
    expect(parseProtocolHeader(['a', 'b, c'])).toEqual(['a', 'b', 'c']);
    expect(parseProtocolHeader(undefined)).toEqual([]);
    expect(parseProtocolHeader(' , ')).toEqual([]);
  });

  test('SPDY: the newest common version, server preference', () => {
    expect(negotiateSpdyProtocol(['channel.k8s.io', 'v2.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io'])).toMatchObject({ name: 'v4.channel.k8s.io', statusJson: true });
    expect(negotiateSpdyProtocol(['v3.channel.k8s.io'])).toMatchObject({ name: 'v3.channel.k8s.io', statusJson: false });
    expect(negotiateSpdyProtocol([])?.name).toBe('channel.k8s.io');
    expect(negotiateSpdyProtocol(['v9.channel.k8s.io'])).toBeUndefined();
  });
});

describe('channel framing', () => {
  const v5 = negotiateWebSocketProtocol(['v5.channel.k8s.io'])!;
  const b64 = negotiateWebSocketProtocol(['base64.channel.k8s.io'])!;

  test('binary: first byte is the channel', () => {
    const f = encodeFrame(v5, 1, Buffer.from('hi\n'));
    expect(Buffer.isBuffer(f)).toBe(true);
    expect([...(f as Buffer)]).toEqual([1, 104, 105, 10]);
    expect(decodeFrame(v5, f)).toEqual({ channel: 1, data: Buffer.from('hi\n') });
  });

  test('binary: empty payload is just the channel byte', () => {
    expect([...(encodeFrame(v5, 3, Buffer.alloc(0)) as Buffer)]).toEqual([3]);
    expect(decodeFrame(v5, Buffer.from([0]))).toEqual({ channel: 0, data: Buffer.alloc(0) });
  });

  test('binary: v5 close signal decodes as channel 255', () => {
    expect(decodeFrame(v5, Buffer.from([255, 0]))).toEqual({ channel: 255, data: Buffer.from([0]) });
  });

  test('base64: ASCII digit then base64 payload', () => {
    const f = encodeFrame(b64, 1, Buffer.from('foo\n'));
    expect(f).toBe('1Zm9vCg==');
    expect(decodeFrame(b64, '0Zm9vCg==')).toEqual({ channel: 0, data: Buffer.from('foo\n') });
    expect(decodeFrame(b64, Buffer.from('2YQ=='))).toEqual({ channel: 2, data: Buffer.from('a') });
  });

  test.each([
    ['empty binary message', Buffer.alloc(0), v5],
    ['empty text message', '', b64],
    ['non-digit channel in base64', '\xffabc', b64],
  ])('garbage: %s → undefined', (_name, msg, proto) => {
    expect(decodeFrame(proto, msg as Buffer | string)).toBeUndefined();
  });
});

describe('ResizeDecoder', () => {
  test('one object per message', () => {
    const d = new ResizeDecoder();
    expect(d.push(Buffer.from('{"Width":80,"Height":24}'))).toEqual([{ width: 80, height: 24 }]);
  });

  test('objects split across and packed into messages', () => {
    const d = new ResizeDecoder();
    expect(d.push('{"Width":1')).toEqual([]);
    expect(d.push('00,"Height":40}{"Width":120,')).toEqual([{ width: 100, height: 40 }]);
    expect(d.push('"Height":50}\n')).toEqual([{ width: 120, height: 50 }]);
  });

  test.each([
    ['not JSON', '{Width:80}'],
    ['zero size', '{"Width":0,"Height":24}'],
    ['negative', '{"Width":-1,"Height":24}'],
    ['too large', '{"Width":70000,"Height":24}'],
    ['strings', '{"Width":"80","Height":"24"}'],
    ['fraction', '{"Width":80.5,"Height":24}'],
  ])('skips %s', (_n, text) => {
    const d = new ResizeDecoder();
    expect(d.push(text)).toEqual([]);
    // and keeps working afterwards
    expect(d.push('{"Width":10,"Height":5}')).toEqual([{ width: 10, height: 5 }]);
  });

  test('braces inside strings do not confuse it', () => {
    const d = new ResizeDecoder();
    expect(d.push('{"x":"}{\\"","Width":3,"Height":4}')).toEqual([{ width: 3, height: 4 }]);
  });

  test('a huge unterminated message is dropped, not buffered', () => {
    const d = new ResizeDecoder();
    expect(d.push('{"Width":' + '1'.repeat(100_000))).toEqual([]);
    expect(d.push('{"Width":7,"Height":8}')).toEqual([{ width: 7, height: 8 }]);
  });

  test('text without an object is discarded', () => {
    const d = new ResizeDecoder();
    expect(d.push('garbage')).toEqual([]);
    expect(d.push('{"Width":2,"Height":2}')).toEqual([{ width: 2, height: 2 }]);
  });
});

describe('status on the error channel', () => {
  const v5 = negotiateWebSocketProtocol(['v5.channel.k8s.io'])!;
  const v1 = negotiateWebSocketProtocol(['channel.k8s.io'])!;

  test('success, exactly as the kubelet marshals it', () => {
    expect(encodeStatus(v5, successStatus())!.toString()).toBe('{"metadata":{},"status":"Success"}');
    expect(encodeStatus(v1, successStatus())).toBeUndefined();
  });

  test('non-zero exit code', () => {
    const s = exitCodeStatus(['sh', '-c', 'exit 3'], 3);
    expect(encodeStatus(v5, s)!.toString()).toBe(
      '{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}',
    );
    expect(encodeStatus(v1, s)!.toString()).toBe('command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3');
  });

  test('internal error', () => {
    const s = internalErrorStatus('boom');
    expect(JSON.parse(encodeStatus(v5, s)!.toString())).toEqual({
      metadata: {},
      status: 'Failure',
      message: 'Internal error occurred: boom',
      reason: 'InternalError',
      details: { causes: [{ message: 'boom' }] },
      code: 500,
    });
  });
});
