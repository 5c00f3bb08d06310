import * as https from 'node:https';
import { ApiError } from '../util/errors';

/**
 * A small HTTPS client for the API server (used by the CLI, the benchmarks and tests). Verifies the
 * server against the cluster CA and sends the bearer token. Non-2xx answers throw ApiError built
 * from the returned Status.
 */
export interface HttpClientOptions {
  server: string;
  token: string;
  caCertPem: string;
  /** reuse connections (default true) */
  keepAlive?: boolean;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export class HttpClient {
  private readonly agent: https.Agent;
  constructor(readonly opts: HttpClientOptions) {
    this.agent = new https.Agent({ ca: opts.caCertPem, keepAlive: opts.keepAlive ?? true, maxSockets: 64 });
  }

  raw(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, timeoutMs = 30_000): Promise<RawResponse> {
    const url = new URL(path, this.opts.server);
    const data = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = https.request(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            Authorization: `Bearer ${this.opts.token}`,
            Accept: 'application/json',
            ...(data ? { 'Content-Type': 'application/json', 'Content-Length': String(data.length) } : {}),
            ...headers,
          },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`request to ${url.pathname} timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      if (data) req.write(data);
      req.end();
    });
  }

  /** JSON request; throws ApiError on a Status failure. */
  async request<T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const r = await this.raw(method, path, body, headers);
    const text = r.body.toString('utf8');
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (r.status >= 400) {
      const s = parsed as { message?: string; reason?: string; details?: object } | undefined;
      throw new ApiError(r.status, s?.reason ?? 'Unknown', s?.message ?? `HTTP ${r.status}: ${text.slice(0, 200)}`, s?.details as never);
    }
    return parsed as T;
  }

  /**
   * A watch: GETs `path` (which must include watch=true) and calls `onEvent` for each JSON line
   * until the server ends the stream or `abort` is called; `onEnd` gets the error, if any.
   */
  watch(path: string, onEvent: (ev: { type: string; object: any }) => void, onEnd: (err?: Error) => void): () => void { // eslint-disable-line @typescript-eslint/no-explicit-any
    const url = new URL(path, this.opts.server);
    let done = false;
    const finish = (err?: Error) => {
      if (!done) {
        done = true;
        onEnd(err);
      }
    };
    const req = https.request(url, { method: 'GET', agent: this.agent, headers: { Authorization: `Bearer ${this.opts.token}`, Accept: 'application/json' } }, (res) => {
      if ((res.statusCode ?? 0) >= 400) {
        res.resume();
        finish(new ApiError(res.statusCode ?? 500, 'WatchFailed', `watch ${url.pathname} answered HTTP ${res.statusCode}`));
        return;
      }
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (!line.trim()) continue;
          try {
            onEvent(JSON.parse(line));
          } catch (e) {
            finish(e as Error);
            req.destroy();
            return;
          }
        }
      });
      res.on('end', () => finish());
      res.on('error', (e) => finish(e));
    });
    req.on('error', (e) => finish(e));
    req.end();
    return () => {
      done = true;
      req.destroy();
    };
  }

  close(): void {
    this.agent.destroy();
  }
}
