import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { ApiKeyEntity, TenantEntity, type ApiKey, type Role } from '../../lib/db/entities';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Orm } from '../../lib/db/orm';

const KEY_PATTERN = /^bc_[A-Za-z0-9_-]{32,}$/;

export const generateApiKey = () => `bc_${randomBytes(32).toString('base64url')}`;
/** Keys are 256-bit random, so a fast hash is enough; only the hash is stored. */
export const hashApiKey = (key: string) => createHash('sha256').update(key).digest('hex');
export const keyPrefix = (key: string) => key.slice(0, 10);
export const looksLikeApiKey = (key: string) => KEY_PATTERN.test(key);

/**
 * Who is calling, in which tenant, with which role: an API key (`via: 'key'`), or a user signed in to the console
 * (`via: 'session'`, the role is the user's membership in the session's tenant). Exactly one of key and user is set.
 */
export interface Principal {
  tenantId: string;
  tenantName: string;
  /** An admin of the platform tenant (the one made at first start) administers the platform: tenants, quotas. */
  platformAdmin: boolean;
  role: Role;
  via: 'key' | 'session';
  keyId: string | null;
  keyName: string | null;
  keyPrefix: string | null;
  userId: string | null;
  userEmail: string | null;
  sessionId: string | null;
}

/** How a principal is named in reviews, approvals and the audit log: `name (bc_abc…)` or the user's email. */
export const actorLabel = (p: Principal) => (p.via === 'key' ? `${p.keyName} (${p.keyPrefix}…)` : `${p.userEmail}`);

/** A key is active until it is revoked or its expiry passes. */
export const isActiveKey = (k: Pick<ApiKey, 'revokedAt' | 'expiresAt'>, now = new Date()) =>
  !k.revokedAt && (!k.expiresAt || k.expiresAt.getTime() > now.getTime());

/**
 * The principal behind a key, or null for an unknown, revoked or expired key: the caller answers all three the same
 * way, so a response never tells a holder of an old key which of them it is.
 */
export async function resolveApiKey(orm: Orm, key: string): Promise<Principal | null> {
  if (!looksLikeApiKey(key)) return null;
  const em = orm.em.fork();
  const apiKey = await em.findOne(ApiKeyEntity, { keyHash: hashApiKey(key), revokedAt: null });
  if (!apiKey || !isActiveKey(apiKey)) return null;
  const tenant = await em.findOne(TenantEntity, { id: apiKey.tenantId });
  if (!tenant) return null;
  // Throttled so a busy client does not turn every read into a write.
  if (!apiKey.lastUsedAt || Date.now() - apiKey.lastUsedAt.getTime() > 60_000) {
    await em.nativeUpdate(ApiKeyEntity, { id: apiKey.id }, { lastUsedAt: new Date() });
  }
  return {
    tenantId: tenant.id,
    tenantName: tenant.name,
    platformAdmin: tenant.platform && apiKey.role === 'admin',
    role: apiKey.role,
    via: 'key',
    keyId: apiKey.id,
    keyName: apiKey.name,
    keyPrefix: apiKey.prefix,
    userId: null,
    userEmail: null,
    sessionId: null,
  };
}

type TenantWithKey = { tenantId: string; keyId: string; key: string };
type NewTenant = { tenantName: string; keyName: string; role: Role; key?: string; platform?: boolean };

async function insertTenantWithKey(em: EntityManager, opts: NewTenant): Promise<TenantWithKey> {
  // No ORM relation links the two, so the tenant is flushed first for the foreign key.
  const tenant = em.create(TenantEntity, { id: randomUUID(), name: opts.tenantName, platform: opts.platform ?? false });
  await em.flush();
  return insertApiKey(em, { tenantId: tenant.id, keyName: opts.keyName, role: opts.role, key: opts.key });
}

export interface NewApiKey {
  tenantId: string;
  keyName: string;
  role: Role;
  key?: string;
  expiresAt?: Date | null;
  createdByKeyId?: string | null;
  createdByUserId?: string | null;
}

/** The one place a key row is written: only its hash and prefix are stored; the key is returned to be shown once. */
export async function insertApiKey(em: EntityManager, opts: NewApiKey): Promise<TenantWithKey> {
  const key = opts.key ?? generateApiKey();
  const apiKey = em.create(ApiKeyEntity, {
    id: randomUUID(),
    tenantId: opts.tenantId,
    name: opts.keyName,
    prefix: keyPrefix(key),
    keyHash: hashApiKey(key),
    role: opts.role,
    expiresAt: opts.expiresAt ?? null,
    createdByKeyId: opts.createdByKeyId ?? null,
    createdByUserId: opts.createdByUserId ?? null,
  });
  await em.flush();
  return { tenantId: opts.tenantId, keyId: apiKey.id, key };
}

export function createTenantWithKey(orm: Orm, opts: NewTenant): Promise<TenantWithKey> {
  return orm.em.fork().transactional((em) => insertTenantWithKey(em, opts));
}

/** Another key for an existing tenant (each key has its own role). */
export function createApiKey(orm: Orm, opts: NewApiKey): Promise<TenantWithKey> {
  return orm.em.fork().transactional((em) => insertApiKey(em, opts));
}

/**
 * On the very first start (no tenant yet) creates the admin tenant and its admin key, under an advisory lock so
 * several processes starting on an empty database create one. Returns the key only then, and `generated` tells
 * whether it was made here (to be shown once) or preset by BOOTSTRAP_ADMIN_KEY (never echoed).
 */
export async function ensureBootstrapAdmin(
  orm: Orm,
  presetKey?: string,
): Promise<{ key: string; tenantId: string; generated: boolean } | null> {
  return orm.em.fork().transactional(async (em) => {
    await em
      .getConnection()
      .execute(
        `select pg_advisory_xact_lock(hashtext('beyondcloud.bootstrap'))`,
        [],
        'all',
        em.getTransactionContext(),
      );
    if ((await em.count(TenantEntity, {})) > 0) return null;
    const created = await insertTenantWithKey(em, {
      tenantName: 'admin',
      keyName: 'bootstrap',
      role: 'admin',
      key: presetKey,
      platform: true,
    });
    return { key: created.key, tenantId: created.tenantId, generated: !presetKey };
  });
}
