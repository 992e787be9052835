import { Router } from '@koa/router';
import { WorkflowFailedError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { rootCause } from '@temporalio/common';
import { z } from 'zod';
import { AGENT_DEFAULTS, AGENT_LIMITS, resolveKbToolRefs, SEARCH_ATTRIBUTES, workflowIds, type AgentRunInput, type AgentState } from '../../lib/contracts';
import { AppError, badRequest, notFound } from '../../lib/errors';
import { answerableCollections } from '../../lib/rag/collections';
import { resolveAgentTools } from '../../lib/mcp/registry';
import { agent, agentStateQuery, approveToolCall } from '../../workflows/agent';
import type { AppDeps } from '../app';
import { requireRole, type AuthState } from '../auth/middleware';
import { startRun } from '../runs/start';
import { streamRunEvents } from '../sse';

const startBody = z
  .object({
    goal: z.string().trim().min(1).max(20_000),
    instructions: z.string().max(20_000).optional(),
    tools: z.array(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}\/(\*|[^\s/]{1,128})$/, 'must be server/tool or server/*')).max(AGENT_LIMITS.maxTools).default([]),
    /** The collections `kb/search` and `kb/ask` use when the model names none; required with those tools. */
    collectionIds: z.array(z.uuid({ error: 'must be a UUID' })).min(1).max(20).optional(),
    budgets: z
      .object({
        maxTurns: z.number().int().min(1).max(AGENT_LIMITS.maxTurns),
        maxTokens: z.number().int().min(1).max(AGENT_LIMITS.maxTokens),
        maxWallMs: z.number().int().min(1000).max(AGENT_LIMITS.maxWallMs),
        maxCostUsd: z.number().min(0).max(AGENT_LIMITS.maxCostUsd),
      })
      .partial()
      .strict()
      .default({}),
    approvalTimeoutMs: z.number().int().min(1000).max(AGENT_LIMITS.maxWallMs).default(AGENT_DEFAULTS.approvalTimeoutMs),
    turnsPerRun: z.number().int().min(1).max(100).default(AGENT_DEFAULTS.turnsPerRun),
    model: z.string().regex(/^[A-Za-z0-9._:/-]{1,200}$/).optional(),
    temperature: z.number().min(0).max(2).optional(),
    /** Client-chosen id makes the start idempotent. */
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
  })
  .strict();

const approvalBody = z.object({ callId: z.string().min(1).max(300), approve: z.boolean(), reason: z.string().max(2000).optional() }).strict();

/** Agent runs: start, live state (the workflow's query), approvals of sensitive tool calls, cancel. */
export function agentsRoutes({ orm, temporal, config }: AppDeps) {
  const router = new Router<AuthState>({ prefix: '/v1/agents/runs', sensitive: true });
  const write = requireRole('admin', 'operator');

  /** The tenant's run, or 404 exactly like a missing one. */
  async function ownRun(tenantId: string, workflowId: string) {
    if (!workflowId.startsWith(workflowIds.agent(tenantId, ''))) throw notFound('Agent run');
    const handle = temporal.workflow.getHandle<typeof agent>(workflowId);
    try {
      const description = await handle.describe();
      if (description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.TenantId) !== tenantId) throw notFound('Agent run');
      return { handle, description };
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) throw notFound('Agent run');
      throw e;
    }
  }

  router.post('/', write, async (ctx) => {
    const body = startBody.parse(ctx.request.body ?? {});
    const { tenantId } = ctx.state.principal;
    // Checked here too so a bad tool list is a 400 now, not a failed run later; the run pins its own copy.
    const kb = resolveKbToolRefs(body.tools);
    const mcp = kb.mcpRefs.length ? await resolveAgentTools(orm, tenantId, kb.mcpRefs, config.mcp.callTimeoutMs) : { problems: [] };
    const problems = [...kb.problems, ...mcp.problems];
    if (problems.length) throw badRequest('agent_tool_unavailable', `Tools not available: ${problems.map((p) => `${p.ref} (${p.problem})`).join('; ')}`, problems);
    if (kb.tools.length && !body.collectionIds) {
      throw badRequest('collection_ids_required', 'The knowledge-base tools (kb/...) need the collections to use: send collectionIds.');
    }
    if (body.collectionIds) await answerableCollections(orm.em.fork(), tenantId, body.collectionIds);
    const workflowId = workflowIds.agent(tenantId, body.id ?? crypto.randomUUID());
    ctx.state.workflowId = workflowId;
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
    const handle = await startRun(temporal, config.temporal.taskQueue, agent, { workflowId, args: [input], tenantId, kind: 'agent' });
    if (ctx.query.wait !== 'true') {
      ctx.status = 202;
      ctx.body = { workflowId, status: 'running' };
      return;
    }
    try {
      ctx.body = { workflowId, status: 'completed', result: await handle.result() };
    } catch (e) {
      if (e instanceof WorkflowFailedError) {
        throw new AppError({ code: 'agent_run_failed', message: rootCause(e.cause) ?? e.message, status: 502, category: 'dependency', details: { workflowId } });
      }
      throw e;
    }
  });

  router.get('/:id', async (ctx) => {
    const { handle, description } = await ownRun(ctx.state.principal.tenantId, ctx.params.id!);
    const status = description.status.name.toLowerCase();
    let state: AgentState | null = null;
    try {
      state = await handle.query(agentStateQuery);
    } catch {
      // A failed or terminated run may not answer queries; its status still says what happened.
    }
    ctx.body = { workflowId: handle.workflowId, runId: description.runId, status, state };
  });

  /** Server-Sent Events: `turn`, `tool_call`, `approval_requested`, then `result` (or `end` when the run stopped otherwise). */
  router.get('/:id/events', async (ctx) => {
    const { tenantId } = ctx.state.principal;
    const { handle } = await ownRun(tenantId, ctx.params.id!);
    await streamRunEvents(ctx, {
      orm,
      tenantId,
      workflowId: handle.workflowId,
      isClosed: async () => {
        const d = await handle.describe().catch(() => null);
        return !d || d.status.name !== 'RUNNING';
      },
    });
  });

  router.post('/:id/approvals', write, async (ctx) => {
    const body = approvalBody.parse(ctx.request.body ?? {});
    const { handle, description } = await ownRun(ctx.state.principal.tenantId, ctx.params.id!);
    if (description.status.name !== 'RUNNING') throw new AppError({ code: 'run_not_running', message: `The run is ${description.status.name.toLowerCase()}.`, status: 409, category: 'conflict' });
    const { keyName, keyPrefix } = ctx.state.principal;
    try {
      const result = await handle.executeUpdate(approveToolCall, { args: [{ callId: body.callId, approve: body.approve, reason: body.reason, by: `${keyName} (${keyPrefix}…)` }] });
      ctx.body = result;
    } catch (e) {
      if (e instanceof WorkflowUpdateFailedError) {
        throw new AppError({ code: 'no_pending_approval', message: rootCause(e.cause) ?? 'No such call is waiting for approval.', status: 409, category: 'conflict' });
      }
      throw e;
    }
  });

  router.post('/:id/cancel', write, async (ctx) => {
    const { handle } = await ownRun(ctx.state.principal.tenantId, ctx.params.id!);
    await handle.cancel();
    ctx.status = 202;
    ctx.body = { workflowId: handle.workflowId, status: 'cancel_requested' };
  });

  return router;
}
