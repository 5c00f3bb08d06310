/**
 * The PersistentVolume controller (kube-controller-manager's persistentvolume-binder): binds
 * claims to volumes, provisions volumes for claims of classes with an in-process provisioner,
 * reclaims released volumes, and expands bound claims (see expansion.ts).
 *
 * Claims (key `claim/<ns>/<name>`):
 * - Unbound: the best matching volume (findBestMatchForClaim: pre-bound volume first, else the
 *   smallest Available one that fits) is bound: volume spec.claimRef (+ bound-by-controller),
 *   volume phase Bound, claim spec.volumeName (+ bind-completed, bound-by-controller), claim
 *   phase Bound with status.capacity and accessModes from the volume. Without a match: no class →
 *   Warning FailedBinding `no persistent volumes available for this claim and no storage class is
 *   set`; unknown class → Warning ProvisioningFailed; a class served in-process → a volume is
 *   provisioned (Normal ProvisioningSucceeded) and bound; another provisioner → Normal
 *   ExternalProvisioning.
 * - WaitForFirstConsumer classes: nothing happens until a pod using the claim is scheduled (the
 *   scheduler's VolumeBinding plugin lets such pods through and checks that the node can be served;
 *   this controller notices the pod's spec.nodeName, records it in the claim annotation
 *   volume.kubernetes.io/selected-node, then binds to a volume whose nodeAffinity admits that node,
 *   or provisions). Until then: Normal WaitForFirstConsumer `waiting for first consumer to be
 *   created before binding` (or `waiting for pod <name> to be scheduled`). The kubelet retries
 *   mounting until the claim is bound.
 * - Bound: volume missing → phase Lost (Warning ClaimLost); volume bound elsewhere → Lost
 *   (Warning ClaimMisbound) once bind-completed, else Pending with FailedBinding.
 *
 * Volumes (key `volume/<name>`): no claimRef → Available; claim present with the claimRef's uid →
 * Bound; claim gone (checked against the live registry, not only the cache) → Released, then the
 * reclaim policy: Retain keeps it Released; Delete removes the backing storage (volumes an
 * in-process provisioner made) and the PersistentVolume, or marks it Failed (Warning
 * VolumeFailedDelete) when no plugin can delete it; Recycle → Failed (VolumeFailedRecycle).
 *
 * Concurrency: one worker per key at a time (workqueue); every write is a guaranteedUpdate of
 * the live object, so a stale cache costs a retry, never a lost write.
 */
import type { KObject } from '../../api/types';
import { resourceFor } from '../../api/scheme';
import { namespacedName } from '../../client/informer';
import { Controller, type ReconcileResult } from '../../controller/controller';
import { AlreadyExistsError, NotFoundError } from '../../util/errors';
import type { ControllerContext } from '../context';
import { expandClaimIfNeeded } from './expansion';
import { HostPathProvisioner, type Provisioner } from './provisioner';
import {
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_BIND_COMPLETED,
  ANN_BOUND_BY_CONTROLLER,
  ANN_PROVISIONED_BY,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
  claimClass,
  findBestMatchForClaim,
  isPodTerminated,
  isVolumeBoundToClaim,
  isWaitForFirstConsumer,
  podClaimNames,
  volumeClass,
  type NodeRef,
} from './util';

export const PVC_RI = resourceFor('', 'persistentvolumeclaims')!;
export const PV_RI = resourceFor('', 'persistentvolumes')!;
export const SC_RI = resourceFor('storage.k8s.io', 'storageclasses')!;
const POD_RI = resourceFor('', 'pods')!;
const NODE_RI = resourceFor('', 'nodes')!;

export const CONTROLLER_NAME = 'persistentvolume-controller';

export interface PersistentVolumeControllerOptions {
  /** in-process provisioners; default: `minictl.io/hostpath` under ctx.dataDir (none without a data dir) */
  provisioners?: Provisioner[];
  workers?: number;
}

function ignoreNotFound(e: unknown): void {
  if (!(e instanceof NotFoundError)) throw e;
}

export function persistentVolumeController(ctx: ControllerContext, opts: PersistentVolumeControllerOptions = {}): Controller {
  const { registry, informers } = ctx;
  const log = ctx.log.child(CONTROLLER_NAME);
  const recorder = ctx.recorder(CONTROLLER_NAME);
  const claims = informers.for(PVC_RI);
  const volumes = informers.for(PV_RI);
  const classes = informers.for(SC_RI);
  const pods = informers.for(POD_RI);
  const nodes = informers.for(NODE_RI);
  const dataDir = typeof ctx.dataDir === 'string' ? ctx.dataDir : undefined;
  const provisioners = opts.provisioners ?? (dataDir ? [new HostPathProvisioner({ dataDir })] : []);
  const provisionerFor = (name: unknown) => provisioners.find((p) => p.name === name);
  /** the workqueue's add, bound in setup (syncVolume hands claims over to syncClaim) */
  let enqueueKey: (key: string) => void = () => undefined;

  // ---- writes ----

  const updateClaim = (c: KObject, mutate: (o: KObject) => void, status = false): KObject =>
    registry.guaranteedUpdate(PVC_RI, c.metadata.namespace, c.metadata.name!, (o) => (mutate(o), o), status ? { subresource: 'status' } : {});
  const updateVolume = (v: KObject, mutate: (o: KObject) => void, status = false): KObject =>
    registry.guaranteedUpdate(PV_RI, undefined, v.metadata.name!, (o) => (mutate(o), o), status ? { subresource: 'status' } : {});

  function setClaimPhase(c: KObject, phase: string): KObject {
    if (c.status?.phase === phase) return c;
    return updateClaim(c, (o) => (o.status = { ...(o.status ?? {}), phase }), true);
  }

  function setVolumePhase(v: KObject, phase: string, message?: string): KObject {
    if (v.status?.phase === phase && (v.status?.message ?? undefined) === message) return v;
    return updateVolume(
      v,
      (o) => {
        o.status = { ...(o.status ?? {}), phase };
        if (message) o.status.message = message;
        else delete o.status.message;
      },
      true,
    );
  }

  /** Completes binding both ways; idempotent (each step is skipped once done). */
  function bind(pv: KObject, claim: KObject): void {
    const ns = claim.metadata.namespace!;
    const name = claim.metadata.name!;
    if (!(pv.spec?.claimRef?.uid === claim.metadata.uid && pv.spec?.claimRef?.name === name && pv.spec?.claimRef?.namespace === ns)) {
      const byController = !pv.spec?.claimRef;
      pv = updateVolume(pv, (o) => {
        o.spec.claimRef = { kind: 'PersistentVolumeClaim', namespace: ns, name, uid: claim.metadata.uid, apiVersion: 'v1', resourceVersion: claim.metadata.resourceVersion };
        if (byController) o.metadata.annotations = { ...(o.metadata.annotations ?? {}), [ANN_BOUND_BY_CONTROLLER]: 'yes' };
      });
    }
    if (pv.status?.phase !== 'Bound') pv = setVolumePhase(pv, 'Bound');
    const ann = claim.metadata.annotations ?? {};
    if (claim.spec?.volumeName !== pv.metadata.name || ann[ANN_BIND_COMPLETED] !== 'yes') {
      const byController = !claim.spec?.volumeName;
      claim = updateClaim(claim, (o) => {
        o.spec.volumeName = pv.metadata.name;
        o.metadata.annotations = { ...(o.metadata.annotations ?? {}), [ANN_BIND_COMPLETED]: 'yes' };
        if (byController) o.metadata.annotations[ANN_BOUND_BY_CONTROLLER] = 'yes';
      });
    }
    const st = claim.status ?? {};
    const wantModes = [...((pv.spec?.accessModes ?? []) as string[])];
    const wantCap = { ...(pv.spec?.capacity ?? {}) };
    const sameModes = JSON.stringify(st.accessModes ?? []) === JSON.stringify(wantModes);
    const sameCap = st.capacity?.storage === wantCap.storage;
    if (st.phase !== 'Bound' || !sameModes || (!sameCap && !st.capacity)) {
      updateClaim(
        claim,
        (o) => {
          o.status = { ...(o.status ?? {}), phase: 'Bound', accessModes: wantModes };
          // after binding, status.capacity changes only through expansion (expansion.ts)
          if (!o.status.capacity) o.status.capacity = wantCap;
        },
        true,
      );
    }
  }

  // ---- claims ----

  /** The node a WaitForFirstConsumer claim should be served for, or why there is none yet. */
  function selectedNode(claim: KObject): { node?: NodeRef; waiting: string } {
    const annotated = claim.metadata.annotations?.[ANN_SELECTED_NODE];
    let nodeName: string | undefined = annotated;
    let pending: KObject | undefined;
    if (!nodeName) {
      for (const p of pods.list(claim.metadata.namespace)) {
        if (isPodTerminated(p) || p.metadata.deletionTimestamp || !podClaimNames(p).includes(claim.metadata.name!)) continue;
        if (p.spec?.nodeName) {
          nodeName = p.spec.nodeName;
          break;
        }
        pending ??= p;
      }
    }
    if (!nodeName) return { waiting: pending ? `waiting for pod ${pending.metadata.name} to be scheduled` : 'waiting for first consumer to be created before binding' };
    const n = nodes.get(undefined, nodeName);
    return { node: { name: nodeName, labels: n?.metadata.labels ?? {} }, waiting: '' };
  }

  function syncUnboundClaim(claim: KObject): void {
    const cls = claimClass(claim);
    const sc = cls ? classes.get(undefined, cls) : undefined;
    const delay = isWaitForFirstConsumer(sc);
    let node: NodeRef | undefined;
    if (delay) {
      const sel = selectedNode(claim);
      if (!sel.node) {
        claim = setClaimPhase(claim, 'Pending');
        recorder.event(claim, 'Normal', 'WaitForFirstConsumer', sel.waiting);
        return;
      }
      node = sel.node;
      if (claim.metadata.annotations?.[ANN_SELECTED_NODE] !== node.name) {
        const nn = node.name;
        claim = updateClaim(claim, (o) => (o.metadata.annotations = { ...(o.metadata.annotations ?? {}), [ANN_SELECTED_NODE]: nn }));
      }
    }
    const match = findBestMatchForClaim(claim, volumes.list(), { node, delayBinding: delay });
    if (match) {
      bind(match, claim);
      return;
    }
    claim = setClaimPhase(claim, 'Pending');
    if (!cls) {
      recorder.event(claim, 'Warning', 'FailedBinding', 'no persistent volumes available for this claim and no storage class is set');
      return;
    }
    if (!sc) {
      recorder.event(claim, 'Warning', 'ProvisioningFailed', `storageclass.storage.k8s.io "${cls}" not found`);
      return;
    }
    const provisionerName = sc.provisioner as string;
    if (claim.metadata.annotations?.[ANN_STORAGE_PROVISIONER] !== provisionerName) {
      claim = updateClaim(claim, (o) => (o.metadata.annotations = { ...(o.metadata.annotations ?? {}), [ANN_STORAGE_PROVISIONER]: provisionerName, [ANN_BETA_STORAGE_PROVISIONER]: provisionerName }));
    }
    const plugin = provisionerFor(provisionerName);
    if (!plugin) {
      recorder.event(
        claim,
        'Normal',
        'ExternalProvisioning',
        `Waiting for a volume to be created either by the external provisioner '${provisionerName}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
      );
      return;
    }
    const pvName = `pvc-${claim.metadata.uid}`;
    let pv = volumes.get(undefined, pvName) ?? registry.tryGet(PV_RI, undefined, pvName);
    if (!pv) {
      let manifest: KObject;
      try {
        manifest = plugin.provision(claim, sc, pvName);
      } catch (e) {
        recorder.event(claim, 'Warning', 'ProvisioningFailed', `failed to provision volume with StorageClass "${cls}": ${(e as Error).message}`);
        throw e;
      }
      try {
        pv = registry.create(PV_RI, undefined, manifest);
        recorder.event(claim, 'Normal', 'ProvisioningSucceeded', `Successfully provisioned volume ${pvName} using ${plugin.name}`);
        log.v(1, 'provisioned volume', { claim: namespacedName(claim), volume: pvName });
      } catch (e) {
        if (!(e instanceof AlreadyExistsError)) throw e;
        pv = registry.get(PV_RI, undefined, pvName);
      }
    }
    if (isVolumeBoundToClaim(pv, claim)) bind(pv, claim);
  }

  function syncBoundClaim(claim: KObject): void {
    const pvName = claim.spec.volumeName as string;
    const pv = volumes.get(undefined, pvName) ?? registry.tryGet(PV_RI, undefined, pvName);
    if (!pv) {
      if (claim.status?.phase !== 'Lost') {
        claim = setClaimPhase(claim, 'Lost');
        recorder.event(claim, 'Warning', 'ClaimLost', 'Bound claim has lost its PersistentVolume. Data on the volume is lost!');
      }
      return;
    }
    if (!pv.spec?.claimRef || isVolumeBoundToClaim(pv, claim)) {
      bind(pv, claim);
      expandClaimIfNeeded({ registry, recorder, claim: registry.get(PVC_RI, claim.metadata.namespace, claim.metadata.name!), pv: registry.get(PV_RI, undefined, pvName), sc: classes.get(undefined, claimClass(claim)) });
      return;
    }
    if (claim.metadata.annotations?.[ANN_BIND_COMPLETED] === 'yes') {
      if (claim.status?.phase !== 'Lost') {
        claim = setClaimPhase(claim, 'Lost');
        recorder.event(claim, 'Warning', 'ClaimMisbound', 'Two claims are bound to the same volume, this one is bound incorrectly');
      }
      return;
    }
    claim = setClaimPhase(claim, 'Pending');
    recorder.event(claim, 'Warning', 'FailedBinding', `volume "${pvName}" already bound to a different claim.`);
  }

  function syncClaim(ns: string, name: string): void {
    const claim = claims.get(ns, name);
    if (!claim) return;
    try {
      if (claim.spec?.volumeName) syncBoundClaim(claim);
      else syncUnboundClaim(claim);
    } catch (e) {
      ignoreNotFound(e);
    }
  }

  // ---- volumes ----

  function reclaim(pv: KObject): void {
    const policy = pv.spec?.persistentVolumeReclaimPolicy ?? 'Retain';
    if (policy === 'Retain' || pv.metadata.deletionTimestamp) return;
    if (policy === 'Delete') {
      const plugin = provisionerFor(pv.metadata.annotations?.[ANN_PROVISIONED_BY]);
      if (!plugin) {
        pv = setVolumePhase(pv, 'Failed', 'error getting deleter volume plugin for volume: no deletable volume plugin matched');
        recorder.event(pv, 'Warning', 'VolumeFailedDelete', `error getting deleter volume plugin for volume "${pv.metadata.name}": no deletable volume plugin matched`);
        return;
      }
      try {
        plugin.delete(pv);
      } catch (e) {
        recorder.event(pv, 'Warning', 'VolumeFailedDelete', (e as Error).message);
        throw e;
      }
      registry.delete(PV_RI, undefined, pv.metadata.name!, { preconditions: { uid: pv.metadata.uid } });
      log.v(1, 'deleted released volume', { volume: pv.metadata.name });
      return;
    }
    pv = setVolumePhase(pv, 'Failed', 'No recycler plugin found for the volume!');
    recorder.event(pv, 'Warning', 'VolumeFailedRecycle', 'No recycler plugin found for the volume!');
  }

  function syncVolume(name: string, enqueue: (k: string) => void): void {
    let pv = volumes.get(undefined, name);
    if (!pv) return;
    try {
      const ref = pv.spec?.claimRef;
      if (!ref) {
        if (pv.status?.phase !== 'Available' && !pv.metadata.deletionTimestamp) setVolumePhase(pv, 'Available');
        return;
      }
      if (!ref.uid) {
        // pre-bound to a claim by name: Available until the claim takes it
        if (pv.status?.phase !== 'Available') pv = setVolumePhase(pv, 'Available');
        enqueue(`claim/${ref.namespace}/${ref.name}`);
        return;
      }
      let claim = claims.get(ref.namespace, ref.name);
      if (!claim || claim.metadata.uid !== ref.uid) claim = registry.tryGet(PVC_RI, ref.namespace, ref.name);
      if (claim && claim.metadata.uid === ref.uid) {
        if (!claim.spec?.volumeName || claim.spec.volumeName === name) {
          if (pv.status?.phase !== 'Bound') setVolumePhase(pv, 'Bound');
          if (!claim.spec?.volumeName) enqueue(`claim/${ref.namespace}/${ref.name}`);
          return;
        }
        // the claim is bound to another volume: undo our half of a binding, else it is released
        if (pv.metadata.annotations?.[ANN_BOUND_BY_CONTROLLER] === 'yes') {
          pv = updateVolume(pv, (o) => {
            delete o.spec.claimRef;
            if (o.metadata.annotations) delete o.metadata.annotations[ANN_BOUND_BY_CONTROLLER];
          });
          setVolumePhase(pv, 'Available');
          return;
        }
      }
      if (pv.status?.phase !== 'Released' && pv.status?.phase !== 'Failed') pv = setVolumePhase(pv, 'Released');
      if (pv.status?.phase === 'Released') reclaim(pv);
    } catch (e) {
      ignoreNotFound(e);
    }
  }

  return new Controller({
    name: CONTROLLER_NAME,
    log,
    clock: ctx.clock,
    workers: opts.workers ?? 2,
    setup: (enqueue) => {
      enqueueKey = enqueue;
      const enqClaim = (c: KObject) => enqueue(`claim/${c.metadata.namespace}/${c.metadata.name}`);
      const enqVolume = (v: KObject) => enqueue(`volume/${v.metadata.name}`);
      claims.addHandlers({
        onAdd: enqClaim,
        onUpdate: (_o, c) => {
          enqClaim(c);
          if (c.spec?.volumeName) enqueue(`volume/${c.spec.volumeName}`);
        },
        onDelete: (c) => {
          if (c.spec?.volumeName) enqueue(`volume/${c.spec.volumeName}`);
          for (const v of volumes.list()) if (v.spec?.claimRef?.uid === c.metadata.uid) enqVolume(v);
        },
      });
      // an unclaimed volume may satisfy claims waiting for one (kube relies on a periodic resync)
      const claimsFor = (v: KObject) => {
        const cls = volumeClass(v);
        for (const c of claims.list()) if (!c.spec?.volumeName && claimClass(c) === cls) enqClaim(c);
      };
      volumes.addHandlers({
        onAdd: (v) => {
          enqVolume(v);
          if (!v.spec?.claimRef) claimsFor(v);
        },
        onUpdate: (o, v) => {
          enqVolume(v);
          const ref = v.spec?.claimRef;
          if (ref) enqueue(`claim/${ref.namespace}/${ref.name}`);
          else if (o.spec?.claimRef) claimsFor(v);
        },
        onDelete: (v) => {
          const ref = v.spec?.claimRef;
          if (ref) enqueue(`claim/${ref.namespace}/${ref.name}`);
        },
      });
      // a new or changed class may let pending claims provision or bind
      const pendingClaims = () => {
        for (const c of claims.list()) if (!c.spec?.volumeName) enqClaim(c);
      };
      classes.addHandlers({ onAdd: pendingClaims, onUpdate: pendingClaims });
      // WaitForFirstConsumer: a pod using a claim appeared or was scheduled
      const podClaims = (p: KObject) => {
        for (const n of podClaimNames(p)) {
          const c = claims.get(p.metadata.namespace, n);
          if (c && !c.spec?.volumeName) enqClaim(c);
        }
      };
      pods.addHandlers({ onAdd: podClaims, onUpdate: (o, p) => o.spec?.nodeName !== p.spec?.nodeName && podClaims(p) });
      for (const i of [classes, nodes, pods, volumes, claims]) i.start();
    },
    reconcile: (key): ReconcileResult | void => {
      if (key.startsWith('claim/')) {
        const [, ns, name] = key.split('/');
        syncClaim(ns, name);
      } else if (key.startsWith('volume/')) {
        syncVolume(key.slice('volume/'.length), enqueueKey);
      }
    },
  });
}
