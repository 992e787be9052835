import { Migration } from '@mikro-orm/migrations';

/**
 * A tenant's schedules (api/schedules): the catalogue the API lists and names, next to the Temporal Schedule each row
 * owns (`schedule:<tenant>:<id>`), which holds the spec, policies, state and history.
 */
export class Migration20261203120000_schedules extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table schedules (
      id uuid primary key,
      tenant_id uuid not null references tenants (id) on delete cascade,
      name text not null,
      description text not null default '',
      job jsonb not null check (jsonb_typeof(job) = 'object'),
      spec jsonb not null check (jsonb_typeof(spec) = 'object'),
      created_by text not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      updated_by text not null,
      unique (tenant_id, name)
    );`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table schedules;`);
  }
}
