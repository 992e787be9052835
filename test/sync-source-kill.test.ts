import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chunkDocument } from '../lib/ingest/chunk';
import { parseDocument } from '../lib/ingest/parse';
import type { syncSource } from '../workflows/sync-source';
import { setupTestContext, startTestApi, type TestContext } from './harness';

let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let server: Server;
let base: string;
const gets = new Map<string, number>();
const WORKER_ENV = { FETCH_ALLOW_HOSTS: '127.0.0.1' };
const CHUNKING = { chunkSize: 64, chunkOverlap: 8, combineSections: true };
const PAGES = 200;

const pageText = (i: number) =>
  `# Page ${i}\n\n${`Page ${i} explains durable source sync with Temporal and pgvector storage. `.repeat(6)}\n\nSecond part of ${i}.`;

afterAll(async () => {
  await ctx?.close();
  await new Promise((r) => server?.close(r));
});
beforeAll(async () => {
  ctx = await setupTestContext(WORKER_ENV);
  api = await startTestApi(ctx);
  // Each page takes a moment, so the kills below land while the sync is running.
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    gets.set(path, (gets.get(path) ?? 0) + 1);
    const i = Number(/^\/page-(\d+)\.md$/.exec(path)?.[1] ?? NaN);
    if (!Number.isInteger(i)) return void res.writeHead(404).end();
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/markdown' }).end(pageText(i)), 40);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

it(
  'finishes a 200-page sync whose worker is SIGKILLed three times: every page once, no chunk stored twice',
  { timeout: 480_000 },
  async () => {
    const created = await api.request('POST', '/v1/collections', {
      key: ctx.tenant.key,
      body: { name: 'sync-kill', chunkSize: CHUNKING.chunkSize, chunkOverlap: CHUNKING.chunkOverlap },
    });
    const collectionId = created.body!.id as string;
    const urls = Array.from({ length: PAGES }, (_, i) => `${base}/page-${String(i).padStart(3, '0')}.md`);
    let expectedChunks = 0;
    for (let i = 0; i < PAGES; i++)
      expectedChunks += chunkDocument(
        await parseDocument({ bytes: Buffer.from(pageText(i)), filename: 'x.md', mimeType: 'text/markdown' }),
        CHUNKING,
      ).length;
    const source = await api.request('POST', `/v1/collections/${collectionId}/sources`, {
      key: ctx.tenant.key,
      body: { kind: 'urls', urls },
    });
    expect(source.status).toBe(201);
    const sourceId = source.body!.id as string;
    const sync = await api.request('POST', `/v1/collections/${collectionId}/sources/${sourceId}/sync`, {
      key: ctx.tenant.key,
    });
    expect(sync.status).toBe(202);
    const workflowId = sync.body!.workflowId as string;

    const conn = ctx.orm.em.getConnection();
    const synced = async () =>
      (
        (await conn.execute(`select count(*)::int as n from documents where sync_run = ? and sync_done`, [
          workflowId,
        ])) as Array<{ n: number }>
      )[0]!.n;
    let worker = await ctx.startWorkerProcess({ env: WORKER_ENV });
    for (const threshold of [30, 80, 140]) {
      const deadline = Date.now() + 120_000;
      while ((await synced()) < threshold) {
        if (Date.now() > deadline) throw new Error(`sync stalled before ${threshold} documents`);
        await sleep(50);
      }
      worker.kill('SIGKILL');
      await new Promise((r) => worker.once('exit', r));
      expect(await synced(), 'the kill landed mid-sync').toBeLessThan(PAGES);
      worker = await ctx.startWorkerProcess({ env: WORKER_ENV });
    }
    const handle = ctx.client.workflow.getHandle<typeof syncSource>(workflowId);
    const report = await handle.result();
    // 200 pages are two runs of 100: the last one continued from another, its counts carried.
    const [started] = (await handle.fetchHistory()).events ?? [];
    expect(started?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId).toBeTruthy();
    expect(report).toMatchObject({
      added: PAGES,
      changed: 0,
      unchanged: 0,
      removed: 0,
      failed: 0,
      chunks: expectedChunks,
    });

    const [docs] = await conn.execute(
      `select count(*)::int as n, count(*) filter (where status = 'ready' and sync_outcome = 'added')::int as ready
         from documents where collection_id = ?`,
      [collectionId],
    );
    expect(docs).toEqual({ n: PAGES, ready: PAGES });
    const [stored] = await conn.execute(`select count(*)::int as n from chunks where collection_id = ?`, [
      collectionId,
    ]);
    expect(stored?.n).toBe(expectedChunks);
    const [mismatch] = await conn.execute(
      `select count(*)::int as n from documents d where d.collection_id = ? and d.chunk_count <> (select count(*) from chunks c where c.document_id = d.id)`,
      [collectionId],
    );
    expect(mismatch?.n).toBe(0);
    // Only the pages in flight at a kill (at most 4 per kill) were fetched again; completed ones never.
    const pageGets = urls.map((u) => gets.get(new URL(u).pathname) ?? 0);
    expect(pageGets.every((n) => n >= 1)).toBe(true);
    expect(pageGets.filter((n) => n > 1).length).toBeLessThanOrEqual(3 * 4);

    // A second sync of the same pages finds nothing to do.
    const again = await api.request('POST', `/v1/collections/${collectionId}/sources/${sourceId}/sync`, {
      key: ctx.tenant.key,
    });
    expect(again.status).toBe(202);
    const second = await ctx.client.workflow.getHandle<typeof syncSource>(again.body!.workflowId).result();
    expect(second).toMatchObject({
      added: 0,
      changed: 0,
      unchanged: PAGES,
      removed: 0,
      failed: 0,
      chunks: expectedChunks,
    });
  },
);
