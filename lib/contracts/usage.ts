/**
 * Usage and cost as `/v1/usage/...` answers it (api/usage/), the CLI prints it and the console charts it. Model calls
 * come from the `llm_calls` rows (one per attempt, failed ones included); run durations from Temporal's visibility.
 */

/** What the time series and the tables can be split by. */
export const USAGE_GROUP_BYS = ['model', 'kind', 'key', 'purpose'] as const;
export type UsageGroupBy = (typeof USAGE_GROUP_BYS)[number];

export const USAGE_BUCKETS = ['hour', 'day'] as const;
export type UsageBucket = (typeof USAGE_BUCKETS)[number];

/** The longest range one request may cover, and the longest an hourly series may (744 points per group). */
export const USAGE_LIMITS = { maxRangeDays: 366, maxHourlyRangeDays: 31, defaultRangeDays: 7 } as const;

/** Upper bounds (inclusive, ms) of the run-duration histogram's buckets; one more bucket counts the longer runs. */
export const RUN_DURATION_BUCKETS_MS = [
  250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000,
] as const;

/** Tokens and cost of a set of model calls (attempts). */
export interface UsageTotals {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

/** One row of a breakdown (`byModel`, `byKind`, ...): its totals and the part of them that failed. */
export interface UsageBreakdownRow extends UsageTotals {
  /** The model, run kind, `keyType:id` or purpose; `none` for calls made outside any run. */
  key: string;
  /** For people: a key's name and prefix, a user's email, the model itself. */
  label: string;
  failedCalls: number;
  failedCostUsd: number;
}

export interface UsageSummary {
  from: string;
  to: string;
  /** Every attempt in the range, failed ones included. */
  totals: UsageTotals;
  /** Attempts whose call failed (`outcome` other than `ok`): their tokens and cost are counted here, apart. */
  failed: UsageTotals;
  /** Attempts that succeeded, but whose activity attempt failed afterwards and was retried: work thrown away. */
  superseded: UsageTotals;
  /** Attempts made by an activity retry (attempt 2 and later). */
  retries: UsageTotals;
  /** failed.calls / totals.calls (0 without calls). */
  errorRate: number;
  /** retries.calls / totals.calls (0 without calls). */
  retryRate: number;
  /** failed.costUsd + superseded.costUsd: what attempts that did not count cost. */
  wastedCostUsd: number;
  byModel: UsageBreakdownRow[];
  byKind: UsageBreakdownRow[];
}

/** One group's series, aligned with `UsageTimeseries.buckets`. */
export interface UsageSeries {
  key: string;
  label: string;
  totals: UsageTotals;
  inputTokens: number[];
  outputTokens: number[];
  costUsd: number[];
  calls: number[];
  failedCalls: number[];
}

export interface UsageTimeseries {
  from: string;
  to: string;
  bucket: UsageBucket;
  groupBy: UsageGroupBy;
  /** Start of every bucket in the range (UTC), empty ones included. */
  buckets: string[];
  /** Largest total cost first. */
  groups: UsageSeries[];
}

export interface RunKindLatency {
  kind: string;
  /** Runs started in the range that have closed. */
  count: number;
  running: number;
  /** Failed, timed out or terminated. */
  failed: number;
  canceled: number;
  /** failed / count (0 without closed runs). */
  errorRate: number;
  p50Ms: number | null;
  p95Ms: number | null;
  maxMs: number | null;
  /** Closed runs per bucket of `RunLatency.bucketsMs`, the last entry for runs longer than its largest bound. */
  histogram: number[];
}

export interface ModelLatency {
  model: string;
  provider: string;
  /** Successful calls, whose latency is measured. */
  calls: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

export interface UsageLatency {
  from: string;
  to: string;
  runs: {
    /** Runs started in the range (closed and running) that were read. */
    total: number;
    /** True when the range held more runs than one request reads (`maxRuns`): the numbers cover the newest ones. */
    truncated: boolean;
    maxRuns: number;
    bucketsMs: number[];
    kinds: RunKindLatency[];
  };
  llm: { models: ModelLatency[] };
}
