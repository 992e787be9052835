import { Migration } from '@mikro-orm/migrations';

/**
 * Eval datasets (issue 19): a dataset, its versions and each version's items. Versions are immutable: an edit writes
 * a new version with all its items; an item's id stays the same across versions (experiments pair items by it).
 * Bounds: 10,000 items per version.
 */
export class Migration20261203150000_datasets extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table datasets (
      id uuid primary key,
      tenant_id uuid not null references tenants (id) on delete cascade,
      name text not null check (length(name) between 1 and 200),
      description text not null default '',
      latest_version integer not null check (latest_version >= 1),
      created_by text not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (tenant_id, name)
    );`);
    this.addSql(`create table dataset_versions (
      dataset_id uuid not null references datasets (id) on delete cascade,
      version integer not null check (version >= 1),
      tenant_id uuid not null references tenants (id) on delete cascade,
      item_count integer not null check (item_count between 0 and 10000),
      note text not null default '',
      created_by text not null,
      created_at timestamptz not null default now(),
      primary key (dataset_id, version)
    );`);
    this.addSql(`create table dataset_items (
      dataset_id uuid not null references datasets (id) on delete cascade,
      version integer not null,
      ordinal integer not null check (ordinal between 0 and 9999),
      tenant_id uuid not null references tenants (id) on delete cascade,
      item_id text not null,
      item jsonb not null check (jsonb_typeof(item) = 'object' and item ->> 'id' = item_id),
      primary key (dataset_id, version, ordinal),
      unique (dataset_id, version, item_id),
      foreign key (dataset_id, version) references dataset_versions (dataset_id, version) on delete cascade
    );`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table dataset_items;`);
    this.addSql(`drop table dataset_versions;`);
    this.addSql(`drop table datasets;`);
  }
}
