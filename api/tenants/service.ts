import { randomUUID } from 'node:crypto';
import { TenantEntity, TenantMemberEntity, UserEntity, type Tenant } from '../../lib/db/entities';
import type { Orm } from '../../lib/db/orm';
import { AppError, notFound } from '../../lib/errors';
import type { Principal } from '../auth/api-keys';
import { isUuid } from '../schemas';
import { insertUser, publicUser, type PublicUser } from '../users/service';
import { InvitationsService, type PublicInvitation } from './invitations';
import { insertMember } from './members';

export const publicTenant = (t: Tenant, members?: number) => ({
  id: t.id,
  name: t.name,
  platform: t.platform,
  createdAt: t.createdAt.toISOString(),
  ...(members === undefined ? {} : { members }),
});
export type PublicTenant = ReturnType<typeof publicTenant>;

/** The platform's tenants, managed by the platform admin (an admin of the tenant made at first start). */
export class TenantsService {
  constructor(
    private readonly orm: Orm,
    private readonly invitations: InvitationsService,
  ) {}

  async list(): Promise<{ tenants: PublicTenant[] }> {
    const em = this.orm.em.fork();
    const tenants = await em.find(TenantEntity, {}, { orderBy: { createdAt: 'asc', id: 'asc' }, limit: 1000 });
    const counts = await em
      .getConnection()
      .execute<Array<{ tenant_id: string; n: number }>>(
        'select tenant_id, count(*)::int as n from tenant_members group by tenant_id',
      );
    const byTenant = new Map(counts.map((c) => [c.tenant_id, c.n]));
    return { tenants: tenants.map((t) => publicTenant(t, byTenant.get(t.id) ?? 0)) };
  }

  async get(id: string): Promise<PublicTenant> {
    if (!isUuid(id)) throw notFound('Tenant');
    const em = this.orm.em.fork();
    const tenant = await em.findOne(TenantEntity, { id });
    if (!tenant) throw notFound('Tenant');
    return publicTenant(tenant, await em.count(TenantMemberEntity, { tenantId: id }));
  }

  /**
   * A new tenant, optionally with its first admin: an existing user by email, a new user when a password is given,
   * or else an invitation (its token answered once).
   */
  async create(
    principal: Principal,
    input: { name: string; admin?: { email: string; password?: string; displayName?: string } },
  ): Promise<{
    tenant: PublicTenant;
    admin: PublicUser | null;
    invitation: (PublicInvitation & { token: string; acceptPath: string }) | null;
  }> {
    const created = await this.orm.em.fork().transactional(async (em) => {
      const tenant = em.create(TenantEntity, { id: randomUUID(), name: input.name, platform: false });
      await em.flush();
      const wanted = input.admin;
      if (!wanted) return { tenant, admin: null };
      let user = await em.findOne(UserEntity, { email: wanted.email });
      if (user && wanted.password !== undefined)
        throw new AppError({
          code: 'user_exists',
          message: `A user with the email ${wanted.email} already exists; name them without a password.`,
          status: 409,
          category: 'conflict',
        });
      if (!user && wanted.password === undefined) return { tenant, admin: null };
      user ??= await insertUser(em, wanted);
      await insertMember(em, { tenantId: tenant.id, userId: user.id, role: 'admin', by: principal });
      return { tenant, admin: user };
    });
    const tenant = publicTenant(created.tenant, created.admin ? 1 : 0);
    if (created.admin || !input.admin)
      return { tenant, admin: created.admin && publicUser(created.admin), invitation: null };
    // An unknown admin without a password is invited, as the new tenant's own admin would invite them.
    const invitation = await this.invitations.create(
      { ...principal, tenantId: tenant.id, tenantName: tenant.name, role: 'admin', platformAdmin: false },
      { email: input.admin.email, role: 'admin' },
    );
    return { tenant, admin: null, invitation };
  }
}
