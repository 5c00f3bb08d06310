/**
 * batch/v1: Job and CronJob.
 */
import { Ctx, Obj, child, deepEqual, invalid, isNil, isObj, required, IMMUTABLE, Rendered, renderStringMap, renderValue } from './field';
import { labelSelectorMatches, validateLabelSelector, validateTemplateMeta } from './meta';
import { validatePodTemplateSpec } from './pod';
import { parseCronSchedule } from './cron';

const JOB_RESTART = ['OnFailure', 'Never'];

/**
 * Job spec (also the spec inside a CronJob's jobTemplate, where `selector` is optional).
 * `path` is the spec's path (`spec` or `spec.jobTemplate.spec`).
 */
export function validateJobSpec(c: Ctx, v: unknown, path: string, isTemplate: boolean): Obj | undefined {
  const spec = c.obj(v, path);
  if (!spec) {
    if (isNil(v)) c.add(required(path));
    return undefined;
  }
  c.nonNegInt(spec.parallelism, child(path, 'parallelism'));
  const completions = c.nonNegInt(spec.completions, child(path, 'completions'));
  c.nonNegInt(spec.activeDeadlineSeconds, child(path, 'activeDeadlineSeconds'));
  c.nonNegInt(spec.backoffLimit, child(path, 'backoffLimit'));
  c.nonNegInt(spec.backoffLimitPerIndex, child(path, 'backoffLimitPerIndex'));
  c.nonNegInt(spec.maxFailedIndexes, child(path, 'maxFailedIndexes'));
  c.nonNegInt(spec.ttlSecondsAfterFinished, child(path, 'ttlSecondsAfterFinished'));
  c.bool(spec.suspend, child(path, 'suspend'));
  c.bool(spec.manualSelector, child(path, 'manualSelector'));
  c.str(spec.managedBy, child(path, 'managedBy'));
  const mode = c.enumStr(spec.completionMode, child(path, 'completionMode'), ['Indexed', 'NonIndexed']);
  if (mode === 'Indexed' && completions === undefined && isNil(spec.completions)) {
    c.add(required(child(path, 'completions'), 'when completion mode is Indexed'));
  }
  c.enumStr(spec.podReplacementPolicy, child(path, 'podReplacementPolicy'), ['Failed', 'TerminatingOrFailed']);
  c.obj(spec.podFailurePolicy, child(path, 'podFailurePolicy'));
  c.obj(spec.successPolicy, child(path, 'successPolicy'));

  let sel: Obj | undefined;
  if (isNil(spec.selector)) {
    if (!isTemplate) c.add(required(child(path, 'selector')));
  } else {
    const before = c.errs.length;
    sel = validateLabelSelector(c, spec.selector, child(path, 'selector'));
    if (c.errs.length !== before) sel = undefined;
  }
  const t = validatePodTemplateSpec(c, spec.template, child(path, 'template'), {
    restartPolicies: JOB_RESTART,
    restartPolicyRequiredDetail: 'valid values: "OnFailure", "Never"',
  });
  if (t && sel) {
    const labels = isObj(t.metadata) ? t.metadata.labels : undefined;
    if (!labelSelectorMatches(sel, labels)) {
      c.add(
        invalid(
          child(path, 'template', 'metadata', 'labels'),
          new Rendered(renderStringMap(isObj(labels) ? labels : undefined)),
          '`selector` does not match template `labels`',
        ),
      );
    }
  }
  return spec;
}

function isSuspended(spec: unknown): boolean {
  return isObj(spec) && spec.suspend === true;
}

export function validateJob(c: Ctx, obj: Obj, old?: Obj): void {
  validateJobSpec(c, obj.spec, 'spec', false);
  if (!old || !isObj(obj.spec) || !isObj(old.spec)) return;
  const n = obj.spec;
  const o = old.spec;
  if (!deepEqual(n.selector ?? null, o.selector ?? null)) c.add(invalid('spec.selector', new Rendered(renderValue(n.selector)), IMMUTABLE));
  if (!isSuspended(n) && !isSuspended(o) && !deepEqual(n.template ?? null, o.template ?? null)) {
    c.add(invalid('spec.template', new Rendered(renderValue(n.template)), IMMUTABLE));
  }
  const elastic = n.completionMode === 'Indexed' && o.completionMode === 'Indexed' && n.completions === n.parallelism && o.completions === o.parallelism;
  if (!elastic && (n.completions ?? null) !== (o.completions ?? null)) c.add(invalid('spec.completions', n.completions ?? null, IMMUTABLE));
  if ((n.completionMode ?? null) !== (o.completionMode ?? null)) c.add(invalid('spec.completionMode', n.completionMode ?? null, IMMUTABLE));
  if (!deepEqual(n.podFailurePolicy ?? null, o.podFailurePolicy ?? null)) c.add(invalid('spec.podFailurePolicy', new Rendered(renderValue(n.podFailurePolicy)), IMMUTABLE));
  if ((n.backoffLimitPerIndex ?? null) !== (o.backoffLimitPerIndex ?? null)) c.add(invalid('spec.backoffLimitPerIndex', n.backoffLimitPerIndex ?? null, IMMUTABLE));
}

/** CronJob names leave room for the 11-character suffix of the Jobs they create. */
export const CRONJOB_NAME_MAX = 52;

export function validateCronJob(c: Ctx, obj: Obj): void {
  const meta = obj.metadata;
  if (isObj(meta) && typeof meta.name === 'string' && meta.name.length > CRONJOB_NAME_MAX) {
    c.add(invalid('metadata.name', meta.name, `must be no more than ${CRONJOB_NAME_MAX} characters`));
  }
  if (isNil(obj.spec)) {
    c.add(required('spec'));
    return;
  }
  const spec = c.obj(obj.spec, 'spec');
  if (!spec) return;
  const schedule = c.str(spec.schedule, 'spec.schedule');
  if (schedule === undefined || schedule === '') {
    if (isNil(spec.schedule) || spec.schedule === '') c.add(required('spec.schedule'));
  } else if (/(^|\s)(CRON_)?TZ=/.test(schedule)) {
    c.add(invalid('spec.schedule', schedule, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'));
  } else {
    const r = parseCronSchedule(schedule);
    if (r.error !== undefined) c.add(invalid('spec.schedule', schedule, r.error));
  }
  const tz = c.str(spec.timeZone, 'spec.timeZone');
  if (tz !== undefined) validateTimeZone(c, tz);
  c.enumStr(spec.concurrencyPolicy, 'spec.concurrencyPolicy', ['Allow', 'Forbid', 'Replace'], { required: true });
  c.bool(spec.suspend, 'spec.suspend');
  c.nonNegInt(spec.startingDeadlineSeconds, 'spec.startingDeadlineSeconds');
  c.nonNegInt(spec.successfulJobsHistoryLimit, 'spec.successfulJobsHistoryLimit');
  c.nonNegInt(spec.failedJobsHistoryLimit, 'spec.failedJobsHistoryLimit');
  if (isNil(spec.jobTemplate)) {
    c.add(required('spec.jobTemplate'));
    return;
  }
  const jt = c.obj(spec.jobTemplate, 'spec.jobTemplate');
  if (!jt) return;
  validateTemplateMeta(c, jt.metadata, 'spec.jobTemplate.metadata');
  validateJobSpec(c, jt.spec, 'spec.jobTemplate.spec', true);
}

function validateTimeZone(c: Ctx, tz: string): void {
  if (tz === '' || tz.toLowerCase() === 'local') {
    c.add(invalid('spec.timeZone', tz, 'timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones'));
    return;
  }
  if (/\s/.test(tz)) {
    c.add(invalid('spec.timeZone', tz, `unknown time zone ${tz}`));
    return;
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    c.add(invalid('spec.timeZone', tz, `unknown time zone ${tz}`));
  }
}
