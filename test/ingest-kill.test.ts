import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { chunkDocument } from '../lib/ingest/chunk';
import { parseDocument } from '../lib/ingest/parse';
import { vectorIndexName } from '../lib/ingest/vector-index';
import { setupTestContext, startTestApi, type TestContext } from './harness';

let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;

afterAll(() => ctx?.close());
// A threshold this collection passes, so the index build at the end runs (the default waits for 10,000 chunks).
const WORKER_ENV = { INGEST_VECTOR_INDEX_MIN_ROWS: '100' };
beforeAll(async () => {
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
});

it(
  'finishes a 200-document ingest whose worker is SIGKILLed three times, with no chunk stored twice',
  { timeout: 480_000 },
  async () => {
    const created = await api.request('POST', '/v1/collections', {
      key: ctx.tenant.key,
      body: { name: 'kill-test', chunkSize: 64, chunkOverlap: 8 },
    });
    const collectionId = created.body!.id as string;
    const form = new FormData();
    let expectedChunks = 0;
    for (let i = 0; i < 200; i++) {
      const text = `# Document ${i}\n\n${`Paragraph ${i} explains durable execution with Temporal and pgvector storage. `.repeat(6)}\n\nSecond part of ${i}.`;
      const bytes = Buffer.from(text);
      expectedChunks += chunkDocument(await parseDocument({ bytes, filename: 'x.md' }), {
        chunkSize: 64,
        chunkOverlap: 8,
      }).length;
      form.append('file', new Blob([bytes]), `doc-${String(i).padStart(3, '0')}.md`);
    }
    const res = await fetch(`${api.base}/v1/collections/${collectionId}/documents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ctx.tenant.key}` },
      body: form,
    });
    expect(res.status).toBe(202);
    const { workflowId } = (await res.json()) as { workflowId: string };

    const progress = async () =>
      (await api.request('GET', `/v1/ingests/${encodeURIComponent(workflowId)}`, { key: ctx.tenant.key })).body!;
    let worker = await ctx.startWorkerProcess({ env: WORKER_ENV });
    // Killed however this test ends, so the next test's workers are the only ones on the queue.
    onTestFinished(() => void worker.kill('SIGKILL'));
    let seenAtLastKill = 0;
    for (const threshold of [30, 80, 140]) {
      const deadline = Date.now() + 120_000;
      while ((seenAtLastKill = (await progress()).progress?.done ?? 0) < threshold) {
        if (Date.now() > deadline) throw new Error(`ingest stalled before ${threshold} documents`);
        await sleep(100);
      }
      worker.kill('SIGKILL');
      await new Promise((r) => worker.once('exit', r));
      worker = await ctx.startWorkerProcess({ env: WORKER_ENV });
    }
    const deadline = Date.now() + 240_000;
    let run = await progress();
    while (run.status === 'running' || run.status === 'continued_as_new') {
      if (Date.now() > deadline) throw new Error('ingest did not finish');
      await sleep(250);
      run = await progress();
    }
    expect(run.status).toBe('completed');
    expect(run.progress).toMatchObject({ total: 200, done: 200, failed: 0 });
    // The collection's HNSW index is built once at the end, by a worker that was killed before. On a loaded machine
    // the last kill can come once every document is done (batches finish 16 at a time), inside the build: its retry
    // then finds the index the killed attempt committed.
    expect(expectedChunks).toBeGreaterThanOrEqual(100);
    expect(run.progress.vectorIndex).toMatchObject({
      status: seenAtLastKill < 200 ? 'built' : expect.stringMatching(/^(built|exists)$/),
      rows: expectedChunks,
    });
    const [index] = await ctx.orm.em
      .getConnection()
      .execute(
        `select i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid where c.relname = ?`,
        [vectorIndexName(collectionId)],
      );
    expect(index).toEqual({ valid: true });

    const conn = ctx.orm.em.getConnection();
    const [docs] = await conn.execute(
      `select count(*)::int as n, count(*) filter (where status = 'ready')::int as ready from documents where collection_id = ?`,
      [collectionId],
    );
    expect(docs).toEqual({ n: 200, ready: 200 });
    // Exactly the chunks one clean pass produces: nothing written twice by a killed attempt and its retry.
    const [stored] = await conn.execute(`select count(*)::int as n from chunks where collection_id = ?`, [
      collectionId,
    ]);
    expect(stored?.n).toBe(expectedChunks);
    const [mismatch] = await conn.execute(
      `select count(*)::int as n from documents d where d.collection_id = ? and d.chunk_count <> (select count(*) from chunks c where c.document_id = d.id)`,
      [collectionId],
    );
    expect(mismatch?.n).toBe(0);
    worker.kill('SIGKILL'); // the next test starts workers of its own
    await new Promise((r) => worker.once('exit', r));
  },
);

it(
  'resumes a batch whose worker is SIGKILLed mid-batch after its last finished document: none is processed again',
  { timeout: 300_000 },
  async () => {
    const created = await api.request('POST', '/v1/collections', {
      key: ctx.tenant.key,
      body: { name: 'kill-mid-batch', chunkSize: 48, chunkOverlap: 8 },
    });
    const collectionId = created.body!.id as string;
    const form = new FormData();
    let expectedChunks = 0;
    // Documents big enough that one batch of all 40 takes seconds, so the kill lands inside it.
    for (let i = 0; i < 40; i++) {
      const sections = Array.from(
        { length: 30 },
        (_, s) =>
          `## Section ${s} of ${i}\n\n${`Document ${i} section ${s} covers retries, heartbeats and checkpoints. `.repeat(4)}`,
      );
      const bytes = Buffer.from(`# Document ${i}\n\n${sections.join('\n\n')}\n`);
      expectedChunks += chunkDocument(await parseDocument({ bytes, filename: 'x.md' }), {
        chunkSize: 48,
        chunkOverlap: 8,
      }).length;
      form.append('file', new Blob([bytes]), `big-${String(i).padStart(2, '0')}.md`);
    }
    const res = await fetch(`${api.base}/v1/collections/${collectionId}/documents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ctx.tenant.key}` },
      body: form,
    });
    expect(res.status).toBe(202);
    const { workflowId } = (await res.json()) as { workflowId: string };

    const conn = ctx.orm.em.getConnection();
    const ready = async () =>
      (await conn.execute(
        `select id::text as id, indexed_at from documents where collection_id = ? and status = 'ready'`,
        [collectionId],
      )) as Array<{ id: string; indexed_at: Date }>;
    // One batch of all 40 documents: the kill is inside it, whatever the timing.
    const env = { ...WORKER_ENV, INGEST_BATCH_DOCUMENTS: '40' };
    let worker = await ctx.startWorkerProcess({ env });
    const deadline = Date.now() + 120_000;
    let before = await ready();
    while (before.length < 5) {
      if (Date.now() > deadline) throw new Error('the batch did not start');
      await sleep(20);
      before = await ready();
    }
    worker.kill('SIGKILL');
    await new Promise((r) => worker.once('exit', r));
    before = await ready(); // what the killed attempt finished, read after it is gone
    expect(before.length).toBeGreaterThanOrEqual(5);
    expect(before.length).toBeLessThan(40);
    worker = await ctx.startWorkerProcess({ env });

    const result = (await ctx.client.workflow.getHandle(workflowId).result()) as Record<string, unknown>;
    // Every document ready, none reported unchanged: the retried attempt knew which ones its predecessor finished.
    expect(result).toMatchObject({ total: 40, done: 40, failed: 0, skipped: 0 });
    const after = new Map((await ready()).map((d) => [d.id, new Date(d.indexed_at).getTime()]));
    expect(after.size).toBe(40);
    for (const d of before) expect(after.get(d.id), d.id).toBe(new Date(d.indexed_at).getTime());
    const [stored] = await conn.execute(`select count(*)::int as n from chunks where collection_id = ?`, [
      collectionId,
    ]);
    expect(stored?.n).toBe(expectedChunks);
    // One child run for the batch, listing all 40 documents.
    const children = await api.request('GET', `/v1/runs/${encodeURIComponent(workflowId)}/children`, {
      key: ctx.tenant.key,
    });
    expect(children.body!.runs).toHaveLength(1);
    expect(children.body!.runs[0].documents).toHaveLength(40);
  },
);
