import { describe, expect, it } from 'vitest';
import { exactBootstrapDistribution, mulberry32, pairedBootstrap, quantile, weightedQuantile } from './stats';

describe('mulberry32', () => {
  it('is deterministic per seed, in [0, 1), and roughly uniform', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 10_000 }, () => a());
    expect(Array.from({ length: 10_000 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(xs.reduce((s, x) => s + x, 0) / xs.length).toBeCloseTo(0.5, 1);
    expect(mulberry32(43)()).not.toBe(mulberry32(42)());
  });
});

describe('quantile (nearest rank, type 1)', () => {
  const v = [10, 20, 30, 40];
  it('takes sorted[ceil(q·N) − 1], the first value at q = 0', () => {
    expect(quantile(v, 0)).toBe(10);
    expect(quantile(v, 0.25)).toBe(10); // ceil(1) = 1
    expect(quantile(v, 0.26)).toBe(20); // ceil(1.04) = 2
    expect(quantile(v, 0.5)).toBe(20); // ceil(2) = 2
    expect(quantile(v, 0.51)).toBe(30);
    expect(quantile(v, 1)).toBe(40);
  });
  it('does not skip a rank on a rounding error of q·N', () => {
    const forty = Array.from({ length: 40 }, (_, i) => i + 1);
    // 0.975 · 40 = 39.00000000000001 in floating point: still rank 39.
    expect(quantile(forty, 0.975)).toBe(39);
    expect(quantile(forty, 0.025)).toBe(1);
  });
  it('rejects no values and q outside [0, 1]', () => {
    expect(() => quantile([], 0.5)).toThrow(RangeError);
    expect(() => quantile(v, 1.5)).toThrow(RangeError);
  });
  it('weighted: the smallest value whose cumulative weight reaches q', () => {
    // values 0, .5, 1 with weights 1, 2, 1 (of 4): F = .25, .75, 1
    expect(weightedQuantile([0, 0.5, 1], [1, 2, 1], 0.25)).toBe(0);
    expect(weightedQuantile([0, 0.5, 1], [1, 2, 1], 0.26)).toBe(0.5);
    expect(weightedQuantile([0, 0.5, 1], [1, 2, 1], 0.75)).toBe(0.5);
    expect(weightedQuantile([0, 0.5, 1], [1, 2, 1], 0.76)).toBe(1);
  });
});

describe('pairedBootstrap, exact enumeration (n^n ≤ 200,000)', () => {
  it('n = 2, deltas {0, 1}: means 0, .5, 1 with weights 1/4, 1/2, 1/4', () => {
    expect(exactBootstrapDistribution([0, 1])).toEqual({ values: [0, 0.5, 1], weights: [1, 2, 1] });
    // 95%: q = .025 → F(0) = .25 ≥ .025 → 0; q = .975 → F(.5) = .75 < .975, F(1) = 1 → 1.
    expect(pairedBootstrap([0, 1])).toEqual({ low: 0, high: 1 });
    // 50%: q = .25 → F(0) = .25 → 0; q = .75 → F(.5) = .75 → .5.
    expect(pairedBootstrap([0, 1], { confidence: 0.5 })).toEqual({ low: 0, high: 0.5 });
  });

  it('n = 3, deltas {0, 1, 2}: by hand', () => {
    // 27 tuples; the sum S of the three drawn deltas has counts S=0:1, 1:3, 2:6, 3:7, 4:6, 5:3, 6:1
    // (cumulative 1, 4, 10, 17, 23, 26, 27); the mean is S/3.
    expect(exactBootstrapDistribution([0, 1, 2])).toEqual({
      values: [0, 1 / 3, 2 / 3, 1, 4 / 3, 5 / 3, 2],
      weights: [1, 3, 6, 7, 6, 3, 1],
    });
    // 95%: .025·27 = .675 → cum 1 at S=0 → 0; .975·27 = 26.325 → cum 27 at S=6 → 2.
    expect(pairedBootstrap([0, 1, 2])).toEqual({ low: 0, high: 2 });
    // 80%: .1·27 = 2.7 → cum 4 at S=1 → 1/3; .9·27 = 24.3 → cum 26 at S=5 → 5/3.
    expect(pairedBootstrap([0, 1, 2], { confidence: 0.8 })).toEqual({ low: 1 / 3, high: 5 / 3 });
    // 50%: .25·27 = 6.75 → cum 10 at S=2 → 2/3; .75·27 = 20.25 → cum 23 at S=4 → 4/3.
    expect(pairedBootstrap([0, 1, 2], { confidence: 0.5 })).toEqual({ low: 2 / 3, high: 4 / 3 });
  });

  it('n = 3, deltas {0, 0, 3}: the mean is the number K of draws of the 3, K ~ Binomial(3, 1/3)', () => {
    // counts K=0:8, 1:12, 2:6, 3:1 of 27 (cumulative 8, 20, 26, 27)
    // 95%: 26.325 → K=3; 90%: .95·27 = 25.65 → K=2.
    expect(pairedBootstrap([0, 0, 3])).toEqual({ low: 0, high: 3 });
    expect(pairedBootstrap([0, 0, 3], { confidence: 0.9 })).toEqual({ low: 0, high: 2 });
  });

  it('is the distribution of all n^n index tuples, counted one by one', () => {
    const deltas = [0.5, -1, 2, 0.25]; // dyadic: every mean is exact whatever the order of the sum
    const counts = new Map<number, number>();
    for (let t = 0; t < 4 ** 4; t++) {
      const idx = [t % 4, (t >> 2) % 4, (t >> 4) % 4, (t >> 6) % 4];
      const mean = idx.reduce((s, i) => s + deltas[i]!, 0) / 4;
      counts.set(mean, (counts.get(mean) ?? 0) + 1);
    }
    const values = [...counts.keys()].sort((a, b) => a - b);
    expect(exactBootstrapDistribution(deltas)).toEqual({ values, weights: values.map((v) => counts.get(v)) });
  });

  it('weights all n^n tuples and ignores the seed', () => {
    const { weights } = exactBootstrapDistribution([0.1, 0.7, 0.2, 0.9, 0.4, 0.3]);
    expect(weights.reduce((s, w) => s + w, 0)).toBe(6 ** 6);
    expect(pairedBootstrap([3, 1, 4, 1, 5], { seed: 1 })).toEqual(pairedBootstrap([3, 1, 4, 1, 5], { seed: 2 }));
  });

  it('a constant delta gives [d, d], one delta too', () => {
    expect(pairedBootstrap([0.25, 0.25, 0.25, 0.25])).toEqual({ low: 0.25, high: 0.25 });
    expect(pairedBootstrap([-3])).toEqual({ low: -3, high: -3 });
  });

  it('rejects no deltas, non-finite deltas and a confidence outside (0, 1)', () => {
    expect(() => pairedBootstrap([])).toThrow(RangeError);
    expect(() => pairedBootstrap([1, Number.NaN])).toThrow(RangeError);
    expect(() => pairedBootstrap([1, 2], { confidence: 1 })).toThrow(RangeError);
  });
});

describe('pairedBootstrap, Monte Carlo (n^n > 200,000)', () => {
  const seven = [0.1, -0.2, 0.4, 0, 0.3, 0.05, -0.1]; // 7^7 = 823,543 tuples: sampled

  it('is deterministic for a seed (default seed fixed) and moves with another seed', () => {
    const a = pairedBootstrap(seven);
    expect(pairedBootstrap(seven)).toEqual(a);
    expect(pairedBootstrap(seven, { seed: 19, resamples: 2000 })).toEqual(a);
    expect(pairedBootstrap(seven, { seed: 7 })).not.toEqual(a);
    expect(a.low).toBeLessThan(a.high);
  });

  it('a constant delta gives [d, d]', () => {
    expect(pairedBootstrap(Array.from({ length: 10 }, () => 0.25))).toEqual({ low: 0.25, high: 0.25 });
  });

  it('lands close to the exact interval where both can be computed', () => {
    const six = [0, 0.1, 0.25, 0.5, 0.8, 1];
    const exact = pairedBootstrap(six);
    const sampled = pairedBootstrap(six, { exactLimit: 0, resamples: 20_000 });
    expect(sampled).not.toEqual(exact);
    expect(Math.abs(sampled.low - exact.low)).toBeLessThan(0.02);
    expect(Math.abs(sampled.high - exact.high)).toBeLessThan(0.02);
    // a mean of bounded deltas: inside their range
    expect(exact.low).toBeGreaterThan(0);
    expect(exact.high).toBeLessThan(1);
  });
});
