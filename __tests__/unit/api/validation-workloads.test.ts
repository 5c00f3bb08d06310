import { parseCronSchedule } from '../../../src/api/validation';
import { Any, check, clone, cronJob, defaulted, daemonSet, deployment, expectError, expectValid, job, replicaSet, statefulSet, withField } from './helpers';

type Row = [string, Any, string, string | RegExp];

const SEL_MISMATCH = '`selector` does not match template `labels`';

describe.each<[string, () => Any]>([
  ['Deployment', deployment],
  ['ReplicaSet', replicaSet],
  ['StatefulSet', statefulSet],
  ['DaemonSet', daemonSet],
])('%s selector/template rules', (kind, make) => {
  const W = (path: string, v: unknown) => withField(make(), path, v);
  const rows: Row[] = [
    ['selector required', W('spec.selector', undefined), 'spec.selector', 'Required value'],
    ['empty selector', W('spec.selector', {}), 'spec.selector', `Invalid value: {}: empty selector is invalid for ${kind.toLowerCase()}`],
    ['selector mismatch', W('spec.selector', { matchLabels: { app: 'other' } }), 'spec.template.metadata.labels', `Invalid value: map[string]string{"app":"web"}: ${SEL_MISMATCH}`],
    ['template without labels', W('spec.template.metadata', undefined), 'spec.template.metadata.labels', `Invalid value: map[string]string(nil): ${SEL_MISMATCH}`],
    ['matchExpressions mismatch', W('spec.selector', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }), 'spec.template.metadata.labels', new RegExp(SEL_MISMATCH)],
    ['selector operator', W('spec.selector', { matchExpressions: [{ key: 'app', operator: 'Has' }] }), 'spec.selector.matchExpressions[0].operator', 'Unsupported value: "Has": supported values: "DoesNotExist", "Exists", "In", "NotIn"'],
    ['In without values', W('spec.selector', { matchExpressions: [{ key: 'app', operator: 'In' }] }), 'spec.selector.matchExpressions[0].values', "Required value: must be specified when `operator` is 'In' or 'NotIn'"],
    ['Exists with values', W('spec.selector', { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] }), 'spec.selector.matchExpressions[0].values', "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"],
    ['template restartPolicy', W('spec.template.spec.restartPolicy', 'OnFailure'), 'spec.template.spec.restartPolicy', 'Unsupported value: "OnFailure": supported values: "Always"'],
    ['template activeDeadlineSeconds', W('spec.template.spec.activeDeadlineSeconds', 30), 'spec.template.spec.activeDeadlineSeconds', 'Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported'],
    ['template missing', W('spec.template', undefined), 'spec.template', 'Required value'],
    ['template containers', W('spec.template.spec.containers', []), 'spec.template.spec.containers', 'Required value'],
    ['template image', W('spec.template.spec.containers[0].image', ''), 'spec.template.spec.containers[0].image', 'Required value'],
    ['spec missing (defaulted to {})', W('spec', undefined), 'spec.selector', 'Required value'],
  ];
  test.each(rows)('%s', (_d, obj, field, msg) => {
    expectError(check(obj), field, msg);
  });

  test('selector is immutable', () => {
    const old = make();
    const n = withField(withField(old, 'spec.selector.matchLabels', { app: 'web', v: '2' }), 'spec.template.metadata.labels', { app: 'web', v: '2' });
    if (kind === 'StatefulSet') expectError(check(n, old), 'spec', /^Forbidden: updates to statefulset spec/);
    else expectError(check(n, old), 'spec.selector', /^Invalid value: .*: field is immutable$/);
  });

  test('template may change on update', () => {
    const old = make();
    expectValid(check(withField(old, 'spec.template.spec.containers[0].image', 'nginx:2'), old));
  });
});

describe('Deployment', () => {
  const D = (path: string, v: unknown) => withField(deployment(), path, v);
  const rows: Row[] = [
    ['replicas negative', D('spec.replicas', -1), 'spec.replicas', 'Invalid value: -1: must be greater than or equal to 0'],
    ['replicas wrong type', D('spec.replicas', '3'), 'spec.replicas', 'Invalid value: "3": must be of type integer'],
    ['replicas float', D('spec.replicas', 1.5), 'spec.replicas', 'Invalid value: 1.5: must be of type integer'],
    ['strategy type', D('spec.strategy', { type: 'BlueGreen' }), 'spec.strategy.type', 'Unsupported value: "BlueGreen": supported values: "Recreate", "RollingUpdate"'],
    ['Recreate with rollingUpdate', D('spec.strategy', { type: 'Recreate', rollingUpdate: { maxSurge: 1 } }), 'spec.strategy.rollingUpdate', "Forbidden: may not be specified when strategy `type` is 'Recreate'"],
    ['both zero', D('spec.strategy', { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } }), 'spec.strategy.rollingUpdate.maxUnavailable', 'Invalid value: 0: may not be 0 when `maxSurge` is 0'],
    ['both zero percent', D('spec.strategy', { type: 'RollingUpdate', rollingUpdate: { maxSurge: '0%', maxUnavailable: '0%' } }), 'spec.strategy.rollingUpdate.maxUnavailable', 'Invalid value: "0%": may not be 0 when `maxSurge` is 0'],
    ['bad percent', D('spec.strategy', { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25' } }), 'spec.strategy.rollingUpdate.maxSurge', /^Invalid value: "25": a valid percent string must be a numeric string followed by an ending '%'/],
    ['maxUnavailable > 100%', D('spec.strategy', { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '150%' } }), 'spec.strategy.rollingUpdate.maxUnavailable', 'Invalid value: "150%": must not be greater than 100%'],
    ['negative maxSurge', D('spec.strategy', { type: 'RollingUpdate', rollingUpdate: { maxSurge: -1 } }), 'spec.strategy.rollingUpdate.maxSurge', 'Invalid value: -1: must be greater than or equal to 0'],
    ['revisionHistoryLimit', D('spec.revisionHistoryLimit', -2), 'spec.revisionHistoryLimit', 'Invalid value: -2: must be greater than or equal to 0'],
    ['progressDeadline <= minReady', { ...D('spec.minReadySeconds', 600) }, 'spec.progressDeadlineSeconds', 'Invalid value: 600: must be greater than minReadySeconds'],
  ];
  test.each(rows)('%s', (_d, obj, field, msg) => {
    expectError(check(obj), field, msg);
  });

  test.each([
    ['Recreate', { type: 'Recreate' }],
    ['ints', { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }],
    ['percents', { type: 'RollingUpdate', rollingUpdate: { maxSurge: '0%', maxUnavailable: '100%' } }],
  ])('valid strategy %s', (_d, strategy) => {
    expectValid(check(withField(deployment(), 'spec.strategy', strategy)));
  });

  test('replicas 0 and paused are valid', () => {
    expectValid(check(withField(withField(deployment(), 'spec.replicas', 0), 'spec.paused', true)));
  });
});

describe('StatefulSet', () => {
  const S = (path: string, v: unknown) => withField(statefulSet(), path, v);
  const rows: Row[] = [
    ['podManagementPolicy', S('spec.podManagementPolicy', 'Random'), 'spec.podManagementPolicy', 'Unsupported value: "Random": supported values: "OrderedReady", "Parallel"'],
    ['updateStrategy type', S('spec.updateStrategy', { type: 'Recreate' }), 'spec.updateStrategy.type', 'Unsupported value: "Recreate": supported values: "OnDelete", "RollingUpdate"'],
    ['partition negative', S('spec.updateStrategy', { type: 'RollingUpdate', rollingUpdate: { partition: -1 } }), 'spec.updateStrategy.rollingUpdate.partition', 'Invalid value: -1: must be greater than or equal to 0'],
    ['OnDelete with rollingUpdate', S('spec.updateStrategy', { type: 'OnDelete', rollingUpdate: { partition: 1 } }), 'spec.updateStrategy.rollingUpdate', /only allowed for updateStrategy 'RollingUpdate'/],
    ['retention enum', S('spec.persistentVolumeClaimRetentionPolicy', { whenDeleted: 'Keep' }), 'spec.persistentVolumeClaimRetentionPolicy.whenDeleted', 'Unsupported value: "Keep": supported values: "Delete", "Retain"'],
    ['ordinals.start', S('spec.ordinals', { start: -1 }), 'spec.ordinals.start', 'Invalid value: -1: must be greater than or equal to 0'],
    ['vct name', S('spec.volumeClaimTemplates', [{ spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }]), 'spec.volumeClaimTemplates[0].metadata.name', 'Required value'],
    ['vct storage', S('spec.volumeClaimTemplates', [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'] } }]), 'spec.volumeClaimTemplates[0].spec.resources[storage]', 'Required value'],
    ['replicas', S('spec.replicas', -1), 'spec.replicas', 'Invalid value: -1: must be greater than or equal to 0'],
  ];
  test.each(rows)('%s', (_d, obj, field, msg) => {
    expectError(check(obj), field, msg);
  });

  test('update: replicas/template/updateStrategy/minReadySeconds/retention may change', () => {
    const old = statefulSet();
    const n = clone(old);
    n.spec.replicas = 3;
    n.spec.template.spec.containers[0].image = 'postgres:16';
    n.spec.updateStrategy = { type: 'OnDelete' };
    n.spec.minReadySeconds = 5;
    n.spec.persistentVolumeClaimRetentionPolicy = { whenDeleted: 'Delete', whenScaled: 'Retain' };
    expectValid(check(n, old));
  });

  test.each<[string, string, unknown]>([
    ['serviceName', 'spec.serviceName', 'other'],
    ['podManagementPolicy', 'spec.podManagementPolicy', 'Parallel'],
    ['volumeClaimTemplates', 'spec.volumeClaimTemplates', [{ metadata: { name: 'd' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }]],
  ])('update: %s is forbidden', (_d, path, v) => {
    const old = statefulSet();
    expectError(check(withField(old, path, v), old), 'spec', /^Forbidden: updates to statefulset spec for fields other than 'replicas'/);
  });
});

describe('DaemonSet', () => {
  const rows: Row[] = [
    ['updateStrategy type', withField(daemonSet(), 'spec.updateStrategy', { type: 'Surge' }), 'spec.updateStrategy.type', 'Unsupported value: "Surge": supported values: "OnDelete", "RollingUpdate"'],
    ['both zero', withField(daemonSet(), 'spec.updateStrategy', { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } }), 'spec.updateStrategy.rollingUpdate.maxUnavailable', 'Invalid value: 0: may not be 0 when `maxSurge` is 0'],
    ['both set', withField(daemonSet(), 'spec.updateStrategy', { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } }), 'spec.updateStrategy.rollingUpdate.maxSurge', 'Invalid value: 1: may not be set when maxUnavailable is non-zero'],
  ];
  test.each(rows)('%s', (_d, obj, field, msg) => {
    expectError(check(obj), field, msg);
  });

  test('surge-only rollout is valid', () => {
    expectValid(check(withField(daemonSet(), 'spec.updateStrategy', { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '10%' } })));
  });
});

describe('Job', () => {
  const J = (path: string, v: unknown) => withField(job(), path, v);
  const rows: Row[] = [
    ['restartPolicy required', J('spec.template.spec.restartPolicy', undefined), 'spec.template.spec.restartPolicy', 'Required value: valid values: "OnFailure", "Never"'],
    ['restartPolicy Always', J('spec.template.spec.restartPolicy', 'Always'), 'spec.template.spec.restartPolicy', 'Unsupported value: "Always": supported values: "Never", "OnFailure"'],
    ['completions negative', J('spec.completions', -1), 'spec.completions', 'Invalid value: -1: must be greater than or equal to 0'],
    ['parallelism negative', J('spec.parallelism', -1), 'spec.parallelism', 'Invalid value: -1: must be greater than or equal to 0'],
    ['backoffLimit negative', J('spec.backoffLimit', -1), 'spec.backoffLimit', 'Invalid value: -1: must be greater than or equal to 0'],
    ['activeDeadlineSeconds negative', J('spec.activeDeadlineSeconds', -5), 'spec.activeDeadlineSeconds', 'Invalid value: -5: must be greater than or equal to 0'],
    ['ttl negative', J('spec.ttlSecondsAfterFinished', -1), 'spec.ttlSecondsAfterFinished', 'Invalid value: -1: must be greater than or equal to 0'],
    ['completionMode', J('spec.completionMode', 'Ordered'), 'spec.completionMode', 'Unsupported value: "Ordered": supported values: "Indexed", "NonIndexed"'],
    ['Indexed needs completions', withField(J('spec.completionMode', 'Indexed'), 'spec.parallelism', 2), 'spec.completions', 'Required value: when completion mode is Indexed'],
    ['podReplacementPolicy', J('spec.podReplacementPolicy', 'Never'), 'spec.podReplacementPolicy', 'Unsupported value: "Never": supported values: "Failed", "TerminatingOrFailed"'],
    ['manual selector must match', withField(J('spec.manualSelector', true), 'spec.selector', { matchLabels: { app: 'nope' } }), 'spec.template.metadata.labels', new RegExp(SEL_MISMATCH)],
    ['manual selector required', J('spec.manualSelector', true), 'spec.selector', 'Required value'],
  ];
  test.each(rows)('%s', (_d, obj, field, msg) => {
    expectError(check(obj), field, msg);
  });

  test('OnFailure is valid; manual selector that matches is valid', () => {
    expectValid(check(J('spec.template.spec.restartPolicy', 'OnFailure')));
    expectValid(check(withField(J('spec.manualSelector', true), 'spec.selector', { matchLabels: { app: 'batch' } })));
  });

  test('update: template immutable unless suspended', () => {
    const old = job();
    const changed = withField(old, 'spec.template.spec.containers[0].image', 'perl:2');
    expectError(check(changed, old), 'spec.template', /field is immutable$/);
    const oldSuspended = withField(old, 'spec.suspend', true);
    expectValid(check(withField(changed, 'spec.suspend', true), oldSuspended));
  });

  test('update: selector and completions immutable; parallelism and suspend mutable', () => {
    const old = defaulted(job());
    expectError(check(withField(old, 'spec.completions', 3), old), 'spec.completions', 'Invalid value: 3: field is immutable');
    expectValid(check(withField(withField(old, 'spec.parallelism', 4), 'spec.suspend', true), old));
    const d = check(withField(old, 'spec.selector', { matchLabels: { 'batch.kubernetes.io/controller-uid': 'other' } }), old);
    expectError(d, 'spec.selector', /field is immutable$/);
  });
});

describe('CronJob', () => {
  const CJ = (path: string, v: unknown) => withField(cronJob(), path, v);
  const rows: Row[] = [
    ['schedule required', CJ('spec.schedule', undefined), 'spec.schedule', 'Required value'],
    ['schedule garbage', CJ('spec.schedule', 'every minute'), 'spec.schedule', 'Invalid value: "every minute": expected exactly 5 fields, found 2: [every minute]'],
    ['schedule out of range', CJ('spec.schedule', '60 * * * *'), 'spec.schedule', 'Invalid value: "60 * * * *": end of range (60) above maximum (59): 60'],
    ['schedule 6 fields', CJ('spec.schedule', '0 0 * * * *'), 'spec.schedule', /expected exactly 5 fields, found 6/],
    ['unknown descriptor', CJ('spec.schedule', '@fortnightly'), 'spec.schedule', 'Invalid value: "@fortnightly": unrecognized descriptor: @fortnightly'],
    ['TZ in schedule', CJ('spec.schedule', 'TZ=UTC 0 * * * *'), 'spec.schedule', 'Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead'],
    ['timeZone unknown', CJ('spec.timeZone', 'Mars/Olympus'), 'spec.timeZone', 'Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus'],
    ['concurrencyPolicy', CJ('spec.concurrencyPolicy', 'Sometimes'), 'spec.concurrencyPolicy', 'Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"'],
    ['startingDeadlineSeconds', CJ('spec.startingDeadlineSeconds', -1), 'spec.startingDeadlineSeconds', 'Invalid value: -1: must be greater than or equal to 0'],
    ['history limit', CJ('spec.successfulJobsHistoryLimit', -1), 'spec.successfulJobsHistoryLimit', 'Invalid value: -1: must be greater than or equal to 0'],
    ['jobTemplate required', CJ('spec.jobTemplate', undefined), 'spec.jobTemplate', 'Required value'],
    ['jobTemplate restartPolicy', CJ('spec.jobTemplate.spec.template.spec.restartPolicy', 'Always'), 'spec.jobTemplate.spec.template.spec.restartPolicy', /^Unsupported value: "Always"/],
    ['name too long', CJ('metadata.name', 'a'.repeat(53)), 'metadata.name', `Invalid value: "${'a'.repeat(53)}": must be no more than 52 characters`],
  ];
  test.each(rows)('%s', (_d, obj, field, msg) => {
    expectError(check(obj), field, msg);
  });

  test.each(['@hourly', '@daily', '@weekly', '@monthly', '@yearly', '@annually', '@midnight', '0 0 * * 1-5', '*/15 9-17 * JAN-JUN mon,wed,fri', '0 0 1,15 * ?', '5 4 * * SUN'])(
    'schedule %p is valid',
    (s) => {
      expectValid(check(CJ('spec.schedule', s)));
    },
  );

  test('timeZone accepts IANA zones', () => {
    expectValid(check(CJ('spec.timeZone', 'Europe/Berlin')));
    expectError(check(CJ('spec.timeZone', 'Local')), 'spec.timeZone', /must be an explicit time zone/);
  });
});

describe('parseCronSchedule', () => {
  test('expands fields', () => {
    const r = parseCronSchedule('*/20 1-3 1,15 * MON-FRI');
    expect(r.error).toBeUndefined();
    expect(r.schedule).toEqual({ minutes: [0, 20, 40], hours: [1, 2, 3], daysOfMonth: [1, 15], months: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], daysOfWeek: [1, 2, 3, 4, 5], domStar: false, dowStar: false });
  });

  test('star flags and N/step', () => {
    const r = parseCronSchedule('5/20 * * * *');
    expect(r.schedule?.minutes).toEqual([5, 25, 45]);
    expect(r.schedule?.domStar).toBe(true);
    expect(r.schedule?.dowStar).toBe(true);
  });

  test('descriptors', () => {
    expect(parseCronSchedule('@weekly').schedule).toMatchObject({ minutes: [0], hours: [0], daysOfWeek: [0] });
  });

  test.each([
    ['* * * *', 'expected exactly 5 fields, found 4: [* * * *]'],
    ['a * * * *', 'failed to parse int from a: strconv.Atoi: parsing "a": invalid syntax'],
    ['5-1 * * * *', 'beginning of range (5) beyond end of range (1): 5-1'],
    ['* 24 * * *', 'end of range (24) above maximum (23): 24'],
    ['* * 0 * *', 'beginning of range (0) below minimum (1): 0'],
    ['* * * * 7', 'end of range (7) above maximum (6): 7'],
    ['*/0 * * * *', 'step of range should be a positive number: */0'],
    ['1-2-3 * * * *', 'too many hyphens: 1-2-3'],
    ['1/2/3 * * * *', 'too many slashes: 1/2/3'],
    ['-1 * * * *', /./],
    ['', 'expected exactly 5 fields, found 0: []'],
    ['@every 5m', 'unrecognized descriptor: @every 5m'],
  ])('%p -> error', (s, msg) => {
    const r = parseCronSchedule(s);
    if (typeof msg === 'string') expect(r.error).toBe(msg);
    else expect(r.error).toMatch(msg);
  });
});
