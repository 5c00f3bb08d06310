import type { KObject } from '../../../src/api/types';
import { slowStartBatch } from '../../../src/controllers/util/batch';
import { claimObjects } from '../../../src/controllers/util/controller-ref';
import { ControllerExpectations } from '../../../src/controllers/util/expectations';
import { Fnv32a, canonicalJSON, computeHash, safeEncodeString } from '../../../src/controllers/util/hash';
import { hashRevisionData, revisionMatchesTemplate, sortRevisions, templateFromRevision, templatePatchData } from '../../../src/controllers/util/history';
import { scaledValueFromIntOrPercent } from '../../../src/controllers/util/int-or-percent';
import { isPodAvailable, msUntilAvailable, podFromTemplate, podsToDelete } from '../../../src/controllers/util/pod';

function pod(name: string, o: { node?: string; phase?: string; ready?: boolean; readyAt?: string; created?: string; restarts?: number; cost?: string } = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      uid: name,
      creationTimestamp: o.created ?? '2024-01-01T00:00:00Z',
      ...(o.cost ? { annotations: { 'controller.kubernetes.io/pod-deletion-cost': o.cost } } : {}),
    },
    spec: { ...(o.node ? { nodeName: o.node } : {}), containers: [{ name: 'c', image: 'x' }] },
    status: {
      phase: o.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: o.readyAt ?? '2024-01-01T00:00:00Z' }],
      containerStatuses: [{ name: 'c', restartCount: o.restarts ?? 0 }],
    },
  };
}

describe('hash', () => {
  it('FNV-1a 32-bit matches the reference vectors', () => {
    expect(new Fnv32a().write('').sum32()).toBe(0x811c9dc5);
    expect(new Fnv32a().write('a').sum32()).toBe(0xe40c292c);
    expect(new Fnv32a().write('foobar').sum32()).toBe(0xbf9cf968);
  });

  it('SafeEncodeString maps digits like Kubernetes (no vowels, no 0/1/3)', () => {
    expect(safeEncodeString('0123456789')).toBe('456789bcdf');
    expect(safeEncodeString('1234567890')).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
  });

  it('computeHash is stable under key order and changes with the template and collisionCount', () => {
    const a = { metadata: { labels: { app: 'web', tier: 'fe' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
    const b = { spec: { containers: [{ image: 'nginx', name: 'c' }] }, metadata: { labels: { tier: 'fe', app: 'web' } } };
    expect(canonicalJSON(a)).toBe(canonicalJSON(b));
    expect(computeHash(a)).toBe(computeHash(b));
    expect(computeHash(a)).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    expect(computeHash(a, 1)).not.toBe(computeHash(a));
    expect(computeHash(a, 0)).not.toBe(computeHash(a));
    expect(computeHash({ ...a, spec: { containers: [{ name: 'c', image: 'nginx:2' }] } })).not.toBe(computeHash(a));
  });
});

describe('ControllerRevision data', () => {
  const template = { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'i' }] } };

  it('is a $patch:replace template patch with sorted keys that round-trips', () => {
    const data = templatePatchData(template);
    expect(JSON.stringify(data)).toBe('{"spec":{"template":{"$patch":"replace","metadata":{"creationTimestamp":null,"labels":{"app":"x"}},"spec":{"containers":[{"image":"i","name":"c"}]}}}}');
    const cr = { apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: { name: 'x-1' }, data, revision: 1 } as KObject;
    expect(templateFromRevision(cr)).toEqual(template);
    expect(revisionMatchesTemplate(cr, template)).toBe(true);
    expect(revisionMatchesTemplate(cr, { ...template, spec: { containers: [{ name: 'c', image: 'j' }] } })).toBe(false);
    expect(hashRevisionData(data, 0)).not.toBe(hashRevisionData(data, 1));
  });

  it('sorts by revision number, then creation', () => {
    const r = (name: string, revision: number, t = '2024-01-01T00:00:00Z') => ({ apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: { name, creationTimestamp: t }, revision }) as KObject;
    expect(sortRevisions([r('c', 3), r('a', 1), r('b', 1, '2023-01-01T00:00:00Z')]).map((x) => x.metadata.name)).toEqual(['b', 'a', 'c']);
  });
});

describe('scaledValueFromIntOrPercent', () => {
  it.each([
    [2, 10, true, 2],
    ['25%', 10, true, 3],
    ['25%', 10, false, 2],
    ['25%', 2, false, 0],
    ['100%', 7, false, 7],
    [undefined, 10, true, 0],
  ])('%p of %p (roundUp %p) = %p', (v, total, up, want) => {
    expect(scaledValueFromIntOrPercent(v as never, total as number, up as boolean)).toBe(want);
  });

  it('rejects strings that are not percentages', () => {
    expect(() => scaledValueFromIntOrPercent('5', 10, true)).toThrow(/not a percentage/);
    expect(() => scaledValueFromIntOrPercent('x%', 10, true)).toThrow();
  });
});

describe('ControllerExpectations', () => {
  it('is satisfied once creations and the tracked deletions are observed, or after the TTL', () => {
    let now = 0;
    const e = new ControllerExpectations({ now: () => now }, 1000);
    expect(e.satisfied('k')).toBe(true);
    e.expectCreations('k', 2);
    expect(e.satisfied('k')).toBe(false);
    e.creationObserved('k');
    e.creationObserved('k');
    expect(e.satisfied('k')).toBe(true);
    e.expectDeletions('k', ['ns/a', 'ns/b']);
    e.deletionObserved('k', 'ns/a');
    e.deletionObserved('k', 'ns/a'); // marked for deletion, then removed: counts once
    e.deletionObserved('k', 'ns/zzz'); // unknown
    expect(e.pending('k')).toEqual({ add: 0, del: 1 });
    expect(e.satisfied('k')).toBe(false);
    now = 1001;
    expect(e.satisfied('k')).toBe(true);
    e.setExpectations('k', 3, []);
    e.lowerCreations('k', 3);
    expect(e.satisfied('k')).toBe(true);
  });
});

describe('pods', () => {
  it('availability honours minReadySeconds against the Ready transition time', () => {
    const p = pod('a', { readyAt: '2024-01-01T00:00:00Z' });
    const t0 = Date.parse('2024-01-01T00:00:00Z');
    expect(isPodAvailable(p, 0, t0)).toBe(true);
    expect(isPodAvailable(p, 10, t0 + 5000)).toBe(false);
    expect(msUntilAvailable(p, 10, t0 + 5000)).toBe(5001);
    expect(isPodAvailable(p, 10, t0 + 10_001)).toBe(true);
    expect(isPodAvailable(pod('b', { ready: false }), 0, t0)).toBe(false);
  });

  it('podFromTemplate copies labels/annotations/spec and sets generateName and the controllerRef', () => {
    const ref = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u', controller: true, blockOwnerDeletion: true };
    const p = podFromTemplate({ metadata: { name: 'ignored', labels: { a: 'b' }, annotations: { x: 'y' } }, spec: { containers: [{ name: 'c', image: 'i' }] } }, 'rs', ref);
    expect(p.metadata).toEqual({ generateName: 'rs-', labels: { a: 'b' }, annotations: { x: 'y' }, ownerReferences: [ref] });
    expect(p.spec).toEqual({ containers: [{ name: 'c', image: 'i' }] });
  });

  it('ranks pods for deletion like ActivePodsWithRanks', () => {
    const pods = [
      pod('running-old', { node: 'n1', created: '2024-01-01T00:00:00Z' }),
      pod('unscheduled', { phase: 'Pending', ready: false }),
      pod('pending', { node: 'n1', phase: 'Pending', ready: false }),
      pod('not-ready', { node: 'n2', ready: false }),
      pod('restarts', { node: 'n3', restarts: 5 }),
      pod('running-new', { node: 'n3', created: '2024-01-02T00:00:00Z' }),
    ];
    expect(podsToDelete(pods, pods, 6).map((p) => p.metadata.name)).toEqual(['unscheduled', 'pending', 'not-ready', 'restarts', 'running-new', 'running-old']);
    // doubled-up nodes first
    const a = pod('a', { node: 'busy' });
    const b = pod('b', { node: 'busy' });
    const c = pod('c', { node: 'quiet' });
    expect(['a', 'b']).toContain(podsToDelete([c, a, b], [a, b, c], 1)[0].metadata.name);
    // deletion cost wins over rank
    const cheap = pod('cheap', { node: 'quiet', cost: '-10' });
    expect(podsToDelete([a, b, cheap], [a, b, cheap], 1)[0].metadata.name).toBe('cheap');
    // most recently ready first
    const r1 = pod('r1', { node: 'x', readyAt: '2024-01-01T00:00:00Z' });
    const r2 = pod('r2', { node: 'y', readyAt: '2024-01-01T01:00:00Z' });
    expect(podsToDelete([r1, r2], [], 1)[0].metadata.name).toBe('r2');
  });
});

describe('slowStartBatch', () => {
  it('runs 1, 2, 4 … calls and stops after the first failing batch', async () => {
    const calls: number[] = [];
    const r = await slowStartBatch(10, 1, (i) => {
      calls.push(i);
      if (i === 4) throw new Error('boom');
    });
    // batches: [0] [1,2] [3,4,5,6] → stop
    expect(calls).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(r.successes).toBe(6);
    expect((r.error as Error).message).toBe('boom');
    const ok = await slowStartBatch(5, 1, () => undefined);
    expect(ok).toEqual({ successes: 5 });
  });
});

describe('claimObjects', () => {
  it('keeps owned matches, adopts matching orphans, releases owned non-matches, ignores others', () => {
    const owner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'rs', namespace: 'default', uid: 'owner' } } as KObject;
    const mk = (name: string, labels: Record<string, string>, ctrl?: string): KObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default', uid: name, labels, ...(ctrl ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'x', uid: ctrl, controller: true }] } : {}) },
    });
    const objs: Record<string, KObject> = {
      owned: mk('owned', { app: 'a' }, 'owner'),
      orphan: mk('orphan', { app: 'a' }),
      stray: mk('stray', { app: 'b' }, 'owner'),
      foreign: mk('foreign', { app: 'a' }, 'other'),
    };
    const registry = {
      guaranteedUpdate: (_ri: unknown, _ns: unknown, name: string, fn: (o: KObject) => KObject) => {
        objs[name] = fn(JSON.parse(JSON.stringify(objs[name])));
        return objs[name];
      },
    };
    const claimed = claimObjects({
      registry: registry as never,
      ri: { resource: 'pods', group: '' } as never,
      owner,
      matches: (o) => o.metadata.labels?.app === 'a',
      candidates: Object.values(objs),
      canAdopt: () => true,
    });
    expect(claimed.map((o) => o.metadata.name).sort()).toEqual(['orphan', 'owned']);
    expect(objs.orphan.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'owner', controller: true, blockOwnerDeletion: true }]);
    expect(objs.stray.metadata.ownerReferences).toBeUndefined();
    expect(objs.foreign.metadata.ownerReferences![0].uid).toBe('other');
  });
});
