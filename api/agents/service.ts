import {
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { arrayFromPayloads, rootCause } from '@temporalio/common';
import {
  AGENT_DEFAULTS,
  resolveKbToolRefs,
  SEARCH_ATTRIBUTES,
  workflowIds,
  type AgentBudgets,
  type AgentRunInput,
  type AgentRunResult,
  type AgentState,
} from '../../lib/contracts';
import type { Config } from '../../lib/config';
import type { Orm } from '../../lib/db/orm';
import { AppError, badRequest, notFound } from '../../lib/errors';
import { resolveAgentTools } from '../../lib/mcp/registry';
import { resolvePrompts } from '../../lib/prompts/store';
import { answerableCollections } from '../../lib/rag/collections';
import { agent, agentStateQuery, approveToolCall } from '../../workflows/agent';
import { actorLabel, type Principal } from '../auth/api-keys';
import type { QuotaService } from '../quota/service';
import { startRun } from '../runs/start';

/** An agent run as the request asks for it (validated by the route); the rest are AGENT_DEFAULTS. */
export interface AgentStart {
  goal: string;
  instructions?: string;
  tools: string[];
  collectionIds?: string[];
  budgets: Partial<AgentBudgets>;
  approvalTimeoutMs: number;
  turnsPerRun: number;
  model?: string;
  temperature?: number;
  /** The agent prompt's version or label (default: its `production` label). */
  prompt?: number | string;
  /** Client-chosen id makes the start idempotent. */
  id?: string;
}

/** A checked start, its workflow id known before the run is started. */
export interface PlannedAgentRun {
  workflowId: string;
  input: AgentRunInput;
}

type AgentHandle = WorkflowHandle<typeof agent>;

/** A sensitive tool call one of the tenant's running agent runs waits for. */
export interface PendingAgentApproval {
  workflowId: string;
  /** The run's goal (its first 500 characters). */
  goal: string;
  callId: string;
  /** `server/tool`. */
  tool: string;
  /** The arguments as the model sent them (cut at 2,000 characters by the workflow). */
  arguments: string;
  requestedAt: string;
  expiresAt?: string;
}

/** The inbox reads at most this many running agent runs, and queries this many at a time. */
export const APPROVALS_MAX_RUNS = 100;
const APPROVALS_CONCURRENCY = 8;
const GOAL_PREVIEW_CHARS = 500;

/** Runs `fn` over `items`, at most `limit` at a time, keeping the order. */
async function mapBounded<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

/** Agent runs of one tenant at a time: start, live state (the workflow's query), approvals, cancel. */
export class AgentsService {
  constructor(
    private readonly temporal: Client,
    private readonly orm: Orm,
    private readonly config: Config,
    /** Admits each run start within the tenant's quotas. */
    private readonly quotas?: QuotaService,
  ) {}

  /** Checks the tools and collections (a bad list is a 400 now, not a failed run later) and names the run. */
  async plan(tenantId: string, body: AgentStart): Promise<PlannedAgentRun> {
    // The run pins its own copy of the tools; this is the same check, made before anything starts.
    const kb = resolveKbToolRefs(body.tools);
    const mcp = kb.mcpRefs.length
      ? await resolveAgentTools(this.orm, tenantId, kb.mcpRefs, this.config.mcp.callTimeoutMs)
      : { problems: [] };
    const problems = [...kb.problems, ...mcp.problems];
    if (problems.length)
      throw badRequest(
        'agent_tool_unavailable',
        `Tools not available: ${problems.map((p) => `${p.ref} (${p.problem})`).join('; ')}`,
        problems,
      );
    if (kb.tools.length && !body.collectionIds) {
      throw badRequest(
        'collection_ids_required',
        'The knowledge-base tools (kb/...) need the collections to use: send collectionIds.',
      );
    }
    if (body.collectionIds) await answerableCollections(this.orm.em.fork(), tenantId, body.collectionIds);
    // Resolved now, so the run (and its continuations) keeps these words whatever the labels say later.
    const { agent: prompt } = await resolvePrompts(
      this.orm.em.fork(),
      tenantId,
      body.prompt !== undefined ? { agent: body.prompt } : undefined,
    );
    const workflowId = workflowIds.agent(tenantId, body.id ?? crypto.randomUUID());
    const input: AgentRunInput = {
      tenantId,
      goal: body.goal,
      ...(body.instructions ? { instructions: body.instructions } : {}),
      tools: body.tools,
      ...(body.collectionIds ? { collectionIds: [...new Set(body.collectionIds)] } : {}),
      budgets: { ...AGENT_DEFAULTS.budgets, ...body.budgets },
      approvalTimeoutMs: body.approvalTimeoutMs,
      turnsPerRun: body.turnsPerRun,
      ...(body.model ? { model: body.model } : {}),
      ...(body.temperature !== undefined ? { temperature: body.temperature } : {}),
      ...(prompt ? { prompt } : {}),
    };
    return { workflowId, input };
  }

  /** Starts the planned run; with `wait`, its result (a failed run is a 502 naming the run). */
  async start(
    run: PlannedAgentRun,
    wait: boolean,
    /** The run's `what` (default: its goal) and more memo (the OpenAI-compatible endpoint's caller). */
    describe: { what?: string; memo?: Record<string, unknown> } = {},
  ): Promise<
    { workflowId: string; status: 'running' } | { workflowId: string; status: 'completed'; result: AgentRunResult }
  > {
    const { workflowId, input } = run;
    const handle = await startRun(
      this.temporal,
      this.config.temporal.taskQueue,
      agent,
      {
        workflowId,
        args: [input],
        tenantId: input.tenantId,
        kind: 'agent',
        ...(describe.what ? { what: describe.what } : {}),
        ...(describe.memo ? { memo: describe.memo } : {}),
      },
      this.quotas,
    );
    if (!wait) return { workflowId, status: 'running' };
    try {
      return { workflowId, status: 'completed', result: await handle.result() };
    } catch (e) {
      if (e instanceof WorkflowFailedError) {
        throw new AppError({
          code: 'agent_run_failed',
          message: rootCause(e.cause) ?? e.message,
          status: 502,
          category: 'dependency',
          details: { workflowId },
        });
      }
      throw e;
    }
  }

  /** The tenant's run, or 404 exactly like a missing one. */
  async own(tenantId: string, workflowId: string) {
    if (!workflowId.startsWith(workflowIds.agent(tenantId, ''))) throw notFound('Agent run');
    const handle: AgentHandle = this.temporal.workflow.getHandle<typeof agent>(workflowId);
    try {
      const description = await handle.describe();
      if (description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.TenantId) !== tenantId) throw notFound('Agent run');
      return { handle, description };
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) throw notFound('Agent run');
      throw e;
    }
  }

  /** The run's status and, while it answers queries, its live state. */
  async view(tenantId: string, workflowId: string) {
    const { handle, description } = await this.own(tenantId, workflowId);
    const status = description.status.name.toLowerCase();
    let state: AgentState | null = null;
    try {
      state = await handle.query(agentStateQuery);
    } catch {
      // A failed or terminated run may not answer queries; its status still says what happened.
    }
    return { workflowId: handle.workflowId, runId: description.runId, status, state };
  }

  /** Whether the run has stopped (or cannot be described): the event stream's end. */
  async closed(handle: AgentHandle): Promise<boolean> {
    const d = await handle.describe().catch(() => null);
    return !d || d.status.name !== 'RUNNING';
  }

  /** A decision on a sensitive tool call the run waits for, recorded as the caller's key's. */
  async decide(
    tenantId: string,
    workflowId: string,
    decision: { callId: string; approve: boolean; reason?: string },
    by: Principal,
  ) {
    const { handle, description } = await this.own(tenantId, workflowId);
    if (description.status.name !== 'RUNNING')
      throw new AppError({
        code: 'run_not_running',
        message: `The run is ${description.status.name.toLowerCase()}.`,
        status: 409,
        category: 'conflict',
      });
    try {
      return await handle.executeUpdate(approveToolCall, {
        args: [
          {
            callId: decision.callId,
            approve: decision.approve,
            reason: decision.reason,
            by: actorLabel(by),
          },
        ],
      });
    } catch (e) {
      if (e instanceof WorkflowUpdateFailedError) {
        throw new AppError({
          code: 'no_pending_approval',
          message: rootCause(e.cause) ?? 'No such call is waiting for approval.',
          status: 409,
          category: 'conflict',
        });
      }
      throw e;
    }
  }

  /**
   * The approvals waiting across the tenant's running agent runs (visibility, scoped by the TenantId attribute), each
   * run asked by its agentState query; at most APPROVALS_MAX_RUNS runs are read (`truncated` says there were more).
   */
  async pendingApprovals(tenantId: string): Promise<{ approvals: PendingAgentApproval[]; truncated: boolean }> {
    const quoted = `'${tenantId.replace(/['\\]/g, '')}'`;
    const query = `TenantId = ${quoted} AND RunKind = 'agent' AND ExecutionStatus = 'Running'`;
    const runs: Array<{ workflowId: string; runId: string }> = [];
    let truncated = false;
    for await (const wf of this.temporal.workflow.list({ query, pageSize: APPROVALS_MAX_RUNS + 1 })) {
      // The prefix is the second guard: only this tenant's agent ids are ever queried.
      if (!wf.workflowId.startsWith(workflowIds.agent(tenantId, ''))) continue;
      if (runs.length === APPROVALS_MAX_RUNS) {
        truncated = true;
        break;
      }
      runs.push({ workflowId: wf.workflowId, runId: wf.runId });
    }
    const found = await mapBounded(runs, APPROVALS_CONCURRENCY, async ({ workflowId, runId }) => {
      const handle = this.temporal.workflow.getHandle<typeof agent>(workflowId);
      // A run that closed meanwhile answers no query, or answers without a pending approval: not in the inbox.
      const state = await handle.query(agentStateQuery).catch(() => null);
      const p = state?.pendingApproval;
      if (!p) return null;
      const approval: PendingAgentApproval = {
        workflowId,
        goal: await this.goalOf(workflowId, runId),
        callId: p.callId,
        tool: `${p.server}/${p.toolName}`,
        arguments: p.arguments,
        requestedAt: p.requestedAt,
        ...(p.expiresAt ? { expiresAt: p.expiresAt } : {}),
      };
      return approval;
    });
    const approvals = found
      .filter((a): a is PendingAgentApproval => a !== null)
      .sort((a, b) => a.requestedAt.localeCompare(b.requestedAt));
    return { approvals, truncated };
  }

  /** The goal from the run's start event (the input carries it across continue-as-new): one event read, not the history. */
  private async goalOf(workflowId: string, runId: string): Promise<string> {
    try {
      const page = await this.temporal.workflowService.getWorkflowExecutionHistory({
        namespace: this.config.temporal.namespace,
        execution: { workflowId, runId },
        maximumPageSize: 1,
      });
      const payloads = page.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
      const [input] = arrayFromPayloads(this.temporal.options.loadedDataConverter.payloadConverter, payloads) as [
        AgentRunInput | undefined,
      ];
      return (input?.goal ?? '').slice(0, GOAL_PREVIEW_CHARS);
    } catch {
      return '';
    }
  }

  async cancel(tenantId: string, workflowId: string) {
    const { handle } = await this.own(tenantId, workflowId);
    await handle.cancel();
    return { workflowId: handle.workflowId, status: 'cancel_requested' as const };
  }
}
