import cronstrue from 'cronstrue';
import { z } from 'zod';
import { evalConfig } from '../evals/spec';
import { RETENTION_KINDS } from '../../lib/contracts';

/**
 * The schedules API's words for a Temporal Schedule: its spec (cron expressions and/or intervals, a time zone,
 * jitter), its policies, and the job it starts. Durations are `<n><unit>` with unit ms, s, m, h or d.
 */

const UNITS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d{1,9})(ms|s|m|h|d)$/;

export function durationMs(text: string): number {
  const m = DURATION.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  return Number(m[1]) * UNITS[m[2] as keyof typeof UNITS];
}

/** A duration in ms in this API's `<n><unit>` syntax, in the largest unit that divides it (Temporal hands back ms). */
export function durationText(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms > 0 && ms % UNITS[unit] === 0) return `${ms / UNITS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

const duration = (what: string, min = 0) =>
  z
    .string()
    .regex(DURATION, `${what}: a duration like 30s, 5m, 2h or 1d`)
    .refine((v) => !DURATION.test(v) || durationMs(v) >= min, `${what}: at least ${min / 1000} s`)
    .refine((v) => !DURATION.test(v) || durationMs(v) <= 3_650 * UNITS.d, `${what}: at most 3650d`);

const cronExpression = z
  .string()
  .trim()
  .regex(
    /^[0-9A-Za-z*,/?#L-]+( [0-9A-Za-z*,/?#L-]+){4}$/,
    'a cron expression of 5 fields: minute hour day month weekday',
  )
  .superRefine((v, ctx) => {
    try {
      cronstrue.toString(v, { throwExceptionOnParseError: true });
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `not a cron expression: ${String(e).replace(/^Error: /, '')}` });
    }
  });

const timezone = z
  .string()
  .min(1)
  .max(64)
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'an IANA time zone such as UTC or Europe/Berlin');

export const scheduleSpec = z
  .object({
    cron: z.array(cronExpression).max(10).default([]),
    intervals: z
      .array(z.object({ every: duration('every', 1_000), offset: duration('offset').optional() }).strict())
      .max(10)
      .default([]),
    timezone: timezone.default('UTC'),
    jitter: duration('jitter').nullable().optional(),
    startAt: z.iso.datetime({ offset: true }).nullable().optional(),
    endAt: z.iso.datetime({ offset: true }).nullable().optional(),
  })
  .strict()
  .refine((s) => s.cron.length + s.intervals.length > 0, 'a schedule needs at least one cron expression or interval')
  .refine((s) => !s.startAt || !s.endAt || Date.parse(s.startAt) < Date.parse(s.endAt), 'startAt must be before endAt');
export type ScheduleSpecInput = z.infer<typeof scheduleSpec>;

export const OVERLAP_POLICIES = [
  'skip',
  'buffer_one',
  'buffer_all',
  'cancel_other',
  'terminate_other',
  'allow_all',
] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

export const schedulePolicy = z
  .object({
    overlap: z.enum(OVERLAP_POLICIES).default('skip'),
    catchupWindow: duration('catchupWindow', 10_000).default('1m'),
    pauseOnFailure: z.boolean().default(false),
  })
  .strict();
export type SchedulePolicyInput = z.infer<typeof schedulePolicy>;

const days = z.number().int().min(1).max(36_500).nullable();

export const scheduleJob = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('retention'),
      ages: z
        .object(Object.fromEntries(RETENTION_KINDS.map((k) => [k, days.optional()])))
        .strict()
        .partial()
        .optional(),
    })
    .strict(),
  z.object({ type: z.literal('syncSource'), collectionId: z.uuid(), sourceId: z.uuid() }).strict(),
  z
    .object({
      type: z.literal('evalRun'),
      datasetId: z.uuid(),
      /** Absent: each run takes the dataset's latest version. */
      datasetVersion: z.number().int().min(1).max(1_000_000).optional(),
      config: evalConfig,
      concurrency: z.number().int().min(1).max(16).optional(),
    })
    .strict(),
]);
export type ScheduleJob = z.infer<typeof scheduleJob>;

const name = z.string().trim().min(1).max(100);
const description = z.string().max(500);
const note = z.string().max(500);

export const createSchedule = z
  .object({
    name,
    description: description.default(''),
    job: scheduleJob,
    spec: scheduleSpec,
    policy: schedulePolicy.default({ overlap: 'skip', catchupWindow: '1m', pauseOnFailure: false }),
    paused: z.boolean().default(false),
    note: note.optional(),
  })
  .strict();
export type CreateSchedule = z.infer<typeof createSchedule>;

export const updateSchedule = z
  .object({
    name: name.optional(),
    description: description.optional(),
    job: scheduleJob.optional(),
    spec: scheduleSpec.optional(),
    policy: schedulePolicy.partial().optional(),
  })
  .strict();
export type UpdateSchedule = z.infer<typeof updateSchedule>;

export const noteBody = z.object({ note: note.optional() }).strict();
export const triggerBody = z.object({ overlap: z.enum(OVERLAP_POLICIES).optional() }).strict();
export const backfillBody = z
  .object({
    start: z.iso.datetime({ offset: true }),
    end: z.iso.datetime({ offset: true }),
    overlap: z.enum(OVERLAP_POLICIES).optional(),
  })
  .strict()
  .refine((b) => Date.parse(b.start) < Date.parse(b.end), 'start must be before end')
  .refine((b) => Date.parse(b.end) - Date.parse(b.start) <= 366 * UNITS.d, 'a backfill covers at most 366 days');

const UNIT_WORDS: Array<[number, string]> = [
  [UNITS.d, 'day'],
  [UNITS.h, 'hour'],
  [UNITS.m, 'minute'],
  [UNITS.s, 'second'],
  [1, 'millisecond'],
];

/** "2 seconds", "hour", "90 minutes": the largest unit that divides the duration. */
export function durationWords(ms: number, omitOne = false): string {
  for (const [size, word] of UNIT_WORDS) {
    if (ms % size === 0) {
      const n = ms / size;
      if (n === 1) return omitOne ? word : `1 ${word}`;
      return `${n} ${word}s`;
    }
  }
  return `${ms} milliseconds`;
}

/** The spec in words ("Every 2 seconds", "At 02:00, on Monday (Europe/Berlin)"), as the console shows it too. */
export function specPreview(spec: ScheduleSpecInput): string {
  const parts = [
    ...spec.intervals.map((i) => {
      const offset = i.offset ? durationMs(i.offset) : 0;
      return `Every ${durationWords(durationMs(i.every), true)}${offset ? `, offset ${durationWords(offset)}` : ''}`;
    }),
    ...spec.cron.map((c) => cronstrue.toString(c, { use24HourTimeFormat: true })),
  ];
  let text = parts.join('; ');
  if (spec.cron.length && spec.timezone !== 'UTC') text += ` (${spec.timezone})`;
  else if (spec.cron.length) text += ' (UTC)';
  if (spec.jitter && durationMs(spec.jitter) > 0) text += `, up to ${durationWords(durationMs(spec.jitter))} later`;
  return text;
}
