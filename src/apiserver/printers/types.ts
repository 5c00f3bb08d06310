/**
 * Shapes of the meta.k8s.io/v1 Table pieces produced by the printers, and of a per-kind printer.
 */
import type { KObject } from '../../api/types';

/** meta.k8s.io/v1 TableColumnDefinition. priority 0 columns always show; priority 1 only with `-o wide`. */
export interface ColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

/** meta.k8s.io/v1 TableRowCondition (Kubernetes marks finished pods with type "Completed"). */
export interface TableRowCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/**
 * One table row: `cells` line up with the column definitions (wide columns included);
 * `object` is the original object, which the server turns into PartialObjectMetadata or the
 * full object depending on the request's includeObject.
 */
export interface TableRow {
  cells: unknown[];
  object: KObject;
  conditions?: TableRowCondition[];
}

/** A kind's printer: its columns and a function producing one row's cells (all columns, wide included). */
export interface KindPrinter {
  columns: ColumnDefinition[];
  cells(obj: KObject, now: Date): unknown[];
  conditions?(obj: KObject): TableRowCondition[] | undefined;
}

/** Builds a column definition; `format` is only set for the name column ("name"). */
export function col(name: string, description: string, opts: { type?: string; format?: string; priority?: number } = {}): ColumnDefinition {
  return { name, type: opts.type ?? 'string', format: opts.format ?? '', description, priority: opts.priority ?? 0 };
}

export const NAME_DESC =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated.';
export const AGE_DESC =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is represented in RFC3339 form and is in UTC.';

export const NAME_COL = col('Name', NAME_DESC, { format: 'name' });
export const AGE_COL = col('Age', AGE_DESC);
export const CONTAINERS_COL = col('Containers', 'Names of each container in the template.', { priority: 1 });
export const IMAGES_COL = col('Images', 'Images referenced by each container in the template.', { priority: 1 });
export const SELECTOR_COL = col('Selector', 'A label query over the objects this controller manages.', { priority: 1 });
