import { Migration } from '@mikro-orm/migrations';

/**
 * Who asked for an answer (issue 19): a request or chat (`request`), an eval run (`eval`) or a replay (`replay`).
 * The answers list and datasets built from past answers keep to `request`.
 */
export class Migration20261203135000_answer_origin extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table answers
      add column origin text not null default 'request' check (origin in ('request', 'eval', 'replay'));`);
    this.addSql(`create index answers_origin_created_idx on answers (tenant_id, origin, created_at desc);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists answers_origin_created_idx;`);
    this.addSql(`alter table answers drop column origin;`);
  }
}
