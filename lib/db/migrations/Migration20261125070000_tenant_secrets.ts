import { Migration } from '@mikro-orm/migrations';

/**
 * Tenant secrets: what a tenant's MCP servers name as `secret:<name>`, encrypted at rest (AES-256-GCM under the
 * platform key); tenants never reach the platform's environment, files or Vault paths.
 */
export class Migration20261125070000_tenant_secrets extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table tenant_secrets (
      id uuid primary key,
      tenant_id uuid not null references tenants (id) on delete cascade,
      name text not null check (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$'),
      key_id text not null,
      nonce bytea not null check (octet_length(nonce) = 12),
      ciphertext bytea not null,
      auth_tag bytea not null check (octet_length(auth_tag) = 16),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (tenant_id, name)
    );`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table tenant_secrets;`);
  }
}
