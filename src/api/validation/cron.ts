/**
 * Standard 5-field cron expressions as Kubernetes CronJobs accept them (robfig/cron
 * `ParseStandard` semantics): `minute hour day-of-month month day-of-week`, with `*`, `?`,
 * ranges `a-b`, steps `x/n`, lists `a,b`, month names JAN-DEC and weekday names SUN-SAT, plus the
 * descriptors @yearly/@annually/@monthly/@weekly/@daily/@midnight/@hourly. `@every` is not
 * supported.
 */

export interface CronSchedule {
  minutes: number[];
  hours: number[];
  daysOfMonth: number[];
  months: number[];
  /** 0 = Sunday. */
  daysOfWeek: number[];
  /**
   * True when the day-of-month field starts with `*` or `?`. When either day field is starred
   * a time must match both day fields; otherwise it must match at least one (cron semantics).
   */
  domStar: boolean;
  dowStar: boolean;
}

interface Bounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MONTH_NAMES: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };
const DOW_NAMES: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

const BOUNDS: Bounds[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTH_NAMES },
  { min: 0, max: 6, names: DOW_NAMES },
];

const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

class CronError extends Error {}

function parseIntStrict(expr: string, b: Bounds): number {
  if (b.names) {
    const n = b.names[expr.toLowerCase()];
    if (n !== undefined) return n;
  }
  if (!/^[+-]?[0-9]+$/.test(expr)) throw new CronError(`failed to parse int from ${expr}: strconv.Atoi: parsing ${JSON.stringify(expr)}: invalid syntax`);
  const n = Number(expr);
  if (n < 0) throw new CronError(`negative number (${n}) not allowed: ${expr}`);
  return n;
}

function parseRange(expr: string, b: Bounds, out: Set<number>): boolean {
  const rangeAndStep = expr.split('/');
  const lowAndHigh = rangeAndStep[0].split('-');
  const singleDigit = lowAndHigh.length === 1;
  let star = false;
  let start: number;
  let end: number;
  if (lowAndHigh[0] === '*' || lowAndHigh[0] === '?') {
    start = b.min;
    end = b.max;
    star = true;
    if (lowAndHigh.length > 1) throw new CronError(`too many hyphens: ${expr}`);
  } else {
    start = parseIntStrict(lowAndHigh[0], b);
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) end = parseIntStrict(lowAndHigh[1], b);
    else throw new CronError(`too many hyphens: ${expr}`);
  }
  let step = 1;
  if (rangeAndStep.length === 2) {
    step = parseIntStrict(rangeAndStep[1], { min: 0, max: 0 });
    if (singleDigit && !star) end = b.max;
    if (step > 1) star = false;
  } else if (rangeAndStep.length > 2) {
    throw new CronError(`too many slashes: ${expr}`);
  }
  if (start < b.min) throw new CronError(`beginning of range (${start}) below minimum (${b.min}): ${expr}`);
  if (end > b.max) throw new CronError(`end of range (${end}) above maximum (${b.max}): ${expr}`);
  if (start > end) throw new CronError(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) throw new CronError(`step of range should be a positive number: ${expr}`);
  for (let i = start; i <= end; i += step) out.add(i);
  return star;
}

function parseField(field: string, b: Bounds): { values: number[]; star: boolean } {
  const set = new Set<number>();
  let star = false;
  for (const part of field.split(',')) {
    if (parseRange(part, b, set)) star = true;
  }
  return { values: [...set].sort((x, y) => x - y), star };
}

/**
 * Parses a schedule. Contract: returns `{schedule}` on success or `{error}` with a robfig-style
 * message (`expected exactly 5 fields, found 1: [foo]`); never throws.
 */
export function parseCronSchedule(spec: string): { schedule: CronSchedule; error?: undefined } | { schedule?: undefined; error: string } {
  try {
    let s = spec.trim();
    if (s.startsWith('@')) {
      const d = DESCRIPTORS[s.toLowerCase()];
      if (!d) throw new CronError(`unrecognized descriptor: ${s}`);
      s = d;
    }
    const fields = s.split(/\s+/).filter((f) => f !== '');
    if (fields.length !== 5) {
      throw new CronError(`expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`);
    }
    const parsed = fields.map((f, i) => parseField(f, BOUNDS[i]));
    return {
      schedule: {
        minutes: parsed[0].values,
        hours: parsed[1].values,
        daysOfMonth: parsed[2].values,
        months: parsed[3].values,
        daysOfWeek: parsed[4].values,
        domStar: parsed[2].star,
        dowStar: parsed[4].star,
      },
    };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}
