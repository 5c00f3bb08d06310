import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { startCluster } from '../../src/index';

test('startCluster() gives a kubeconfig that kubectl can use, and stop() cleans up', async () => {
  const c = await startCluster({ profile: 'lib', inMemory: true });
  try {
    expect(fs.statSync(c.kubeconfigPath).mode & 0o777).toBe(0o600);
    const r = spawnSync('kubectl', ['--kubeconfig', c.kubeconfigPath, 'get', 'ns', '-o', 'name'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('namespace/default');
    const ns = await c.client.request<{ items: unknown[] }>('GET', '/api/v1/namespaces');
    expect(ns.items.length).toBeGreaterThanOrEqual(4);
  } finally {
    await c.stop();
  }
  expect(fs.existsSync(c.dataDir)).toBe(false);
});
