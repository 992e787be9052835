import { Migration } from '@mikro-orm/migrations';

/**
 * Answer ids are chosen by clients (`POST /v1/answers {"id"}`, conversation messages), so they are keyed per tenant:
 * with a global key another tenant's id collided, and the conflict told the caller that the id exists elsewhere.
 */
export class Migration20261125080000_tenant_scoped_answer_ids extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table answers drop constraint answers_pkey;`);
    this.addSql(`alter table answers add primary key (tenant_id, id);`);
  }

  override async down(): Promise<void> {
    // Fails if two tenants have used the same id since, which the global key cannot hold.
    this.addSql(`alter table answers drop constraint answers_pkey;`);
    this.addSql(`alter table answers add primary key (id);`);
  }
}
