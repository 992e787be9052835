import { Migration } from '@mikro-orm/migrations';

/**
 * Versioned prompts per tenant (lib/prompts): the versions a tenant added (version 1 of each name is the shipped text
 * and is not stored, so stored versions start at 2) and the labels pointing at versions. Names are the prompt names
 * of lib/contracts PROMPT_NAMES; a label's version is not a foreign key because version 1 has no row.
 */
export class Migration20261203140000_prompts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table prompt_versions (
      tenant_id uuid not null references tenants (id) on delete cascade,
      name text not null check (name ~ '^[a-z][a-z_]{0,39}$'),
      version integer not null check (version >= 2),
      text text not null check (length(text) between 1 and 20000),
      note text check (length(note) <= 2000),
      created_by text not null,
      created_at timestamptz not null default now(),
      primary key (tenant_id, name, version)
    );`);
    this.addSql(`create table prompt_labels (
      tenant_id uuid not null references tenants (id) on delete cascade,
      name text not null check (name ~ '^[a-z][a-z_]{0,39}$'),
      label text not null check (label ~ '^[a-z0-9_-]{1,40}$'),
      version integer not null check (version >= 1),
      updated_by text not null,
      updated_at timestamptz not null default now(),
      primary key (tenant_id, name, label)
    );`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table prompt_labels;`);
    this.addSql(`drop table prompt_versions;`);
  }
}
