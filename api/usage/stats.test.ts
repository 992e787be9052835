import { describe, expect, it } from 'vitest';
import { bucketStarts, histogram, percentileCont, rate } from './stats';
import { resolveRange, timeseriesQuery } from './query';

describe('usage stats', () => {
  it('interpolates percentiles as percentile_cont does', () => {
    expect(percentileCont([], 0.5)).toBeNull();
    expect(percentileCont([7], 0.95)).toBe(7);
    expect(percentileCont([100, 200], 0.5)).toBe(150);
    expect(percentileCont([100, 200], 0.95)).toBe(195);
    expect(percentileCont([1, 2, 3, 4, 10], 0.95)).toBeCloseTo(8.8, 10);
  });

  it('counts values per inclusive upper bound, the rest in one more bucket', () => {
    expect(histogram([0, 250, 251, 1000, 5000], [250, 1000])).toEqual([2, 2, 1]);
    expect(histogram([], [250])).toEqual([0, 0]);
  });

  it('lists every UTC hour or day the range touches', () => {
    const from = new Date('2026-12-01T10:30:00Z');
    expect(bucketStarts(from, new Date('2026-12-01T12:00:00Z'), 'hour').map((d) => d.toISOString())).toEqual([
      '2026-12-01T10:00:00.000Z',
      '2026-12-01T11:00:00.000Z',
    ]);
    expect(bucketStarts(from, new Date('2026-12-03T00:00:01Z'), 'day')).toHaveLength(3);
  });

  it('has a 0 rate without calls', () => expect(rate(0, 0)).toBe(0));
});

describe('usage query', () => {
  const now = new Date('2026-12-02T12:00:00Z');
  it('defaults to the 7 days before `to`, or from `from` to now', () => {
    expect(resolveRange({}, now)).toEqual({ from: new Date('2026-11-25T12:00:00Z'), to: now });
    expect(resolveRange({ to: '2026-12-01' }, now).from).toEqual(new Date('2026-11-24T00:00:00Z'));
    expect(resolveRange({ from: '2026-12-01' }, now)).toEqual({ from: new Date('2026-12-01T00:00:00Z'), to: now });
  });

  it('refuses hour buckets over more than 31 days and names the field', () => {
    const r = timeseriesQuery.safeParse({ from: '2026-01-01', to: '2026-03-01', bucket: 'hour' });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path[0])).toEqual(['bucket']);
    expect(timeseriesQuery.parse({ groupBy: 'key' })).toEqual({ groupBy: 'key' });
  });
});
