/**
 * The schedules API the console's Schedules pages use: Temporal Schedules of the tenant's batch jobs (retention,
 * source sync), with pause, trigger, backfill and the runs they started. Shapes mirror the API's ScheduleView.
 */
import type { RetentionKind } from '../../../lib/contracts/batch';
import type { EvalConfig } from '../../../lib/contracts/evals';
import { request } from './request';
import type { RunPage } from './types';

export type OverlapPolicy = 'skip' | 'buffer_one' | 'buffer_all' | 'cancel_other' | 'terminate_other' | 'allow_all';

export type ScheduleJob =
  | { type: 'retention'; ages?: Partial<Record<RetentionKind, number | null>> }
  | { type: 'syncSource'; collectionId: string; sourceId: string }
  | {
      type: 'evalRun';
      datasetId: string;
      datasetVersion?: number;
      config: EvalConfig;
      concurrency?: number;
    };

export interface ScheduleSpec {
  /** Five-field cron expressions, read in `timezone`. */
  cron?: string[];
  /** Durations such as '2s', '5m', '1h', '1d'. */
  intervals?: Array<{ every: string; offset?: string }>;
  /** IANA name; UTC when left out. */
  timezone?: string;
  jitter?: string;
  startAt?: string;
  endAt?: string;
}

export interface SchedulePolicy {
  overlap: OverlapPolicy;
  catchupWindow?: string;
  pauseOnFailure: boolean;
}

export type ScheduleRunStatus = 'running' | 'completed' | 'failed' | 'canceled' | 'terminated' | 'timed_out' | null;

export interface ScheduleView {
  id: string;
  temporalScheduleId: string;
  name: string;
  description: string | null;
  job: ScheduleJob;
  spec: ScheduleSpec;
  policy: SchedulePolicy;
  state: { paused: boolean; note: string | null };
  /** The server's words for the spec. */
  preview: string;
  createdBy: string;
  createdAt: string;
  /** The next times it fires (at most 5). */
  nextRuns: string[];
  /** Newest first, at most 10. */
  recentRuns: Array<{ workflowId: string; scheduledAt: string; startedAt: string; status: ScheduleRunStatus }>;
  /** Workflow ids of its runs still going. */
  running: string[];
  counts: { taken: number; skippedOverlap: number; missedCatchup: number };
}

export interface NewSchedule {
  name: string;
  description?: string;
  job: ScheduleJob;
  spec: ScheduleSpec;
  policy?: Partial<SchedulePolicy>;
  paused?: boolean;
  note?: string;
}

export type ScheduleChanges = Partial<Pick<NewSchedule, 'name' | 'description' | 'job' | 'spec' | 'policy'>>;

const schedulePath = (id: string) => `/v1/schedules/${encodeURIComponent(id)}`;

export const listSchedules = (signal?: AbortSignal) =>
  request<{ schedules: ScheduleView[] }>('/v1/schedules', { signal });

export const getSchedule = (id: string, signal?: AbortSignal) => request<ScheduleView>(schedulePath(id), { signal });

export const createSchedule = (body: NewSchedule) => request<ScheduleView>('/v1/schedules', { method: 'POST', body });

export const updateSchedule = (id: string, body: ScheduleChanges) =>
  request<ScheduleView>(schedulePath(id), { method: 'PATCH', body });

export const deleteSchedule = (id: string) => request<void>(schedulePath(id), { method: 'DELETE' });

export const pauseSchedule = (id: string, note?: string) =>
  request<ScheduleView>(`${schedulePath(id)}/pause`, { method: 'POST', body: note ? { note } : {} });

export const unpauseSchedule = (id: string, note?: string) =>
  request<ScheduleView>(`${schedulePath(id)}/unpause`, { method: 'POST', body: note ? { note } : {} });

export const triggerSchedule = (id: string, overlap?: OverlapPolicy) =>
  request<ScheduleView>(`${schedulePath(id)}/trigger`, { method: 'POST', body: overlap ? { overlap } : {} });

export const backfillSchedule = (id: string, range: { start: string; end: string; overlap?: OverlapPolicy }) =>
  request<ScheduleView>(`${schedulePath(id)}/backfill`, { method: 'POST', body: range });

export const listScheduleRuns = (
  id: string,
  page: { pageSize?: number; pageToken?: string | null } = {},
  signal?: AbortSignal,
) =>
  request<RunPage>(`${schedulePath(id)}/runs`, {
    query: { pageSize: page.pageSize, pageToken: page.pageToken },
    signal,
  });
