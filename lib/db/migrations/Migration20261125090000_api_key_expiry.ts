import { Migration } from '@mikro-orm/migrations';

/**
 * Keys managed through the API: an optional expiry (a key past it is refused like a revoked one) and the key that
 * created it, for the audit of who handed out which key.
 */
export class Migration20261125090000_api_key_expiry extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table api_keys add column expires_at timestamptz null;`);
    this.addSql(
      `alter table api_keys add column created_by_key_id uuid null references api_keys (id) on delete set null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table api_keys drop column created_by_key_id;`);
    this.addSql(`alter table api_keys drop column expires_at;`);
  }
}
