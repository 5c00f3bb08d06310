import { RESOURCES, resourceFor, servesVersion, type ResourceInfo } from '../api/scheme';
import { NotFoundError } from '../util/errors';

/**
 * Parses a URL path into what it addresses. Discovery and non-resource paths are returned as
 * `other`; resource paths carry the resource, namespace, name and subresource.
 */
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface ResourceRequest {
  type: 'resource';
  ri: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** legacy /watch/ path prefix */
  watchPath: boolean;
  /** the version in the URL; differs from ri.version for alternate versions (converted) */
  version: string;
}

export interface OtherRequest {
  type: 'other';
  path: string;
}

const knownGroups = new Set(RESOURCES.flatMap((r) => [r.version, ...(r.alternateVersions ?? [])].map((v) => `${r.group}/${v}`)));

export function parsePath(pathname: string): ResourceRequest | OtherRequest {
  const segs = pathname.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 3) {
    group = '';
    version = segs[1];
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && segs.length >= 4) {
    group = segs[1];
    version = segs[2];
    rest = segs.slice(3);
  } else {
    return { type: 'other', path: '/' + segs.join('/') };
  }
  if (!knownGroups.has(`${group}/${version}`)) throw notFound(pathname);
  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  let resource: string;
  let name: string | undefined;
  let subresource: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    resource = rest[2];
    name = rest[3];
    subresource = rest[4];
    if (rest.length > 5) throw notFound(pathname);
    const ri = resourceFor(group, resource);
    if (!ri || !servesVersion(ri, version) || !ri.namespaced) {
      // /api/v1/namespaces/NAME/status|finalize
      if (group === '' && (resource === 'status' || resource === 'finalize') && rest.length === 3) {
        return { type: 'resource', ri: resourceFor('', 'namespaces')!, name: rest[1], subresource: resource, watchPath, version };
      }
      throw notFound(pathname);
    }
    if (subresource && !ri.subresources.includes(subresource)) throw notFound(pathname);
    return { type: 'resource', ri, namespace, name, subresource, watchPath, version };
  }
  resource = rest[0];
  name = rest[1];
  subresource = rest[2];
  if (rest.length > 3) throw notFound(pathname);
  const ri = resourceFor(group, resource);
  if (!ri || !servesVersion(ri, version)) throw notFound(pathname);
  if (ri.namespaced && name !== undefined) throw notFound(pathname);
  if (subresource && !ri.subresources.includes(subresource)) throw notFound(pathname);
  return { type: 'resource', ri, name, subresource, watchPath, version };
}

function notFound(path: string): NotFoundError {
  const e = new NotFoundError('', '');
  (e as { message: string }).message = `the server could not find the requested resource (${path})`;
  return e;
}
