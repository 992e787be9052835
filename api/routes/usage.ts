import { Router, type RouterContext } from '@koa/router';
import type { AppDeps } from '../deps';
import type { AuthState } from '../auth/middleware';
import { defaultBucket, rangeQuery, resolveRange, timeseriesQuery } from '../usage/query';
import { UsageService } from '../usage/service';

export { rangeQuery, timeseriesQuery } from '../usage/query';

/**
 * Usage and cost of the caller's tenant (a platform admin may name another with `tenantId`): totals, a time series by
 * model/kind/key/purpose, latencies. Every role.
 */
export function usageRoutes({ orm, temporal, config }: AppDeps) {
  const usage = new UsageService(orm, temporal, config.temporal.namespace);
  const router = new Router<AuthState>({ prefix: '/v1/usage', sensitive: true });

  /** The tenant read: the caller's, or one a platform admin names; such a read of another tenant is audited. */
  const tenantOf = async (ctx: RouterContext<AuthState>, requested?: string) => {
    const tenantId = await usage.readableTenant(ctx.state.principal, requested);
    if (tenantId !== ctx.state.principal.tenantId)
      ctx.state.audit = { action: 'usage.read', targets: { tenant: tenantId } };
    return tenantId;
  };

  router.get('/summary', async (ctx) => {
    const q = rangeQuery.parse(ctx.query);
    ctx.body = await usage.summary(await tenantOf(ctx, q.tenantId), resolveRange(q));
  });
  router.get('/timeseries', async (ctx) => {
    const q = timeseriesQuery.parse(ctx.query);
    const range = resolveRange(q);
    const tenantId = await tenantOf(ctx, q.tenantId);
    ctx.body = await usage.timeseries(tenantId, range, q.bucket ?? defaultBucket(range), q.groupBy);
  });
  router.get('/latency', async (ctx) => {
    const q = rangeQuery.parse(ctx.query);
    ctx.body = await usage.latency(await tenantOf(ctx, q.tenantId), resolveRange(q));
  });
  return router;
}
