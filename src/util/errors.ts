/**
 * Typed API errors. Every error that reaches a client is one of these and becomes a
 * Kubernetes `Status` object with the matching HTTP code and reason.
 */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = reason + 'Error';
  }

  /** The Kubernetes `Status` body for this error. */
  toStatus(): Record<string, unknown> {
    const s: Record<string, unknown> = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) s.details = this.details;
    return s;
  }
}

/** `resource` is the plural resource name qualified by group, e.g. `deployments.apps` or `pods`. */
export class NotFoundError extends ApiError {
  constructor(resource: string, name: string, group = '') {
    super(404, 'NotFound', `${resource} "${name}" not found`, { name, group, kind: resource.split('.')[0] });
  }
}

export class AlreadyExistsError extends ApiError {
  constructor(resource: string, name: string, group = '') {
    super(409, 'AlreadyExists', `${resource} "${name}" already exists`, { name, group, kind: resource.split('.')[0] });
  }
}

export class ConflictError extends ApiError {
  constructor(resource: string, name: string, why: string, group = '') {
    super(409, 'Conflict', `Operation cannot be fulfilled on ${resource} "${name}": ${why}`, {
      name,
      group,
      kind: resource.split('.')[0],
    });
  }
}

/** A requested resourceVersion has been compacted away (HTTP 410). */
export class ExpiredError extends ApiError {
  constructor(message: string) {
    super(410, 'Expired', message);
  }
}

export class BadRequestError extends ApiError {
  constructor(message: string) {
    super(400, 'BadRequest', message);
  }
}

export class UnsupportedMediaTypeError extends ApiError {
  constructor(contentType: string) {
    super(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml (got ${JSON.stringify(contentType)})`);
  }
}

export class MethodNotAllowedError extends ApiError {
  constructor(message: string) {
    super(405, 'MethodNotAllowed', message);
  }
}

export class UnauthorizedError extends ApiError {
  constructor() {
    super(401, 'Unauthorized', 'Unauthorized');
  }
}

export class TooManyRequestsError extends ApiError {
  constructor(message: string, retryAfterSeconds?: number) {
    super(429, 'TooManyRequests', message, retryAfterSeconds ? { retryAfterSeconds } : undefined);
  }
}

export class RequestEntityTooLargeError extends ApiError {
  constructor(limit: number) {
    super(413, 'RequestEntityTooLarge', `the request body is larger than the limit of ${limit} bytes`);
  }
}

export class InternalError extends ApiError {
  constructor(message: string) {
    super(500, 'InternalError', message);
  }
}

/** One field-level validation failure, as Kubernetes reports it (`field.Error`). */
export interface FieldError {
  /** e.g. `FieldValueRequired`, `FieldValueInvalid`, `FieldValueNotSupported`, `FieldValueDuplicate`, `FieldValueForbidden`, `FieldValueTooLong` */
  type: string;
  /** dotted path, e.g. `spec.template.spec.containers[0].image` */
  field: string;
  message: string;
}

/**
 * 422 Invalid. The message follows Kubernetes: `Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0`.
 */
export class InvalidError extends ApiError {
  constructor(kind: string, group: string, name: string, errors: FieldError[]) {
    const q = group ? `${kind}.${group}` : kind;
    const msgs = errors.map((e) => `${e.field}: ${e.message}`);
    super(422, 'Invalid', `${q} "${name}" is invalid: ${msgs.length === 1 ? msgs[0] : '[' + msgs.join(', ') + ']'}`, {
      name,
      group,
      kind,
      causes: errors.map((e) => ({ reason: e.type, message: e.message, field: e.field })),
    });
  }
}

/** A container-runtime failure carrying the runtime's own output for the log and events. */
export class RuntimeError extends Error {
  constructor(message: string, readonly output?: string) {
    super(message);
    this.name = 'RuntimeError';
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}
