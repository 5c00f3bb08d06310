import yaml from 'js-yaml';
import type { KObject } from '../api/types';
import type { ResourceInfo } from '../api/scheme';
import { decodeKubernetesProtobuf } from '../api/protobuf';
import { printTable } from './printers';
import { ApiError, BadRequestError, UnsupportedMediaTypeError } from '../util/errors';

/**
 * Request decoding (JSON, YAML, Kubernetes protobuf) and response shaping (Table,
 * PartialObjectMetadata) driven by Content-Type and Accept.
 */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

/** Decodes a request body into a JS value. Empty bodies decode to undefined. */
export function decodeBody(body: Buffer, contentType: string | undefined): unknown {
  const mt = mediaType(contentType);
  if (body.length === 0) return undefined;
  try {
    switch (mt) {
      case '':
      case 'application/json':
      case 'application/json-patch+json':
      case 'application/merge-patch+json':
      case 'application/strategic-merge-patch+json':
        return JSON.parse(body.toString('utf8'));
      case 'application/yaml':
      case 'application/x-yaml':
      case 'text/yaml':
      case 'application/apply-patch+yaml': {
        const docs = yaml.loadAll(body.toString('utf8'));
        if (docs.length > 1) throw new BadRequestError('the request body must contain a single YAML document');
        return docs[0];
      }
      case 'application/vnd.kubernetes.protobuf':
        return decodeKubernetesProtobuf(body);
      default:
        throw new UnsupportedMediaTypeError(contentType ?? '');
    }
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw new BadRequestError(`the request body could not be decoded as ${mt || 'JSON'}: ${(e as Error).message}`);
  }
}

export interface AcceptInfo {
  table: boolean;
  partialMetadata: boolean;
}

/** Reads `Accept: application/json;as=Table;v=v1;g=meta.k8s.io, application/json`. */
export function parseAccept(accept: string | undefined): AcceptInfo {
  const info: AcceptInfo = { table: false, partialMetadata: false };
  for (const part of (accept ?? '').split(',')) {
    const params = part.split(';').map((s) => s.trim());
    const as = params.find((p) => p.startsWith('as='))?.slice(3);
    const g = params.find((p) => p.startsWith('g='))?.slice(2);
    if (g !== 'meta.k8s.io') continue;
    if (as === 'Table') {
      info.table = true;
      return info;
    }
    if (as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') {
      info.partialMetadata = true;
      return info;
    }
  }
  return info;
}

export function partialObjectMetadata(o: KObject): object {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

export function toTable(ri: ResourceInfo, objects: KObject[], resourceVersion: string, includeObject: string | null, withHeaders = true): object {
  const t = printTable(ri, objects, new Date());
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: withHeaders ? t.columnDefinitions : [],
    rows: t.rows.map((r) => ({
      cells: r.cells,
      object: includeObject === 'None' ? undefined : includeObject === 'Object' ? r.object : partialObjectMetadata(r.object),
    })),
  };
}
