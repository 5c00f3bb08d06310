import type { KObject } from '../../api/types';
import type { ResourceInfo } from '../../api/scheme';
import type { Registry } from '../../apiserver/registry';
import { NotFoundError } from '../../util/errors';

/**
 * Writing controller status the way Kubernetes serialises it: fields that are `omitempty` in the
 * Go type are left out when zero, so `kubectl get -o yaml` looks the same as on a real cluster.
 */

/** Drops the listed keys whose value is 0, '' or an empty array. */
export function omitEmpty<T extends Record<string, unknown>>(status: T, keys: readonly string[]): T {
  const out: Record<string, unknown> = { ...status };
  for (const k of keys) {
    const v = out[k];
    if (v === 0 || v === '' || v === undefined || v === null || (Array.isArray(v) && v.length === 0)) delete out[k];
  }
  return out as T;
}

/**
 * Replaces the status of `obj` (status subresource), provided the stored object is still the same
 * incarnation (uid). Retries on conflicts. Returns the written object; throws NotFoundError when
 * the object is gone.
 */
export function writeStatus(registry: Registry, ri: ResourceInfo, obj: KObject, status: Record<string, unknown>): KObject {
  return registry.guaranteedUpdate(
    ri,
    obj.metadata.namespace,
    obj.metadata.name!,
    (cur) => {
      if (cur.metadata.uid !== obj.metadata.uid) throw new NotFoundError(ri.resource, obj.metadata.name!, ri.group);
      cur.status = status;
      return cur;
    },
    { subresource: 'status' },
  );
}
