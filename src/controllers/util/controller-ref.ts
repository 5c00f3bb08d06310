import type { KObject, OwnerReference } from '../../api/types';
import type { ResourceInfo } from '../../api/scheme';
import type { Registry } from '../../apiserver/registry';
import { ApiError, NotFoundError } from '../../util/errors';
import type { Logger } from '../../util/log';

/**
 * ControllerRef handling as in Kubernetes' `ControllerRefManager`: an object has at most one
 * controller (the ownerReference with `controller: true`); a controller adopts orphans that match
 * its selector and releases what it owns that no longer matches.
 */

/** The controlling ownerReference, if any. */
export function controllerRefOf(o: KObject): OwnerReference | undefined {
  return (o.metadata.ownerReferences ?? []).find((r) => r.controller === true);
}

/** True when `o` is controlled by the object with `uid`. */
export function isControlledBy(o: KObject, uid: string | undefined): boolean {
  return !!uid && controllerRefOf(o)?.uid === uid;
}

/** `metav1.NewControllerRef`: controller and blockOwnerDeletion set. */
export function newControllerRef(owner: KObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export interface ClaimOptions {
  registry: Registry;
  /** resource of the dependents (pods, replicasets, controllerrevisions) */
  ri: ResourceInfo;
  owner: KObject;
  /** the owner's selector (plus any membership rule) as a predicate over a dependent */
  matches: (o: KObject) => boolean;
  /** objects owned by the owner plus orphans of its namespace (see ControllerIndex.candidates) */
  candidates: KObject[];
  /**
   * Re-checks the owner against the API (same uid, not being deleted) before the first adoption,
   * like `RecheckDeletionTimestamp`; called at most once per claim.
   */
  canAdopt: () => boolean;
  /** extra condition an orphan must meet to be adopted (default: not being deleted) */
  adoptable?: (o: KObject) => boolean;
  log?: Logger;
}

/**
 * Claims objects for `owner`: returns those it controls after adopting matching orphans and
 * releasing non-matching ones. Objects controlled by someone else are ignored. Adoption and
 * release are read-modify-write updates that re-check the current object, so a race with another
 * controller never steals an object; an object that vanished meanwhile is skipped. Errors other
 * than NotFound/Conflict/Invalid propagate (the caller requeues).
 */
export function claimObjects(o: ClaimOptions): KObject[] {
  const ownerUid = o.owner.metadata.uid!;
  const ownerDeleting = !!o.owner.metadata.deletionTimestamp;
  let adoptionChecked: boolean | undefined;
  const mayAdopt = () => {
    if (ownerDeleting) return false;
    if (adoptionChecked === undefined) adoptionChecked = o.canAdopt();
    return adoptionChecked;
  };
  const claimed: KObject[] = [];
  for (const obj of o.candidates) {
    const ref = controllerRefOf(obj);
    const matches = o.matches(obj);
    if (ref) {
      if (ref.uid !== ownerUid) continue;
      if (matches) {
        claimed.push(obj);
        continue;
      }
      // Owned but no longer selected: release, unless the owner is going away anyway.
      if (ownerDeleting) continue;
      release(o, obj, ownerUid);
      continue;
    }
    // An orphan: adopt when it matches.
    if (!matches || obj.metadata.deletionTimestamp) continue;
    if (o.adoptable && !o.adoptable(obj)) continue;
    if (!mayAdopt()) continue;
    const adopted = adopt(o, obj);
    if (adopted) claimed.push(adopted);
  }
  return claimed;
}

function ignorable(e: unknown): boolean {
  return e instanceof ApiError && (e.code === 404 || e.code === 409 || e.code === 422);
}

function adopt(o: ClaimOptions, obj: KObject): KObject | undefined {
  const ns = obj.metadata.namespace;
  const name = obj.metadata.name!;
  try {
    const res = o.registry.guaranteedUpdate(o.ri, ns, name, (cur) => {
      if (cur.metadata.uid !== obj.metadata.uid) throw new NotFoundError(o.ri.resource, name, o.ri.group);
      if (controllerRefOf(cur) || cur.metadata.deletionTimestamp) return cur;
      cur.metadata.ownerReferences = [...(cur.metadata.ownerReferences ?? []), newControllerRef(o.owner)];
      return cur;
    });
    if (!isControlledBy(res, o.owner.metadata.uid)) return undefined;
    o.log?.v(2, 'adopted', { kind: obj.kind, object: `${ns}/${name}`, owner: o.owner.metadata.name });
    return res;
  } catch (e) {
    if (ignorable(e)) return undefined;
    throw e;
  }
}

function release(o: ClaimOptions, obj: KObject, ownerUid: string): void {
  const ns = obj.metadata.namespace;
  const name = obj.metadata.name!;
  try {
    o.registry.guaranteedUpdate(o.ri, ns, name, (cur) => {
      if (cur.metadata.uid !== obj.metadata.uid) throw new NotFoundError(o.ri.resource, name, o.ri.group);
      const refs = (cur.metadata.ownerReferences ?? []).filter((r) => r.uid !== ownerUid);
      if (refs.length) cur.metadata.ownerReferences = refs;
      else delete cur.metadata.ownerReferences;
      return cur;
    });
    o.log?.v(2, 'released', { kind: obj.kind, object: `${ns}/${name}`, owner: o.owner.metadata.name });
  } catch (e) {
    if (!ignorable(e)) throw e;
  }
}

/**
 * A fresh read of the owner for `ClaimOptions.canAdopt`: adoption is allowed only while the owner
 * with this uid still exists and is not being deleted.
 */
export function ownerStillValid(registry: Registry, ri: ResourceInfo, owner: KObject): boolean {
  const fresh = registry.tryGet(ri, owner.metadata.namespace, owner.metadata.name!);
  return !!fresh && fresh.metadata.uid === owner.metadata.uid && !fresh.metadata.deletionTimestamp;
}
