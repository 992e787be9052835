import { describe, expect, it } from 'vitest';
import { applyPatch, effectiveLimits, parseOverrides, quotaOverridesPatch, type QuotaLimits } from './limits';
import { QuotaExceededError, secondsToUtcMidnight } from './errors';
import { KeyedMutex } from './keyed-mutex';

const defaults: QuotaLimits = {
  requestsPerMinute: 600,
  runsPerMinute: 120,
  concurrentRuns: 20,
  maxDocuments: 100_000,
  maxBytes: 20 * 1024 ** 3,
  dailyTokens: 0,
};

describe('quota limits', () => {
  it('lays a tenant’s overrides over the defaults; null in a patch returns a limit to its default', () => {
    expect(effectiveLimits(defaults, { runsPerMinute: 5, dailyTokens: 1000 })).toEqual({
      ...defaults,
      runsPerMinute: 5,
      dailyTokens: 1000,
    });
    const patched = applyPatch({ runsPerMinute: 5, maxDocuments: 10 }, { runsPerMinute: null, concurrentRuns: 0 });
    expect(patched).toEqual({ maxDocuments: 10, concurrentRuns: 0 });
    expect(effectiveLimits(defaults, patched)).toMatchObject({ runsPerMinute: 120, concurrentRuns: 0 });
  });

  it('accepts only known limits as whole numbers from 0', () => {
    expect(quotaOverridesPatch.parse({ maxBytes: 10, runsPerMinute: null })).toEqual({
      maxBytes: 10,
      runsPerMinute: null,
    });
    for (const bad of [{ runsPerMinute: -1 }, { runsPerMinute: 0.5 }, { runsPerMinute: '5' }, { other: 1 }])
      expect(quotaOverridesPatch.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    // What the database holds is read back defensively.
    expect(parseOverrides({ runsPerMinute: 3, maxBytes: -2, junk: 1 })).toEqual({ runsPerMinute: 3 });
    expect(parseOverrides(null)).toEqual({});
  });

  it('refuses with 429, a whole number of seconds to wait and what was exceeded', () => {
    const e = new QuotaExceededError({
      code: 'run_rate_limited',
      message: 'slow down',
      quota: 'runsPerMinute',
      limit: 2,
      used: 2,
      retryAfterSeconds: 0.2,
    });
    expect(e).toMatchObject({ status: 429, code: 'run_rate_limited', retryAfterSeconds: 1 });
    expect(e.details).toEqual({ quota: 'runsPerMinute', limit: 2, used: 2, retryAfterSeconds: 1 });
    expect(secondsToUtcMidnight(new Date('2026-12-02T23:59:30Z'))).toBe(30);
    expect(secondsToUtcMidnight(new Date('2026-12-02T00:00:00Z'))).toBe(86_400);
  });
});

describe('KeyedMutex', () => {
  it('runs sections of one key one after another, of different keys side by side, and survives a failure', async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    const section =
      (name: string, ms: number, fail = false) =>
      async () => {
        log.push(`${name}+`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`${name}-`);
        if (fail) throw new Error(name);
        return name;
      };
    const results = await Promise.allSettled([
      mutex.run('a', section('a1', 30, true)),
      mutex.run('a', section('a2', 10)),
      mutex.run('b', section('b1', 5)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(log.indexOf('a1-')).toBeLessThan(log.indexOf('a2+'));
    expect(log.indexOf('b1-')).toBeLessThan(log.indexOf('a1-'));
  });
});
