import { parseLogQuery, parseRemoteCommandQuery } from '../../../src/apiserver/streams/options';
import { ApiError } from '../../../src/util/errors';

const NOW = Date.UTC(2024, 0, 1, 12, 0, 0);

function logQ(qs: string) {
  return parseLogQuery(new URLSearchParams(qs), 'web', NOW);
}

function errorOf(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('no error thrown');
}

describe('PodLogOptions', () => {
  test('defaults', () => {
    expect(logQ('')).toEqual({ follow: false, previous: false, timestamps: false });
  });

  test('all options', () => {
    expect(logQ('container=app&follow=true&previous=1&timestamps=true&tailLines=10&limitBytes=500&sinceSeconds=60')).toEqual({
      container: 'app',
      follow: true,
      previous: true,
      timestamps: true,
      tailLines: 10,
      limitBytes: 500,
      since: NOW - 60_000,
    });
  });

  test('sinceTime is RFC 3339', () => {
    expect(logQ('sinceTime=2024-01-01T11:00:00Z').since).toBe(Date.UTC(2024, 0, 1, 11));
    expect(logQ('sinceTime=2024-01-01T13:00:00.5%2B02:00').since).toBe(Date.UTC(2024, 0, 1, 11, 0, 0, 500));
  });

  test('tailLines=0 is valid', () => {
    expect(logQ('tailLines=0').tailLines).toBe(0);
  });

  test.each([
    ['tailLines=-1', 422, 'PodLogOptions "web" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0'],
    ['limitBytes=0', 422, 'PodLogOptions "web" is invalid: limitBytes: Invalid value: 0: must be greater than 0'],
    ['sinceSeconds=0', 422, 'PodLogOptions "web" is invalid: sinceSeconds: Invalid value: 0: must be greater than 0'],
    ['sinceSeconds=5&sinceTime=2024-01-01T00:00:00Z', 422, 'at most one of `sinceTime` or `sinceSeconds` may be specified'],
    ['tailLines=abc', 400, 'strconv.ParseInt: parsing "abc": invalid syntax'],
    ['follow=yes', 400, 'strconv.ParseBool: parsing "yes": invalid syntax'],
    ['sinceTime=yesterday', 400, 'cannot parse "yesterday" as RFC3339'],
  ])('%s → %i', (qs, code, message) => {
    const e = errorOf(() => logQ(qs));
    expect(e.code).toBe(code);
    expect(e.message).toContain(message);
  });
});

describe('PodExecOptions / PodAttachOptions', () => {
  test('kubectl exec -it', () => {
    const q = parseRemoteCommandQuery(new URLSearchParams('command=sh&command=-c&command=echo+hi&container=app&stdin=true&stdout=true&tty=true'), 'exec');
    expect(q).toEqual({ command: ['sh', '-c', 'echo hi'], container: 'app', stdin: true, stdout: true, stderr: false, tty: true });
  });

  test('tty forces stderr off', () => {
    expect(parseRemoteCommandQuery(new URLSearchParams('command=sh&stdout=1&stderr=1&tty=1'), 'exec').stderr).toBe(false);
  });

  test('attach needs no command', () => {
    expect(parseRemoteCommandQuery(new URLSearchParams('stdout=true&stderr=true'), 'attach')).toMatchObject({ command: [], stdout: true, stderr: true });
  });

  test.each([
    ['stdout=true', 'exec', 'you must specify at least one command for the container'],
    ['command=ls', 'exec', 'you must specify at least 1 of stdin, stdout, stderr'],
    ['', 'attach', 'you must specify at least 1 of stdin, stdout, stderr'],
  ] as const)('%s (%s) → 400', (qs, sub, message) => {
    const e = errorOf(() => parseRemoteCommandQuery(new URLSearchParams(qs), sub));
    expect(e.code).toBe(400);
    expect(e.message).toBe(message);
  });
});
