import { KINDS, MESSAGES, type FieldDef } from '../../../src/api/protobuf/schema';
import { messageForKind } from '../../../src/api/protobuf';
import { hasMessage } from '../../../src/api/protobuf/decoder';

function field(msgKey: string, json: string): FieldDef | undefined {
  return MESSAGES[msgKey]?.find((f) => f[1] === json);
}

describe('protobuf schema table', () => {
  test('every kind maps to a message of the table', () => {
    for (const [k, key] of Object.entries(KINDS)) {
      expect([k, hasMessage(key)]).toEqual([k, true]);
      expect(field(key, 'metadata')?.[0]).toBe(1);
    }
    expect(messageForKind('apps/v1', 'DeleteOptions')).toBe('meta.v1.DeleteOptions');
    expect(messageForKind('v1', 'Nope')).toBeUndefined();
  });

  test('field numbers are unique per message', () => {
    for (const [key, fields] of Object.entries(MESSAGES)) {
      const nums = fields.map((f) => f[0]);
      expect([key, new Set(nums).size]).toEqual([key, nums.length]);
    }
  });

  // Well-known numbers, checked independently of the table's source.
  test.each([
    ['meta.v1.ObjectMeta', 'name', 1],
    ['meta.v1.ObjectMeta', 'namespace', 3],
    ['meta.v1.ObjectMeta', 'uid', 5],
    ['meta.v1.ObjectMeta', 'resourceVersion', 6],
    ['meta.v1.ObjectMeta', 'creationTimestamp', 8],
    ['meta.v1.ObjectMeta', 'labels', 11],
    ['meta.v1.ObjectMeta', 'annotations', 12],
    ['meta.v1.ObjectMeta', 'ownerReferences', 13],
    ['meta.v1.ObjectMeta', 'finalizers', 14],
    ['meta.v1.ObjectMeta', 'managedFields', 17],
    ['meta.v1.OwnerReference', 'kind', 1],
    ['meta.v1.OwnerReference', 'apiVersion', 5],
    ['meta.v1.LabelSelector', 'matchLabels', 1],
    ['meta.v1.DeleteOptions', 'propagationPolicy', 4],
    ['meta.v1.DeleteOptions', 'dryRun', 5],
    ['core.v1.PodSpec', 'volumes', 1],
    ['core.v1.PodSpec', 'containers', 2],
    ['core.v1.PodSpec', 'restartPolicy', 3],
    ['core.v1.PodSpec', 'nodeName', 10],
    ['core.v1.PodSpec', 'initContainers', 20],
    ['core.v1.PodSpec', 'tolerations', 22],
    ['core.v1.Container', 'image', 2],
    ['core.v1.Container', 'env', 7],
    ['core.v1.Container', 'resources', 8],
    ['core.v1.Container', 'envFrom', 19],
    ['core.v1.ServiceSpec', 'ports', 1],
    ['core.v1.ServiceSpec', 'selector', 2],
    ['core.v1.ServiceSpec', 'clusterIP', 3],
    ['core.v1.ServiceSpec', 'type', 4],
    ['core.v1.ServicePort', 'port', 3],
    ['core.v1.ServicePort', 'targetPort', 4],
    ['core.v1.ServicePort', 'nodePort', 5],
    ['core.v1.Secret', 'data', 2],
    ['core.v1.Secret', 'type', 3],
    ['core.v1.Secret', 'stringData', 4],
    ['core.v1.ConfigMap', 'binaryData', 3],
    ['apps.v1.DeploymentSpec', 'replicas', 1],
    ['apps.v1.DeploymentSpec', 'template', 3],
    ['apps.v1.DeploymentSpec', 'strategy', 4],
    ['batch.v1.JobSpec', 'template', 6],
    ['batch.v1.CronJobSpec', 'jobTemplate', 5],
    ['policy.v1.Eviction', 'deleteOptions', 2],
  ])('%s.%s = %d', (msgKey, json, num) => {
    expect(field(msgKey, json)?.[0]).toBe(num);
  });

  test('special encodings are flagged', () => {
    expect(field('core.v1.Secret', 'data')?.slice(2)).toEqual(['bytes', 'M']);
    expect(field('core.v1.ServicePort', 'targetPort')?.[2]).toBe('IntOrString');
    expect(field('core.v1.ResourceRequirements', 'limits')?.slice(2)).toEqual(['Quantity', 'M']);
    expect(field('core.v1.Volume', 'volumeSource')?.[3]).toBe('I');
    expect(field('core.v1.Probe', 'handler')?.[3]).toBe('I');
    expect(field('apps.v1.DeploymentSpec', 'replicas')?.[3]).toBe('P');
    expect(field('core.v1.SecurityContext', 'runAsUser')?.[3]).toBe('P');
  });
});
