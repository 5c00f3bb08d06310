/**
 * SPDY/3.1 server side, as much of it as Kubernetes streaming clients use (kubectl ≤ 1.29 exec
 * and attach, client-go's SPDY executor built on moby/spdystream).
 *
 * Wire format (draft-mbelshe-httpbis-spdy-00): 8-byte frame headers. Control frames: bit 0 set,
 * 15-bit version (3), 16-bit type, 8-bit flags, 24-bit length. Data frames: 31-bit stream id,
 * 8-bit flags (FIN = 1), 24-bit length. Name/value header blocks (32-bit counts and lengths)
 * are zlib-compressed with one compression context per direction and connection, primed with
 * the SPDY/3 dictionary.
 *
 * Header compression: incoming blocks are inflated with the dictionary (each block ends in a
 * sync flush, so the stream inflates block by block). Outgoing blocks are written as *stored*
 * (uncompressed) deflate blocks behind a zlib header without a preset dictionary — valid for
 * any zlib reader, and it keeps the encoder stateless apart from "header sent yet".
 *
 * Flow control: SPDY/3.1 windows are not enforced in either direction (spdystream does not
 * enforce them either); WINDOW_UPDATE and SETTINGS frames are ignored. Backpressure comes from
 * the socket: `SpdyStream.write` returns false when the socket buffer is full, and the session
 * emits `drain` when it empties.
 *
 * Robustness: malformed input (bad version, oversized frames, undecodable header blocks) ends
 * the session with a GOAWAY PROTOCOL_ERROR; nothing here throws out of socket callbacks.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import * as zlib from 'node:zlib';
import { realStreamClock, type StreamClock } from './clock';

export const SPDY_VERSION = 3;

export const FRAME = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;

/** RST_STREAM status codes. */
export const RST = { PROTOCOL_ERROR: 1, INVALID_STREAM: 2, REFUSED_STREAM: 3, CANCEL: 5, STREAM_IN_USE: 8 } as const;
/** GOAWAY status codes. */
export const GOAWAY = { OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 } as const;

// ---------------------------------------------------------------------------------------
// The SPDY/3 header compression dictionary

/** Header names of the dictionary, each stored as a 32-bit length and the name. */
const DICT_WORDS = [
  'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding',
  'accept-language', 'accept-ranges', 'age', 'allow', 'authorization', 'cache-control', 'connection',
  'content-base', 'content-encoding', 'content-language', 'content-length', 'content-location',
  'content-md5', 'content-range', 'content-type', 'date', 'etag', 'expect', 'expires', 'from', 'host',
  'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since', 'last-modified',
  'location', 'max-forwards', 'pragma', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer',
  'retry-after', 'server', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'vary', 'via',
  'warning', 'www-authenticate', 'method', 'get', 'status', '200 OK', 'version', 'HTTP/1.1', 'url',
  'public', 'set-cookie', 'keep-alive', 'origin',
];

/** Common values, stored as plain text after the names. */
const DICT_TAIL =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized' +
  '403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable' +
  'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
  'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,' +
  'text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

function buildDictionary(): Buffer {
  const parts: Buffer[] = [];
  for (const w of DICT_WORDS) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(w.length);
    parts.push(len, Buffer.from(w, 'latin1'));
  }
  parts.push(Buffer.from(DICT_TAIL, 'latin1'));
  return Buffer.concat(parts);
}

/** The 1423-byte SPDY/3 dictionary (zlib dictionary id 0xe3c6a7c2). */
export const SPDY3_DICTIONARY: Buffer = buildDictionary();

// ---------------------------------------------------------------------------------------
// Header blocks

export type HeaderList = [name: string, value: string][];

/** Thrown by the codec and the frame reader on malformed input. */
export class SpdyProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpdyProtocolError';
  }
}

/** Name/value block: count, then (length, name, length, value) with 32-bit big-endian lengths. */
export function encodeHeaderBlock(headers: HeaderList): Buffer {
  const parts: Buffer[] = [u32(headers.length)];
  for (const [n, v] of headers) {
    const nb = Buffer.from(n.toLowerCase(), 'utf8');
    const vb = Buffer.from(v, 'utf8');
    parts.push(u32(nb.length), nb, u32(vb.length), vb);
  }
  return Buffer.concat(parts);
}

/**
 * Parses an uncompressed name/value block into lowercase names; a value holding several
 * NUL-separated values yields one entry per value.
 */
export function decodeHeaderBlock(buf: Buffer): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (buf.length < 4) throw new SpdyProtocolError('header block too short');
  const count = buf.readUInt32BE(0);
  let off = 4;
  const take = (): Buffer => {
    if (off + 4 > buf.length) throw new SpdyProtocolError('truncated header block');
    const len = buf.readUInt32BE(off);
    off += 4;
    if (off + len > buf.length) throw new SpdyProtocolError('truncated header block');
    const b = buf.subarray(off, off + len);
    off += len;
    return b;
  };
  if (count > 1024) throw new SpdyProtocolError('too many headers');
  for (let i = 0; i < count; i++) {
    const name = take().toString('utf8').toLowerCase();
    const values = take().toString('utf8').split('\0');
    out.set(name, [...(out.get(name) ?? []), ...values]);
  }
  return out;
}

/** Largest decompressed header block accepted (a small compressed block may expand a lot). */
const MAX_HEADER_BLOCK_BYTES = 1 << 20;

/** The deflate window: back-references reach at most this far into earlier output. */
const DEFLATE_WINDOW = 32 * 1024;

/**
 * Inflates the peer's header blocks. The peer's zlib stream spans all blocks of the connection:
 * back-references of a block may reach into the output of earlier blocks (and the preset
 * dictionary). Each block ends with a sync flush, so the next one starts on a byte boundary with
 * a fresh deflate block; it is inflated as raw deflate with the last 32 KiB of the stream's
 * output (the dictionary included) as the preset window, which is all the inflater state a new
 * deflate block depends on. The first block (with the zlib header) is inflated with the SPDY
 * dictionary. Cost per block is linear in its size plus 32 KiB, however many streams the
 * connection opened before; blocks must be fed in arrival order (the session does).
 * Throws SpdyProtocolError on undecodable input or a block inflating beyond 1 MiB.
 */
export class HeaderDecompressor {
  private window: Buffer = SPDY3_DICTIONARY;
  private started = false;

  inflate(block: Buffer): Buffer {
    let out: Buffer;
    try {
      const opts = { dictionary: this.window, finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: MAX_HEADER_BLOCK_BYTES };
      out = this.started ? zlib.inflateRawSync(block, opts) : zlib.inflateSync(block, opts);
    } catch (e) {
      throw new SpdyProtocolError(`cannot decompress header block: ${(e as Error).message}`);
    }
    this.started = true;
    const all = Buffer.concat([this.window, out]);
    this.window = all.length > DEFLATE_WINDOW ? all.subarray(all.length - DEFLATE_WINDOW) : all;
    return out;
  }
}

/**
 * Produces our header blocks as stored deflate blocks (see the module comment). The first block
 * carries the 2-byte zlib header (deflate, 32 KiB window, no preset dictionary). Each block ends
 * with an empty stored block, the sync-flush marker: Go's inflater only hands out buffered output
 * when it meets one, and would otherwise read past the frame (and fail) looking for the next block.
 */
export class HeaderCompressor {
  private started = false;

  deflate(block: Buffer): Buffer {
    const parts: Buffer[] = [];
    if (!this.started) {
      parts.push(Buffer.from([0x78, 0x01]));
      this.started = true;
    }
    let off = 0;
    do {
      const n = Math.min(0xffff, block.length - off);
      const hdr = Buffer.alloc(5);
      hdr[0] = 0x00; // BFINAL=0, BTYPE=00 (stored), padded to the byte boundary
      hdr.writeUInt16LE(n, 1);
      hdr.writeUInt16LE(n ^ 0xffff, 3);
      parts.push(hdr, block.subarray(off, off + n));
      off += n;
    } while (off < block.length);
    parts.push(Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]));
    return Buffer.concat(parts);
  }
}

// ---------------------------------------------------------------------------------------
// Frames

export type SpdyFrame =
  | { control: false; streamId: number; flags: number; data: Buffer }
  | { control: true; version: number; type: number; flags: number; payload: Buffer };

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  if (payload.length > 0xffffff) throw new RangeError('SPDY frame payload too large');
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE(((flags & 0xff) << 24) | payload.length, 4);
  return Buffer.concat([h, payload]);
}

export function encodeDataFrame(streamId: number, data: Buffer, flags = 0): Buffer {
  if (data.length > 0xffffff) throw new RangeError('SPDY frame payload too large');
  const h = Buffer.alloc(8);
  h.writeUInt32BE(streamId & 0x7fffffff, 0);
  h.writeUInt32BE(((flags & 0xff) << 24) | data.length, 4);
  return Buffer.concat([h, data]);
}

export function encodeSynReply(streamId: number, compressedHeaders: Buffer, flags = 0): Buffer {
  return controlFrame(FRAME.SYN_REPLY, flags, Buffer.concat([u32(streamId & 0x7fffffff), compressedHeaders]));
}

/** Client side (tests): SYN_STREAM with priority 0, no association. */
export function encodeSynStream(streamId: number, compressedHeaders: Buffer, flags = 0): Buffer {
  return controlFrame(FRAME.SYN_STREAM, flags, Buffer.concat([u32(streamId & 0x7fffffff), u32(0), Buffer.from([0, 0]), compressedHeaders]));
}

export function encodeRstStream(streamId: number, status: number): Buffer {
  return controlFrame(FRAME.RST_STREAM, 0, Buffer.concat([u32(streamId & 0x7fffffff), u32(status)]));
}

export function encodePing(id: number): Buffer {
  return controlFrame(FRAME.PING, 0, u32(id));
}

export function encodeGoAway(lastGoodStreamId: number, status: number): Buffer {
  return controlFrame(FRAME.GOAWAY, 0, Buffer.concat([u32(lastGoodStreamId & 0x7fffffff), u32(status)]));
}

/**
 * Incremental frame parser: `push` bytes as they arrive, get the complete frames. Throws
 * SpdyProtocolError for a frame longer than `maxFrameBytes` (the connection is then unusable).
 */
export class SpdyFrameReader {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxFrameBytes = 1 << 20) {}

  push(chunk: Buffer): SpdyFrame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const frames: SpdyFrame[] = [];
    while (this.buf.length >= 8) {
      const len = this.buf.readUInt32BE(4) & 0xffffff;
      if (len > this.maxFrameBytes) throw new SpdyProtocolError(`frame of ${len} bytes exceeds the limit of ${this.maxFrameBytes}`);
      if (this.buf.length < 8 + len) break;
      const flags = this.buf[4];
      const payload = this.buf.subarray(8, 8 + len);
      if (this.buf[0] & 0x80) {
        frames.push({ control: true, version: this.buf.readUInt16BE(0) & 0x7fff, type: this.buf.readUInt16BE(2), flags, payload });
      } else {
        frames.push({ control: false, streamId: this.buf.readUInt32BE(0) & 0x7fffffff, flags, data: payload });
      }
      this.buf = this.buf.subarray(8 + len);
    }
    return frames;
  }
}

// ---------------------------------------------------------------------------------------
// Server session

/**
 * One client-initiated stream. Events: `data` (Buffer), `end` (the client half-closed it, or
 * reset it, or the connection closed; emitted once).
 */
export class SpdyStream extends EventEmitter {
  private localClosed = false;
  private remoteEnded = false;
  replied = false;

  constructor(
    readonly id: number,
    readonly headers: Map<string, string[]>,
    private readonly session: SpdyServerSession,
    remoteFin: boolean,
  ) {
    super();
    if (remoteFin) this.remoteEnded = true;
  }

  /** First value of a (lowercase) header. */
  header(name: string): string | undefined {
    return this.headers.get(name.toLowerCase())?.[0];
  }

  /** True once the client can no longer send on this stream. */
  get ended(): boolean {
    return this.remoteEnded;
  }

  /** Accept the stream (SYN_REPLY with no headers). */
  accept(): void {
    if (this.replied) return;
    this.replied = true;
    this.session.sendReply(this.id);
  }

  /** Send data; false when the socket is congested (wait for the session's `drain`). */
  write(data: Buffer): boolean {
    if (this.localClosed || data.length === 0) return true;
    let ok = true;
    for (let off = 0; off < data.length; off += 32 * 1024) {
      ok = this.session.send(encodeDataFrame(this.id, data.subarray(off, off + 32 * 1024)));
    }
    return ok;
  }

  /** Half-close our side (empty DATA frame with FIN). Idempotent. */
  end(): void {
    if (this.localClosed) return;
    this.localClosed = true;
    this.session.send(encodeDataFrame(this.id, Buffer.alloc(0), FLAG_FIN));
    this.finishIfDone();
  }

  /** Abort the stream in both directions. */
  reset(status: number = RST.CANCEL): void {
    if (!this.localClosed) this.session.send(encodeRstStream(this.id, status));
    this.localClosed = true;
    this.remoteEnd();
    // remoteEnd is a no-op when the client had already half-closed.
    this.finishIfDone();
  }

  /** @internal */
  remoteData(data: Buffer): void {
    if (this.remoteEnded || data.length === 0) return;
    this.emit('data', data);
  }

  /** @internal */
  remoteEnd(): void {
    if (this.remoteEnded) return;
    this.remoteEnded = true;
    this.emit('end');
    this.finishIfDone();
  }

  /** A stream closed in both directions is dropped from the session (no per-stream leak). */
  private finishIfDone(): void {
    if (this.localClosed && this.remoteEnded) this.session.forgetStream(this.id);
  }
}

export interface SpdyServerSessionOptions {
  maxFrameBytes?: number;
  /** Called once with the reason when the session fails on bad input. */
  onProtocolError?: (message: string) => void;
  clock?: StreamClock;
}

/**
 * A server-side SPDY/3.1 session over an upgraded socket. Events: `stream` (SpdyStream, after
 * its SYN_STREAM; the listener must `accept()` or `reset()` it), `drain`, `close` (socket
 * closed; emitted once, after every open stream got `end`).
 *
 * Concurrency: all work happens in socket callbacks on the event loop; handlers must not block.
 */
export class SpdyServerSession extends EventEmitter {
  private readonly reader: SpdyFrameReader;
  private readonly inflater = new HeaderDecompressor();
  private readonly deflater = new HeaderCompressor();
  private readonly streams = new Map<number, SpdyStream>();
  private lastClientStreamId = 0;

  /** @internal called by a stream closed in both directions */
  forgetStream(id: number): void {
    this.streams.delete(id);
  }
  private goneAway = false;
  private closed = false;
  private readonly clock: StreamClock;

  constructor(
    private readonly socket: Duplex,
    private readonly opts: SpdyServerSessionOptions = {},
  ) {
    super();
    this.reader = new SpdyFrameReader(opts.maxFrameBytes ?? 1 << 20);
    this.clock = opts.clock ?? realStreamClock;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.emit('drain'));
    socket.on('error', () => this.onClose());
    socket.on('close', () => this.onClose());
    socket.on('end', () => this.onClose());
  }

  /** Feed bytes that arrived with the upgrade request (the `head` buffer). */
  feed(head: Buffer): void {
    if (head.length) this.onData(head);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** @internal Write a raw frame; false when the socket is congested. */
  send(frame: Buffer): boolean {
    if (this.closed || !this.socket.writable) return true;
    return this.socket.write(frame);
  }

  /** @internal */
  sendReply(streamId: number): void {
    this.send(encodeSynReply(streamId, this.deflater.deflate(encodeHeaderBlock([]))));
  }

  /**
   * Say GOAWAY (OK, or `status`) and let the client close the connection; destroy it ourselves
   * after `graceMs` (default 10 s) if it does not. Idempotent.
   */
  goAway(status: number = GOAWAY.OK, graceMs = 10_000): void {
    if (this.goneAway || this.closed) return;
    this.goneAway = true;
    this.send(encodeGoAway(this.lastClientStreamId, status));
    const t = this.clock.setTimeout(() => this.destroy(), graceMs);
    this.once('close', () => this.clock.clearTimeout(t));
  }

  /** Drop the connection at once. */
  destroy(): void {
    if (!this.socket.destroyed) this.socket.destroy();
    this.onClose();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams.values()) s.remoteEnd();
    this.streams.clear();
    this.emit('close');
  }

  private fail(message: string): void {
    if (this.closed) return;
    this.opts.onProtocolError?.(message);
    this.send(encodeGoAway(this.lastClientStreamId, GOAWAY.PROTOCOL_ERROR));
    if (this.socket.writable) this.socket.end();
    const t = this.clock.setTimeout(() => this.destroy(), 1000);
    this.once('close', () => this.clock.clearTimeout(t));
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let frames: SpdyFrame[];
    try {
      frames = this.reader.push(chunk);
    } catch (e) {
      this.fail((e as Error).message);
      return;
    }
    for (const f of frames) {
      try {
        this.onFrame(f);
      } catch (e) {
        this.fail(e instanceof SpdyProtocolError ? e.message : `bad frame: ${String(e)}`);
        return;
      }
      if (this.closed) return;
    }
  }

  private onFrame(f: SpdyFrame): void {
    if (!f.control) {
      const s = this.streams.get(f.streamId);
      if (!s) return; // unknown or finished stream: ignore, as spdystream does
      s.remoteData(f.data);
      if (f.flags & FLAG_FIN) s.remoteEnd();
      return;
    }
    if (f.version !== SPDY_VERSION) throw new SpdyProtocolError(`unsupported SPDY version ${f.version}`);
    const p = f.payload;
    switch (f.type) {
      case FRAME.SYN_STREAM: {
        if (p.length < 10) throw new SpdyProtocolError('short SYN_STREAM');
        const id = p.readUInt32BE(0) & 0x7fffffff;
        // Headers must be inflated even for a refused stream: the compression context is shared.
        const headers = decodeHeaderBlock(this.inflater.inflate(p.subarray(10)));
        if (id % 2 === 0 || id <= this.lastClientStreamId) {
          this.send(encodeRstStream(id, RST.PROTOCOL_ERROR));
          return;
        }
        this.lastClientStreamId = id;
        if (this.goneAway) {
          this.send(encodeRstStream(id, RST.REFUSED_STREAM));
          return;
        }
        const s = new SpdyStream(id, headers, this, (f.flags & FLAG_FIN) !== 0);
        this.streams.set(id, s);
        this.emit('stream', s);
        return;
      }
      case FRAME.RST_STREAM: {
        if (p.length < 8) throw new SpdyProtocolError('short RST_STREAM');
        const s = this.streams.get(p.readUInt32BE(0) & 0x7fffffff);
        if (s) s.remoteEnd();
        return;
      }
      case FRAME.PING: {
        if (p.length < 4) throw new SpdyProtocolError('short PING');
        const id = p.readUInt32BE(0);
        // Client pings carry odd ids: echo them. Even ids would answer our own pings (we send none).
        if (id % 2 === 1) this.send(encodePing(id));
        return;
      }
      case FRAME.GOAWAY:
        this.goneAway = true;
        this.emit('goaway');
        return;
      case FRAME.HEADERS:
        // Header blocks still advance the shared compression context.
        if (p.length >= 4) this.inflater.inflate(p.subarray(4));
        return;
      case FRAME.SYN_REPLY:
        if (p.length >= 4) this.inflater.inflate(p.subarray(4));
        return;
      default:
        // SETTINGS, WINDOW_UPDATE, NOOP and unknown types: nothing to do.
        return;
    }
  }
}
