/**
 * minictl as a library: start a cluster from code (for Jest/CI users) and get a kubeconfig for it.
 *
 *   const c = await startCluster({ profile: 'it' });
 *   process.env.KUBECONFIG = c.kubeconfigPath;   // kubectl and client libraries now talk to it
 *   …
 *   await c.stop();
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import yaml from 'js-yaml';
import { Cluster, type ClusterOptions, type ClusterInfo } from './manager/cluster';
import { HttpClient } from './client/http-client';

export { Cluster, type ClusterOptions, type ClusterInfo } from './manager/cluster';
export { HttpClient } from './client/http-client';
export { ApiError } from './util/errors';

export interface StartedCluster extends ClusterInfo {
  cluster: Cluster;
  /** a kubeconfig file (0600) pointing at this cluster only */
  kubeconfigPath: string;
  /** HTTPS client authenticated for this cluster */
  client: HttpClient;
  stop(): Promise<void>;
}

/** Kubeconfig YAML for a running cluster (context, cluster and user named after the profile). */
export function kubeconfigFor(info: ClusterInfo): string {
  return yaml.dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: info.profile, cluster: { server: info.server, 'certificate-authority-data': Buffer.from(info.caCertPem).toString('base64') } }],
    users: [{ name: info.profile, user: { token: info.token } }],
    contexts: [{ name: info.profile, context: { cluster: info.profile, user: info.profile } }],
    'current-context': info.profile,
  });
}

/**
 * Starts a cluster in this process. Without `dataDir` a temporary one is used and removed by
 * `stop()`. State is kept in SQLite unless `inMemory` is set.
 */
export async function startCluster(opts: Partial<ClusterOptions> = {}): Promise<StartedCluster> {
  const temp = !opts.dataDir;
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'minictl-'));
  const cluster = new Cluster({ profile: 'minictl', port: 0, ...opts, dataDir });
  const info = await cluster.start();
  const kubeconfigPath = path.join(dataDir, 'kubeconfig');
  fs.writeFileSync(kubeconfigPath, kubeconfigFor(info), { mode: 0o600 });
  const client = new HttpClient({ server: info.server, token: info.token, caCertPem: info.caCertPem });
  return {
    ...info,
    cluster,
    kubeconfigPath,
    client,
    stop: async () => {
      client.close();
      await cluster.stop();
      if (temp) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
