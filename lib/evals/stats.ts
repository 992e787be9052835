/**
 * The statistics of experiments (issue 19): a seeded PRNG, one quantile method, and a paired bootstrap percentile
 * interval of a mean difference. Pure and deterministic: the same input gives the same interval on every machine.
 *
 * Quantiles use the inverse of the empirical distribution function (Hyndman & Fan type 1, "nearest rank"): the
 * q-quantile is the smallest value whose cumulative share reaches q. It never interpolates, so every bound is a
 * mean some resample actually has and small cases can be checked by hand.
 */

/** Above this many index tuples (n^n) the bootstrap samples instead of enumerating: n ≤ 6 is exact. */
export const EXACT_BOOTSTRAP_LIMIT = 200_000;
export const DEFAULT_RESAMPLES = 2_000;
/** Fixed so that an experiment's intervals do not move between two looks at the same runs. */
export const DEFAULT_SEED = 19;
export const DEFAULT_CONFIDENCE = 0.95;

// Cumulative shares are compared with this slack so that q·N landing a rounding error above an integer rank
// (0.975 · 40 = 39.00000000000001) does not skip to the next value.
const EPS = 1e-9;

/** Mulberry32: a small, fast, seeded 32-bit PRNG. Returns a function giving floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The q-quantile of ascending `sorted` values by the nearest-rank method (type 1): `sorted[ceil(q·N) − 1]`, and the
 * first value for q = 0. Throws on an empty array or q outside [0, 1].
 */
export function quantile(sorted: readonly number[], q: number): number {
  if (!sorted.length) throw new RangeError('quantile of no values');
  checkShare(q, 'q');
  const rank = Math.max(1, Math.ceil(q * sorted.length - EPS));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/**
 * The same quantile over a weighted distribution: ascending distinct `values` with positive `weights`; the smallest
 * value whose cumulative weight reaches q of the total.
 */
export function weightedQuantile(values: readonly number[], weights: readonly number[], q: number): number {
  if (!values.length || values.length !== weights.length) throw new RangeError('weighted quantile needs values');
  checkShare(q, 'q');
  const total = weights.reduce((s, w) => s + w, 0);
  let cum = 0;
  for (let i = 0; i < values.length; i++) {
    cum += weights[i]!;
    if (cum >= q * total - EPS * total) return values[i]!;
  }
  return values[values.length - 1]!;
}

export interface BootstrapOptions {
  /** Monte Carlo resamples (default 2,000); unused when the bootstrap is exact. */
  resamples?: number;
  /** Monte Carlo seed (default 19); unused when the bootstrap is exact. */
  seed?: number;
  /** Coverage of the interval (default 0.95). */
  confidence?: number;
  /** Enumerate exactly when n^n is at most this (default 200,000); 0 forces Monte Carlo (tests). */
  exactLimit?: number;
}

/**
 * Paired bootstrap percentile interval of the mean of `deltas` (the per-item differences candidate − baseline).
 *
 * A resample draws n deltas with replacement and takes their mean. When n^n ≤ `exactLimit` every one of the n^n index
 * tuples is taken once, each equally likely: they are enumerated grouped by how often each index is drawn (counts
 * c₁..cₙ, weight n! / ∏cᵢ!, the number of tuples with those counts), which is the same distribution without
 * duplicate work; the result does not depend on the seed. Otherwise `resamples` tuples are drawn with mulberry32.
 * The interval is the type-1 quantiles (see the file header) at (1 − confidence)/2 and 1 − (1 − confidence)/2 of the
 * resample means. One delta gives [d, d].
 */
export function pairedBootstrap(deltas: readonly number[], opts: BootstrapOptions = {}): { low: number; high: number } {
  const n = deltas.length;
  if (!n) throw new RangeError('pairedBootstrap needs at least one delta');
  if (deltas.some((d) => !Number.isFinite(d))) throw new RangeError('pairedBootstrap deltas must be finite numbers');
  const confidence = opts.confidence ?? DEFAULT_CONFIDENCE;
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  const lowQ = (1 - confidence) / 2;
  const highQ = 1 - lowQ;

  if (n ** n <= (opts.exactLimit ?? EXACT_BOOTSTRAP_LIMIT)) {
    const { values, weights } = exactBootstrapDistribution(deltas);
    return { low: weightedQuantile(values, weights, lowQ), high: weightedQuantile(values, weights, highQ) };
  }

  const resamples = opts.resamples ?? DEFAULT_RESAMPLES;
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`resamples must be a positive integer`);
  const random = mulberry32(opts.seed ?? DEFAULT_SEED);
  const means = new Array<number>(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += deltas[Math.floor(random() * n)]!;
    means[r] = sum / n;
  }
  means.sort((a, b) => a - b);
  return { low: quantile(means, lowQ), high: quantile(means, highQ) };
}

/**
 * The exact bootstrap distribution of the mean of `deltas`: ascending distinct means and how many of the n^n index
 * tuples give each (the weights sum to n^n).
 */
export function exactBootstrapDistribution(deltas: readonly number[]): { values: number[]; weights: number[] } {
  const n = deltas.length;
  const factorial = [1];
  for (let i = 1; i <= n; i++) factorial.push(factorial[i - 1]! * i);
  const byMean = new Map<number, number>();
  const counts = new Array<number>(n).fill(0);
  // Every composition of n into n ordered non-negative counts.
  const visit = (i: number, left: number): void => {
    if (i === n - 1) {
      counts[i] = left;
      let sum = 0;
      let weight = factorial[n]!;
      for (let j = 0; j < n; j++) {
        sum += counts[j]! * deltas[j]!;
        weight /= factorial[counts[j]!]!;
      }
      const mean = sum / n;
      byMean.set(mean, (byMean.get(mean) ?? 0) + weight);
      return;
    }
    for (let c = left; c >= 0; c--) {
      counts[i] = c;
      visit(i + 1, left - c);
    }
  };
  visit(0, n);
  const values = [...byMean.keys()].sort((a, b) => a - b);
  return { values, weights: values.map((v) => byMean.get(v)!) };
}

function checkShare(q: number, name: string): void {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`${name} must be in [0, 1], got ${q}`);
}
