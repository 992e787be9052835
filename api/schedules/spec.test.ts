import { describe, expect, it } from 'vitest';
import { runsInRange } from './service';
import { createSchedule, durationWords, scheduleSpec, specPreview } from './spec';

const spec = (s: unknown) => scheduleSpec.parse(s);

describe('schedule specs', () => {
  it('describes a spec in words', () => {
    expect(specPreview(spec({ intervals: [{ every: '2s' }] }))).toBe('Every 2 seconds');
    expect(specPreview(spec({ intervals: [{ every: '1h' }] }))).toBe('Every hour');
    expect(specPreview(spec({ intervals: [{ every: '1d', offset: '2h' }] }))).toBe('Every day, offset 2 hours');
    expect(specPreview(spec({ cron: ['0 2 * * *'], timezone: 'Europe/Berlin', jitter: '30s' }))).toBe(
      'At 02:00 (Europe/Berlin), up to 30 seconds later',
    );
    expect(durationWords(90 * 60_000)).toBe('90 minutes');
  });

  it('refuses what Temporal would not run, with the field named', () => {
    for (const bad of [
      {},
      { cron: ['61 * * * *'] },
      { cron: ['* * *'] },
      { intervals: [{ every: '500ms' }] },
      { intervals: [{ every: '1h30m' }] },
      { intervals: [{ every: '1h' }], timezone: 'Nowhere/Else' },
      { intervals: [{ every: '1h' }], startAt: '2026-12-02T00:00:00Z', endAt: '2026-12-01T00:00:00Z' },
    ])
      expect(scheduleSpec.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    const parsed = createSchedule.parse({
      name: 'n',
      job: { type: 'retention' },
      spec: { intervals: [{ every: '2s' }] },
    });
    expect(parsed.policy).toEqual({ overlap: 'skip', catchupWindow: '1m', pauseOnFailure: false });
    expect(parsed.paused).toBe(false);
  });

  it('counts the runs a backfill would start, up to just past the cap', () => {
    const t0 = Date.parse('2026-12-01T00:00:00Z');
    expect(runsInRange(spec({ intervals: [{ every: '2s' }] }), t0, t0 + 10_000, 1000)).toBe(6);
    expect(runsInRange(spec({ intervals: [{ every: '2s' }] }), t0 + 1_000, t0 + 9_000, 1000)).toBe(4);
    expect(runsInRange(spec({ intervals: [{ every: '1h', offset: '30m' }] }), t0, t0 + 3 * 3_600_000, 1000)).toBe(3);
    expect(runsInRange(spec({ cron: ['30 4 * * *'] }), t0, t0 + 2 * 86_400_000, 1000)).toBe(2);
    // 04:30 in Tokyo is 19:30 UTC the day before: one in the first day of December, UTC.
    expect(runsInRange(spec({ cron: ['30 4 * * *'], timezone: 'Asia/Tokyo' }), t0, t0 + 86_400_000, 1000)).toBe(1);
    expect(runsInRange(spec({ cron: ['* * * * *'] }), t0, t0 + 366 * 86_400_000, 1000)).toBe(1001);
    expect(runsInRange(spec({ intervals: [{ every: '1s' }] }), t0, t0 + 86_400_000, 1000)).toBeGreaterThan(1000);
  });
});
