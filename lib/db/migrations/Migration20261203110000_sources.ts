import { Migration } from '@mikro-orm/migrations';

/**
 * A collection's sources and what each sync saw of them: a document remembers the source it came from, its location
 * there, the validators that tell a change (ETag, Last-Modified; the content hash exists already), and which sync
 * run last took it with what outcome (so a retried or restarted sync repeats no completed document).
 * Chunks need no new index for deleting a document's chunks: unique (document_id, ordinal) leads with document_id.
 */
export class Migration20261203110000_sources extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table sources (
      id uuid primary key,
      tenant_id uuid not null references tenants (id) on delete cascade,
      collection_id uuid not null references collections (id) on delete cascade,
      kind text not null check (kind in ('urls', 'sitemap', 'folder')),
      name text not null,
      config jsonb not null,
      created_by text not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      last_sync jsonb
    );`);
    this.addSql(`create index sources_tenant_collection_idx on sources (tenant_id, collection_id);`);
    // A source's documents go with it (and their chunks with them).
    this.addSql(`alter table documents add column source_id uuid references sources (id) on delete cascade;`);
    this.addSql(`alter table documents add column source_location text;`);
    this.addSql(`alter table documents add column etag text;`);
    this.addSql(`alter table documents add column last_modified text;`);
    this.addSql(`alter table documents add column sync_run text;`);
    this.addSql(
      `alter table documents add column sync_outcome text check (sync_outcome in ('added', 'changed', 'unchanged', 'failed'));`,
    );
    this.addSql(`alter table documents add column sync_done boolean not null default false;`);
    this.addSql(
      `alter table documents add constraint documents_source_location_key unique (source_id, source_location);`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table documents drop constraint if exists documents_source_location_key;`);
    for (const column of [
      'sync_done',
      'sync_outcome',
      'sync_run',
      'last_modified',
      'etag',
      'source_location',
      'source_id',
    ])
      this.addSql(`alter table documents drop column if exists ${column};`);
    this.addSql(`drop table if exists sources;`);
  }
}
