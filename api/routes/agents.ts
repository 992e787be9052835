import { Router } from '@koa/router';
import { z } from 'zod';
import { AGENT_DEFAULTS, AGENT_LIMITS } from '../../lib/contracts';
import { AgentsService } from '../agents/service';
import type { AppDeps } from '../deps';
import { requireRole, type AuthState } from '../auth/middleware';
import { clientRunId, collectionIdList, modelName, promptSelection, waitsForResult } from '../schemas';
import { streamRunEvents } from '../sse';

export const startBody = z
  .object({
    goal: z.string().trim().min(1).max(20_000),
    instructions: z.string().max(20_000).optional(),
    tools: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}\/(\*|[^\s/]{1,128})$/, 'must be server/tool or server/*'))
      .max(AGENT_LIMITS.maxTools)
      .default([]),
    /** The collections `kb/search` and `kb/ask` use when the model names none; required with those tools. */
    collectionIds: collectionIdList.optional(),
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
    model: modelName.optional(),
    temperature: z.number().min(0).max(2).optional(),
    /** The agent prompt's version or label (default: its `production` label). */
    prompt: promptSelection.shape.agent,
    /** Client-chosen id makes the start idempotent. */
    id: clientRunId.optional(),
  })
  .strict();

export const approvalBody = z
  .object({ callId: z.string().min(1).max(300), approve: z.boolean(), reason: z.string().max(2000).optional() })
  .strict();

/** `GET /v1/agents/approvals`: the inbox of sensitive tool calls waiting across the tenant's running agent runs. */
export const pendingApprovalsResponse = z.object({
  approvals: z.array(
    z.object({
      workflowId: z.string(),
      goal: z.string(),
      callId: z.string(),
      tool: z.string().describe('server/tool'),
      arguments: z.string().describe('The arguments as the model sent them (JSON text, cut at 2,000 characters)'),
      requestedAt: z.string(),
      expiresAt: z.string().optional(),
    }),
  ),
  truncated: z
    .boolean()
    .describe('More running agent runs than the inbox reads (100); the oldest approvals may be missing'),
});

/** Agent runs: start, live state (the workflow's query), approvals of sensitive tool calls, cancel. */
export function agentsRoutes({ orm, temporal, config, quotas }: AppDeps) {
  const agents = new AgentsService(temporal, orm, config, quotas);
  const router = new Router<AuthState>({ prefix: '/v1/agents', sensitive: true });
  const write = requireRole('admin', 'operator');

  router.get('/approvals', async (ctx) => {
    ctx.body = await agents.pendingApprovals(ctx.state.principal.tenantId);
  });

  router.post('/runs', write, async (ctx) => {
    const body = startBody.parse(ctx.request.body ?? {});
    const run = await agents.plan(ctx.state.principal.tenantId, body);
    ctx.state.workflowId = run.workflowId;
    const started = await agents.start(run, waitsForResult(ctx.query));
    if (started.status === 'running') ctx.status = 202;
    ctx.body = started;
  });

  router.get('/runs/:id', async (ctx) => {
    ctx.body = await agents.view(ctx.state.principal.tenantId, ctx.params.id!);
  });

  /** Server-Sent Events: `turn`, `tool_call`, `approval_requested`, then `result` (or `end` when the run stopped otherwise). */
  router.get('/runs/:id/events', async (ctx) => {
    const { tenantId } = ctx.state.principal;
    const { handle } = await agents.own(tenantId, ctx.params.id!);
    await streamRunEvents(ctx, { orm, tenantId, workflowId: handle.workflowId, isClosed: () => agents.closed(handle) });
  });

  router.post('/runs/:id/approvals', write, async (ctx) => {
    const body = approvalBody.parse(ctx.request.body ?? {});
    ctx.body = await agents.decide(ctx.state.principal.tenantId, ctx.params.id!, body, ctx.state.principal);
  });

  router.post('/runs/:id/cancel', write, async (ctx) => {
    const canceled = await agents.cancel(ctx.state.principal.tenantId, ctx.params.id!);
    ctx.status = 202;
    ctx.body = canceled;
  });

  return router;
}
