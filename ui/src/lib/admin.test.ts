import { describe, expect, it } from 'vitest';
import { assignableRoles, type QuotaUsage } from '../api/admin';
import {
  actorOf,
  auditFilterOf,
  emptyAuditFilterForm,
  formatBytes,
  formatLimit,
  quotaFormOf,
  quotaPatchOf,
  targetsOf,
  usageOf,
} from './admin';
import { localInputToIso } from './format';

describe('audit filters', () => {
  it('drops blanks, trims text and sends local times as ISO instants', () => {
    expect(auditFilterOf(emptyAuditFilterForm())).toEqual({});
    const filter = auditFilterOf({
      ...emptyAuditFilterForm(),
      actor: '  ada@acme.test ',
      action: 'keys.*',
      outcome: 'denied',
      actorType: 'user',
      from: '2026-12-01T09:30',
    });
    expect(filter).toEqual({
      actor: 'ada@acme.test',
      action: 'keys.*',
      outcome: 'denied',
      actorType: 'user',
      from: localInputToIso('2026-12-01T09:30'),
    });
    expect(filter.from).toMatch(/Z$/);
  });
});

describe('audit entries', () => {
  it('names the actor by label, else id, else anonymous', () => {
    expect(actorOf({ actorType: 'user', actorId: 'u1', actorLabel: 'ada@acme.test' })).toBe('ada@acme.test');
    expect(actorOf({ actorType: 'key', actorId: 'k1', actorLabel: null })).toBe('k1');
    expect(actorOf({ actorType: 'anonymous', actorId: null, actorLabel: null })).toBe('anonymous');
  });

  it('lists targets as kind: id', () => {
    expect(targetsOf({ targets: { key: 'k1', userId: 'u1' } })).toEqual(['key: k1', 'userId: u1']);
  });
});

describe('roles', () => {
  it('lets nobody give a role above their own', () => {
    expect(assignableRoles('admin')).toEqual(['admin', 'operator', 'viewer']);
    expect(assignableRoles('operator')).toEqual(['operator', 'viewer']);
    expect(assignableRoles(null)).toEqual([]);
  });
});

describe('quotas', () => {
  it('shows 0 as no limit and bytes in binary units', () => {
    expect(formatLimit(0, 'count')).toBe('No limit');
    expect(formatLimit(12000, 'count')).toBe('12,000');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatLimit(10 * 1024 ** 3, 'bytes')).toBe('10 GiB');
  });

  it('shows usage per limit, running runs by kind', () => {
    const usage: QuotaUsage['usage'] = {
      requestsThisMinute: 3,
      runsThisMinute: 1,
      running: { answer: 2, ingest: 0 },
      documents: 40,
      bytes: 2048,
      tokensToday: 1234,
    };
    expect(usageOf(usage, 'concurrentRuns')).toBe('answer 2');
    expect(usageOf({ ...usage, running: {} }, 'concurrentRuns')).toBe('none running');
    expect(usageOf(usage, 'maxBytes')).toBe('2.0 KiB');
    expect(usageOf(usage, 'dailyTokens')).toBe('1,234 today');
  });

  it('sends only the limits that change; a cleared field returns to the default', () => {
    const overrides = { runsPerMinute: 30, maxDocuments: 100 };
    const form = quotaFormOf(overrides);
    expect(form.runsPerMinute).toBe('30');
    expect(form.dailyTokens).toBe('');
    expect(quotaPatchOf(form, overrides)).toEqual({ patch: {}, errors: {} });

    form.runsPerMinute = '';
    form.maxDocuments = ' 100 ';
    form.dailyTokens = '0';
    expect(quotaPatchOf(form, overrides)).toEqual({ patch: { runsPerMinute: null, dailyTokens: 0 }, errors: {} });
  });

  it('refuses what is not a whole number, naming the limit', () => {
    const form = { ...quotaFormOf({}), maxBytes: '1.5', concurrentRuns: '-1' };
    const { patch, errors } = quotaPatchOf(form, {});
    expect(patch).toEqual({});
    expect(Object.keys(errors).sort()).toEqual(['concurrentRuns', 'maxBytes']);
  });
});
