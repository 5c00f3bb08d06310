import { BadRequestError, UnsupportedMediaTypeError } from '../../util/errors';
import { applyJsonPatch } from './json-patch';
import { isObject, jsonType } from './json-util';
import { applyMergePatch } from './merge-patch';
import { applyStrategicMergePatch } from './strategic-merge-patch';

/**
 * The PATCH request bodies the apiserver accepts, as pure functions over JSON values.
 * Server-side apply (`application/apply-patch+yaml`) is not dispatched here: the caller
 * decodes the YAML and calls `mergeForServerSideApply`.
 */
export { applyJsonPatch, formatPointer, parsePointer } from './json-patch';
export { applyMergePatch } from './merge-patch';
export { applyStrategicMergePatch, hasStrategicMergeSchema } from './strategic-merge-patch';
export { mergeForServerSideApply } from './apply';
export { PatchApplyError } from './errors';

export const JSON_PATCH = 'application/json-patch+json';
export const MERGE_PATCH = 'application/merge-patch+json';
export const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';
export const APPLY_PATCH = 'application/apply-patch+yaml';

/**
 * Applies a PATCH body to `doc` (the live object) and returns the patched object; `doc`
 * and `patchBody` are never modified.
 *
 * - `contentType` may carry parameters (`; charset=utf-8`) and any letter case;
 * - `patchBody` is the decoded JSON value, or the raw body as a string/Buffer (parsed here;
 *   invalid JSON is a BadRequestError);
 * - `kind` (e.g. `Deployment`) selects the strategic merge metadata;
 * - merge and strategic merge patches must be JSON objects (400 otherwise; `null` is a no-op);
 * - any other media type, including apply-patch+yaml, throws UnsupportedMediaTypeError (415).
 *
 * Errors from the individual patch types are documented in their modules: BadRequestError
 * (400) for malformed patches, PatchApplyError (422) for patches that cannot apply.
 */
export function applyPatch(doc: unknown, patchBody: unknown, contentType: string, kind: string): unknown {
  const mediaType = (contentType ?? '').split(';')[0].trim().toLowerCase();
  switch (mediaType) {
    case JSON_PATCH:
      return applyJsonPatch(doc, decode(patchBody));
    case MERGE_PATCH: {
      const patch = decode(patchBody);
      if (patch === null) return applyMergePatch(doc, {});
      if (!isObject(patch)) throw new BadRequestError(`a merge patch must be a JSON object, got ${jsonType(patch)}`);
      return applyMergePatch(doc, patch);
    }
    case STRATEGIC_MERGE_PATCH:
      return applyStrategicMergePatch(doc, decode(patchBody), kind);
    default:
      throw new UnsupportedMediaTypeError(contentType);
  }
}

function decode(body: unknown): unknown {
  let text: string | undefined;
  if (typeof body === 'string') text = body;
  else if (body instanceof Uint8Array) text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  if (text === undefined) return body;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new BadRequestError(`the patch body is not valid JSON: ${(e as Error).message}`);
  }
}
