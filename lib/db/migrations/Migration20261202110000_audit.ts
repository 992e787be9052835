import { Migration } from '@mikro-orm/migrations';

/** The append-only audit log (filled in by the audit slice). */
export class Migration20261202110000_audit extends Migration {
  override async up(): Promise<void> {}

  override async down(): Promise<void> {}
}
