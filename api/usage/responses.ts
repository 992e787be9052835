import { z } from 'zod';
import {
  USAGE_BUCKETS,
  USAGE_GROUP_BYS,
  type UsageLatency,
  type UsageSummary,
  type UsageTimeseries,
} from '../../lib/contracts/usage';

/** The answers of `/v1/usage/...` for the OpenAPI document; the types in lib/contracts/usage.ts are the source. */

const totals = z.object({
  calls: z.number().int().min(0),
  inputTokens: z.number().int().min(0),
  outputTokens: z.number().int().min(0),
  costUsd: z.number().min(0),
});

const breakdownRow = totals.extend({
  key: z.string(),
  label: z.string(),
  failedCalls: z.number().int().min(0),
  failedCostUsd: z.number().min(0),
});

const share = z.number().min(0).max(1);

export const summaryResponse = z.object({
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  totals,
  failed: totals,
  superseded: totals,
  retries: totals,
  errorRate: share,
  retryRate: share,
  wastedCostUsd: z.number().min(0),
  byModel: z.array(breakdownRow),
  byKind: z.array(breakdownRow),
}) satisfies z.ZodType<UsageSummary>;

const numbers = z.array(z.number().min(0));

export const timeseriesResponse = z.object({
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  bucket: z.enum(USAGE_BUCKETS),
  groupBy: z.enum(USAGE_GROUP_BYS),
  buckets: z.array(z.iso.datetime()),
  groups: z.array(
    z.object({
      key: z.string(),
      label: z.string(),
      totals,
      inputTokens: numbers,
      outputTokens: numbers,
      costUsd: numbers,
      calls: numbers,
      failedCalls: numbers,
    }),
  ),
}) satisfies z.ZodType<UsageTimeseries>;

const ms = z.number().min(0).nullable();

export const latencyResponse = z.object({
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  runs: z.object({
    total: z.number().int().min(0),
    truncated: z.boolean(),
    maxRuns: z.number().int(),
    bucketsMs: z.array(z.number()),
    kinds: z.array(
      z.object({
        kind: z.string(),
        count: z.number().int().min(0),
        running: z.number().int().min(0),
        failed: z.number().int().min(0),
        canceled: z.number().int().min(0),
        errorRate: share,
        p50Ms: ms,
        p95Ms: ms,
        maxMs: ms,
        histogram: z.array(z.number().int().min(0)),
      }),
    ),
  }),
  llm: z.object({
    models: z.array(
      z.object({ model: z.string(), provider: z.string(), calls: z.number().int().min(0), p50Ms: ms, p95Ms: ms }),
    ),
  }),
}) satisfies z.ZodType<UsageLatency>;
