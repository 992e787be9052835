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
