/**
 * Usage and cost (`/v1/usage/...`): the same answers the CLI prints. Shapes come from lib/contracts/usage.ts by type.
 */
import type { UsageGroupBy, UsageLatency, UsageSummary, UsageTimeseries } from '../../../lib/contracts/usage';
import { request } from './request';

export type {
  ModelLatency,
  RunKindLatency,
  UsageBreakdownRow,
  UsageBucket,
  UsageGroupBy,
  UsageLatency,
  UsageSeries,
  UsageSummary,
  UsageTimeseries,
  UsageTotals,
} from '../../../lib/contracts/usage';

/** The ranges the page offers: the last day, week or month, up to now. */
export const USAGE_RANGES = [
  { id: '24h', label: '24 h', long: '24 hours', hours: 24 },
  { id: '7d', label: '7 d', long: '7 days', hours: 7 * 24 },
  { id: '30d', label: '30 d', long: '30 days', hours: 30 * 24 },
] as const;
export type UsageRangeId = (typeof USAGE_RANGES)[number]['id'];

/** The splits of the time series the page offers (the API also splits by call purpose). */
export const USAGE_GROUPS: ReadonlyArray<{ id: UsageGroupBy; label: string }> = [
  { id: 'model', label: 'Model' },
  { id: 'kind', label: 'Run kind' },
  { id: 'key', label: 'Key' },
];

export interface UsageWindow {
  from: string;
  to: string;
}

/** The window of a range id, ending now. */
export function usageWindow(id: UsageRangeId, now = new Date()): UsageWindow {
  const hours = USAGE_RANGES.find((r) => r.id === id)?.hours ?? 7 * 24;
  return { from: new Date(now.getTime() - hours * 3_600_000).toISOString(), to: now.toISOString() };
}

export const getUsageSummary = (w: UsageWindow, signal?: AbortSignal) =>
  request<UsageSummary>('/v1/usage/summary', { query: { ...w }, signal });

export const getUsageTimeseries = (w: UsageWindow, groupBy: UsageGroupBy, signal?: AbortSignal) =>
  request<UsageTimeseries>('/v1/usage/timeseries', { query: { ...w, groupBy }, signal });

export const getUsageLatency = (w: UsageWindow, signal?: AbortSignal) =>
  request<UsageLatency>('/v1/usage/latency', { query: { ...w }, signal });
