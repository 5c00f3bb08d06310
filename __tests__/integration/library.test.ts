import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { startCluster } from '../../src/index';

test('startCluster() gives a kubeconfig that kubectl can use, and stop() cleans up', async () => {
  const c = await startCluster({ profile: 'lib', inMemory: true });
  try {
    expect(fs.statSync(c.kubeconfigPath).mode & 0o777).toBe(0o600);
    // async: the API server runs in this very process
    const { stdout } = await promisify(execFile)('kubectl', ['--kubeconfig', c.kubeconfigPath, 'get', 'ns', '-o', 'name'], { encoding: 'utf8' });
    expect(stdout).toContain('namespace/default');
    const ns = await c.client.request<{ items: unknown[] }>('GET', '/api/v1/namespaces');
    expect(ns.items.length).toBeGreaterThanOrEqual(4);
  } finally {
    await c.stop();
  }
  expect(fs.existsSync(c.dataDir)).toBe(false);
});
