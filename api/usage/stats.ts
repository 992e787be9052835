/** Small pure helpers of the usage aggregates, apart so they are tested without a database. */

/**
 * The p-th percentile of sorted values with linear interpolation, exactly as Postgres' `percentile_cont`; null for
 * no values. Run durations come from Temporal, not SQL, and are summarised here the same way as call latencies are.
 */
export function percentileCont(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = p * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

/** Counts per bucket of inclusive upper bounds, plus one for values above the last bound. */
export function histogram(values: readonly number[], bounds: readonly number[]): number[] {
  const counts = new Array<number>(bounds.length + 1).fill(0);
  for (const v of values) {
    const i = bounds.findIndex((b) => v <= b);
    counts[i === -1 ? bounds.length : i]!++;
  }
  return counts;
}

/** The start of every hour or UTC day that overlaps [from, to). */
export function bucketStarts(from: Date, to: Date, bucket: 'hour' | 'day'): Date[] {
  const step = bucket === 'hour' ? 3_600_000 : 86_400_000;
  const first = new Date(from);
  first.setUTCMinutes(0, 0, 0);
  if (bucket === 'day') first.setUTCHours(0);
  const starts: Date[] = [];
  for (let t = first.getTime(); t < to.getTime(); t += step) starts.push(new Date(t));
  return starts;
}

/** A share rounded to 6 decimals; 0 when there is nothing to divide by. */
export const rate = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 1e6) / 1e6 : 0);

/** Dollars as Postgres sums them (numeric, as text), to a number of 8 decimals. */
export const usd = (v: unknown) => Math.round(Number(v ?? 0) * 1e8) / 1e8;

/** A count or token sum (bigint, as text) as a number. */
export const count = (v: unknown) => Number(v ?? 0);
