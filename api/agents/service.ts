import {
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { rootCause } from '@temporalio/common';
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
  /** Client-chosen id makes the start idempotent. */
  id?: string;
}

/** A checked start, its workflow id known before the run is started. */
export interface PlannedAgentRun {
  workflowId: string;
  input: AgentRunInput;
}

type AgentHandle = WorkflowHandle<typeof agent>;

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
    };
    return { workflowId, input };
  }

  /** Starts the planned run; with `wait`, its result (a failed run is a 502 naming the run). */
  async start(
    run: PlannedAgentRun,
    wait: boolean,
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

  async cancel(tenantId: string, workflowId: string) {
    const { handle } = await this.own(tenantId, workflowId);
    await handle.cancel();
    return { workflowId: handle.workflowId, status: 'cancel_requested' as const };
  }
}
