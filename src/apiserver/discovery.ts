import { RESOURCES, SUBRESOURCE_KINDS, groupVersion, servesVersion } from '../api/scheme';

/**
 * Legacy discovery documents (`/api`, `/apis`, `/api/v1`, `/apis/G/V`). Served as plain JSON, which
 * every kubectl in range parses as the legacy (unaggregated) format.
 */
export const VERSION_INFO = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-minictl',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'node' + process.versions.node,
  compiler: 'minictl',
  platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
};

export function apiVersions(): object {
  return { kind: 'APIVersions', apiVersion: 'v1', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] };
}

function groups(): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const r of RESOURCES) {
    if (!r.group) continue;
    const vs = m.get(r.group) ?? [];
    for (const v of [r.version, ...(r.alternateVersions ?? [])]) if (!vs.includes(v)) vs.push(v);
    m.set(r.group, vs);
  }
  return m;
}

function apiGroup(name: string, versions: string[]): object {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

export function apiGroupList(extra: { name: string; versions: string[] }[] = []): object {
  const gs = [...groups().entries()].map(([n, v]) => apiGroup(n, v));
  for (const e of extra) gs.push(apiGroup(e.name, e.versions));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: gs };
}

export function apiGroupDoc(name: string): object | undefined {
  const v = groups().get(name);
  return v ? { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(name, v) } : undefined;
}

export function apiResourceList(group: string, version: string): object | undefined {
  const rs = RESOURCES.filter((r) => r.group === group && servesVersion(r, version));
  if (!rs.length) return undefined;
  const resources: object[] = [];
  for (const r of rs) {
    resources.push({
      name: r.resource,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames ? { shortNames: r.shortNames } : {}),
      ...(r.categories ? { categories: r.categories } : {}),
      storageVersionHash: Buffer.from(`${group}/${version}/${r.kind}`).toString('base64').slice(0, 11),
    });
    for (const sub of r.subresources) {
      const special = SUBRESOURCE_KINDS[`${r.resource}/${sub}`] ?? SUBRESOURCE_KINDS[sub];
      const kind = special && special.kind ? special.kind : r.kind;
      const entry: Record<string, unknown> = { name: `${r.resource}/${sub}`, singularName: '', namespaced: r.namespaced, kind, verbs: special?.verbs ?? ['get', 'patch', 'update'] };
      if (special && special.group !== undefined && special.kind) {
        // Both are set when either differs, as Kubernetes does (kubectl drain needs the version of pods/eviction).
        if (special.group !== group || (special.version && special.version !== version)) {
          entry.group = special.group;
          entry.version = special.version || version;
        }
      }
      resources.push(entry);
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersion({ group, version }), resources };
}
