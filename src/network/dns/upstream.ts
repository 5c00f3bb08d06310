/**
 * Forwarding of non-cluster names to the host's resolvers (the `nameserver` lines of
 * /etc/resolv.conf unless given explicitly).
 *
 * Contracts:
 * - `query(raw, tcp)` sends the client's query bytes unchanged over UDP to the first healthy
 *   server, trying the next on timeout or error (for TCP clients a truncated answer is fetched
 *   again over TCP); it resolves with the raw response or `undefined` when no server answered
 *   (the caller answers SERVFAIL). Never rejects.
 * - A server failing twice in a row is skipped for `downMs`; when every server is down (or none
 *   is configured) `query` resolves `undefined` at once, so clients get SERVFAIL fast instead of
 *   waiting out timeouts.
 * - Loopback addresses of Docker's embedded resolver (127.0.0.11) and the cluster DNS addresses
 *   passed in `exclude` are never used (they would loop).
 */
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';

export interface UpstreamServer {
  host: string;
  port: number;
}

export interface UpstreamOptions {
  /** `ip` or `ip:port` entries; default: nameservers of `resolvConf` */
  servers?: string[];
  resolvConf?: string;
  exclude?: string[];
  /** per-server timeout (default 1500 ms) */
  timeoutMs?: number;
  /** how long a failing server is skipped (default 30 s) */
  downMs?: number;
  now?: () => number;
}

export function readResolvConfServers(file = '/etc/resolv.conf'): string[] {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f[0] === 'nameserver' && f[1])
      .map((f) => f[1]);
  } catch {
    return [];
  }
}

function parseServer(s: string): UpstreamServer | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)(?::(\d+))?$/.exec(s.trim());
  if (!m) return undefined;
  return { host: m[1], port: m[2] ? Number(m[2]) : 53 };
}

interface Health {
  failures: number;
  downUntil: number;
}

export class Upstream {
  readonly servers: UpstreamServer[];
  private readonly timeoutMs: number;
  private readonly downMs: number;
  private readonly now: () => number;
  private readonly health = new Map<string, Health>();

  constructor(opts: UpstreamOptions = {}) {
    const exclude = new Set(['127.0.0.11', ...(opts.exclude ?? [])]);
    const list = opts.servers ?? readResolvConfServers(opts.resolvConf);
    this.servers = list.map(parseServer).filter((s): s is UpstreamServer => !!s && !(exclude.has(s.host) && s.port === 53));
    this.timeoutMs = opts.timeoutMs ?? 1500;
    this.downMs = opts.downMs ?? 30_000;
    this.now = opts.now ?? Date.now;
  }

  private key(s: UpstreamServer): string {
    return `${s.host}:${s.port}`;
  }

  /** Servers worth trying now, healthy ones first. */
  private candidates(): UpstreamServer[] {
    const t = this.now();
    return this.servers.filter((s) => (this.health.get(this.key(s))?.downUntil ?? 0) <= t);
  }

  private record(s: UpstreamServer, ok: boolean): void {
    const k = this.key(s);
    if (ok) {
      this.health.delete(k);
      return;
    }
    const h = this.health.get(k) ?? { failures: 0, downUntil: 0 };
    h.failures++;
    if (h.failures >= 2) {
      h.downUntil = this.now() + this.downMs;
      h.failures = 0;
    }
    this.health.set(k, h);
  }

  async query(raw: Buffer, tcp = false): Promise<Buffer | undefined> {
    for (const s of this.candidates()) {
      let res = await this.udpQuery(s, raw);
      // A truncated answer for a TCP client: ask again over TCP for the whole of it.
      if (res && tcp && res.length >= 4 && (res[2] & 0x02) !== 0) res = (await this.tcpQuery(s, raw)) ?? res;
      this.record(s, !!res);
      if (res) return res;
    }
    return undefined;
  }

  private udpQuery(s: UpstreamServer, raw: Buffer): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const sock = dgram.createSocket('udp4');
      let done = false;
      const finish = (b?: Buffer) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        try {
          sock.close();
        } catch {
          /* already closed */
        }
        resolve(b);
      };
      const timer = setTimeout(() => finish(), this.timeoutMs);
      sock.on('error', () => finish());
      sock.on('message', (msg) => {
        if (msg.length >= 2 && msg.readUInt16BE(0) === raw.readUInt16BE(0)) finish(msg);
      });
      sock.connect(s.port, s.host, () => sock.send(raw, (err) => err && finish()));
    });
  }

  private tcpQuery(s: UpstreamServer, raw: Buffer): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const sock = net.connect({ host: s.host, port: s.port });
      let buf = Buffer.alloc(0);
      let done = false;
      const finish = (b?: Buffer) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        sock.destroy();
        resolve(b);
      };
      const timer = setTimeout(() => finish(), this.timeoutMs);
      sock.on('error', () => finish());
      sock.on('close', () => finish());
      sock.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(raw.length);
        sock.write(Buffer.concat([len, raw]));
      });
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) finish(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      });
    });
  }
}
