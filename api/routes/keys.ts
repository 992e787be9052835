import { Router } from '@koa/router';
import { z } from 'zod';
import { ROLES } from '../../lib/db/entities';
import type { AppDeps } from '../deps';
import { requireRole, type AuthState } from '../auth/middleware';
import { KeysService } from '../keys/service';

const DAY_MS = 86_400_000;

export const createBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    role: z.enum(ROLES),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
    expiresInDays: z.number().int().min(1).max(3650).optional(),
  })
  .strict()
  .refine((b) => b.expiresAt === undefined || b.expiresInDays === undefined, {
    message: 'give expiresAt or expiresInDays, not both',
  });

/**
 * The tenant's API keys. Admin only, reads included: a listing names every key holder and what each may do, which
 * is the configuration of the tenant rather than its content. The key itself is answered once, on create and rotate.
 */
export function keysRoutes({ orm }: AppDeps) {
  const keys = new KeysService(orm);
  const router = new Router<AuthState>({ prefix: '/v1/keys', sensitive: true });
  const admin = requireRole('admin');

  router.get('/', admin, async (ctx) => {
    ctx.body = await keys.list(ctx.state.principal.tenantId);
  });

  router.post('/', admin, async (ctx) => {
    const { name, role, expiresAt, expiresInDays } = createBody.parse(ctx.request.body ?? {});
    const expiry = expiresAt
      ? new Date(expiresAt)
      : expiresInDays
        ? new Date(Date.now() + expiresInDays * DAY_MS)
        : null;
    ctx.body = await keys.create(ctx.state.principal, { name, role, expiresAt: expiry });
    ctx.status = 201;
  });

  router.post('/:id/revoke', admin, async (ctx) => {
    ctx.body = await keys.revoke(ctx.state.principal, ctx.params.id!);
  });

  router.post('/:id/rotate', admin, async (ctx) => {
    ctx.body = await keys.rotate(ctx.state.principal, ctx.params.id!);
    ctx.status = 201;
  });

  return router;
}
