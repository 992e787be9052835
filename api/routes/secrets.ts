import { Router } from '@koa/router';
import { z } from 'zod';
import { AppError, badRequest, notFound } from '../../lib/errors';
import { TenantSecretsKeyError } from '../../lib/secrets/tenant-key';
import { MAX_TENANT_SECRET_BYTES, TENANT_SECRET_NAME, TENANT_SECRET_NAME_RULE } from '../../lib/secrets/tenant';
import type { AppDeps } from '../deps';
import { requireRole, type AuthState } from '../auth/middleware';

export const putBody = z
  .object({
    value: z
      .string()
      .min(1)
      .refine(
        (v) => Buffer.byteLength(v, 'utf8') <= MAX_TENANT_SECRET_BYTES,
        `must be at most ${MAX_TENANT_SECRET_BYTES} bytes`,
      ),
  })
  .strict();

function secretName(raw: string | undefined): string {
  if (!raw || !TENANT_SECRET_NAME.test(raw))
    throw badRequest('invalid_secret_name', `A secret name is ${TENANT_SECRET_NAME_RULE}.`);
  return raw;
}

/** The platform key is missing or unusable: an operator's problem, said without the key. */
async function keyed<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof TenantSecretsKeyError) {
      throw new AppError({
        code: 'tenant_secrets_unavailable',
        message: `Tenant secrets are not available: ${e.message}.`,
        status: 503,
        category: 'dependency',
        cause: e,
      });
    }
    throw e;
  }
}

/**
 * The tenant's own secrets, which its MCP servers name as `secret:<name>`. Values go in and are never read back out;
 * listings show names and times. Everything is scoped by the key's tenant: another tenant's secret is not found.
 */
export function secretsRoutes({ secrets }: AppDeps) {
  const router = new Router<AuthState>({ prefix: '/v1/secrets', sensitive: true });
  const write = requireRole('admin');

  router.get('/', async (ctx) => {
    ctx.body = { secrets: await secrets.list(ctx.state.principal.tenantId) };
  });

  router.put('/:name', write, async (ctx) => {
    const name = secretName(ctx.params.name);
    const { value } = putBody.parse(ctx.request.body ?? {});
    const { created, ...secret } = await keyed(() => secrets.put(ctx.state.principal.tenantId, name, value));
    ctx.status = created ? 201 : 200;
    ctx.body = { secret };
  });

  router.delete('/:name', write, async (ctx) => {
    const name = secretName(ctx.params.name);
    if (!(await secrets.delete(ctx.state.principal.tenantId, name))) throw notFound('Secret');
    ctx.status = 204;
  });

  return router;
}
