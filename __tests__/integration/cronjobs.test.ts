import type { KObject } from '../../src/api/types';
import { cronJobController } from '../../src/controllers/cronjob/cronjob-controller';
import { jobController } from '../../src/controllers/job/job-controller';
import { Bench, RI } from './jobs-harness';

const START = Date.UTC(2024, 0, 1, 0, 0, 30); // creation at 00:00:30

function cronJob(name: string, spec: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name },
    spec: {
      schedule: '* * * * *',
      jobTemplate: {
        metadata: { labels: { app: name }, annotations: { team: 'a' } },
        spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
      },
      ...spec,
    },
  };
}

describe('CronJob controller (ManualClock, real store)', () => {
  let b: Bench;
  beforeEach(async () => {
    b = new Bench(START);
    await b.start(jobController(b.ctx));
    await b.start(cronJobController(b.ctx));
  });
  afterEach(() => b.stop());

  const jobsOf = (cj: KObject) => b.list(RI.jobs, 'default').filter((j) => j.metadata.ownerReferences?.[0]?.uid === cj.metadata.uid);
  const cj = (name: string) => b.get(RI.cronjobs, 'default', name);
  const finishJob = async (j: KObject, phase: 'Succeeded' | 'Failed') => {
    for (const p of b.podsOf(j)) b.setPodStatus(p, phase);
    await b.settle();
  };

  test('every minute: job name, annotation, ownerReference, labels, status.active and lastScheduleTime', async () => {
    const c = b.registry.create(RI.cronjobs, 'default', cronJob('tick'));
    await b.settle();
    expect(jobsOf(c)).toHaveLength(0);
    await b.advance(29_000); // 00:00:59
    expect(jobsOf(c)).toHaveLength(0);
    await b.advance(1_200); // 00:01:00.2 (wakes 100 ms after the activation)
    const [j] = jobsOf(c);
    const minutes = Math.floor(Date.UTC(2024, 0, 1, 0, 1) / 60_000);
    expect(j.metadata.name).toBe(`tick-${minutes}`);
    expect(j.metadata.annotations).toEqual({ team: 'a', 'batch.kubernetes.io/cronjob-scheduled-timestamp': '2024-01-01T00:01:00Z' });
    expect(j.metadata.labels).toMatchObject({ app: 'tick' });
    expect(j.metadata.ownerReferences).toEqual([{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'tick', uid: c.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    expect(cj('tick').status).toMatchObject({ lastScheduleTime: '2024-01-01T00:01:00Z', active: [{ kind: 'Job', name: j.metadata.name, namespace: 'default', uid: j.metadata.uid, apiVersion: 'batch/v1' }] });
    expect(b.events.find((e) => e.kind === 'CronJob')).toMatchObject({ reason: 'SuccessfulCreate', message: `Created job ${j.metadata.name}` });

    await b.advance(5_000);
    await finishJob(j, 'Succeeded');
    const st = cj('tick').status;
    expect(st.active).toBeUndefined();
    expect(st.lastSuccessfulTime).toBe('2024-01-01T00:01:05Z');
    expect(b.reasons('tick')).toContain('SawCompletedJob');
    await b.advance(60_000);
    expect(jobsOf(c).map((x) => x.metadata.name)).toEqual([`tick-${minutes}`, `tick-${minutes + 1}`]);
  });

  test('timeZone: the schedule is read in the zone and the annotation carries its offset', async () => {
    // 09:00 in Tokyo is 00:00 UTC; start at 23:59:30 UTC the day before
    const b2 = new Bench(Date.UTC(2023, 11, 31, 23, 59, 30));
    try {
      await b2.start(cronJobController(b2.ctx));
      const c = b2.registry.create(RI.cronjobs, 'default', cronJob('tokyo', { schedule: '0 9 * * *', timeZone: 'Asia/Tokyo' }));
      await b2.advance(31_000);
      const [j] = b2.list(RI.jobs, 'default').filter((x) => x.metadata.ownerReferences?.[0]?.uid === c.metadata.uid);
      expect(j.metadata.annotations!['batch.kubernetes.io/cronjob-scheduled-timestamp']).toBe('2024-01-01T09:00:00+09:00');
      expect(j.metadata.name).toBe(`tokyo-${Math.floor(Date.UTC(2024, 0, 1) / 60_000)}`);
    } finally {
      await b2.stop();
    }
  });

  test('concurrencyPolicy Forbid skips while a job runs; Replace deletes it; Allow runs both', async () => {
    const forbid = b.registry.create(RI.cronjobs, 'default', cronJob('forbid', { concurrencyPolicy: 'Forbid' }));
    const replace = b.registry.create(RI.cronjobs, 'default', cronJob('replace', { concurrencyPolicy: 'Replace' }));
    const allow = b.registry.create(RI.cronjobs, 'default', cronJob('allow'));
    await b.advance(30_200);
    await b.advance(60_000);
    expect(jobsOf(forbid)).toHaveLength(1);
    expect(b.reasons('forbid')).toContain('JobAlreadyActive');
    expect(jobsOf(replace)).toHaveLength(1);
    expect(jobsOf(replace)[0].metadata.name).toBe(`replace-${Math.floor(Date.UTC(2024, 0, 1, 0, 2) / 60_000)}`);
    expect(b.reasons('replace')).toContain('SuccessfulDelete');
    expect(cj('replace').status.active).toHaveLength(1);
    expect(jobsOf(allow)).toHaveLength(2);
    expect(cj('allow').status.active).toHaveLength(2);
  });

  test('suspend stops new jobs; resuming starts only the most recent missed one', async () => {
    const c = b.registry.create(RI.cronjobs, 'default', cronJob('sus', { suspend: true }));
    await b.advance(5 * 60_000);
    expect(jobsOf(c)).toHaveLength(0);
    b.registry.guaranteedUpdate(RI.cronjobs, 'default', 'sus', (o) => ({ ...o, spec: { ...o.spec, suspend: false } }));
    await b.settle();
    const js = jobsOf(c);
    expect(js).toHaveLength(1);
    expect(js[0].metadata.annotations!['batch.kubernetes.io/cronjob-scheduled-timestamp']).toBe('2024-01-01T00:05:00Z');
  });

  test('startingDeadlineSeconds: a start later than the deadline is missed (MissSchedule)', async () => {
    const c = b.registry.create(RI.cronjobs, 'default', cronJob('late', { schedule: '0 * * * *', startingDeadlineSeconds: 10, suspend: true }));
    await b.advance(3600_000); // 01:00:30, the 01:00 activation is 30 s old
    b.registry.guaranteedUpdate(RI.cronjobs, 'default', 'late', (o) => ({ ...o, spec: { ...o.spec, suspend: false } }));
    await b.settle();
    expect(jobsOf(c)).toHaveLength(0);
    await b.advance(3600_000);
    expect(jobsOf(c)).toHaveLength(1); // 02:00 on time
  });

  test('too many missed start times warns and still starts the latest', async () => {
    const c = b.registry.create(RI.cronjobs, 'default', cronJob('many', { suspend: true }));
    await b.advance(200 * 60_000);
    b.registry.guaranteedUpdate(RI.cronjobs, 'default', 'many', (o) => ({ ...o, spec: { ...o.spec, suspend: false } }));
    await b.settle();
    expect(b.events.find((e) => e.reason === 'TooManyMissedTimes')).toMatchObject({
      type: 'Warning',
      message: 'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew',
    });
    expect(jobsOf(c)).toHaveLength(1);
  });

  test('history limits keep the newest finished jobs', async () => {
    const m = cronJob('hist', { successfulJobsHistoryLimit: 2, failedJobsHistoryLimit: 1 });
    m.spec.jobTemplate.spec.backoffLimit = 0;
    const c = b.registry.create(RI.cronjobs, 'default', m);
    await b.advance(30_200);
    for (let i = 0; i < 5; i++) {
      const running = jobsOf(c).filter((j) => !(j.status?.conditions ?? []).some((x: { type: string }) => x.type === 'Complete' || x.type === 'Failed'));
      for (const j of running) await finishJob(j, i === 1 || i === 2 ? 'Failed' : 'Succeeded');
      await b.advance(60_000);
    }
    const byState = (t: string) =>
      jobsOf(c)
        .filter((j) => (j.status?.conditions ?? []).some((x: { type: string; status: string }) => x.type === t && x.status === 'True'))
        .map((j) => j.metadata.name);
    const base = Math.floor(Date.UTC(2024, 0, 1, 0, 1) / 60_000);
    expect(byState('Complete')).toEqual([`hist-${base + 3}`, `hist-${base + 4}`]);
    expect(byState('Failed')).toEqual([`hist-${base + 2}`]);
  });

  test('a job deleted while active goes missing from status.active', async () => {
    const c = b.registry.create(RI.cronjobs, 'default', cronJob('miss', { schedule: '0 * * * *' }));
    await b.advance(3600_000);
    const [j] = jobsOf(c);
    b.registry.delete(RI.jobs, 'default', j.metadata.name!);
    await b.settle();
    expect(cj('miss').status.active).toBeUndefined();
    expect(b.reasons('miss')).toContain('MissingJob');
  });

  test('an unparseable schedule left from before is reported, not retried', async () => {
    const c = b.registry.create(RI.cronjobs, 'default', cronJob('tz', { timeZone: 'Europe/Berlin' }));
    // bypass validation to simulate a zone that disappeared from the tz database
    const raw = b.store.get(`/batch/cronjobs/default/tz`)!;
    b.store.update('/batch/cronjobs/default/tz', { ...JSON.parse(JSON.stringify(raw)), spec: { ...raw.spec, timeZone: 'Nowhere/Gone' } });
    await b.advance(120_000);
    expect(jobsOf(c)).toHaveLength(0);
    expect(b.reasons('tz')).toContain('UnknownTimeZone');
  });
});
