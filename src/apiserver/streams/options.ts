/**
 * Query parameters of the pod stream subresources, parsed and validated as Kubernetes does
 * (`PodLogOptions`, `PodExecOptions`, `PodAttachOptions`). Errors are ApiErrors: 400 for a
 * value that does not parse, 422 Invalid (kind PodLogOptions) for one that fails validation.
 */
import { BadRequestError, InvalidError, type FieldError } from '../../util/errors';

/** Go's strconv.ParseBool; an absent or empty parameter is false. */
export function parseBool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null || v === '') return false;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  throw new BadRequestError(`strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}

function parseInteger(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^[+-]?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw new BadRequestError(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  }
  return Number(v);
}

/** RFC 3339 with optional fraction, as Go's time.RFC3339 parser accepts. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export interface PodLogQuery {
  container?: string;
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines?: number;
  limitBytes?: number;
  /** Only output at or after this time (ms since epoch), from sinceSeconds or sinceTime. */
  since?: number;
}

/** Parses and validates `PodLogOptions`; `now` turns `sinceSeconds` into a time. */
export function parseLogQuery(q: URLSearchParams, podName: string, now: number): PodLogQuery {
  const out: PodLogQuery = {
    follow: parseBool(q, 'follow'),
    previous: parseBool(q, 'previous'),
    timestamps: parseBool(q, 'timestamps'),
  };
  const container = q.get('container');
  if (container) out.container = container;
  const tailLines = parseInteger(q, 'tailLines');
  const limitBytes = parseInteger(q, 'limitBytes');
  const sinceSeconds = parseInteger(q, 'sinceSeconds');
  const sinceTimeRaw = q.get('sinceTime');
  let sinceTime: number | undefined;
  if (sinceTimeRaw) {
    const t = RFC3339.test(sinceTimeRaw) ? Date.parse(sinceTimeRaw.toUpperCase()) : NaN;
    if (Number.isNaN(t)) {
      throw new BadRequestError(`parsing time ${JSON.stringify(sinceTimeRaw)} as "2006-01-02T15:04:05Z07:00": cannot parse ${JSON.stringify(sinceTimeRaw)} as RFC3339`);
    }
    sinceTime = t;
  }
  const errs: FieldError[] = [];
  if (tailLines !== undefined && tailLines < 0) errs.push({ type: 'FieldValueInvalid', field: 'tailLines', message: `Invalid value: ${tailLines}: must be greater than or equal to 0` });
  if (limitBytes !== undefined && limitBytes < 1) errs.push({ type: 'FieldValueInvalid', field: 'limitBytes', message: `Invalid value: ${limitBytes}: must be greater than 0` });
  if (sinceSeconds !== undefined && sinceTime !== undefined) {
    errs.push({ type: 'FieldValueForbidden', field: '', message: 'Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified' });
  } else if (sinceSeconds !== undefined && sinceSeconds < 1) {
    errs.push({ type: 'FieldValueInvalid', field: 'sinceSeconds', message: `Invalid value: ${sinceSeconds}: must be greater than 0` });
  }
  if (errs.length) throw new InvalidError('PodLogOptions', '', podName, errs);
  if (tailLines !== undefined) out.tailLines = tailLines;
  if (limitBytes !== undefined) out.limitBytes = limitBytes;
  if (sinceSeconds !== undefined) out.since = now - sinceSeconds * 1000;
  if (sinceTime !== undefined) out.since = sinceTime;
  return out;
}

export interface RemoteCommandQuery {
  /** exec only: the command and its arguments. */
  command: string[];
  container?: string;
  stdin: boolean;
  stdout: boolean;
  /** Always false with `tty` (a terminal merges stderr into stdout). */
  stderr: boolean;
  tty: boolean;
}

/** Parses `PodExecOptions` (`sub` = exec) or `PodAttachOptions` (`sub` = attach). */
export function parseRemoteCommandQuery(q: URLSearchParams, sub: 'exec' | 'attach'): RemoteCommandQuery {
  const tty = parseBool(q, 'tty');
  const out: RemoteCommandQuery = {
    command: q.getAll('command'),
    stdin: parseBool(q, 'stdin'),
    stdout: parseBool(q, 'stdout'),
    stderr: parseBool(q, 'stderr') && !tty,
    tty,
  };
  const container = q.get('container');
  if (container) out.container = container;
  if (sub === 'exec' && out.command.length === 0) throw new BadRequestError('you must specify at least one command for the container');
  if (!out.stdin && !out.stdout && !out.stderr) throw new BadRequestError('you must specify at least 1 of stdin, stdout, stderr');
  return out;
}
