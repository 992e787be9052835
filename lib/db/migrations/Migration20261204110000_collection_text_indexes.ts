import { Migration } from '@mikro-orm/migrations';

/** Collections whose chunks get their own full-text index here (INGEST_VECTOR_INDEX_MIN_ROWS' default); later ones get theirs from ingestion. */
const MIN_ROWS = 10_000;

/**
 * A full-text (GIN) index per large collection beside its HNSW index (why: lib/ingest/vector-index.ts,
 * ensureCollectionTextIndex); the shared `chunks_tsv_gin_idx` stays for the others. The trigger that drops a
 * collection's HNSW index with the collection drops this one as well.
 */
export class Migration20261204110000_collection_text_indexes extends Migration {
  override async up(): Promise<void> {
    // The ids are collected first: CREATE INDEX cannot run while a loop's query still reads `chunks`.
    this.addSql(`do $$
      declare ids uuid[];
      begin
        select array_agg(co.id) into ids from collections co
         where (select count(*) from chunks ch where ch.collection_id = co.id) >= ${MIN_ROWS};
        for i in 1 .. coalesce(array_length(ids, 1), 0) loop
          execute format('create index if not exists %I on chunks using gin (tsv) where collection_id = %L',
                         'chunks_tsv_' || replace(ids[i]::text, '-', ''), ids[i]);
        end loop;
      end $$;`);
    this.addSql(`create or replace function drop_collection_vector_index() returns trigger language plpgsql as $$
      begin
        execute format('drop index if exists %I', 'chunks_hnsw_' || replace(old.id::text, '-', ''));
        execute format('drop index if exists %I', 'chunks_tsv_' || replace(old.id::text, '-', ''));
        return old;
      end $$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`create or replace function drop_collection_vector_index() returns trigger language plpgsql as $$
      begin
        execute format('drop index if exists %I', 'chunks_hnsw_' || replace(old.id::text, '-', ''));
        return old;
      end $$;`);
    this.addSql(`do $$
      declare i record;
      begin
        for i in select indexname from pg_indexes where tablename = 'chunks' and indexname ~ '^chunks_tsv_[0-9a-f]{32}$' loop
          execute format('drop index if exists %I', i.indexname);
        end loop;
      end $$;`);
  }
}
