import { Migration } from '@mikro-orm/migrations';

/**
 * Per-tenant quota overrides (a platform admin's, over the QUOTA_* defaults) and the per-minute counters of runs
 * started, shared by every API process.
 */
export class Migration20261202120000_quotas extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table tenant_quotas (
      tenant_id uuid primary key references tenants (id) on delete cascade,
      limits jsonb not null default '{}'::jsonb check (jsonb_typeof(limits) = 'object'),
      updated_at timestamptz not null default now(),
      updated_by text not null
    );`);
    this.addSql(`create table quota_run_windows (
      tenant_id uuid not null references tenants (id) on delete cascade,
      window_start timestamptz not null,
      runs integer not null check (runs >= 0),
      primary key (tenant_id, window_start)
    );`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table quota_run_windows;`);
    this.addSql(`drop table tenant_quotas;`);
  }
}
