import { Migration } from '@mikro-orm/migrations';

/**
 * Per-collection choice to pack consecutive short sections into one chunk (lib/ingest/chunk/). Collections that
 * exist already keep one chunk per section, so their re-ingested documents chunk as before; new ones pack by default.
 */
export class Migration20261125050000_combine_sections extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table collections add column combine_sections boolean not null default false;`);
    this.addSql(`alter table collections alter column combine_sections set default true;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table collections drop column combine_sections;`);
  }
}
