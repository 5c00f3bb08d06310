/**
 * Service environment variables for containers (what the kubelet injects into pods created after
 * a Service exists), exactly as Kubernetes names them:
 *
 *   {SVC}_SERVICE_HOST=<clusterIP>            {SVC}_SERVICE_PORT=<first port>
 *   {SVC}_SERVICE_PORT_{PORTNAME}=<port>      (named ports)
 *   {SVC}_PORT=tcp://<clusterIP>:<first port>  (Docker links, one set per port:)
 *   {SVC}_PORT_{port}_{PROTO}=tcp://<ip>:<port>, …_PROTO=tcp, …_PORT=<port>, …_ADDR=<ip>
 *
 * {SVC} is the Service name upper-cased with '-' → '_'. Only Services with a ClusterIP take part
 * (not headless, not ExternalName). The set is the pod namespace's Services (when
 * `enableServiceLinks` is not false) plus `kubernetes` from `default`; a namespace's own Service
 * of the same name wins.
 */
import type { KObject } from '../../api/types';

export function envName(s: string): string {
  return s.toUpperCase().replace(/-/g, '_');
}

function hasClusterIP(svc: KObject): boolean {
  const ip = svc.spec?.clusterIP;
  return typeof ip === 'string' && ip !== '' && ip !== 'None' && svc.spec?.type !== 'ExternalName';
}

/** The variables of one Service, in Kubernetes' order. */
export function serviceEnvVars(svc: KObject): [string, string][] {
  if (!hasClusterIP(svc)) return [];
  const prefix = envName(svc.metadata.name!);
  const ip: string = svc.spec.clusterIP;
  const ports = (svc.spec.ports ?? []) as { name?: string; port: number; protocol?: string }[];
  const out: [string, string][] = [[`${prefix}_SERVICE_HOST`, ip]];
  if (ports.length) {
    out.push([`${prefix}_SERVICE_PORT`, String(ports[0].port)]);
    for (const p of ports) if (p.name) out.push([`${prefix}_SERVICE_PORT_${envName(p.name)}`, String(p.port)]);
  }
  ports.forEach((p, i) => {
    const proto = (p.protocol ?? 'TCP').toLowerCase();
    const url = `${proto}://${ip}:${p.port}`;
    if (i === 0) out.push([`${prefix}_PORT`, url]);
    const pp = `${prefix}_PORT_${p.port}_${proto.toUpperCase()}`;
    out.push([pp, url], [`${pp}_PROTO`, proto], [`${pp}_PORT`, String(p.port)], [`${pp}_ADDR`, ip]);
  });
  return out;
}

/**
 * The environment for a pod in `ns` given the Services listed by `list(ns)` (namespace) and
 * `list('default')`. Services are taken in name order, so the result is deterministic.
 */
export function serviceEnvFor(ns: string, list: (ns: string) => KObject[], enableServiceLinks = true): Record<string, string> {
  const chosen = new Map<string, KObject>();
  if (enableServiceLinks) for (const s of list(ns)) if (hasClusterIP(s) && !s.metadata.deletionTimestamp) chosen.set(s.metadata.name!, s);
  if (!chosen.has('kubernetes')) {
    const k = list('default').find((s) => s.metadata.name === 'kubernetes' && hasClusterIP(s));
    if (k) chosen.set('kubernetes', k);
  }
  const env: Record<string, string> = {};
  for (const name of [...chosen.keys()].sort()) for (const [k, v] of serviceEnvVars(chosen.get(name)!)) env[k] = v;
  return env;
}
