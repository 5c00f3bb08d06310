import { check } from '../api/helpers';

function sts(mountName: string) {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'default' },
    spec: {
      serviceName: 'db',
      selector: { matchLabels: { app: 'db' } },
      template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: mountName, mountPath: '/data' }] }] } },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
    },
  };
}

test('StatefulSet containers may mount their volumeClaimTemplates', () => {
  expect(check(sts('data'))).toEqual([]);
});

test('a mount naming neither a volume nor a claim template is still refused', () => {
  expect(check(sts('other')).map((e) => `${e.field}: ${e.type}`)).toEqual(['spec.template.spec.containers[0].volumeMounts[0].name: FieldValueNotFound']);
});
