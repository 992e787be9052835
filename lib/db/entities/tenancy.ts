import { randomUUID } from 'node:crypto';
import { EntitySchema, type Opt } from '@mikro-orm/core';

export type Role = 'admin' | 'operator' | 'viewer';
/** Highest first: each role can do everything of the ones after it. */
export const ROLES = ['admin', 'operator', 'viewer'] as const satisfies readonly Role[];

export interface Tenant {
  id: string;
  name: string;
  createdAt: Opt<Date>;
}

export const TenantEntity = new EntitySchema<Tenant>({
  name: 'Tenant',
  tableName: 'tenants',
  properties: {
    id: { type: 'uuid', primary: true, onCreate: () => randomUUID() },
    name: { type: 'text' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
  },
});

export interface ApiKey {
  id: string;
  tenantId: string;
  name: string;
  /** The first characters of the key, shown in listings so a key can be recognised without revealing it. */
  prefix: string;
  /** sha256 of the whole key; the key itself is never stored. */
  keyHash: string;
  role: Role;
  createdAt: Opt<Date>;
  lastUsedAt?: Date | null;
  revokedAt?: Date | null;
  /** Past it the key is refused exactly like a revoked one; null never expires. */
  expiresAt?: Date | null;
  /** The key that created this one through the API; null for bootstrap and provisioned keys. */
  createdByKeyId?: string | null;
}

export const ApiKeyEntity = new EntitySchema<ApiKey>({
  name: 'ApiKey',
  tableName: 'api_keys',
  properties: {
    id: { type: 'uuid', primary: true, onCreate: () => randomUUID() },
    tenantId: { type: 'uuid' },
    name: { type: 'text' },
    prefix: { type: 'text' },
    keyHash: { type: 'text' },
    role: { type: 'text' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    lastUsedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    revokedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    expiresAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    createdByKeyId: { type: 'uuid', nullable: true },
  },
});
