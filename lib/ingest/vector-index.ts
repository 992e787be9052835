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
  const conn = em.getConnection();
  const name = vectorIndexName(target.collectionId);
  const [existing] = (await conn.execute(
    `select i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid where c.relname = ?`,
    [name],
  )) as Array<{ valid: boolean }>;
  const [{ rows }] = (await conn.execute(`select count(*)::int as rows from chunks where collection_id = ?`, [
    target.collectionId,
  ])) as [{ rows: number }];
  if (existing?.valid) return { status: 'exists', rows };
  if (existing) await conn.execute(`drop index concurrently if exists ${name}`);
  if (rows < opts.minRows) return { status: 'below_threshold', rows };
  const max = HNSW_MAX_DIMENSIONS[target.embeddingType];
  if (target.embeddingDim > max) {
    return {
      status: 'unsupported',
      rows,
      reason: `HNSW indexes ${target.embeddingType} up to ${max} dimensions; the collection has ${target.embeddingDim}`,
    };
  }
  const { column, opclass } = searchExpression(target);
  const started = performance.now();
  // The collection id is checked as a UUID by vectorIndexName, so inlining it in the predicate is safe (DDL takes
  // no bind parameters).
  await conn.execute(
    `create index concurrently if not exists ${name} on chunks using hnsw ((${column}) ${opclass}) where collection_id = '${target.collectionId.toLowerCase()}'`,
  );
  return { status: 'built', rows, ms: performance.now() - started };
}
