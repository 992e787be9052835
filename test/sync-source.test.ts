import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { taskQueues, workflowIds, type SyncReport } from '../lib/contracts';
import { chunkDocument } from '../lib/ingest/chunk';
import { parseDocument } from '../lib/ingest/parse';
import { sourceResponse, sourcesResponse } from '../api/routes/sources';
import { syncSource } from '../workflows/sync-source';
import { setupTestContext, startTestApi, type TestContext } from './harness';

let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let site: Site;
let folderRoot: string;
const CHUNKING = { chunkSize: 64, chunkOverlap: 8, combineSections: true };

/** A web site whose pages the test changes between syncs; it answers ETag / Last-Modified and conditional GETs. */
class Site {
  readonly pages = new Map<string, { body: string; type: string; modified: Date }>();
  readonly gets = new Map<string, number>();
  /** Requests answered 304 Not Modified (a conditional GET matched), by path. */
  readonly notModified = new Map<string, number>();
  private held: Array<() => void> = [];
  holdPath: string | null = null;
  onHeld: (() => void) | null = null;
  server!: Server;
  base = '';

  async start() {
    this.server = createServer((req, res) => void this.answer(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const address = this.server.address();
    this.base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  url(path: string) {
    return this.base + path;
  }

  set(path: string, body: string, type = 'text/html; charset=utf-8') {
    this.pages.set(path, { body, type, modified: new Date(Math.floor(Date.now() / 1000) * 1000) });
  }

  release() {
    this.holdPath = null;
    for (const r of this.held.splice(0)) r();
  }

  private async answer(req: IncomingMessage, res: ServerResponse) {
    const path = (req.url ?? '/').split('?')[0]!;
    this.gets.set(path, (this.gets.get(path) ?? 0) + 1);
    if (path === this.holdPath) {
      await new Promise<void>((r) => {
        this.held.push(r);
        this.onHeld?.();
      });
    }
    const page = this.pages.get(path);
    if (!page) {
      res.writeHead(404).end('not found');
      return;
    }
    const etag = `"${createHash('sha256').update(page.body).digest('base64url').slice(0, 16)}"`;
    const headers = { etag, 'last-modified': page.modified.toUTCString(), 'content-type': page.type };
    const since = req.headers['if-modified-since'];
    if (
      req.headers['if-none-match'] === etag ||
      (!req.headers['if-none-match'] && since && Date.parse(since) >= page.modified.getTime())
    ) {
      this.notModified.set(path, (this.notModified.get(path) ?? 0) + 1);
      res.writeHead(304, headers).end();
      return;
    }
    res.writeHead(200, headers).end(page.body);
  }
}

const page = (title: string, marker: string) =>
  `<html><head><title>${title}</title></head><body><h1>${title}</h1><p>${`${marker} explains durable source sync with Temporal. `.repeat(5)}</p><p>The end of ${title}.</p></body></html>`;

const sitemap = (urls: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${urls.map((u) => `<url><loc>${u}</loc></url>`).join('')}</urlset>`;
const sitemapIndex = (urls: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${urls.map((u) => `<sitemap><loc>${u}</loc></sitemap>`).join('')}</sitemapindex>`;

afterAll(async () => {
  site?.release();
  await ctx?.close();
  await new Promise((r) => site?.server?.close(r));
});
beforeAll(async () => {
  folderRoot = await mkdtemp(join(inject('tmpDir'), 'sync-root-'));
  ctx = await setupTestContext({ FETCH_ALLOW_HOSTS: '127.0.0.1', INGEST_FOLDER_ROOTS: folderRoot });
  api = await startTestApi(ctx);
  await ctx.startWorker();
  site = new Site();
  await site.start();
});

async function collection(name: string, key = ctx.tenant.key): Promise<string> {
  const res = await api.request('POST', '/v1/collections', {
    key,
    body: { name, chunkSize: CHUNKING.chunkSize, chunkOverlap: CHUNKING.chunkOverlap },
  });
  expect(res.status).toBe(201);
  return res.body!.id as string;
}

/** A key of the test tenant with this role. */
async function keyOf(role: 'operator' | 'viewer'): Promise<string> {
  const res = await api.request('POST', '/v1/keys', { key: ctx.tenant.key, body: { name: `sync-${role}`, role } });
  expect(res.status).toBe(201);
  return res.body!.key as string;
}

async function syncNow(collectionId: string, sourceId: string): Promise<{ workflowId: string; report: SyncReport }> {
  const res = await api.request('POST', `/v1/collections/${collectionId}/sources/${sourceId}/sync`, {
    key: ctx.tenant.key,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  const workflowId = res.body!.workflowId as string;
  const report = await ctx.client.workflow.getHandle<typeof syncSource>(workflowId).result();
  return { workflowId, report };
}

/** Saves a sync's history for test/sync-source-replay.test.ts when RECORD_SYNC_HISTORIES=1. */
async function maybeRecord(workflowId: string, name: string) {
  if (process.env.RECORD_SYNC_HISTORIES !== '1') return;
  const history = await ctx.client.workflow.getHandle(workflowId).fetchHistory();
  const json = JSON.parse(historyToJSON(history)) as Record<string, unknown>;
  await writeFile(
    new URL(`./histories/sync-source-${name}.json`, import.meta.url),
    JSON.stringify({ workflowId, ...json }, null, 2) + '\n',
  );
}

async function expectedChunks(body: string, filename: string, mimeType?: string) {
  return chunkDocument(await parseDocument({ bytes: Buffer.from(body), filename, mimeType }), CHUNKING).map(
    (c) => c.text,
  );
}

/** The collection's documents with their chunks' texts in order, by source. */
async function stored(collectionId: string) {
  const rows = (await ctx.orm.em.getConnection().execute(
    `select d.source, d.status, d.chunk_count, coalesce(array_agg(c.text order by c.ordinal) filter (where c.id is not null), '{}') as texts
       from documents d left join chunks c on c.document_id = d.id
      where d.collection_id = ? group by d.id order by d.source`,
    [collectionId],
  )) as Array<{ source: string; status: string; chunk_count: number; texts: string[] }>;
  return Object.fromEntries(rows.map((r) => [r.source, r]));
}

/** Exactly the chunks one clean ingest of each current page makes: nothing stale, nothing twice. */
async function expectExactly(
  collectionId: string,
  current: Record<string, { body: string; filename: string; type?: string }>,
) {
  const docs = await stored(collectionId);
  expect(Object.keys(docs).sort()).toEqual(Object.keys(current).sort());
  for (const [source, { body, filename, type }] of Object.entries(current)) {
    expect(docs[source]!.status, source).toBe('ready');
    expect(docs[source]!.texts, source).toEqual(await expectedChunks(body, filename, type));
    expect(docs[source]!.chunk_count, source).toBe(docs[source]!.texts.length);
  }
}

describe('a URL list source', () => {
  let collectionId: string;
  let sourceId: string;
  const paths = ['/p1', '/p2', '/p3', '/p4', '/p5', '/p6'];
  const current = () =>
    Object.fromEntries(
      [...site.pages.entries()]
        .filter(([path]) => path.startsWith('/p'))
        .map(([path, p]) => [site.url(path), { body: p.body, filename: path, type: p.type }]),
    );

  it('attaches a source and answers its shape', async () => {
    collectionId = await collection('sync-urls');
    for (const p of paths) site.set(p, page(`Page ${p}`, `Original ${p}`));
    const res = await api.request('POST', `/v1/collections/${collectionId}/sources`, {
      key: ctx.tenant.key,
      body: { kind: 'urls', name: 'handbook', urls: paths.map((p) => site.url(p)) },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      collectionId,
      kind: 'urls',
      name: 'handbook',
      config: { urls: paths.map((p) => site.url(p)) },
      createdAt: expect.any(String),
      createdBy: expect.stringContaining('test'),
      documents: 0,
      lastSync: null,
    });
    sourceId = res.body!.id;
    const list = await api.request('GET', `/v1/collections/${collectionId}/sources`, { key: ctx.tenant.key });
    expect(list.body).toEqual({ sources: [res.body] });
    expect(sourcesResponse.safeParse(list.body).error).toBeUndefined();
  });

  it('adds every page on the first sync', async () => {
    const { workflowId, report } = await syncNow(collectionId, sourceId);
    expect(report).toMatchObject({ added: 6, changed: 0, unchanged: 0, removed: 0, failed: 0, failures: [] });
    expect(workflowId.startsWith(workflowIds.batch(ctx.tenant.id, `sync-${sourceId}-`))).toBe(true);
    await expectExactly(collectionId, current());
    expect(report.chunks).toBe(Object.values(await stored(collectionId)).reduce((n, d) => n + d.chunk_count, 0));
    const one = await api.request('GET', `/v1/collections/${collectionId}/sources/${sourceId}`, {
      key: ctx.tenant.key,
    });
    expect(sourceResponse.safeParse(one.body).error).toBeUndefined();
    expect(one.body).toMatchObject({
      documents: 6,
      lastSync: {
        workflowId,
        status: 'completed',
        startedAt: expect.any(String),
        finishedAt: expect.any(String),
        added: 6,
        changed: 0,
        unchanged: 0,
        removed: 0,
        failed: 0,
        failures: [],
      },
    });
    await maybeRecord(workflowId, 'urls-first');
  });

  it('after one page changed, one removed and one added: added 1, changed 1, unchanged 4, removed 1', async () => {
    site.set('/p2', page('Page /p2', 'Rewritten p2'));
    site.pages.delete('/p6');
    site.set('/p7', page('Page /p7', 'Brand new p7'));
    const patched = await api.request('PATCH', `/v1/collections/${collectionId}/sources/${sourceId}`, {
      key: ctx.tenant.key,
      body: { urls: ['/p1', '/p2', '/p3', '/p4', '/p5', '/p7'].map((p) => site.url(p)) },
    });
    expect(patched.status).toBe(200);
    expect(patched.body!.config.urls).toHaveLength(6);
    site.notModified.clear();
    const { report } = await syncNow(collectionId, sourceId);
    expect(report).toMatchObject({ added: 1, changed: 1, unchanged: 4, removed: 1, failed: 0 });
    // The unchanged pages were asked for conditionally (their ETag) and answered 304 without a body.
    expect(Object.fromEntries(site.notModified)).toEqual({ '/p1': 1, '/p3': 1, '/p4': 1, '/p5': 1 });
    await expectExactly(collectionId, current());
    const texts = Object.values(await stored(collectionId)).flatMap((d) => d.texts);
    expect(texts.some((t) => t.includes('Original /p2'))).toBe(false);
    expect(texts.some((t) => t.includes('Rewritten p2'))).toBe(true);
    const [dupes] = await ctx.orm.em
      .getConnection()
      .execute(
        `select count(*)::int as n from (select document_id, text from chunks where collection_id = ? group by document_id, ordinal, text having count(*) > 1) x`,
        [collectionId],
      );
    expect(dupes?.n).toBe(0);
  });

  it('counts a page that stopped answering as failed and keeps its indexed chunks', async () => {
    site.pages.delete('/p5');
    const before = await stored(collectionId);
    const { report } = await syncNow(collectionId, sourceId);
    expect(report).toMatchObject({ added: 0, changed: 0, unchanged: 5, removed: 0, failed: 1 });
    expect(report.failures).toEqual([{ location: site.url('/p5'), reason: expect.stringContaining('404') }]);
    expect((await stored(collectionId))[site.url('/p5')]!.texts).toEqual(before[site.url('/p5')]!.texts);
    site.set('/p5', page('Page /p5', 'Original /p5'));
  });

  it('detaching the source deletes its documents and their chunks', async () => {
    const del = await api.request('DELETE', `/v1/collections/${collectionId}/sources/${sourceId}`, {
      key: ctx.tenant.key,
    });
    expect(del.status).toBe(204);
    expect(await stored(collectionId)).toEqual({});
    const [chunks] = await ctx.orm.em
      .getConnection()
      .execute(`select count(*)::int as n from chunks where collection_id = ?`, [collectionId]);
    expect(chunks?.n).toBe(0);
    const gone = await api.request('GET', `/v1/collections/${collectionId}/sources/${sourceId}`, {
      key: ctx.tenant.key,
    });
    expect(gone.status).toBe(404);
  });
});

describe('two sources of one collection', () => {
  it('adopts a document the collection has from no source, and leaves one of another source alone', async () => {
    const collectionId = await collection('sync-two-sources');
    site.set('/t1', page('T1', 'Shared t1'));
    site.set('/t2', page('T2', 'Own t2'));
    site.set('/t3', page('T3', 'Loose t3'));
    const loose = await api.request('POST', `/v1/collections/${collectionId}/urls`, {
      key: ctx.tenant.key,
      body: { urls: [site.url('/t3')] },
    });
    expect(loose.status).toBe(202);
    await ctx.client.workflow.getHandle(loose.body!.workflowId).result();
    const add = async (urls: string[]) =>
      (
        await api.request('POST', `/v1/collections/${collectionId}/sources`, {
          key: ctx.tenant.key,
          body: { kind: 'urls', urls: urls.map((p) => site.url(p)) },
        })
      ).body!.id as string;
    const a = await add(['/t1']);
    const b = await add(['/t1', '/t2', '/t3']);
    expect((await syncNow(collectionId, a)).report).toMatchObject({ added: 1, failed: 0 });
    const { report } = await syncNow(collectionId, b);
    expect(report).toMatchObject({ added: 1, unchanged: 1, failed: 1, removed: 0 });
    expect(report.failures).toEqual([
      { location: site.url('/t1'), reason: 'The collection has this document from another source.' },
    ]);
    const list = await api.request('GET', `/v1/collections/${collectionId}/sources`, { key: ctx.tenant.key });
    const counts = Object.fromEntries(
      list.body!.sources.map((s: { id: string; documents: number }) => [s.id, s.documents]),
    );
    expect(counts).toEqual({ [a]: 1, [b]: 2 });
    // Detaching the second source takes its own and the adopted document, not the first source's.
    await api.request('DELETE', `/v1/collections/${collectionId}/sources/${b}`, { key: ctx.tenant.key });
    expect(Object.keys(await stored(collectionId))).toEqual([site.url('/t1')]);
  });
});

describe('one sync per source at a time', () => {
  it('answers 409 sync_running while a sync runs, and a second run started anyway refuses in the workflow', async () => {
    const collectionId = await collection('sync-gate');
    site.set('/gate', page('Gate', 'Held page'));
    const created = await api.request('POST', `/v1/collections/${collectionId}/sources`, {
      key: ctx.tenant.key,
      body: { kind: 'urls', urls: [site.url('/gate')] },
    });
    const sourceId = created.body!.id as string;
    const held = new Promise<void>((r) => (site.onHeld = r));
    site.holdPath = '/gate';
    const first = await api.request('POST', `/v1/collections/${collectionId}/sources/${sourceId}/sync`, {
      key: ctx.tenant.key,
    });
    expect(first.status).toBe(202);
    await held; // the first sync is fetching the page now
    const second = await api.request('POST', `/v1/collections/${collectionId}/sources/${sourceId}/sync`, {
      key: ctx.tenant.key,
    });
    expect(second.status).toBe(409);
    expect(second.body!.error).toMatchObject({ code: 'sync_running', details: { workflowId: first.body!.workflowId } });

    // A run that bypasses the API (as a schedule's would) finds the source held and changes nothing.
    const rogue = ctx.client.workflow.execute(syncSource, {
      taskQueue: taskQueues(ctx.config.temporal.taskQueue).main,
      workflowId: workflowIds.batch(ctx.tenant.id, `sync-${sourceId}-rogue`),
      args: [{ tenantId: ctx.tenant.id, collectionId, sourceId, actor: 'test' }],
    });
    const error = await rogue.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const types: string[] = [];
    for (let e = error as { cause?: unknown; type?: string } | undefined; e; e = e.cause as typeof e)
      if (e.type) types.push(e.type);
    expect(types).toContain('sync_running');
    await maybeRecord(workflowIds.batch(ctx.tenant.id, `sync-${sourceId}-rogue`), 'refused-while-running');

    site.release();
    const report = await ctx.client.workflow.getHandle<typeof syncSource>(first.body!.workflowId).result();
    expect(report).toMatchObject({ added: 1, failed: 0 });
    const view = await api.request('GET', `/v1/collections/${collectionId}/sources/${sourceId}`, {
      key: ctx.tenant.key,
    });
    expect(view.body!.lastSync).toMatchObject({ workflowId: first.body!.workflowId, status: 'completed', added: 1 });
  });
});

describe('a sitemap source', () => {
  it('follows a sitemap index to its sitemaps, and a page gone from a sitemap is removed', async () => {
    const collectionId = await collection('sync-sitemap');
    for (const p of ['/s/a', '/s/b', '/s/c']) site.set(p, page(`Sitemap page ${p}`, `Sitemap ${p}`));
    site.set('/sitemap.xml', sitemapIndex([site.url('/sitemap-1.xml'), site.url('/sitemap-2.xml')]), 'application/xml');
    site.set('/sitemap-1.xml', sitemap([site.url('/s/a'), site.url('/s/b')]), 'application/xml');
    site.set('/sitemap-2.xml', sitemap([site.url('/s/c')]), 'text/xml');
    const created = await api.request('POST', `/v1/collections/${collectionId}/sources`, {
      key: ctx.tenant.key,
      body: { kind: 'sitemap', url: site.url('/sitemap.xml') },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      kind: 'sitemap',
      name: site.url('/sitemap.xml'),
      config: { url: site.url('/sitemap.xml') },
    });
    const sourceId = created.body!.id as string;
    const first = await syncNow(collectionId, sourceId);
    expect(first.report).toMatchObject({ added: 3, changed: 0, unchanged: 0, removed: 0, failed: 0 });

    site.set('/sitemap-1.xml', sitemap([site.url('/s/a')]), 'application/xml');
    site.set('/s/c', page('Sitemap page /s/c', 'Changed c'));
    const second = await syncNow(collectionId, sourceId);
    expect(second.report).toMatchObject({ added: 0, changed: 1, unchanged: 1, removed: 1, failed: 0 });
    const current = Object.fromEntries(
      ['/s/a', '/s/c'].map((p) => [
        site.url(p),
        { body: site.pages.get(p)!.body, filename: p, type: site.pages.get(p)!.type },
      ]),
    );
    await expectExactly(collectionId, current);
    await maybeRecord(second.workflowId, 'sitemap-changes');
  });

  it('fails the sync, removing nothing, when the sitemap cannot be read', async () => {
    const collectionId = await collection('sync-sitemap-broken');
    site.set('/s/x', page('X', 'Page x'));
    site.set('/broken-sitemap.xml', sitemap([site.url('/s/x')]), 'application/xml');
    const created = await api.request('POST', `/v1/collections/${collectionId}/sources`, {
      key: ctx.tenant.key,
      body: { kind: 'sitemap', url: site.url('/broken-sitemap.xml') },
    });
    const sourceId = created.body!.id as string;
    expect((await syncNow(collectionId, sourceId)).report).toMatchObject({ added: 1 });
    site.pages.delete('/broken-sitemap.xml');
    const res = await api.request('POST', `/v1/collections/${collectionId}/sources/${sourceId}/sync`, {
      key: ctx.tenant.key,
    });
    const failed = await ctx.client.workflow
      .getHandle(res.body!.workflowId)
      .result()
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(failed).toBeInstanceOf(WorkflowFailedError);
    await maybeRecord(res.body!.workflowId, 'sitemap-unreadable');
    const view = await api.request('GET', `/v1/collections/${collectionId}/sources/${sourceId}`, {
      key: ctx.tenant.key,
    });
    expect(view.body).toMatchObject({ documents: 1, lastSync: { status: 'failed', finishedAt: expect.any(String) } });
  });
});

describe('a folder source', () => {
  it('is attached by admins only, inside INGEST_FOLDER_ROOTS only', async () => {
    const collectionId = await collection('sync-folder-rules');
    const byOperator = await api.request('POST', `/v1/collections/${collectionId}/sources`, {
      key: await keyOf('operator'),
      body: { kind: 'folder', path: folderRoot },
    });
    expect(byOperator.status).toBe(403);
    expect(byOperator.body!.error.code).toBe('forbidden');
    const outside = await api.request('POST', `/v1/collections/${collectionId}/sources`, {
      key: ctx.tenant.key,
      body: { kind: 'folder', path: inject('tmpDir') },
    });
    expect(outside.status).toBe(403);
    expect(outside.body!.error.code).toBe('folder_not_allowed');
    const missing = await api.request('POST', `/v1/collections/${collectionId}/sources`, {
      key: ctx.tenant.key,
      body: { kind: 'folder', path: join(folderRoot, 'nope') },
    });
    expect(missing.status).toBe(400);
    expect(missing.body!.error.code).toBe('folder_not_found');
  });

  it('syncs the ingestible files under the folder, recursively; changed and deleted files are found', async () => {
    const dir = join(folderRoot, 'handbook');
    await mkdir(join(dir, 'nested'), { recursive: true });
    const files: Record<string, string> = {
      'a.md': `# Alpha\n\n${'Alpha explains folder sync. '.repeat(6)}`,
      'b.txt': `Bravo notes.\n\n${'Bravo is plain text. '.repeat(6)}`,
      'nested/c.md': `# Charlie\n\n${'Charlie lives in a nested folder. '.repeat(6)}`,
    };
    for (const [name, body] of Object.entries(files)) await writeFile(join(dir, name), body);
    await writeFile(join(dir, 'image.bin'), Buffer.alloc(32, 1));
    await writeFile(join(dir, '.hidden.md'), '# Hidden');
    // A link to a file outside INGEST_FOLDER_ROOTS is not followed.
    const outside = join(await mkdtemp(join(inject('tmpDir'), 'outside-')), 'secret.md');
    await writeFile(outside, '# Secret outside the roots');
    await symlink(outside, join(dir, 'link.md'));
    const collectionId = await collection('sync-folder');
    const created = await api.request('POST', `/v1/collections/${collectionId}/sources`, {
      key: ctx.tenant.key,
      body: { kind: 'folder', name: 'handbook folder', path: dir },
    });
    expect(created.status).toBe(201);
    const sourceId = created.body!.id as string;
    const first = await syncNow(collectionId, sourceId);
    expect(first.report).toMatchObject({ added: 3, changed: 0, unchanged: 0, removed: 0, failed: 0 });

    files['b.txt'] = `Bravo notes, second edition.\n\n${'Bravo was rewritten. '.repeat(6)}`;
    await writeFile(join(dir, 'b.txt'), files['b.txt']);
    await utimes(join(dir, 'b.txt'), new Date(), new Date(Date.now() + 5_000));
    await rm(join(dir, 'nested/c.md'));
    delete files['nested/c.md'];
    const second = await syncNow(collectionId, sourceId);
    expect(second.report).toMatchObject({ added: 0, changed: 1, unchanged: 1, removed: 1, failed: 0 });
    await expectExactly(
      collectionId,
      Object.fromEntries(
        Object.entries(files).map(([name, body]) => [join(dir, name), { body, filename: join(dir, name) }]),
      ),
    );
  });
});

describe('tenancy and validation', () => {
  let collectionId: string;
  let sourceId: string;
  beforeAll(async () => {
    collectionId = await collection('sync-tenancy');
    const res = await api.request('POST', `/v1/collections/${collectionId}/sources`, {
      key: ctx.tenant.key,
      body: { kind: 'urls', urls: [site.url('/p1')] },
    });
    sourceId = res.body!.id;
  });

  it("answers another tenant's collection and source ids exactly like missing ones", async () => {
    const other = await ctx.addTenant('admin');
    const missing = '00000000-0000-4000-8000-000000000000';
    const calls: Array<[string, string, unknown?]> = [
      ['GET', `/v1/collections/${collectionId}/sources`],
      ['POST', `/v1/collections/${collectionId}/sources`, { kind: 'urls', urls: [site.url('/p1')] }],
      ['GET', `/v1/collections/${collectionId}/sources/${sourceId}`],
      ['PATCH', `/v1/collections/${collectionId}/sources/${sourceId}`, { name: 'x' }],
      ['DELETE', `/v1/collections/${collectionId}/sources/${sourceId}`],
      ['POST', `/v1/collections/${collectionId}/sources/${sourceId}/sync`],
    ];
    for (const [method, path, body] of calls) {
      const foreign = await api.request(method, path, { key: other.key, body });
      const absent = await api.request(method, path.replace(collectionId, missing), { key: other.key, body });
      expect(foreign.status, `${method} ${path}`).toBe(404);
      expect(foreign.body, `${method} ${path}`).toEqual(absent.body);
    }
    const ownCollection = await collection('sync-tenancy-other', other.key);
    const foreignSource = await api.request('GET', `/v1/collections/${ownCollection}/sources/${sourceId}`, {
      key: other.key,
    });
    const absentSource = await api.request('GET', `/v1/collections/${ownCollection}/sources/${missing}`, {
      key: other.key,
    });
    expect(foreignSource.status).toBe(404);
    expect(foreignSource.body).toEqual(absentSource.body);
    expect(
      (await api.request('GET', `/v1/collections/${ownCollection}/sources/not-a-uuid`, { key: other.key })).status,
    ).toBe(404);
    // Nothing of the first tenant changed.
    const mine = await api.request('GET', `/v1/collections/${collectionId}/sources/${sourceId}`, {
      key: ctx.tenant.key,
    });
    expect(mine.body).toMatchObject({ name: expect.not.stringMatching(/^x$/), lastSync: null });
  });

  it('refuses bad bodies with 400 and the standard error shape', async () => {
    const post = (body: unknown) =>
      api.request('POST', `/v1/collections/${collectionId}/sources`, { key: ctx.tenant.key, body });
    for (const body of [
      {},
      { kind: 'ftp', url: site.url('/p1') },
      { kind: 'urls', urls: [] },
      { kind: 'urls', urls: ['ftp://example.com/x'] },
      { kind: 'urls', urls: Array.from({ length: 1001 }, (_, i) => `${site.url('/p')}${i}`) },
      { kind: 'urls', urls: [site.url('/p1')], extra: true },
      { kind: 'sitemap', urls: [site.url('/p1')] },
      { kind: 'folder', path: 'relative/path' },
    ]) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body).slice(0, 100)).toBe(400);
      expect(res.body!.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
    }
    const withCredentials = await post({ kind: 'urls', urls: ['http://user:secret@example.com/x'] });
    expect(withCredentials.status).toBe(400);
    expect(withCredentials.body!.error.code).toBe('url_credentials_not_allowed');
    expect(JSON.stringify(withCredentials.body)).not.toContain('secret');

    const patch = (body: unknown) =>
      api.request('PATCH', `/v1/collections/${collectionId}/sources/${sourceId}`, { key: ctx.tenant.key, body });
    const wrongKind = await patch({ url: site.url('/sitemap.xml') });
    expect(wrongKind.status).toBe(400);
    expect(wrongKind.body!.error.code).toBe('source_kind_mismatch');
    expect((await patch({ kind: 'sitemap' })).status).toBe(400);
    expect((await patch({ urls: [] })).status).toBe(400);
    const renamed = await patch({ name: 'renamed' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'renamed', config: { urls: [site.url('/p1')] } });
  });

  it('lets viewers read and not write', async () => {
    const viewer = await keyOf('viewer');
    const list = await api.request('GET', `/v1/collections/${collectionId}/sources`, { key: viewer });
    expect(list.status).toBe(200);
    expect(list.body!.sources).toHaveLength(1);
    expect(
      (await api.request('GET', `/v1/collections/${collectionId}/sources/${sourceId}`, { key: viewer })).status,
    ).toBe(200);
    for (const [method, path, body] of [
      ['POST', `/v1/collections/${collectionId}/sources`, { kind: 'urls', urls: [site.url('/p1')] }],
      ['PATCH', `/v1/collections/${collectionId}/sources/${sourceId}`, { name: 'x' }],
      ['DELETE', `/v1/collections/${collectionId}/sources/${sourceId}`, undefined],
      ['POST', `/v1/collections/${collectionId}/sources/${sourceId}/sync`, undefined],
    ] as const) {
      expect((await api.request(method, path, { key: viewer, body })).status, `${method} ${path}`).toBe(403);
    }
  });
});
