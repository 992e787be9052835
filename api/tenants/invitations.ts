import { createHash, randomBytes } from 'node:crypto';
import { LockMode } from '@mikro-orm/core';
import { InvitationEntity, TenantMemberEntity, UserEntity, type Invitation, type Role } from '../../lib/db/entities';
import type { Orm } from '../../lib/db/orm';
import { AppError, notFound } from '../../lib/errors';
import type { Principal } from '../auth/api-keys';
import { isUuid } from '../schemas';
import type { PasswordCheck } from '../users/login';
import { conflict, insertUser } from '../users/service';
import { insertMember, lockTenant, outranks, roleTooHigh } from './members';

const DAY_MS = 86_400_000;
export const DEFAULT_INVITATION_DAYS = 7;

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
const TOKEN_PATTERN = /^bci_[A-Za-z0-9_-]{43}$/;

export type InvitationStatus = 'pending' | 'accepted' | 'revoked' | 'expired';

const statusOf = (i: Invitation, now = Date.now()): InvitationStatus =>
  i.acceptedAt ? 'accepted' : i.revokedAt ? 'revoked' : i.expiresAt.getTime() <= now ? 'expired' : 'pending';

export const publicInvitation = (i: Invitation) => ({
  id: i.id,
  email: i.email,
  role: i.role,
  status: statusOf(i),
  createdAt: i.createdAt.toISOString(),
  expiresAt: i.expiresAt.toISOString(),
  acceptedAt: i.acceptedAt?.toISOString() ?? null,
  revokedAt: i.revokedAt?.toISOString() ?? null,
  createdByUserId: i.createdByUserId ?? null,
  createdByKeyId: i.createdByKeyId ?? null,
});
export type PublicInvitation = ReturnType<typeof publicInvitation>;

/** The console page that redeems a token; the token rides in the fragment, which browsers never send to a server. */
export const acceptPath = (token: string) => `/sign-in#invitation=${token}`;

const invitationRefused = (status: Exclude<InvitationStatus, 'pending'> | 'unknown') =>
  new AppError({
    code: status === 'unknown' ? 'invitation_invalid' : `invitation_${status}`,
    message:
      status === 'unknown'
        ? 'The invitation token is not valid.'
        : `The invitation was ${status === 'expired' ? 'not accepted in time' : status}; ask for a new one.`,
    status: status === 'unknown' ? 404 : 410,
    category: status === 'unknown' ? 'not_found' : 'conflict',
  });

/** Invitations to join a tenant: a one-time token, shown once, that the invitee redeems with a password. */
export class InvitationsService {
  constructor(private readonly orm: Orm) {}

  async list(tenantId: string): Promise<{ invitations: PublicInvitation[] }> {
    const rows = await this.orm.em
      .fork()
      .find(InvitationEntity, { tenantId }, { orderBy: { createdAt: 'desc', id: 'asc' }, limit: 500 });
    return { invitations: rows.map(publicInvitation) };
  }

  /** A new invitation replaces the email's pending ones in the tenant, so one link is live per person. */
  async create(
    principal: Principal,
    input: { email: string; role: Role; expiresInDays?: number },
  ): Promise<PublicInvitation & { token: string; acceptPath: string }> {
    if (outranks(input.role, principal.role)) throw roleTooHigh(input.role, principal.role);
    return this.orm.em.fork().transactional(async (em) => {
      await lockTenant(em, principal.tenantId);
      const existing = await em.findOne(UserEntity, { email: input.email });
      if (existing && (await em.findOne(TenantMemberEntity, { tenantId: principal.tenantId, userId: existing.id })))
        throw conflict('already_member', `${input.email} is already a member of the tenant.`);
      await em.nativeUpdate(
        InvitationEntity,
        { tenantId: principal.tenantId, email: input.email, acceptedAt: null, revokedAt: null },
        { revokedAt: new Date() },
      );
      const token = `bci_${randomBytes(32).toString('base64url')}`;
      const invitation = em.create(InvitationEntity, {
        tenantId: principal.tenantId,
        email: input.email,
        role: input.role,
        tokenHash: hashToken(token),
        expiresAt: new Date(Date.now() + (input.expiresInDays ?? DEFAULT_INVITATION_DAYS) * DAY_MS),
        createdByUserId: principal.userId,
        createdByKeyId: principal.keyId,
      });
      await em.flush();
      return { ...publicInvitation(invitation), token, acceptPath: acceptPath(token) };
    });
  }

  async revoke(principal: Principal, id: string): Promise<PublicInvitation> {
    if (!isUuid(id)) throw notFound('Invitation');
    const em = this.orm.em.fork();
    const invitation = await em.findOne(InvitationEntity, { id, tenantId: principal.tenantId });
    if (!invitation) throw notFound('Invitation');
    if (invitation.acceptedAt) throw conflict('invitation_accepted', 'An accepted invitation cannot be revoked.');
    invitation.revokedAt ??= new Date();
    await em.flush();
    return publicInvitation(invitation);
  }

  /**
   * Redeems a token: a new user is created with the password; an existing user (the invitation's email) proves
   * it is them with their current password, checked with the sign-in's brute-force protection. Returns who joined
   * which tenant; the caller signs them in.
   */
  async accept(
    passwords: PasswordCheck,
    input: { token: string; password: string; displayName?: string; ip: string },
  ): Promise<{ userId: string; tenantId: string; email: string; role: Role; created: boolean }> {
    const found = TOKEN_PATTERN.test(input.token)
      ? await this.orm.em.fork().findOne(InvitationEntity, { tokenHash: hashToken(input.token) })
      : null;
    if (!found) throw invitationRefused('unknown');
    const status = statusOf(found);
    if (status !== 'pending') throw invitationRefused(status);

    const existing = await this.orm.em.fork().findOne(UserEntity, { email: found.email });
    if (existing) await passwords.verify({ email: found.email, password: input.password, ip: input.ip });

    return this.orm.em.fork().transactional(async (em) => {
      await lockTenant(em, found.tenantId);
      // Locked and read again: two redemptions of one token cannot both pass.
      const invitation = await em.findOneOrFail(
        InvitationEntity,
        { id: found.id },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      const now = statusOf(invitation);
      if (now !== 'pending') throw invitationRefused(now);
      let user = await em.findOne(UserEntity, { email: invitation.email });
      // Made since the check above: its password was not verified, so this redemption cannot sign in as it.
      if (user && !existing)
        throw conflict('user_exists', 'An account with this email now exists; accept again with its password.');
      user ??= await insertUser(em, {
        email: invitation.email,
        password: input.password,
        displayName: input.displayName,
      });
      await insertMember(em, {
        tenantId: invitation.tenantId,
        userId: user.id,
        role: invitation.role,
        by: { userId: invitation.createdByUserId ?? null, keyId: invitation.createdByKeyId ?? null },
      });
      invitation.acceptedAt = new Date();
      await em.flush();
      return {
        userId: user.id,
        tenantId: invitation.tenantId,
        email: user.email,
        role: invitation.role,
        created: !existing,
      };
    });
  }
}
