import { RESOURCES, groupVersion } from '../../src/api/scheme';
import { startTestCluster } from '../helpers/cluster';

/**
 * Malformed input of every shape, for every kind: the server answers 2xx or a 4xx Status, never a
 * 5xx, and keeps serving.
 */
type Started = Awaited<ReturnType<typeof startTestCluster>>;
let t: Started;
beforeAll(async () => (t = await startTestCluster()));
afterAll(async () => t.stop());

let seed = 42;
function rnd(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
}
const KEYS = ['spec', 'status', 'containers', 'template', 'selector', 'metadata', 'ports', 'name', 'image', 'replicas', 'data', 'rules', 'items', 'env', 'volumes', 'labels', 'matchLabels', 'type', 'value', 'port', 'targetPort', 'schedule', 'jobTemplate', 'resources', 'limits', 'requests'];
function junk(depth: number): unknown {
  const r = rnd();
  if (depth <= 0 || r < 0.25) return [null, 0, -1, 1.5, 'x', '', true, 'Always', '100m', 1e300, '-5', {}][Math.floor(rnd() * 12)];
  if (r < 0.5) return Array.from({ length: Math.floor(rnd() * 4) }, () => junk(depth - 1));
  const o: Record<string, unknown> = {};
  for (let i = 0; i < 1 + Math.floor(rnd() * 5); i++) o[KEYS[Math.floor(rnd() * KEYS.length)]] = junk(depth - 1);
  return o;
}

test('random objects for every kind never produce a 5xx', async () => {
  const failures: string[] = [];
  for (const ri of RESOURCES) {
    for (let i = 0; i < 60; i++) {
      const body = { ...(junk(4) as object), apiVersion: groupVersion(ri), kind: ri.kind, metadata: { name: `f${i}`, ...(rnd() < 0.3 ? { labels: junk(1) } : {}) } };
      const base = ri.group ? `/apis/${ri.group}/${ri.version}` : `/api/${ri.version}`;
      const url = ri.namespaced ? `${base}/namespaces/default/${ri.resource}` : `${base}/${ri.resource}`;
      const r = await t.client.raw('POST', url, body);
      if (r.status >= 500) failures.push(`${ri.kind} ${r.status} ${r.body.toString().slice(0, 300)}`);
      if (r.status < 300) {
        // updates and patches with junk on the created object
        const name = `${url}/f${i}`;
        for (const [ct, p] of [
          ['application/merge-patch+json', junk(3)],
          ['application/strategic-merge-patch+json', junk(3)],
          ['application/json-patch+json', [{ op: 'replace', path: '/spec', value: junk(3) }]],
        ] as const) {
          const pr = await t.client.raw('PATCH', name, p, { 'Content-Type': ct });
          if (pr.status >= 500) failures.push(`${ri.kind} PATCH ${ct} ${pr.status} ${pr.body.toString().slice(0, 300)}`);
        }
        const put = await t.client.raw('PUT', name, { ...body, spec: junk(3), status: junk(2) });
        if (put.status >= 500) failures.push(`${ri.kind} PUT ${put.status} ${put.body.toString().slice(0, 300)}`);
      }
    }
  }
  expect(failures).toEqual([]);
  expect((await t.client.raw('GET', '/api/v1/namespaces')).status).toBe(200);
});
