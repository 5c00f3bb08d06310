import type { KObject } from '../../api/types';
import { deepEqual } from '../../util/equal';
import { semanticEqual } from './semantic';
import { newControllerRef } from './controller-ref';
import { Fnv32a, canonicalJSON, safeEncodeString, sortedKeys } from './hash';

/**
 * ControllerRevision helpers for the StatefulSet and DaemonSet controllers (Kubernetes'
 * `pkg/controller/history`). A revision stores a strategic-merge patch that restores the pod
 * template — `{"spec":{"template":{…,"$patch":"replace"}}}` — which is also what
 * `kubectl rollout undo` sends back for DaemonSets and StatefulSets, and what `kubectl rollout
 * history --revision N` applies to show the template.
 */

/** Pod/revision label of DaemonSets (the hash) and StatefulSets (the revision name). */
export const CONTROLLER_REVISION_HASH_LABEL = 'controller-revision-hash';
/** Label `history.NewControllerRevision` puts on StatefulSet revisions. */
export const CONTROLLER_HASH_LABEL = 'controller.kubernetes.io/hash';

/** `<prefix>-<hash>`, the prefix cut to 223 characters so the name stays a valid DNS subdomain. */
export function controllerRevisionName(prefix: string, hash: string): string {
  return `${prefix.length > 223 ? prefix.slice(0, 223) : prefix}-${hash}`;
}

/**
 * The revision data for a pod template, keys sorted as Go's encoding/json writes them (with the
 * `metadata.creationTimestamp: null` Go's typed marshalling adds), so that kubectl's byte-wise
 * "current template already matches revision N" check recognises it for ordinary templates.
 */
export function templatePatchData(template: KObject['spec']): Record<string, unknown> {
  const t = JSON.parse(JSON.stringify(template ?? {}));
  t.metadata = { creationTimestamp: null, ...(t.metadata ?? {}) };
  t.$patch = 'replace';
  return sortedKeys({ spec: { template: t } });
}

/** The pod template a revision restores (the `$patch` directive and null timestamps removed). */
export function templateFromRevision(cr: KObject): KObject['spec'] | undefined {
  const t = cr.data?.spec?.template;
  if (!t || typeof t !== 'object') return undefined;
  const out = JSON.parse(JSON.stringify(t));
  delete out.$patch;
  if (out.metadata && out.metadata.creationTimestamp === null) delete out.metadata.creationTimestamp;
  return out;
}

/** True when the revision restores exactly `template`. */
export function revisionMatchesTemplate(cr: KObject, template: KObject['spec']): boolean {
  const t = templateFromRevision(cr);
  return t !== undefined && semanticEqual(t, template);
}

/** `history.HashControllerRevision`: FNV-32a of the data, plus the collision count as decimal. */
export function hashRevisionData(data: unknown, collisionCount?: number | null): string {
  const h = new Fnv32a().write(canonicalJSON(data));
  if (collisionCount !== undefined && collisionCount !== null) h.write(String(collisionCount));
  return safeEncodeString(String(h.sum32()));
}

export function revisionNumber(cr: KObject): number {
  const r = Number(cr.revision);
  return Number.isFinite(r) ? r : 0;
}

/** Ascending by revision, then creation time, then name (`history.SortControllerRevisions`). */
export function sortRevisions(revs: KObject[]): KObject[] {
  return [...revs].sort((a, b) => {
    const d = revisionNumber(a) - revisionNumber(b);
    if (d) return d;
    const ta = a.metadata.creationTimestamp ?? '';
    const tb = b.metadata.creationTimestamp ?? '';
    if (ta !== tb) return ta < tb ? -1 : 1;
    const na = a.metadata.name ?? '';
    const nb = b.metadata.name ?? '';
    return na < nb ? -1 : na > nb ? 1 : 0;
  });
}

export function maxRevision(revs: KObject[]): number {
  let m = 0;
  for (const r of revs) m = Math.max(m, revisionNumber(r));
  return m;
}

/** True when two revisions hold equal data. */
export function equalRevision(a: KObject, b: KObject): boolean {
  return deepEqual(a.data ?? null, b.data ?? null);
}

/**
 * `history.NewControllerRevision`: a revision object owned by `owner`, labelled with the template
 * labels and `extraLabels`, named `<owner>-<hash>`.
 */
export function newControllerRevision(opts: {
  owner: KObject;
  templateLabels?: Record<string, string>;
  extraLabels?: (hash: string) => Record<string, string>;
  annotations?: Record<string, string>;
  data: Record<string, unknown>;
  revision: number;
  hash: string;
}): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: controllerRevisionName(opts.owner.metadata.name!, opts.hash),
      namespace: opts.owner.metadata.namespace,
      labels: { ...(opts.templateLabels ?? {}), ...(opts.extraLabels?.(opts.hash) ?? {}) },
      ...(opts.annotations && Object.keys(opts.annotations).length ? { annotations: { ...opts.annotations } } : {}),
      ownerReferences: [newControllerRef(opts.owner)],
    },
    data: opts.data,
    revision: opts.revision,
  };
}
