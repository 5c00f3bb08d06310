import { ApiError } from '../../util/errors';

/**
 * A patch that is well formed but cannot be applied to the current object: a JSON patch
 * `test` that fails, a JSON patch path that does not exist, a strategic merge patch on a
 * list of lists.
 *
 * Matches the Kubernetes apiserver, which answers these with HTTP 422, reason `Invalid`,
 * the generic message "the server rejected our request due to an error in our request"
 * and the specific problem as the single cause (reason `UnexpectedServerResponse`).
 * kubectl prints it as `The request is invalid: <cause message>`.
 */
export class PatchApplyError extends ApiError {
  /** The specific problem, e.g. `testing value /spec/replicas failed: test failed`. */
  readonly detail: string;

  constructor(detail: string) {
    super(422, 'Invalid', 'the server rejected our request due to an error in our request', {
      causes: [{ reason: 'UnexpectedServerResponse', message: detail }],
    });
    this.detail = detail;
  }
}
