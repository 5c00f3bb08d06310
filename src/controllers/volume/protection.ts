/**
 * pvc-protection and pv-protection (kube's storage-object-in-use protection controllers).
 *
 * - Every claim carries `kubernetes.io/pvc-protection` (added by admission on create, and here on
 *   sight for claims that predate it). A claim being deleted keeps it — so it stays Terminating —
 *   while any pod in its namespace that is not Succeeded/Failed uses it (persistentVolumeClaim
 *   volume or generic ephemeral volume); the finalizer is removed once no such pod exists,
 *   confirmed against a live pod list (not only the informer cache) so a pod created a moment ago
 *   is not missed.
 * - Every volume carries `kubernetes.io/pv-protection`; a volume being deleted keeps it while
 *   its phase is Bound.
 * Keys: `claim/<ns>/<name>`, `volume/<name>`. Writes are guaranteedUpdates; a vanished object is
 * ignored.
 */
import type { KObject } from '../../api/types';
import { resourceFor } from '../../api/scheme';
import { Controller } from '../../controller/controller';
import { NotFoundError } from '../../util/errors';
import type { ControllerContext } from '../context';
import {
  PV_PROTECTION_FINALIZER,
  PVC_PROTECTION_FINALIZER,
  canReleaseVolumeFinalizer,
  claimInUse,
  hasFinalizer,
  podClaimNames,
  withFinalizer,
  withoutFinalizer,
} from './util';

const PVC_RI = resourceFor('', 'persistentvolumeclaims')!;
const PV_RI = resourceFor('', 'persistentvolumes')!;
const POD_RI = resourceFor('', 'pods')!;

export function volumeProtectionController(ctx: ControllerContext, opts: { workers?: number } = {}): Controller {
  const { registry, informers } = ctx;
  const log = ctx.log.child('volume-protection-controller');
  const claims = informers.for(PVC_RI);
  const volumes = informers.for(PV_RI);
  const pods = informers.for(POD_RI);

  function setFinalizers(ri: typeof PVC_RI, o: KObject, finalizers: string[]): void {
    try {
      registry.guaranteedUpdate(ri, o.metadata.namespace, o.metadata.name!, (cur) => {
        if (cur.metadata.uid !== o.metadata.uid) throw new NotFoundError(ri.resource, o.metadata.name!);
        cur.metadata.finalizers = finalizers.length ? finalizers : undefined;
        return cur;
      });
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
  }

  function syncClaim(ns: string, name: string): void {
    const c = claims.get(ns, name);
    if (!c) return;
    const has = hasFinalizer(c, PVC_PROTECTION_FINALIZER);
    if (!c.metadata.deletionTimestamp) {
      if (!has) setFinalizers(PVC_RI, c, withFinalizer(c, PVC_PROTECTION_FINALIZER));
      return;
    }
    if (!has) return;
    if (claimInUse(c, pods.list(ns))) return;
    if (claimInUse(c, registry.list(POD_RI, ns).items)) return;
    log.v(1, 'claim no longer in use, removing finalizer', { claim: `${ns}/${name}` });
    setFinalizers(PVC_RI, c, withoutFinalizer(c, PVC_PROTECTION_FINALIZER));
  }

  function syncVolume(name: string): void {
    const v = volumes.get(undefined, name);
    if (!v) return;
    if (!v.metadata.deletionTimestamp) {
      if (!hasFinalizer(v, PV_PROTECTION_FINALIZER)) setFinalizers(PV_RI, v, withFinalizer(v, PV_PROTECTION_FINALIZER));
      return;
    }
    if (canReleaseVolumeFinalizer(v)) setFinalizers(PV_RI, v, withoutFinalizer(v, PV_PROTECTION_FINALIZER));
  }

  return new Controller({
    name: 'volume-protection-controller',
    log,
    clock: ctx.clock,
    workers: opts.workers ?? 1,
    setup: (enqueue) => {
      const enqClaim = (c: KObject) => enqueue(`claim/${c.metadata.namespace}/${c.metadata.name}`);
      claims.addHandlers({ onAdd: enqClaim, onUpdate: (_o, c) => enqClaim(c) });
      volumes.addHandlers({ onAdd: (v) => enqueue(`volume/${v.metadata.name}`), onUpdate: (_o, v) => enqueue(`volume/${v.metadata.name}`) });
      // a pod going away or finishing may free a claim that is being deleted
      const podClaims = (p: KObject) => {
        for (const n of podClaimNames(p)) {
          const c = claims.get(p.metadata.namespace, n);
          if (c?.metadata.deletionTimestamp) enqClaim(c);
        }
      };
      pods.addHandlers({ onUpdate: (o, p) => o.status?.phase !== p.status?.phase && podClaims(p), onDelete: podClaims });
      for (const i of [pods, volumes, claims]) i.start();
    },
    reconcile: (key) => {
      if (key.startsWith('claim/')) {
        const [, ns, name] = key.split('/');
        syncClaim(ns, name);
      } else if (key.startsWith('volume/')) syncVolume(key.slice('volume/'.length));
    },
  });
}
