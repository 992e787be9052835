import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ApiKeyEntity, ROLES, TenantEntity, type ApiKey, type Role } from '../../lib/db/entities';
import type { Orm } from '../../lib/db/orm';
import { AppError, badRequest, notFound } from '../../lib/errors';
import { insertApiKey, isActiveKey, type Principal } from '../auth/api-keys';
import { isUuid } from '../schemas';

export type KeyStatus = 'active' | 'expired' | 'revoked';

/** A key as listings show it: never the hash (nor, after creation, the key). */
export type PublicApiKey = ReturnType<typeof publicKey>;

const publicKey = (k: ApiKey, now = new Date()) => ({
  id: k.id,
  name: k.name,
  role: k.role,
  prefix: k.prefix,
  status: (k.revokedAt ? 'revoked' : isActiveKey(k, now) ? 'active' : 'expired') as KeyStatus,
  createdAt: k.createdAt.toISOString(),
  lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
  expiresAt: k.expiresAt?.toISOString() ?? null,
  revokedAt: k.revokedAt?.toISOString() ?? null,
  createdByKeyId: k.createdByKeyId ?? null,
  createdByUserId: k.createdByUserId ?? null,
});

/** A new key: the key itself, shown this once, with its record. */
export type CreatedApiKey = PublicApiKey & { key: string };

/** ROLES is ordered highest first. */
const outranks = (a: Role, b: Role) => ROLES.indexOf(a) < ROLES.indexOf(b);

const roleTooHigh = (role: Role, creator: Role) =>
  new AppError({
    code: 'role_too_high',
    message: `A ${creator} key cannot make a key with the role ${role}.`,
    status: 403,
    category: 'auth',
  });

const conflict = (code: string, message: string) => new AppError({ code, message, status: 409, category: 'conflict' });

/** The tenant's API keys: list, create, revoke, rotate. Always scoped by the caller's tenant. */
export class KeysService {
  constructor(private readonly orm: Orm) {}

  async list(tenantId: string): Promise<{ keys: PublicApiKey[] }> {
    const rows = await this.orm.em
      .fork()
      .find(ApiKeyEntity, { tenantId }, { orderBy: { createdAt: 'desc', id: 'asc' } });
    const now = new Date();
    return { keys: rows.map((k) => publicKey(k, now)) };
  }

  async create(
    creator: Principal,
    input: { name: string; role: Role; expiresAt: Date | null },
  ): Promise<CreatedApiKey> {
    if (outranks(input.role, creator.role)) throw roleTooHigh(input.role, creator.role);
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now())
      throw badRequest('expiry_not_in_future', 'expiresAt must be in the future.');
    return this.orm.em.fork().transactional(async (em) => {
      const created = await insertApiKey(em, {
        tenantId: creator.tenantId,
        keyName: input.name,
        role: input.role,
        expiresAt: input.expiresAt,
        createdByKeyId: creator.keyId,
        createdByUserId: creator.userId,
      });
      return { key: created.key, ...publicKey(await em.findOneOrFail(ApiKeyEntity, { id: created.keyId })) };
    });
  }

  /**
   * Revokes a key of the tenant; a revoked key stays revoked (200 again). The caller may revoke its own key, but not
   * the tenant's last active admin key: nobody could manage the tenant's keys after it.
   */
  async revoke(principal: Principal, id: string): Promise<PublicApiKey> {
    return this.orm.em.fork().transactional(async (em) => {
      const key = await this.lockedKey(em, principal, id);
      if (key.revokedAt) return publicKey(key);
      if (key.role === 'admin' && isActiveKey(key) && (await this.activeAdminKeys(em, principal.tenantId)) <= 1)
        throw conflict(
          'last_admin_key',
          'This is the last active admin key of the tenant; create or rotate another admin key first.',
        );
      key.revokedAt = new Date();
      await em.flush();
      return publicKey(key);
    });
  }

  /** A new key with the same name, role and expiry, and the old one revoked, in one transaction. */
  async rotate(principal: Principal, id: string): Promise<CreatedApiKey & { replacedKeyId: string }> {
    return this.orm.em.fork().transactional(async (em) => {
      const old = await this.lockedKey(em, principal, id);
      if (old.revokedAt) throw conflict('key_revoked', 'A revoked key cannot be rotated; create a new key instead.');
      if (!isActiveKey(old))
        throw conflict('key_expired', 'An expired key cannot be rotated; create a new key instead.');
      if (outranks(old.role, principal.role)) throw roleTooHigh(old.role, principal.role);
      const created = await insertApiKey(em, {
        tenantId: principal.tenantId,
        keyName: old.name,
        role: old.role,
        expiresAt: old.expiresAt ?? null,
        createdByKeyId: principal.keyId,
        createdByUserId: principal.userId,
      });
      old.revokedAt = new Date();
      await em.flush();
      const fresh = await em.findOneOrFail(ApiKeyEntity, { id: created.keyId });
      return { key: created.key, ...publicKey(fresh), replacedKeyId: old.id };
    });
  }

  /**
   * The key if it is the tenant's (another tenant's id, or one that is not a UUID, is "not found" like a missing
   * one), with the tenant row locked so concurrent revocations cannot both pass the last-admin check.
   */
  private async lockedKey(em: EntityManager, principal: Principal, id: string): Promise<ApiKey> {
    if (!isUuid(id)) throw notFound('API key');
    await em.findOneOrFail(TenantEntity, { id: principal.tenantId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    const key = await em.findOne(ApiKeyEntity, { id, tenantId: principal.tenantId });
    if (!key) throw notFound('API key');
    return key;
  }

  private activeAdminKeys(em: EntityManager, tenantId: string): Promise<number> {
    return em.count(ApiKeyEntity, {
      tenantId,
      role: 'admin',
      revokedAt: null,
      $or: [{ expiresAt: null }, { expiresAt: { $gt: new Date() } }],
    });
  }
}
