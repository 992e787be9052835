import { Migration } from '@mikro-orm/migrations';

/**
 * Counterfactual replays of past answers (issue 19): the replay with its setup and summary, and one row per answer
 * replayed (old vs new, the claim and citation changes, the deltas). An item is written by an activity that may run
 * again, so its key is (replay, index) and writes are upserts.
 */
export class Migration20261203170000_replays extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table replays (
      id uuid primary key,
      tenant_id uuid not null references tenants (id) on delete cascade,
      name text not null,
      mode text not null check (mode in ('generation', 'retrieval')),
      setup jsonb not null check (jsonb_typeof(setup) = 'object'),
      answer_ids jsonb not null check (jsonb_typeof(answer_ids) = 'array'),
      status text not null default 'running' check (status in ('running', 'completed', 'failed', 'canceled')),
      summary jsonb null,
      error text null,
      workflow_id text not null unique,
      created_by text not null,
      created_at timestamptz not null default now(),
      completed_at timestamptz null
    );`);
    this.addSql(`create index replays_tenant_created_idx on replays (tenant_id, created_at desc);`);
    this.addSql(`create table replay_items (
      tenant_id uuid not null references tenants (id) on delete cascade,
      replay_id uuid not null references replays (id) on delete cascade,
      idx integer not null,
      answer_id uuid not null,
      status text not null check (status in ('completed', 'failed')),
      result jsonb not null check (jsonb_typeof(result) = 'object'),
      updated_at timestamptz not null default now(),
      primary key (replay_id, idx)
    );`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table replay_items;`);
    this.addSql(`drop table replays;`);
  }
}
