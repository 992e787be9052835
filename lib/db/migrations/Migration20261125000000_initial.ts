import { Migration } from '@mikro-orm/migrations';

/** Schema v1: tenancy, knowledge base (pgvector + full text), LLM usage, spans, self-test probes. */
export class Migration20261125000000_initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create extension if not exists vector;`);

    this.addSql(`create table tenants (
      id uuid primary key,
      name text not null,
      created_at timestamptz not null default now()
    );`);

    this.addSql(`create table api_keys (
      id uuid primary key,
      tenant_id uuid not null references tenants (id) on delete cascade,
      name text not null,
      prefix text not null,
      key_hash text not null unique,
      role text not null check (role in ('admin', 'operator', 'viewer')),
      created_at timestamptz not null default now(),
      last_used_at timestamptz,
      revoked_at timestamptz
    );`);
    this.addSql(`create index api_keys_tenant_idx on api_keys (tenant_id);`);

    this.addSql(`create table collections (
      id uuid primary key,
      tenant_id uuid not null references tenants (id) on delete cascade,
      name text not null,
      description text,
      embedding_model text not null,
      embedding_dim integer not null check (embedding_dim between 1 and 16000),
      chunk_size integer not null default 800 check (chunk_size > 0),
      chunk_overlap integer not null default 100 check (chunk_overlap >= 0),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (tenant_id, name)
    );`);

    this.addSql(`create table documents (
      id uuid primary key,
      tenant_id uuid not null references tenants (id) on delete cascade,
      collection_id uuid not null references collections (id) on delete cascade,
      source_kind text not null check (source_kind in ('upload', 'url', 'folder')),
      source text not null,
      title text,
      mime_type text,
      content_hash text,
      size_bytes bigint,
      status text not null default 'pending' check (status in ('pending', 'processing', 'ready', 'failed', 'skipped')),
      error text,
      chunk_count integer not null default 0,
      metadata jsonb not null default '{}',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (collection_id, source)
    );`);
    this.addSql(`create index documents_tenant_collection_idx on documents (tenant_id, collection_id, status);`);

    this.addSql(`create table chunks (
      id uuid primary key,
      tenant_id uuid not null references tenants (id) on delete cascade,
      collection_id uuid not null references collections (id) on delete cascade,
      document_id uuid not null references documents (id) on delete cascade,
      ordinal integer not null,
      text text not null,
      content_hash text not null,
      heading_path text[] not null default '{}',
      page integer,
      start_offset integer,
      end_offset integer,
      tokens integer not null,
      embedding vector,
      embedding_dim integer,
      tsv tsvector generated always as (to_tsvector('english', text)) stored,
      metadata jsonb not null default '{}',
      created_at timestamptz not null default now(),
      unique (document_id, ordinal),
      check (embedding is null or vector_dims(embedding) = embedding_dim)
    );`);
    this.addSql(`create index chunks_tenant_collection_idx on chunks (tenant_id, collection_id);`);
    this.addSql(`create index chunks_tsv_gin_idx on chunks using gin (tsv);`);
    // One partial HNSW index per embedding dimension in use: 384 (local provider), 1536 (OpenAI text-embedding-3-small
    // and ada-002). Queries cast embedding::vector(N) and filter embedding_dim = N to use them.
    for (const dim of [384, 1536]) {
      this.addSql(
        `create index chunks_embedding_${dim}_hnsw_idx on chunks using hnsw ((embedding::vector(${dim})) vector_cosine_ops) where embedding_dim = ${dim};`,
      );
    }

    this.addSql(`create table llm_calls (
      id uuid primary key,
      tenant_id uuid not null references tenants (id) on delete cascade,
      purpose text not null,
      provider text not null,
      model text not null,
      input_tokens integer not null default 0,
      output_tokens integer not null default 0,
      cost_usd numeric(14, 8) not null default 0,
      latency_ms integer not null,
      outcome text not null,
      error_type text,
      workflow_id text,
      run_id text,
      activity_id text,
      attempt integer,
      created_at timestamptz not null default now()
    );`);
    this.addSql(`create index llm_calls_tenant_created_idx on llm_calls (tenant_id, created_at);`);
    this.addSql(`create index llm_calls_workflow_idx on llm_calls (workflow_id, run_id);`);

    this.addSql(`create table spans (
      trace_id text not null,
      span_id text not null,
      parent_span_id text,
      tenant_id uuid references tenants (id) on delete cascade,
      name text not null,
      kind smallint not null,
      service text not null,
      start_time timestamptz not null,
      end_time timestamptz not null,
      duration_ms double precision not null,
      status_code smallint not null,
      status_message text,
      attributes jsonb not null default '{}',
      events jsonb not null default '[]',
      workflow_id text,
      run_id text,
      primary key (trace_id, span_id)
    );`);
    this.addSql(`create index spans_tenant_trace_idx on spans (tenant_id, trace_id);`);
    this.addSql(`create index spans_workflow_idx on spans (workflow_id);`);

    this.addSql(`create table system_probes (
      id uuid primary key,
      tenant_id uuid not null references tenants (id) on delete cascade,
      workflow_id text not null,
      run_id text not null,
      activity_id text not null,
      attempt integer not null,
      note text,
      created_at timestamptz not null default now(),
      unique (workflow_id, run_id, activity_id)
    );`);
  }

  override async down(): Promise<void> {
    for (const table of [
      'system_probes',
      'spans',
      'llm_calls',
      'chunks',
      'documents',
      'collections',
      'api_keys',
      'tenants',
    ]) {
      this.addSql(`drop table if exists ${table} cascade;`);
    }
  }
}
