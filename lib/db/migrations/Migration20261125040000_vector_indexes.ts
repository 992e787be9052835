import { Migration } from '@mikro-orm/migrations';

/** Collections whose chunks get an HNSW index here; later ones get theirs from ingestion (lib/ingest/vector-index.ts). */
const MIN_ROWS = 1000;

/**
 * Vector indexes per collection instead of per dimension (why: lib/ingest/vector-index.ts), and the per-collection
 * choice of `vector` or `halfvec` for that index and its searches (the column keeps full precision, so switching is a
 * rebuild, not a loss). A trigger drops a collection's index with the collection, however it is deleted.
 */
export class Migration20261125040000_vector_indexes extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table collections add column embedding_type text not null default 'vector' check (embedding_type in ('vector', 'halfvec'));`,
    );
    this.addSql(`drop index if exists chunks_embedding_384_hnsw_idx;`);
    this.addSql(`drop index if exists chunks_embedding_1536_hnsw_idx;`);
    // Existing collections keep an index (the same name and shape lib/ingest/vector-index.ts builds).
    // The ids are collected first: CREATE INDEX cannot run while a loop's query still reads `chunks`.
    this.addSql(`do $$
      declare ids uuid[]; dims integer[];
      begin
        select array_agg(co.id), array_agg(co.embedding_dim) into ids, dims from collections co
         where co.embedding_dim <= 2000 and (select count(*) from chunks ch where ch.collection_id = co.id) >= ${MIN_ROWS};
        for i in 1 .. coalesce(array_length(ids, 1), 0) loop
          execute format('create index if not exists %I on chunks using hnsw ((embedding::vector(%s)) vector_cosine_ops) where collection_id = %L',
                         'chunks_hnsw_' || replace(ids[i]::text, '-', ''), dims[i], ids[i]);
        end loop;
      end $$;`);
    this.addSql(`create function drop_collection_vector_index() returns trigger language plpgsql as $$
      begin
        execute format('drop index if exists %I', 'chunks_hnsw_' || replace(old.id::text, '-', ''));
        return old;
      end $$;`);
    this.addSql(
      `create trigger collections_drop_vector_index after delete on collections for each row execute function drop_collection_vector_index();`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists collections_drop_vector_index on collections;`);
    this.addSql(`drop function if exists drop_collection_vector_index();`);
    this.addSql(`do $$
      declare i record;
      begin
        for i in select indexname from pg_indexes where tablename = 'chunks' and indexname like 'chunks\\_hnsw\\_%' loop
          execute format('drop index if exists %I', i.indexname);
        end loop;
      end $$;`);
    for (const dim of [384, 1536]) {
      this.addSql(
        `create index chunks_embedding_${dim}_hnsw_idx on chunks using hnsw ((embedding::vector(${dim})) vector_cosine_ops) where embedding_dim = ${dim};`,
      );
    }
    this.addSql(`alter table collections drop column embedding_type;`);
  }
}
