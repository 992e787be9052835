import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildDocx, buildPdf, SPHINX_PAGE } from './document-fixtures';
import { textIndexName, vectorIndexName } from '../lib/ingest/vector-index';
import { setupTestContext, startTestApi, type TestContext } from './harness';

let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;

let folderRoot: string;

afterAll(() => ctx?.close());
beforeAll(async () => {
  folderRoot = await mkdtemp(join(inject('tmpDir'), 'folder-root-'));
  // A low index threshold so these small collections get their HNSW index (the default waits for 10,000 chunks).
  ctx = await setupTestContext({
    INGEST_MAX_FILE_BYTES: '200kb',
    INGEST_MAX_REQUEST_BYTES: '1mb',
    INGEST_FOLDER_ROOTS: folderRoot,
    INGEST_VECTOR_INDEX_MIN_ROWS: '5',
  });
  api = await startTestApi(ctx);
  await ctx.startWorker();
});

const MARKDOWN = `# Durable ingestion

BeyondCloud ingests documents as Temporal workflows.

## Retries

Every activity has a retry policy. A crashed worker does not lose a document.

## Storage

Chunks are stored in Postgres with pgvector embeddings and a full-text vector.
`;

function files(): Record<string, Buffer> {
  return {
    'guide.md': Buffer.from(MARKDOWN),
    'notes.txt': Buffer.from('Plain text notes.\n\nThe second paragraph mentions pgvector indexes.'),
    'functions.html': Buffer.from(SPHINX_PAGE),
    'cities.csv': Buffer.from('city,country,population\nParis,France,2100000\nBerlin,Germany,3600000\n'),
    'records.json': Buffer.from(
      JSON.stringify([{ name: 'alpha', tags: ['a', 'b'], meta: { owner: 'ops' } }, { name: 'beta' }]),
    ),
    'report.pdf': buildPdf([['Quarterly report', 'Revenue grew by 12 percent.'], ['Page two talks about costs.']]),
    'spec.docx': buildDocx([
      { style: 'Heading1', text: 'Specification' },
      { text: 'The system shall be durable.' },
      { style: 'Heading2', text: 'Limits' },
      { text: 'Uploads are capped per file.' },
    ]),
    'broken.pdf': Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(64, 7)]),
  };
}

async function upload(collectionId: string, entries: Record<string, Buffer>, key = ctx.tenant.key, query = '') {
  const form = new FormData();
  for (const [name, bytes] of Object.entries(entries)) form.append('file', new Blob([bytes]), name);
  const res = await fetch(`${api.base}/v1/collections/${collectionId}/documents${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: form,
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function finished(workflowId: string) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const res = await api.request('GET', `/v1/ingests/${encodeURIComponent(workflowId)}`, { key: ctx.tenant.key });
    expect(res.status).toBe(200);
    if (res.body!.status !== 'running') return res.body!;
    if (Date.now() > deadline) throw new Error('ingest did not finish');
    await sleep(200);
  }
}

const chunkRows = async (collectionId: string) =>
  (await ctx.orm.em
    .getConnection()
    .execute(
      'select id, document_id, ordinal, content_hash, heading_path, page, embedding_dim, text from chunks where collection_id = ? order by document_id, ordinal',
      [collectionId],
    )) as Array<{
    id: string;
    document_id: string;
    ordinal: number;
    content_hash: string;
    heading_path: string[];
    page: number | null;
    embedding_dim: number;
    text: string;
  }>;

describe('ingestion', () => {
  let collectionId: string;

  it('creates a collection with the default local embedder, the semantic one (its files fetched by the test setup)', async () => {
    const res = await api.request('POST', '/v1/collections', {
      key: ctx.tenant.key,
      body: { name: 'docs', chunkSize: 120, chunkOverlap: 20 },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'docs',
      embeddingModel: 'local-minilm-l6',
      embeddingDim: 384,
      chunkSize: 120,
      combineSections: true,
    });
    collectionId = res.body!.id;
    const dup = await api.request('POST', '/v1/collections', { key: ctx.tenant.key, body: { name: 'docs' } });
    expect(dup.status).toBe(409);
  });

  it('ingests every format; a corrupt file fails with a reason and the batch goes on', async () => {
    const res = await upload(collectionId, files());
    expect(res.status).toBe(202);
    const run = await finished(res.body.workflowId);
    expect(run.status).toBe('completed');
    expect(run.progress).toMatchObject({ total: 8, done: 8, failed: 1, skipped: 0 });

    const docs = (await api.request('GET', `/v1/collections/${collectionId}/documents`, { key: ctx.tenant.key })).body!
      .documents as Array<{ id: string; source: string; status: string; error: string | null; chunkCount: number }>;
    const byName = Object.fromEntries(docs.map((d) => [d.source, d]));
    for (const name of [
      'guide.md',
      'notes.txt',
      'functions.html',
      'cities.csv',
      'records.json',
      'report.pdf',
      'spec.docx',
    ]) {
      expect(byName[name], name).toMatchObject({ status: 'ready', error: null });
      expect(byName[name]!.chunkCount, name).toBeGreaterThan(0);
    }
    expect(byName['broken.pdf']).toMatchObject({ status: 'failed', chunkCount: 0 });
    expect(byName['broken.pdf']!.error).toMatch(/pdf/i);
    expect(run.progress.failures).toEqual([{ documentId: expect.any(String), reason: byName['broken.pdf']!.error }]);

    const chunks = await chunkRows(collectionId);
    expect(chunks.every((c) => c.embedding_dim === 384)).toBe(true);
    // Short sections are packed (the default): one chunk under the page's heading, the sub-headings kept as lines.
    expect(chunks.filter((c) => c.document_id === byName['guide.md']!.id).map((c) => [c.heading_path, c.text])).toEqual(
      [
        [
          ['Durable ingestion'],
          'BeyondCloud ingests documents as Temporal workflows.\n\nRetries\n\nEvery activity has a retry policy. A crashed worker does not lose a document.\n\n' +
            'Storage\n\nChunks are stored in Postgres with pgvector embeddings and a full-text vector.',
        ],
      ],
    );
    expect(chunks.some((c) => c.page === 2)).toBe(true);
    expect(
      chunks.some(
        (c) =>
          c.heading_path.join(' > ') === 'Specification' &&
          c.text.includes('\n\nLimits\n\nUploads are capped per file.'),
      ),
    ).toBe(true);

    const [hit] = await ctx.orm.em
      .getConnection()
      .execute(
        `select text from chunks where collection_id = ? and tsv @@ plainto_tsquery('english', 'crashed worker')`,
        [collectionId],
      );
    expect(hit?.text).toContain('A crashed worker does not lose a document.');
    expect(run.progress.vectorIndex).toMatchObject({
      status: 'built',
      rows: chunks.length,
      textIndex: { status: 'built', rows: chunks.length },
    });
    expect(
      await ctx.orm.em
        .getConnection()
        .execute(`select 1 as x from pg_indexes where indexname = ?`, [textIndexName(collectionId)]),
    ).toEqual([{ x: 1 }]);
  });

  it('keeps one chunk per section in a collection created with combineSections: false', async () => {
    const bad = await api.request('POST', '/v1/collections', {
      key: ctx.tenant.key,
      body: { name: 'apart', combineSections: 'no' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body!.error.code).toBe('validation_failed');
    const created = await api.request('POST', '/v1/collections', {
      key: ctx.tenant.key,
      body: { name: 'apart', chunkSize: 120, chunkOverlap: 20, combineSections: false },
    });
    expect(created.status).toBe(201);
    const apartId = created.body!.id as string;
    const listed = (await api.request('GET', '/v1/collections', { key: ctx.tenant.key })).body!.collections as Array<{
      id: string;
      combineSections: boolean;
    }>;
    expect(listed.find((c) => c.id === apartId)?.combineSections).toBe(false);
    expect(listed.find((c) => c.id === collectionId)?.combineSections).toBe(true);

    const { 'guide.md': guide, 'spec.docx': spec } = files();
    const res = await upload(apartId, { 'guide.md': guide!, 'spec.docx': spec! });
    expect((await finished(res.body.workflowId)).progress).toMatchObject({ total: 2, done: 2, failed: 0 });
    const chunks = await chunkRows(apartId);
    expect(chunks.map((c) => c.heading_path.join(' > ')).sort()).toEqual(
      [
        'Durable ingestion',
        'Durable ingestion > Retries',
        'Durable ingestion > Storage',
        'Specification',
        'Specification > Limits',
      ].sort(),
    );
    expect(chunks.find((c) => c.heading_path.at(-1) === 'Retries')?.text).toBe(
      'Every activity has a retry policy. A crashed worker does not lose a document.',
    );
  });

  it("builds the collection's HNSW index once, and nearest-neighbour searches of that collection use it", async () => {
    const conn = ctx.orm.em.getConnection();
    const [index] = await conn.execute(`select indexdef from pg_indexes where tablename = 'chunks' and indexname = ?`, [
      vectorIndexName(collectionId),
    ]);
    expect(index?.indexdef).toContain('USING hnsw (((embedding)::vector(384)) vector_cosine_ops)');
    expect(index?.indexdef).toContain(`WHERE (collection_id = '${collectionId}'::uuid)`);

    // The retrieval query's shape (lib/rag): one collection pinned, ordered by the cast embedding's cosine distance.
    const [probe] = await conn.execute(
      `select id, embedding::text as embedding from chunks where collection_id = ? order by document_id, ordinal offset 3 limit 1`,
      [collectionId],
    );
    const search = `select id from chunks where tenant_id = ? and collection_id = any(?::uuid[]) and embedding_dim = 384
                    order by embedding::vector(384) <=> ?::vector(384) limit 3`;
    const args = [ctx.tenant.id, `{${collectionId}}`, probe!.embedding];
    const plan = await ctx.orm.em.fork().transactional(async (em) => {
      const c = em.getConnection();
      const tx = em.getTransactionContext();
      // Too few rows for the planner to prefer the index on cost; forbid the alternatives to see that it can.
      await c.execute('set local enable_seqscan = off', [], 'run', tx);
      await c.execute('set local enable_sort = off', [], 'run', tx);
      return c.execute(`explain ${search}`, args, 'all', tx);
    });
    expect(JSON.stringify(plan)).toContain(vectorIndexName(collectionId));
    const [nearest] = await conn.execute(search, args);
    expect(nearest?.id).toBe(probe!.id);
  });

  it('indexes a halfvec collection with a halfvec HNSW index, searched through the same cast', async () => {
    const res = await api.request('POST', '/v1/collections', {
      key: ctx.tenant.key,
      body: { name: 'half', chunkSize: 16, chunkOverlap: 4 },
    });
    const halfId = res.body!.id as string;
    // No API field for it yet: the column is what ingestion reads.
    await ctx.orm.em
      .getConnection()
      .execute(`update collections set embedding_type = 'halfvec' where id = ?`, [halfId]);
    const run = await finished(
      (await upload(halfId, { 'guide.md': Buffer.from(MARKDOWN), 'functions.html': files()['functions.html']! })).body
        .workflowId,
    );
    expect(run.progress).toMatchObject({ done: 2, failed: 0, vectorIndex: { status: 'built' } });
    const conn = ctx.orm.em.getConnection();
    const [index] = await conn.execute(`select indexdef from pg_indexes where indexname = ?`, [
      vectorIndexName(halfId),
    ]);
    expect(index?.indexdef).toContain('USING hnsw (((embedding)::halfvec(384)) halfvec_cosine_ops)');
    const [probe] = await conn.execute(
      `select id, embedding::text as embedding from chunks where collection_id = ? order by ordinal limit 1`,
      [halfId],
    );
    const [nearest] = await conn.execute(
      `select id from chunks where collection_id = ? order by embedding::halfvec(384) <=> ?::halfvec(384) limit 1`,
      [halfId, probe!.embedding],
    );
    expect(nearest?.id).toBe(probe!.id);

    expect(await conn.execute(`select 1 as x from pg_indexes where indexname = ?`, [textIndexName(halfId)])).toEqual([
      { x: 1 },
    ]);
    // Deleting the collection drops its indexes with it.
    expect((await api.request('DELETE', `/v1/collections/${halfId}`, { key: ctx.tenant.key })).status).toBe(204);
    expect(await conn.execute(`select 1 from pg_indexes where indexname = ?`, [vectorIndexName(halfId)])).toEqual([]);
    expect(await conn.execute(`select 1 from pg_indexes where indexname = ?`, [textIndexName(halfId)])).toEqual([]);
  });

  it('skips unchanged documents on re-ingest and replaces the chunks of a changed one, never duplicating', async () => {
    const before = await chunkRows(collectionId);
    const same = await upload(collectionId, { 'guide.md': Buffer.from(MARKDOWN), 'notes.txt': files()['notes.txt']! });
    expect(same.status, JSON.stringify(same.body)).toBe(202);
    const run = await finished(same.body.workflowId);
    expect(run.progress).toMatchObject({ total: 2, done: 2, skipped: 2, failed: 0, vectorIndex: { status: 'exists' } });
    expect(await chunkRows(collectionId)).toEqual(before);

    const changed = MARKDOWN.replace('a retry policy', 'an explicit retry policy with backoff');
    const run2 = await finished((await upload(collectionId, { 'guide.md': Buffer.from(changed) })).body.workflowId);
    expect(run2.progress).toMatchObject({ done: 1, skipped: 0, failed: 0 });
    const after = await chunkRows(collectionId);
    const guide = after.filter((c) => !before.some((b) => b.id === c.id));
    expect(guide.length).toBeGreaterThan(0);
    const keys = after.map((c) => `${c.document_id}:${c.ordinal}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('answers 413 for an oversize upload and stores nothing', async () => {
    const docsBefore = (await api.request('GET', `/v1/collections/${collectionId}/documents`, { key: ctx.tenant.key }))
      .body!.documents.length;
    const res = await upload(collectionId, {
      'small.txt': Buffer.from('fine'),
      'huge.txt': Buffer.alloc(300 * 1024, 97),
    });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
    expect(res.body.error.message).toContain('huge.txt');
    const docsAfter = (await api.request('GET', `/v1/collections/${collectionId}/documents`, { key: ctx.tenant.key }))
      .body!.documents.length;
    expect(docsAfter).toBe(docsBefore);
  });

  it('refuses URLs to loopback, private, link-local and metadata addresses, and non-http schemes', async () => {
    const bad = await api.request('POST', `/v1/collections/${collectionId}/urls`, {
      key: ctx.tenant.key,
      body: { urls: ['file:///etc/passwd'] },
    });
    expect(bad.status).toBe(400);
    const urls = [
      'http://127.0.0.1:9/x',
      'http://[::1]/',
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.5/doc',
    ];
    const res = await api.request('POST', `/v1/collections/${collectionId}/urls`, {
      key: ctx.tenant.key,
      body: { urls },
    });
    expect(res.status).toBe(202);
    const run = await finished(res.body!.workflowId);
    expect(run.progress).toMatchObject({ total: 4, failed: 4 });
    for (const f of run.progress.failures as Array<{ reason: string }>) expect(f.reason).toMatch(/not fetched/i);
  });

  it('keeps collections and documents away from another tenant: 404 like a missing one', async () => {
    const other = await ctx.addTenant('admin');
    expect((await api.request('GET', '/v1/collections', { key: other.key })).body!.collections).toEqual([]);
    const list = await api.request('GET', `/v1/collections/${collectionId}/documents`, { key: other.key });
    const missing = await api.request('GET', `/v1/collections/${crypto.randomUUID()}/documents`, { key: other.key });
    expect(list.status).toBe(404);
    expect(list).toEqual(missing);
    const docs = (await api.request('GET', `/v1/collections/${collectionId}/documents`, { key: ctx.tenant.key })).body!
      .documents as Array<{ id: string }>;
    const del = await api.request('DELETE', `/v1/documents/${docs[0]!.id}`, { key: other.key });
    expect(del.status).toBe(404);
    expect((await upload(collectionId, { 'x.txt': Buffer.from('x') }, other.key)).status).toBe(404);
    expect((await api.request('DELETE', `/v1/collections/${collectionId}`, { key: other.key })).status).toBe(404);
    expect((await chunkRows(collectionId)).length).toBeGreaterThan(0);
  });

  it('ingests a server-side folder for admins only, and never a path outside INGEST_FOLDER_ROOTS', async () => {
    const folder = join(folderRoot, 'handbook');
    await mkdir(join(folder, 'sub'), { recursive: true });
    await writeFile(join(folder, 'a.md'), '# A\n\nFirst handbook page about durable workflows.');
    await writeFile(join(folder, 'sub', 'b.txt'), 'Second page, in a sub-folder.');
    await writeFile(join(folder, '.hidden'), 'not ingested');
    await symlink('/etc', join(folderRoot, 'escape'));

    const operator = await ctx.addTenant('operator');
    expect(
      (
        await api.request('POST', `/v1/collections/${collectionId}/folder`, {
          key: operator.key,
          body: { path: folder },
        })
      ).status,
    ).toBe(403);
    for (const path of ['/etc', join(folderRoot, 'escape'), join(folderRoot, '..')]) {
      const res = await api.request('POST', `/v1/collections/${collectionId}/folder`, {
        key: ctx.tenant.key,
        body: { path },
      });
      expect(res.status, path).toBe(403);
      expect(res.body!.error.code).toBe('folder_not_allowed');
    }
    const res = await api.request('POST', `/v1/collections/${collectionId}/folder`, {
      key: ctx.tenant.key,
      body: { path: folder },
    });
    expect(res.status).toBe(202);
    expect(res.body!.documents.map((d: { source: string }) => d.source)).toEqual([
      join(folder, 'a.md'),
      join(folder, 'sub', 'b.txt'),
    ]);
    const run = await finished(res.body!.workflowId);
    expect(run.progress).toMatchObject({ total: 2, done: 2, failed: 0 });
  });

  it('deletes a document with its chunks', async () => {
    const docs = (await api.request('GET', `/v1/collections/${collectionId}/documents`, { key: ctx.tenant.key })).body!
      .documents as Array<{ id: string; chunkCount: number }>;
    const target = docs.find((d) => d.chunkCount > 0)!;
    expect((await api.request('DELETE', `/v1/documents/${target.id}`, { key: ctx.tenant.key })).status).toBe(204);
    expect((await chunkRows(collectionId)).some((c) => c.document_id === target.id)).toBe(false);
  });
});

describe('one upload, one run', () => {
  let collectionId: string;
  const runsOf = async (id: string) =>
    (await ctx.orm.em
      .getConnection()
      .execute(`select distinct metadata->>'lastIngest' as run from documents where collection_id = ?`, [
        id,
      ])) as Array<{
      run: string;
    }>;

  beforeAll(async () => {
    const res = await api.request('POST', '/v1/collections', { key: ctx.tenant.key, body: { name: 'uploads' } });
    collectionId = res.body!.id;
  });

  it('ingests files and URLs sent in several requests as one run, started once at the end', async () => {
    const id = crypto.randomUUID();
    const parts: Array<Record<string, Buffer>> = [
      { 'a.md': Buffer.from('# A\n\nThe first part of the upload.') },
      { 'b.md': Buffer.from('# B\n\nThe second part.'), 'c.txt': Buffer.from('The third file.') },
    ];
    for (const part of parts) {
      const sent = await upload(collectionId, part, ctx.tenant.key, `?upload=${id}`);
      expect(sent.status, JSON.stringify(sent.body)).toBe(201);
      expect(sent.body).toMatchObject({ workflowId: null, upload: id });
    }
    const urls = await api.request('POST', `/v1/collections/${collectionId}/urls`, {
      key: ctx.tenant.key,
      body: { urls: ['http://127.0.0.1:9/refused.html'], upload: id },
    });
    expect(urls.status).toBe(201);
    // Nothing runs before the start: the documents wait, pending.
    const waiting = await api.request('GET', `/v1/collections/${collectionId}/documents`, { key: ctx.tenant.key });
    expect(waiting.body!.documents.map((d: { status: string }) => d.status)).toEqual(Array(4).fill('pending'));

    const started = await api.request('POST', `/v1/collections/${collectionId}/uploads/${id}/ingest`, {
      key: ctx.tenant.key,
      body: {},
    });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ upload: id, documents: 4 });
    // A retried start is the same run.
    const again = await api.request('POST', `/v1/collections/${collectionId}/uploads/${id}/ingest`, {
      key: ctx.tenant.key,
      body: {},
    });
    expect(again.body!.workflowId).toBe(started.body!.workflowId);
    const run = await finished(started.body!.workflowId);
    expect(run.progress).toMatchObject({ total: 4, done: 4, failed: 1 });
    expect(await runsOf(collectionId)).toEqual([{ run: started.body!.workflowId }]);

    // The upload's run exists: a late part is refused (it would never be ingested), and nothing is stored.
    const late = await upload(collectionId, { 'd.md': Buffer.from('late') }, ctx.tenant.key, `?upload=${id}`);
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('upload_started');
    const after = await api.request('GET', `/v1/collections/${collectionId}/documents`, { key: ctx.tenant.key });
    expect(after.body!.documents).toHaveLength(4);
  });

  it('answers 404 for an upload that has no documents, or is another tenant’s, and 400 for a malformed id', async () => {
    const id = crypto.randomUUID();
    expect((await upload(collectionId, { 'e.md': Buffer.from('# E') }, ctx.tenant.key, `?upload=${id}`)).status).toBe(
      201,
    );
    const other = await ctx.addTenant('admin');
    const foreign = await api.request('POST', `/v1/collections/${collectionId}/uploads/${id}/ingest`, {
      key: other.key,
      body: {},
    });
    const missing = await api.request('POST', `/v1/collections/${collectionId}/uploads/${crypto.randomUUID()}/ingest`, {
      key: ctx.tenant.key,
      body: {},
    });
    expect(foreign.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(missing.body!.error.code).toBe('not_found');
    const bad = await upload(collectionId, { 'f.md': Buffer.from('# F') }, ctx.tenant.key, '?upload=has%20space');
    expect(bad.status).toBe(400);
    const badStart = await api.request('POST', `/v1/collections/${collectionId}/uploads/${'x'.repeat(65)}/ingest`, {
      key: ctx.tenant.key,
      body: {},
    });
    expect(badStart.status).toBe(400);
  });

  it('the CLI sends a folder of any size as one upload and follows its one run', async () => {
    const folder = await mkdtemp(join(inject('tmpDir'), 'cli-upload-'));
    await mkdir(join(folder, 'sub'));
    // 61 files: two requests of 50 and 11, one run.
    for (let i = 0; i < 61; i++)
      await writeFile(join(folder, i % 2 ? 'sub' : '', `page-${i}.md`), `# Page ${i}\n\nThe text of page ${i}.\n`);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'bin/cli.ts', 'ingest', folder, '--collection', 'uploads'],
      {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        env: { ...process.env, BC_API_URL: api.base, BC_API_KEY: ctx.tenant.key },
      },
    );
    expect(stdout).toContain('61 documents: 61 stored, 0 unchanged, 0 failed');
    const workflowId = /run: (\S+)/.exec(stdout)![1]!;
    const docs = (await ctx.orm.em
      .getConnection()
      .execute(
        `select metadata->>'lastIngest' as run, status from documents where collection_id = ? and source like 'page-%'`,
        [collectionId],
      )) as Array<{ run: string; status: string }>;
    expect(docs).toHaveLength(61);
    expect(new Set(docs.map((d) => d.run))).toEqual(new Set([workflowId]));
    expect(docs.every((d) => d.status === 'ready')).toBe(true);
  });
});
