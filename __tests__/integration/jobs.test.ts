import type { KObject } from '../../src/api/types';
import { jobController } from '../../src/controllers/job/job-controller';
import { JOB_TRACKING_FINALIZER } from '../../src/controllers/job/job-util';
import { Bench, RI } from './jobs-harness';

function jobManifest(name: string, spec: Record<string, unknown> = {}, restartPolicy = 'Never'): KObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      template: { spec: { restartPolicy, containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'true'] }] } },
      ...spec,
    },
  };
}

function cond(job: KObject, type: string): { status: string; reason?: string; message?: string } | undefined {
  return (job.status?.conditions ?? []).find((c: { type: string }) => c.type === type);
}

describe('Job controller (ManualClock, real store)', () => {
  let b: Bench;
  beforeEach(async () => {
    b = new Bench();
    await b.start(jobController(b.ctx));
  });
  afterEach(() => b.stop());

  const create = async (name: string, spec: Record<string, unknown> = {}, restartPolicy = 'Never'): Promise<KObject> => {
    const j = b.registry.create(RI.jobs, 'default', jobManifest(name, spec, restartPolicy));
    await b.settle();
    return j;
  };
  const job = (name: string) => b.get(RI.jobs, 'default', name);
  const active = (j: KObject) => b.podsOf(j).filter((p) => !['Succeeded', 'Failed'].includes(p.status?.phase) && !p.metadata.deletionTimestamp);

  test('completions and parallelism; labels, ownerReference, finalizer; Complete with SuccessCriteriaMet', async () => {
    const j = await create('pi', { completions: 3, parallelism: 2 });
    let pods = b.podsOf(j);
    expect(pods).toHaveLength(2);
    const p0 = pods[0];
    expect(p0.metadata.generateName).toBe('pi-');
    expect(p0.metadata.labels).toMatchObject({ 'batch.kubernetes.io/controller-uid': j.metadata.uid, 'batch.kubernetes.io/job-name': 'pi', 'controller-uid': j.metadata.uid, 'job-name': 'pi' });
    expect(p0.metadata.ownerReferences).toEqual([{ apiVersion: 'batch/v1', kind: 'Job', name: 'pi', uid: j.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    expect(p0.metadata.finalizers).toEqual([JOB_TRACKING_FINALIZER]);
    expect(job('pi').spec.selector).toEqual({ matchLabels: { 'batch.kubernetes.io/controller-uid': j.metadata.uid } });
    expect(job('pi').status).toMatchObject({ active: 2, ready: 0, succeeded: 0, failed: 0, startTime: '2024-01-01T00:00:00Z' });

    b.setPodStatus(pods[0], 'Running');
    await b.settle();
    expect(job('pi').status.ready).toBe(1);
    for (const p of pods) b.setPodStatus(p, 'Succeeded');
    await b.settle();
    expect(job('pi').status).toMatchObject({ succeeded: 2, active: 1 });
    for (const p of pods) expect(b.get(RI.pods, 'default', p.metadata.name!).metadata.finalizers ?? []).toEqual([]);
    pods = active(j);
    expect(pods).toHaveLength(1);
    await b.advance(5000);
    b.setPodStatus(pods[0], 'Succeeded');
    await b.settle();
    const done = job('pi');
    expect(done.status).toMatchObject({ succeeded: 3, active: 0, failed: 0, completionTime: '2024-01-01T00:00:05Z', uncountedTerminatedPods: {} });
    expect(cond(done, 'SuccessCriteriaMet')).toMatchObject({ status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' });
    expect(cond(done, 'Complete')).toMatchObject({ status: 'True', reason: 'CompletionsReached' });
    expect(b.reasons('pi')).toEqual(['SuccessfulCreate', 'SuccessfulCreate', 'SuccessfulCreate', 'Completed']);
    expect(b.events.find((e) => e.reason === 'SuccessfulCreate')!.message).toMatch(/^Created pod: pi-[a-z0-9]{5}$/);
  });

  test('fails twice, then succeeds: back-off 10 s then 20 s before each replacement', async () => {
    const j = await create('flaky', { backoffLimit: 4 });
    let [p] = active(j);
    b.setPodStatus(p, 'Failed');
    await b.settle();
    expect(job('flaky').status).toMatchObject({ failed: 1, active: 0 });
    await b.advance(9_900);
    expect(active(j)).toHaveLength(0);
    await b.advance(200);
    [p] = active(j);
    expect(p).toBeDefined();
    b.setPodStatus(p, 'Failed');
    await b.settle();
    await b.advance(19_800);
    expect(active(j)).toHaveLength(0);
    await b.advance(300);
    [p] = active(j);
    expect(p).toBeDefined();
    b.setPodStatus(p, 'Succeeded');
    await b.settle();
    const done = job('flaky');
    expect(done.status).toMatchObject({ succeeded: 1, failed: 2 });
    expect(cond(done, 'Complete')?.status).toBe('True');
    expect(b.podsOf(j)).toHaveLength(3); // failed pods are kept, as in Kubernetes
  });

  test('backoffLimit exceeded: FailureTarget then Failed (BackoffLimitExceeded)', async () => {
    const j = await create('bad', { backoffLimit: 1 });
    b.setPodStatus(active(j)[0], 'Failed');
    await b.advance(10_000);
    b.setPodStatus(active(j)[0], 'Failed');
    await b.settle();
    const failed = job('bad');
    expect(failed.status.failed).toBe(2);
    expect(cond(failed, 'FailureTarget')).toMatchObject({ status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
    expect(cond(failed, 'Failed')).toMatchObject({ status: 'True', reason: 'BackoffLimitExceeded' });
    expect(b.events.filter((e) => e.type === 'Warning').map((e) => e.reason)).toEqual(['BackoffLimitExceeded']);
    await b.advance(60_000);
    expect(active(j)).toHaveLength(0);
  });

  test('restartPolicy OnFailure: container restarts count against backoffLimit', async () => {
    const j = await create('restarts', { backoffLimit: 2 }, 'OnFailure');
    b.setPodStatus(active(j)[0], 'Running', { restartCount: 2 });
    await b.settle();
    expect(cond(job('restarts'), 'Failed')).toMatchObject({ reason: 'BackoffLimitExceeded' });
  });

  test('activeDeadlineSeconds: DeadlineExceeded and active pods deleted', async () => {
    const j = await create('slow', { activeDeadlineSeconds: 30, parallelism: 2, completions: 4 });
    expect(active(j)).toHaveLength(2);
    await b.advance(29_000);
    expect(cond(job('slow'), 'Failed')).toBeUndefined();
    await b.advance(1_000);
    const failed = job('slow');
    expect(cond(failed, 'Failed')).toMatchObject({ status: 'True', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' });
    expect(b.podsOf(j)).toHaveLength(0); // unbound pods go at once
    expect(failed.status).toMatchObject({ active: 0, failed: 0 });
    expect(b.reasons('slow')).toContain('DeadlineExceeded');
  });

  test('a failed Job waits for terminating pods before Failed', async () => {
    const j = await create('term', { activeDeadlineSeconds: 5 });
    const [p] = active(j);
    b.bind(p, 'node-1');
    b.setPodStatus(p, 'Running');
    await b.advance(5_000);
    expect(cond(job('term'), 'FailureTarget')?.status).toBe('True');
    expect(cond(job('term'), 'Failed')).toBeUndefined();
    expect(job('term').status.terminating).toBe(1);
    // the kubelet finishes the pod and confirms the deletion
    b.setPodStatus(p, 'Failed');
    await b.settle();
    if (b.registry.tryGet(RI.pods, 'default', p.metadata.name!)) b.registry.delete(RI.pods, 'default', p.metadata.name!, { gracePeriodSeconds: 0 });
    await b.settle();
    expect(cond(job('term'), 'Failed')?.status).toBe('True');
    expect(job('term').status.terminating).toBe(0);
  });

  test('Indexed completion mode: index label/annotation, hostname, env, completedIndexes', async () => {
    const j = await create('idx', { completions: 3, parallelism: 3, completionMode: 'Indexed' });
    const pods = active(j).sort((a, c) => a.metadata.name!.localeCompare(c.metadata.name!));
    expect(pods.map((p) => p.metadata.annotations?.['batch.kubernetes.io/job-completion-index'])).toEqual(['0', '1', '2']);
    expect(pods.map((p) => p.metadata.labels?.['batch.kubernetes.io/job-completion-index'])).toEqual(['0', '1', '2']);
    expect(pods[1].metadata.generateName).toBe('idx-1-');
    expect(pods[1].spec.hostname).toBe('idx-1');
    expect(pods[1].spec.containers[0].env).toContainEqual({
      name: 'JOB_COMPLETION_INDEX',
      valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } },
    });
    b.setPodStatus(pods[1], 'Succeeded');
    await b.advance(1_000);
    b.setPodStatus(pods[0], 'Failed');
    await b.settle();
    expect(job('idx').status).toMatchObject({ completedIndexes: '1', succeeded: 1, failed: 1, active: 1 });
    await b.advance(10_000);
    const again = active(j).map((p) => p.metadata.annotations?.['batch.kubernetes.io/job-completion-index']).sort();
    expect(again).toEqual(['0', '2']);
    for (const p of active(j)) b.setPodStatus(p, 'Succeeded');
    await b.settle();
    expect(job('idx').status).toMatchObject({ completedIndexes: '0-2', succeeded: 3 });
    expect(cond(job('idx'), 'Complete')?.status).toBe('True');
  });

  test('suspend deletes active pods; resume recreates them and resets startTime', async () => {
    const j = await create('sus', { parallelism: 2, completions: 2 });
    expect(active(j)).toHaveLength(2);
    await b.advance(3_000);
    b.registry.guaranteedUpdate(RI.jobs, 'default', 'sus', (c) => ({ ...c, spec: { ...c.spec, suspend: true } }));
    await b.settle();
    expect(b.podsOf(j)).toHaveLength(0);
    expect(cond(job('sus'), 'Suspended')).toMatchObject({ status: 'True', reason: 'JobSuspended', message: 'Job suspended' });
    expect(job('sus').status).toMatchObject({ active: 0, failed: 0 });
    await b.advance(60_000);
    b.registry.guaranteedUpdate(RI.jobs, 'default', 'sus', (c) => ({ ...c, spec: { ...c.spec, suspend: false } }));
    await b.settle();
    expect(active(j)).toHaveLength(2);
    expect(cond(job('sus'), 'Suspended')).toMatchObject({ status: 'False', reason: 'JobResumed' });
    expect(job('sus').status.startTime).toBe('2024-01-01T00:01:03Z');
    expect(b.reasons('sus').filter((r) => r === 'Suspended' || r === 'Resumed')).toEqual(['Suspended', 'Resumed']);
  });

  test('a Job created suspended has no startTime and no pods', async () => {
    const j = await create('cold', { suspend: true });
    expect(b.podsOf(j)).toHaveLength(0);
    expect(job('cold').status.startTime).toBeUndefined();
  });

  test('ttlSecondsAfterFinished deletes the finished Job', async () => {
    const j = await create('ttl', { ttlSecondsAfterFinished: 20 });
    b.setPodStatus(active(j)[0], 'Succeeded');
    await b.settle();
    expect(cond(job('ttl'), 'Complete')?.status).toBe('True');
    await b.advance(19_000);
    expect(b.registry.tryGet(RI.jobs, 'default', 'ttl')).toBeDefined();
    await b.advance(1_000);
    // Foreground deletion: the Job waits for the garbage collector (not running here) to remove the pods
    expect(b.registry.tryGet(RI.jobs, 'default', 'ttl')?.metadata.deletionTimestamp).toBeDefined();
  });

  test('a pod deleted from outside counts as failed and is replaced', async () => {
    const j = await create('gone', { backoffLimit: 3 });
    const [p] = active(j);
    b.bind(p, 'node-1');
    b.setPodStatus(p, 'Running');
    b.registry.delete(RI.pods, 'default', p.metadata.name!, { gracePeriodSeconds: 0 });
    await b.settle();
    expect(b.registry.tryGet(RI.pods, 'default', p.metadata.name!)).toBeUndefined();
    expect(job('gone').status).toMatchObject({ failed: 1, uncountedTerminatedPods: {} });
    await b.advance(10_000);
    expect(active(j)).toHaveLength(1);
  });

  test('parallelism decrease deletes surplus pods without counting failures', async () => {
    const j = await create('wide', { parallelism: 3, completions: 6 });
    expect(active(j)).toHaveLength(3);
    b.registry.guaranteedUpdate(RI.jobs, 'default', 'wide', (c) => ({ ...c, spec: { ...c.spec, parallelism: 1 } }));
    await b.settle();
    expect(active(j)).toHaveLength(1);
    expect(job('wide').status).toMatchObject({ active: 1, failed: 0 });
  });

  test('work-queue Job (no completions): complete once one pod succeeded and the rest finished', async () => {
    const j = await create('wq', { parallelism: 2, completions: null });
    const [a, c] = active(j);
    b.setPodStatus(a, 'Succeeded');
    await b.settle();
    expect(active(j)).toHaveLength(1);
    expect(cond(job('wq'), 'Complete')).toBeUndefined();
    b.setPodStatus(c, 'Succeeded');
    await b.settle();
    expect(cond(job('wq'), 'Complete')?.status).toBe('True');
  });

  test('pods of a deleted Job lose the tracking finalizer', async () => {
    const j = await create('bye', { parallelism: 2, completions: 2 });
    b.registry.delete(RI.jobs, 'default', 'bye', { propagationPolicy: 'Background' });
    await b.settle();
    const pods = b.podsOf(j);
    expect(pods).toHaveLength(2);
    for (const p of pods) expect(p.metadata.finalizers ?? []).toEqual([]);
  });
});
