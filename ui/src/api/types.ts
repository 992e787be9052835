/** Shapes of the BeyondCloud API as the console reads them. */

export type Role = 'admin' | 'operator' | 'viewer';

export interface Me {
  tenant: { id: string; name: string };
  role: Role;
  key: { id: string; name: string; prefix: string };
}

export const RUN_STATUSES = ['running', 'completed', 'failed', 'canceled', 'terminated', 'continued_as_new', 'timed_out'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const RUN_KINDS = ['system', 'ingest', 'answer', 'grounding', 'agent', 'batch'] as const;

export interface RunSummary {
  workflowId: string;
  runId: string;
  type: string;
  kind: string | null;
  status: RunStatus;
  startTime: string;
  closeTime: string | null;
  durationMs: number | null;
  taskQueue: string;
}

export interface RunPage {
  runs: RunSummary[];
  nextPageToken: string | null;
}

/** Filters of GET /v1/runs; `from`/`to` are ISO datetimes on the start time, `q` a workflow id prefix. */
export interface RunFilters {
  kind?: string;
  status?: string;
  from?: string;
  to?: string;
  q?: string;
}

export interface PendingActivity {
  activityId: string;
  activityType: string;
  state: string;
  attempt: number;
  lastFailure?: string;
  scheduledTime?: string;
  lastStartedTime?: string;
  lastHeartbeatTime?: string;
}

export interface RunDetail extends RunSummary {
  historyLength: number;
  input: unknown[];
  result?: unknown;
  failure?: { message: string; type?: string };
  pendingActivities: PendingActivity[];
}

export type StepStatus = 'scheduled' | 'running' | 'completed' | 'failed' | 'timed_out' | 'canceled';

export interface StepAttempt {
  attempt: number;
  startTime: string;
  endTime: string;
  durationMs: number;
  status: 'ok' | 'error';
  error?: string;
}

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
  attemptsDetail: StepAttempt[];
}

export interface Span {
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

export interface Trace {
  traceIds: string[];
  spans: Span[];
}

export interface SelfTestStarted {
  workflowId: string;
  runId: string | null;
  status: 'running';
}

export interface CancelRequested {
  workflowId: string;
  status: 'cancel_requested';
}
