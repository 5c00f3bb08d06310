/**
 * Ingress routing (networking.k8s.io/v1), pure:
 * - Which Ingresses are ours: `spec.ingressClassName` naming an IngressClass whose controller is
 *   ours (or the class `minictl` itself); without a class name, the legacy annotation
 *   `kubernetes.io/ingress.class: minictl`, else ours when our class is the default one (or no
 *   class is marked default).
 * - The route table merges the rules of all our Ingresses; for the same host, path and type the
 *   oldest Ingress wins.
 * - Matching a request: the most specific host group that has routes is chosen (exact host, then
 *   a `*.domain` wildcard matching exactly one label, then rules without host); within it the
 *   longest matching path wins, Exact before Prefix for equal paths. Prefix matches whole path
 *   elements (`/foo` matches `/foo`, `/foo/` and `/foo/bar`, not `/foobar`);
 *   ImplementationSpecific behaves as Prefix. No match: the default backend (the oldest
 *   `spec.defaultBackend` among our Ingresses), else none (404).
 */
import type { KObject } from '../../api/types';

export const INGRESS_CONTROLLER_NAME = 'minictl.io/ingress';
export const INGRESS_CLASS_NAME = 'minictl';
const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';
const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';

export interface BackendRef {
  /** `namespace/name` of the Ingress it came from */
  ingress: string;
  namespace: string;
  service: string;
  port: { number?: number; name?: string };
}

export interface Route {
  /** '' (any host), `a.example.com`, or `*.example.com` */
  host: string;
  path: string;
  pathType: 'Exact' | 'Prefix';
  backend: BackendRef;
}

export interface TlsEntry {
  hosts: string[];
  namespace: string;
  secretName: string;
}

export interface RouteTable {
  routes: Route[];
  defaultBackend?: BackendRef;
  tls: TlsEntry[];
}

export function isOurIngress(ing: KObject, classes: KObject[]): boolean {
  const name: string | undefined = ing.spec?.ingressClassName;
  const ourClasses = classes.filter((c) => c.spec?.controller === INGRESS_CONTROLLER_NAME).map((c) => c.metadata.name);
  if (name) return name === INGRESS_CLASS_NAME || ourClasses.includes(name);
  const legacy = ing.metadata.annotations?.[LEGACY_CLASS_ANNOTATION];
  if (legacy) return legacy === INGRESS_CLASS_NAME || ourClasses.includes(legacy);
  const defaults = classes.filter((c) => c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true');
  if (defaults.length === 0) return true;
  return defaults.some((c) => c.spec?.controller === INGRESS_CONTROLLER_NAME);
}

function backendOf(ing: KObject, b: unknown): BackendRef | undefined {
  const svc = (b as { service?: { name?: string; port?: { number?: number; name?: string } } } | undefined)?.service;
  if (!svc?.name || !svc.port) return undefined;
  return { ingress: `${ing.metadata.namespace}/${ing.metadata.name}`, namespace: ing.metadata.namespace!, service: svc.name, port: svc.port.name ? { name: svc.port.name } : { number: svc.port.number } };
}

function normalizePath(p: string | undefined): string {
  if (!p) return '/';
  if (p.length > 1 && p.endsWith('/')) return p.replace(/\/+$/, '') || '/';
  return p;
}

function byAge(a: KObject, b: KObject): number {
  return (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`);
}

/** Merges the rules of `ingresses` (already filtered to ours). */
export function buildRouteTable(ingresses: KObject[]): RouteTable {
  const sorted = [...ingresses].filter((i) => !i.metadata.deletionTimestamp).sort(byAge);
  const routes: Route[] = [];
  const seen = new Set<string>();
  let defaultBackend: BackendRef | undefined;
  const tls: TlsEntry[] = [];
  for (const ing of sorted) {
    const spec = ing.spec ?? {};
    if (!defaultBackend && spec.defaultBackend) defaultBackend = backendOf(ing, spec.defaultBackend);
    for (const t of (spec.tls ?? []) as { hosts?: string[]; secretName?: string }[]) {
      if (t.secretName) tls.push({ hosts: (t.hosts ?? []).map((h) => h.toLowerCase()), namespace: ing.metadata.namespace!, secretName: t.secretName });
    }
    for (const rule of (spec.rules ?? []) as { host?: string; http?: { paths?: { path?: string; pathType?: string; backend?: unknown }[] } }[]) {
      const host = (rule.host ?? '').toLowerCase();
      for (const p of rule.http?.paths ?? []) {
        const backend = backendOf(ing, p.backend);
        if (!backend) continue;
        const pathType = p.pathType === 'Exact' ? 'Exact' : 'Prefix';
        const path = pathType === 'Exact' ? p.path || '/' : normalizePath(p.path);
        const k = `${host}|${pathType}|${path}`;
        if (seen.has(k)) continue;
        seen.add(k);
        routes.push({ host, path, pathType, backend });
      }
    }
  }
  return { routes, defaultBackend, tls };
}

/** Whether `host` matches a rule host (`''` matches anything, `*.a.b` one extra label). */
export function hostMatches(ruleHost: string, host: string): boolean {
  if (ruleHost === '') return true;
  if (ruleHost.startsWith('*.')) {
    const suffix = ruleHost.slice(1);
    if (!host.endsWith(suffix)) return false;
    const first = host.slice(0, -suffix.length);
    return first.length > 0 && !first.includes('.');
  }
  return ruleHost === host;
}

export function pathMatches(r: Pick<Route, 'path' | 'pathType'>, path: string): boolean {
  if (r.pathType === 'Exact') return path === r.path;
  if (r.path === '/') return true;
  if (!path.startsWith(r.path)) return false;
  return path.length === r.path.length || path[r.path.length] === '/';
}

/** Host without port, lower-case. */
export function requestHost(hostHeader: string | undefined): string {
  const h = (hostHeader ?? '').trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const i = h.lastIndexOf(':');
  return i >= 0 ? h.slice(0, i) : h;
}

export interface RouteMatch {
  backend?: BackendRef;
  route?: Route;
}

export function matchRoute(table: RouteTable, host: string, rawPath: string): RouteMatch {
  const path = rawPath.split('?')[0].split('#')[0] || '/';
  const groups: Route[][] = [
    table.routes.filter((r) => r.host !== '' && !r.host.startsWith('*.') && r.host === host),
    table.routes.filter((r) => r.host.startsWith('*.') && hostMatches(r.host, host)),
    table.routes.filter((r) => r.host === ''),
  ];
  const group = groups.find((g) => g.length > 0);
  if (group) {
    let best: Route | undefined;
    for (const r of group) {
      if (!pathMatches(r, path)) continue;
      if (!best || r.path.length > best.path.length || (r.path.length === best.path.length && r.pathType === 'Exact' && best.pathType !== 'Exact')) best = r;
    }
    if (best) return { backend: best.backend, route: best };
  }
  return { backend: table.defaultBackend };
}

/** The TLS entry serving `servername` (exact host, then wildcard, then an entry without hosts). */
export function tlsFor(table: RouteTable, servername: string): TlsEntry | undefined {
  const sn = servername.toLowerCase();
  return (
    table.tls.find((t) => t.hosts.includes(sn)) ??
    table.tls.find((t) => t.hosts.some((h) => h.startsWith('*.') && hostMatches(h, sn))) ??
    table.tls.find((t) => t.hosts.length === 0)
  );
}
