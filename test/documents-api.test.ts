import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../api/auth/api-keys';
import { setupTestContext, startTestApi, type TestContext } from './harness';
import { CORPUS, ingestCorpus } from './rag-fixtures';

/**
 * One document's routes against the real stack (API, Temporal, worker, Postgres): the document, its chunks page by
 * page, the answers that cited it, a re-ingest of it alone (asked twice while running: one run), and another
 * tenant's ids answered exactly like missing ones.
 */
let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let collectionId: string;
let pickleId: string;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- API answers

beforeAll(async () => {
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
  await ctx.startWorker();
  collectionId = await ingestCorpus(ctx, api);
  const docs = await api.request('GET', `/v1/collections/${collectionId}/documents`, { key: ctx.tenant.key });
  pickleId = (docs.body!.documents as Json[]).find((d) => d.title === 'pickle.md')!.id as string;
});
afterAll(() => ctx?.close());

const get = (path: string, key = ctx.tenant.key) => api.request('GET', path, { key });

describe('GET /v1/documents/:id', () => {
  it('answers the document with its collection, chunk count and the run that ingested it', async () => {
    const res = await get(`/v1/documents/${pickleId}`);
    expect(res.status).toBe(200);
    const d = res.body!.document as Json;
    expect(d).toMatchObject({
      id: pickleId,
      collectionId,
      name: 'pickle.md',
      title: 'pickle.md',
      source: 'pickle.md',
      sourceKind: 'upload',
      status: 'ready',
      error: null,
      sizeBytes: Buffer.byteLength(CORPUS['pickle.md']!),
    });
    expect(d.chunkCount).toBeGreaterThan(0);
    expect(d.lastIngestWorkflowId).toMatch(new RegExp(`^ingest:${ctx.tenant.id}:${collectionId}:`));
    const collection = await get(`/v1/collections/${collectionId}`);
    expect(d.collectionName).toBe(collection.body!.name);
  });

  it('answers 404 for a missing id, a malformed one and another tenant’s document alike', async () => {
    const other = await ctx.addTenant('admin');
    const missing = await get(`/v1/documents/${crypto.randomUUID()}`);
    expect(missing.status).toBe(404);
    expect(missing.body!.error.code).toBe('not_found');
    for (const path of ['', '/chunks', '/answers']) {
      const foreign = await get(`/v1/documents/${pickleId}${path}`, other.key);
      expect(foreign.status).toBe(404);
      expect(foreign.body).toEqual(missing.body);
    }
    const reingest = await api.request('POST', `/v1/documents/${pickleId}/reingest`, { key: other.key });
    expect(reingest.status).toBe(404);
    expect((await get('/v1/documents/not-a-uuid')).status).toBe(404);
  });
});

describe('GET /v1/documents/:id/chunks', () => {
  it('pages through the chunks in document order, with heading paths', async () => {
    const all = await get(`/v1/documents/${pickleId}/chunks`);
    expect(all.status).toBe(200);
    const { chunks, total } = all.body as { chunks: Json[]; total: number };
    expect(total).toBe(chunks.length);
    expect(total).toBeGreaterThanOrEqual(3);
    expect(all.body).toMatchObject({ offset: 0, limit: 50 });
    expect(chunks.map((c) => c.ordinal)).toEqual([...chunks.map((c) => c.ordinal)].sort((a, b) => a - b));
    expect(chunks.some((c) => c.headingPath.includes('Protocols') && c.text.includes('protocol 5'))).toBe(true);
    for (const c of chunks) expect(c).not.toHaveProperty('embedding');

    const first = await get(`/v1/documents/${pickleId}/chunks?limit=1`);
    const second = await get(`/v1/documents/${pickleId}/chunks?offset=1&limit=1`);
    expect(first.body!.chunks.map((c: Json) => c.id)).toEqual([chunks[0]!.id]);
    expect(second.body!.chunks.map((c: Json) => c.id)).toEqual([chunks[1]!.id]);
    expect(second.body).toMatchObject({ total, offset: 1, limit: 1 });
    const past = await get(`/v1/documents/${pickleId}/chunks?offset=${total}`);
    expect(past.body).toMatchObject({ chunks: [], total });
  });

  it.each(['limit=0', 'limit=201', 'limit=abc', 'offset=-1', 'offset=1.5'])('answers 400 for ?%s', async (query) => {
    const res = await get(`/v1/documents/${pickleId}/chunks?${query}`);
    expect(res.status).toBe(400);
    expect(res.body!.error.code).toBe('validation_failed');
    expect(typeof res.body!.error.message).toBe('string');
  });
});

describe('GET /v1/documents/:id/answers', () => {
  it('lists the answers that cited the document, newest first, with the passages they cited', async () => {
    const before = await get(`/v1/documents/${pickleId}/answers`);
    expect(before.status).toBe(200);
    expect(before.body!.answers).toEqual([]);

    const answer = await api.request('POST', '/v1/answers?wait=true', {
      key: ctx.tenant.key,
      body: { question: 'What is the default pickle protocol?', collectionIds: [collectionId] },
    });
    expect(answer.status).toBe(200);
    const cited = (answer.body!.result.citations as Json[]).filter((c) => c.documentId === pickleId);
    expect(cited.length).toBeGreaterThan(0);

    const after = await get(`/v1/documents/${pickleId}/answers`);
    expect(after.body!.answers).toHaveLength(1);
    expect(after.body!.answers[0]).toMatchObject({
      id: answer.body!.id,
      question: 'What is the default pickle protocol?',
      status: answer.body!.status,
      citations: cited.map((c) => ({ n: c.n, chunkId: c.chunkId, page: c.page, headingPath: c.headingPath })),
    });

    // A document the answer did not cite does not list it.
    const docs = await get(`/v1/collections/${collectionId}/documents`);
    const json = (docs.body!.documents as Json[]).find((d) => d.title === 'json.md')!;
    const cites = (answer.body!.result.citations as Json[]).some((c) => c.documentId === json.id);
    const listed = await get(`/v1/documents/${json.id}/answers`);
    expect(listed.body!.answers.length).toBe(cites ? 1 : 0);
  });
});

describe('POST /v1/documents/:id/reingest', () => {
  it('starts one run for the document, the same one when asked again while it runs', async () => {
    const [a, b] = await Promise.all([
      api.request('POST', `/v1/documents/${pickleId}/reingest`, { key: ctx.tenant.key }),
      api.request('POST', `/v1/documents/${pickleId}/reingest`, { key: ctx.tenant.key }),
    ]);
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(b.body!.workflowId).toBe(a.body!.workflowId);
    const workflowId = a.body!.workflowId as string;
    expect(workflowId).toMatch(new RegExp(`^ingest:${ctx.tenant.id}:${collectionId}:`));
    const progress = (await ctx.client.workflow.getHandle(workflowId).result()) as Json;
    // The content did not change: one document, skipped, its chunks kept.
    expect(progress).toMatchObject({ total: 1, done: 1, failed: 0 });
    const status = await get(`/v1/ingests/${encodeURIComponent(workflowId)}`);
    expect(status.body).toMatchObject({ status: 'completed', progress: { total: 1, done: 1 } });
    const d = await get(`/v1/documents/${pickleId}`);
    expect(d.body!.document).toMatchObject({ status: 'ready', lastIngestWorkflowId: workflowId });
    expect(d.body!.document.chunkCount).toBeGreaterThan(0);

    // Finished: asking again starts a new run.
    const again = await api.request('POST', `/v1/documents/${pickleId}/reingest`, { key: ctx.tenant.key });
    expect(again.status).toBe(202);
    expect(again.body!.workflowId).not.toBe(workflowId);
    expect(again.body!.started).toBe(true);
    await ctx.client.workflow.getHandle(again.body!.workflowId as string).result();
  });

  it('is refused to a viewer, who may read the document', async () => {
    const { key } = await createApiKey(ctx.orm, { tenantId: ctx.tenant.id, keyName: 'viewer', role: 'viewer' });
    const res = await api.request('POST', `/v1/documents/${pickleId}/reingest`, { key });
    expect(res.status).toBe(403);
    expect((await get(`/v1/documents/${pickleId}/chunks`, key)).status).toBe(200);
  });
});
