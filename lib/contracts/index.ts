/**
 * Workflow-safe contracts shared by workflows, activities, workers and the API: no Node APIs here.
 */
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import type { RunKind } from './runs';
import type { PromptRef, ResolvedPrompt } from './evals';

export * from './answers';
export * from './runs';
export * from './run-what';
export type * from './run-events';
export * from './failures';
export * from './llm';
export * from './batch';
export * from './group-by-size';
export * from './evals';

/** Custom search attributes, registered on the dev server at start (`--search-attribute`) and set on every run. */
export const SEARCH_ATTRIBUTES = {
  TenantId: defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD),
  RunKind: defineSearchAttributeKey('RunKind', SearchAttributeType.KEYWORD),
  CollectionId: defineSearchAttributeKey('CollectionId', SearchAttributeType.KEYWORD),
  /** The schedule (Temporal schedule id) that started a batch run. */
  ScheduleId: defineSearchAttributeKey('ScheduleId', SearchAttributeType.KEYWORD),
} as const;

/** The search attributes of a run: its tenant (every list is scoped by it), its kind, and its first collection. */
export const runSearchAttributes = (o: {
  tenantId: string;
  kind: RunKind;
  collectionId?: string;
  scheduleId?: string;
}): SearchAttributePair[] => [
  { key: SEARCH_ATTRIBUTES.TenantId, value: o.tenantId },
  { key: SEARCH_ATTRIBUTES.RunKind, value: o.kind },
  ...(o.collectionId ? [{ key: SEARCH_ATTRIBUTES.CollectionId, value: o.collectionId }] : []),
  ...(o.scheduleId ? [{ key: SEARCH_ATTRIBUTES.ScheduleId, value: o.scheduleId }] : []),
];

/** Task queue names are derived from one configured prefix so several stacks can share a namespace. */
export const taskQueues = (prefix: string) => ({
  /** Workflows and the default activities. */
  main: prefix,
  /** Tool calls of agents (MCP), scaled separately. */
  tools: `${prefix}-tools`,
});

/** Business-key workflow ids (`answer:<tenant>:<uuid>` and so on): the tenant is part of every id. */
export const workflowIds = {
  selfTest: (tenantId: string, id: string) => `selftest:${tenantId}:${id}`,
  completion: (tenantId: string, id: string) => `completion:${tenantId}:${id}`,
  /** Texts embedded through the OpenAI-compatible endpoint. */
  embedding: (tenantId: string, id: string) => `embedding:${tenantId}:${id}`,
  ingest: (tenantId: string, collectionId: string, id: string) => `ingest:${tenantId}:${collectionId}:${id}`,
  answer: (tenantId: string, id: string) => `answer:${tenantId}:${id}`,
  grounding: (tenantId: string, id: string) => `grounding:${tenantId}:${id}`,
  search: (tenantId: string, id: string) => `search:${tenantId}:${id}`,
  agent: (tenantId: string, id: string) => `agent:${tenantId}:${id}`,
  /** A batch job run; a schedule's runs get Temporal's `-<scheduled time>` appended to this. */
  batch: (tenantId: string, id: string) => `batch:${tenantId}:${id}`,
  /** An eval run over a dataset version; a schedule's runs get `-<scheduled time>` appended. */
  evalRun: (tenantId: string, id: string) => `eval:${tenantId}:${id}`,
  /** A counterfactual replay of past answers; each answer's replay is the child `<id>/item-<n>`. */
  replay: (tenantId: string, id: string) => `replay:${tenantId}:${id}`,
  /** A Temporal schedule: the tenant is part of its id too. */
  schedule: (tenantId: string, id: string) => `schedule:${tenantId}:${id}`,
};

export interface SelfTestInput {
  tenantId: string;
  /** How many probe rows to write, one activity each. */
  probes: number;
  /**
   * How long each probe activity holds after its write, heartbeating. Lets an operator rehearse failover: kill
   * the worker while a probe holds and watch another worker finish the run without a duplicate row.
   */
  holdMs: number;
  note?: string;
}

export interface SelfTestResult {
  probesWritten: number;
  /** Rows that already existed because an earlier attempt wrote them before its worker died. */
  probesAlreadyPresent: number;
  attempts: number[];
}

export const SELF_TEST_LIMITS = { maxProbes: 50, maxHoldMs: 60_000 } as const;

export interface IngestCollectionInput {
  tenantId: string;
  collectionId: string;
  documentIds: string[];
  concurrency: number;
  /** Carried across continue-as-new. */
  progress?: IngestProgress;
}

export interface IngestProgress {
  total: number;
  done: number;
  skipped: number;
  failed: number;
  chunks: number;
  /** The most recent failures (capped), with their reasons. */
  failures: Array<{ documentId: string; reason: string }>;
  /** The collection's vector index after the run (`built`, `exists`, `below_threshold`, `unsupported`, `failed`). */
  vectorIndex?: {
    status: string;
    rows?: number;
    ms?: number;
    reason?: string;
    /** The collection's own full-text index, built beside its HNSW index (lib/ingest/vector-index.ts). */
    textIndex?: { status: string; rows?: number; ms?: number };
  };
}

export interface IngestDocumentResult {
  documentId: string;
  status: 'ready' | 'skipped' | 'failed';
  chunks: number;
  reason?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Agents (workflows/agent.ts, activities/agent.ts, activities/tools.ts, lib/mcp)
// ---------------------------------------------------------------------------------------------------------------

export interface AgentBudgets {
  /** Model turns, counted across continue-as-new. */
  maxTurns: number;
  /** Input + output tokens of all model turns. */
  maxTokens: number;
  /** Wall time since the run started, checked before every model turn and tool call. */
  maxWallMs: number;
  /** USD, from the gateway's price table. */
  maxCostUsd: number;
}

export const AGENT_DEFAULTS = {
  budgets: { maxTurns: 20, maxTokens: 200_000, maxWallMs: 60 * 60_000, maxCostUsd: 5 } satisfies AgentBudgets,
  /** How long a sensitive call waits for a person before it counts as rejected. */
  approvalTimeoutMs: 7 * 24 * 60 * 60_000,
  /** Model turns per workflow run before it continues as new (keeps each history small). */
  turnsPerRun: 10,
} as const;

export const AGENT_LIMITS = {
  maxTurns: 500,
  maxTokens: 10_000_000,
  maxWallMs: 30 * 24 * 60 * 60_000,
  maxCostUsd: 1000,
  maxTools: 64,
} as const;

/** A tool as pinned for one agent run when it starts: the approved definition, its hash and its call policy. */
export interface AgentTool {
  /** The function name the model sees: `<server>__<tool>`, reduced to [A-Za-z0-9_-], at most 64 characters. */
  alias: string;
  serverId: string;
  serverName: string;
  toolName: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  /** sha256 of the canonical definition; a call is refused when the server's live definition no longer has it. */
  definitionHash: string;
  /** Waits for the `approveToolCall` update before every call. */
  sensitive: boolean;
  /** May be called again when a crash interrupted a call (else the model is told the outcome is unknown). */
  idempotent: boolean;
  timeoutMs: number;
  maxAttempts: number;
  /** A built-in tool run by the platform (as a child workflow) instead of an MCP server. */
  builtin?: KbToolRef;
}

/** A model-visible message (same shape as the LLM gateway's ChatMessage, repeated here to stay workflow-safe). */
export interface AgentMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string | null;
  toolCalls?: Array<{ id: string; name: string; arguments: string }>;
  toolCallId?: string;
}

export interface AgentUsage {
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export type AgentToolCallOutcome =
  | 'ok'
  /** The tool answered with isError. */
  | 'tool_error'
  /** A person (or the approval timeout) rejected the call. */
  | 'rejected'
  /** Refused before calling: its definition changed since approval (rug pull), or it was disabled. */
  | 'refused'
  /** The model named an unknown tool or sent arguments that are not a JSON object. */
  | 'invalid'
  /** A crash interrupted an earlier attempt of a non-idempotent call: not repeated, the model is told so. */
  | 'outcome_unknown'
  /** The call failed for good (connection, timeout, retries used up). */
  | 'failed';

export interface AgentToolTraceEntry {
  turn: number;
  callId: string;
  tool: string;
  server?: string;
  toolName?: string;
  /** The arguments as the model sent them (cut at 2,000 characters). */
  arguments: string;
  outcome: AgentToolCallOutcome;
  approval?: { approved: boolean; reason?: string; by?: string };
  /** The start of the result as the model got it (cut at 500 characters). */
  resultPreview?: string;
  /** True when the result came from the ledger of an earlier attempt instead of a new call. */
  fromLedger?: boolean;
  startedAt: string;
  durationMs: number;
}

export type AgentStatus = 'running' | 'waiting_approval' | 'completed' | 'budget_exhausted' | 'cancelled';

export interface AgentPendingApproval {
  callId: string;
  tool: string;
  server: string;
  toolName: string;
  arguments: string;
  requestedAt: string;
  expiresAt: string;
}

/** Carried across continue-as-new. */
export interface AgentCarry {
  messages: AgentMessage[];
  tools: AgentTool[];
  turns: number;
  usage: AgentUsage;
  trace: AgentToolTraceEntry[];
  startedAtMs: number;
  continuedRuns: number;
}

export interface AgentRunInput {
  tenantId: string;
  goal: string;
  /** Extra system instructions, placed before the platform's own rules about tool results. */
  instructions?: string;
  /** `server/tool` or `server/*` (every approved tool of the server); `kb/search`, `kb/ask`, `kb/*` are built in. */
  tools: string[];
  /** The collections the knowledge-base tools use when the model names none (required with them by the API). */
  collectionIds?: string[];
  budgets: AgentBudgets;
  approvalTimeoutMs: number;
  turnsPerRun: number;
  model?: string;
  temperature?: number;
  carry?: AgentCarry;
  /** The agent system prompt, resolved when the run started (issue 19); absent: the shipped version 1. */
  prompt?: ResolvedPrompt;
}

export interface AgentState {
  status: AgentStatus;
  turns: number;
  usage: AgentUsage;
  budgets: AgentBudgets;
  pendingApproval: AgentPendingApproval | null;
  trace: AgentToolTraceEntry[];
  finalText: string | null;
  stopReason: string | null;
  continuedRuns: number;
}

export interface AgentRunResult {
  status: 'completed' | 'budget_exhausted';
  finalText: string | null;
  /** Which budget stopped the run (max_turns, max_tokens, max_cost, max_wall_time), or null. */
  stopReason: string | null;
  turns: number;
  usage: AgentUsage;
  trace: AgentToolTraceEntry[];
  /** The agent prompt's name and version the run used. */
  prompt?: PromptRef;
}

export interface ToolApprovalInput {
  callId: string;
  approve: boolean;
  reason?: string;
  by?: string;
}

export interface AgentToolCallInput {
  tenantId: string;
  /** Unique within the workflow id across continue-as-new: the ledger key. */
  callKey: string;
  tool: AgentTool;
  arguments: Record<string, unknown>;
}

export interface AgentToolCallResult {
  outcome: 'ok' | 'tool_error' | 'refused' | 'outcome_unknown';
  /** The tool's content as text, already size-capped. */
  text: string;
  truncated: boolean;
  fromLedger: boolean;
}

/** Built-in knowledge-base tools: no MCP server, each call is a child workflow (`searchKnowledge`, `answer`). */
export const KB_SERVER = 'kb';
export type KbToolRef = 'kb/search' | 'kb/ask';

const kbTool = (ref: KbToolRef, description: string, inputSchema: Record<string, unknown>): AgentTool => ({
  alias: ref.replace('/', '_'),
  serverId: '',
  serverName: KB_SERVER,
  toolName: ref.slice(KB_SERVER.length + 1),
  description,
  inputSchema,
  // Versioned by hand: built-ins change only with a release, and the history keeps the copy a run pinned.
  definitionHash: `builtin:${ref}:v1`,
  sensitive: false,
  idempotent: true,
  timeoutMs: 10 * 60_000,
  maxAttempts: 1,
  builtin: ref,
});

const collectionIdsSchema = {
  type: 'array',
  items: { type: 'string', format: 'uuid' },
  maxItems: 20,
  description: 'Collection ids to use. Leave this out to use the collections this run was given.',
};

export const KB_TOOLS: Record<KbToolRef, AgentTool> = {
  'kb/search': kbTool(
    'kb/search',
    "Search the user's knowledge base (documents ingested into BeyondCloud collections) for passages relevant to a query. Returns the best-matching passages, each with its source document, heading path, page and score, as JSON. Use it to find where something is written or to read the exact wording; it does not compose an answer. Read-only.",
    {
      type: 'object',
      properties: {
        query: { type: 'string', description: 'What to look for: a question, a phrase or keywords.' },
        collectionIds: collectionIdsSchema,
        topK: { type: 'integer', minimum: 1, maximum: 20, description: 'How many passages to return (default 5).' },
      },
      required: ['query'],
      additionalProperties: false,
    },
  ),
  'kb/ask': kbTool(
    'kb/ask',
    "Ask a question of the user's knowledge base. BeyondCloud retrieves passages, writes an answer with [n] citation markers and checks every claim against the passages. Returns JSON: status ('answered', or 'abstained' when the documents do not support an answer: then do not make one up), the answer text, its citations (n, source, heading, page) and the grounding score (the supported share of claims, 0 to 1). Read-only; takes a few seconds.",
    {
      type: 'object',
      properties: {
        question: { type: 'string', description: 'A complete, standalone question.' },
        collectionIds: collectionIdsSchema,
      },
      required: ['question'],
      additionalProperties: false,
    },
  ),
};

/** Splits a run's refs into the built-in `kb/...` tools and the MCP refs; an unknown `kb/...` ref is a problem. */
export function resolveKbToolRefs(refs: string[]): {
  tools: AgentTool[];
  mcpRefs: string[];
  problems: Array<{ ref: string; problem: string }>;
} {
  const tools = new Map<string, AgentTool>();
  const mcpRefs: string[] = [];
  const problems: Array<{ ref: string; problem: string }> = [];
  for (const ref of refs) {
    if (!ref.startsWith(`${KB_SERVER}/`)) mcpRefs.push(ref);
    else if (ref === `${KB_SERVER}/*`) for (const t of Object.values(KB_TOOLS)) tools.set(t.alias, t);
    else if (ref in KB_TOOLS) tools.set(KB_TOOLS[ref as KbToolRef].alias, KB_TOOLS[ref as KbToolRef]);
    else problems.push({ ref, problem: `no such built-in tool (${Object.keys(KB_TOOLS).join(', ')})` });
  }
  return { tools: [...tools.values()], mcpRefs, problems };
}

/** What the activity before a knowledge-base call decided: the checked arguments, or why the call is refused. */
export type KbToolCallPlan =
  | { ok: true; collectionIds: string[]; text: string; topK: number; answerId?: string; resultMaxChars: number }
  | { ok: false; outcome: 'invalid' | 'refused'; message: string };
