import { Router } from '@koa/router';
import { z } from 'zod';
import { ROLES } from '../../lib/db/entities';
import { SAVED_AGENT_NAME, SavedAgentsService } from '../agents/saved';
import type { AppDeps } from '../deps';
import { requireRole, type AuthState } from '../auth/middleware';
import { waitsForResult } from '../schemas';
import { startBody } from './agents';

const name = z
  .string()
  .regex(
    SAVED_AGENT_NAME,
    'must be 1 to 64 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit',
  );
const description = z.string().trim().max(2000);

/** A saved agent: a run start's fields but its goal and id (same rules, same defaults), with a name. */
export const savedAgentBody = startBody
  .omit({ goal: true, id: true })
  .extend({
    /** Unique in the tenant; the OpenAI-compatible endpoint serves the agent as the model `agent/<name>`. */
    name,
    description: description.optional(),
  })
  .strict();

const fields = savedAgentBody.shape;
/** Any of the fields, without their defaults (a field left out stays as saved); `null` clears an optional one. */
export const savedAgentPatch = z
  .object({
    name: fields.name.optional(),
    description: description.nullable().optional(),
    instructions: fields.instructions.nullable(),
    tools: fields.tools.removeDefault().optional(),
    collectionIds: fields.collectionIds.nullable(),
    budgets: fields.budgets.removeDefault().optional(),
    approvalTimeoutMs: fields.approvalTimeoutMs.removeDefault().optional(),
    turnsPerRun: fields.turnsPerRun.removeDefault().optional(),
    model: fields.model.nullable(),
    temperature: fields.temperature.nullable(),
    prompt: fields.prompt.nullable(),
  } satisfies Record<keyof typeof fields, z.ZodType>)
  .strict()
  .refine((p) => Object.keys(p).length > 0, 'give at least one field to change');

/** A run of a saved agent: the goal, and the client-chosen id that makes the start idempotent. */
export const savedAgentRunBody = startBody.pick({ goal: true, id: true }).strict();

/**
 * Saved agents (issue 20): named agent definitions, runnable by name and served as `agent/<name>` models. A run is a
 * normal agent run (`/v1/agents/runs/:id`). An id that is not a uuid reads as a missing agent.
 */
export function savedAgentsRoutes({ temporal, orm, config, quotas }: AppDeps) {
  const saved = new SavedAgentsService(temporal, orm, config, quotas);
  const router = new Router<AuthState>({ prefix: '/v1/agents/saved', sensitive: true });
  const read = requireRole(...ROLES);
  const write = requireRole('admin', 'operator');

  router.get('/', read, async (ctx) => {
    ctx.body = await saved.list(ctx.state.principal.tenantId);
  });

  router.post('/', write, async (ctx) => {
    // Set first, so a refused save is logged under the same action as a saved one.
    ctx.state.audit = { action: 'agents.saved.create' };
    const body = savedAgentBody.parse(ctx.request.body ?? {});
    const agent = await saved.create(ctx.state.principal, body);
    ctx.state.audit = {
      action: 'agents.saved.create',
      targets: { savedAgentId: agent.id },
      detail: { name: agent.name },
    };
    ctx.status = 201;
    ctx.body = agent;
  });

  router.get('/:id', read, async (ctx) => {
    ctx.body = await saved.get(ctx.state.principal.tenantId, ctx.params.id!);
  });

  router.patch('/:id', write, async (ctx) => {
    const patch = savedAgentPatch.parse(ctx.request.body ?? {});
    ctx.state.audit = {
      action: 'agents.saved.update',
      targets: { savedAgentId: ctx.params.id! },
      detail: { fields: Object.keys(patch) },
    };
    ctx.body = await saved.update(ctx.state.principal.tenantId, ctx.params.id!, patch);
  });

  router.delete('/:id', write, async (ctx) => {
    ctx.state.audit = { action: 'agents.saved.delete', targets: { savedAgentId: ctx.params.id! } };
    await saved.remove(ctx.state.principal.tenantId, ctx.params.id!);
    ctx.status = 204;
  });

  router.post('/:id/runs', write, async (ctx) => {
    ctx.state.audit = { action: 'agents.saved.run', targets: { savedAgentId: ctx.params.id! } };
    const body = savedAgentRunBody.parse(ctx.request.body ?? {});
    const started = await saved.run(ctx.state.principal.tenantId, ctx.params.id!, {
      ...body,
      wait: waitsForResult(ctx.query),
    });
    ctx.state.workflowId = started.workflowId;
    if (started.status === 'running') ctx.status = 202;
    ctx.body = started;
  });

  return router;
}
