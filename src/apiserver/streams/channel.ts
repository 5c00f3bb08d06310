/**
 * The Kubernetes remote-command channel protocols (exec / attach) as spoken over WebSocket, and
 * the stream protocol versions shared with SPDY.
 *
 * WebSocket subprotocols (the client lists them in `Sec-WebSocket-Protocol`; the server picks
 * the first one it supports, in the client's order, and echoes it):
 * - `v5.channel.k8s.io` (kubectl ≥ 1.30): binary messages, first byte = channel; the error
 *   channel carries a JSON `Status`; a `[255, ch]` message half-closes channel `ch` (stdin).
 * - `v4.channel.k8s.io` (@kubernetes/client-node), `v4.base64.channel.k8s.io`: as v5 without
 *   the close signal.
 * - `v3.channel.k8s.io`, `v2.channel.k8s.io`, `channel.k8s.io`, `base64.channel.k8s.io`, or no
 *   subprotocol at all: the error channel carries the failure message as plain text (nothing on
 *   success), so exit codes are not transported.
 * `base64.*` protocols use text messages: the channel as an ASCII digit, then base64 data.
 *
 * Channels: 0 stdin, 1 stdout, 2 stderr, 3 error/status, 4 resize (`{"Width":W,"Height":H}`
 * JSON, possibly several per message or split across messages).
 *
 * Everything here is pure: no I/O, no clocks. Decoders never throw on hostile input; they
 * return `undefined` or skip what they cannot use.
 */

export const CHANNEL_STDIN = 0;
export const CHANNEL_STDOUT = 1;
export const CHANNEL_STDERR = 2;
export const CHANNEL_ERROR = 3;
export const CHANNEL_RESIZE = 4;
/** v5 close signal: `[255, channel]`. */
export const CHANNEL_CLOSE = 255;

export interface ChannelProtocol {
  /** Subprotocol name as negotiated (`''` when the client offered none). */
  name: string;
  /** Text messages with base64 payloads instead of binary messages. */
  base64: boolean;
  /** The error channel carries a JSON Status (v4 and later) rather than plain text. */
  statusJson: boolean;
  /** The client may half-close channels with `[255, ch]` (v5). */
  closeSignal: boolean;
}

const WS_PROTOCOLS: Record<string, ChannelProtocol> = {
  'v5.channel.k8s.io': { name: 'v5.channel.k8s.io', base64: false, statusJson: true, closeSignal: true },
  'v4.channel.k8s.io': { name: 'v4.channel.k8s.io', base64: false, statusJson: true, closeSignal: false },
  'v4.base64.channel.k8s.io': { name: 'v4.base64.channel.k8s.io', base64: true, statusJson: true, closeSignal: false },
  'v3.channel.k8s.io': { name: 'v3.channel.k8s.io', base64: false, statusJson: false, closeSignal: false },
  'v2.channel.k8s.io': { name: 'v2.channel.k8s.io', base64: false, statusJson: false, closeSignal: false },
  'channel.k8s.io': { name: 'channel.k8s.io', base64: false, statusJson: false, closeSignal: false },
  'base64.channel.k8s.io': { name: 'base64.channel.k8s.io', base64: true, statusJson: false, closeSignal: false },
};

/** The WebSocket subprotocols this server accepts, newest first. */
export const SUPPORTED_WEBSOCKET_PROTOCOLS = Object.keys(WS_PROTOCOLS);

/** Splits a `Sec-WebSocket-Protocol` header (possibly repeated) into protocol names. */
export function parseProtocolHeader(header: string | string[] | undefined): string[] {
  const parts = Array.isArray(header) ? header : header === undefined ? [] : [header];
  return parts
    .flatMap((p) => p.split(','))
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

/**
 * Picks the first offered subprotocol that is supported. No offer at all means the legacy
 * binary protocol (`name: ''`); offers of which none is supported yield `undefined`.
 */
export function negotiateWebSocketProtocol(offered: string[]): ChannelProtocol | undefined {
  if (offered.length === 0) return { name: '', base64: false, statusJson: false, closeSignal: false };
  for (const p of offered) {
    const proto = WS_PROTOCOLS[p];
    if (proto) return proto;
  }
  return undefined;
}

/**
 * SPDY stream protocol versions (`X-Stream-Protocol-Version`), newest first. SPDY has no close
 * signal (a stream is half-closed with FIN) and never uses base64.
 */
export const SUPPORTED_SPDY_PROTOCOLS = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];

/**
 * Picks the newest SPDY stream protocol both sides support (the server's preference, as the
 * kubelet does). No header at all means `channel.k8s.io`; offers of which none is supported
 * yield `undefined`.
 */
export function negotiateSpdyProtocol(offered: string[]): ChannelProtocol | undefined {
  if (offered.length === 0) return { name: 'channel.k8s.io', base64: false, statusJson: false, closeSignal: false };
  for (const p of SUPPORTED_SPDY_PROTOCOLS) {
    if (offered.includes(p)) return { name: p, base64: false, statusJson: p === 'v4.channel.k8s.io', closeSignal: false };
  }
  return undefined;
}

/** One WebSocket message for `channel`: a Buffer (binary protocols) or a string (base64 protocols). */
export function encodeFrame(proto: ChannelProtocol, channel: number, data: Buffer): Buffer | string {
  if (proto.base64) return String.fromCharCode(48 + channel) + data.toString('base64');
  const out = Buffer.allocUnsafe(data.length + 1);
  out[0] = channel;
  data.copy(out, 1);
  return out;
}

export interface DecodedFrame {
  channel: number;
  data: Buffer;
}

/**
 * Decodes one client message. Empty messages and, for base64 protocols, a non-digit channel
 * yield `undefined`; invalid base64 characters are skipped (as Node's decoder does).
 */
export function decodeFrame(proto: ChannelProtocol, message: Buffer | string): DecodedFrame | undefined {
  if (proto.base64) {
    const text = typeof message === 'string' ? message : message.toString('latin1');
    if (text.length === 0) return undefined;
    const code = text.charCodeAt(0);
    // The close signal is not defined for base64 protocols; channels are single digits.
    if (code < 48 || code > 57) return undefined;
    return { channel: code - 48, data: Buffer.from(text.slice(1), 'base64') };
  }
  const buf = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  if (buf.length === 0) return undefined;
  return { channel: buf[0], data: buf.subarray(1) };
}

// ---------------------------------------------------------------------------------------
// Resize messages

export interface TerminalSize {
  width: number;
  height: number;
}

/** Largest buffered resize text; a longer unterminated message is dropped. */
const MAX_RESIZE_BUFFER = 4096;

/**
 * Incremental decoder for the resize channel: a stream of JSON objects
 * `{"Width":W,"Height":H}` with arbitrary message boundaries. Objects that do not parse, lack
 * positive integer sizes or exceed 65535 are skipped; input that never completes an object
 * within 4 KiB is discarded.
 */
export class ResizeDecoder {
  private buf = '';

  push(data: Buffer | string): TerminalSize[] {
    this.buf += typeof data === 'string' ? data : data.toString('utf8');
    const out: TerminalSize[] = [];
    for (;;) {
      const start = this.buf.indexOf('{');
      if (start < 0) {
        this.buf = '';
        break;
      }
      const end = objectEnd(this.buf, start);
      if (end < 0) {
        this.buf = this.buf.slice(start);
        if (this.buf.length > MAX_RESIZE_BUFFER) this.buf = '';
        break;
      }
      const size = parseSize(this.buf.slice(start, end + 1));
      if (size) out.push(size);
      this.buf = this.buf.slice(end + 1);
    }
    return out;
  }
}

/** Index of the `}` closing the object opened at `start`, or -1 when incomplete. */
function objectEnd(s: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < s.length; i++) {
    const ch = s[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) return i;
  }
  return -1;
}

function parseSize(text: string): TerminalSize | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const w = o.Width ?? o.width;
  const h = o.Height ?? o.height;
  const ok = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
  if (!ok(w) || !ok(h)) return undefined;
  return { width: w, height: h };
}

// ---------------------------------------------------------------------------------------
// Status on the error channel

/** The `metav1.Status` written on the error channel, field order as Kubernetes marshals it. */
export interface StreamStatus {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { causes: { reason?: string; message: string }[] };
  code?: number;
}

export function successStatus(): StreamStatus {
  return { metadata: {}, status: 'Success' };
}

/** `cmd` formatted as Go's `%v` of a string slice: `[sh -c exit 3]`. */
function goSlice(cmd: string[]): string {
  return `[${cmd.join(' ')}]`;
}

/** The status for a command that exited non-zero; kubectl exits with `code`. */
export function exitCodeStatus(cmd: string[], code: number): StreamStatus {
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command ${goSlice(cmd)}, exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/** A failure to run the command at all (runtime error). */
export function internalErrorStatus(message: string): StreamStatus {
  return {
    metadata: {},
    status: 'Failure',
    message: `Internal error occurred: ${message}`,
    reason: 'InternalError',
    details: { causes: [{ message }] },
    code: 500,
  };
}

/**
 * The error-channel payload for `status` under `proto`: JSON for v4 and later; for older
 * protocols the message text on failure and nothing (undefined) on success.
 */
export function encodeStatus(proto: ChannelProtocol, status: StreamStatus): Buffer | undefined {
  if (proto.statusJson) return Buffer.from(JSON.stringify(status));
  if (status.status === 'Success') return undefined;
  return Buffer.from(status.message ?? 'error');
}
