/**
 * The cluster DNS server: UDP and TCP on one address and port, answering cluster names from the
 * ClusterDnsResolver and forwarding the rest to the Upstream resolvers.
 *
 * Contracts:
 * - UDP answers larger than the client's limit (512 bytes, or its EDNS payload size) are sent
 *   truncated (TC set, no records) so the client retries over TCP; TCP connections may carry
 *   several length-prefixed queries and are closed after `idleMs` without one.
 * - Queries from addresses `allow` rejects are answered REFUSED (the server may listen on all
 *   interfaces so that pods on every node network reach it; it must not be an open resolver).
 * - Malformed packets are dropped (UDP) or close the connection (TCP); non-QUERY opcodes get
 *   NOTIMP; upstream failure gives SERVFAIL. Handling never throws out of the server.
 * - `stop()` closes both sockets and every open TCP connection.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { DecodedPacket, Packet } from 'dns-packet';
import type { Logger } from '../../util/log';
import { silentLogger } from '../../util/log';
import { ClusterDnsResolver, RCODE, errorResponse } from './resolver';
import type { Upstream } from './upstream';

export interface DnsServerOptions {
  resolver: ClusterDnsResolver;
  upstream: Upstream;
  /** listen address (default 127.0.0.1) */
  host?: string;
  /** listen port (default 0: any free port, the same for UDP and TCP) */
  port?: number;
  /** which client addresses may query (default: all) */
  allow?: (ip: string) => boolean;
  idleMs?: number;
  log?: Logger;
}

export interface DnsServerStats {
  queries: number;
  cluster: number;
  forwarded: number;
  servfail: number;
  refused: number;
}

function normalizeIp(ip: string | undefined): string {
  if (!ip) return '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

export class DnsServer {
  readonly stats: DnsServerStats = { queries: 0, cluster: 0, forwarded: 0, servfail: 0, refused: 0 };
  private udp?: dgram.Socket;
  private tcp?: net.Server;
  private readonly conns = new Set<net.Socket>();
  private readonly log: Logger;
  host = '';
  port = 0;

  constructor(private readonly opts: DnsServerOptions) {
    this.log = opts.log ?? silentLogger;
  }

  /** Binds UDP then TCP on the same port; rejects when either cannot be bound (e.g. EACCES, EADDRINUSE). */
  async start(): Promise<{ host: string; port: number }> {
    const host = this.opts.host ?? '127.0.0.1';
    for (let attempt = 0; ; attempt++) {
      const udp = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(this.opts.port ?? 0, host, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      const port = udp.address().port;
      const tcp = net.createServer((s) => this.onTcp(s));
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(port, host, () => {
            tcp.off('error', reject);
            resolve();
          });
        });
      } catch (e) {
        udp.close();
        // A random UDP port whose TCP twin is taken: pick another.
        if (!this.opts.port && (e as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 10) continue;
        throw e;
      }
      udp.on('error', (e) => this.log.warn('DNS UDP socket error', { error: String(e) }));
      udp.on('message', (msg, rinfo) => void this.onUdp(msg, rinfo));
      this.udp = udp;
      this.tcp = tcp;
      this.host = host;
      this.port = port;
      return { host, port };
    }
  }

  async stop(): Promise<void> {
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    const u = this.udp;
    const t = this.tcp;
    this.udp = undefined;
    this.tcp = undefined;
    await Promise.all([u ? new Promise<void>((r) => u.close(() => r())) : undefined, t ? new Promise<void>((r) => t.close(() => r())) : undefined]);
  }

  private async onUdp(msg: Buffer, rinfo: dgram.RemoteInfo): Promise<void> {
    try {
      const res = await this.handle(msg, normalizeIp(rinfo.address), false);
      if (res && this.udp) this.udp.send(res, rinfo.port, rinfo.address);
    } catch (e) {
      this.log.v(2, 'DNS UDP query failed', { error: String(e) });
    }
  }

  private onTcp(sock: net.Socket): void {
    this.conns.add(sock);
    const client = normalizeIp(sock.remoteAddress);
    let buf = Buffer.alloc(0);
    sock.setTimeout(this.opts.idleMs ?? 10_000, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('close', () => this.conns.delete(sock));
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const q = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        this.handle(q, client, true).then(
          (res) => {
            if (!res) {
              sock.destroy();
              return;
            }
            const l = Buffer.alloc(2);
            l.writeUInt16BE(res.length);
            if (!sock.destroyed) sock.write(Buffer.concat([l, res]));
          },
          () => sock.destroy(),
        );
      }
    });
  }

  /** Answers one raw query; undefined means "send nothing". */
  async handle(raw: Buffer, clientIp: string, tcp: boolean): Promise<Buffer | undefined> {
    let q: DecodedPacket;
    try {
      q = dnsPacket.decode(raw);
    } catch {
      return undefined;
    }
    if (q.type === 'response') return undefined;
    this.stats.queries++;
    if (this.opts.allow && !this.opts.allow(clientIp)) {
      this.stats.refused++;
      return dnsPacket.encode(errorResponse(q, RCODE.REFUSED));
    }
    if ((q as { opcode?: string }).opcode !== 'QUERY') return dnsPacket.encode(errorResponse(q, RCODE.NOTIMP));
    const r = this.opts.resolver.resolve(q, clientIp);
    if (r.kind === 'answer') {
      this.stats.cluster++;
      return this.encode(r.response, q, tcp);
    }
    if (r.kind === 'forward') {
      this.stats.forwarded++;
      const res = await this.opts.upstream.query(raw, tcp);
      if (res) return res;
      this.stats.servfail++;
      return dnsPacket.encode(errorResponse(q, RCODE.SERVFAIL));
    }
    // ExternalName outside the zone: our CNAME plus the upstream's records for the target.
    this.stats.cluster++;
    const sub = dnsPacket.encode({
      id: Math.floor(Math.random() * 65536),
      type: 'query',
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: r.qtype as 'A', name: r.target, class: 'IN' }],
    });
    const res = await this.opts.upstream.query(sub, tcp);
    const out: Packet = { ...r.response };
    if (res) {
      try {
        const up = dnsPacket.decode(res);
        out.answers = [...(out.answers ?? []), ...(up.answers ?? [])];
        out.flags = ((out.flags ?? 0) & ~0xf) | ((up.flags ?? 0) & 0xf);
      } catch {
        /* keep the bare CNAME */
      }
    }
    return this.encode(out, q, tcp);
  }

  private encode(p: Packet, q: DecodedPacket, tcp: boolean): Buffer {
    const buf = dnsPacket.encode(p);
    if (tcp) return buf;
    const opt = (q.additionals ?? []).find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
    const limit = Math.max(512, Math.min(opt?.udpPayloadSize ?? 512, 4096));
    if (buf.length <= limit) return buf;
    return dnsPacket.encode({ ...p, flags: (p.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: [], authorities: [], additionals: [] });
  }
}
