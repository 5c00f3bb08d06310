import { compileSchedule, mostRecentScheduleTime, nextScheduleDelay, TimeZone, type Schedule } from '../../../src/controllers/cronjob/schedule';

function sched(expr: string, tz?: string): Schedule {
  const r = compileSchedule(expr, tz);
  if (!r.schedule) throw new Error(r.error);
  return r.schedule;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const t = (s: string) => Date.parse(s);

describe('Schedule.next (UTC)', () => {
  const cases: [string, string, string | undefined][] = [
    ['* * * * *', '2024-01-01T00:00:00Z', '2024-01-01T00:01:00.000Z'],
    ['* * * * *', '2024-01-01T00:00:30Z', '2024-01-01T00:01:00.000Z'],
    ['*/15 * * * *', '2024-01-01T00:14:59Z', '2024-01-01T00:15:00.000Z'],
    ['5,10-12 * * * *', '2024-01-01T00:10:00Z', '2024-01-01T00:11:00.000Z'],
    ['5,10-12 * * * *', '2024-01-01T00:12:00Z', '2024-01-01T01:05:00.000Z'],
    ['0 9-17/4 * * *', '2024-01-01T10:00:00Z', '2024-01-01T13:00:00.000Z'],
    ['30 6 * * MON-FRI', '2024-01-05T07:00:00Z', '2024-01-08T06:30:00.000Z'], // Fri → Mon
    ['0 0 1 JAN,jul *', '2024-02-01T00:00:00Z', '2024-07-01T00:00:00.000Z'],
    ['0 0 13 * FRI', '2024-01-01T00:00:00Z', '2024-01-05T00:00:00.000Z'], // dom OR dow when neither is *
    ['0 0 13 * *', '2024-01-01T00:00:00Z', '2024-01-13T00:00:00.000Z'],
    ['0 0 * * 0', '2024-01-01T00:00:00Z', '2024-01-07T00:00:00.000Z'], // Sunday
    ['0 0 29 2 *', '2024-03-01T00:00:00Z', '2028-02-29T00:00:00.000Z'], // next leap day
    ['0 0 30 2 *', '2024-01-01T00:00:00Z', undefined], // never
    ['@hourly', '2024-01-01T00:59:59Z', '2024-01-01T01:00:00.000Z'],
    ['@daily', '2024-01-01T00:00:00Z', '2024-01-02T00:00:00.000Z'],
    ['@midnight', '2024-01-01T12:00:00Z', '2024-01-02T00:00:00.000Z'],
    ['@weekly', '2024-01-01T00:00:00Z', '2024-01-07T00:00:00.000Z'],
    ['@monthly', '2024-01-15T00:00:00Z', '2024-02-01T00:00:00.000Z'],
    ['@yearly', '2024-01-01T00:00:00Z', '2025-01-01T00:00:00.000Z'],
    ['@annually', '2024-06-01T00:00:00Z', '2025-01-01T00:00:00.000Z'],
    ['59 23 31 12 *', '2024-12-31T23:59:00Z', '2025-12-31T23:59:00.000Z'],
  ];
  test.each(cases)('%s after %s', (expr, from, want) => {
    expect(iso(sched(expr).next(t(from)))).toBe(want);
  });

  it('rejects bad schedules and unknown zones with a reason', () => {
    expect(compileSchedule('61 * * * *', undefined)).toMatchObject({ reason: 'UnparseableSchedule' });
    expect(compileSchedule('* * *', undefined).error).toContain('expected exactly 5 fields');
    expect(compileSchedule('* * * * *', 'Mars/Olympus')).toMatchObject({ reason: 'UnknownTimeZone' });
  });
});

describe('Schedule.next with timeZone', () => {
  it('evaluates the fields in the zone', () => {
    // 09:00 in Tokyo (UTC+9) is 00:00 UTC
    expect(iso(sched('0 9 * * *', 'Asia/Tokyo').next(t('2024-01-01T01:00:00Z')))).toBe('2024-01-02T00:00:00.000Z');
    // half-hour zone
    expect(iso(sched('0 0 * * *', 'Asia/Kolkata').next(t('2024-01-01T00:00:00Z')))).toBe('2024-01-01T18:30:00.000Z');
  });

  it('skips a wall-clock time that a spring-forward transition removes (New York, 2024-03-10)', () => {
    const s = sched('30 2 * * *', 'America/New_York');
    // 2024-03-09 02:30 EST = 07:30Z; the 10th has no 02:30; next is the 11th 02:30 EDT = 06:30Z
    expect(iso(s.next(t('2024-03-09T07:30:00Z')))).toBe('2024-03-11T06:30:00.000Z');
  });

  it('runs twice in a fall-back overlap, as robfig/cron does (New York, 2024-11-03)', () => {
    const s = sched('30 1 * * *', 'America/New_York');
    const first = s.next(t('2024-11-02T12:00:00Z'));
    expect(iso(first)).toBe('2024-11-03T05:30:00.000Z'); // 01:30 EDT
    const second = s.next(first!);
    expect(iso(second)).toBe('2024-11-03T06:30:00.000Z'); // 01:30 EST
    expect(iso(s.next(second!))).toBe('2024-11-04T06:30:00.000Z');
  });

  it('keeps hourly schedules hourly across DST changes', () => {
    const s = sched('0 * * * *', 'Europe/Berlin');
    // 2024-03-31 02:00 CET does not exist: 01:00 CET (00:00Z) then 03:00 CEST (01:00Z)
    expect(iso(s.next(t('2024-03-31T00:00:00Z')))).toBe('2024-03-31T01:00:00.000Z');
    // 2024-10-27 02:00 CEST → 02:00 CET: both 02:00s are activations (00:00Z and 01:00Z)
    expect(iso(s.next(t('2024-10-26T23:30:00Z')))).toBe('2024-10-27T00:00:00.000Z');
    expect(iso(s.next(t('2024-10-27T00:00:00Z')))).toBe('2024-10-27T01:00:00.000Z');
  });

  it('handles a zone whose midnight is skipped (Santiago, 2024-09-08 00:00 → 01:00)', () => {
    // a daily midnight schedule has no activation that day (as with robfig/cron)
    expect(iso(sched('0 0 * * *', 'America/Santiago').next(t('2024-09-07T12:00:00Z')))).toBe('2024-09-09T03:00:00.000Z');
    // an hourly schedule on that day starts at its first instant, 01:00 -03 (04:00Z)
    const n = sched('0 * 8 9 *', 'America/Santiago').next(t('2024-09-07T12:00:00Z'));
    expect(iso(n)).toBe('2024-09-08T04:00:00.000Z');
    expect(TimeZone.get('America/Santiago').fields(n!).hour).toBe(1);
  });

  it('formats instants in the zone with its offset', () => {
    expect(TimeZone.get('America/New_York').format(t('2024-11-03T06:30:00Z'))).toBe('2024-11-03T01:30:00-05:00');
    expect(TimeZone.get('Asia/Kolkata').format(t('2024-01-01T18:30:00Z'))).toBe('2024-01-02T00:00:00+05:30');
    expect(TimeZone.get(undefined).format(t('2024-01-01T00:00:00Z'))).toBe('2024-01-01T00:00:00Z');
  });
});

describe('mostRecentScheduleTime (missed start times)', () => {
  const every = sched('* * * * *');
  const created = t('2024-01-01T00:00:30Z');

  it('none before the first activation', () => {
    const r = mostRecentScheduleTime(every, t('2024-01-01T00:00:59Z'), created, undefined, undefined, true);
    expect(r.missed).toBe('none');
    expect(r.mostRecent).toBeUndefined();
  });

  it('the single due activation', () => {
    const r = mostRecentScheduleTime(every, t('2024-01-01T00:01:10Z'), created, undefined, undefined, true);
    expect(iso(r.mostRecent)).toBe('2024-01-01T00:01:00.000Z');
  });

  it('the latest of several missed activations', () => {
    const r = mostRecentScheduleTime(every, t('2024-01-01T00:10:10Z'), created, t('2024-01-01T00:03:00Z'), undefined, true);
    expect(r.missed).toBe('few');
    expect(iso(r.mostRecent)).toBe('2024-01-01T00:10:00.000Z');
  });

  it('more than 100 missed activations is "many"; a starting deadline bounds the count', () => {
    const now = t('2024-01-01T05:00:10Z');
    expect(mostRecentScheduleTime(every, now, created, undefined, undefined, true).missed).toBe('many');
    const bounded = mostRecentScheduleTime(every, now, created, undefined, 200, true);
    expect(bounded.missed).toBe('few');
    expect(iso(bounded.mostRecent)).toBe('2024-01-01T05:00:00.000Z');
  });

  it('walks irregular schedules exactly', () => {
    const s = sched('30 6-16/4 * * 1-5'); // 06:30, 10:30, 14:30 on weekdays
    const r = mostRecentScheduleTime(s, t('2024-01-08T12:00:00Z'), t('2024-01-01T00:00:00Z'), undefined, undefined, true);
    expect(iso(r.mostRecent)).toBe('2024-01-08T10:30:00.000Z');
  });

  it('nextScheduleDelay aims 100 ms after the next activation', () => {
    expect(nextScheduleDelay(every, t('2024-01-01T00:01:10Z'), created, t('2024-01-01T00:01:00Z'))).toBe(50_100);
    expect(nextScheduleDelay(sched('0 0 30 2 *'), t('2024-01-01T00:01:10Z'), created, undefined)).toBeUndefined();
  });
});
