import { randomUUID } from 'node:crypto';
import { EntitySchema, type Opt } from '@mikro-orm/core';

/**
 * A tenant's own secret, which its MCP servers name as `secret:<name>`. Only the AES-256-GCM ciphertext is stored
 * (lib/secrets/tenant.ts), sealed under the platform's TENANT_SECRETS_KEY with the tenant and name as associated data,
 * so a row copied to another tenant or name does not open.
 */
export interface TenantSecretRow {
  id: string;
  tenantId: string;
  name: string;
  /** Fingerprint of the key the value was sealed under (not the key). */
  keyId: string;
  nonce: Buffer;
  ciphertext: Buffer;
  authTag: Buffer;
  createdAt: Opt<Date>;
  updatedAt: Opt<Date>;
}

export const TenantSecretEntity = new EntitySchema<TenantSecretRow>({
  name: 'TenantSecret',
  tableName: 'tenant_secrets',
  properties: {
    id: { type: 'uuid', primary: true, onCreate: () => randomUUID() },
    tenantId: { type: 'uuid' },
    name: { type: 'text' },
    keyId: { type: 'text' },
    nonce: { type: 'blob', columnType: 'bytea' },
    ciphertext: { type: 'blob', columnType: 'bytea' },
    authTag: { type: 'blob', columnType: 'bytea' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    updatedAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date(), onUpdate: () => new Date() },
  },
});
