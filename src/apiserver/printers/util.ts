/**
 * Formatting helpers shared by the per-kind printers. Each mirrors the Kubernetes helper of the
 * same purpose (duration.HumanDuration, labels.FormatLabels, metav1.FormatLabelSelector, ...), so
 * the cells the server sends look exactly like those of a real API server.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * Kubernetes' duration.HumanDuration: a short approximation with 2-3 significant figures.
 * Up to 2 seconds into the future is tolerated as clock skew ("0s"); anything earlier is
 * "<invalid>". Examples: "45s", "119s", "2m", "5m10s", "10m", "179m", "3h", "7h59m", "8h",
 * "47h", "2d", "7d23h", "8d", "729d", "2y", "2y3d", "8y".
 */
export function humanDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '<invalid>';
  const seconds = Math.trunc(ms / SECOND);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(ms / MINUTE);
  if (minutes < 10) {
    const s = Math.floor(ms / SECOND) % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(ms / HOUR);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    const days = Math.floor(hours / 24);
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const years = Math.floor(hours / 24 / 365);
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    return dy === 0 ? `${years}y` : `${years}y${dy}d`;
  }
  return `${years}y`;
}

/** Parses an RFC 3339 timestamp (metav1.Time or MicroTime); undefined when absent or unparsable. */
export function parseTime(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

/** translateTimestampSince: the age of a timestamp, "<unknown>" when it is unset. */
export function since(value: unknown, now: Date): string {
  const t = parseTime(value);
  if (t === undefined) return '<unknown>';
  return humanDuration(now.getTime() - t);
}

/** labels.FormatLabels: "k1=v1,k2=v2" sorted by key, "<none>" when empty. */
export function formatLabels(labels: Record<string, string> | undefined | null): string {
  const keys = Object.keys(labels ?? {}).sort();
  if (keys.length === 0) return '<none>';
  return keys.map((k) => `${k}=${(labels as Record<string, string>)[k]}`).join(',');
}

interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/**
 * metav1.LabelSelectorAsSelector(...).String(): requirements sorted by key, matchLabels as
 * "k=v", In/NotIn as "k in (a,b)" / "k notin (a,b)" with sorted values, Exists as "k",
 * DoesNotExist as "!k". A nil or empty selector yields "". An unknown operator yields
 * undefined (the conversion error case).
 */
export function labelSelectorString(sel: LabelSelector | undefined | null): string | undefined {
  if (!sel) return '';
  const reqs: { key: string; text: string }[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key: k, text: `${k}=${v}` });
  for (const expr of sel.matchExpressions ?? []) {
    const values = [...(expr.values ?? [])].sort();
    switch (expr.operator) {
      case 'In':
        reqs.push({ key: expr.key, text: `${expr.key} in (${values.join(',')})` });
        break;
      case 'NotIn':
        reqs.push({ key: expr.key, text: `${expr.key} notin (${values.join(',')})` });
        break;
      case 'Exists':
        reqs.push({ key: expr.key, text: expr.key });
        break;
      case 'DoesNotExist':
        reqs.push({ key: expr.key, text: `!${expr.key}` });
        break;
      default:
        return undefined;
    }
  }
  // Stable sort by key, as the Go selector orders its requirements.
  reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return reqs.map((r) => r.text).join(',');
}

/** metav1.FormatLabelSelector: like labelSelectorString, but "<none>" when empty and "<error>" when invalid. */
export function formatLabelSelector(sel: LabelSelector | undefined | null): string {
  const s = labelSelectorString(sel);
  if (s === undefined) return '<error>';
  return s === '' ? '<none>' : s;
}

interface Container {
  name?: string;
  image?: string;
}

/** layoutContainerCells: container names and images, each comma-joined. */
export function containerCells(containers: Container[] | undefined | null): [string, string] {
  const list = containers ?? [];
  return [list.map((c) => c.name ?? '').join(','), list.map((c) => c.image ?? '').join(',')];
}

/** An IntOrString rendered the way intstr.IntOrString.String() does. */
export function intOrString(v: unknown): string {
  if (typeof v === 'number') return String(Math.trunc(v));
  if (typeof v === 'string') return v;
  return '';
}

/** Integer cell: Kubernetes sends int64 cells as JSON numbers; absent values count as 0. */
export function int(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : 0;
}

/** Joins up to `max` items, then " + N more..." like the Kubernetes list formatters; "" if empty. */
export function listWithMore(list: string[], total: number, max: number): string {
  const ret = list.slice(0, max).join(',');
  return total > max ? `${ret} + ${total - max} more...` : ret;
}

/** net.JoinHostPort: IPv6 literals are bracketed. */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** strings.TrimSpace for the ASCII/Unicode whitespace Go trims. */
export function trimSpace(s: unknown): string {
  return typeof s === 'string' ? s.trim() : '';
}

/** printBoolPtr: "True"/"False", "<unset>" when absent. */
export function boolPtr(v: unknown): string {
  if (typeof v !== 'boolean') return '<unset>';
  return v ? 'True' : 'False';
}

/** helper.GetAccessModesAsString: de-duplicated, in the fixed order RWO, ROX, RWX, RWOP. */
export function accessModesString(modes: unknown): string {
  const set = new Set(Array.isArray(modes) ? (modes as string[]) : []);
  const out: string[] = [];
  if (set.has('ReadWriteOnce')) out.push('RWO');
  if (set.has('ReadOnlyMany')) out.push('ROX');
  if (set.has('ReadWriteMany')) out.push('RWX');
  if (set.has('ReadWriteOncePod')) out.push('RWOP');
  return out.join(',');
}

/** sets.NewString(...).List() joined with ",": unique, sorted. */
export function sortedUniqueJoin(items: string[]): string {
  return [...new Set(items)].sort().join(',');
}
