import { Migration } from '@mikro-orm/migrations';

/**
 * Answering: the result record of every answer run, chat conversations and their messages, and the run event log
 * that Server-Sent Events replay (a reconnecting client resumes after the last event id it saw).
 */
export class Migration20261125020000_answers extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table conversations (
      id uuid primary key,
      tenant_id uuid not null references tenants (id) on delete cascade,
      title text,
      collection_ids uuid[] not null,
      options jsonb not null default '{}',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );`);
    this.addSql(`create index conversations_tenant_idx on conversations (tenant_id, updated_at desc);`);

    this.addSql(`create table answers (
      id uuid primary key,
      tenant_id uuid not null references tenants (id) on delete cascade,
      workflow_id text not null unique,
      conversation_id uuid references conversations (id) on delete cascade,
      question text not null,
      status text not null,
      answer text,
      grounding_score double precision,
      result jsonb,
      created_at timestamptz not null default now(),
      completed_at timestamptz
    );`);
    this.addSql(`create index answers_tenant_created_idx on answers (tenant_id, created_at desc);`);

    this.addSql(`create table messages (
      id uuid primary key,
      tenant_id uuid not null references tenants (id) on delete cascade,
      conversation_id uuid not null references conversations (id) on delete cascade,
      role text not null check (role in ('user', 'assistant')),
      content text not null,
      answer_id uuid,
      created_at timestamptz not null default now(),
      unique (conversation_id, answer_id, role)
    );`);
    this.addSql(`create index messages_conversation_idx on messages (conversation_id, created_at);`);

    this.addSql(`create table run_events (
      id bigserial primary key,
      tenant_id uuid not null references tenants (id) on delete cascade,
      workflow_id text not null,
      type text not null,
      data jsonb not null default '{}',
      created_at timestamptz not null default now()
    );`);
    this.addSql(`create index run_events_workflow_idx on run_events (workflow_id, id);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table run_events;`);
    this.addSql(`drop table messages;`);
    this.addSql(`drop table answers;`);
    this.addSql(`drop table conversations;`);
  }
}
