import { validateObject, labelSelectorMatches } from '../../../src/api/validation';
import type { KObject } from '../../../src/api/types';
import {
  isConfigMapKey,
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isEnvVarName,
  isQualifiedName,
  isValidCIDR,
  isValidIP,
  isValidLabelValue,
  isValidPercent,
  isValidPortName,
  regexError,
} from '../../../src/api/validation/names';
import { Any, allValid, check, configMap, expectError, expectValid, namespace, node, pod, service, withField } from './helpers';

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

describe('name checkers', () => {
  test('regexError formats like Kubernetes', () => {
    expect(regexError('m', 'f')).toBe("m (regex used for validation is 'f')");
    expect(regexError('m', 'f', 'a', 'b')).toBe("m (e.g. 'a',  or 'b', regex used for validation is 'f')");
  });

  test.each<[string, (s: string) => string[], string, boolean]>([
    ['subdomain', isDNS1123Subdomain, 'example.com', true],
    ['subdomain', isDNS1123Subdomain, 'a', true],
    ['subdomain', isDNS1123Subdomain, 'Foo_bar', false],
    ['subdomain', isDNS1123Subdomain, '-a', false],
    ['subdomain', isDNS1123Subdomain, 'a.', false],
    ['subdomain', isDNS1123Subdomain, 'a'.repeat(254), false],
    ['subdomain', isDNS1123Subdomain, 'a'.repeat(253), true],
    ['label', isDNS1123Label, 'my-name', true],
    ['label', isDNS1123Label, '123-abc', true],
    ['label', isDNS1123Label, 'a.b', false],
    ['label', isDNS1123Label, 'a'.repeat(64), false],
    ['dns1035', isDNS1035Label, 'abc-123', true],
    ['dns1035', isDNS1035Label, '1abc', false],
    ['qualified', isQualifiedName, 'app', true],
    ['qualified', isQualifiedName, 'app.kubernetes.io/name', true],
    ['qualified', isQualifiedName, 'My_Key.x', true],
    ['qualified', isQualifiedName, '/x', false],
    ['qualified', isQualifiedName, 'a/b/c', false],
    ['qualified', isQualifiedName, 'Bad_Prefix/x', false],
    ['qualified', isQualifiedName, 'x/', false],
    ['qualified', isQualifiedName, '-x', false],
    ['qualified', isQualifiedName, 'x'.repeat(64), false],
    ['label value', isValidLabelValue, '', true],
    ['label value', isValidLabelValue, 'v1.2_3-x', true],
    ['label value', isValidLabelValue, 'a b', false],
    ['label value', isValidLabelValue, 'x'.repeat(64), false],
    ['config key', isConfigMapKey, 'app.conf', true],
    ['config key', isConfigMapKey, 'KEY_NAME', true],
    ['config key', isConfigMapKey, 'a/b', false],
    ['config key', isConfigMapKey, '..', false],
    ['config key', isConfigMapKey, '..x', false],
    ['env', isEnvVarName, 'MY_ENV.NAME', true],
    ['env', isEnvVarName, '1ABC', false],
    ['env', isEnvVarName, 'A=B', false],
    ['port name', isValidPortName, 'http', true],
    ['port name', isValidPortName, 'http-alt2', true],
    ['port name', isValidPortName, 'HTTP', false],
    ['port name', isValidPortName, 'a--b', false],
    ['port name', isValidPortName, '8080', false],
    ['port name', isValidPortName, 'abcdefghijklmnop', false],
    ['port name', isValidPortName, '-ab', false],
    ['ip', isValidIP, '10.0.0.1', true],
    ['ip', isValidIP, '2001:db8::1', true],
    ['ip', isValidIP, '::1', true],
    ['ip', isValidIP, '::ffff:10.0.0.1', true],
    ['ip', isValidIP, '256.0.0.1', false],
    ['ip', isValidIP, '10.0.0', false],
    ['ip', isValidIP, '1::2::3', false],
    ['ip', isValidIP, 'localhost', false],
    ['cidr', isValidCIDR, '10.244.0.0/24', true],
    ['cidr', isValidCIDR, 'fd00::/64', true],
    ['cidr', isValidCIDR, '10.0.0.0/33', false],
    ['cidr', isValidCIDR, '10.0.0.0', false],
    ['percent', isValidPercent, '25%', true],
    ['percent', isValidPercent, '25', false],
    ['percent', isValidPercent, '-5%', false],
  ])('%s %p valid=%p', (_k, fn, v, ok) => {
    expect(fn(v).length === 0).toBe(ok);
  });
});

describe('metadata', () => {
  test.each(allValid().map((o) => [o.kind, o] as const))('valid %s passes', (_k, o) => {
    expectValid(check(o));
  });

  test('name required', () => {
    expectError(check(withField(pod(), 'metadata.name', undefined)), 'metadata.name', 'Required value: name or generateName is required', 'FieldValueRequired');
  });

  test('generateName without name is accepted', () => {
    const p = withField(withField(pod(), 'metadata.name', undefined), 'metadata.generateName', 'web-');
    expectValid(check(p));
  });

  test('missing metadata entirely', () => {
    const p = pod();
    delete p.metadata;
    expectError(check(p), 'metadata.name', /^Required value/);
  });

  test.each<[string, Any, string, string]>([
    ['pod subdomain', withField(pod(), 'metadata.name', 'Foo_bar'), 'metadata.name', `Invalid value: "Foo_bar": ${SUBDOMAIN_MSG}`],
    ['pod dotted name ok', withField(pod(), 'metadata.name', 'web.v1'), '', ''],
    ['namespace label', withField(namespace(), 'metadata.name', 'a.b'), 'metadata.name', `Invalid value: "a.b": ${LABEL_MSG}`],
    ['service starts with letter', withField(service(), 'metadata.name', '1web'), 'metadata.name', `Invalid value: "1web": ${DNS1035_MSG}`],
    ['service too long', withField(service(), 'metadata.name', 'a'.repeat(64)), 'metadata.name', `Invalid value: "${'a'.repeat(64)}": must be no more than 63 characters`],
    ['node subdomain', withField(node(), 'metadata.name', 'node_1'), 'metadata.name', `Invalid value: "node_1": ${SUBDOMAIN_MSG}`],
    ['subdomain too long', withField(configMap(), 'metadata.name', 'a'.repeat(254)), 'metadata.name', `Invalid value: "${'a'.repeat(254)}": must be no more than 253 characters`],
  ])('%s', (_d, obj, field, msg) => {
    const errs = check(obj);
    if (!field) expectValid(errs);
    else expectError(errs, field, msg, 'FieldValueInvalid');
  });

  test('namespaced kinds need a namespace; cluster kinds refuse one', () => {
    expectError(check(withField(pod(), 'metadata.namespace', undefined)), 'metadata.namespace', 'Required value');
    expectError(check(withField(node(), 'metadata.namespace', 'default')), 'metadata.namespace', 'Forbidden: not allowed on this type');
    expectError(check(withField(pod(), 'metadata.namespace', 'Bad_NS')), 'metadata.namespace', /RFC 1123 label/);
  });

  test.each<[string, unknown, string]>([
    ['bad key', { 'a b': 'x' }, 'Invalid value: "a b": name part must consist of alphanumeric'],
    ['bad prefix', { 'Foo_/x': 'x' }, 'Invalid value: "Foo_/x": prefix part a lowercase RFC 1123 subdomain'],
    ['empty name part', { 'example.com/': 'x' }, 'Invalid value: "example.com/": name part must be non-empty'],
    ['bad value', { app: 'a b' }, 'Invalid value: "a b": a valid label must be an empty string'],
    ['long value', { app: 'x'.repeat(64) }, `Invalid value: "${'x'.repeat(64)}": must be no more than 63 characters`],
  ])('labels: %s', (_d, labels, msgStart) => {
    const errs = check(withField(pod(), 'metadata.labels', labels));
    expectError(errs, 'metadata.labels', new RegExp('^' + msgStart.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  });

  test('labels: all errors reported, not just the first', () => {
    const errs = check(withField(pod(), 'metadata.labels', { 'a b': 'c d', 'e f': 'ok' }));
    expect(errs.filter((e) => e.field === 'metadata.labels').length).toBe(3);
  });

  test('labels: non-string value', () => {
    expectError(check(withField(pod(), 'metadata.labels', { app: 5 })), 'metadata.labels[app]', 'Invalid value: 5: must be of type string', 'FieldValueTypeInvalid');
  });

  test('annotations: key syntax (case-insensitive) and total size', () => {
    expectValid(check(withField(pod(), 'metadata.annotations', { 'Example.COM/Key': 'any value with spaces' })));
    expectError(check(withField(pod(), 'metadata.annotations', { 'a b': 'x' })), 'metadata.annotations', /name part must consist/);
    expectError(check(withField(pod(), 'metadata.annotations', { big: 'x'.repeat(256 * 1024) })), 'metadata.annotations', 'Too long: may not be more than 262144 bytes', 'FieldValueTooLong');
    expectValid(check(withField(pod(), 'metadata.annotations', { big: 'x'.repeat(256 * 1024 - 3) })));
  });

  test('ownerReferences', () => {
    const ref = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u1', controller: true };
    expectValid(check(withField(pod(), 'metadata.ownerReferences', [ref])));
    const errs = check(withField(pod(), 'metadata.ownerReferences', [{ kind: 'ReplicaSet' }]));
    expectError(errs, 'metadata.ownerReferences.apiVersion', 'Invalid value: "": version must not be empty');
    expectError(errs, 'metadata.ownerReferences.name', 'Invalid value: "": name must not be empty');
    expectError(errs, 'metadata.ownerReferences.uid', 'Invalid value: "": uid must not be empty');
    expectError(check(withField(pod(), 'metadata.ownerReferences', [ref, { ...ref, uid: 'u2' }])), 'metadata.ownerReferences', /Only one reference can have Controller set to true/);
  });

  test('finalizers must be qualified names', () => {
    expectValid(check(withField(pod(), 'metadata.finalizers', ['example.com/cleanup'])));
    expectError(check(withField(pod(), 'metadata.finalizers', ['bad finalizer'])), 'metadata.finalizers[0]', /name part must consist/);
  });

  test.each(['name', 'namespace', 'uid'])('update: metadata.%s is immutable', (f) => {
    const old = pod();
    const errs = check(withField(old, `metadata.${f}`, 'changed'), old);
    expectError(errs, `metadata.${f}`, 'Invalid value: "changed": field is immutable', 'FieldValueInvalid');
  });

  test('update: labels and annotations may change', () => {
    const old = pod();
    expectValid(check(withField(withField(old, 'metadata.labels', { a: 'b' }), 'metadata.annotations', { x: 'y' }), old));
  });

  test('validateObject does not mutate its input', () => {
    const p = pod();
    const copy = JSON.parse(JSON.stringify(p));
    validateObject(p as KObject);
    expect(p).toEqual(copy);
  });
});

describe('labelSelectorMatches', () => {
  test.each<[unknown, unknown, boolean]>([
    [{ matchLabels: { app: 'web' } }, { app: 'web', tier: 'fe' }, true],
    [{ matchLabels: { app: 'web' } }, { app: 'db' }, false],
    [{}, { any: 'thing' }, true],
    [{ matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'dev'] }] }, { env: 'dev' }, true],
    [{ matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] }, { env: 'dev' }, false],
    [{ matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }, {}, true],
    [{ matchExpressions: [{ key: 'env', operator: 'Exists' }] }, { env: '' }, true],
    [{ matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] }, { env: 'x' }, false],
    [{ matchExpressions: [{ key: 'env', operator: 'Bogus' }] }, { env: 'x' }, false],
    [{ matchLabels: 'junk' }, { a: 'b' }, false],
    [null, {}, false],
    [{ matchLabels: { a: 'b' } }, null, false],
  ])('%j matches %j = %p', (sel, labels, expected) => {
    expect(labelSelectorMatches(sel, labels)).toBe(expected);
  });
});
