import type { EntityManager } from '@mikro-orm/postgresql';
import pgvector from 'pgvector';
import type { SearchHit } from '../contracts';
import { HNSW_EF_SEARCH } from '../db/orm';
import { badRequest } from '../errors';
import { searchExpression, type EmbeddingType } from '../ingest/vector-index';

export interface RetrieveOptions {
  tenantId: string;
  collectionIds: string[];
  query: string;
  /**
   * The query's embedding, or its promise: the full-text side does not need it and runs while it is computed (the
   * vector side waits for it). Unused when `mode` is text.
   */
  queryVector: number[] | Promise<number[]>;
  topK: number;
  /** Candidates per method before fusion (default max(40, 4 × topK)). */
  candidates?: number;
  /** The k of reciprocal rank fusion, 1 / (k + rank); 60 as in Cormack et al. */
  rrfK?: number;
  mode?: 'hybrid' | 'vector' | 'text';
}

/** A retrieved chunk: the contract's search hit (lib/contracts/answers.ts). */
export type RetrievedChunk = SearchHit;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_QUERY_TERMS = 32;
/**
 * The full-text side's bounds, so a query's cost does not grow with the collection: the chunks scored are those
 * matching the query's rarest words, rarest first, while together they match at most TEXT_MATCH_BUDGET chunks (the
 * rarest word always), and at most TEXT_DF_CAP of them. Every word still counts in the score of the chunks it
 * matches. A chunk that matches only common words is left to the vector side. How rare a word is comes from the
 * collection's word counts (`collection_terms`, kept by triggers on `chunks`).
 */
const TEXT_DF_CAP = 2000;
const TEXT_MATCH_BUDGET = 1000;

/**
 * The query's words as tsquery operands. Questions are OR-ed, not AND-ed (websearch_to_tsquery would demand every
 * word, and a question rarely has all its words in one passage); stopwords drop out in to_tsquery itself.
 */
export function queryTerms(query: string): string[] {
  const words = query
    .normalize('NFKC')
    .toLowerCase()
    .split(/[^\p{L}\p{N}_]+/u)
    .filter((w) => w.length > 1 && /^[\p{L}\p{N}_]+$/u.test(w));
  return [...new Set(words)].slice(0, MAX_QUERY_TERMS);
}

/**
 * The nearest-neighbour query over several collections. Each collection has its own HNSW index
 * (lib/ingest/vector-index.ts), which a query uses only when pinned to that one collection: one sub-select per
 * collection, merged by distance.
 */
export function vectorSearchSql(
  tenantId: string,
  collections: Array<{ id: string; embeddingType: EmbeddingType }>,
  dim: number,
  queryVector: number[],
  limit: number,
) {
  const vector = pgvector.toSql(queryVector);
  const parts = collections.map((c) => {
    const { column, cast } = searchExpression({ embeddingDim: dim, embeddingType: c.embeddingType });
    return {
      sql: `(select id, ${column} <=> ?::${cast} as distance from chunks
              where tenant_id = ? and collection_id = ? and embedding_dim = ${Math.trunc(dim)}
              order by ${column} <=> ?::${cast} limit ?)`,
      params: [vector, tenantId, c.id, vector, limit],
    };
  });
  return {
    sql: `select id from (${parts.map((p) => p.sql).join(' union all ')}) hits order by distance, id limit ?`,
    params: [...parts.flatMap((p) => p.params), limit],
  };
}

/**
 * The full-text side: the chunks of the tenant's collections ranked by an IDF-weighted sum of `ts_rank` per query word,
 * bounded by TEXT_MATCH_BUDGET and TEXT_DF_CAP. The words are the lexemes of the question's words (`terms`,
 * queryTerms) and of the question as the parser reads it (so "functools.lru_cache", one token in a stored tsvector,
 * matches itself). How many chunks hold each word is read from `collection_terms` (Migration20261204120000), not
 * counted from the GIN index: that count was about half of this query's time (a bitmap and up to 2,000 heap rows per
 * word). Every CTE is MATERIALIZED so each runs once per query. The matches keep their tsvector detoasted (`|| ''`): a
 * stored tsvector is usually compressed out of line, and every word's match and `ts_rank` would read and decompress
 * it again. The collection's size comes from its documents' chunk counts (written with their chunks, in
 * activities/ingest.ts), not from counting its chunks.
 */
export function textSearchSql(
  tenantId: string,
  collectionIds: string[],
  query: string,
  terms: string[],
  limit: number,
): { sql: string; params: unknown[] } {
  // One collection as `= ?` (a uuid constant when planned), so the planner can prove a partial index's predicate and
  // use the collection's own GIN index (ensureCollectionTextIndex); `any(?::uuid[])` casts at run time and cannot.
  const one = collectionIds.length === 1;
  const inCollections = one ? 'collection_id = ?' : 'collection_id = any(?::uuid[])';
  const collections = one ? collectionIds[0]! : `{${collectionIds.join(',')}}`;
  return {
    sql: `with lexemes as materialized (
     select distinct lexeme from (
       select unnest(tsvector_to_array(to_tsvector('english', t))) as lexeme from unnest(?::text[]) as t
       union all
       select unnest(tsvector_to_array(to_tsvector('english', ?)))
     ) words
   ),
   df as materialized (
     select quote_literal(l.lexeme)::tsquery as q,
            coalesce((select sum(t.df) from collection_terms t
                       where t.tenant_id = ? and t.${inCollections} and t.lexeme = l.lexeme), 0)::float8 as n
       from lexemes l
   ),
   picked as materialized (
     select q, n, sum(n) over (order by n, q::text rows unbounded preceding) as running,
            row_number() over (order by n, q::text) as rarity
       from df where n > 0
   ),
   matches as materialized (
     select id, tsv || ''::tsvector as tsv from chunks
      where tenant_id = ? and ${inCollections}
        and tsv @@ (select string_agg(q::text, ' | ')::tsquery from picked where rarity = 1 or running <= ${TEXT_MATCH_BUDGET})
      limit ${TEXT_DF_CAP}
   ),
   total as materialized (
     select coalesce(sum(chunk_count), 0)::float8 as n from documents
      where tenant_id = ? and ${inCollections}
   )
   select m.id
     from matches m
     join picked df on m.tsv @@ df.q
     cross join total
    group by m.id
    order by sum(ln(1 + (greatest(total.n, df.n) - df.n + 0.5) / (df.n + 0.5)) * ts_rank(m.tsv, df.q, 1)) desc, m.id
    limit ?`,
    params: [`{${terms.join(',')}}`, query, tenantId, collections, tenantId, collections, tenantId, collections, limit],
  };
}

/**
 * Hybrid retrieval inside one tenant's collections: pgvector cosine distance (through each collection's HNSW index)
 * and Postgres full text, fused by reciprocal rank.
 *
 * The full-text side ranks by an IDF-weighted sum of `ts_rank` per query term (a BM25-like score computed in SQL
 * from the GIN index) instead of one `ts_rank` over the whole query, which has no notion of rare words: "asyncio"
 * must count for more than "function" in a corpus of Python docs.
 */
export async function retrieveHybrid(em: EntityManager, opts: RetrieveOptions): Promise<RetrievedChunk[]> {
  const mode = opts.mode ?? 'hybrid';
  const topK = Math.max(1, Math.min(opts.topK, 100));
  const candidates = Math.max(opts.candidates ?? Math.max(40, 4 * topK), topK);
  const rrfK = opts.rrfK ?? 60;
  if (!UUID.test(opts.tenantId) || !opts.collectionIds.length || !opts.collectionIds.every((id) => UUID.test(id))) {
    throw badRequest('invalid_request', 'tenantId and collectionIds must be UUIDs.');
  }
  // A pending embedding whose search ends early (no collection) or fails elsewhere must not be an unhandled rejection.
  if (opts.queryVector instanceof Promise) opts.queryVector.catch(() => {});
  const collections = `{${opts.collectionIds.join(',')}}`;
  const conn = em.getConnection();
  // Inside a caller's transaction every statement goes through it: another pooled connection would wait for that
  // transaction on a one-session database (PGlite) and never be served.
  const outer = em.getTransactionContext();

  const cols = (await conn.execute(
    `select id, embedding_dim as dim, embedding_type as type from collections where tenant_id = ? and id = any(?::uuid[])`,
    [opts.tenantId, collections],
    'all',
    outer,
  )) as Array<{ id: string; dim: number; type: EmbeddingType }>;
  if (new Set(cols.map((c) => c.dim)).size > 1)
    throw badRequest(
      'mixed_embedding_dimensions',
      'The collections use different embedding dimensions; query them one at a time.',
    );
  if (!cols.length) return [];
  const dim = cols[0]!.dim;

  const vectorSide = async (): Promise<Array<{ id: string }>> => {
    if (mode === 'text') return [];
    const queryVector = await opts.queryVector;
    if (queryVector.length !== dim) {
      throw badRequest(
        'embedding_dimension_mismatch',
        `The query embedding has ${queryVector.length} dimensions; the collections use ${dim}.`,
      );
    }
    const search = vectorSearchSql(
      opts.tenantId,
      cols.map((c) => ({ id: c.id, embeddingType: c.type })),
      dim,
      queryVector,
      candidates,
    );
    // More candidates than the connections' ef_search (HNSW_EF_SEARCH) need a wider search list, set for this query
    // alone; otherwise the query runs by itself, without the transaction that `set local` needs.
    const efSearch = Math.min(1000, Math.max(HNSW_EF_SEARCH, candidates));
    return (
      efSearch === HNSW_EF_SEARCH
        ? await conn.execute(search.sql, search.params, 'all', outer)
        : await em.transactional(async (tem) => {
            const c = tem.getConnection();
            const tx = tem.getTransactionContext();
            await c.execute(`set local hnsw.ef_search = ${efSearch}`, [], 'run', tx);
            return c.execute(search.sql, search.params, 'all', tx);
          })
    ) as Array<{ id: string }>;
  };
  const textSide = async (): Promise<Array<{ id: string }>> => {
    const terms = queryTerms(opts.query);
    if (mode === 'vector' || !terms.length) return [];
    // Query terms are the question's words split at punctuation (so "lru_cache" finds "lru" and "cache").
    const search = textSearchSql(opts.tenantId, opts.collectionIds, opts.query, terms, candidates);
    return (await conn.execute(search.sql, search.params, 'all', outer)) as Array<{ id: string }>;
  };
  // The two sides run at once on two pooled connections (a real Postgres serves them in parallel; PGlite's one
  // session takes them in turn); inside a caller's transaction, one after the other through it.
  const [vectorHits, textHits] = outer
    ? [await vectorSide(), await textSide()]
    : await Promise.all([vectorSide(), textSide()]);

  const fused = new Map<string, { score: number; vectorRank: number | null; textRank: number | null }>();
  vectorHits.forEach((h, i) => fused.set(h.id, { score: 1 / (rrfK + i + 1), vectorRank: i + 1, textRank: null }));
  textHits.forEach((h, i) => {
    const prev = fused.get(h.id);
    if (prev) {
      prev.score += 1 / (rrfK + i + 1);
      prev.textRank = i + 1;
    } else fused.set(h.id, { score: 1 / (rrfK + i + 1), vectorRank: null, textRank: i + 1 });
  });
  const ranked = [...fused.entries()]
    .sort((a, b) => b[1].score - a[1].score || a[0].localeCompare(b[0]))
    .slice(0, topK);
  if (!ranked.length) return [];

  const rows = (await conn.execute(
    `select c.id, c.document_id, c.collection_id, d.title, d.source, c.ordinal, c.text, c.heading_path, c.page, c.tokens
       from chunks c join documents d on d.id = c.document_id
      where c.tenant_id = ? and c.id = any(?::uuid[])`,
    [opts.tenantId, `{${ranked.map(([id]) => id).join(',')}}`],
    'all',
    outer,
  )) as Array<{
    id: string;
    document_id: string;
    collection_id: string;
    title: string | null;
    source: string;
    ordinal: number;
    text: string;
    heading_path: string[];
    page: number | null;
    tokens: number;
  }>;
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ranked.flatMap(([id, f]) => {
    const r = byId.get(id);
    if (!r) return []; // deleted between the two queries
    return [
      {
        chunkId: r.id,
        documentId: r.document_id,
        collectionId: r.collection_id,
        documentTitle: r.title,
        source: r.source,
        ordinal: r.ordinal,
        text: r.text,
        headingPath: r.heading_path ?? [],
        page: r.page,
        tokens: r.tokens,
        score: f.score,
        vectorRank: f.vectorRank,
        textRank: f.textRank,
      },
    ];
  });
}
