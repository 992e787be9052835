import { Router } from '@koa/router';
import { ROLES } from '../../lib/db/entities';
import type { AppDeps } from '../deps';
import { requireRole, type AuthState } from '../auth/middleware';
import { ReplaysService } from '../replays/service';
import { createReplayBody, itemsQuery } from '../replays/spec';

/**
 * Counterfactual replays of past answers (issue 19): start one (202 with its id and run), list them, read one with
 * its progress and summary, and its per-answer comparisons. An id that is not a uuid reads as a missing replay.
 */
export function replaysRoutes({ temporal, orm, config, quotas }: AppDeps) {
  const replays = new ReplaysService(temporal, orm, config, quotas);
  const router = new Router<AuthState>({ prefix: '/v1/replays', sensitive: true });
  const read = requireRole(...ROLES);
  const write = requireRole('admin', 'operator');

  router.get('/', read, async (ctx) => {
    ctx.body = await replays.list(ctx.state.principal.tenantId);
  });

  router.post('/', write, async (ctx) => {
    const body = createReplayBody.parse(ctx.request.body ?? {});
    const started = await replays.create(ctx.state.principal, body);
    ctx.state.audit = { action: 'replays.create', targets: { replayId: started.id }, detail: { mode: body.mode } };
    ctx.status = 202;
    ctx.body = started;
  });

  router.get('/:id', read, async (ctx) => {
    ctx.body = await replays.get(ctx.state.principal.tenantId, ctx.params.id!);
  });

  router.get('/:id/items', read, async (ctx) => {
    const page = itemsQuery.parse(ctx.query);
    ctx.body = await replays.items(ctx.state.principal.tenantId, ctx.params.id!, page);
  });

  return router;
}
