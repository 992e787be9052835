import { describe, expect, it } from 'vitest';
import { assignableRoles, type QuotaUsage, type RetentionAges, type TenantSettings } from '../api/admin';
import { ApiError } from '../api/request';
import {
  MODEL_PURPOSES,
  RETENTION,
  actorOf,
  auditFilterOf,
  emptyAuditFilterForm,
  formatBytes,
  formatLimit,
  formatRetention,
  modelFormOf,
  modelPatchOf,
  quotaFormOf,
  quotaPatchOf,
  retentionFormOf,
  retentionPatchOf,
  settingsErrorsOf,
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

describe('default models', () => {
  const models: TenantSettings['models'] = {
    answer: { model: 'local-answer-x', source: 'tenant', platform: 'local-answer' },
    judge: { model: 'local-judge', source: 'platform', platform: 'local-judge' },
    agent: { model: 'local-agent', source: 'platform', platform: 'local-agent' },
    embedding: { model: 'local-minilm-l6', source: 'tenant', platform: 'local-embed-384' },
  };

  it("puts the tenant's own models in the form and leaves the platform's blank", () => {
    expect(modelFormOf(models)).toEqual({
      answer: 'local-answer-x',
      judge: '',
      agent: '',
      embedding: 'local-minilm-l6',
    });
    expect(MODEL_PURPOSES.map((p) => p.purpose)).toEqual(['answer', 'judge', 'agent', 'embedding']);
  });

  it('sends only the purposes that change; a cleared field returns to the platform default', () => {
    const form = modelFormOf(models);
    expect(modelPatchOf(form, models)).toEqual({ patch: {}, errors: {} });
    form.answer = '';
    form.judge = ' local-judge-2 ';
    form.embedding = 'local-minilm-l6';
    expect(modelPatchOf(form, models)).toEqual({ patch: { answer: null, judge: 'local-judge-2' }, errors: {} });
  });

  it('sends a platform value typed in as the tenant default (it stays when the platform changes)', () => {
    expect(modelPatchOf({ ...modelFormOf(models), agent: 'local-agent' }, models).patch).toEqual({
      agent: 'local-agent',
    });
  });

  it('refuses a name the API would refuse, naming the purpose', () => {
    const { patch, errors } = modelPatchOf({ ...modelFormOf(models), agent: 'gpt 4o', judge: 'x'.repeat(201) }, models);
    expect(patch).toEqual({});
    expect(Object.keys(errors).sort()).toEqual(['agent', 'judge']);
  });
});

describe('retention', () => {
  const ages: RetentionAges = { answers: 30, runEvents: null, spans: 14, modelCalls: null, audit: 365, blobs: 7 };

  it('lists every kind with a rule in plain words', () => {
    expect(RETENTION.map((r) => r.kind)).toEqual(['answers', 'runEvents', 'spans', 'modelCalls', 'audit', 'blobs']);
    for (const r of RETENTION) expect(r.rule).toMatch(/N days/);
    expect(formatRetention(null)).toBe('Kept forever');
    expect(formatRetention(1)).toBe('1 day');
    expect(formatRetention(36500)).toBe('36,500 days');
  });

  it('sends only the kinds that change; a cleared field keeps that kind forever', () => {
    const form = retentionFormOf(ages);
    expect(form).toMatchObject({ answers: '30', runEvents: '', audit: '365' });
    expect(retentionPatchOf(form, ages)).toEqual({ patch: {}, errors: {} });
    form.answers = '';
    form.runEvents = '90';
    form.spans = ' 14 ';
    form.audit = '1,000';
    expect(retentionPatchOf(form, ages)).toEqual({ patch: { answers: null, runEvents: 90, audit: 1000 }, errors: {} });
  });

  it('refuses what is not a whole number of days from 1 to 36,500, naming the kind', () => {
    const form = { ...retentionFormOf(ages), answers: '0', spans: '2.5', blobs: '36501', audit: 'a year' };
    const { patch, errors } = retentionPatchOf(form, ages);
    expect(patch).toEqual({});
    expect(Object.keys(errors).sort()).toEqual(['answers', 'audit', 'blobs', 'spans']);
    expect(errors.answers).toMatch(/from 1 to 36,500/);
    expect(retentionPatchOf({ ...retentionFormOf(ages), answers: '36500', spans: '1' }, ages).patch).toEqual({
      answers: 36500,
      spans: 1,
    });
  });
});

describe('settings errors by field', () => {
  const purposes = ['answer', 'judge', 'agent', 'embedding'] as const;

  it("puts the API's model refusal by the purpose it names", () => {
    const err = new ApiError(
      400,
      'model_not_available',
      'models.answer: gpt-4o needs a model endpoint, and this platform has none configured (LLM_PROVIDER is local): choose a local-* model.',
    );
    expect(settingsErrorsOf(err, 'models', purposes)).toEqual({
      answer: expect.stringMatching(/^gpt-4o needs a model endpoint/),
    });
    expect(settingsErrorsOf(err, 'retention', ['answers'])).toEqual({});
  });

  it("puts a validation error's paths by their fields, and ignores what names none", () => {
    const err = new ApiError(400, 'validation_failed', 'retention.spans: Too small; retention.bogus: Unrecognized', [
      { path: ['retention', 'spans'], message: 'Number must be greater than or equal to 1', code: 'too_small' },
      { path: ['retention', 'bogus'], message: 'Unrecognized', code: 'unrecognized_keys' },
    ]);
    expect(settingsErrorsOf(err, 'retention', ['answers', 'spans'])).toEqual({
      spans: 'Number must be greater than or equal to 1',
    });
    expect(settingsErrorsOf(new ApiError(403, 'forbidden', 'Needs admin.'), 'models', purposes)).toEqual({});
  });
});
