import { describe, expect, it } from 'vitest';
import { formatDuration, isoToLocalInput, localInputToIso, spanKindName, spanStatusName } from './format';

describe('formatDuration', () => {
  it.each([
    [null, '—'],
    [0, '0 ms'],
    [0.4, '<1 ms'],
    [12.4, '12 ms'],
    [1234, '1.23 s'],
    [12_345, '12.3 s'],
    [125_000, '2m 05s'],
    [3_726_000, '1h 02m'],
    [3 * 86_400_000 + 3_600_000, '3d 1h'],
  ])('%s ms → %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe('datetime-local conversion', () => {
  it('round-trips a local minute through ISO', () => {
    const iso = localInputToIso('2025-03-04T05:06');
    expect(iso).toMatch(/Z$/);
    expect(isoToLocalInput(iso)).toBe('2025-03-04T05:06');
  });
  it('ignores empty and invalid values', () => {
    expect(localInputToIso('')).toBeUndefined();
    expect(localInputToIso('nope')).toBeUndefined();
    expect(isoToLocalInput(undefined)).toBe('');
  });
});

it('names span kinds and statuses', () => {
  expect(spanKindName(2)).toBe('client');
  expect(spanStatusName(2)).toBe('error');
  expect(spanStatusName(0)).toBe('unset');
});

describe('run ids and tokens', () => {
  it('shortens a workflow id to its kind and own key, without the tenant', async () => {
    const { shortRunId } = await import('./format');
    expect(shortRunId('answer:6b1f0c2e-0000-4000-8000-000000000000:3f2a9c1b-1111-4111-8111-111111111111')).toBe(
      'answer:3f2a9c1b',
    );
    expect(shortRunId('ingest:t:c:run1/9d8e7f6a-2222')).toBe('ingest:9d8e7f6a (child)');
    expect(shortRunId('short')).toBe('short');
    const tenant = '6b1f0c2e-0000-4000-8000-000000000000';
    const schedule = '1a2b3c4d-3333-4333-8333-333333333333';
    expect(shortRunId(`batch:${tenant}:schedule-${schedule}-2026-12-03T04:03:38Z`)).toBe('batch:1a2b3c4d 04:03:38');
    expect(shortRunId(`batch:${tenant}:sync-${schedule}-9f8e7d6c-4444-4444-8444-44444444abcd`)).toBe('batch:4444abcd');
    expect(shortRunId(`batch:${tenant}:sync-${schedule}-9f8e7d6c-4444-4444-8444-44444444abcd/recheck-answers`)).toBe(
      'batch:4444abcd (child)',
    );
  });

  it('formats tokens in and out, or a dash without calls', async () => {
    const { formatTokens } = await import('./format');
    expect(formatTokens({ input: 0, output: 0 })).toBe('—');
    expect(formatTokens(undefined)).toBe('—');
    expect(formatTokens({ input: 12, output: 3 })).toBe('12 in · 3 out');
  });
});
