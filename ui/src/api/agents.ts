/**
 * Agent runs as the console reads them (api/routes/agents.ts): start, live state, events, approvals, cancel, and
 * the approvals inbox across runs. The workflow's shapes come from lib/contracts by type-only imports.
 */
import type { AgentBudgets, AgentRunResult, AgentState } from '../../../lib/contracts';
import type { AgentRunEvent, RunStreamEndEvent } from '../../../lib/contracts/run-events';
import { followEventStream, type FollowResult } from './event-stream';
import { request } from './request';
import type { RunPage } from './types';

export type {
  AgentBudgets,
  AgentPendingApproval,
  AgentRunResult,
  AgentState,
  AgentStatus,
  AgentToolTraceEntry,
} from '../../../lib/contracts';

/** What the agent's event stream carries, with its log id. */
export type AgentEvent = (AgentRunEvent | RunStreamEndEvent) & { id?: string };

/** Events after which the stream ends: the result, or the run closing without one (canceled, failed). */
export const AGENT_TERMINAL_EVENTS: ReadonlySet<string> = new Set<AgentEvent['type']>(['result', 'end']);

export interface AgentStartInput {
  goal: string;
  instructions?: string;
  tools: string[];
  collectionIds?: string[];
  budgets?: Partial<AgentBudgets>;
  approvalTimeoutMs?: number;
  model?: string;
}

export interface AgentStarted {
  workflowId: string;
  status: 'running' | 'completed';
  result?: AgentRunResult;
}

/** GET /v1/agents/runs/:id: the run's status and, while it answers queries, its live state. */
export interface AgentRunView {
  workflowId: string;
  runId: string;
  /** The run's status: running, completed, failed, canceled, terminated, timed_out… */
  status: string;
  state: AgentState | null;
}

/** One call of the approvals inbox (GET /v1/agents/approvals). */
export interface InboxApproval {
  workflowId: string;
  goal: string;
  callId: string;
  /** `server/tool`. */
  tool: string;
  arguments: string;
  requestedAt: string;
  expiresAt?: string;
}

const runPath = (workflowId: string) => `/v1/agents/runs/${encodeURIComponent(workflowId)}`;

export function startAgentRun(input: AgentStartInput): Promise<AgentStarted> {
  return request<AgentStarted>('/v1/agents/runs', { method: 'POST', body: input });
}

export async function getAgentRun(workflowId: string, signal?: AbortSignal): Promise<AgentRunView> {
  const view = await request<AgentRunView>(runPath(workflowId), { signal });
  // Temporal's own spelling here; the runs list (and the rest of the console) says `canceled`.
  return view.status === 'cancelled' ? { ...view, status: 'canceled' } : view;
}

export function listApprovals(signal?: AbortSignal): Promise<{ approvals: InboxApproval[]; truncated: boolean }> {
  return request<{ approvals: InboxApproval[]; truncated: boolean }>('/v1/agents/approvals', { signal });
}

/** Approve or refuse a sensitive call the run waits for (409 `no_pending_approval` once decided or expired). */
export function decideApproval(
  workflowId: string,
  decision: { callId: string; approve: boolean; reason?: string },
): Promise<unknown> {
  return request<unknown>(`${runPath(workflowId)}/approvals`, { method: 'POST', body: decision });
}

export function cancelAgentRun(workflowId: string): Promise<{ workflowId: string; status: 'cancel_requested' }> {
  return request(`${runPath(workflowId)}/cancel`, { method: 'POST', body: {} });
}

/** The tenant's agent runs, newest first (GET /v1/runs?kind=agent). */
export function listAgentRuns(pageSize = 20, signal?: AbortSignal): Promise<RunPage> {
  return request<RunPage>('/v1/runs', { query: { kind: 'agent', pageSize }, signal });
}

/** Follows a run's events (turns, tool calls, approvals, the result) until it ends; resumes after drops. */
export function followAgentEvents(
  workflowId: string,
  options: { onEvent: (event: AgentEvent) => void; signal?: AbortSignal },
): Promise<FollowResult> {
  return followEventStream(`${runPath(workflowId)}/events`, {
    terminal: AGENT_TERMINAL_EVENTS,
    signal: options.signal,
    onEvent: (m) => options.onEvent({ type: m.event, id: m.id, data: m.data } as AgentEvent),
  });
}
