import { Router } from '@koa/router';
import { z } from 'zod';
import { ROLES } from '../../lib/db/entities';
import type { AppDeps } from '../deps';
import { requirePlatformAdmin, requireRole, type AuthState } from '../auth/middleware';
import { PASSWORD_MAX } from '../auth/passwords';
import { InvitationsService } from '../tenants/invitations';
import { MembersService } from '../tenants/members';
import { TenantsService } from '../tenants/service';
import { displayName, emailAddress } from '../users/service';

const password = z.string().min(1).max(PASSWORD_MAX);

export const createTenantBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    admin: z
      .object({ email: emailAddress, password: password.optional(), displayName: displayName.optional() })
      .strict()
      .optional(),
  })
  .strict();
export const addMemberBody = z
  .object({
    email: emailAddress,
    role: z.enum(ROLES),
    password: password.optional(),
    displayName: displayName.optional(),
  })
  .strict();
export const setRoleBody = z.object({ role: z.enum(ROLES) }).strict();
export const inviteBody = z
  .object({ email: emailAddress, role: z.enum(ROLES), expiresInDays: z.number().int().min(1).max(90).optional() })
  .strict();

/**
 * Tenants (platform admin), and a tenant's members and invitations (its admins). Members and invitations are always
 * the caller's tenant's: another tenant's user or invitation id answers exactly like a missing one.
 */
export function tenantsRoutes({ orm }: AppDeps) {
  const invitations = new InvitationsService(orm);
  const tenants = new TenantsService(orm, invitations);
  const members = new MembersService(orm);
  const router = new Router<AuthState>({ prefix: '/v1', sensitive: true });
  const admin = requireRole('admin');

  router.get('/tenants', admin, requirePlatformAdmin, async (ctx) => {
    ctx.body = await tenants.list();
  });

  router.post('/tenants', admin, requirePlatformAdmin, async (ctx) => {
    const body = createTenantBody.parse(ctx.request.body ?? {});
    const created = await tenants.create(ctx.state.principal, body);
    ctx.state.audit = { targets: { tenantId: created.tenant.id } };
    ctx.body = created;
    ctx.status = 201;
  });

  router.get('/tenants/:id', admin, requirePlatformAdmin, async (ctx) => {
    ctx.body = await tenants.get(ctx.params.id!);
  });

  router.get('/members', admin, async (ctx) => {
    ctx.body = await members.list(ctx.state.principal.tenantId);
  });

  router.post('/members', admin, async (ctx) => {
    const body = addMemberBody.parse(ctx.request.body ?? {});
    const member = await members.add(ctx.state.principal, body);
    ctx.state.audit = { targets: { userId: member.userId }, detail: { role: member.role } };
    ctx.body = member;
    ctx.status = 201;
  });

  router.patch('/members/:userId', admin, async (ctx) => {
    const { role } = setRoleBody.parse(ctx.request.body ?? {});
    ctx.body = await members.setRole(ctx.state.principal, ctx.params.userId!, role);
    ctx.state.audit = { detail: { role } };
  });

  router.delete('/members/:userId', admin, async (ctx) => {
    ctx.body = await members.remove(ctx.state.principal, ctx.params.userId!);
  });

  router.get('/invitations', admin, async (ctx) => {
    ctx.body = await invitations.list(ctx.state.principal.tenantId);
  });

  router.post('/invitations', admin, async (ctx) => {
    const body = inviteBody.parse(ctx.request.body ?? {});
    const created = await invitations.create(ctx.state.principal, body);
    ctx.state.audit = { targets: { invitationId: created.id }, detail: { role: created.role } };
    ctx.body = created;
    ctx.status = 201;
  });

  router.post('/invitations/:id/revoke', admin, async (ctx) => {
    ctx.body = await invitations.revoke(ctx.state.principal, ctx.params.id!);
  });

  return router;
}
