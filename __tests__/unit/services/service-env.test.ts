import { envName, serviceEnvFor, serviceEnvVars } from '../../../src/network/dns/service-env';
import type { KObject } from '../../../src/api/types';

function svc(name: string, ns: string, spec: Record<string, unknown>): KObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { type: 'ClusterIP', ...spec } };
}

describe('service environment variables', () => {
  it('names variables as Kubernetes does, docker links included', () => {
    const s = svc('redis-primary', 'default', { clusterIP: '10.96.1.2', ports: [{ name: 'redis', port: 6379, protocol: 'TCP' }, { name: 'metrics', port: 9121, protocol: 'UDP' }] });
    expect(Object.fromEntries(serviceEnvVars(s))).toEqual({
      REDIS_PRIMARY_SERVICE_HOST: '10.96.1.2',
      REDIS_PRIMARY_SERVICE_PORT: '6379',
      REDIS_PRIMARY_SERVICE_PORT_REDIS: '6379',
      REDIS_PRIMARY_SERVICE_PORT_METRICS: '9121',
      REDIS_PRIMARY_PORT: 'tcp://10.96.1.2:6379',
      REDIS_PRIMARY_PORT_6379_TCP: 'tcp://10.96.1.2:6379',
      REDIS_PRIMARY_PORT_6379_TCP_PROTO: 'tcp',
      REDIS_PRIMARY_PORT_6379_TCP_PORT: '6379',
      REDIS_PRIMARY_PORT_6379_TCP_ADDR: '10.96.1.2',
      REDIS_PRIMARY_PORT_9121_UDP: 'udp://10.96.1.2:9121',
      REDIS_PRIMARY_PORT_9121_UDP_PROTO: 'udp',
      REDIS_PRIMARY_PORT_9121_UDP_PORT: '9121',
      REDIS_PRIMARY_PORT_9121_UDP_ADDR: '10.96.1.2',
    });
    expect(envName('a-b-c')).toBe('A_B_C');
  });

  it('skips headless and ExternalName Services; adds kubernetes from default; the namespace wins', () => {
    const all: Record<string, KObject[]> = {
      default: [svc('kubernetes', 'default', { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443 }] })],
      apps: [
        svc('db', 'apps', { clusterIP: 'None', ports: [{ port: 5432 }] }),
        svc('ext', 'apps', { type: 'ExternalName', externalName: 'example.com' }),
        svc('web', 'apps', { clusterIP: '10.96.3.4', ports: [{ port: 80 }] }),
      ],
    };
    const env = serviceEnvFor('apps', (ns) => all[ns] ?? []);
    expect(env.WEB_SERVICE_HOST).toBe('10.96.3.4');
    expect(env.KUBERNETES_SERVICE_HOST).toBe('10.96.0.1');
    expect(Object.keys(env).some((k) => k.startsWith('DB_') || k.startsWith('EXT_'))).toBe(false);
    const noLinks = serviceEnvFor('apps', (ns) => all[ns] ?? [], false);
    expect(Object.keys(noLinks).every((k) => k.startsWith('KUBERNETES_'))).toBe(true);
    all.apps.push(svc('kubernetes', 'apps', { clusterIP: '10.96.9.9', ports: [{ port: 1 }] }));
    expect(serviceEnvFor('apps', (ns) => all[ns] ?? []).KUBERNETES_SERVICE_HOST).toBe('10.96.9.9');
  });
});
