import { Migration } from '@mikro-orm/migrations';

/** Ingestion: where a document's bytes are stored, and when it was last indexed. */
export class Migration20261125010000_ingest extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table documents add column blob_sha256 text;`);
    this.addSql(`alter table documents add column indexed_at timestamptz;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table documents drop column indexed_at;`);
    this.addSql(`alter table documents drop column blob_sha256;`);
  }
}
