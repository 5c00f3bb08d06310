import yaml from 'js-yaml';
import type { KObject } from '../../api/types';
import { RESOURCES, groupVersion, resolveResourceName, resourceForObject, type ResourceInfo } from '../../api/scheme';
import type { HttpClient } from '../../client/http-client';
import { ApiError } from '../../util/errors';
import { CliError, clientFor, resolveProfile, type CliIO, type ProfileOpts } from '../io';
import { readManifests } from '../manifests';
import { renderTable, type ServerTable } from '../printers/table';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

export function resourcePath(ri: ResourceInfo, ns: string | undefined, name?: string): string {
  const base = ri.group ? `/apis/${ri.group}/${ri.version}` : `/api/${ri.version}`;
  const n = name ? `/${encodeURIComponent(name)}` : '';
  return ri.namespaced && ns ? `${base}/namespaces/${encodeURIComponent(ns)}/${ri.resource}${n}` : `${base}/${ri.resource}${n}`;
}

/** `deployment.apps/web`, as kubectl names objects in its messages. */
export function displayName(ri: ResourceInfo, name: string): string {
  return `${ri.kind.toLowerCase()}${ri.group ? '.' + ri.group : ''}/${name}`;
}

function mapObject(o: KObject, source: string): ResourceInfo {
  const ri = resourceForObject(String(o.apiVersion), String(o.kind));
  if (!ri) throw new CliError(`resource mapping not found for name: "${o.metadata?.name ?? ''}" from "${source}": no matches for kind "${o.kind}" in version "${o.apiVersion}"`);
  return ri;
}

/** A JSON merge patch turning `from` into `to` (keys removed become null). */
function mergeDiff(from: unknown, to: unknown): unknown {
  if (!from || typeof from !== 'object' || Array.isArray(from) || !to || typeof to !== 'object' || Array.isArray(to)) return to;
  const out: Record<string, unknown> = {};
  const f = from as Record<string, unknown>;
  const t = to as Record<string, unknown>;
  for (const k of Object.keys(f)) if (!(k in t)) out[k] = null;
  for (const [k, v] of Object.entries(t)) out[k] = k in f ? mergeDiff(f[k], v) : v;
  return out;
}

export interface ApplyOpts extends ProfileOpts {
  filename?: string[];
  recursive?: boolean;
  namespace?: string;
}

/** `minictl apply -f`: client-side apply with the last-applied annotation, like kubectl. */
export async function applyCommand(o: ApplyOpts, io: CliIO): Promise<number> {
  const { profile, paths } = resolveProfile(o, io.env);
  const manifests = await readManifests(o.filename ?? [], !!o.recursive, io);
  const c = clientFor(profile, paths);
  let failed = 0;
  try {
    for (const { obj, source } of manifests) {
      try {
        const ri = mapObject(obj, source);
        const ns = ri.namespaced ? obj.metadata.namespace ?? o.namespace ?? 'default' : undefined;
        if (ri.namespaced && o.namespace && obj.metadata.namespace && obj.metadata.namespace !== o.namespace) {
          throw new CliError(`the namespace from the provided object "${obj.metadata.namespace}" does not match the namespace "${o.namespace}". You must pass '--namespace=${obj.metadata.namespace}' to perform this operation.`);
        }
        const name = obj.metadata.name;
        if (!name) throw new CliError(`error from ${source}: metadata.name is required for apply`);
        const desired: KObject = JSON.parse(JSON.stringify(obj));
        if (ns) desired.metadata.namespace = ns;
        const annotated = JSON.parse(JSON.stringify(desired));
        annotated.metadata.annotations = { ...(annotated.metadata.annotations ?? {}), [LAST_APPLIED]: JSON.stringify(desired) + '\n' };
        let live: KObject | undefined;
        try {
          live = await c.request<KObject>('GET', resourcePath(ri, ns, name));
        } catch (e) {
          if (!(e instanceof ApiError && e.code === 404)) throw e;
        }
        if (!live) {
          await c.request('POST', resourcePath(ri, ns) + '?fieldManager=kubectl-client-side-apply', annotated);
          io.stdout.write(`${displayName(ri, name)} created\n`);
          continue;
        }
        let last: unknown = {};
        try {
          last = JSON.parse(live.metadata.annotations?.[LAST_APPLIED] ?? '{}');
        } catch {
          last = {};
        }
        const patch = mergeDiff(last, annotated) as Record<string, unknown>;
        delete patch.status;
        const after = await c.request<KObject>('PATCH', resourcePath(ri, ns, name) + '?fieldManager=kubectl-client-side-apply', patch, { 'Content-Type': 'application/merge-patch+json' });
        io.stdout.write(`${displayName(ri, name)} ${after.metadata.resourceVersion === live.metadata.resourceVersion ? 'unchanged' : 'configured'}\n`);
      } catch (e) {
        failed++;
        io.stderr.write(`error: ${(e as Error).message}\n`);
      }
    }
  } finally {
    c.close();
  }
  return failed ? 1 : 0;
}

export interface GetOpts extends ProfileOpts {
  namespace?: string;
  allNamespaces?: boolean;
  output?: string;
  selector?: string;
  showLabels?: boolean;
  noHeaders?: boolean;
}

function resolveKinds(spec: string): ResourceInfo[] {
  const out: ResourceInfo[] = [];
  for (const part of spec.split(',')) {
    if (part === 'all') {
      out.push(...RESOURCES.filter((r) => r.categories?.includes('all')));
      continue;
    }
    const ri = resolveResourceName(part);
    if (!ri) throw new CliError(`the server doesn't have a resource type "${part}"`);
    out.push(ri);
  }
  return out;
}

/** `minictl get KIND[,KIND] [NAME...]`, printed like kubectl. */
export async function getCommand(kind: string, names: string[], o: GetOpts, io: CliIO): Promise<number> {
  let kinds: { ri: ResourceInfo; names: string[] }[];
  if (kind.includes('/')) {
    // get pod/a deploy/b
    kinds = [kind, ...names].map((s) => {
      const [k, n] = s.split('/');
      return { ri: resolveKinds(k)[0], names: [n] };
    });
  } else {
    kinds = resolveKinds(kind).map((ri) => ({ ri, names }));
  }
  const out = o.output ?? '';
  if (!['', 'wide', 'yaml', 'json', 'name'].includes(out)) throw new CliError(`unable to match a printer suitable for the output format "${out}", allowed formats are: json,name,wide,yaml`);
  const { profile, paths } = resolveProfile(o, io.env);
  const c = clientFor(profile, paths);
  const ns = o.allNamespaces ? undefined : o.namespace ?? 'default';
  const q = o.selector ? `?labelSelector=${encodeURIComponent(o.selector)}` : '';
  let failed = 0;
  const collected: KObject[] = [];
  let printedAny = false;
  try {
    for (const { ri, names: ns2 } of kinds) {
      const multi = kinds.length > 1;
      if (out === 'yaml' || out === 'json' || out === 'name') {
        if (ns2.length) {
          for (const n of ns2) {
            try {
              collected.push(await c.request<KObject>('GET', resourcePath(ri, ns, n)));
            } catch (e) {
              failed++;
              io.stderr.write(`Error from server (${(e as ApiError).reason ?? 'Error'}): ${(e as Error).message}\n`);
            }
          }
        } else {
          const l = await c.request<{ items: KObject[] }>('GET', resourcePath(ri, ns) + q);
          for (const it of l.items) collected.push({ ...it, apiVersion: groupVersion(ri), kind: ri.kind });
        }
        continue;
      }
      let table: ServerTable;
      if (ns2.length) {
        table = { columnDefinitions: [], rows: [] };
        for (const n of ns2) {
          try {
            const t = await c.request<ServerTable>('GET', resourcePath(ri, ns, n), undefined, { Accept: TABLE_ACCEPT });
            table.columnDefinitions = t.columnDefinitions;
            table.rows.push(...t.rows);
          } catch (e) {
            failed++;
            io.stderr.write(`Error from server (${(e as ApiError).reason ?? 'Error'}): ${(e as Error).message}\n`);
          }
        }
      } else {
        table = await c.request<ServerTable>('GET', resourcePath(ri, ns) + q, undefined, { Accept: TABLE_ACCEPT });
      }
      if (!table.rows.length) continue;
      if (printedAny) io.stdout.write('\n');
      printedAny = true;
      io.stdout.write(renderTable(table, { wide: out === 'wide', withNamespace: !!o.allNamespaces && ri.namespaced, showLabels: o.showLabels, noHeaders: o.noHeaders, namePrefix: multi ? displayName(ri, '') : undefined }));
    }
    if (out === 'name') {
      for (const it of collected) {
        const ri = resourceForObject(it.apiVersion, it.kind)!;
        io.stdout.write(displayName(ri, it.metadata.name!) + '\n');
      }
    } else if (out === 'yaml' || out === 'json') {
      const doc = collected.length === 1 && kinds.every((k) => k.names.length === 1) ? collected[0] : { apiVersion: 'v1', kind: 'List', items: collected, metadata: { resourceVersion: '' } };
      io.stdout.write(out === 'json' ? JSON.stringify(doc, null, 4) + '\n' : yaml.dump(doc, { lineWidth: -1, noRefs: true }));
    } else if (!printedAny && !failed) {
      io.stderr.write(ns ? `No resources found in ${ns} namespace.\n` : 'No resources found\n');
    }
  } finally {
    c.close();
  }
  return failed ? 1 : 0;
}

export interface DeleteOpts extends ProfileOpts {
  filename?: string[];
  recursive?: boolean;
  namespace?: string;
  ignoreNotFound?: boolean;
  wait?: boolean;
}

async function deleteOne(c: HttpClient, ri: ResourceInfo, ns: string | undefined, name: string, o: DeleteOpts, io: CliIO): Promise<boolean> {
  try {
    await c.request('DELETE', resourcePath(ri, ns, name), { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' });
    io.stdout.write(`${ri.kind.toLowerCase()}${ri.group ? '.' + ri.group : ''} "${name}" deleted\n`);
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.code === 404 && o.ignoreNotFound) return true;
    io.stderr.write(`Error from server (${(e as ApiError).reason ?? 'Error'}): ${(e as Error).message}\n`);
    return false;
  }
}

/** `minictl delete -f …` or `minictl delete KIND NAME…` (objects, not the cluster). */
export async function deleteObjectsCommand(args: string[], o: DeleteOpts, io: CliIO): Promise<number> {
  const { profile, paths } = resolveProfile(o, io.env);
  const targets: { ri: ResourceInfo; ns?: string; name: string }[] = [];
  if (o.filename?.length) {
    if (args.length) throw new CliError('use either -f or KIND NAME, not both');
    for (const { obj, source } of await readManifests(o.filename, !!o.recursive, io)) {
      const ri = mapObject(obj, source);
      if (!obj.metadata.name) throw new CliError(`error from ${source}: metadata.name is required`);
      targets.push({ ri, ns: ri.namespaced ? obj.metadata.namespace ?? o.namespace ?? 'default' : undefined, name: obj.metadata.name });
    }
  } else {
    if (args.length === 1 && args[0].includes('/')) args = args[0].split('/');
    const [kind, ...names] = args;
    if (!names.length) throw new CliError(`resource(s) were provided, but no name was specified; usage: minictl delete KIND NAME [NAME...] or minictl delete -f FILE`);
    const ri = resolveKinds(kind)[0];
    for (const n of names) targets.push({ ri, ns: ri.namespaced ? o.namespace ?? 'default' : undefined, name: n });
  }
  const c = clientFor(profile, paths);
  let ok = true;
  try {
    for (const t of targets) ok = (await deleteOne(c, t.ri, t.ns, t.name, o, io)) && ok;
  } finally {
    c.close();
  }
  return ok ? 0 : 1;
}
