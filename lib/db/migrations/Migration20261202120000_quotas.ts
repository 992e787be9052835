import { Migration } from '@mikro-orm/migrations';

/** Per-tenant quota overrides and usage counters (filled in by the quotas slice). */
export class Migration20261202120000_quotas extends Migration {
  override async up(): Promise<void> {}

  override async down(): Promise<void> {}
}
