import { describe, expect, it } from 'vitest';
import { filtersFromQuery, filtersToQuery, runLink, safeRedirect, sameFilters } from './run-filters';

describe('run filters in the URL', () => {
  it('reads known names only, first value, trimmed', () => {
    expect(
      filtersFromQuery({ kind: 'system', status: ['failed', 'running'], q: '  selftest: ', other: 'x', from: '' }),
    ).toEqual({
      kind: 'system',
      status: 'failed',
      q: 'selftest:',
    });
  });
  it('round-trips and compares', () => {
    const f = { kind: 'agent', to: '2025-01-01T00:00:00.000Z' };
    expect(filtersFromQuery(filtersToQuery(f) as never)).toEqual(f);
    expect(sameFilters(f, { ...f })).toBe(true);
    expect(sameFilters(f, { kind: 'agent' })).toBe(false);
  });
});

it('encodes workflow ids into one path segment', () => {
  expect(runLink('selftest:t1:abc/def')).toBe('/runs/selftest%3At1%3Aabc%2Fdef');
});

it('follows only same-origin paths after sign-in', () => {
  expect(safeRedirect('/runs/a%3Ab')).toBe('/runs/a%3Ab');
  expect(safeRedirect('//evil.example')).toBeNull();
  expect(safeRedirect('https://evil.example')).toBeNull();
  expect(safeRedirect('/sign-in')).toBeNull();
  expect(safeRedirect(undefined)).toBeNull();
});
