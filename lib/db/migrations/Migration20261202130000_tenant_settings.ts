import { Migration } from '@mikro-orm/migrations';

/** A tenant's settings over the platform's configuration: its default model per purpose (lib/settings). */
export class Migration20261202130000_tenant_settings extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table tenant_settings (
      tenant_id uuid primary key references tenants (id) on delete cascade,
      models jsonb not null default '{}'::jsonb check (jsonb_typeof(models) = 'object'),
      updated_at timestamptz not null default now(),
      updated_by text not null
    );`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table tenant_settings;`);
  }
}
