/**
 * Container environment, as the kubelet builds it (kubelet_pods.go `makeEnvironmentVariables`):
 *
 *  1. `envFrom` sources in order (configMap / secret, each key prefixed with `prefix`);
 *  2. `env` entries in order: `value` with `$(VAR)` expanded against the variables defined so
 *     far and the Service variables; or `valueFrom` (fieldRef, resourceFieldRef,
 *     configMapKeyRef, secretKeyRef, honouring `optional`);
 *  3. Service variables (`serviceEnv`) not already defined.
 *
 * A later definition of a name replaces the value of an earlier one in place. Errors that
 * keep the container from being created (missing configMap/secret/key that is not optional)
 * are `ContainerConfigError`s, which the kubelet reports as `CreateContainerConfigError`.
 *
 * `expand` implements Kubernetes' `$(VAR)` syntax (third_party/forked/golang/expansion):
 * `$(NAME)` is replaced when NAME is defined and kept verbatim otherwise, `$$` is an escaped
 * `$`, and an unterminated `$(` is kept as is. Command, args and subPathExpr are expanded
 * against the final environment.
 */
import { tryParseQuantity } from '../api/quantity';
import type { KObject } from '../api/types';
import type { KeyValue } from './runtime/container-runtime';

/** The container cannot be created because of its configuration (kubelet `CreateContainerConfigError`). */
export class ContainerConfigError extends Error {
  readonly reason = 'CreateContainerConfigError';
  constructor(message: string) {
    super(message);
    this.name = 'ContainerConfigError';
  }
}

export type Mapping = (name: string) => string;

/** Expand `$(VAR)` references in `input` with `mapping` (see the file comment for the syntax). */
export function expand(input: string, mapping: Mapping): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] === '$' && cursor + 1 < input.length) {
      out += input.slice(checkpoint, cursor);
      const [read, isVar, advance] = tryReadVariableName(input.slice(cursor + 1));
      out += isVar ? mapping(read) : read;
      cursor += advance;
      checkpoint = cursor + 1;
    }
  }
  return out + input.slice(checkpoint);
}

function tryReadVariableName(input: string): [string, boolean, number] {
  switch (input[0]) {
    case '$':
      return ['$', false, 1];
    case '(':
      for (let i = 1; i < input.length; i++) {
        if (input[i] === ')') return [input.slice(1, i), true, i + 1];
      }
      return ['$(', false, 1];
    default:
      return ['$' + input[0], false, 1];
  }
}

/** A mapping looking `name` up in each context in turn; undefined names stay `$(name)`. */
export function mappingFuncFor(...contexts: Array<Map<string, string> | Record<string, string> | undefined>): Mapping {
  return (name) => {
    for (const c of contexts) {
      if (!c) continue;
      if (c instanceof Map) {
        if (c.has(name)) return c.get(name)!;
      } else if (Object.prototype.hasOwnProperty.call(c, name)) {
        return c[name];
      }
    }
    return `$(${name})`;
  };
}

/** Command and args with `$(VAR)` expanded against the container's final environment. */
export function expandCommandAndArgs(container: { command?: string[]; args?: string[] }, env: KeyValue[]): { command?: string[]; args?: string[] } {
  const m = new Map(env.map((e) => [e.name, e.value] as [string, string]));
  const mapping = mappingFuncFor(m);
  return {
    command: container.command?.map((c) => expand(String(c), mapping)),
    args: container.args?.map((a) => expand(String(a), mapping)),
  };
}

/** Go's `%q` for the strings Kubernetes puts in downward API files (ASCII-faithful). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

/** `k="v"` lines sorted by key, the downward API rendering of labels/annotations. */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${goQuote(m![k])}`)
    .join('\n');
}

/** What a fieldRef or resourceFieldRef may read besides the pod object itself. */
export interface PodFieldContext {
  podIP?: string;
  podIPs?: string[];
  hostIP?: string;
  hostIPs?: string[];
  /** Node allocatable, used for limits that are not set: cpu in cores, memory/storage in bytes. */
  nodeAllocatable?: { cpu?: number; memory?: number; 'ephemeral-storage'?: number };
}

const LABEL_OR_ANNOTATION = /^metadata\.(labels|annotations)\['(.*)'\]$/;

/**
 * The value of a pod field path (fieldRef): metadata.name/namespace/uid,
 * metadata.labels['k'], metadata.annotations['k'], metadata.labels, metadata.annotations,
 * spec.nodeName, spec.serviceAccountName, status.hostIP(s), status.podIP(s).
 * Throws ContainerConfigError for an unsupported path.
 */
export function podFieldValue(pod: KObject, fieldPath: string, ctx: PodFieldContext): string {
  const m = LABEL_OR_ANNOTATION.exec(fieldPath);
  if (m) {
    const map = (m[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations) ?? {};
    return map[m[2]] ?? '';
  }
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata.name ?? '';
    case 'metadata.namespace':
      return pod.metadata.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'metadata.labels':
      return formatMap(pod.metadata.labels);
    case 'metadata.annotations':
      return formatMap(pod.metadata.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
      return ctx.hostIP ?? '';
    case 'status.hostIPs':
      return (ctx.hostIPs ?? (ctx.hostIP ? [ctx.hostIP] : [])).join(',');
    case 'status.podIP':
      return ctx.podIP ?? '';
    case 'status.podIPs':
      return (ctx.podIPs ?? (ctx.podIP ? [ctx.podIP] : [])).join(',');
    default:
      throw new ContainerConfigError(`unsupported fieldPath: ${fieldPath}`);
  }
}

/**
 * A resourceFieldRef value (`limits.cpu`, `requests.memory`, …) divided by `divisor` and
 * rounded up, as Kubernetes does. Unset limits fall back to the node's allocatable.
 */
export function resourceFieldValue(
  pod: KObject,
  containerName: string,
  resource: string,
  divisor: string | number | undefined,
  ctx: PodFieldContext,
): string {
  const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  const c = all.find((x: { name: string }) => x.name === containerName);
  if (!c) throw new ContainerConfigError(`container ${containerName} not found in pod ${pod.metadata.namespace}/${pod.metadata.name}`);
  const [kind, name] = resource.split('.', 2) as [string, string];
  if ((kind !== 'limits' && kind !== 'requests') || !['cpu', 'memory', 'ephemeral-storage'].includes(name ?? '')) {
    throw new ContainerConfigError(`unsupported container resource: ${resource}`);
  }
  const res = c.resources ?? {};
  let value = tryParseQuantity(res[kind]?.[name]);
  if (value === undefined && kind === 'limits') value = ctx.nodeAllocatable?.[name as 'cpu'];
  if (value === undefined && kind === 'requests' && name !== 'cpu') value = 0;
  if (value === undefined) value = 0;
  let div = tryParseQuantity(divisor ?? '1') ?? 1;
  if (div <= 0) div = 1;
  if (name === 'cpu') {
    // Kubernetes divides milli-values and rounds up.
    return String(Math.ceil(Math.round(value * 1000) / Math.round(div * 1000 || 1)));
  }
  return String(Math.ceil(value / div));
}

/** Where configMaps, secrets and Service variables come from. */
export interface EnvSources {
  configMap(namespace: string, name: string): KObject | undefined;
  secret(namespace: string, name: string): KObject | undefined;
  /** Service environment variables of the pod's namespace (already filtered by enableServiceLinks). */
  serviceEnv?: Record<string, string>;
}

export interface EnvResult {
  env: KeyValue[];
  /** Non-fatal problems to report as events (e.g. skipped envFrom keys). */
  warnings: string[];
}

/** A valid environment variable name: non-empty printable ASCII without `=`. */
export function isValidEnvName(k: string): boolean {
  return k.length > 0 && /^[\x20-\x7e]+$/.test(k) && !k.includes('=');
}

function secretValue(s: KObject, key: string): string | undefined {
  const d = s.data?.[key];
  if (typeof d === 'string') return Buffer.from(d, 'base64').toString('utf8');
  const sd = s.stringData?.[key];
  return typeof sd === 'string' ? sd : undefined;
}

function secretKeys(s: KObject): string[] {
  return [...new Set([...Object.keys(s.data ?? {}), ...Object.keys(s.stringData ?? {})])];
}

/**
 * Build the environment of `container` of `pod`. Throws ContainerConfigError for a
 * non-optional missing source or key, or an unsupported field.
 */
export function makeEnvironment(pod: KObject, container: KObject['spec'], ctx: PodFieldContext, sources: EnvSources): EnvResult {
  const ns = pod.metadata.namespace ?? 'default';
  const tmp = new Map<string, string>();
  const warnings: string[] = [];
  const serviceEnv = sources.serviceEnv ?? {};
  const mapping = mappingFuncFor(tmp, serviceEnv);

  for (const ef of container.envFrom ?? []) {
    const prefix: string = ef.prefix ?? '';
    if (ef.configMapRef) {
      const name = ef.configMapRef.name;
      const cm = sources.configMap(ns, name);
      if (!cm) {
        if (ef.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${name}" not found`);
      }
      const invalid: string[] = [];
      for (const [k, v] of Object.entries((cm.data ?? {}) as Record<string, string>)) {
        const key = prefix + k;
        if (!isValidEnvName(key)) {
          invalid.push(key);
          continue;
        }
        tmp.set(key, v);
      }
      if (invalid.length) {
        warnings.push(`Keys [${invalid.sort().join(', ')}] from the EnvFrom configMap ${ns}/${name} were skipped since they are considered invalid environment variable names.`);
      }
    } else if (ef.secretRef) {
      const name = ef.secretRef.name;
      const s = sources.secret(ns, name);
      if (!s) {
        if (ef.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${name}" not found`);
      }
      const invalid: string[] = [];
      for (const k of secretKeys(s)) {
        const key = prefix + k;
        if (!isValidEnvName(key)) {
          invalid.push(key);
          continue;
        }
        tmp.set(key, secretValue(s, k) ?? '');
      }
      if (invalid.length) {
        warnings.push(`Keys [${invalid.sort().join(', ')}] from the EnvFrom secret ${ns}/${name} were skipped since they are considered invalid environment variable names.`);
      }
    }
  }

  for (const e of container.env ?? []) {
    const name: string = e.name;
    const literal: string = typeof e.value === 'string' ? e.value : '';
    let value: string | undefined = literal;
    if (literal !== '') {
      value = expand(literal, mapping);
    } else if (e.valueFrom) {
      const vf = e.valueFrom;
      if (vf.fieldRef) {
        value = podFieldValue(pod, vf.fieldRef.fieldPath, ctx);
      } else if (vf.resourceFieldRef) {
        const cname = vf.resourceFieldRef.containerName || container.name;
        value = resourceFieldValue(pod, cname, vf.resourceFieldRef.resource, vf.resourceFieldRef.divisor, ctx);
      } else if (vf.configMapKeyRef) {
        const { name: cmName, key, optional } = vf.configMapKeyRef;
        const cm = sources.configMap(ns, cmName);
        if (!cm) {
          if (optional) continue;
          throw new ContainerConfigError(`configmap "${cmName}" not found`);
        }
        const v = cm.data?.[key];
        if (typeof v !== 'string') {
          if (optional) continue;
          throw new ContainerConfigError(`couldn't find key ${key} in ConfigMap ${ns}/${cmName}`);
        }
        value = v;
      } else if (vf.secretKeyRef) {
        const { name: sName, key, optional } = vf.secretKeyRef;
        const s = sources.secret(ns, sName);
        if (!s) {
          if (optional) continue;
          throw new ContainerConfigError(`secret "${sName}" not found`);
        }
        const v = secretValue(s, key);
        if (v === undefined) {
          if (optional) continue;
          throw new ContainerConfigError(`couldn't find key ${key} in Secret ${ns}/${sName}`);
        }
        value = v;
      }
    }
    tmp.set(name, value ?? '');
  }

  const env: KeyValue[] = [...tmp].map(([n, v]) => ({ name: n, value: v }));
  for (const [k, v] of Object.entries(serviceEnv)) if (!tmp.has(k)) env.push({ name: k, value: v });
  return { env, warnings };
}
