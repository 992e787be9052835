import { Migration } from '@mikro-orm/migrations';

/** The advisory lock space of the per-collection lock below (any constant no other lock uses). */
const LOCK_SPACE = 7_210_001;

/**
 * Each collection's word statistics for the full-text side of retrieval (textSearchSql, lib/rag/retrieve.ts): how
 * many of its chunks contain each lexeme. A search used to count them from the GIN index for every word of every
 * question (a bitmap and up to 2,000 heap rows per word, about half of the full-text side's time); it now reads them.
 *
 * Kept by statement-level triggers on `chunks` with transition tables, so every path that writes or removes chunks
 * keeps them right without knowing of them: ingestion, re-ingestion, deleting a document, a collection or a tenant
 * (cascades fire the triggers too), retention. One collection's counts change in one transaction at a time.
 */
export class Migration20261204120000_collection_terms extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table collection_terms (
      collection_id uuid not null references collections (id) on delete cascade,
      lexeme text not null,
      tenant_id uuid not null references tenants (id) on delete cascade,
      df integer not null,
      primary key (collection_id, lexeme)
    );`);
    // One collection's counts are written by one transaction at a time (an advisory lock per collection, taken in
    // collection order): a re-ingestion deletes and inserts chunks in one transaction, and two of them taking the
    // same words' rows in two passes could otherwise deadlock.
    this.addSql(`create or replace function collection_terms_lock(ids uuid[]) returns void language sql as $$
      select pg_advisory_xact_lock(${LOCK_SPACE}, hashtext(id::text)) from unnest(ids) as id order by id;
    $$;`);
    this.addSql(`create or replace function collection_terms_add() returns trigger language plpgsql as $$
      begin
        perform collection_terms_lock(array(select distinct collection_id from new_rows));
        insert into collection_terms (collection_id, lexeme, tenant_id, df)
        select n.collection_id, l.lexeme, min(n.tenant_id::text)::uuid, count(*)::int
          from new_rows n cross join lateral unnest(tsvector_to_array(n.tsv)) as l(lexeme)
         group by n.collection_id, l.lexeme
        on conflict (collection_id, lexeme) do update set df = collection_terms.df + excluded.df;
        return null;
      end $$;`);
    // A word no chunk has any more keeps its row at 0 (the search skips it): deleting it too would mean a second
    // statement or a scan of the collection's words.
    this.addSql(`create or replace function collection_terms_remove() returns trigger language plpgsql as $$
      begin
        perform collection_terms_lock(array(select distinct collection_id from old_rows));
        update collection_terms t set df = greatest(t.df - g.n, 0)
          from (select o.collection_id, l.lexeme, count(*)::int as n
                  from old_rows o cross join lateral unnest(tsvector_to_array(o.tsv)) as l(lexeme)
                 group by o.collection_id, l.lexeme) g
         where t.collection_id = g.collection_id and t.lexeme = g.lexeme;
        return null;
      end $$;`);
    this.addSql(`create trigger chunks_terms_insert after insert on chunks
      referencing new table as new_rows for each statement execute function collection_terms_add();`);
    this.addSql(`create trigger chunks_terms_delete after delete on chunks
      referencing old table as old_rows for each statement execute function collection_terms_remove();`);
    this.addSql(`create trigger chunks_terms_update_old after update on chunks
      referencing old table as old_rows for each statement execute function collection_terms_remove();`);
    this.addSql(`create trigger chunks_terms_update_new after update on chunks
      referencing new table as new_rows for each statement execute function collection_terms_add();`);
    this.addSql(`insert into collection_terms (collection_id, lexeme, tenant_id, df)
      select c.collection_id, l.lexeme, min(c.tenant_id::text)::uuid, count(*)::int
        from chunks c cross join lateral unnest(tsvector_to_array(c.tsv)) as l(lexeme)
       group by c.collection_id, l.lexeme;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists chunks_terms_insert on chunks;`);
    this.addSql(`drop trigger if exists chunks_terms_delete on chunks;`);
    this.addSql(`drop trigger if exists chunks_terms_update_old on chunks;`);
    this.addSql(`drop trigger if exists chunks_terms_update_new on chunks;`);
    this.addSql(`drop function if exists collection_terms_add();`);
    this.addSql(`drop function if exists collection_terms_remove();`);
    this.addSql(`drop function if exists collection_terms_lock(uuid[]);`);
    this.addSql(`drop table if exists collection_terms;`);
  }
}
