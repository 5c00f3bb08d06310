import { ApiError } from '../../util/errors';

/**
 * Creations refused because the namespace is terminating are expected while a namespace is
 * deleted; controllers skip them silently instead of reporting a failure (Kubernetes'
 * `NamespaceTerminatingCause`).
 */
export function isNamespaceTerminating(e: unknown): boolean {
  return e instanceof ApiError && e.code === 403 && /being terminated/.test(e.message);
}
