/**
 * Approximate nearest-neighbour search over `chunks`: one partial HNSW index per collection, built in one pass once
 * the collection's first ingest run has stored its chunks, and maintained row by row afterwards.
 *
 * Why per collection, built after the load: maintaining an HNSW index row by row costs several times what building
 * it over the same rows does (PGlite, 384 dimensions: ~2.5 ms per inserted row vs ~0.5 ms per row for CREATE INDEX).
 * A bulk load into a collection without its index pays only the plain insert; the index is then built over this
 * collection's rows alone, never over other tenants' rows, and no shared index is ever dropped or rebuilt, so
 * concurrent ingests of other collections are untouched. Until the index exists (during the first ingest, or for
 * collections under `minRows` chunks) searches are exact scans over the collection's rows: correct, and for small
 * collections as fast. Each index also holds only its collection's vectors, so a filtered search never loses
 * recall to rows of other collections.
 *
 * A search uses a collection's index when its WHERE clause pins that one collection (`collection_id = $1`, or `=
 * any($1)` with a one-element array) and it orders by `searchExpression(...)`, e.g. for a 384-dimensional `vector`
 * collection `order by embedding::vector(384) <=> $2::vector(384) limit k`. Several collections at once are exact
 * scans unless queried one per sub-select.
 */
import type { EntityManager } from '@mikro-orm/postgresql';

export type EmbeddingType = 'vector' | 'halfvec';
export const EMBEDDING_TYPES: readonly EmbeddingType[] = ['vector', 'halfvec'];

/** pgvector's HNSW limits: `vector` up to 2,000 dimensions, `halfvec` up to 4,000. */
export const HNSW_MAX_DIMENSIONS: Record<EmbeddingType, number> = { vector: 2000, halfvec: 4000 };

export interface VectorIndexTarget {
  collectionId: string;
  embeddingDim: number;
  embeddingType: EmbeddingType;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `chunks_hnsw_<collection id without dashes>` (44 characters, inside Postgres' 63). */
export function vectorIndexName(collectionId: string): string {
  if (!UUID.test(collectionId)) throw new Error(`not a collection id: ${collectionId}`);
  return `chunks_hnsw_${collectionId.replaceAll('-', '').toLowerCase()}`;
}

/** `chunks_tsv_<collection id without dashes>`: the collection's own GIN index on `tsv` (ensureCollectionTextIndex). */
export function textIndexName(collectionId: string): string {
  return vectorIndexName(collectionId).replace('chunks_hnsw_', 'chunks_tsv_');
}

/** What a search orders by (`<=>` against the query vector cast the same way); the index is built on it. */
export function searchExpression(t: Pick<VectorIndexTarget, 'embeddingDim' | 'embeddingType'>): {
  column: string;
  cast: string;
  opclass: string;
} {
  const dim = Math.trunc(t.embeddingDim);
  const cast = `${t.embeddingType}(${dim})`;
  return { column: `embedding::${cast}`, cast, opclass: `${t.embeddingType}_cosine_ops` };
}

export type VectorIndexOutcome =
  | { status: 'exists'; rows: number }
  | { status: 'built'; rows: number; ms: number }
  | { status: 'below_threshold'; rows: number }
  | { status: 'unsupported'; rows: number; reason: string };

export type TextIndexOutcome = Exclude<VectorIndexOutcome, { status: 'unsupported' }>;

/**
 * Builds the collection's HNSW index unless it exists (valid) or the collection has fewer than `minRows` chunks.
 * Idempotent and safe to retry: an index left invalid by a build that died is dropped and built again. Runs outside
 * any transaction (CREATE INDEX CONCURRENTLY cannot run in one), so on a real Postgres writes to `chunks` by other
 * collections go on during the build.
 */
export async function ensureCollectionVectorIndex(
  em: EntityManager,
  target: VectorIndexTarget,
  opts: { minRows: number },
): Promise<VectorIndexOutcome> {
  const max = HNSW_MAX_DIMENSIONS[target.embeddingType];
  const { column, opclass } = searchExpression(target);
  return ensurePartialIndex(em, vectorIndexName(target.collectionId), target.collectionId, opts.minRows, {
    using: `hnsw ((${column}) ${opclass})`,
    unsupported:
      target.embeddingDim > max
        ? `HNSW indexes ${target.embeddingType} up to ${max} dimensions; the collection has ${target.embeddingDim}`
        : undefined,
  });
}

/**
 * The collection's own GIN index on `tsv`, built like its HNSW index (same threshold, same moment, idempotent). The
 * shared `chunks_tsv_gin_idx` covers every tenant's chunks: a word's bitmap scan there returns the matches of all
 * collections before they are and-ed with the searched one's rows, so a search's full-text cost grows with everything
 * stored. A partial index holds one collection's rows; the planner picks it for a search of that collection written
 * as `collection_id = ?` (textSearchSql, lib/rag/retrieve.ts), as it picks the HNSW index.
 */
export async function ensureCollectionTextIndex(
  em: EntityManager,
  collectionId: string,
  opts: { minRows: number },
): Promise<TextIndexOutcome> {
  return ensurePartialIndex(em, textIndexName(collectionId), collectionId, opts.minRows, {
    using: 'gin (tsv)',
  }) as Promise<TextIndexOutcome>;
}

async function ensurePartialIndex(
  em: EntityManager,
  name: string,
  collectionId: string,
  minRows: number,
  index: { using: string; unsupported?: string },
): Promise<VectorIndexOutcome> {
  const conn = em.getConnection();
  const [existing] = (await conn.execute(
    `select i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid where c.relname = ?`,
    [name],
  )) as Array<{ valid: boolean }>;
  const [{ rows }] = (await conn.execute(`select count(*)::int as rows from chunks where collection_id = ?`, [
    collectionId,
  ])) as [{ rows: number }];
  if (existing?.valid) return { status: 'exists', rows };
  if (existing) await conn.execute(`drop index concurrently if exists ${name}`);
  if (rows < minRows) return { status: 'below_threshold', rows };
  if (index.unsupported) return { status: 'unsupported', rows, reason: index.unsupported };
  const started = performance.now();
  // The collection id is checked as a UUID by the index's name (vectorIndexName), so inlining it in the predicate is
  // safe (DDL takes no bind parameters).
  await conn.execute(
    `create index concurrently if not exists ${name} on chunks using ${index.using} where collection_id = '${collectionId.toLowerCase()}'`,
  );
  return { status: 'built', rows, ms: performance.now() - started };
}
