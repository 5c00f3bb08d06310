import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Cluster, type ClusterOptions } from '../../src/manager/cluster';
import { HttpClient } from '../../src/client/http-client';

/** An in-process cluster in a temporary data dir, with an HTTPS client for it. */
export async function startTestCluster(opts: Partial<ClusterOptions> = {}): Promise<{ cluster: Cluster; client: HttpClient; dir: string; stop: () => Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minictl-it-'));
  const cluster = new Cluster({ profile: 'it', dataDir: dir, inMemory: true, port: 0, ...opts });
  const info = await cluster.start();
  const client = new HttpClient({ server: info.server, token: info.token, caCertPem: info.caCertPem });
  return {
    cluster,
    client,
    dir,
    stop: async () => {
      client.close();
      await cluster.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 10_000, intervalMs = 20): Promise<T> {
  const t = Date.now();
  let last: unknown;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      last = e;
    }
    if (Date.now() - t > timeoutMs) throw last;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
