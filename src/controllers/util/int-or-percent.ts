/**
 * IntOrString fields such as `maxSurge`/`maxUnavailable`: either an integer or a percentage string
 * (`"25%"`) of a total, as `intstr.GetScaledValueFromIntOrPercent` resolves them.
 */
export type IntOrString = number | string;

/**
 * Resolves `v` against `total`: an integer is returned as is; `"N%"` is N% of total, rounded up
 * or down. Absent values count as 0. Throws Error for a string that is not a percentage.
 */
export function scaledValueFromIntOrPercent(v: IntOrString | undefined | null, total: number, roundUp: boolean): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return Math.trunc(v);
  const m = /^(-?\d+)%$/.exec(v);
  if (!m) {
    if (/^-?\d+$/.test(v)) throw new Error(`invalid value for IntOrString: invalid type: string is not a percentage`);
    throw new Error(`invalid value "${v}": must be an integer or percentage (e.g. '5%')`);
  }
  const pct = Number(m[1]);
  const x = (pct * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}
