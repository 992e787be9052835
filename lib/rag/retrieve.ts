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
  queryVector: number[];
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
 * The full-text side's bounds, so a query's cost does not grow with the collection: a term's document frequency is
 * counted up to TEXT_DF_CAP (a term in more chunks than that is common, and its weight is near zero either way), and
 * the chunks scored are those matching the query's rarest terms, rarest first, while together they match at most
 * TEXT_MATCH_BUDGET chunks (the rarest term always; at most TEXT_DF_CAP chunks). Every term still counts in the score
 * of the chunks it matches. A chunk that matches only common words is left to the vector side.
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
 * The full-text side: the chunks of the tenant's collections ranked by an IDF-weighted sum of `ts_rank` per query term,
 * bounded by TEXT_DF_CAP and TEXT_MATCH_BUDGET. `terms` are the question's words (queryTerms); the parser's own tokens
 * of the question are added in SQL (so "functools.lru_cache", one token in a stored tsvector, matches itself). Every
 * CTE is MATERIALIZED so each runs once per query: inlined, the per-term document counts would be recomputed for
 * every matching chunk (seconds per question on a few thousand chunks). The matches keep their tsvector detoasted
 * (`|| ''`): a stored tsvector is usually compressed out of line, and every term's match and `ts_rank` would read and
 * decompress it again. The collection's size comes from its documents' chunk counts (written with their chunks, in
 * activities/ingest.ts), not from counting its chunks.
 * Measured on 4,573 chunks, 68 questions: p50 39.7 -> 24.8 ms with both, the same top 10.
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
    sql: `with useful as materialized (
     select distinct on (q::text) q from (
       select to_tsquery('english', t) as q from unnest(?::text[]) as t
       union all
       select quote_literal(lexeme)::tsquery from unnest(to_tsvector('english', ?))
     ) terms where numnode(q) > 0
   ),
   df as materialized (
     select u.q, (select count(*) from (
                    select 1 from chunks c
                     where c.tenant_id = ? and c.${inCollections} and c.tsv @@ u.q
                     limit ${TEXT_DF_CAP}) capped)::float8 as n
       from useful u
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

  let vectorHits: Array<{ id: string }> = [];
  if (mode !== 'text') {
    if (opts.queryVector.length !== dim) {
      throw badRequest(
        'embedding_dimension_mismatch',
        `The query embedding has ${opts.queryVector.length} dimensions; the collections use ${dim}.`,
      );
    }
    const search = vectorSearchSql(
      opts.tenantId,
      cols.map((c) => ({ id: c.id, embeddingType: c.type })),
      dim,
      opts.queryVector,
      candidates,
    );
    // More candidates than the connections' ef_search (HNSW_EF_SEARCH) need a wider search list, set for this query
    // alone; otherwise the query runs by itself, without the transaction that `set local` needs.
    const efSearch = Math.min(1000, Math.max(HNSW_EF_SEARCH, candidates));
    vectorHits = (
      efSearch === HNSW_EF_SEARCH
        ? await conn.execute(search.sql, search.params, 'all', outer)
        : await em.transactional(async (tem) => {
            const c = tem.getConnection();
            const tx = tem.getTransactionContext();
            await c.execute(`set local hnsw.ef_search = ${efSearch}`, [], 'run', tx);
            return c.execute(search.sql, search.params, 'all', tx);
          })
    ) as Array<{ id: string }>;
  }

  let textHits: Array<{ id: string }> = [];
  const terms = queryTerms(opts.query);
  if (mode !== 'vector' && terms.length) {
    // Query terms are the question's words split at punctuation (so "lru_cache" finds "lru" and "cache").
    const search = textSearchSql(opts.tenantId, opts.collectionIds, opts.query, terms, candidates);
    textHits = (await conn.execute(search.sql, search.params, 'all', outer)) as Array<{ id: string }>;
  }

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
