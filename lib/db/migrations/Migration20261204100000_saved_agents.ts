import { Migration } from '@mikro-orm/migrations';

/**
 * Saved agents (issue 20): a tenant's named agent definitions. The name is how the OpenAI-compatible endpoint serves
 * one (`agent/<name>`), so it is unique per tenant and kept to the API's pattern; the definition is one JSON object.
 */
export class Migration20261204100000_saved_agents extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table saved_agents (
      id uuid primary key,
      tenant_id uuid not null references tenants (id) on delete cascade,
      name text not null check (name ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
      description text null,
      config jsonb not null check (jsonb_typeof(config) = 'object'),
      created_by text not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (tenant_id, name)
    );`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table saved_agents;`);
  }
}
