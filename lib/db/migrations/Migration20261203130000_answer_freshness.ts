import { Migration } from '@mikro-orm/migrations';

/**
 * Answers checked again after a document they cited changed (workflows/recheck-answers.ts): `current`, `stale` or
 * `unsupported_now`, when, and why; and the index that finds an answer's cited documents without a scan.
 */
export class Migration20261203130000_answer_freshness extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table answers
      add column freshness text null check (freshness in ('current', 'stale', 'unsupported_now')),
      add column freshness_checked_at timestamptz null,
      add column freshness_detail jsonb null;`);
    this.addSql(`create index answers_freshness_idx on answers (tenant_id, freshness) where freshness is not null;`);
    this.addSql(
      `create index answers_result_citations_idx on answers using gin ((result -> 'citations') jsonb_path_ops);`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists answers_result_citations_idx;`);
    this.addSql(`drop index if exists answers_freshness_idx;`);
    this.addSql(
      `alter table answers drop column freshness, drop column freshness_checked_at, drop column freshness_detail;`,
    );
  }
}
