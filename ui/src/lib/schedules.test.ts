import { describe, expect, it } from 'vitest';
import type { ScheduleView } from '../api/schedules';
import {
  cronProblem,
  durationWords,
  emptyForm,
  fieldErrorsFromApi,
  fieldOfPath,
  formFromSchedule,
  intervalText,
  jobFromForm,
  jobLabel,
  parseDuration,
  prefillFromQuery,
  scheduleBodyFromForm,
  scheduleChanges,
  scheduleSyncLink,
  sourceSummary,
  specFromForm,
  specPreview,
  splitDuration,
  timeZones,
  type ScheduleForm,
} from './schedules';

const form = (changes: Partial<ScheduleForm> = {}): ScheduleForm => ({ ...emptyForm(), name: 'Nightly', ...changes });

describe('durations and intervals in words', () => {
  it('parses the API’s durations to seconds and refuses anything else', () => {
    expect(parseDuration('2s')).toBe(2000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration(' 1D ')).toBe(86_400_000);
    expect(parseDuration('500ms')).toBe(500);
    // One number and one unit, as the API takes them.
    for (const bad of ['', '2', 's', '2 weeks', '-1s', '1.5h', '2x', '1h30m'])
      expect(parseDuration(bad), bad).toBeNull();
  });

  it('says a duration in the largest whole unit', () => {
    expect(durationWords(1000)).toBe('1 second');
    expect(durationWords(90_000)).toBe('90 seconds');
    expect(durationWords(120_000)).toBe('2 minutes');
    expect(durationWords(3_600_000)).toBe('1 hour');
    expect(durationWords(172_800_000)).toBe('2 days');
    expect(durationWords(1500)).toBe('1500 milliseconds');
  });

  it('says an interval as a person would', () => {
    expect(intervalText('2s')).toBe('Every 2 seconds');
    expect(intervalText('1s')).toBe('Every second');
    expect(intervalText('60s')).toBe('Every minute');
    expect(intervalText('6h')).toBe('Every 6 hours');
    expect(intervalText('1d', '2h')).toBe('Every day, offset 2 hours');
    expect(intervalText('1d', '0s')).toBe('Every day');
  });
});

describe('specPreview', () => {
  it('reads intervals, cron in its time zone and jitter, in the server’s words', () => {
    expect(specPreview({ intervals: [{ every: '2s' }] })).toBe('Every 2 seconds');
    expect(specPreview({ cron: ['0 2 * * *'], timezone: 'Europe/Paris' })).toBe('At 02:00 (Europe/Paris)');
    expect(specPreview({ cron: ['*/15 * * * 1-5'] })).toBe('Every 15 minutes, Monday through Friday (UTC)');
    expect(specPreview({ intervals: [{ every: '1h' }, { every: '90m' }], jitter: '30s' })).toBe(
      'Every hour; Every 90 minutes, up to 30 seconds later',
    );
    expect(specPreview({ intervals: [{ every: '1h' }], jitter: '0s' })).toBe('Every hour');
    expect(specPreview({})).toMatch(/^Never/);
  });
});

describe('cronProblem', () => {
  it('takes five-field expressions cronstrue can read and says what is wrong with others', () => {
    expect(cronProblem('0 2 * * *')).toBeNull();
    expect(cronProblem('*/5 9-17 * * mon-fri')).toBeNull();
    expect(cronProblem('0 0 2 * * *')).toMatch(/6 fields/);
    expect(cronProblem('daily')).toMatch(/1 field;/);
    expect(cronProblem('61 * * * *')).not.toBeNull();
  });
});

describe('specFromForm and scheduleBodyFromForm', () => {
  it('builds an interval spec in the API’s units', () => {
    expect(specFromForm(form({ every: '2', unit: 'seconds' }))).toEqual({
      spec: { timezone: 'UTC', intervals: [{ every: '2s' }] },
      errors: {},
    });
    expect(specFromForm(form({ every: '0' })).errors.every).toBeDefined();
    expect(specFromForm(form({ every: '1.5' })).errors.every).toBeDefined();
  });

  it('builds a cron spec from the lines filled in, naming the line that is wrong', () => {
    const ok = specFromForm(form({ specMode: 'cron', cron: '0 2 * * *\n\n 30  14 * * 1 ', timezone: 'Asia/Tokyo' }));
    expect(ok).toEqual({ spec: { timezone: 'Asia/Tokyo', cron: ['0 2 * * *', '30 14 * * 1'] }, errors: {} });
    const bad = specFromForm(form({ specMode: 'cron', cron: '0 2 * * *\n0 2 * *' }));
    expect(bad.errors.cron).toMatch(/^Line 2 \(0 2 \* \*\): has 4 fields/);
    expect(specFromForm(form({ specMode: 'cron', cron: '  ' })).errors.cron).toMatch(/at least one/);
  });

  it('builds the whole body, only with what was filled in', () => {
    const result = scheduleBodyFromForm(
      form({
        name: '  Keep a month ',
        ages: { ...emptyForm().ages, answers: '30', spans: '7' },
        every: '2',
        unit: 'seconds',
        jitter: '1s',
        catchupWindow: '5m',
        overlap: 'buffer_one',
        pauseOnFailure: true,
      }),
    );
    expect(result).toEqual({
      body: {
        name: 'Keep a month',
        job: { type: 'retention', ages: { answers: 30, spans: 7 } },
        spec: { timezone: 'UTC', intervals: [{ every: '2s' }], jitter: '1s' },
        policy: { overlap: 'buffer_one', pauseOnFailure: true, catchupWindow: '5m' },
      },
      errors: {},
    });
    const sync = scheduleBodyFromForm(
      form({ jobType: 'syncSource', collectionId: 'c1', sourceId: 's1', description: 'docs', paused: true }),
    );
    expect(sync.body).toMatchObject({
      description: 'docs',
      job: { type: 'syncSource', collectionId: 'c1', sourceId: 's1' },
      paused: true,
    });
  });

  it('collects every problem by field and sends nothing', () => {
    const result = scheduleBodyFromForm(
      form({
        name: ' ',
        jobType: 'syncSource',
        collectionId: 'c1',
        jitter: 'soon',
        catchupWindow: '5s',
        every: '',
      }),
    );
    expect(result.body).toBeNull();
    expect(Object.keys(result.errors).sort()).toEqual(['catchupWindow', 'every', 'jitter', 'name', 'sourceId']);
    const ages = scheduleBodyFromForm(form({ ages: { ...emptyForm().ages, audit: '0' } }));
    expect(ages.errors['ages.audit']).toMatch(/at least 1/);
    expect(scheduleBodyFromForm(form({ name: 'x'.repeat(101) })).errors.name).toMatch(/100/);
  });
});

const view: ScheduleView = {
  id: 'b5c3',
  temporalScheduleId: 'schedule:t:b5c3',
  name: 'Nightly sync',
  description: null,
  job: { type: 'syncSource', collectionId: 'c1', sourceId: 's1' },
  spec: { intervals: [{ every: '7200s' }], timezone: 'UTC', jitter: '0s' },
  policy: { overlap: 'skip', catchupWindow: '1m', pauseOnFailure: false },
  state: { paused: false, note: null },
  preview: 'Every 2 hours',
  createdBy: 'ops@example.com',
  createdAt: '2026-12-01T00:00:00Z',
  nextRuns: [],
  recentRuns: [],
  running: [],
  counts: { taken: 0, skippedOverlap: 0, missedCatchup: 0 },
};

describe('formFromSchedule', () => {
  it('fills the form from a schedule, an interval in its largest whole unit', () => {
    const f = formFromSchedule(view);
    expect(f).toMatchObject({
      name: 'Nightly sync',
      jobType: 'syncSource',
      collectionId: 'c1',
      sourceId: 's1',
      specMode: 'interval',
      every: '2',
      unit: 'hours',
      jitter: '',
      catchupWindow: '1m',
    });
    // What the form builds from it is what the schedule has.
    expect(scheduleBodyFromForm(f).body).toMatchObject({ spec: { intervals: [{ every: '2h' }] } });
  });

  it('keeps cron lines and retention ages', () => {
    const f = formFromSchedule({
      ...view,
      job: { type: 'retention', ages: { answers: 90, blobs: null } },
      spec: { cron: ['0 3 * * *', '0 15 * * *'], timezone: 'Europe/Berlin' },
    });
    expect(f).toMatchObject({ specMode: 'cron', cron: '0 3 * * *\n0 15 * * *', timezone: 'Europe/Berlin' });
    expect(f.ages).toMatchObject({ answers: '90', blobs: '', spans: '' });
  });

  it('splits durations into a number and a unit', () => {
    expect(splitDuration('90s')).toEqual({ every: '90', unit: 'seconds' });
    expect(splitDuration('1d')).toEqual({ every: '1', unit: 'days' });
    expect(splitDuration('nope')).toEqual({ every: '', unit: 'seconds' });
  });
});

describe('API errors on the form', () => {
  it('maps validation issues onto their fields', () => {
    expect(fieldOfPath(['spec', 'intervals', 0, 'every'])).toBe('every');
    expect(fieldOfPath(['spec', 'cron', 1])).toBe('cron');
    expect(fieldOfPath(['spec', 'timezone'])).toBe('timezone');
    expect(fieldOfPath(['job', 'ages', 'runEvents'])).toBe('ages.runEvents');
    expect(fieldOfPath(['job', 'sourceId'])).toBe('sourceId');
    expect(fieldOfPath(['policy', 'catchupWindow'])).toBe('catchupWindow');
    expect(fieldOfPath(['spec'])).toBe('form');
    const errors = fieldErrorsFromApi({
      message: 'spec.timezone: Unknown time zone; name: Too long',
      details: [
        { path: ['spec', 'timezone'], message: 'Unknown time zone Mars/Base' },
        { path: ['name'], message: 'Too long' },
      ],
    });
    expect(errors).toEqual({ timezone: 'Unknown time zone Mars/Base', name: 'Too long' });
  });

  it('puts an error naming one path under that field, and anything else on the form', () => {
    expect(fieldErrorsFromApi({ message: 'No such source', details: { path: ['job', 'sourceId'] } })).toEqual({
      sourceId: 'No such source',
    });
    expect(fieldErrorsFromApi({ message: 'Retention jobs need the admin role.' })).toEqual({
      form: 'Retention jobs need the admin role.',
    });
  });
});

describe('labels and links', () => {
  it('labels jobs with the names it knows', () => {
    expect(jobLabel({ type: 'retention' })).toBe('Retention');
    const sync = { type: 'syncSource' as const, collectionId: 'c1', sourceId: '0123456789ab' };
    expect(jobLabel(sync, { collections: { c1: 'Handbook' }, sources: { '0123456789ab': 'Docs site' } })).toBe(
      'Sync: Docs site → Handbook',
    );
    expect(jobLabel(sync)).toBe('Sync: source 01234567 → collection c1');
  });

  it('summarises a source’s configuration', () => {
    expect(sourceSummary({ urls: ['https://a.test/x'] })).toBe('https://a.test/x');
    expect(sourceSummary({ urls: ['https://a.test/x', 'https://a.test/y'] })).toBe('2 URLs: https://a.test/x, …');
    expect(sourceSummary({ url: 'https://a.test/sitemap.xml' })).toBe('Sitemap https://a.test/sitemap.xml');
    expect(sourceSummary({ path: '/srv/docs' })).toBe('Folder /srv/docs');
  });

  it('links a source to a prefilled new schedule, and reads that link back', () => {
    const link = scheduleSyncLink({ id: 's1', collectionId: 'c1', name: 'Docs site' });
    expect(link).toEqual({
      path: '/schedules',
      query: { job: 'syncSource', collectionId: 'c1', sourceId: 's1', name: 'Docs site' },
    });
    expect(prefillFromQuery(link.query)).toEqual({
      jobType: 'syncSource',
      collectionId: 'c1',
      sourceId: 's1',
      name: 'Sync Docs site',
    });
    expect(prefillFromQuery({})).toBeNull();
    expect(prefillFromQuery({ job: 'syncSource' })).toBeNull();
  });

  it('offers UTC first, then the IANA zones', () => {
    const zones = timeZones();
    expect(zones[0]).toBe('UTC');
    expect(zones).toContain('Europe/Paris');
    expect(zones.filter((z) => z === 'UTC')).toHaveLength(1);
  });
});

describe('number inputs', () => {
  it('takes the numbers a number input’s v-model gives as well as strings', () => {
    const typed = form({ every: 5 as unknown as string, unit: 'minutes' });
    typed.ages.answers = 30 as unknown as string;
    expect(scheduleBodyFromForm(typed).body).toMatchObject({
      job: { ages: { answers: 30 } },
      spec: { intervals: [{ every: '5m' }] },
    });
  });
});

describe('scheduleChanges', () => {
  it('sends nothing for an edit that changed nothing', () => {
    const body = scheduleBodyFromForm(formFromSchedule(view)).body!;
    expect(scheduleChanges(view, body)).toEqual({});
  });

  it('sends only what changed, keeping a spec’s start and end', () => {
    const bounded: ScheduleView = { ...view, spec: { ...view.spec, startAt: '2027-01-01T00:00:00Z' } };
    const f = formFromSchedule(bounded);
    f.name = 'Hourly sync';
    f.description = 'docs';
    f.every = '1';
    f.overlap = 'buffer_one';
    expect(scheduleChanges(bounded, scheduleBodyFromForm(f).body!)).toEqual({
      name: 'Hourly sync',
      description: 'docs',
      spec: { timezone: 'UTC', intervals: [{ every: '1h' }], startAt: '2027-01-01T00:00:00Z' },
      policy: { overlap: 'buffer_one' },
    });
    const retention = formFromSchedule({ ...view, job: { type: 'retention', ages: { answers: 30 } } });
    retention.ages.answers = '60';
    expect(scheduleChanges(view, scheduleBodyFromForm(retention).body!)).toEqual({
      job: { type: 'retention', ages: { answers: 60 } },
    });
  });
});

describe('an eval-run job', () => {
  const DS = '7f1d3c0e-5a44-4b7e-9a43-2f7d0c1e9b10';
  const C1 = '0d6f2b1c-1111-4a1a-8a1a-1a1a1a1a1a1a';
  const C2 = '0d6f2b1c-2222-4a1a-8a1a-1a1a1a1a1a1a';
  const evalForm = (changes: Partial<ScheduleForm> = {}) =>
    form({ jobType: 'evalRun', datasetId: DS, evalCollectionIds: [C1], ...changes });

  it('keeps an edited grounding eval (target grounding) savable without collections', () => {
    const result = scheduleBodyFromForm(evalForm({ evalCollectionIds: [], evalKept: { target: 'grounding' } }));
    expect(result.errors).toEqual({});
    expect(result.body!.job).toEqual({
      type: 'evalRun',
      datasetId: DS,
      config: { target: 'grounding', collectionIds: [] },
    });
    expect(scheduleBodyFromForm(evalForm({ evalCollectionIds: [] })).errors.evalCollectionIds).toBeDefined();
  });

  it('sends only the dataset and collections when nothing else is filled in', () => {
    const result = scheduleBodyFromForm(evalForm({ every: '1', unit: 'days' }));
    expect(result.errors).toEqual({});
    expect(result.body!.job).toEqual({ type: 'evalRun', datasetId: DS, config: { collectionIds: [C1] } });
    // Blanks and whitespace are left out, never sent as empty values.
    const blanks = scheduleBodyFromForm(
      evalForm({ datasetVersion: '', topK: ' ', answerModel: '  ', answerPrompt: ' ', concurrency: '' }),
    );
    expect(blanks.body!.job).toEqual({ type: 'evalRun', datasetId: DS, config: { collectionIds: [C1] } });
  });

  it('sends the optional settings that are filled in, numbers as numbers', () => {
    const job = (changes: Partial<ScheduleForm>) => scheduleBodyFromForm(evalForm(changes)).body!.job;
    expect(
      job({
        datasetVersion: '3',
        evalCollectionIds: [C1, C2, C1],
        topK: 8 as unknown as string,
        answerModel: ' gpt-4o-mini ',
        answerPrompt: ' candidate ',
        concurrency: '2',
      }),
    ).toEqual({
      type: 'evalRun',
      datasetId: DS,
      datasetVersion: 3,
      config: { collectionIds: [C1, C2], model: 'gpt-4o-mini', prompts: { answer: 'candidate' }, topK: 8 },
      concurrency: 2,
    });
    // A version number of the prompt is a number, as the API takes it.
    expect(job({ answerPrompt: '2' })).toMatchObject({ config: { prompts: { answer: 2 } } });
  });

  it('names a missing dataset or collection, and bad numbers, under their fields and sends nothing', () => {
    const missing = scheduleBodyFromForm(evalForm({ datasetId: '', evalCollectionIds: [] }));
    expect(missing.body).toBeNull();
    expect(missing.errors).toEqual({
      datasetId: 'Pick a dataset.',
      evalCollectionIds: 'Pick at least one collection.',
    });
    const bad = scheduleBodyFromForm(
      evalForm({
        datasetVersion: '0',
        topK: '51',
        concurrency: '17',
        answerModel: 'gpt 4o',
        answerPrompt: 'Not A Label',
      }),
    );
    expect(bad.body).toBeNull();
    expect(Object.keys(bad.errors).sort()).toEqual([
      'answerModel',
      'answerPrompt',
      'concurrency',
      'datasetVersion',
      'topK',
    ]);
    expect(bad.errors.topK).toMatch(/1 to 50/);
    expect(bad.errors.concurrency).toMatch(/1 to 16/);
    expect(bad.errors.datasetVersion).toMatch(/latest when each run begins/);
    for (const topK of ['1.5', '-1', 'x']) expect(jobFromForm(evalForm({ topK })).errors.topK, topK).toBeDefined();
    expect(jobFromForm(evalForm({ answerPrompt: '0' })).errors.answerPrompt).toBeDefined();
    const many = Array.from({ length: 21 }, (_, i) => `${C1.slice(0, -2)}${String(i).padStart(2, '0')}`);
    expect(jobFromForm(evalForm({ evalCollectionIds: many })).errors.evalCollectionIds).toMatch(/At most 20/);
  });

  it('fills the form from an eval schedule and gives back the same job', () => {
    const job: ScheduleView['job'] = {
      type: 'evalRun',
      datasetId: DS,
      datasetVersion: 2,
      config: { collectionIds: [C1, C2], topK: 6, model: 'gpt-4o-mini', prompts: { answer: 3 } },
      concurrency: 8,
    };
    const scheduled: ScheduleView = { ...view, job };
    const f = formFromSchedule(scheduled);
    expect(f).toMatchObject({
      jobType: 'evalRun',
      datasetId: DS,
      datasetVersion: '2',
      evalCollectionIds: [C1, C2],
      topK: '6',
      answerModel: 'gpt-4o-mini',
      answerPrompt: '3',
      concurrency: '8',
    });
    expect(scheduleBodyFromForm(f).body!.job).toEqual(job);
    expect(scheduleChanges(scheduled, scheduleBodyFromForm(f).body!)).toEqual({});
    // The form's list is its own: ticking a box does not change the schedule it was filled from.
    f.evalCollectionIds.pop();
    expect(job.config.collectionIds).toEqual([C1, C2]);
    expect(scheduleChanges(scheduled, scheduleBodyFromForm(f).body!)).toEqual({
      job: { ...job, config: { ...job.config, collectionIds: [C1] } },
    });
    // The latest version, no optional setting.
    const latest: ScheduleView = {
      ...view,
      job: { type: 'evalRun', datasetId: DS, config: { collectionIds: [C1] } },
    };
    const g = formFromSchedule(latest);
    expect(g).toMatchObject({ datasetVersion: '', topK: '', answerModel: '', answerPrompt: '', concurrency: '' });
    expect(scheduleChanges(latest, scheduleBodyFromForm(g).body!)).toEqual({});
  });

  it('keeps the settings the form does not show, and other prompts, as they are', () => {
    const job: ScheduleView['job'] = {
      type: 'evalRun',
      datasetId: DS,
      config: {
        collectionIds: [C1],
        judgeModel: 'gpt-4o',
        rerank: false,
        groundingThreshold: 0.4,
        maxContextTokens: 1200,
        prompts: { answer: 'candidate', judge: 2, rewrite: 'production' },
      },
    };
    const scheduled: ScheduleView = { ...view, job };
    const f = formFromSchedule(scheduled);
    expect(f.answerPrompt).toBe('candidate');
    expect(Object.keys(f.evalKept).sort()).toEqual([
      'groundingThreshold',
      'judgeModel',
      'maxContextTokens',
      'prompts',
      'rerank',
    ]);
    expect(scheduleChanges(scheduled, scheduleBodyFromForm(f).body!)).toEqual({});
    f.answerPrompt = '';
    f.topK = '4';
    expect(scheduleBodyFromForm(f).body!.job).toEqual({
      ...job,
      config: { ...job.config, topK: 4, prompts: { judge: 2, rewrite: 'production' } },
    });
  });

  it('maps the API’s refusals of an eval job onto its fields', () => {
    expect(fieldOfPath(['job', 'datasetId'])).toBe('datasetId');
    expect(fieldOfPath(['job', 'datasetVersion'])).toBe('datasetVersion');
    expect(fieldOfPath(['job', 'concurrency'])).toBe('concurrency');
    expect(fieldOfPath(['job', 'config', 'collectionIds', 0])).toBe('evalCollectionIds');
    expect(fieldOfPath(['job', 'config', 'topK'])).toBe('topK');
    expect(fieldOfPath(['job', 'config', 'model'])).toBe('answerModel');
    expect(fieldOfPath(['job', 'config', 'prompts', 'answer'])).toBe('answerPrompt');
    expect(fieldOfPath(['job', 'config', 'judgeModel'])).toBe('job');
    const unknown = { code: 'unknown_dataset', message: 'job: no such dataset (or version of it).' };
    expect(fieldErrorsFromApi(unknown)).toEqual({ datasetId: unknown.message });
    const mixed = { code: 'mixed_embedding_models', message: 'The collections use different embedding models' };
    expect(fieldErrorsFromApi(mixed)).toEqual({ evalCollectionIds: mixed.message });
    const model = { code: 'model_not_available', message: 'config.model: not offered' };
    expect(fieldErrorsFromApi(model)).toEqual({ answerModel: model.message });
    expect(fieldErrorsFromApi({ ...model, message: 'config.judgeModel: not offered' })).toEqual({
      form: 'config.judgeModel: not offered',
    });
  });

  it('labels an eval job by its dataset', () => {
    expect(jobLabel({ type: 'evalRun', datasetId: DS, config: { collectionIds: [C1] } })).toBe(
      'Eval: dataset 7f1d3c0e',
    );
    expect(jobLabel({ type: 'evalRun', datasetId: DS, datasetVersion: 4, config: { collectionIds: [C1] } })).toBe(
      'Eval: dataset 7f1d3c0e (v4)',
    );
  });
});
