/**
 * Shapes of the BeyondCloud API as the console reads them. Shapes with a contract come from lib/contracts by
 * type-only imports (erased from the bundle, so no server code reaches the browser).
 */
import type { RunKind, RunStatus, RunTrace, TraceSpan } from '../../../lib/contracts/runs';

export type { RunKind, RunStatus, Step, StepAttempt, StepStatus } from '../../../lib/contracts/runs';

// Records rather than lists: a kind or status added to the contracts fails the console's type-check until it is
// placed here (in the contracts' order, which the filter shows).
const runKinds: Record<RunKind, true> = {
  system: true,
  llm: true,
  ingest: true,
  answer: true,
  grounding: true,
  search: true,
  agent: true,
  batch: true,
  eval: true,
  replay: true,
};
export const RUN_KINDS = Object.keys(runKinds) as RunKind[];
const runStatuses: Record<RunStatus, true> = {
  running: true,
  completed: true,
  failed: true,
  canceled: true,
  terminated: true,
  continued_as_new: true,
  timed_out: true,
};
export const RUN_STATUSES = Object.keys(runStatuses) as RunStatus[];

export type Role = 'admin' | 'operator' | 'viewer';

/** Who the console is signed in as: an API key (`key` set) or a user's session (`user` set). */
export interface Me {
  tenant: { id: string; name: string };
  role: Role;
  platformAdmin?: boolean;
  via?: 'key' | 'session';
  key: { id: string; name: string; prefix: string } | null;
  user: { id: string; email: string } | null;
}

export interface TenantMembership {
  id: string;
  name: string;
  role: Role;
}

/** What a password sign-in, an accepted invitation or a tenant switch answers. */
export interface SignedIn {
  user: { id: string; email: string; displayName: string };
  tenant: { id: string; name: string };
  role: Role;
  tenants: TenantMembership[];
  csrfToken: string;
  expiresAt: string;
}

export interface SignInProviders {
  password: boolean;
  oidc: boolean;
}

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
  /** One line on what the run is about (question, goal, documents → collection); null for older runs. */
  what?: string | null;
  parentWorkflowId?: string | null;
  tokens?: { input: number; output: number };
  costUsd?: number;
}

/** A document an ingest's child run processes (GET /v1/runs/:id/children). */
export interface RunDocument {
  id: string;
  collectionId: string;
  name: string;
  status: string;
  chunkCount: number;
  error: string | null;
}

export interface ChildRun extends RunSummary {
  /** The document of a per-document child (ingest runs started before batches). */
  document?: RunDocument;
  /** The documents of a batch child, in order. */
  documents?: RunDocument[];
}

export interface ChildRunPage {
  runs: ChildRun[];
  nextPageToken: string | null;
}

/** What a run is connected to (GET /v1/runs/:id `links`). */
export interface RunLinks {
  parentWorkflowId: string | null;
  answerId?: string;
  agentRunId?: string;
  collectionId?: string;
  collectionIds?: string[];
  documentId?: string;
  documentIds?: string[];
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
  links?: RunLinks;
  childRuns?: number;
  /** Tokens and cost of the run together with its child runs. */
  withChildren?: { tokens: { input: number; output: number }; costUsd: number };
}

/** The trace shapes are the contract's (lib/contracts/runs.ts). */
export type Span = TraceSpan;
export type Trace = RunTrace;

export interface SelfTestStarted {
  workflowId: string;
  runId: string | null;
  status: 'running';
}

export interface CancelRequested {
  workflowId: string;
  status: 'cancel_requested';
}
