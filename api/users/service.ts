import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import {
  TenantEntity,
  TenantMemberEntity,
  UserEntity,
  UserSessionEntity,
  type Role,
  type User,
  type UserSession,
} from '../../lib/db/entities';
import type { Orm } from '../../lib/db/orm';
import { AppError, notFound } from '../../lib/errors';
import { checkPasswordRules, hashPassword } from '../auth/passwords';
import { isLiveSession } from '../auth/sessions';
import { isUuid } from '../schemas';

/** An email as accounts are keyed: trimmed, lower-cased, validated. */
export const emailAddress = z
  .string()
  .trim()
  .max(254)
  .toLowerCase()
  .pipe(z.email({ error: 'must be an email address' }));

export const displayName = z.string().trim().min(1).max(200);

/** A user as the API shows them: never the password hash nor the lock counters. */
export const publicUser = (u: User) => ({
  id: u.id,
  email: u.email,
  displayName: u.displayName,
  createdAt: u.createdAt.toISOString(),
  lastLoginAt: u.lastLoginAt?.toISOString() ?? null,
  disabled: Boolean(u.disabledAt),
});
export type PublicUser = ReturnType<typeof publicUser>;

export interface TenantMembership {
  id: string;
  name: string;
  role: Role;
}

export const conflict = (code: string, message: string) =>
  new AppError({ code, message, status: 409, category: 'conflict' });

/** The tenants a user belongs to, oldest membership first (the default tenant of a sign-in). */
export async function membershipsOf(em: EntityManager, userId: string): Promise<TenantMembership[]> {
  const members = await em.find(TenantMemberEntity, { userId }, { orderBy: { createdAt: 'asc', tenantId: 'asc' } });
  if (members.length === 0) return [];
  const tenants = await em.find(TenantEntity, { id: { $in: members.map((m) => m.tenantId) } });
  const byId = new Map(tenants.map((t) => [t.id, t]));
  return members.flatMap((m) => {
    const t = byId.get(m.tenantId);
    return t ? [{ id: t.id, name: t.name, role: m.role }] : [];
  });
}

/**
 * The one place a user row is written. A password is checked against the rules and stored as argon2id; without one
 * the user can sign in only through an invitation they accept or single sign-on.
 */
export async function insertUser(
  em: EntityManager,
  input: { email: string; password?: string; displayName?: string },
): Promise<User> {
  if (await em.findOne(UserEntity, { email: input.email }))
    throw conflict('user_exists', `A user with the email ${input.email} already exists.`);
  if (input.password !== undefined) checkPasswordRules(input.password, input.email);
  const user = em.create(UserEntity, {
    id: randomUUID(),
    email: input.email,
    displayName: input.displayName ?? input.email.split('@')[0]!,
    passwordHash: input.password === undefined ? null : await hashPassword(input.password),
    passwordChangedAt: input.password === undefined ? null : new Date(),
  });
  await em.flush();
  return user;
}

const publicSession = (s: UserSession, current: string | null, idleMinutes: number) => ({
  id: s.id,
  tenantId: s.tenantId,
  method: s.method,
  createdAt: s.createdAt.toISOString(),
  lastSeenAt: s.lastSeenAt.toISOString(),
  expiresAt: s.expiresAt.toISOString(),
  ip: s.ip ?? null,
  userAgent: s.userAgent ?? null,
  current: s.id === current,
  active: isLiveSession(s, idleMinutes),
});

/** A signed-in user's own account: who they are, their sessions, their password. */
export class UsersService {
  constructor(
    private readonly orm: Orm,
    private readonly idleMinutes: number,
  ) {}

  async profile(userId: string): Promise<{ user: PublicUser; tenants: TenantMembership[] }> {
    const em = this.orm.em.fork();
    const user = await em.findOneOrFail(UserEntity, { id: userId });
    return { user: publicUser(user), tenants: await membershipsOf(em, userId) };
  }

  /** The user's live sessions, newest first (revoked and expired ones are history, not something to act on). */
  async listSessions(userId: string, currentSessionId: string | null) {
    const rows = await this.orm.em
      .fork()
      .find(
        UserSessionEntity,
        { userId, revokedAt: null, expiresAt: { $gt: new Date() } },
        { orderBy: { createdAt: 'desc', id: 'asc' }, limit: 200 },
      );
    return {
      sessions: rows
        .filter((s) => isLiveSession(s, this.idleMinutes))
        .map((s) => publicSession(s, currentSessionId, this.idleMinutes)),
    };
  }

  /** Revokes one of the user's own sessions; another user's id answers like a missing one. */
  async revokeSession(userId: string, sessionId: string, currentSessionId: string | null) {
    if (!isUuid(sessionId)) throw notFound('Session');
    const em = this.orm.em.fork();
    const session = await em.findOne(UserSessionEntity, { id: sessionId, userId });
    if (!session) throw notFound('Session');
    session.revokedAt ??= new Date();
    await em.flush();
    return publicSession(session, currentSessionId, this.idleMinutes);
  }

  /** Sets a new password (the current one was verified by the caller) and revokes every other session. */
  async setPassword(userId: string, newPassword: string, keepSessionId: string | null): Promise<{ revoked: number }> {
    return this.orm.em.fork().transactional(async (em) => {
      const user = await em.findOneOrFail(UserEntity, { id: userId });
      checkPasswordRules(newPassword, user.email);
      user.passwordHash = await hashPassword(newPassword);
      user.passwordChangedAt = new Date();
      await em.flush();
      const revoked = await em.nativeUpdate(
        UserSessionEntity,
        { userId, revokedAt: null, ...(keepSessionId ? { id: { $ne: keepSessionId } } : {}) },
        { revokedAt: new Date() },
      );
      return { revoked };
    });
  }
}
