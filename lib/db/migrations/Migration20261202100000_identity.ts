import { Migration } from '@mikro-orm/migrations';

/**
 * Users, their memberships in tenants, console sessions, invitations and single sign-on identities; the platform
 * tenant (the one made at first start) is marked, and a key records the user who created it.
 */
export class Migration20261202100000_identity extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table tenants add column platform boolean not null default false;`);
    this.addSql(
      `update tenants set platform = true where id = (select id from tenants order by created_at, id limit 1);`,
    );
    this.addSql(`create unique index tenants_one_platform on tenants (platform) where platform;`);
    this.addSql(`create table users (
      id uuid primary key,
      email text not null,
      display_name text not null,
      password_hash text null,
      created_at timestamptz not null default now(),
      password_changed_at timestamptz null,
      disabled_at timestamptz null,
      failed_logins integer not null default 0,
      locked_until timestamptz null,
      last_login_at timestamptz null,
      constraint users_email_lower check (email = lower(email))
    );`);
    this.addSql(`create unique index users_email_unique on users (email);`);
    this.addSql(`create table user_identities (
      id uuid primary key,
      user_id uuid not null references users (id) on delete cascade,
      issuer text not null,
      subject text not null,
      created_at timestamptz not null default now(),
      last_login_at timestamptz null
    );`);
    this.addSql(`create unique index user_identities_issuer_subject on user_identities (issuer, subject);`);
    this.addSql(`create index user_identities_user on user_identities (user_id);`);
    this.addSql(`create table tenant_members (
      tenant_id uuid not null references tenants (id) on delete cascade,
      user_id uuid not null references users (id) on delete cascade,
      role text not null check (role in ('admin', 'operator', 'viewer')),
      created_at timestamptz not null default now(),
      added_by_user_id uuid null references users (id) on delete set null,
      added_by_key_id uuid null references api_keys (id) on delete set null,
      primary key (tenant_id, user_id)
    );`);
    this.addSql(`create index tenant_members_user on tenant_members (user_id);`);
    this.addSql(`create table user_sessions (
      id uuid primary key,
      token_hash text not null,
      csrf_hash text not null,
      user_id uuid not null references users (id) on delete cascade,
      tenant_id uuid not null references tenants (id) on delete cascade,
      created_at timestamptz not null default now(),
      last_seen_at timestamptz not null default now(),
      expires_at timestamptz not null,
      revoked_at timestamptz null,
      method text not null,
      ip text null,
      user_agent text null
    );`);
    this.addSql(`create unique index user_sessions_token on user_sessions (token_hash);`);
    this.addSql(`create index user_sessions_user on user_sessions (user_id);`);
    this.addSql(`create table invitations (
      id uuid primary key,
      tenant_id uuid not null references tenants (id) on delete cascade,
      email text not null check (email = lower(email)),
      role text not null check (role in ('admin', 'operator', 'viewer')),
      token_hash text not null,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      accepted_at timestamptz null,
      revoked_at timestamptz null,
      created_by_user_id uuid null references users (id) on delete set null,
      created_by_key_id uuid null references api_keys (id) on delete set null
    );`);
    this.addSql(`create unique index invitations_token on invitations (token_hash);`);
    this.addSql(`create index invitations_tenant on invitations (tenant_id);`);
    this.addSql(
      `alter table api_keys add column created_by_user_id uuid null references users (id) on delete set null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table api_keys drop column created_by_user_id;`);
    this.addSql(`drop table invitations;`);
    this.addSql(`drop table user_sessions;`);
    this.addSql(`drop table tenant_members;`);
    this.addSql(`drop table user_identities;`);
    this.addSql(`drop table users;`);
    this.addSql(`drop index tenants_one_platform;`);
    this.addSql(`alter table tenants drop column platform;`);
  }
}
