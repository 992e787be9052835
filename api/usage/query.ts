import { z } from 'zod';
import { USAGE_BUCKETS, USAGE_GROUP_BYS, USAGE_LIMITS, type UsageBucket } from '../../lib/contracts/usage';
import { uuid } from '../schemas';

/** The query parameters of `/v1/usage/...`, validated once here; a bad one answers 400 `validation_failed`. */

const DAY_MS = 86_400_000;

const instant = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()])
  .refine((v) => !Number.isNaN(new Date(v).getTime()), 'is not a real date')
  .meta({ description: 'An ISO 8601 instant (`2026-12-01T00:00:00Z`) or a UTC date (`2026-12-01`).' });

/** Every usage route's `from`/`to`: defaults to the last 7 days, `from` before `to`, at most 366 days. */
const rangeFields = {
  from: instant.optional().meta({ description: 'Start of the range (inclusive); default `to` minus 7 days.' }),
  to: instant.optional().meta({ description: 'End of the range (exclusive); default now.' }),
  tenantId: uuid.optional().meta({ description: 'A platform admin reads another tenant’s usage with it.' }),
};

export interface UsageRange {
  from: Date;
  to: Date;
}

/** The range a query asks for, defaults filled in. */
export function resolveRange(q: { from?: string; to?: string }, now = new Date()): UsageRange {
  const to = q.to ? new Date(q.to) : q.from ? maxDate(now, new Date(q.from)) : now;
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - USAGE_LIMITS.defaultRangeDays * DAY_MS);
  return { from, to };
}

const maxDate = (a: Date, b: Date) => (a.getTime() >= b.getTime() ? a : b);

function checkRange(q: { from?: string; to?: string }, issue: (path: string, message: string) => void) {
  if (q.from === undefined && q.to === undefined) return;
  const parsed = [q.from, q.to].map((v) => (v === undefined ? undefined : new Date(v)));
  if (parsed.some((d) => d && Number.isNaN(d.getTime()))) return; // the field itself already failed
  const { from, to } = resolveRange(q);
  if (from.getTime() >= to.getTime()) issue(q.from !== undefined ? 'from' : 'to', 'must be before `to`');
  else if (to.getTime() - from.getTime() > USAGE_LIMITS.maxRangeDays * DAY_MS)
    issue('to', `the range may cover at most ${USAGE_LIMITS.maxRangeDays} days`);
}

const refineRange = (q: { from?: string; to?: string }, ctx: z.RefinementCtx) =>
  checkRange(q, (path, message) => ctx.addIssue({ code: 'custom', path: [path], message }));

export const rangeQuery = z.object(rangeFields).strict().superRefine(refineRange);

export const timeseriesQuery = z
  .object({
    ...rangeFields,
    bucket: z
      .enum(USAGE_BUCKETS)
      .optional()
      .meta({ description: 'Bucket size; default `hour` for ranges up to 2 days, else `day`.' }),
    groupBy: z.enum(USAGE_GROUP_BYS).default('model').meta({
      description:
        'Split by `model`, run `kind`, `key` (the API key or console user that started the run) or call `purpose`.',
    }),
  })
  .strict()
  .superRefine((q, ctx) => {
    refineRange(q, ctx);
    const { from, to } = resolveRange(q);
    if (q.bucket === 'hour' && to.getTime() - from.getTime() > USAGE_LIMITS.maxHourlyRangeDays * DAY_MS)
      ctx.addIssue({
        code: 'custom',
        path: ['bucket'],
        message: `hour buckets need a range of at most ${USAGE_LIMITS.maxHourlyRangeDays} days`,
      });
  });

/** The bucket a series uses when the query names none: hours up to two days, days beyond. */
export const defaultBucket = (range: UsageRange): UsageBucket =>
  range.to.getTime() - range.from.getTime() <= 2 * DAY_MS ? 'hour' : 'day';
