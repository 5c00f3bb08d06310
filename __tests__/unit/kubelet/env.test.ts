import {
  ContainerConfigError,
  expand,
  expandCommandAndArgs,
  formatMap,
  makeEnvironment,
  mappingFuncFor,
  podFieldValue,
  resourceFieldValue,
  type EnvSources,
} from '../../../src/kubelet/env';
import type { KObject } from '../../../src/api/types';

describe('expand ($(VAR) syntax)', () => {
  const vars = { VAR_A: 'A', VAR_B: 'B', VAR_C: 'C', VAR_REF: '$(VAR_A)', VAR_EMPTY: '' };
  const mapping = mappingFuncFor(vars);
  test.each([
    ['whole string', '$(VAR_A)', 'A'],
    ['repeat', '$(VAR_A)-$(VAR_A)', 'A-A'],
    ['beginning', '$(VAR_B)-1', 'B-1'],
    ['middle', '___$(VAR_B)___', '___B___'],
    ['end', '___$(VAR_C)', '___C'],
    ['compound', '$(VAR_A)_$(VAR_B)_$(VAR_C)', 'A_B_C'],
    ['escaped', '$$(VAR_B)_$(VAR_A)', '$(VAR_B)_A'],
    ['value is a reference (not re-expanded)', '$(VAR_REF)', '$(VAR_A)'],
    ['empty value', '--$(VAR_EMPTY)--', '----'],
    ['undefined stays', '$(VAR_DNE)', '$(VAR_DNE)'],
    ['unterminated', '$(VAR_A', '$(VAR_A'],
    ['empty name (undefined, kept)', '$()', '$()'],
    ['lone $', 'a$', 'a$'],
    ['$ before other char', '$a$b', '$a$b'],
    ['escaped escape', '$$$$', '$$'],
    ['escape then var', '$$$(VAR_A)', '$A'],
    ['no refs', 'plain', 'plain'],
    // The name runs to the first `)`: `VAR_A$(VAR_B` is undefined and kept, then the last `)`.
    ['nested-looking', '$(VAR_A$(VAR_B))', '$(VAR_A$(VAR_B))'],
  ])('%s: %s', (_name, input, want) => {
    expect(expand(input, mapping)).toBe(want);
  });

  test('mappingFuncFor consults contexts in order', () => {
    const m = mappingFuncFor(new Map([['X', 'first']]), { X: 'second', Y: 'y' });
    expect(m('X')).toBe('first');
    expect(m('Y')).toBe('y');
    expect(m('Z')).toBe('$(Z)');
  });

  test('command and args expand against the final environment', () => {
    const r = expandCommandAndArgs({ command: ['echo', '$(A)'], args: ['$(B)', '$$(A)', '$(NOPE)'] }, [
      { name: 'A', value: 'a' },
      { name: 'B', value: 'b' },
    ]);
    expect(r).toEqual({ command: ['echo', 'a'], args: ['b', '$(A)', '$(NOPE)'] });
  });
});

const pod: KObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'ns1', uid: 'u-1', labels: { app: 'web', tier: 'a"b' }, annotations: { note: 'x\ny' } },
  spec: {
    nodeName: 'node-1',
    serviceAccountName: 'sa',
    containers: [{ name: 'app', resources: { limits: { cpu: '500m', memory: '64Mi' }, requests: { cpu: '250m', memory: '32Mi' } } }, { name: 'nolimits' }],
  },
};
const ctx = { podIP: '10.244.1.5', hostIP: '127.0.0.1', nodeAllocatable: { cpu: 4, memory: 8 * 1024 ** 3 } };

describe('fieldRef and resourceFieldRef values', () => {
  test.each([
    ['metadata.name', 'web'],
    ['metadata.namespace', 'ns1'],
    ['metadata.uid', 'u-1'],
    ["metadata.labels['app']", 'web'],
    ["metadata.labels['missing']", ''],
    ["metadata.annotations['note']", 'x\ny'],
    ['metadata.labels', 'app="web"\ntier="a\\"b"'],
    ['metadata.annotations', 'note="x\\ny"'],
    ['spec.nodeName', 'node-1'],
    ['spec.serviceAccountName', 'sa'],
    ['status.podIP', '10.244.1.5'],
    ['status.podIPs', '10.244.1.5'],
    ['status.hostIP', '127.0.0.1'],
    ['status.hostIPs', '127.0.0.1'],
  ])('%s', (fp, want) => {
    expect(podFieldValue(pod, fp, ctx)).toBe(want);
  });

  test('an unsupported fieldPath is a config error', () => {
    expect(() => podFieldValue(pod, 'spec.bogus', ctx)).toThrow(ContainerConfigError);
  });

  test.each([
    ['app', 'limits.cpu', undefined, '1'],
    ['app', 'limits.cpu', '1m', '500'],
    ['app', 'requests.cpu', '100m', '3'],
    ['app', 'limits.memory', undefined, String(64 * 1024 * 1024)],
    ['app', 'limits.memory', '1Mi', '64'],
    ['app', 'requests.memory', '1Mi', '32'],
    ['nolimits', 'limits.cpu', undefined, '4'],
    ['nolimits', 'limits.memory', '1Gi', '8'],
    ['nolimits', 'requests.memory', undefined, '0'],
  ])('%s %s divisor %s', (c, res, div, want) => {
    expect(resourceFieldValue(pod, c, res, div, ctx)).toBe(want);
  });

  test('formatMap sorts keys and quotes values', () => {
    expect(formatMap({ b: '2', a: 'x\ty' })).toBe('a="x\\ty"\nb="2"');
  });
});

describe('makeEnvironment', () => {
  const configMaps: Record<string, KObject> = {
    cfg: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { color: 'blue', size: 'L', 'bad=key': 'x', 'dotted.key': 'ok' } },
  };
  const secrets: Record<string, KObject> = {
    sec: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec' }, data: { password: Buffer.from('s3cret').toString('base64') } },
  };
  const sources = (serviceEnv?: Record<string, string>): EnvSources => ({
    configMap: (_ns, n) => configMaps[n],
    secret: (_ns, n) => secrets[n],
    serviceEnv,
  });
  const env = (container: Record<string, unknown>, serviceEnv?: Record<string, string>) => {
    const r = makeEnvironment(pod, { name: 'app', ...container }, ctx, sources(serviceEnv));
    return { map: Object.fromEntries(r.env.map((e) => [e.name, e.value])), names: r.env.map((e) => e.name), warnings: r.warnings };
  };

  test('envFrom (with prefix), then env, then service variables', () => {
    const r = env(
      {
        envFrom: [{ configMapRef: { name: 'cfg' } }, { prefix: 'S_', secretRef: { name: 'sec' } }],
        env: [
          { name: 'color', value: 'red' },
          { name: 'GREETING', value: 'hi $(color) $(S_password) $(SVC_HOST) $(LATER)' },
          { name: 'LATER', value: 'later' },
        ],
      },
      { SVC_HOST: '10.96.0.1', color: 'from-service' },
    );
    expect(r.map).toMatchObject({ color: 'red', size: 'L', 'dotted.key': 'ok', S_password: 's3cret', GREETING: 'hi red s3cret 10.96.0.1 $(LATER)', LATER: 'later', SVC_HOST: '10.96.0.1' });
    expect(r.names.indexOf('color')).toBe(0); // redefinition keeps its first position
    expect(r.names[r.names.length - 1]).toBe('SVC_HOST');
    expect(r.warnings).toEqual(['Keys [bad=key] from the EnvFrom configMap ns1/cfg were skipped since they are considered invalid environment variable names.']);
  });

  test('valueFrom: fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef', () => {
    const r = env({
      env: [
        { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
        { name: 'C', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'color' } } },
        { name: 'P', valueFrom: { secretKeyRef: { name: 'sec', key: 'password' } } },
        { name: 'EMPTY', value: '' },
      ],
    });
    expect(r.map).toEqual({ POD: 'web', IP: '10.244.1.5', MEM: '64', C: 'blue', P: 's3cret', EMPTY: '' });
  });

  test.each([
    ['missing configMap', { env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }] }, 'configmap "nope" not found'],
    ['missing configMap key', { env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'k' } } }] }, "couldn't find key k in ConfigMap ns1/cfg"],
    ['missing secret', { env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'nope', key: 'k' } } }] }, 'secret "nope" not found'],
    ['missing secret key', { env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'sec', key: 'k' } } }] }, "couldn't find key k in Secret ns1/sec"],
    ['missing envFrom configMap', { envFrom: [{ configMapRef: { name: 'nope' } }] }, 'configmap "nope" not found'],
    ['missing envFrom secret', { envFrom: [{ secretRef: { name: 'nope' } }] }, 'secret "nope" not found'],
  ])('%s is a CreateContainerConfigError', (_n, container, message) => {
    let err: unknown;
    try {
      env(container);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ContainerConfigError);
    expect((err as ContainerConfigError).message).toBe(message);
    expect((err as ContainerConfigError).reason).toBe('CreateContainerConfigError');
  });

  test('optional references that are missing are skipped', () => {
    const r = env({
      envFrom: [{ configMapRef: { name: 'nope', optional: true } }, { secretRef: { name: 'nope', optional: true } }],
      env: [
        { name: 'A', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k', optional: true } } },
        { name: 'B', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'k', optional: true } } },
        { name: 'C', valueFrom: { secretKeyRef: { name: 'sec', key: 'k', optional: true } } },
      ],
    });
    expect(r.map).toEqual({});
  });
});
