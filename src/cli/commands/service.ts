/**
 * `minictl service NAME [-n NS] [--url]`: how to reach a Service from this machine. NodePort and
 * LoadBalancer Services are served on 127.0.0.1 by the daemon; ClusterIP Services are not
 * reachable from the host (use `kubectl port-forward`). Without `--url` the first URL is opened
 * in a browser when a display is available (xdg-open / open), else printed.
 *
 * Also the network lines of `minictl status` (from the daemon's network.json).
 */
import { spawn } from 'node:child_process';
import type { KObject } from '../../api/types';
import { readNetworkStatus, type NetworkStatus } from '../../network/proxy/service-network';
import { ApiError } from '../../util/errors';
import { CliError, clientFor, resolveProfile, type CliIO, type ProfileOpts } from '../io';

export interface ServiceOpts extends ProfileOpts {
  namespace?: string;
  url?: boolean;
  /** seconds to wait for a ready endpoint (default 0: do not wait) */
  wait?: string;
}

interface PortSpec {
  name?: string;
  port: number;
  protocol?: string;
  nodePort?: number;
  appProtocol?: string;
}

function scheme(p: PortSpec): string {
  if (p.protocol === 'UDP') return 'udp';
  if (p.appProtocol === 'https' || p.port === 443 || p.name === 'https') return 'https';
  return 'http';
}

/** URLs of a Service on the host: LoadBalancer ports, then node ports. */
export function serviceUrls(svc: KObject, host = '127.0.0.1'): { url: string; port: PortSpec; via: 'loadbalancer' | 'nodeport' }[] {
  const spec = svc.spec ?? {};
  const out: { url: string; port: PortSpec; via: 'loadbalancer' | 'nodeport' }[] = [];
  const ports = (spec.ports ?? []) as PortSpec[];
  if (spec.type === 'LoadBalancer') {
    const ip = svc.status?.loadBalancer?.ingress?.[0]?.ip ?? host;
    for (const p of ports) {
      const failed = ((svc.status?.loadBalancer?.ingress?.[0]?.ports ?? []) as { port: number; error?: string }[]).some((x) => x.port === p.port && x.error);
      if (!failed) out.push({ url: `${scheme(p)}://${ip}:${p.port}`, port: p, via: 'loadbalancer' });
    }
  }
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
    for (const p of ports) if (p.nodePort) out.push({ url: `${scheme(p)}://${host}:${p.nodePort}`, port: p, via: 'nodeport' });
  }
  return out;
}

function hasDisplay(env: NodeJS.ProcessEnv): boolean {
  if (process.platform === 'darwin' || process.platform === 'win32') return true;
  return !!(env.DISPLAY || env.WAYLAND_DISPLAY);
}

function openUrl(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'cmd' : 'xdg-open';
  const args = process.platform === 'win32' ? ['/c', 'start', '', url] : [url];
  const child = spawn(cmd, args, { detached: true, stdio: 'ignore' });
  child.on('error', () => undefined);
  child.unref();
}

export async function serviceCommand(name: string, o: ServiceOpts, io: CliIO): Promise<number> {
  const { profile, paths } = resolveProfile(o, io.env);
  const ns = o.namespace ?? 'default';
  const c = clientFor(profile, paths);
  try {
    let svc: KObject;
    try {
      svc = await c.request<KObject>('GET', `/api/v1/namespaces/${encodeURIComponent(ns)}/services/${encodeURIComponent(name)}`);
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) throw new CliError(`service "${name}" not found in namespace "${ns}"`);
      throw e;
    }
    const type = svc.spec?.type ?? 'ClusterIP';
    const urls = serviceUrls(svc);
    if (!urls.length) {
      const port = (svc.spec?.ports?.[0] as PortSpec | undefined)?.port;
      const hint = type === 'ExternalName' ? `it is an alias for ${svc.spec.externalName}` : `it has type ${type}, which is reachable only inside the cluster (${svc.spec?.clusterIP === 'None' ? 'headless' : svc.spec?.clusterIP}${port ? ':' + port : ''}).\nReach it from this machine with:  kubectl port-forward -n ${ns} svc/${name} 8080:${port ?? 80}\nor make it reachable on 127.0.0.1 with:  kubectl patch svc ${name} -n ${ns} -p '{"spec":{"type":"NodePort"}}'`;
      io.stderr.write(`service "${ns}/${name}" has no URL on the host: ${hint}\n`);
      return 1;
    }
    const waitS = Number(o.wait ?? 0);
    if (waitS > 0) {
      const until = Date.now() + waitS * 1000;
      for (;;) {
        const slices = await c.request<{ items: KObject[] }>('GET', `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(ns)}/endpointslices?labelSelector=${encodeURIComponent('kubernetes.io/service-name=' + name)}`);
        const ready = slices.items.some((s) => (s.endpoints ?? []).some((e: { conditions?: { ready?: boolean } }) => e.conditions?.ready !== false));
        if (ready) break;
        if (Date.now() > until) {
          io.stderr.write(`warning: service "${ns}/${name}" has no ready endpoint after ${waitS}s\n`);
          break;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    if (o.url || !hasDisplay(io.env)) {
      for (const u of urls) io.stdout.write(u.url + '\n');
      return 0;
    }
    io.stdout.write(`Opening service ${ns}/${name} in the default browser: ${urls[0].url}\n`);
    openUrl(urls[0].url);
    return 0;
  } finally {
    c.close();
  }
}

/** The lines `minictl status` prints about Services networking (empty when unknown). */
export function networkStatusLines(dataDir: string): { lines: [string, string][]; status?: NetworkStatus } {
  const s = readNetworkStatus(dataDir);
  if (!s) return { lines: [] };
  const lines: [string, string][] = [];
  if (s.proxy.status === 'ok') lines.push(['services', `ClusterIPs reachable from pods (${s.proxy.mode} rules, range ${s.serviceCidr})`]);
  else lines.push(['services', `DEGRADED, ClusterIPs are not reachable from pods: ${s.proxy.reason ?? 'the service proxy is off'}`]);
  if (s.dns.listen) {
    const host = s.dns.listen.replace(/^0\.0\.0\.0:/, '127.0.0.1:');
    lines.push(['dns', s.dns.reachableFromPods ? `${s.dns.serviceIP} for pods; on this host: ${host}` : `DEGRADED, ${s.dns.reason ?? 'not reachable from pods'}; on this host: ${host}`]);
  } else lines.push(['dns', `DEGRADED, cluster DNS is not running${s.dns.reason ? ': ' + s.dns.reason : ''}`]);
  if (s.ingress) {
    const addrs = [s.ingress.http && `http://${s.ingress.http}`, s.ingress.https && `https://${s.ingress.https}`].filter(Boolean).join(', ');
    lines.push(['ingress', `${addrs}${s.ingress.notes.length ? ` (${s.ingress.notes.join('; ')})` : ''}`]);
  }
  for (const f of s.hostPorts.failed) lines.push(['host port', `DEGRADED, ${f.service} ${f.protocol.toLowerCase()}/${f.port}: ${f.error}`]);
  return { lines, status: s };
}
