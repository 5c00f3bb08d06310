import type { KObject } from '../../api/types';
import { resourceFor } from '../../api/scheme';
import { labelSelectorMatches } from '../../api/selectors';
import { Controller } from '../../controller/controller';
import { NotFoundError } from '../../util/errors';
import { deepEqual } from '../../util/equal';
import type { ControllerContext } from '../context';
import { DelayedRequeue } from '../job/requeue';
import { computePdb, podsForPdb, registryScaleFinder, withDisruptionAllowed } from './pdb';

/**
 * The disruption controller: keeps every PodDisruptionBudget's status current —
 * expectedPods, desiredHealthy, currentHealthy, disruptionsAllowed, disruptedPods,
 * observedGeneration and the DisruptionAllowed condition (SufficientPods / InsufficientPods /
 * SyncFailed) — from its selected pods and their controllers' scales (see pdb.ts). Reconciles on
 * budget, pod and workload-scale changes, and again when an eviction's 2-minute deletion
 * timeout runs out. Events: NoPods, UnmanagedPods, CalculateExpectedPodCountFailed, NotDeleted.
 */
export function disruptionController(ctx: ControllerContext): Controller {
  const { registry, clock } = ctx;
  const log = ctx.log.child('disruption-controller');
  const recorder = ctx.recorder('controllermanager');
  const pdbRI = resourceFor('policy', 'poddisruptionbudgets')!;
  const pdbs = ctx.informers.for(pdbRI);
  const pods = ctx.informers.for(resourceFor('', 'pods')!);
  const workloads = ['deployments', 'replicasets', 'statefulsets'].map((r) => ctx.informers.for(resourceFor('apps', r)!));
  const findScale = registryScaleFinder(registry);
  let requeue: DelayedRequeue;

  const reconcile = (key: string): void => {
    const [ns, name] = key.split('/');
    const pdb = pdbs.get(ns, name);
    if (!pdb) {
      requeue.forget(key);
      return;
    }
    const now = clock.now();
    const selected = podsForPdb(pdb, pods.list(ns));
    if (selected.length === 0) recorder.event(pdb, 'Normal', 'NoPods', 'No matching pods found');
    const r = computePdb(pdb, selected, findScale, now);
    const gen = pdb.metadata.generation;
    let status: Record<string, unknown>;
    if (r.error !== undefined) {
      recorder.event(pdb, 'Warning', 'CalculateExpectedPodCountFailed', `Failed to calculate the number of expected pods: ${r.error}`);
      status = {
        ...(pdb.status ?? {}),
        disruptionsAllowed: 0,
        observedGeneration: gen,
        conditions: withDisruptionAllowed(pdb.status?.conditions, false, 'SyncFailed', r.error, gen, now),
      };
    } else {
      if (r.unmanagedPods.length > 0) {
        recorder.event(
          pdb,
          'Warning',
          'UnmanagedPods',
          `Pods selected by this PodDisruptionBudget (selector: ${JSON.stringify(pdb.spec?.selector ?? {})}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.`,
        );
      }
      for (const podName of r.notDeleted) {
        const p = pods.get(ns, podName);
        if (p) recorder.event(p, 'Warning', 'NotDeleted', `Pod was expected by PDB ${ns}/${name} to be deleted but it wasn't`);
      }
      const allowed = r.disruptionsAllowed > 0;
      status = {
        disruptionsAllowed: r.disruptionsAllowed,
        currentHealthy: r.currentHealthy,
        desiredHealthy: r.desiredHealthy,
        expectedPods: r.expectedPods,
        ...(Object.keys(r.disruptedPods).length ? { disruptedPods: r.disruptedPods } : {}),
        observedGeneration: gen,
        conditions: withDisruptionAllowed(pdb.status?.conditions, allowed, allowed ? 'SufficientPods' : 'InsufficientPods', '', gen, now),
      };
    }
    if (!deepEqual(status, pdb.status ?? {})) {
      registry.guaranteedUpdate(
        pdbRI,
        ns,
        name,
        (cur) => {
          if (cur.metadata.uid !== pdb.metadata.uid) throw new NotFoundError('poddisruptionbudgets.policy', name, 'policy');
          cur.status = status;
          return cur;
        },
        { subresource: 'status' },
      );
      log.v(3, 'pdb status', { pdb: key, ...status });
    }
    if (r.recheckAt !== undefined) requeue.after(key, r.recheckAt - now);
  };

  return new Controller({
    name: 'disruption-controller',
    log,
    clock,
    setup: (enqueue) => {
      requeue = new DelayedRequeue(clock, enqueue);
      const key = (o: KObject) => `${o.metadata.namespace}/${o.metadata.name}`;
      pdbs.addHandlers({ onAdd: (o) => enqueue(key(o)), onUpdate: (_o, n) => enqueue(key(n)), onDelete: (o) => enqueue(key(o)) });
      const forPod = (p: KObject) => {
        for (const b of pdbs.list(p.metadata.namespace)) if (labelSelectorMatches(b.spec?.selector, p.metadata.labels)) enqueue(key(b));
      };
      pods.addHandlers({
        onAdd: forPod,
        onUpdate: (o, n) => {
          forPod(n);
          if (JSON.stringify(o.metadata.labels) !== JSON.stringify(n.metadata.labels)) forPod(o);
        },
        onDelete: forPod,
      });
      // A scale change moves expectedPods before any pod changes.
      const onScale = (o: KObject, n?: KObject) => {
        if (n && o.spec?.replicas === n.spec?.replicas) return;
        for (const b of pdbs.list((n ?? o).metadata.namespace)) enqueue(key(b));
      };
      for (const w of workloads) {
        w.addHandlers({ onAdd: (o) => onScale(o), onUpdate: (o, n) => onScale(o, n), onDelete: (o) => onScale(o) });
      }
      pdbs.start();
      pods.start();
      for (const w of workloads) w.start();
    },
    teardown: () => requeue?.stop(),
    reconcile,
  });
}
