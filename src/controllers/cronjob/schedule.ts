import { parseCronSchedule, type CronSchedule } from '../../api/validation/cron';

/**
 * CronJob time arithmetic: the next activation of a 5-field schedule in an IANA time zone, and
 * the "most recent missed start" computation of Kubernetes' CronJob controller.
 *
 * `next` follows robfig/cron v3 (`SpecSchedule.Next`), which Kubernetes uses, including its
 * daylight-saving behaviour: a wall-clock time skipped by a spring-forward transition does not
 * run that day, and a time repeated by a fall-back transition runs twice (once per offset).
 * Time zones come from `Intl` (the ICU data shipped with Node.js); no package is used.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Wall-clock fields of an instant in one zone. `month` is 1-12, `weekday` 0 = Sunday. */
export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
}

/**
 * One IANA zone. `fields` converts an instant to wall-clock fields; `date` converts (possibly
 * out-of-range, normalised like Go's `time.Date`) wall-clock fields to an instant. Zones whose
 * offsets are not whole minutes (historic LMT) are handled at whole-second precision.
 */
export class TimeZone {
  private static readonly cache = new Map<string, TimeZone>();
  private readonly fmt?: Intl.DateTimeFormat;

  private constructor(readonly name: string) {
    if (name !== 'UTC') {
      this.fmt = new Intl.DateTimeFormat('en-US', {
        timeZone: name,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    }
  }

  /** The zone, or throws a RangeError for a name Intl does not know. `''`/undefined is UTC. */
  static get(name: string | undefined): TimeZone {
    const key = !name || name === 'Etc/UTC' ? 'UTC' : name;
    let z = TimeZone.cache.get(key);
    if (!z) {
      z = new TimeZone(key);
      TimeZone.cache.set(key, z);
    }
    return z;
  }

  fields(ms: number): WallClock {
    const s = Math.floor(ms / SECOND) * SECOND;
    if (!this.fmt) return utcFields(s);
    const p: Record<string, number> = {};
    for (const part of this.fmt.formatToParts(new Date(s))) {
      if (part.type !== 'literal') p[part.type] = Number(part.value);
    }
    const year = p.year;
    const weekday = new Date(Date.UTC(year, p.month - 1, p.day)).getUTCDay();
    return { year, month: p.month, day: p.day, hour: p.hour === 24 ? 0 : p.hour, minute: p.minute, second: p.second, weekday };
  }

  /** Offset from UTC in ms at the instant `ms` (positive east of Greenwich). */
  offset(ms: number): number {
    if (!this.fmt) return 0;
    const s = Math.floor(ms / SECOND) * SECOND;
    const f = this.fields(s);
    return Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second) - s;
  }

  /**
   * The instant of wall-clock time (year, month 1-12, day, hour, minute, second), normalising
   * overflowing fields. A time in a spring-forward gap or a fall-back overlap resolves the way
   * Go's `time.Date` does: with the offset in force just before the transition, re-checked once.
   */
  date(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
    const local = Date.UTC(year, month - 1, day, hour, minute, second);
    if (!this.fmt) return local;
    const off1 = this.offset(local);
    const utc = local - off1;
    const off2 = this.offset(utc);
    return off2 === off1 ? utc : local - off2;
  }

  /** RFC 3339 with this zone's numeric offset (`2024-03-10T01:30:00-05:00`; `Z` for UTC). */
  format(ms: number): string {
    const f = this.fields(ms);
    const off = this.offset(ms);
    const pad = (n: number, w = 2) => String(n).padStart(w, '0');
    const base = `${pad(f.year, 4)}-${pad(f.month)}-${pad(f.day)}T${pad(f.hour)}:${pad(f.minute)}:${pad(f.second)}`;
    if (off === 0) return base + 'Z';
    const a = Math.abs(off) / MINUTE;
    return `${base}${off < 0 ? '-' : '+'}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
  }
}

function utcFields(ms: number): WallClock {
  const d = new Date(ms);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    weekday: d.getUTCDay(),
  };
}

/** A parsed schedule bound to a zone. */
export class Schedule {
  private readonly minutes: Set<number>;
  private readonly hours: Set<number>;
  private readonly dom: Set<number>;
  private readonly months: Set<number>;
  private readonly dow: Set<number>;

  constructor(
    readonly spec: CronSchedule,
    readonly zone: TimeZone,
  ) {
    this.minutes = new Set(spec.minutes);
    this.hours = new Set(spec.hours);
    this.dom = new Set(spec.daysOfMonth);
    this.months = new Set(spec.months);
    this.dow = new Set(spec.daysOfWeek);
  }

  private dayMatches(f: WallClock): boolean {
    const domMatch = this.dom.has(f.day);
    const dowMatch = this.dow.has(f.weekday);
    if (this.spec.domStar || this.spec.dowStar) return domMatch && dowMatch;
    return domMatch || dowMatch;
  }

  /**
   * The first activation strictly after `fromMs` (whole seconds), or undefined when none falls
   * within five years (e.g. `0 0 30 2 *`).
   */
  next(fromMs: number): number | undefined {
    const z = this.zone;
    let t = Math.floor(fromMs / SECOND) * SECOND + SECOND;
    let added = false;
    const yearLimit = z.fields(t).year + 5;
    wrap: for (;;) {
      let f = z.fields(t);
      if (f.year > yearLimit) return undefined;
      while (!this.months.has(f.month)) {
        if (!added) {
          added = true;
          t = z.date(f.year, f.month, 1, 0, 0, 0);
          f = z.fields(t);
        }
        t = z.date(f.year, f.month + 1, f.day, f.hour, f.minute, f.second);
        f = z.fields(t);
        if (f.month === 1) continue wrap;
      }
      while (!this.dayMatches(f)) {
        if (!added) {
          added = true;
          t = z.date(f.year, f.month, f.day, 0, 0, 0);
          f = z.fields(t);
        }
        t = z.date(f.year, f.month, f.day + 1, f.hour, f.minute, f.second);
        f = z.fields(t);
        // Midnight may not exist on a DST day: snap back to it (or forward past 12 h).
        if (f.hour !== 0) {
          t += f.hour > 12 ? (24 - f.hour) * HOUR : -f.hour * HOUR;
          f = z.fields(t);
        }
        if (f.day === 1) continue wrap;
      }
      while (!this.hours.has(f.hour)) {
        if (!added) {
          added = true;
          t = z.date(f.year, f.month, f.day, f.hour, 0, 0);
          f = z.fields(t);
        }
        t += HOUR;
        f = z.fields(t);
        if (f.hour === 0) continue wrap;
      }
      while (!this.minutes.has(f.minute)) {
        if (!added) {
          added = true;
          t = Math.floor(t / MINUTE) * MINUTE;
          f = z.fields(t);
        }
        t += MINUTE;
        f = z.fields(t);
        if (f.minute === 0) continue wrap;
      }
      if (f.second !== 0) {
        // Seconds are not part of a standard schedule: move to the next whole minute.
        t = Math.floor(t / MINUTE) * MINUTE + MINUTE;
        added = true;
        continue wrap;
      }
      return t;
    }
  }
}

/**
 * Parses `spec.schedule` with `spec.timeZone`. Contract: returns `{schedule}` or `{error}` with a
 * message for an UnparseableSchedule / UnknownTimeZone event; never throws.
 */
export function compileSchedule(schedule: string, timeZone: string | undefined, defaultTimeZone = 'UTC'): { schedule: Schedule; error?: undefined } | { schedule?: undefined; error: string; reason: string } {
  const r = parseCronSchedule(schedule);
  if (r.error !== undefined) return { error: `unparseable schedule: ${JSON.stringify(schedule)} : ${r.error}`, reason: 'UnparseableSchedule' };
  let zone: TimeZone;
  try {
    zone = TimeZone.get(timeZone ?? defaultTimeZone);
  } catch {
    return { error: `invalid timeZone: ${JSON.stringify(timeZone)}: unknown time zone ${timeZone}`, reason: 'UnknownTimeZone' };
  }
  return { schedule: new Schedule(r.schedule, zone) };
}

/** How many start times were missed since the last schedule (Kubernetes' `missedSchedulesType`). */
export type MissedSchedules = 'none' | 'few' | 'many';

export interface MostRecent {
  /** the time schedules are counted from: lastScheduleTime, else creation (then the deadline) */
  earliest: number;
  /** the most recent unmet start time at or before now, if any */
  mostRecent?: number;
  missed: MissedSchedules;
  /** set when two consecutive activations are less than a second apart or none exists */
  error?: string;
}

/**
 * Kubernetes' `mostRecentScheduleTime`: the latest activation in (earliest, now], where earliest
 * is lastScheduleTime (else creationTimestamp), raised to `now - startingDeadlineSeconds` when
 * `includeDeadline`. More than 100 missed activations is reported as `many` (the controller then
 * warns "too many missed start times"); the most recent one is still returned.
 */
export function mostRecentScheduleTime(
  sched: Schedule,
  now: number,
  created: number,
  lastScheduleTime: number | undefined,
  startingDeadlineSeconds: number | undefined,
  includeDeadline: boolean,
): MostRecent {
  let earliest = lastScheduleTime ?? created;
  if (includeDeadline && startingDeadlineSeconds !== undefined) {
    const deadline = now - startingDeadlineSeconds * SECOND;
    if (deadline > earliest) earliest = deadline;
  }
  const t1 = sched.next(earliest);
  if (t1 === undefined) return { earliest, missed: 'none', error: 'the schedule has no activation within five years' };
  if (now < t1) return { earliest, missed: 'none' };
  const t2 = sched.next(t1);
  if (t2 === undefined || now < t2) return { earliest, mostRecent: t1, missed: 'none' };
  const between = Math.round((t2 - t1) / SECOND);
  if (between < 1) return { earliest, missed: 'none', error: 'time difference between two schedules is less than 1 second' };
  const elapsed = Math.floor((now - t1) / SECOND);
  const missedCount = Math.floor(elapsed / between) + 1;
  // Jump close to now by the t1→t2 interval, then let the schedule walk to the exact time
  // (irregular schedules such as `30 6-16/4 * * 1-5` need the walk).
  const potentialEarliest = t1 + (missedCount - 2) * between * SECOND;
  let mostRecent: number | undefined;
  for (let t = sched.next(potentialEarliest); t !== undefined && t <= now; t = sched.next(t)) mostRecent = t;
  const missed: MissedSchedules = missedCount > 100 ? 'many' : missedCount > 0 ? 'few' : 'none';
  return { earliest, mostRecent, missed };
}

/** Padding after the next activation before the controller looks again (NTP skew), as in Kubernetes. */
export const NEXT_SCHEDULE_DELTA_MS = 100;

/**
 * Milliseconds until the controller should look at the CronJob again: the activation after the
 * most recent one (ignoring the starting deadline) plus 100 ms.
 */
export function nextScheduleDelay(sched: Schedule, now: number, created: number, lastScheduleTime: number | undefined): number | undefined {
  const r = mostRecentScheduleTime(sched, now, created, lastScheduleTime, undefined, false);
  let from: number;
  if (r.error !== undefined) from = now;
  else if (r.mostRecent !== undefined) from = r.mostRecent;
  else from = r.missed === 'none' ? r.earliest : now;
  const n = sched.next(from);
  if (n === undefined) return undefined;
  return Math.max(0, n + NEXT_SCHEDULE_DELTA_MS - now);
}
