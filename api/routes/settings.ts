import { Router } from '@koa/router';
import { ROLES } from '../../lib/db/entities';
import { MODEL_PURPOSES, modelRefusal, tenantSettingsPatch, type StoredTenantSettings } from '../../lib/settings';
import type { AppDeps } from '../deps';
import { actorLabel } from '../auth/api-keys';
import { requireRole, type AuthState } from '../auth/middleware';
import { badRequest } from '../../lib/errors';

/**
 * The tenant's settings (any role reads, admins write): its default model per purpose over the platform's
 * `LLM_MODEL_*`, each read as `{ model, source: tenant|platform, platform }`; and `retention`, the days each kind of
 * its data is kept (null: forever), which the `retention` batch job applies.
 */
export function settingsRoutes({ settings, config }: AppDeps) {
  const router = new Router<AuthState>({ prefix: '/v1', sensitive: true });
  const platform = config.llm.models;

  const view = (s: StoredTenantSettings) => ({
    provider: config.llm.provider,
    models: Object.fromEntries(
      MODEL_PURPOSES.map((p) => [
        p,
        { model: s.models[p] ?? platform[p], source: s.models[p] ? 'tenant' : 'platform', platform: platform[p] },
      ]),
    ),
    retention: s.retention,
    updatedAt: s.updatedAt?.toISOString() ?? null,
    updatedBy: s.updatedBy,
  });

  router.get('/settings', requireRole(...ROLES), async (ctx) => {
    ctx.body = view(await settings.read(ctx.state.principal.tenantId));
  });

  router.put('/settings', requireRole('admin'), async (ctx) => {
    const patch = tenantSettingsPatch.parse(ctx.request.body ?? {});
    const models = patch.models ?? {};
    for (const p of MODEL_PURPOSES) {
      const model = models[p];
      const refusal = model ? modelRefusal(p, model, config.llm.provider) : null;
      if (refusal) throw badRequest('model_not_available', `models.${p}: ${refusal}`);
    }
    ctx.state.audit = {
      action: 'settings.update',
      detail: { models, ...(patch.retention ? { retention: patch.retention } : {}) },
    };
    ctx.body = view(
      await settings.update(
        ctx.state.principal.tenantId,
        { models, retention: patch.retention },
        actorLabel(ctx.state.principal),
      ),
    );
  });

  return router;
}
