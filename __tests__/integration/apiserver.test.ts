import * as https from 'node:https';
import { startTestCluster, eventually } from '../helpers/cluster';
import type { HttpClient } from '../../src/client/http-client';
import { ApiError } from '../../src/util/errors';

type Started = Awaited<ReturnType<typeof startTestCluster>>;
let t: Started;
let c: HttpClient;
beforeAll(async () => {
  t = await startTestCluster();
  c = t.client;
});
afterAll(async () => t.stop());

async function status(p: Promise<unknown>): Promise<{ code: number; reason: string; message: string; details?: { causes?: { field?: string }[] } }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return { code: e.code, reason: e.reason, message: e.message, details: e.details as never };
    throw e;
  }
  throw new Error('expected the request to fail');
}

const deploy = (name: string, image = 'nginx:1.25') => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, labels: { app: name } },
  spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image }] } } },
});

describe('transport and auth', () => {
  test('401 without or with a wrong token; health and version are public', async () => {
    const r = await c.raw('GET', '/api/v1/namespaces', undefined, { Authorization: 'Bearer wrong' });
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body.toString())).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    expect((await c.raw('GET', '/healthz', undefined, { Authorization: '' })).status).toBe(200);
    const v = await c.request<{ major: string; gitVersion: string }>('GET', '/version');
    expect(v.major).toBe('1');
  });

  test('listens on 127.0.0.1 only over TLS', () => {
    const addr = (t.cluster.apiserver as unknown as { server: https.Server }).server.address() as { address: string };
    expect(addr.address).toBe('127.0.0.1');
  });

  test('oversized bodies get 413 and the server keeps working', async () => {
    const big = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' }, data: { x: 'a'.repeat(4 * 1024 * 1024) } };
    const s = await status(c.request('POST', '/api/v1/namespaces/default/configmaps', big));
    expect(s.code).toBe(413);
    await c.request('GET', '/api/v1/namespaces/default');
  });
});

describe('discovery', () => {
  test('core and group resource lists carry verbs, shortNames, categories and subresources', async () => {
    const core = await c.request<{ resources: { name: string; shortNames?: string[]; categories?: string[]; kind: string; group?: string }[] }>('GET', '/api/v1');
    const pods = core.resources.find((r) => r.name === 'pods')!;
    expect(pods.shortNames).toEqual(['po']);
    expect(pods.categories).toEqual(['all']);
    expect(core.resources.find((r) => r.name === 'pods/eviction')).toMatchObject({ kind: 'Eviction', group: 'policy' });
    const apps = await c.request<{ resources: { name: string; kind: string; group?: string }[] }>('GET', '/apis/apps/v1');
    expect(apps.resources.find((r) => r.name === 'deployments/scale')).toMatchObject({ kind: 'Scale', group: 'autoscaling' });
    const groups = await c.request<{ groups: { name: string }[] }>('GET', '/apis');
    expect(groups.groups.map((g) => g.name)).toEqual(expect.arrayContaining(['apps', 'batch', 'policy', 'coordination.k8s.io', 'networking.k8s.io', 'storage.k8s.io', 'autoscaling']));
    const oa = await c.raw('GET', '/openapi/v2');
    expect(oa.status).toBe(200);
    expect(oa.body.length).toBe(0);
  });

  test('the standard namespaces exist from the start', async () => {
    const l = await c.request<{ items: { metadata: { name: string } }[] }>('GET', '/api/v1/namespaces');
    expect(l.items.map((n) => n.metadata.name)).toEqual(expect.arrayContaining(['default', 'kube-system', 'kube-public', 'kube-node-lease']));
  });
});

describe('CRUD semantics', () => {
  test('create fills uid, creationTimestamp, generation, defaults; conflicts on stale RV', async () => {
    const d = await c.request<any>('POST', '/apis/apps/v1/namespaces/default/deployments', deploy('web'));
    expect(d.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(d.metadata.generation).toBe(1);
    expect(d.spec.strategy.type).toBe('RollingUpdate');
    expect(d.spec.template.spec.containers[0].imagePullPolicy).toBe('IfNotPresent');
    const dup = await status(c.request('POST', '/apis/apps/v1/namespaces/default/deployments', deploy('web')));
    expect(dup).toMatchObject({ code: 409, reason: 'AlreadyExists' });
    // controllers write the status concurrently: read-modify-write until our update lands
    let d2: any;
    let upd: any;
    for (let i = 0; !d2; i++) {
      const cur = await c.request<any>('GET', '/apis/apps/v1/namespaces/default/deployments/web');
      upd = { ...cur, spec: { ...cur.spec, replicas: 3 } };
      try {
        d2 = await c.request<any>('PUT', '/apis/apps/v1/namespaces/default/deployments/web', upd);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 409) || i > 20) throw e;
      }
    }
    expect(d2.metadata.generation).toBe(2);
    const stale = await status(c.request('PUT', '/apis/apps/v1/namespaces/default/deployments/web', upd));
    expect(stale.code).toBe(409);
    expect(stale.message).toContain('the object has been modified');
  });

  test('a no-op update keeps the resourceVersion', async () => {
    const cm = await c.request<any>('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'noop' }, data: { a: '1' } });
    const again = await c.request<any>('PUT', '/api/v1/namespaces/default/configmaps/noop', cm);
    expect(again.metadata.resourceVersion).toBe(cm.metadata.resourceVersion);
  });

  test('creating in a missing namespace is 404; a bad name is 422 with causes', async () => {
    const s = await status(c.request('POST', '/api/v1/namespaces/nope/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }));
    expect(s).toMatchObject({ code: 404, reason: 'NotFound' });
    const bad = await status(c.request('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Bad_Name' } }));
    expect(bad.code).toBe(422);
    expect(bad.details?.causes?.[0]?.field).toBe('metadata.name');
  });

  test('malformed bodies are 400/422, never a crash', async () => {
    const bodies: [unknown, string][] = [
      ['{not json', 'application/json'],
      ['[1,2,3]', 'application/json'],
      ['"str"', 'application/json'],
      [JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: 'x' }), 'application/json'],
      [JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 5 } }), 'application/json'],
      [JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } }), 'application/json'],
      [JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: 'nope' } }), 'application/json'],
      [JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 3, ports: [{ containerPort: 'x' }] }] } }), 'application/json'],
      ['a: [1, 2', 'application/yaml'],
      [Buffer.from([1, 2, 3, 4, 5]), 'application/vnd.kubernetes.protobuf'],
      ['x', 'text/plain'],
    ];
    for (const [b, ct] of bodies) {
      const url = ct.includes('protobuf') || (typeof b === 'string' && b.includes('Pod')) ? '/api/v1/namespaces/default/pods' : '/api/v1/namespaces/default/configmaps';
      const r = await c.raw('POST', url, b, { 'Content-Type': ct });
      expect([400, 415, 422]).toContain(r.status);
      const st = JSON.parse(r.body.toString());
      expect(st.kind).toBe('Status');
      expect(st.message.length).toBeGreaterThan(5);
    }
    await c.request('GET', '/api/v1/namespaces');
  });

  test('unknown paths are 404 Status', async () => {
    expect((await status(c.request('GET', '/apis/apps/v9/deployments'))).code).toBe(404);
    expect((await status(c.request('GET', '/api/v1/namespaces/default/widgets'))).code).toBe(404);
  });
});

describe('selectors and tables', () => {
  test('label and field selectors filter lists', async () => {
    for (const [n, tier] of [['s1', 'front'], ['s2', 'back'], ['s3', 'front']]) {
      await c.request('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: n, labels: { tier } } });
    }
    const l = await c.request<any>('GET', '/api/v1/namespaces/default/configmaps?labelSelector=' + encodeURIComponent('tier in (front)'));
    expect(l.items.map((i: any) => i.metadata.name)).toEqual(['s1', 's3']);
    const f = await c.request<any>('GET', '/api/v1/configmaps?fieldSelector=metadata.name%3Ds2');
    expect(f.items.map((i: any) => i.metadata.name)).toEqual(['s2']);
    const bad = await status(c.request('GET', '/api/v1/configmaps?labelSelector=' + encodeURIComponent('a in (')));
    expect(bad.code).toBe(400);
  });

  test('Table responses carry kubectl columns and PartialObjectMetadata rows', async () => {
    const tbl = await c.request<any>('GET', '/apis/apps/v1/namespaces/default/deployments', undefined, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
    expect(tbl.kind).toBe('Table');
    expect(tbl.columnDefinitions.map((d: any) => d.name).slice(0, 5)).toEqual(['Name', 'Ready', 'Up-to-date', 'Available', 'Age']);
    expect(tbl.rows[0].object.kind).toBe('PartialObjectMetadata');
  });
});

describe('patch and apply', () => {
  test('merge, strategic, json patch and server-side apply', async () => {
    const base = '/apis/apps/v1/namespaces/default/deployments/pt';
    await c.request('POST', '/apis/apps/v1/namespaces/default/deployments', deploy('pt'));
    const m = await c.request<any>('PATCH', base, { metadata: { labels: { extra: 'yes' } } }, { 'Content-Type': 'application/merge-patch+json' });
    expect(m.metadata.labels.extra).toBe('yes');
    const smp = await c.request<any>('PATCH', base, { spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:1.26' }] } } } }, { 'Content-Type': 'application/strategic-merge-patch+json' });
    expect(smp.spec.template.spec.containers).toHaveLength(1);
    expect(smp.spec.template.spec.containers[0].image).toBe('nginx:1.26');
    const jp = await c.request<any>('PATCH', base, [{ op: 'replace', path: '/spec/replicas', value: 5 }], { 'Content-Type': 'application/json-patch+json' });
    expect(jp.spec.replicas).toBe(5);
    const ssa = await c.raw('PATCH', base + '?fieldManager=kubectl&force=true', 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: pt\nspec:\n  replicas: 1\n', { 'Content-Type': 'application/apply-patch+yaml' });
    expect(ssa.status).toBe(200);
    expect(JSON.parse(ssa.body.toString()).spec.replicas).toBe(1);
    const created = await c.raw('PATCH', '/api/v1/namespaces/default/configmaps/ssa-new?fieldManager=kubectl', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa-new\ndata:\n  a: b\n', { 'Content-Type': 'application/apply-patch+yaml' });
    expect(created.status).toBe(201);
  });

  test('scale subresource', async () => {
    const s = await c.request<any>('GET', '/apis/apps/v1/namespaces/default/deployments/pt/scale');
    expect(s).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', status: { selector: 'app=pt' } });
    const s2 = await c.request<any>('PATCH', '/apis/apps/v1/namespaces/default/deployments/pt/scale', { spec: { replicas: 7 } }, { 'Content-Type': 'application/merge-patch+json' });
    expect(s2.spec.replicas).toBe(7);
    expect((await c.request<any>('GET', '/apis/apps/v1/namespaces/default/deployments/pt')).spec.replicas).toBe(7);
  });
});

describe('versions', () => {
  test('autoscaling/v1 HPAs are converted to and from the stored autoscaling/v2', async () => {
    const v1 = { apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: { name: 'h' }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 5, targetCPUUtilizationPercentage: 60 } };
    const created = await c.request<any>('POST', '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers', v1);
    expect(created).toMatchObject({ apiVersion: 'autoscaling/v1', spec: { targetCPUUtilizationPercentage: 60, maxReplicas: 5 } });
    const v2 = await c.request<any>('GET', '/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/h');
    expect(v2.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } }]);
    const patched = await c.request<any>('PATCH', '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/h', { spec: { targetCPUUtilizationPercentage: 70 } }, { 'Content-Type': 'application/merge-patch+json' });
    expect(patched.spec.targetCPUUtilizationPercentage).toBe(70);
    const list = await c.request<any>('GET', '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers');
    expect(list.items[0].apiVersion).toBe('autoscaling/v1');
    const group = await c.request<any>('GET', '/apis/autoscaling');
    expect(group.preferredVersion.version).toBe('v2');
    expect(group.versions.map((x: any) => x.version)).toEqual(['v2', 'v1']);
  });
});

describe('watch', () => {
  function watch(path: string): { events: any[]; close: () => void; ready: Promise<void> } {
    const events: any[] = [];
    const url = new URL(path, (c as any).opts.server);
    let req: ReturnType<typeof https.request>;
    const ready = new Promise<void>((resolve) => {
      req = https.request(url, { ca: (c as any).opts.caCertPem, headers: { Authorization: `Bearer ${(c as any).opts.token}` } }, (res) => {
        let buf = '';
        res.on('data', (d) => {
          buf += d;
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            events.push(JSON.parse(buf.slice(0, i)));
            buf = buf.slice(i + 1);
          }
        });
        resolve();
      });
      req.end();
    });
    return { events, ready, close: () => req.destroy() };
  }

  test('initial state, live events, selector transitions, 410 for compacted RVs', async () => {
    await c.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'w' } });
    await c.request('POST', '/api/v1/namespaces/w/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', labels: { on: 'yes' } } });
    const w = watch('/api/v1/namespaces/w/configmaps?watch=true&labelSelector=on%3Dyes');
    await w.ready;
    await eventually(() => expect(w.events).toHaveLength(1));
    expect(w.events[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'a' } } });
    await c.request('PATCH', '/api/v1/namespaces/w/configmaps/a', { data: { x: '1' } }, { 'Content-Type': 'application/merge-patch+json' });
    await c.request('PATCH', '/api/v1/namespaces/w/configmaps/a', { metadata: { labels: { on: 'no' } } }, { 'Content-Type': 'application/merge-patch+json' });
    await eventually(() => expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']));
    w.close();
    const rv = Number(w.events[1].object.metadata.resourceVersion);
    const w2 = watch(`/api/v1/namespaces/w/configmaps?watch=true&resourceVersion=${rv}`);
    await w2.ready;
    await eventually(() => expect(w2.events.map((e) => e.type)).toEqual(['MODIFIED']));
    w2.close();
    t.cluster.store.compact(0);
    const w3 = watch(`/api/v1/namespaces/w/configmaps?watch=true&resourceVersion=1`);
    await w3.ready;
    await eventually(() => expect(w3.events[0]).toMatchObject({ type: 'ERROR', object: { code: 410, reason: 'Expired' } }));
    w3.close();
  });

  test('sendInitialEvents ends the initial list with an annotated bookmark', async () => {
    const w = watch('/api/v1/namespaces/w/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true');
    await w.ready;
    await eventually(() => expect(w.events.at(-1)).toMatchObject({ type: 'BOOKMARK', object: { metadata: { annotations: { 'k8s.io/initial-events-end': 'true' } } } }));
    w.close();
  });
});

describe('deletion', () => {
  test('finalizers hold an object until removed; namespaces empty themselves', async () => {
    await c.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'gone' } });
    await c.request('POST', '/api/v1/namespaces/gone/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', finalizers: ['example.com/hold'] } });
    const d = await c.request<any>('DELETE', '/api/v1/namespaces/gone/configmaps/held');
    expect(d.metadata.deletionTimestamp).toBeDefined();
    await c.request('DELETE', '/api/v1/namespaces/gone');
    const ns = await c.request<any>('GET', '/api/v1/namespaces/gone');
    expect(ns.status.phase).toBe('Terminating');
    const forbidden = await status(c.request('POST', '/api/v1/namespaces/gone/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late' } }));
    expect(forbidden.code).toBe(403);
    await c.request('PATCH', '/api/v1/namespaces/gone/configmaps/held', { metadata: { finalizers: null } }, { 'Content-Type': 'application/merge-patch+json' });
    await eventually(async () => expect((await status(c.request('GET', '/api/v1/namespaces/gone'))).code).toBe(404));
  });

  test('the garbage collector removes dependents in background and foreground', async () => {
    const owner = await c.request<any>('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owner' } });
    const ref = [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true }];
    await c.request('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dep', ownerReferences: ref } });
    await c.request('DELETE', '/api/v1/namespaces/default/configmaps/owner', { propagationPolicy: 'Foreground' });
    await eventually(async () => {
      expect((await status(c.request('GET', '/api/v1/namespaces/default/configmaps/dep'))).code).toBe(404);
      expect((await status(c.request('GET', '/api/v1/namespaces/default/configmaps/owner'))).code).toBe(404);
    });
    const o2 = await c.request<any>('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owner2' } });
    await c.request('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dep2', ownerReferences: [{ ...ref[0], name: 'owner2', uid: o2.metadata.uid }] } });
    await c.request('DELETE', '/api/v1/namespaces/default/configmaps/owner2', { propagationPolicy: 'Orphan' });
    await eventually(async () => expect((await status(c.request('GET', '/api/v1/namespaces/default/configmaps/owner2'))).code).toBe(404));
    const dep2 = await c.request<any>('GET', '/api/v1/namespaces/default/configmaps/dep2');
    expect(dep2.metadata.ownerReferences).toBeUndefined();
  });

  test('eviction honours a PodDisruptionBudget (429), binding assigns a node', async () => {
    const pod = (n: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: n, labels: { app: 'pdb' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    await c.request('POST', '/api/v1/namespaces/default/pods', pod('p1'));
    await c.request('POST', '/api/v1/namespaces/default/pods/p1/binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p1' }, target: { kind: 'Node', name: 'node-1' } });
    const p1 = await c.request<any>('GET', '/api/v1/namespaces/default/pods/p1');
    expect(p1.spec.nodeName).toBe('node-1');
    await c.request('PUT', '/api/v1/namespaces/default/pods/p1/status', { ...p1, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } });
    await c.request('POST', '/apis/policy/v1/namespaces/default/poddisruptionbudgets', { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'b' }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'pdb' } } } });
    const ev = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'p1', namespace: 'default' } };
    expect((await status(c.request('POST', '/api/v1/namespaces/default/pods/p1/eviction', ev))).code).toBe(429);
    await c.request('DELETE', '/apis/policy/v1/namespaces/default/poddisruptionbudgets/b');
    await c.request('POST', '/api/v1/namespaces/default/pods/p1/eviction', ev);
    const after = await c.request<any>('GET', '/api/v1/namespaces/default/pods/p1');
    expect(after.metadata.deletionTimestamp).toBeDefined(); // graceful: bound to a node
  });
});
