import { Migration } from '@mikro-orm/migrations';

/**
 * Eval runs (issue 19): a configuration answered over a dataset version, one row per item with its scores, and
 * experiments comparing runs. A run keeps its results when its dataset is deleted (no foreign key to datasets).
 */
export class Migration20261203160000_evals extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table eval_runs (
      id uuid primary key,
      tenant_id uuid not null references tenants (id) on delete cascade,
      name text not null,
      dataset_id uuid not null,
      dataset_name text not null default '',
      dataset_version integer null,
      config jsonb not null check (jsonb_typeof(config) = 'object'),
      prompts jsonb not null default '[]',
      status text not null default 'running' check (status in ('running', 'completed', 'failed', 'canceled')),
      item_count integer null,
      aggregate jsonb null,
      error text null,
      workflow_id text not null unique,
      schedule_id text null,
      created_by text not null,
      created_at timestamptz not null default now(),
      completed_at timestamptz null
    );`);
    this.addSql(`create index eval_runs_tenant_created_idx on eval_runs (tenant_id, created_at desc);`);
    this.addSql(`create index eval_runs_dataset_idx on eval_runs (tenant_id, dataset_id, created_at desc);`);
    this.addSql(`create table eval_results (
      tenant_id uuid not null references tenants (id) on delete cascade,
      eval_run_id uuid not null references eval_runs (id) on delete cascade,
      idx integer not null,
      item_id text not null,
      question text not null,
      status text not null check (status in ('running', 'completed', 'failed')),
      answer_id uuid null,
      workflow_id text null,
      answer_status text null,
      verdicts jsonb null,
      metrics jsonb null,
      error text null,
      updated_at timestamptz not null default now(),
      primary key (eval_run_id, idx)
    );`);
    this.addSql(`create table experiments (
      id uuid primary key,
      tenant_id uuid not null references tenants (id) on delete cascade,
      name text not null,
      baseline_run_id uuid not null,
      run_ids uuid[] not null,
      created_by text not null,
      created_at timestamptz not null default now()
    );`);
    this.addSql(`create index experiments_tenant_created_idx on experiments (tenant_id, created_at desc);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table experiments;`);
    this.addSql(`drop table eval_results;`);
    this.addSql(`drop table eval_runs;`);
  }
}
