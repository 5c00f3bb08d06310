import { PassThrough } from 'node:stream';
import * as zlib from 'node:zlib';
import {
  decodeHeaderBlock,
  encodeDataFrame,
  encodeGoAway,
  encodeHeaderBlock,
  encodePing,
  encodeRstStream,
  encodeSynReply,
  encodeSynStream,
  FLAG_FIN,
  FRAME,
  HeaderCompressor,
  HeaderDecompressor,
  SPDY3_DICTIONARY,
  SpdyFrameReader,
  SpdyProtocolError,
  SpdyServerSession,
  type SpdyFrame,
  type SpdyStream,
} from '../../../src/apiserver/streams/spdy';

function adler32(buf: Buffer): number {
  let a = 1;
  let b = 0;
  for (const byte of buf) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** A client-side header compressor like Go's (zlib with the dictionary, sync flush per block). */
function clientCompressor(): (block: Buffer) => Promise<Buffer> {
  const z = zlib.createDeflate({ dictionary: SPDY3_DICTIONARY });
  const out: Buffer[] = [];
  z.on('data', (d: Buffer) => out.push(d));
  return (block) =>
    new Promise((resolve) => {
      z.write(block);
      z.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve(Buffer.concat(out.splice(0))));
    });
}

describe('SPDY/3 dictionary', () => {
  test('is the 1423-byte dictionary whose zlib id is 0xe3c6a7c2', () => {
    expect(SPDY3_DICTIONARY.length).toBe(1423);
    expect(adler32(SPDY3_DICTIONARY).toString(16)).toBe('e3c6a7c2');
  });
});

describe('header blocks', () => {
  test('encode/decode round trip, names lowercased, NUL-separated values split', () => {
    const block = encodeHeaderBlock([
      ['streamType', 'error'],
      ['X-Multi', 'a\0b'],
    ]);
    const h = decodeHeaderBlock(block);
    expect(h.get('streamtype')).toEqual(['error']);
    expect(h.get('x-multi')).toEqual(['a', 'b']);
  });

  test('empty block is four zero bytes', () => {
    expect([...encodeHeaderBlock([])]).toEqual([0, 0, 0, 0]);
  });

  test.each([
    ['too short', Buffer.from([0, 0])],
    ['truncated name', Buffer.from([0, 0, 0, 1, 0, 0, 0, 9, 97])],
    ['huge count', Buffer.from([0xff, 0xff, 0xff, 0xff])],
  ])('garbage (%s) is a protocol error', (_n, buf) => {
    expect(() => decodeHeaderBlock(buf)).toThrow(SpdyProtocolError);
  });

  test('decompressor inflates successive dictionary-compressed blocks of one zlib stream', async () => {
    const compress = clientCompressor();
    const d = new HeaderDecompressor();
    for (const type of ['error', 'stdin', 'stdout', 'stderr', 'resize']) {
      const raw = encodeHeaderBlock([['streamtype', type]]);
      const compressed = await compress(raw);
      expect(decodeHeaderBlock(d.inflate(compressed)).get('streamtype')).toEqual([type]);
    }
  });

  test('decompressor keeps up with a long-lived connection: thousands of blocks, > 256 KiB compressed, back-references across blocks', async () => {
    // A port-forward session opens two streams per local connection; kubectl keeps it for hours.
    const compress = clientCompressor();
    const d = new HeaderDecompressor();
    let compressedTotal = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 9000; i++) {
      // Random-ish values defeat compression enough to push the total well past 256 KiB; the
      // repeated names and the earlier requestIDs are back-references into earlier blocks.
      const raw = encodeHeaderBlock([
        ['streamtype', i % 2 ? 'data' : 'error'],
        ['port', '8080'],
        ['requestid', String(i >> 1)],
        ['x-noise', (i * 2654435761).toString(36) + Math.random().toString(36)],
      ]);
      const compressed = await compress(raw);
      compressedTotal += compressed.length;
      expect(d.inflate(compressed).equals(raw)).toBe(true);
    }
    expect(compressedTotal).toBeGreaterThan(256 * 1024);
    // Linear, not quadratic, in the number of blocks (re-inflating the history took minutes).
    expect(Number(process.hrtime.bigint() - t0) / 1e9).toBeLessThan(20);
  }, 60_000);

  test('decompressor rejects garbage', () => {
    expect(() => new HeaderDecompressor().inflate(Buffer.from('not zlib at all'))).toThrow(SpdyProtocolError);
  });

  test('compressor output is a valid zlib stream, block by block', () => {
    const c = new HeaderCompressor();
    const a = encodeHeaderBlock([['a', '1']]);
    const b = encodeHeaderBlock([]);
    const big = encodeHeaderBlock([['x', 'y'.repeat(70_000)]]); // more than one stored block
    const stream = Buffer.concat([c.deflate(a), c.deflate(b), c.deflate(big)]);
    const out = zlib.inflateSync(stream, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    expect(out.equals(Buffer.concat([a, b, big]))).toBe(true);
  });

  test('every compressed block ends with the sync-flush marker (Go inflaters need it)', () => {
    const c = new HeaderCompressor();
    for (const block of [encodeHeaderBlock([]), encodeHeaderBlock([['a', 'b']])]) {
      expect([...c.deflate(block).subarray(-5)]).toEqual([0, 0, 0, 0xff, 0xff]);
    }
  });
});

describe('frames', () => {
  test('data and control frames round-trip through the reader, split at every byte', () => {
    const bytes = Buffer.concat([
      encodeDataFrame(3, Buffer.from('hello'), FLAG_FIN),
      encodePing(7),
      encodeGoAway(5, 0),
      encodeRstStream(9, 5),
      encodeSynReply(1, Buffer.from([1, 2, 3])),
    ]);
    const r = new SpdyFrameReader();
    const frames: SpdyFrame[] = [];
    for (let i = 0; i < bytes.length; i++) frames.push(...r.push(bytes.subarray(i, i + 1)));
    expect(frames).toHaveLength(5);
    expect(frames[0]).toEqual({ control: false, streamId: 3, flags: FLAG_FIN, data: Buffer.from('hello') });
    expect(frames[1]).toMatchObject({ control: true, version: 3, type: FRAME.PING, flags: 0 });
    expect((frames[1] as { payload: Buffer }).payload.readUInt32BE(0)).toBe(7);
    expect(frames[2]).toMatchObject({ control: true, type: FRAME.GOAWAY });
    expect(frames[3]).toMatchObject({ control: true, type: FRAME.RST_STREAM });
    expect(frames[4]).toMatchObject({ control: true, type: FRAME.SYN_REPLY });
    expect([...(frames[4] as { payload: Buffer }).payload]).toEqual([0, 0, 0, 1, 1, 2, 3]);
  });

  test('an oversized frame is a protocol error before it is buffered', () => {
    const r = new SpdyFrameReader(1024);
    const hdr = encodeDataFrame(1, Buffer.alloc(0)).subarray(0, 8);
    hdr.writeUInt32BE(0x00ffffff, 4);
    expect(() => r.push(hdr)).toThrow(SpdyProtocolError);
  });
});

describe('SpdyServerSession', () => {
  function setup() {
    // The session reads from `sock` (fed with session.feed here) and writes to it: capture writes.
    const sock = new PassThrough();
    const written: Buffer[] = [];
    const duplex = Object.assign(sock, {
      write: (b: Buffer) => {
        written.push(b);
        return true;
      },
    });
    const errors: string[] = [];
    const session = new SpdyServerSession(duplex, { onProtocolError: (m) => errors.push(m) });
    const streams: SpdyStream[] = [];
    session.on('stream', (s: SpdyStream) => {
      s.accept();
      streams.push(s);
    });
    const frames = (): SpdyFrame[] => new SpdyFrameReader().push(Buffer.concat(written));
    return { sock, session, streams, frames, errors };
  }

  test('accepts streams, echoes pings, delivers data and FIN', async () => {
    const { session, streams, frames } = setup();
    const compress = clientCompressor();
    session.feed(encodeSynStream(1, await compress(encodeHeaderBlock([['streamtype', 'error']]))));
    session.feed(encodeSynStream(3, await compress(encodeHeaderBlock([['streamtype', 'stdin']]))));
    expect(streams.map((s) => s.header('streamType'))).toEqual(['error', 'stdin']);
    const got: string[] = [];
    let ended = false;
    streams[1].on('data', (d: Buffer) => got.push(d.toString()));
    streams[1].on('end', () => (ended = true));
    session.feed(Buffer.concat([encodeDataFrame(3, Buffer.from('abc')), encodePing(5), encodeDataFrame(3, Buffer.alloc(0), FLAG_FIN)]));
    expect(got).toEqual(['abc']);
    expect(ended).toBe(true);
    streams[0].write(Buffer.from('status'));
    streams[0].end();
    const f = frames();
    expect(f.filter((x) => x.control && x.type === FRAME.SYN_REPLY)).toHaveLength(2);
    const ping = f.find((x) => x.control && x.type === FRAME.PING) as { payload: Buffer };
    expect(ping.payload.readUInt32BE(0)).toBe(5);
    const data = f.filter((x) => !x.control) as { streamId: number; flags: number; data: Buffer }[];
    expect(data.map((d) => [d.streamId, d.data.toString(), d.flags])).toEqual([
      [1, 'status', 0],
      [1, '', FLAG_FIN],
    ]);
    // The replies' header blocks form one valid zlib stream of empty header sets.
    const replies = f.filter((x) => x.control && x.type === FRAME.SYN_REPLY) as { payload: Buffer }[];
    const z = Buffer.concat(replies.map((r) => r.payload.subarray(4)));
    expect([...zlib.inflateSync(z, { finishFlush: zlib.constants.Z_SYNC_FLUSH })]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  test('garbage ends the session with GOAWAY PROTOCOL_ERROR and no exception', () => {
    const { session, frames, errors } = setup();
    expect(() => session.feed(Buffer.from([0x80, 0x02, 0x00, 0x01, 0, 0, 0, 0]))).not.toThrow(); // SPDY/2
    expect(errors[0]).toMatch(/unsupported SPDY version 2/);
    const g = frames().find((x) => x.control && x.type === FRAME.GOAWAY) as { payload: Buffer };
    expect(g.payload.readUInt32BE(4)).toBe(1);
  });

  test('a SYN_STREAM with an undecodable header block is a protocol error', () => {
    const { session, errors } = setup();
    session.feed(encodeSynStream(1, Buffer.from('garbage')));
    expect(errors[0]).toMatch(/decompress/);
  });

  test('even or repeated stream ids are reset', async () => {
    const { session, streams, frames } = setup();
    const compress = clientCompressor();
    session.feed(encodeSynStream(1, await compress(encodeHeaderBlock([['streamtype', 'error']]))));
    session.feed(encodeSynStream(1, await compress(encodeHeaderBlock([['streamtype', 'stdout']]))));
    session.feed(encodeSynStream(4, await compress(encodeHeaderBlock([['streamtype', 'stdout']]))));
    expect(streams).toHaveLength(1);
    expect(frames().filter((x) => x.control && x.type === FRAME.RST_STREAM)).toHaveLength(2);
  });
});
