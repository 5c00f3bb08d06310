/**
 * apps/v1: Deployment, ReplicaSet, StatefulSet, DaemonSet.
 */
import {
  Ctx,
  Obj,
  child,
  deepEqual,
  forbidden,
  invalid,
  isNil,
  isObj,
  required,
  IMMUTABLE,
  NON_NEGATIVE,
  Rendered,
  renderStringMap,
  renderValue,
} from './field';
import { labelSelectorMatches, selectorIsEmpty, validateLabelSelector } from './meta';
import { isDNS1123Label, isValidPercent } from './names';
import { checkName, validatePodTemplateSpec } from './pod';
import { validatePVCSpec } from './core';

/** IntOrString that must be a non-negative integer or a percent string. Returns its numeric value. */
export function validateIntOrPercent(c: Ctx, v: unknown, path: string): number | undefined {
  const x = c.intOrStr(v, path);
  if (x === undefined) return undefined;
  if (typeof x === 'number') {
    if (x < 0) c.add(invalid(path, x, NON_NEGATIVE));
    return x;
  }
  const msgs = isValidPercent(x);
  for (const m of msgs) c.add(invalid(path, x, m));
  return msgs.length ? undefined : Number(x.slice(0, -1));
}

function notMoreThan100Percent(c: Ctx, v: unknown, path: string): void {
  if (typeof v === 'string' && /^[0-9]+%$/.test(v) && Number(v.slice(0, -1)) > 100) c.add(invalid(path, v, 'must not be greater than 100%'));
}

/**
 * Selector + template shared by the apps workloads: selector required and non-empty, matching
 * the template labels; template restartPolicy Always; no activeDeadlineSeconds.
 */
export function validateSelectorAndTemplate(c: Ctx, spec: Obj, kindWord: string, templateRestart: string[] = ['Always'], claimTemplateVolumes?: string[]): void {
  let sel: Obj | undefined;
  if (isNil(spec.selector)) c.add(required('spec.selector'));
  else {
    const before = c.errs.length;
    sel = validateLabelSelector(c, spec.selector, 'spec.selector');
    // A malformed selector is reported once; matching it against the template would only add noise.
    if (c.errs.length !== before) sel = undefined;
    if (sel && selectorIsEmpty(sel)) {
      c.add(invalid('spec.selector', new Rendered(renderValue(sel)), `empty selector is invalid for ${kindWord}`));
      sel = undefined;
    }
  }
  const t = validatePodTemplateSpec(c, spec.template, 'spec.template', { restartPolicies: templateRestart, claimTemplateVolumes });
  if (!t) return;
  const labels = isObj(t.metadata) ? t.metadata.labels : undefined;
  if (sel && !labelSelectorMatches(sel, labels)) {
    c.add(invalid('spec.template.metadata.labels', new Rendered(renderStringMap(isObj(labels) ? labels : undefined)), '`selector` does not match template `labels`'));
  }
  if (isObj(t.spec) && !isNil(t.spec.activeDeadlineSeconds)) {
    c.add(forbidden('spec.template.spec.activeDeadlineSeconds', 'activeDeadlineSeconds in ReplicaSet is not Supported'));
  }
}

function selectorImmutable(c: Ctx, spec: unknown, oldSpec: unknown): void {
  if (!isObj(spec) || !isObj(oldSpec)) return;
  if (!deepEqual(spec.selector ?? null, oldSpec.selector ?? null)) c.add(invalid('spec.selector', new Rendered(renderValue(spec.selector)), IMMUTABLE));
}

function specOf(c: Ctx, obj: Obj): Obj | undefined {
  if (isNil(obj.spec)) {
    c.add(required('spec'));
    return undefined;
  }
  return c.obj(obj.spec, 'spec');
}

// ---- Deployment ----------------------------------------------------------------------------

export function validateDeployment(c: Ctx, obj: Obj, old?: Obj): void {
  const spec = specOf(c, obj);
  if (spec) {
    c.nonNegInt(spec.replicas, 'spec.replicas');
    const mrs = c.nonNegInt(spec.minReadySeconds, 'spec.minReadySeconds') ?? 0;
    c.nonNegInt(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit');
    const pds = c.nonNegInt(spec.progressDeadlineSeconds, 'spec.progressDeadlineSeconds');
    if (pds !== undefined && pds >= 0 && pds <= mrs) c.add(invalid('spec.progressDeadlineSeconds', pds, 'must be greater than minReadySeconds'));
    c.bool(spec.paused, 'spec.paused');
    validateSelectorAndTemplate(c, spec, 'deployment');
    const st = c.obj(spec.strategy, 'spec.strategy');
    if (st) {
      const type = c.enumStr(st.type, 'spec.strategy.type', ['Recreate', 'RollingUpdate'], { required: true });
      if (type === 'Recreate' && !isNil(st.rollingUpdate)) {
        c.add(forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
      } else if (type === 'RollingUpdate') {
        if (isNil(st.rollingUpdate)) c.add(required('spec.strategy.rollingUpdate', 'this should be defaulted and never be nil'));
        const ru = c.obj(st.rollingUpdate, 'spec.strategy.rollingUpdate');
        if (ru) {
          const mu = validateIntOrPercent(c, ru.maxUnavailable, 'spec.strategy.rollingUpdate.maxUnavailable');
          const ms = validateIntOrPercent(c, ru.maxSurge, 'spec.strategy.rollingUpdate.maxSurge');
          if ((mu ?? (isNil(ru.maxUnavailable) ? 0 : -1)) === 0 && (ms ?? (isNil(ru.maxSurge) ? 0 : -1)) === 0) {
            c.add(invalid('spec.strategy.rollingUpdate.maxUnavailable', ru.maxUnavailable ?? 0, 'may not be 0 when `maxSurge` is 0'));
          }
          notMoreThan100Percent(c, ru.maxUnavailable, 'spec.strategy.rollingUpdate.maxUnavailable');
        }
      }
    }
  }
  if (old) selectorImmutable(c, obj.spec, old.spec);
}

// ---- ReplicaSet ------------------------------------------------------------------------------

export function validateReplicaSet(c: Ctx, obj: Obj, old?: Obj): void {
  const spec = specOf(c, obj);
  if (spec) {
    c.nonNegInt(spec.replicas, 'spec.replicas');
    c.nonNegInt(spec.minReadySeconds, 'spec.minReadySeconds');
    validateSelectorAndTemplate(c, spec, 'replicaset');
  }
  if (old) selectorImmutable(c, obj.spec, old.spec);
}

// ---- StatefulSet ---------------------------------------------------------------------------------

const STS_MUTABLE = ['replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds'];

export function validateStatefulSet(c: Ctx, obj: Obj, old?: Obj): void {
  const spec = specOf(c, obj);
  if (spec) {
    c.nonNegInt(spec.replicas, 'spec.replicas');
    c.nonNegInt(spec.minReadySeconds, 'spec.minReadySeconds');
    c.nonNegInt(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit');
    checkName(c, c.str(spec.serviceName, 'spec.serviceName'), 'spec.serviceName', isDNS1123Label);
    c.enumStr(spec.podManagementPolicy, 'spec.podManagementPolicy', ['OrderedReady', 'Parallel'], { required: true });
    const us = c.obj(spec.updateStrategy, 'spec.updateStrategy');
    if (us) {
      const type = c.enumStr(us.type, 'spec.updateStrategy.type', ['OnDelete', 'RollingUpdate'], { required: true });
      if (type === 'OnDelete' && !isNil(us.rollingUpdate)) {
        c.add(invalid('spec.updateStrategy.rollingUpdate', new Rendered(renderValue(us.rollingUpdate)), "only allowed for updateStrategy 'RollingUpdate'"));
      }
      const ru = c.obj(us.rollingUpdate, 'spec.updateStrategy.rollingUpdate');
      if (ru) {
        c.nonNegInt(ru.partition, 'spec.updateStrategy.rollingUpdate.partition');
        const mu = validateIntOrPercent(c, ru.maxUnavailable, 'spec.updateStrategy.rollingUpdate.maxUnavailable');
        if (mu === 0) c.add(invalid('spec.updateStrategy.rollingUpdate.maxUnavailable', ru.maxUnavailable, 'must be greater than 0'));
        notMoreThan100Percent(c, ru.maxUnavailable, 'spec.updateStrategy.rollingUpdate.maxUnavailable');
      }
    }
    const pol = c.obj(spec.persistentVolumeClaimRetentionPolicy, 'spec.persistentVolumeClaimRetentionPolicy');
    if (pol) {
      c.enumStr(pol.whenDeleted, 'spec.persistentVolumeClaimRetentionPolicy.whenDeleted', ['Delete', 'Retain'], { required: true });
      c.enumStr(pol.whenScaled, 'spec.persistentVolumeClaimRetentionPolicy.whenScaled', ['Delete', 'Retain'], { required: true });
    }
    const ord = c.obj(spec.ordinals, 'spec.ordinals');
    if (ord) c.nonNegInt(ord.start, 'spec.ordinals.start');
    c.objArr(spec.volumeClaimTemplates, 'spec.volumeClaimTemplates', (t, p) => {
      const m = c.obj(t.metadata, child(p, 'metadata'));
      const n = m ? c.str(m.name, child(p, 'metadata', 'name')) : undefined;
      if (!n) {
        if (!m || isNil(m.name) || m.name === '') c.add(required(child(p, 'metadata', 'name')));
      } else checkName(c, n, child(p, 'metadata', 'name'), isDNS1123Label);
      validatePVCSpec(c, t.spec, child(p, 'spec'));
    });
    // the controller adds a volume per volumeClaimTemplate, so containers may mount them
    const claimVolumes = Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates.map((t: Obj) => (isObj(t) && isObj(t.metadata) ? t.metadata.name : undefined)).filter((n): n is string => typeof n === 'string') : [];
    validateSelectorAndTemplate(c, spec, 'statefulset', ['Always'], claimVolumes);
  }
  if (old && isObj(obj.spec) && isObj(old.spec)) {
    const a: Obj = { ...obj.spec };
    const b: Obj = { ...old.spec };
    for (const f of STS_MUTABLE) {
      delete a[f];
      delete b[f];
    }
    if (!deepEqual(a, b)) {
      c.add(
        forbidden(
          'spec',
          "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ),
      );
    }
  }
}

// ---- DaemonSet -------------------------------------------------------------------------------------

export function validateDaemonSet(c: Ctx, obj: Obj, old?: Obj): void {
  const spec = specOf(c, obj);
  if (spec) {
    c.nonNegInt(spec.minReadySeconds, 'spec.minReadySeconds');
    c.nonNegInt(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit');
    c.nonNegInt(spec.templateGeneration, 'spec.templateGeneration');
    validateSelectorAndTemplate(c, spec, 'daemonset');
    const us = c.obj(spec.updateStrategy, 'spec.updateStrategy');
    if (us) {
      const type = c.enumStr(us.type, 'spec.updateStrategy.type', ['OnDelete', 'RollingUpdate'], { required: true });
      if (type === 'OnDelete' && !isNil(us.rollingUpdate)) {
        c.add(forbidden('spec.updateStrategy.rollingUpdate', "may not be specified when strategy `type` is 'OnDelete'"));
      }
      if (type === 'RollingUpdate' && isNil(us.rollingUpdate)) c.add(required('spec.updateStrategy.rollingUpdate'));
      const ru = c.obj(us.rollingUpdate, 'spec.updateStrategy.rollingUpdate');
      if (ru) {
        const p = 'spec.updateStrategy.rollingUpdate';
        const mu = validateIntOrPercent(c, ru.maxUnavailable, child(p, 'maxUnavailable'));
        const ms = validateIntOrPercent(c, ru.maxSurge, child(p, 'maxSurge'));
        const muZero = (mu ?? (isNil(ru.maxUnavailable) ? 0 : -1)) === 0;
        const msZero = (ms ?? (isNil(ru.maxSurge) ? 0 : -1)) === 0;
        if (muZero && msZero) c.add(invalid(child(p, 'maxUnavailable'), ru.maxUnavailable ?? 0, 'may not be 0 when `maxSurge` is 0'));
        else if (mu !== undefined && ms !== undefined && mu > 0 && ms > 0) c.add(invalid(child(p, 'maxSurge'), ru.maxSurge, 'may not be set when maxUnavailable is non-zero'));
        notMoreThan100Percent(c, ru.maxUnavailable, child(p, 'maxUnavailable'));
        notMoreThan100Percent(c, ru.maxSurge, child(p, 'maxSurge'));
      }
    }
  }
  if (old) selectorImmutable(c, obj.spec, old.spec);
}
