import type { KObject } from '../../../src/api/types';
import { containerUnavailableError, selectContainer } from '../../../src/apiserver/streams/resolver';

function pod(spec: Record<string, unknown>, status: Record<string, unknown> = {}): KObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' }, spec, status };
}

describe('selectContainer', () => {
  test('the only container is the default', () => {
    expect(selectContainer(pod({ containers: [{ name: 'app' }], initContainers: [{ name: 'init' }] }), undefined)).toBe('app');
  });

  test('several containers need a name', () => {
    expect(() => selectContainer(pod({ containers: [{ name: 'a' }, { name: 'b' }] }), undefined)).toThrow(
      'a container name must be specified for pod web, choose one of: [a b]',
    );
    expect(() => selectContainer(pod({ containers: [{ name: 'a' }, { name: 'b' }], initContainers: [{ name: 'i' }] }), undefined)).toThrow(
      'a container name must be specified for pod web, choose one of: [a b] or one of the init containers: [i]',
    );
  });

  test('named app, init and ephemeral containers are valid; others are not', () => {
    const p = pod({ containers: [{ name: 'a' }], initContainers: [{ name: 'i' }], ephemeralContainers: [{ name: 'dbg' }] });
    expect(selectContainer(p, 'a')).toBe('a');
    expect(selectContainer(p, 'i')).toBe('i');
    expect(selectContainer(p, 'dbg')).toBe('dbg');
    expect(() => selectContainer(p, 'x')).toThrow('container x is not valid for pod web');
  });
});

describe('containerUnavailableError (the kubelet wording)', () => {
  const spec = { containers: [{ name: 'app' }] };
  test.each([
    ['no status yet', {}, false, 'container "app" in pod "web" is waiting to start: ContainerCreating'],
    ['waiting ContainerCreating', { containerStatuses: [{ name: 'app', state: { waiting: { reason: 'ContainerCreating' } } }] }, false, 'container "app" in pod "web" is waiting to start: ContainerCreating'],
    ['ErrImagePull', { containerStatuses: [{ name: 'app', state: { waiting: { reason: 'ErrImagePull' } } }] }, false, 'container "app" in pod "web" is waiting to start: image can\'t be pulled'],
    ['ImagePullBackOff', { containerStatuses: [{ name: 'app', state: { waiting: { reason: 'ImagePullBackOff' } } }] }, false, 'container "app" in pod "web" is waiting to start: trying and failing to pull image'],
    ['terminated', { containerStatuses: [{ name: 'app', state: { terminated: { exitCode: 1 } } }] }, false, 'container "app" in pod "web" is terminated'],
    ['previous', { containerStatuses: [{ name: 'app', state: { running: {} } }] }, true, 'previous terminated container "app" in pod "web" not found'],
  ])('%s', (_n, status, previous, message) => {
    const e = containerUnavailableError(pod(spec, status), 'app', previous);
    expect(e.code).toBe(400);
    expect(e.reason).toBe('BadRequest');
    expect(e.message).toBe(message);
  });
});
