import type { KObject } from './types';
import { BadRequestError } from '../util/errors';

/**
 * Label and field selectors: the string forms used in list/watch query parameters and the
 * structured `LabelSelector` used in object specs. A selector is a predicate over an object.
 */
export type Requirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!' };

export type Selector = Requirement[];

const KEY_RE = /^([a-z0-9A-Z]([-a-z0-9A-Z.]*[a-z0-9A-Z])?\/)?[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$/;

/** Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h`. Throws BadRequestError with the offending part. */
export function parseLabelSelector(s: string | undefined | null): Selector {
  const out: Selector = [];
  if (!s || !s.trim()) return out;
  let i = 0;
  const src = s;
  const skipWs = () => {
    while (i < src.length && src[i] === ' ') i++;
  };
  const readKey = () => {
    skipWs();
    const st = i;
    while (i < src.length && !' ,=!()'.includes(src[i])) i++;
    return src.slice(st, i);
  };
  while (i < src.length) {
    skipWs();
    let neg = false;
    if (src[i] === '!') {
      neg = true;
      i++;
    }
    const key = readKey();
    if (!key || !KEY_RE.test(key)) throw new BadRequestError(`unable to parse requirement: invalid label key "${key}" in selector "${s}"`);
    skipWs();
    if (neg) {
      out.push({ key, op: '!' });
    } else if (i >= src.length || src[i] === ',') {
      out.push({ key, op: 'exists' });
    } else if (src.startsWith('!=', i) || src.startsWith('==', i) || src[i] === '=') {
      const op = src.startsWith('!=', i) ? 'notin' : 'in';
      i += src.startsWith('!=', i) || src.startsWith('==', i) ? 2 : 1;
      skipWs();
      const st = i;
      while (i < src.length && src[i] !== ',' && src[i] !== ' ') i++;
      out.push({ key, op, values: [src.slice(st, i)] });
    } else {
      const m = /^(in|notin)\s*\(/.exec(src.slice(i));
      if (!m) throw new BadRequestError(`unable to parse requirement: unexpected "${src.slice(i)}" in selector "${s}"`);
      i += m[0].length;
      const close = src.indexOf(')', i);
      if (close < 0) throw new BadRequestError(`unable to parse requirement: missing ")" in selector "${s}"`);
      const values = src.slice(i, close).split(',').map((v) => v.trim()).filter((v) => v !== '');
      i = close + 1;
      out.push({ key, op: m[1] as 'in' | 'notin', values });
    }
    skipWs();
    if (i < src.length) {
      if (src[i] !== ',') throw new BadRequestError(`unable to parse requirement: expected "," at "${src.slice(i)}" in selector "${s}"`);
      i++;
    }
  }
  return out;
}

export function matchesLabels(sel: Selector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const r of sel) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'exists':
        if (!has) return false;
        break;
      case '!':
        if (has) return false;
        break;
      case 'in':
        if (!has || !r.values.includes(l[r.key])) return false;
        break;
      case 'notin':
        if (has && r.values.includes(l[r.key])) return false;
        break;
    }
  }
  return true;
}

export interface LabelSelectorSpec {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Converts a spec LabelSelector. An empty selector matches everything; null/undefined matches nothing. */
export function fromLabelSelector(ls: LabelSelectorSpec | null | undefined): Selector | null {
  if (!ls) return null;
  const out: Selector = [];
  for (const [k, v] of Object.entries(ls.matchLabels ?? {})) out.push({ key: k, op: 'in', values: [String(v)] });
  for (const e of ls.matchExpressions ?? []) {
    const op = String(e.operator);
    if (op === 'In') out.push({ key: e.key, op: 'in', values: e.values ?? [] });
    else if (op === 'NotIn') out.push({ key: e.key, op: 'notin', values: e.values ?? [] });
    else if (op === 'Exists') out.push({ key: e.key, op: 'exists' });
    else if (op === 'DoesNotExist') out.push({ key: e.key, op: '!' });
  }
  return out;
}

export function labelSelectorMatches(ls: LabelSelectorSpec | null | undefined, labels: Record<string, string> | undefined): boolean {
  const sel = fromLabelSelector(ls);
  return sel !== null && matchesLabels(sel, labels);
}

/** `app=web,tier=db` string form of a selector (used by Scale status and printers). */
export function labelSelectorString(ls: LabelSelectorSpec | null | undefined): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(ls?.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const e of ls?.matchExpressions ?? []) {
    if (e.operator === 'In') parts.push(`${e.key} in (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

export interface FieldRequirement {
  path: string;
  op: '=' | '!=';
  value: string;
}

/** Parses `metadata.name=x,spec.nodeName!=y`. */
export function parseFieldSelector(s: string | undefined | null): FieldRequirement[] {
  const out: FieldRequirement[] = [];
  if (!s || !s.trim()) return out;
  for (const part of s.split(',')) {
    const p = part.trim();
    if (!p) continue;
    const m = /^([A-Za-z0-9_.\-]+)\s*(==|!=|=)\s*(.*)$/.exec(p);
    if (!m) throw new BadRequestError(`invalid field selector: "${p}": expected <field>=<value> or <field>!=<value>`);
    out.push({ path: m[1], op: m[2] === '!=' ? '!=' : '=', value: m[3] });
  }
  return out;
}

function fieldValue(obj: KObject, path: string): string {
  let cur: unknown = obj;
  for (const seg of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[seg];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'object' ? JSON.stringify(cur) : String(cur);
}

export function matchesFields(reqs: FieldRequirement[], obj: KObject): boolean {
  for (const r of reqs) {
    const v = fieldValue(obj, r.path);
    if (r.op === '=' ? v !== r.value : v === r.value) return false;
  }
  return true;
}
