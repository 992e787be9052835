/**
 * The Agents pages' logic, without Vue: which tools a run may be given, the start request from the form, a run's
 * events folded into turns, and the diff between a tool's approved definition and the one the server offers now.
 */
import { diffLines } from 'diff';
import type {
  AgentEvent,
  AgentPendingApproval,
  AgentRunResult,
  AgentStartInput,
  AgentToolTraceEntry,
} from '../api/agents';
import type { McpServer, McpTool, McpToolDefinition } from '../api/mcp';

// ---------------------------------------------------------------------------------------------------------------
// Tools a run may use
// ---------------------------------------------------------------------------------------------------------------

export interface ToolChoice {
  /** What the start request names: `server/tool`, `kb/search`, `kb/ask`. */
  ref: string;
  name: string;
  description: string | null;
  sensitive: boolean;
}

export interface ToolGroup {
  /** The server's name, or `kb` for the built-in knowledge-base tools. */
  server: string;
  serverId: string | null;
  tools: ToolChoice[];
}

/** The built-in knowledge-base tools (lib/contracts KB tools): they need collections. */
export const KB_TOOLS: readonly ToolChoice[] = [
  { ref: 'kb/search', name: 'search', description: 'Hybrid search over the chosen collections', sensitive: false },
  { ref: 'kb/ask', name: 'ask', description: 'A grounded answer from the chosen collections', sensitive: false },
];

/** The approved tools of the enabled servers, grouped by server (by name), then the built-in kb tools. */
export function toolGroups(servers: Array<{ server: McpServer; tools: McpTool[] }>): ToolGroup[] {
  const groups = servers
    .filter((s) => s.server.enabled)
    .map(({ server, tools }) => ({
      server: server.name,
      serverId: server.id,
      tools: tools
        .filter((t) => t.status === 'approved')
        .map((t) => ({
          ref: `${server.name}/${t.name}`,
          name: t.name,
          description: t.description,
          sensitive: t.sensitive,
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    }))
    .filter((g) => g.tools.length > 0)
    .sort((a, b) => a.server.localeCompare(b.server));
  return [...groups, { server: 'kb', serverId: null, tools: [...KB_TOOLS] }];
}

export const usesKnowledgeBase = (refs: readonly string[]) => refs.some((r) => r.startsWith('kb/'));

// ---------------------------------------------------------------------------------------------------------------
// The start form
// ---------------------------------------------------------------------------------------------------------------

/** The form as typed: numbers are text (or numbers, from number inputs) until checked; empty means the default. */
export interface AgentForm {
  goal: string;
  instructions: string;
  tools: string[];
  collectionIds: string[];
  maxTurns: string | number;
  maxTokens: string | number;
  maxWallMinutes: string | number;
  maxCostUsd: string | number;
  approvalTimeoutMinutes: string | number;
  model: string;
}

export function emptyAgentForm(): AgentForm {
  return {
    goal: '',
    instructions: '',
    tools: [],
    collectionIds: [],
    maxTurns: '',
    maxTokens: '',
    maxWallMinutes: '',
    maxCostUsd: '',
    approvalTimeoutMinutes: '',
    model: '',
  };
}

export type FormCheck = { ok: true; input: AgentStartInput } | { ok: false; errors: Partial<Record<string, string>> };

/** The start request from the form, or what to fix, field by field (the API checks the same again). */
export function buildAgentStart(form: AgentForm): FormCheck {
  const errors: Partial<Record<string, string>> = {};
  // `v-model` on a number input hands over a number once typed in, a string while empty: both are read as text.
  const num = (field: keyof AgentForm, raw: string | number, opts: { min: number; max: number; integer?: boolean }) => {
    const t = String(raw ?? '').trim();
    if (!t) return undefined;
    const n = Number(t);
    if (!Number.isFinite(n) || n < opts.min || n > opts.max || (opts.integer && !Number.isInteger(n))) {
      errors[field] = `A ${opts.integer ? 'whole ' : ''}number from ${opts.min} to ${opts.max}.`;
      return undefined;
    }
    return n;
  };
  const goal = form.goal.trim();
  if (!goal) errors.goal = 'Say what the agent should do.';
  const maxTurns = num('maxTurns', form.maxTurns, { min: 1, max: 500, integer: true });
  const maxTokens = num('maxTokens', form.maxTokens, { min: 1, max: 10_000_000, integer: true });
  const maxWallMinutes = num('maxWallMinutes', form.maxWallMinutes, { min: 1, max: 43_200 });
  const maxCostUsd = num('maxCostUsd', form.maxCostUsd, { min: 0, max: 1000 });
  const approvalMinutes = num('approvalTimeoutMinutes', form.approvalTimeoutMinutes, { min: 1, max: 43_200 });
  const kb = usesKnowledgeBase(form.tools);
  if (kb && form.collectionIds.length === 0) errors.collectionIds = 'The knowledge-base tools need a collection.';
  if (Object.keys(errors).length) return { ok: false, errors };

  const budgets: NonNullable<AgentStartInput['budgets']> = {};
  if (maxTurns !== undefined) budgets.maxTurns = maxTurns;
  if (maxTokens !== undefined) budgets.maxTokens = maxTokens;
  if (maxWallMinutes !== undefined) budgets.maxWallMs = Math.round(maxWallMinutes * 60_000);
  if (maxCostUsd !== undefined) budgets.maxCostUsd = maxCostUsd;
  const input: AgentStartInput = { goal, tools: [...new Set(form.tools)] };
  if (form.instructions.trim()) input.instructions = form.instructions.trim();
  if (kb) input.collectionIds = [...form.collectionIds];
  if (Object.keys(budgets).length) input.budgets = budgets;
  if (approvalMinutes !== undefined) input.approvalTimeoutMs = Math.round(approvalMinutes * 60_000);
  if (form.model.trim()) input.model = form.model.trim();
  return { ok: true, input };
}

// ---------------------------------------------------------------------------------------------------------------
// A run's events, folded into turns
// ---------------------------------------------------------------------------------------------------------------

export interface LiveToolCall {
  /** `<turn>:<model call id>`: the id approvals and the trace use. */
  callId: string;
  tool: string;
  /** Unset until the call's outcome is known. */
  outcome?: string;
  preview?: string;
  truncated?: boolean;
  waitingApproval?: boolean;
  /** From the live state's trace (the events carry no arguments). */
  arguments?: string;
  approval?: AgentToolTraceEntry['approval'];
  durationMs?: number;
}

export interface LiveTurn {
  turn: number;
  text: string;
  calls: LiveToolCall[];
  tokens: number;
  costUsd: number;
}

export interface LiveAgent {
  turns: LiveTurn[];
  pending: AgentPendingApproval | null;
  result: AgentRunResult | null;
  /** The stream ended (the result, or the run closed without one). */
  ended: boolean;
}

export const emptyLiveAgent = (): LiveAgent => ({ turns: [], pending: null, result: null, ended: false });

const turnOfCall = (callId: string) => Number(callId.split(':', 1)[0]);

/** The live run after one event: a new object, so a ref holding it re-renders. */
export function applyAgentEvent(state: LiveAgent, event: AgentEvent): LiveAgent {
  switch (event.type) {
    case 'turn': {
      const { turn, text, toolCalls, usage, costUsd } = event.data;
      const next: LiveTurn = {
        turn,
        text,
        calls: toolCalls.map((c) => ({ callId: `${turn}:${c.id}`, tool: c.name })),
        tokens: (usage?.inputTokens ?? 0) + (usage?.outputTokens ?? 0),
        costUsd,
      };
      // A replayed event (a reconnect, a retried activity) replaces its turn instead of adding it twice.
      return { ...state, turns: [...state.turns.filter((t) => t.turn !== turn), next].sort((a, b) => a.turn - b.turn) };
    }
    case 'tool_call': {
      const d = event.data;
      const patch = (c: LiveToolCall): LiveToolCall =>
        c.callId === d.callId
          ? {
              ...c,
              outcome: d.outcome,
              waitingApproval: false,
              ...(d.preview !== undefined ? { preview: d.preview } : {}),
              ...(d.truncated !== undefined ? { truncated: d.truncated } : {}),
            }
          : c;
      const pending = state.pending?.callId === d.callId ? null : state.pending;
      return { ...state, pending, turns: withCall(state.turns, d.callId, d.tool, patch) };
    }
    case 'approval_requested': {
      const d = event.data;
      const mark = (c: LiveToolCall): LiveToolCall =>
        c.callId === d.callId ? { ...c, waitingApproval: true, arguments: d.arguments } : c;
      return { ...state, pending: d, turns: withCall(state.turns, d.callId, d.tool, mark) };
    }
    case 'result':
      return { ...state, result: event.data, pending: null, ended: true };
    case 'end':
      return { ...state, pending: null, ended: true };
    default:
      return state;
  }
}

/** Applies `patch` to the call, adding it to its turn first when the turn's event has not come (or never will). */
function withCall(
  turns: LiveTurn[],
  callId: string,
  tool: string,
  patch: (c: LiveToolCall) => LiveToolCall,
): LiveTurn[] {
  const n = turnOfCall(callId);
  let list = turns;
  if (!list.some((t) => t.calls.some((c) => c.callId === callId))) {
    const turn = list.find((t) => t.turn === n) ?? { turn: n, text: '', calls: [], tokens: 0, costUsd: 0 };
    const grown = { ...turn, calls: [...turn.calls, { callId, tool }] };
    list = [...list.filter((t) => t.turn !== n), grown].sort((a, b) => a.turn - b.turn);
  }
  return list.map((t) => (t.turn === n ? { ...t, calls: t.calls.map(patch) } : t));
}

/** Adds what only the live state's trace knows (arguments, approvals, durations) to the calls of the events. */
export function withTrace(turns: LiveTurn[], trace: readonly AgentToolTraceEntry[]): LiveTurn[] {
  if (!trace.length) return turns;
  let merged = turns;
  for (const e of trace) {
    merged = withCall(merged, e.callId, e.tool, (c) =>
      c.callId === e.callId
        ? {
            ...c,
            arguments: e.arguments,
            outcome: c.outcome ?? e.outcome,
            preview: c.preview ?? e.resultPreview,
            durationMs: e.durationMs,
            ...(e.approval ? { approval: e.approval } : {}),
          }
        : c,
    );
  }
  return merged;
}

/** JSON text as indented JSON when it parses, else as it came (cut arguments may not parse). */
export function prettyJsonText(text: string | undefined | null): string {
  if (text === undefined || text === null) return '';
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

const STOP_REASONS: Record<string, string> = {
  max_turns: 'the turn budget (maxTurns)',
  max_tokens: 'the token budget (maxTokens)',
  max_cost: 'the cost budget (maxCostUsd)',
  max_wall_time: 'the wall-time budget (maxWallMs)',
};

/** The budget that stopped a run, in words. */
export const stopReasonLabel = (reason: string | null | undefined) =>
  reason ? (STOP_REASONS[reason] ?? reason.replace(/_/g, ' ')) : 'a budget';

// ---------------------------------------------------------------------------------------------------------------
// A changed tool: what was approved against what the server offers now
// ---------------------------------------------------------------------------------------------------------------

/** Sorted keys, indented: two definitions that differ only in key order read the same. */
export function canonicalJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v as Record<string, unknown>)
          .sort()
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(sort(value), null, 2) ?? '';
}

export interface DiffLine {
  kind: 'added' | 'removed' | 'same';
  text: string;
}

export interface DefinitionDiff {
  lines: DiffLine[];
  added: number;
  removed: number;
}

/** The tool's live definition as pinned (name, description, input schema). */
export const liveDefinition = (t: Pick<McpTool, 'name' | 'description' | 'inputSchema'>): McpToolDefinition => ({
  name: t.name,
  ...(t.description !== null ? { description: t.description } : {}),
  inputSchema: t.inputSchema,
});

/** Line by line, over canonical pretty JSON: what approving the new hash would accept. */
export function definitionDiff(approved: unknown, live: unknown): DefinitionDiff {
  const lines: DiffLine[] = [];
  for (const part of diffLines(canonicalJson(approved), canonicalJson(live))) {
    const kind = part.added ? 'added' : part.removed ? 'removed' : 'same';
    for (const text of part.value.replace(/\n$/, '').split('\n')) lines.push({ kind, text });
  }
  return {
    lines,
    added: lines.filter((l) => l.kind === 'added').length,
    removed: lines.filter((l) => l.kind === 'removed').length,
  };
}
