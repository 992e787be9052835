/**
 * Runs as the API lists them and the console shows them (the console imports these by type and checks its lists of
 * kinds and statuses against them).
 */

/** What a run is for: the `RunKind` search attribute every run carries, the API's `?kind=` filter, the console's. */
export const RUN_KINDS = [
  'system',
  'llm',
  'ingest',
  'answer',
  'grounding',
  'search',
  'agent',
  'batch',
  'eval',
  'replay',
] as const;
export type RunKind = (typeof RUN_KINDS)[number];

/** A run's status as the API reports it and filters by it (`?status=`). */
export const RUN_STATUSES = [
  'running',
  'completed',
  'failed',
  'canceled',
  'terminated',
  'continued_as_new',
  'timed_out',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export type StepStatus = 'scheduled' | 'running' | 'completed' | 'failed' | 'timed_out' | 'canceled';

/** One attempt of a step, from its span. */
export interface StepAttempt {
  attempt: number;
  startTime: string;
  endTime: string;
  durationMs: number;
  status: 'ok' | 'error';
  error?: string;
}

/** One activity of a run (GET /v1/runs/:id/steps): its last attempt from the history, earlier ones from spans. */
export interface Step {
  activityId: string;
  activityType: string;
  status: StepStatus;
  scheduledTime: string;
  startedTime: string | null;
  closeTime: string | null;
  durationMs: number | null;
  attempts: number;
  lastFailure?: string;
  retryState?: string;
  attemptsDetail: StepAttempt[];
}

/** A stored span as the runs API returns it (`GET /v1/runs/:id/trace`). */
export interface TraceSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: number;
  service: string;
  startTime: string;
  endTime: string;
  durationMs: number;
  /** 0 unset, 1 ok, 2 error. */
  statusCode: number;
  statusMessage: string | null;
  attributes: Record<string, unknown>;
  events: unknown[];
}

/** The spans of every trace a run took part in, filtered to the reader's tenant. */
export interface RunTrace {
  traceIds: string[];
  spans: TraceSpan[];
}
