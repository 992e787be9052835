import { Router } from '@koa/router';
import { z } from 'zod';
import { RUN_KINDS, RUN_STATUSES } from '../../lib/contracts';
import type { AppDeps } from '../deps';
import { requireRole, type AuthState } from '../auth/middleware';
import { RunsService } from '../runs/service';
import { pageSize } from '../schemas';

export const listQuery = z
  .object({
    kind: z.enum(RUN_KINDS).optional(),
    status: z.enum(RUN_STATUSES).optional(),
    from: z.coerce.date().optional(),
    to: z.coerce.date().optional(),
    q: z
      .string()
      .regex(/^[A-Za-z0-9:_.-]{1,200}$/, 'may contain letters, digits and : _ . - only')
      .optional(),
    pageSize,
    pageToken: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,4096}$/, 'is not a page token from this API')
      .optional(),
  })
  .strict();

export const runQuery = z.object({ runId: z.uuid().optional() }).strict();

export const childrenQuery = z
  .object({
    pageSize,
    pageToken: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,4096}$/, 'is not a page token from this API')
      .optional(),
  })
  .strict();

/** Runs of the caller's tenant: list, one run, its children, its steps, its trace, cancel. */
export function runsRoutes({ temporal, orm, config }: AppDeps) {
  const runs = new RunsService(temporal, orm, config.temporal.namespace);
  const router = new Router<AuthState>({ prefix: '/v1/runs', sensitive: true });

  router.get('/', async (ctx) => {
    const { q, ...filter } = listQuery.parse(ctx.query);
    ctx.body = await runs.list(ctx.state.principal.tenantId, { ...filter, idPrefix: q });
  });
  router.get('/:id', async (ctx) => {
    const { runId } = runQuery.parse(ctx.query);
    ctx.body = await runs.get(ctx.state.principal.tenantId, ctx.params.id!, runId);
  });
  router.get('/:id/children', async (ctx) => {
    const page = childrenQuery.parse(ctx.query);
    ctx.body = await runs.children(ctx.state.principal.tenantId, ctx.params.id!, page);
  });
  router.get('/:id/steps', async (ctx) => {
    const { runId } = runQuery.parse(ctx.query);
    ctx.body = await runs.steps(ctx.state.principal.tenantId, ctx.params.id!, runId);
  });
  router.get('/:id/trace', async (ctx) => {
    const { runId } = runQuery.parse(ctx.query);
    ctx.body = await runs.trace(ctx.state.principal.tenantId, ctx.params.id!, runId);
  });
  router.post('/:id/cancel', requireRole('admin', 'operator'), async (ctx) => {
    await runs.cancel(ctx.state.principal.tenantId, ctx.params.id!);
    ctx.status = 202;
    ctx.body = { workflowId: ctx.params.id, status: 'cancel_requested' };
  });
  return router;
}
