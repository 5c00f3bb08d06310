/**
 * The DnsCatalog over the shared informers: Services, Namespaces, Pods (to tell which namespace a
 * client address belongs to) and the EndpointsView. Indexes are maintained by informer handlers,
 * so lookups are map reads.
 */
import type { KObject } from '../../api/types';
import type { Informer } from '../../client/informer';
import type { EndpointAddressInfo, EndpointsView } from '../proxy/endpoints-view';
import type { DnsCatalog } from './resolver';

export class InformerDnsCatalog implements DnsCatalog {
  private readonly podNsByIp = new Map<string, { ns: string; key: string }>();
  private readonly svcByIp = new Map<string, { ns: string; name: string }>();

  constructor(
    private readonly services: Informer,
    private readonly namespaces: Informer,
    pods: Informer,
    private readonly endpoints: EndpointsView,
  ) {
    pods.addHandlers({
      onAdd: (p) => this.indexPod(undefined, p),
      onUpdate: (o, p) => this.indexPod(o, p),
      onDelete: (p) => this.unindexPod(p),
    });
    services.addHandlers({
      onAdd: (s) => this.indexSvc(undefined, s),
      onUpdate: (o, s) => this.indexSvc(o, s),
      onDelete: (s) => this.unindexSvc(s),
    });
  }

  private podKey(p: KObject): string {
    return `${p.metadata.namespace}/${p.metadata.name}`;
  }

  private indexPod(old: KObject | undefined, p: KObject): void {
    if (old) this.unindexPod(old);
    const ip = p.status?.podIP;
    if (typeof ip === 'string' && ip && !p.spec?.hostNetwork) this.podNsByIp.set(ip, { ns: p.metadata.namespace!, key: this.podKey(p) });
  }

  private unindexPod(p: KObject): void {
    const ip = p.status?.podIP;
    if (typeof ip === 'string' && this.podNsByIp.get(ip)?.key === this.podKey(p)) this.podNsByIp.delete(ip);
  }

  private indexSvc(old: KObject | undefined, s: KObject): void {
    if (old) this.unindexSvc(old);
    const ip = s.spec?.clusterIP;
    if (typeof ip === 'string' && ip && ip !== 'None') this.svcByIp.set(ip, { ns: s.metadata.namespace!, name: s.metadata.name! });
  }

  private unindexSvc(s: KObject): void {
    const ip = s.spec?.clusterIP;
    const cur = typeof ip === 'string' ? this.svcByIp.get(ip) : undefined;
    if (cur && cur.ns === s.metadata.namespace && cur.name === s.metadata.name) this.svcByIp.delete(ip);
  }

  service(ns: string, name: string): KObject | undefined {
    const s = this.services.get(ns, name);
    return s && !s.metadata.deletionTimestamp ? s : undefined;
  }

  namespaceExists(ns: string): boolean {
    return !!this.namespaces.get(undefined, ns);
  }

  addresses(ns: string, service: string): EndpointAddressInfo[] {
    return this.endpoints.addresses(ns, service);
  }

  namespaceOfIP(ip: string): string | undefined {
    return this.podNsByIp.get(ip)?.ns;
  }

  serviceByClusterIP(ip: string): KObject | undefined {
    const k = this.svcByIp.get(ip);
    return k ? this.service(k.ns, k.name) : undefined;
  }

  endpointByIP(ip: string): { ns: string; service: string; hostname?: string } | undefined {
    for (const key of this.endpoints.services()) {
      const i = key.indexOf('/');
      const ns = key.slice(0, i);
      const service = key.slice(i + 1);
      if (this.services.get(ns, service)?.spec?.clusterIP !== 'None') continue;
      const a = this.endpoints.addresses(ns, service).find((x) => x.ip === ip && x.ready);
      if (a) return { ns, service, hostname: a.hostname };
    }
    return undefined;
  }
}
