/**
 * Prints a meta.k8s.io Table the way kubectl does: upper-cased headers, columns padded and
 * separated by three spaces, priority>0 columns only when wide.
 */
export interface ServerTable {
  columnDefinitions: { name: string; priority: number }[];
  rows: { cells: unknown[]; object?: { metadata?: { namespace?: string; labels?: Record<string, string> } } }[];
}

export interface TableOpts {
  wide?: boolean;
  withNamespace?: boolean;
  showLabels?: boolean;
  noHeaders?: boolean;
  /** prefix for the NAME cells, e.g. `pod/` when several kinds are printed */
  namePrefix?: string;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '<none>';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function renderTable(t: ServerTable, o: TableOpts = {}): string {
  const cols = t.columnDefinitions.map((c, i) => ({ ...c, i })).filter((c) => o.wide || c.priority === 0);
  const header: string[] = [];
  if (o.withNamespace) header.push('NAMESPACE');
  header.push(...cols.map((c) => c.name.toUpperCase()));
  if (o.showLabels) header.push('LABELS');
  const rows = t.rows.map((r) => {
    const out: string[] = [];
    if (o.withNamespace) out.push(r.object?.metadata?.namespace ?? '');
    cols.forEach((c, j) => out.push((j === 0 && o.namePrefix ? o.namePrefix : '') + cell(r.cells[c.i])));
    if (o.showLabels) {
      const l = r.object?.metadata?.labels ?? {};
      out.push(Object.keys(l).length ? Object.entries(l).map(([k, v]) => `${k}=${v}`).join(',') : '<none>');
    }
    return out;
  });
  const all = o.noHeaders ? rows : [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('   ').trimEnd()).join('\n') + (all.length ? '\n' : '');
}
