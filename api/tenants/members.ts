import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  ApiKeyEntity,
  ROLES,
  TenantEntity,
  TenantMemberEntity,
  UserEntity,
  UserSessionEntity,
  type Role,
  type TenantMember,
  type User,
} from '../../lib/db/entities';
import type { Orm } from '../../lib/db/orm';
import { AppError, notFound } from '../../lib/errors';
import type { Principal } from '../auth/api-keys';
import { isUuid } from '../schemas';
import { conflict, insertUser } from '../users/service';

/** ROLES is ordered highest first. */
export const outranks = (a: Role, b: Role) => ROLES.indexOf(a) < ROLES.indexOf(b);

export const roleTooHigh = (role: Role, caller: Role) =>
  new AppError({
    code: 'role_too_high',
    message: `A caller with the role ${caller} cannot give or change the role ${role}.`,
    status: 403,
    category: 'auth',
  });

export const publicMember = (m: TenantMember, u: User) => ({
  userId: u.id,
  email: u.email,
  displayName: u.displayName,
  role: m.role,
  disabled: Boolean(u.disabledAt),
  createdAt: m.createdAt.toISOString(),
  lastLoginAt: u.lastLoginAt?.toISOString() ?? null,
  addedByUserId: m.addedByUserId ?? null,
  addedByKeyId: m.addedByKeyId ?? null,
});
export type PublicMember = ReturnType<typeof publicMember>;

/** Locks the tenant row: membership changes of one tenant run one at a time, so the last-admin check holds. */
export const lockTenant = (em: EntityManager, tenantId: string) =>
  em.findOneOrFail(TenantEntity, { id: tenantId }, { lockMode: LockMode.PESSIMISTIC_WRITE });

/** Adds a membership; the one place a member row is written. */
export async function insertMember(
  em: EntityManager,
  opts: { tenantId: string; userId: string; role: Role; by: Pick<Principal, 'userId' | 'keyId'> | null },
): Promise<TenantMember> {
  if (await em.findOne(TenantMemberEntity, { tenantId: opts.tenantId, userId: opts.userId }))
    throw conflict('already_member', 'The user is already a member of the tenant.');
  const member = em.create(TenantMemberEntity, {
    tenantId: opts.tenantId,
    userId: opts.userId,
    role: opts.role,
    addedByUserId: opts.by?.userId ?? null,
    addedByKeyId: opts.by?.keyId ?? null,
  });
  await em.flush();
  return member;
}

/** A tenant's members: users with a role in it. Always scoped by the caller's tenant. */
export class MembersService {
  constructor(private readonly orm: Orm) {}

  async list(tenantId: string): Promise<{ members: PublicMember[] }> {
    const em = this.orm.em.fork();
    const members = await em.find(TenantMemberEntity, { tenantId }, { orderBy: { createdAt: 'asc', userId: 'asc' } });
    const users = await em.find(UserEntity, { id: { $in: members.map((m) => m.userId) } });
    const byId = new Map(users.map((u) => [u.id, u]));
    return { members: members.flatMap((m) => (byId.has(m.userId) ? [publicMember(m, byId.get(m.userId)!)] : [])) };
  }

  /**
   * Adds a user by email: an existing user as they are, or a new one when a password is given (without one, an
   * unknown email is 404 `user_not_found`: invite them instead).
   */
  async add(
    principal: Principal,
    input: { email: string; role: Role; password?: string; displayName?: string },
  ): Promise<PublicMember> {
    if (outranks(input.role, principal.role)) throw roleTooHigh(input.role, principal.role);
    return this.orm.em.fork().transactional(async (em) => {
      await lockTenant(em, principal.tenantId);
      let user = await em.findOne(UserEntity, { email: input.email });
      if (!user) {
        if (input.password === undefined)
          throw new AppError({
            code: 'user_not_found',
            message: `No user has the email ${input.email}; give a password to create one, or send an invitation.`,
            status: 404,
            category: 'not_found',
          });
        user = await insertUser(em, input);
      } else if (input.password !== undefined) {
        throw conflict(
          'user_exists',
          `A user with the email ${input.email} already exists; add them without a password.`,
        );
      }
      const member = await insertMember(em, {
        tenantId: principal.tenantId,
        userId: user.id,
        role: input.role,
        by: principal,
      });
      return publicMember(member, user);
    });
  }

  /** Changes a member's role; it applies to their sessions at once (the role is read on every request). */
  async setRole(principal: Principal, userId: string, role: Role): Promise<PublicMember> {
    return this.orm.em.fork().transactional(async (em) => {
      const { member, user } = await this.lockedMember(em, principal, userId);
      if (outranks(role, principal.role) || outranks(member.role, principal.role))
        throw roleTooHigh(outranks(role, member.role) ? role : member.role, principal.role);
      if (member.role === 'admin' && role !== 'admin') await this.keepAnAdmin(em, principal.tenantId, userId);
      member.role = role;
      await em.flush();
      return publicMember(member, user);
    });
  }

  /** Removes a member and revokes their sessions in this tenant; their account and other memberships stay. */
  async remove(principal: Principal, userId: string): Promise<{ removed: PublicMember; revokedSessions: number }> {
    return this.orm.em.fork().transactional(async (em) => {
      const { member, user } = await this.lockedMember(em, principal, userId);
      if (outranks(member.role, principal.role)) throw roleTooHigh(member.role, principal.role);
      if (member.role === 'admin') await this.keepAnAdmin(em, principal.tenantId, userId);
      const removed = publicMember(member, user);
      em.remove(member);
      await em.flush();
      const revokedSessions = await em.nativeUpdate(
        UserSessionEntity,
        { userId, tenantId: principal.tenantId, revokedAt: null },
        { revokedAt: new Date() },
      );
      return { removed, revokedSessions };
    });
  }

  /** A member of the caller's tenant; another tenant's user, or a non-UUID, is not found like a missing one. */
  private async lockedMember(em: EntityManager, principal: Principal, userId: string) {
    if (!isUuid(userId)) throw notFound('Member');
    await lockTenant(em, principal.tenantId);
    const member = await em.findOne(TenantMemberEntity, { tenantId: principal.tenantId, userId });
    const user = member && (await em.findOne(UserEntity, { id: userId }));
    if (!member || !user) throw notFound('Member');
    return { member, user };
  }

  /** Someone must still be able to administer the tenant: another admin member, or an active admin key. */
  private async keepAnAdmin(em: EntityManager, tenantId: string, leavingUserId: string): Promise<void> {
    const otherAdmins = await em.count(TenantMemberEntity, {
      tenantId,
      role: 'admin',
      userId: { $ne: leavingUserId },
    });
    if (otherAdmins > 0) return;
    const adminKeys = await em.count(ApiKeyEntity, {
      tenantId,
      role: 'admin',
      revokedAt: null,
      $or: [{ expiresAt: null }, { expiresAt: { $gt: new Date() } }],
    });
    if (adminKeys > 0) return;
    throw conflict(
      'last_admin',
      'This is the last admin of the tenant and the tenant has no active admin API key; make another admin first.',
    );
  }
}
