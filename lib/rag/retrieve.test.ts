import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTestContext, type TestContext } from '../../test/harness';
import { ChunkEntity, CollectionEntity, DocumentEntity } from '../db/entities';
import { HNSW_EF_SEARCH } from '../db/orm';
import { hashEmbedding } from '../llm/providers/local';
import {
  ensureCollectionTextIndex,
  ensureCollectionVectorIndex,
  textIndexName,
  vectorIndexName,
} from '../ingest/vector-index';
import { queryTerms, retrieveHybrid, textSearchSql, vectorSearchSql } from './retrieve';

let ctx: TestContext;
afterAll(() => ctx?.close());
beforeAll(async () => {
  ctx = await setupTestContext();
});

const PASSAGES = [
  'The json module encodes Python objects as JSON text with json.dumps and decodes them with json.loads.',
  'asyncio.gather runs awaitables concurrently and returns their results in order.',
  'The default pickle protocol in Python 3.11 is protocol 5.',
  'Functions are defined with the def keyword, followed by the function name and parameters.',
  'A function may return a value with the return statement; without one it returns None.',
];

async function seed(tenantId: string, texts: string[], source = 'guide.html') {
  const em = ctx.orm.em.fork();
  const collection = em.create(CollectionEntity, {
    id: randomUUID(),
    tenantId,
    name: `c-${randomUUID()}`,
    embeddingModel: 'local-embed-384',
    embeddingDim: 384,
  });
  await em.flush();
  const document = em.create(DocumentEntity, {
    id: randomUUID(),
    tenantId,
    collectionId: collection.id,
    sourceKind: 'upload',
    source,
    title: 'Guide',
    chunkCount: texts.length,
    metadata: {},
  });
  await em.flush();
  const chunks = texts.map((text, ordinal) =>
    em.create(ChunkEntity, {
      id: randomUUID(),
      tenantId,
      collectionId: collection.id,
      documentId: document.id,
      ordinal,
      text,
      contentHash: `h${ordinal}`,
      headingPath: ['Guide', `Section ${ordinal + 1}`],
      page: ordinal + 1,
      tokens: text.split(' ').length,
      embedding: hashEmbedding(text),
      embeddingDim: 384,
      metadata: {},
    }),
  );
  await em.flush();
  return { collection, document, chunks };
}

describe('retrieveHybrid', () => {
  it('ranks the passage that answers first, fusing vector and full-text ranks', async () => {
    const { collection, chunks } = await seed(ctx.tenant.id, PASSAGES);
    const query = 'How do I decode JSON text?';
    const hits = await retrieveHybrid(ctx.orm.em.fork(), {
      tenantId: ctx.tenant.id,
      collectionIds: [collection.id],
      query,
      queryVector: hashEmbedding(query),
      topK: 3,
    });
    expect(hits[0]!.chunkId).toBe(chunks[0]!.id);
    expect(hits[0]!.vectorRank).toBe(1);
    expect(hits[0]!.textRank).toBe(1);
    expect(hits[0]).toMatchObject({
      documentTitle: 'Guide',
      source: 'guide.html',
      headingPath: ['Guide', 'Section 1'],
      page: 1,
    });
    expect(hits.length).toBeLessThanOrEqual(3);
    expect(hits.map((h) => h.score)).toEqual([...hits.map((h) => h.score)].sort((a, b) => b - a));
  });

  it('weights rare query words above common ones in the full-text ranking', async () => {
    const { collection, chunks } = await seed(ctx.tenant.id, PASSAGES);
    // "function" is in two passages, "pickle" in one: the pickle passage must win the text ranking.
    const hits = await retrieveHybrid(ctx.orm.em.fork(), {
      tenantId: ctx.tenant.id,
      collectionIds: [collection.id],
      query: 'function pickle',
      queryVector: hashEmbedding('function pickle'),
      topK: 5,
      mode: 'text',
    });
    expect(hits[0]!.chunkId).toBe(chunks[2]!.id);
    expect(hits.every((h) => h.vectorRank === null)).toBe(true);
  });

  it("never returns another tenant's near-duplicate passages", async () => {
    const mine = await seed(ctx.tenant.id, PASSAGES);
    const other = await ctx.addTenant();
    const theirs = await seed(
      other.id,
      PASSAGES.map((p) => `${p} Confidential.`),
    );
    const query = 'default pickle protocol';
    const hits = await retrieveHybrid(ctx.orm.em.fork(), {
      tenantId: ctx.tenant.id,
      collectionIds: [mine.collection.id, theirs.collection.id],
      query,
      queryVector: hashEmbedding(query),
      topK: 10,
    });
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.every((h) => h.collectionId === mine.collection.id)).toBe(true);
    const none = await retrieveHybrid(ctx.orm.em.fork(), {
      tenantId: ctx.tenant.id,
      collectionIds: [theirs.collection.id],
      query,
      queryVector: hashEmbedding(query),
      topK: 10,
    });
    expect(none).toEqual([]);
  });

  it('searches each collection through its own HNSW index, and merges them by distance', async () => {
    const a = await seed(ctx.tenant.id, PASSAGES);
    const b = await seed(ctx.tenant.id, [
      'Sockets are endpoints for network communication.',
      'The select module waits for I/O completion.',
    ]);
    for (const c of [a, b])
      await ensureCollectionVectorIndex(
        ctx.orm.em.fork(),
        { collectionId: c.collection.id, embeddingDim: 384, embeddingType: 'vector' },
        { minRows: 0 },
      );
    const query = 'network socket endpoints';
    const hits = await retrieveHybrid(ctx.orm.em.fork(), {
      tenantId: ctx.tenant.id,
      collectionIds: [a.collection.id, b.collection.id],
      query,
      queryVector: hashEmbedding(query),
      topK: 3,
      mode: 'vector',
    });
    expect(hits[0]!.collectionId).toBe(b.collection.id);
    const search = vectorSearchSql(
      ctx.tenant.id,
      [a, b].map((c) => ({ id: c.collection.id, embeddingType: 'vector' as const })),
      384,
      hashEmbedding(query),
      10,
    );
    const plan = await ctx.orm.em.fork().transactional(async (em) => {
      const c = em.getConnection();
      await c.execute('set local enable_seqscan = off', [], 'run', em.getTransactionContext());
      // Tiny test collections: without this, sorting a btree scan's few rows looks cheaper than the ordered HNSW scan.
      await c.execute('set local enable_sort = off', [], 'run', em.getTransactionContext());
      return c.execute(`explain ${search.sql}`, search.params, 'all', em.getTransactionContext());
    });
    expect(JSON.stringify(plan)).toContain(vectorIndexName(a.collection.id));
    expect(JSON.stringify(plan)).toContain(vectorIndexName(b.collection.id));
  });

  it("ranks a large collection's words through its own full-text index, built once and dropped with it", async () => {
    // A neighbour with many chunks in the shared GIN index: a word's scan there returns its matches as well.
    await seed(
      ctx.tenant.id,
      Array.from({ length: 300 }, (_, i) => `Functions and the json module, note ${i}.`),
    );
    const own = await seed(ctx.tenant.id, PASSAGES);
    const id = own.collection.id;
    const ensure = (minRows: number) => ensureCollectionTextIndex(ctx.orm.em.fork(), id, { minRows });
    expect(await ensure(PASSAGES.length + 1)).toEqual({ status: 'below_threshold', rows: PASSAGES.length });
    expect(await ensure(0)).toMatchObject({ status: 'built', rows: PASSAGES.length });
    expect(await ensure(0)).toEqual({ status: 'exists', rows: PASSAGES.length });

    const query = 'How does the json module encode objects?';
    const search = textSearchSql(ctx.tenant.id, [id], query, queryTerms(query), 10);
    await ctx.orm.em.getConnection().execute('analyze chunks');
    const plan = await ctx.orm.em.fork().transactional(async (em) => {
      const c = em.getConnection();
      // Tiny test collections: without these, reading a few rows through the btree looks cheaper than any bitmap.
      await c.execute('set local enable_seqscan = off', [], 'run', em.getTransactionContext());
      await c.execute('set local enable_indexscan = off', [], 'run', em.getTransactionContext());
      return c.execute(`explain ${search.sql}`, search.params, 'all', em.getTransactionContext());
    });
    expect(JSON.stringify(plan)).toContain(textIndexName(id));
    const hits = await retrieveHybrid(ctx.orm.em.fork(), {
      tenantId: ctx.tenant.id,
      collectionIds: [id],
      query,
      queryVector: [],
      topK: 2,
      mode: 'text',
    });
    expect(hits[0]!.text).toContain('json.dumps');

    const exists = async () =>
      (
        (await ctx.orm.em
          .getConnection()
          .execute(`select count(*)::int as n from pg_class where relname = ?`, [textIndexName(id)])) as Array<{
          n: number;
        }>
      )[0]!.n;
    expect(await exists()).toBe(1);
    await ctx.orm.em.getConnection().execute(`delete from collections where id = ?`, [id]);
    expect(await exists()).toBe(0);
  });

  it('searches with the HNSW list every pooled connection starts with, wider than pgvector default', async () => {
    const shown = (await ctx.orm.em
      .fork()
      .getConnection()
      .execute(`select current_setting('hnsw.ef_search') as ef`, [], 'all')) as Array<{ ef: string }>;
    expect(HNSW_EF_SEARCH).toBeGreaterThan(40);
    expect(shown[0]!.ef).toBe(String(HNSW_EF_SEARCH));
  });

  it('refuses a query vector of the wrong dimension', async () => {
    const { collection } = await seed(ctx.tenant.id, PASSAGES);
    await expect(
      retrieveHybrid(ctx.orm.em.fork(), {
        tenantId: ctx.tenant.id,
        collectionIds: [collection.id],
        query: 'x',
        queryVector: [1, 0, 0],
        topK: 3,
      }),
    ).rejects.toMatchObject({ code: 'embedding_dimension_mismatch', status: 400 });
  });

  it("keeps each collection's word counts equal to its chunks' through inserts, re-ingestion, deletes and cascades", async () => {
    const counts = async (collectionId: string) =>
      (await ctx.orm.em
        .fork()
        .getConnection()
        .execute(`select lexeme, df from collection_terms where collection_id = ? and df > 0 order by lexeme`, [
          collectionId,
        ])) as Array<{ lexeme: string; df: number }>;
    const truth = async (collectionId: string) =>
      (await ctx.orm.em
        .fork()
        .getConnection()
        .execute(
          `select l.lexeme, count(*)::int as df from chunks c cross join lateral unnest(tsvector_to_array(c.tsv)) l(lexeme)
            where c.collection_id = ? group by l.lexeme order by l.lexeme`,
          [collectionId],
        )) as Array<{ lexeme: string; df: number }>;
    const { collection, document } = await seed(ctx.tenant.id, PASSAGES);
    const other = await seed(ctx.tenant.id, PASSAGES.slice(0, 2));
    expect((await counts(collection.id)).find((r) => r.lexeme === 'function')).toEqual({ lexeme: 'function', df: 2 });
    expect(await counts(collection.id)).toEqual(await truth(collection.id));

    // Re-ingestion: one transaction deletes the document's chunks and writes new ones (activities/ingest.ts).
    await ctx.orm.em.fork().transactional(async (em) => {
      await em.nativeDelete(ChunkEntity, { documentId: document.id });
      for (const [ordinal, text] of ['Every function returns None unless it says otherwise.'].entries())
        em.create(ChunkEntity, {
          id: randomUUID(),
          tenantId: ctx.tenant.id,
          collectionId: collection.id,
          documentId: document.id,
          ordinal,
          text,
          contentHash: 'x',
          headingPath: [],
          tokens: 8,
          embedding: hashEmbedding(text),
          embeddingDim: 384,
          metadata: {},
        });
    });
    expect(await counts(collection.id)).toEqual(await truth(collection.id));
    expect((await counts(collection.id)).map((r) => r.lexeme)).not.toContain('asyncio.gather');
    // The other collection's counts are its own.
    expect(await counts(other.collection.id)).toEqual(await truth(other.collection.id));
    expect((await counts(other.collection.id)).map((r) => r.lexeme)).toContain('asyncio.gather');

    // Deleting the document (a cascade to its chunks), then the collection (a cascade to its counts).
    await ctx.orm.em.fork().nativeDelete(DocumentEntity, { id: other.document.id });
    expect(await counts(other.collection.id)).toEqual([]);
    await ctx.orm.em.fork().nativeDelete(CollectionEntity, { id: collection.id });
    const left = (await ctx.orm.em
      .fork()
      .getConnection()
      .execute(`select count(*)::int as n from collection_terms where collection_id = ?`, [collection.id])) as Array<{
      n: number;
    }>;
    expect(left[0]!.n).toBe(0);
  });

  it('turns a question into OR-able words', () => {
    expect(queryTerms("What's the default (pickle) protocol? pickle!")).toEqual([
      'what',
      'the',
      'default',
      'pickle',
      'protocol',
    ]);
  });
});
