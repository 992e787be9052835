import { Router } from '@koa/router';
import { quotaOverridesPatch } from '../../lib/quota';
import { ROLES } from '../../lib/db/entities';
import type { AppDeps } from '../deps';
import { actorLabel } from '../auth/api-keys';
import { requirePlatformAdmin, requireRole, type AuthState } from '../auth/middleware';

/**
 * The tenant's quotas and usage (any role); a tenant's limits read and set by a platform admin. Limits are whole
 * numbers, 0 = no limit; a PUT changes only the limits it names, and null returns one to the platform default.
 */
export function quotasRoutes(deps: AppDeps) {
  const { quotas } = deps;
  const router = new Router<AuthState>({ prefix: '/v1', sensitive: true });
  const admin = requireRole('admin');

  router.get('/quotas', requireRole(...ROLES), async (ctx) => {
    ctx.body = await quotas.usage(ctx.state.principal);
  });

  router.get('/tenants/:id/quotas', admin, requirePlatformAdmin, async (ctx) => {
    ctx.body = await quotas.tenantQuotas(ctx.params.id!);
  });

  router.put('/tenants/:id/quotas', admin, requirePlatformAdmin, async (ctx) => {
    const patch = quotaOverridesPatch.parse(ctx.request.body ?? {});
    ctx.state.audit = { action: 'quotas.update', targets: { tenantId: ctx.params.id! }, detail: { limits: patch } };
    ctx.body = await quotas.setTenantQuotas(ctx.params.id!, patch, actorLabel(ctx.state.principal));
  });

  return router;
}
