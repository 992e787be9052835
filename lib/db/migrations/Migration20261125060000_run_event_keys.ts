import { Migration } from '@mikro-orm/migrations';

/**
 * Run events a workflow emits through an activity carry a key (run id, emission, position), so an activity that runs
 * again after a crash (its insert committed, its completion not recorded) does not write its events twice.
 */
export class Migration20261125060000_run_event_keys extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table run_events add column dedupe_key text;`);
    this.addSql(
      `create unique index run_events_dedupe_idx on run_events (workflow_id, dedupe_key) where dedupe_key is not null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists run_events_dedupe_idx;`);
    this.addSql(`alter table run_events drop column dedupe_key;`);
  }
}
