import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTestContext, type TestContext } from '../../test/harness';
import { startEmbeddedPostgres } from './embedded';
import { ChunkEntity, CollectionEntity, DocumentEntity } from './entities';
import { ensureCollectionVectorIndex, vectorIndexName } from '../ingest/vector-index';
import { migrationsList } from './migrations';
import { createOrm, migrate, pendingMigrations } from './orm';

let ctx: TestContext;
afterAll(() => ctx?.close());
beforeAll(async () => {
  ctx = await setupTestContext();
});

const unit = (dim: number, hot: number) => Array.from({ length: dim }, (_, i) => (i === hot ? 1 : 0));

async function seedCollection(tenantId: string) {
  const em = ctx.orm.em.fork();
  const collection = em.create(CollectionEntity, {
    id: randomUUID(),
    tenantId,
    name: `c-${randomUUID()}`,
    embeddingModel: 'local-384',
    embeddingDim: 384,
  });
  await em.flush();
  const document = em.create(DocumentEntity, {
    id: randomUUID(),
    tenantId,
    collectionId: collection.id,
    sourceKind: 'upload',
    source: 'notes.md',
    metadata: {},
  });
  await em.flush();
  const texts = [
    'Temporal retries activities with backoff',
    'Postgres stores vectors with pgvector',
    'Cats sleep most of the day',
  ];
  texts.forEach((text, ordinal) =>
    em.create(ChunkEntity, {
      id: randomUUID(),
      tenantId,
      collectionId: collection.id,
      documentId: document.id,
      ordinal,
      text,
      contentHash: `h${ordinal}`,
      headingPath: ['Notes', `Part ${ordinal}`],
      tokens: text.split(' ').length,
      embedding: unit(384, ordinal),
      embeddingDim: 384,
      metadata: {},
    }),
  );
  await em.flush();
  return { collection, document };
}

describe('schema v1', () => {
  it('is fully migrated', async () => {
    expect(await pendingMigrations(ctx.orm)).toEqual([]);
  });

  it('round-trips embeddings and heading paths through the ORM', async () => {
    const { document } = await seedCollection(ctx.tenant.id);
    const chunks = await ctx.orm.em
      .fork()
      .find(ChunkEntity, { documentId: document.id }, { orderBy: { ordinal: 'asc' } });
    expect(chunks).toHaveLength(3);
    expect(chunks[1]!.embedding).toEqual(unit(384, 1));
    expect(chunks[1]!.headingPath).toEqual(['Notes', 'Part 1']);
  });

  it("answers nearest-neighbour queries through the collection's own HNSW index", async () => {
    const { collection } = await seedCollection(ctx.tenant.id);
    await ensureCollectionVectorIndex(
      ctx.orm.em.fork(),
      { collectionId: collection.id, embeddingDim: 384, embeddingType: 'vector' },
      { minRows: 0 },
    );
    const conn = ctx.orm.em.getConnection();
    const query = `select text from chunks where tenant_id = ? and collection_id = ? and embedding_dim = 384
                   order by embedding::vector(384) <=> ?::vector(384) limit 1`;
    const probe = JSON.stringify(unit(384, 2).map((v, i) => (i === 0 ? 0.2 : v)));
    const rows = await conn.execute(query, [ctx.tenant.id, collection.id, probe]);
    expect(rows).toEqual([{ text: 'Cats sleep most of the day' }]);

    const plan = await ctx.orm.em.fork().transactional(async (em) => {
      const c = em.getConnection();
      await c.execute('set local enable_seqscan = off', [], 'run', em.getTransactionContext());
      // Tiny test collections: without this, sorting a btree scan's few rows looks cheaper than the ordered HNSW scan.
      await c.execute('set local enable_sort = off', [], 'run', em.getTransactionContext());
      return c.execute(`explain ${query}`, [ctx.tenant.id, collection.id, probe], 'all', em.getTransactionContext());
    });
    expect(JSON.stringify(plan)).toContain(vectorIndexName(collection.id));
  });

  it('keeps a stemmed full-text vector of every chunk', async () => {
    const { collection } = await seedCollection(ctx.tenant.id);
    const rows = await ctx.orm.em
      .getConnection()
      .execute(
        `select text from chunks where collection_id = ? and tsv @@ plainto_tsquery('english', 'retrying activity')`,
        [collection.id],
      );
    expect(rows).toEqual([{ text: 'Temporal retries activities with backoff' }]);
  });

  it('refuses an embedding whose length is not the declared dimension', async () => {
    const { collection, document } = await seedCollection(ctx.tenant.id);
    const em = ctx.orm.em.fork();
    em.create(ChunkEntity, {
      id: randomUUID(),
      tenantId: ctx.tenant.id,
      collectionId: collection.id,
      documentId: document.id,
      ordinal: 99,
      text: 'x',
      contentHash: 'x',
      headingPath: [],
      tokens: 1,
      embedding: [1, 0, 0],
      embeddingDim: 384,
      metadata: {},
    });
    await expect(em.flush()).rejects.toThrow(/check constraint/);
  });

  it('removes everything of a tenant with it', async () => {
    const other = await ctx.addTenant();
    await seedCollection(other.id);
    const conn = ctx.orm.em.getConnection();
    await conn.execute('delete from tenants where id = ?', [other.id]);
    const [row] = await conn.execute(
      `select (select count(*) from chunks where tenant_id = ?)::int + (select count(*) from documents where tenant_id = ?)::int
              + (select count(*) from api_keys where tenant_id = ?)::int as n`,
      [other.id, other.id, other.id],
    );
    expect(row?.n).toBe(0);
  });
});

describe('migrations on a fresh database', () => {
  it('apply, roll back and apply again', async () => {
    const pg = await startEmbeddedPostgres({ port: 0 });
    const orm = await createOrm(pg.url, 1);
    try {
      const all = migrationsList.map((m) => m.name);
      expect(await pendingMigrations(orm)).toEqual(all);
      expect(await migrate(orm)).toEqual(all);
      expect(await pendingMigrations(orm)).toEqual([]);
      await orm.getMigrator().down({ to: 0 });
      const [tables] = await orm.em
        .getConnection()
        .execute(`select count(*)::int as n from pg_tables where schemaname = 'public' and tablename = 'chunks'`);
      expect(tables?.n).toBe(0);
      expect(await migrate(orm)).toEqual(all);
    } finally {
      await orm.close();
      await pg.stop();
    }
  });
});
