import { Migration } from '@mikro-orm/migrations';

/**
 * The tenant's retention ages (lib/settings), and the indexes the retention job deletes by: each kind is deleted per
 * tenant, oldest first, below a cutoff. answers (tenant_id, created_at), llm_calls (tenant_id, created_at),
 * audit_log (tenant_id, at) and conversations (tenant_id, updated_at) have theirs already.
 */
export class Migration20261203100000_retention extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table tenant_settings add column retention jsonb not null default '{}'::jsonb check (jsonb_typeof(retention) = 'object');`,
    );
    this.addSql(`create index run_events_tenant_created_idx on run_events (tenant_id, created_at);`);
    this.addSql(`create index spans_tenant_start_idx on spans (tenant_id, start_time);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists spans_tenant_start_idx;`);
    this.addSql(`drop index if exists run_events_tenant_created_idx;`);
    this.addSql(`alter table tenant_settings drop column retention;`);
  }
}
