/**
 * Endpoint choice for the userspace proxies (host listeners, ingress): round-robin over the
 * usable endpoints of a Service port, with ClientIP session affinity when the Service asks for
 * it (a client keeps its endpoint while it is still usable and was used within the timeout).
 * Pure state machine over an injected clock; not shared between processes.
 */
export interface Pickable {
  ip: string;
  port: number;
}

export class Balancer {
  private readonly next = new Map<string, number>();
  private readonly affinity = new Map<string, { ep: string; at: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Picks an endpoint for `key` (a Service port); `affinitySeconds` enables ClientIP affinity for
   * `clientIp`. `exclude` holds `ip:port`s that just failed. Undefined when none is left.
   */
  pick<T extends Pickable>(key: string, endpoints: T[], clientIp?: string, affinitySeconds?: number, exclude: Set<string> = new Set()): T | undefined {
    const eps = endpoints.filter((e) => !exclude.has(`${e.ip}:${e.port}`));
    if (!eps.length) return undefined;
    const t = this.now();
    if (affinitySeconds && clientIp) {
      const ak = `${key}|${clientIp}`;
      const a = this.affinity.get(ak);
      if (a && t - a.at <= affinitySeconds * 1000) {
        const hit = eps.find((e) => `${e.ip}:${e.port}` === a.ep);
        if (hit) {
          a.at = t;
          return hit;
        }
      }
    }
    const i = (this.next.get(key) ?? 0) % eps.length;
    this.next.set(key, i + 1);
    const ep = eps[i];
    if (affinitySeconds && clientIp) {
      this.affinity.set(`${key}|${clientIp}`, { ep: `${ep.ip}:${ep.port}`, at: t });
      if (this.affinity.size > 10_000) this.gc(t, affinitySeconds);
    }
    return ep;
  }

  private gc(t: number, seconds: number): void {
    for (const [k, v] of this.affinity) if (t - v.at > seconds * 1000) this.affinity.delete(k);
  }
}
