import { Migration } from '@mikro-orm/migrations';

/** Agents over MCP: registered servers, their discovered tools pinned by hash, and the tool-call ledger. */
export class Migration20261125030000_mcp extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table mcp_servers (
      id uuid primary key,
      tenant_id uuid not null references tenants (id) on delete cascade,
      name text not null check (name ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
      transport text not null check (transport in ('http', 'stdio')),
      url text,
      stdio_name text,
      headers jsonb not null default '{}',
      bearer_secret text,
      enabled boolean not null default true,
      last_discovered_at timestamptz,
      last_error text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (tenant_id, name),
      check ((transport = 'http' and url is not null and stdio_name is null) or (transport = 'stdio' and stdio_name is not null and url is null))
    );`);

    // One row per tool a server offered; `definition_hash` is the latest seen, `approved_hash` the one a person
    // approved. They differ after a server changed the tool (a rug pull): the tool is refused until re-approved.
    this.addSql(`create table mcp_tools (
      id uuid primary key,
      tenant_id uuid not null references tenants (id) on delete cascade,
      server_id uuid not null references mcp_servers (id) on delete cascade,
      name text not null,
      definition jsonb not null,
      definition_hash text not null,
      approved_definition jsonb,
      approved_hash text,
      status text not null default 'pending' check (status in ('pending', 'approved', 'changed', 'disabled', 'removed')),
      sensitive boolean not null default true,
      idempotent boolean not null default false,
      timeout_ms integer check (timeout_ms is null or timeout_ms between 1000 and 3600000),
      max_attempts integer not null default 3 check (max_attempts between 1 and 20),
      approved_by text,
      approved_at timestamptz,
      discovered_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (server_id, name)
    );`);
    this.addSql(`create index mcp_tools_tenant_idx on mcp_tools (tenant_id, server_id);`);

    // The side-effect guard of agent tool calls: a retried activity finds the call it already made.
    this.addSql(`create table agent_tool_calls (
      id uuid primary key,
      tenant_id uuid not null references tenants (id) on delete cascade,
      workflow_id text not null,
      call_key text not null,
      server_id uuid not null,
      tool_name text not null,
      arguments jsonb not null default '{}',
      status text not null check (status in ('started', 'completed', 'error')),
      attempt integer not null,
      result jsonb,
      error text,
      started_at timestamptz not null default now(),
      completed_at timestamptz,
      unique (workflow_id, call_key)
    );`);
    this.addSql(`create index agent_tool_calls_tenant_idx on agent_tool_calls (tenant_id, workflow_id);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table agent_tool_calls;`);
    this.addSql(`drop table mcp_tools;`);
    this.addSql(`drop table mcp_servers;`);
  }
}
