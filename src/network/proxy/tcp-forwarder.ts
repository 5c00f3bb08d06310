/**
 * A plain TCP relay from `host:port` to one fixed target: how pods reach the API server (which
 * listens on 127.0.0.1 only) through the `kubernetes` Service. Connections from addresses
 * `allow` rejects are closed at once. `stop()` closes the listener and every relayed connection.
 */
import * as net from 'node:net';

export interface TcpForwarderOptions {
  host: string;
  port?: number;
  target: { host: string; port: number };
  allow?: (ip: string) => boolean;
}

export class TcpForwarder {
  private server?: net.Server;
  private readonly conns = new Set<net.Socket>();
  port = 0;

  constructor(private readonly opts: TcpForwarderOptions) {}

  start(): Promise<number> {
    const server = net.createServer((c) => {
      const ip = (c.remoteAddress ?? '').replace(/^::ffff:/, '');
      if (this.opts.allow && !this.opts.allow(ip)) {
        c.destroy();
        return;
      }
      const up = net.connect(this.opts.target);
      for (const s of [c, up]) {
        this.conns.add(s);
        s.on('close', () => this.conns.delete(s));
        s.on('error', () => {
          c.destroy();
          up.destroy();
        });
      }
      c.pipe(up);
      up.pipe(c);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, this.opts.host, () => {
        server.off('error', reject);
        this.port = (server.address() as net.AddressInfo).port;
        resolve(this.port);
      });
    });
  }

  async stop(): Promise<void> {
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
