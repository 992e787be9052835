import { Migration } from '@mikro-orm/migrations';

/**
 * The append-only audit log. A trigger refuses every UPDATE, and every DELETE except the retention job's (which sets
 * `beyondcloud.audit_prune` for its own transaction) and the cascade from a deleted tenant; TRUNCATE is refused too.
 * A key's use is written at most once per clock hour: the partial unique index makes that hold across API processes.
 */
export class Migration20261202110000_audit extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table audit_log (
      id bigint generated always as identity primary key,
      tenant_id uuid null references tenants (id) on delete cascade,
      at timestamptz not null default now(),
      actor_type text not null check (actor_type in ('user', 'key', 'anonymous')),
      actor_id text null,
      actor_label text null,
      via text not null check (via in ('key', 'session', 'mcp', 'none')),
      action text not null,
      method text not null,
      route text null,
      target_ids jsonb not null default '{}',
      status integer not null,
      outcome text not null check (outcome in ('success', 'failure', 'denied')),
      ip text null,
      user_agent text null,
      trace_id text null,
      mcp_tool text null,
      detail jsonb not null default '{}'
    );`);
    this.addSql(`create index audit_log_tenant_id on audit_log (tenant_id, id desc);`);
    this.addSql(`create index audit_log_tenant_at on audit_log (tenant_id, at);`);
    this.addSql(`create index audit_log_tenant_actor on audit_log (tenant_id, actor_id, id desc);`);
    this.addSql(`create index audit_log_tenant_action on audit_log (tenant_id, action, id desc);`);
    this.addSql(
      `create unique index audit_log_key_use_hour on audit_log (actor_id, (detail ->> 'hour')) where action = 'key.use';`,
    );
    this.addSql(`create function audit_log_append_only() returns trigger language plpgsql as $$
      begin
        if tg_op = 'DELETE' then
          if coalesce(current_setting('beyondcloud.audit_prune', true), '') = 'on' then
            return old;
          end if;
          -- The cascade from a deleted tenant: by then the tenant row is gone.
          if old.tenant_id is not null and not exists (select 1 from tenants t where t.id = old.tenant_id) then
            return old;
          end if;
        end if;
        raise exception 'audit_log is append-only: % is not allowed', tg_op using errcode = 'insufficient_privilege';
      end
    $$;`);
    this.addSql(
      `create trigger audit_log_append_only before update or delete on audit_log for each row execute function audit_log_append_only();`,
    );
    this.addSql(
      `create trigger audit_log_no_truncate before truncate on audit_log for each statement execute function audit_log_append_only();`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table audit_log;`);
    this.addSql(`drop function audit_log_append_only();`);
  }
}
