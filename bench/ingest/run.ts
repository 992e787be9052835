/**
 * Ingestion throughput: documents/s and chunks/s end to end (parse → chunk → embed → store → index) through the
 * `ingestCollection` workflow, beside the same corpus through LangChain.js and beside a bulk-insert bound.
 *
 *   (cd bench/ingest && npm i --legacy-peer-deps)   # once: the LangChain packages, in this folder only
 *   npx tsx bench/ingest/run.ts                      # the first 150 pages of library/*.html
 *   BENCH_DOCS=all npx tsx bench/ingest/run.ts       # every library/*.html page
 *   BENCH_CONCURRENCY=4 npx tsx bench/ingest/run.ts  # the ingest run's concurrency (default 16)
 *   BENCH_PGLITE=inline npx tsx bench/ingest/run.ts  # PGlite in this process (default: a process of its own)
 *
 * Corpus: the Python 3.11 HTML documentation (Debian package python3.11-doc, installed with apt-get when
 * /usr/share/doc/python3.11/html is missing; BENCH_CORPUS_DIR points elsewhere), library/*.html sorted by name.
 * Starts its own Temporal dev server (in memory, free port, headless) and its own embedded Postgres (PGlite, in memory,
 * free port, migrated, served over pglite-socket; in a child process as `npm start` runs it apart from the worker, or
 * with BENCH_PGLITE=inline in this process), an in-process worker with the real activities and dependencies
 * (createWorker; the local LLM config with LLM_MODEL_EMBEDDING=local-embed-384, LocalProvider's hashing embedder; blobs in a temp
 * dir). First an untimed warm-up of both pipelines on the last BENCH_WARMUP pages of library/ (10 by default, 0 for
 * none; into their own collection and table), so neither timed run pays the process's cold start (JIT, first queries,
 * the workflow thread) for the other. Then one timed run of each, in this order:
 *   ours       blobs + document rows written as the upload route does (untimed), then ingestCollection with
 *              concurrency BENCH_CONCURRENCY, timed from start until its result (parse, chunk 400/60 tokens, embed,
 *              store; the run's last activity builds the collection's HNSW index once it has
 *              INGEST_VECTOR_INDEX_MIN_ROWS chunks, 10,000 by default, so not at 150 pages)
 *   langchain  bench/ingest/langchain.ts: TextLoader + HtmlToTextTransformer + RecursiveCharacterTextSplitter
 *              (1600/240 characters; the run prints the characters per estimated token it measures, ≈ 4.15) +
 *              PGVectorStore.addDocuments (500 rows per INSERT), same embedder, same database, its own table without
 *              a vector index (the HNSW index a user would add afterwards is timed apart)
 *   storage    the same chunks our pipeline produced, recomputed in-process (parse, chunk, embed: timed apart), then
 *              (a) our storage step: insertChunks batches of 200 in one transaction into `chunks` (emptied first),
 *                  then the collection's HNSW index (ensureCollectionVectorIndex)
 *              (b) the bulk bound: the same rows in ONE statement (insert … select from unnest, vectors binary) into
 *                  `chunks_bulk`, a copy of `chunks` (same columns, generated tsvector, indexes and foreign keys),
 *                  then the same HNSW index. COPY FROM STDIN
 *                  is what the issue asks for, but pglite-socket does not speak the copy sub-protocol (the session
 *                  dies with "protocol synchronization was lost"), so one multi-row statement is the bound here.
 * Prints a table and, last, one line `RESULT {json}`. Exits 0 on success and non-zero on any failure; a watchdog
 * (BENCH_TIMEOUT_S, default 600 s plus 3 s per document) bounds the run, and the worker, Postgres and the Temporal
 * server are stopped on every path, including Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { freshDatabase } from '../lib/database';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createTenantWithKey } from '../../api/auth/api-keys';
import { loadConfig } from '../../lib/config';
import { SEARCH_ATTRIBUTES, workflowIds, type IngestCollectionInput, type IngestProgress } from '../../lib/contracts';
import { CollectionEntity, DocumentEntity, type Chunk } from '../../lib/db/entities';
import { startEmbeddedPostgres } from '../../lib/db/embedded';
import { createOrm, migrate, type Orm } from '../../lib/db/orm';
import { chunkDocument, contextualText } from '../../lib/ingest/chunk';
import { parseDocument } from '../../lib/ingest/parse';
import { ParsePool } from '../../lib/ingest/pool';
import { chunkRows, insertChunks, vectorToBinary } from '../../lib/ingest/store';
import { ensureCollectionVectorIndex, searchExpression, vectorIndexName } from '../../lib/ingest/vector-index';
import { createLlmGateway, type LlmGateway } from '../../lib/llm';
import { freePort } from '../../lib/process/ports';
import { BlobStore } from '../../lib/storage/blobs';
import { acquireTemporalCli, TEMPORAL_CLI_VERSION } from '../../lib/temporal/cli';
import { startDevServer, type DevServer } from '../../lib/temporal/dev-server';
import { createWorker } from '../../workers/worker';
import { runLangChain, type PeerResult } from './langchain';
import { benchLifecycle, runMain } from '../lib/lifecycle';
import { printTable } from '../lib/table';
import { intFromEnv, machineFacts } from '../lib/env';
import { corpusDir } from '../lib/python-docs';

const NAMESPACE = 'default';
const CHUNK_SIZE = 400;
const CHUNK_OVERLAP = 60;
const EMBED_MODEL = 'local-embed-384';
const EMBED_DIM = 384;
const CONCURRENCY = intFromEnvEarly('BENCH_CONCURRENCY', 16);
// As in activities/ingest.ts.
const EMBED_BATCH = 128;

function intFromEnvEarly(name: string, fallback: number): number {
  return intFromEnv(name, fallback, 1, 64);
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));

/** The corpus, installing python3.11-doc when it is missing and the default location is used. */
interface Corpus {
  dir: string;
  /** Relative names (library/x.html), sorted. */
  names: string[];
  bytes: Buffer[];
}

/**
 * BENCH_PGLITE=process (default): PGlite in a child process (bench/ingest/pglite-process.ts), as `npm start` runs it
 * apart from the worker; inline: in this process, sharing the worker's thread.
 */
const PGLITE_MODE = (process.env.BENCH_PGLITE ?? 'process').trim();
if (PGLITE_MODE !== 'process' && PGLITE_MODE !== 'inline')
  throw new Error(`BENCH_PGLITE must be process or inline, got ${PGLITE_MODE}`);

async function startPgliteProcess(port: number): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./pglite-process.ts', import.meta.url)), String(port)],
    {
      cwd: fileURLToPath(new URL('../..', import.meta.url)), // where `--import tsx` resolves
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^ready (\S+)$/m.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the PGlite process exited (${code}) before serving`)));
  });
  return {
    url,
    async stop() {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function loadCorpus(limit: number | 'all', from: 'start' | 'end' = 'start'): Promise<Corpus> {
  const dir = corpusDir();
  const all = (await readdir(join(dir, 'library'))).filter((f) => f.endsWith('.html')).sort();
  const names = (limit === 'all' ? all : from === 'start' ? all.slice(0, limit) : all.slice(-limit)).map(
    (f) => `library/${f}`,
  );
  if (names.length === 0) throw new Error(`no library/*.html in ${dir}`);
  const bytes = await Promise.all(names.map((n) => readFile(join(dir, n))));
  return { dir, names, bytes };
}

// ---------------------------------------------------------------------------------------------------------------

interface Measured {
  documents: number;
  chunks: number;
  ms: number;
}

/** Upload as the route does (untimed), then the workflow, timed from start until its result. */
async function runOurs(opts: {
  client: Client;
  orm: Orm;
  blobs: BlobStore;
  taskQueue: string;
  tenantId: string;
  collectionId: string;
  corpus: Corpus;
}) {
  const { orm, collectionId } = opts;
  const docs = await uploadCorpus(opts);
  const { progress, ms, workflowId } = await ingestRun(
    opts,
    docs.map((d) => d.id),
  );
  if (progress.done !== docs.length || progress.failed !== 0 || progress.skipped !== 0) {
    throw new Error(
      `ingestCollection returned ${JSON.stringify(progress).slice(0, 2000)}, expected ${docs.length} documents ready`,
    );
  }
  const [row] = (await orm.em
    .getConnection()
    .execute('select count(*)::int as n from chunks where collection_id = ?', [collectionId])) as Array<{ n: number }>;
  if (row!.n !== progress.chunks)
    throw new Error(`the workflow reports ${progress.chunks} chunks, the table holds ${row!.n}`);
  // Built when the collection reaches INGEST_VECTOR_INDEX_MIN_ROWS chunks; below that it is searched exactly.
  const indexed = progress.vectorIndex?.status;
  if ((indexed !== 'built' && indexed !== 'below_threshold') || progress.vectorIndex?.rows !== progress.chunks) {
    throw new Error(
      `the collection's vector index: ${JSON.stringify(progress.vectorIndex)}, ${progress.chunks} chunks`,
    );
  }
  return {
    result: { documents: docs.length, chunks: progress.chunks, ms } satisfies Measured,
    docs,
    workflowId,
    vectorIndex: progress.vectorIndex,
  };
}

/** Blobs and document rows, written as the upload route does (untimed). */
async function uploadCorpus(opts: {
  orm: Orm;
  blobs: BlobStore;
  tenantId: string;
  collectionId: string;
  corpus: Corpus;
}) {
  const { orm, tenantId, collectionId, corpus } = opts;
  const em = orm.em.fork();
  const docs = [];
  for (let i = 0; i < corpus.names.length; i++) {
    const blob = await opts.blobs.putBuffer(tenantId, corpus.bytes[i]!);
    const name = corpus.names[i]!;
    docs.push(
      em.create(DocumentEntity, {
        id: randomUUID(),
        tenantId,
        collectionId,
        metadata: {},
        sourceKind: 'upload',
        source: name,
        title: name,
        mimeType: 'text/html',
        sizeBytes: blob.size,
        blobSha256: blob.sha256,
      }),
    );
  }
  await em.flush();
  return docs;
}

/** One ingestCollection run over `documentIds`, timed from start until its result. */
async function ingestRun(
  opts: { client: Client; taskQueue: string; tenantId: string; collectionId: string },
  documentIds: string[],
) {
  const { tenantId, collectionId } = opts;
  const input: IngestCollectionInput = { tenantId, collectionId, documentIds, concurrency: CONCURRENCY };
  const workflowId = workflowIds.ingest(tenantId, collectionId, randomUUID());
  const started = performance.now();
  const handle = await opts.client.workflow.start('ingestCollection', {
    workflowId,
    taskQueue: opts.taskQueue,
    args: [input],
    typedSearchAttributes: [
      { key: SEARCH_ATTRIBUTES.TenantId, value: tenantId },
      { key: SEARCH_ATTRIBUTES.RunKind, value: 'ingest' },
      { key: SEARCH_ATTRIBUTES.CollectionId, value: collectionId },
    ],
    workflowExecutionTimeout: '2 hours',
  });
  const progress = (await handle.result()) as IngestProgress;
  return { progress, ms: performance.now() - started, workflowId };
}

/**
 * The orchestration floor: the same run again over the same, unchanged documents. Every batch of documents still gets
 * its child workflow and its step (which loads each document row and finds its content already indexed), but nothing
 * is parsed, embedded or stored: what durable ingestion costs before any work, on this server and machine.
 */
async function runFloor(
  opts: { client: Client; taskQueue: string; tenantId: string; collectionId: string },
  documentIds: string[],
  chunks: number,
): Promise<Measured> {
  const { progress, ms } = await ingestRun(opts, documentIds);
  if (progress.done !== documentIds.length || progress.skipped !== documentIds.length || progress.chunks !== chunks) {
    throw new Error(
      `the re-run returned ${JSON.stringify(progress).slice(0, 2000)}, expected all ${documentIds.length} documents skipped with ${chunks} chunks`,
    );
  }
  return { documents: documentIds.length, chunks: 0, ms };
}

/** Our parse → chunk → embed in-process (what indexDocument does before storing), rows as indexDocument builds them. */
async function buildRows(opts: {
  llm: LlmGateway;
  tenantId: string;
  collectionId: string;
  corpus: Corpus;
  docIds: Map<string, string>;
}) {
  const steps = { parse: 0, chunk: 0, embed: 0 };
  const rows: Chunk[] = [];
  const now = new Date();
  for (let d = 0; d < opts.corpus.names.length; d++) {
    const filename = opts.corpus.names[d]!;
    let t = performance.now();
    const parsed = await parseDocument({ bytes: opts.corpus.bytes[d]!, filename, mimeType: 'text/html' });
    steps.parse += performance.now() - t;
    t = performance.now();
    const pieces = chunkDocument(parsed, { chunkSize: CHUNK_SIZE, chunkOverlap: CHUNK_OVERLAP });
    steps.chunk += performance.now() - t;
    t = performance.now();
    const vectors: number[][] = [];
    for (let i = 0; i < pieces.length; i += EMBED_BATCH) {
      const res = await opts.llm.embed(
        { tenantId: opts.tenantId },
        pieces.slice(i, i + EMBED_BATCH).map(contextualText),
        { model: EMBED_MODEL },
      );
      vectors.push(...res.vectors);
    }
    steps.embed += performance.now() - t;
    const documentId = opts.docIds.get(filename)!;
    rows.push(
      ...chunkRows(
        { tenantId: opts.tenantId, collectionId: opts.collectionId, documentId, embeddingDim: EMBED_DIM },
        pieces,
        vectors,
        now,
      ),
    );
  }
  return { rows, steps };
}

/**
 * Our storage step: the same insertChunks batches of 200 as indexDocument, in one transaction, into `chunks`, then the
 * collection's HNSW index built as the workflow's last activity builds it.
 */
async function storeOurs(
  orm: Orm,
  rows: Chunk[],
  collectionId: string,
): Promise<{ insertMs: number; indexMs: number }> {
  const started = performance.now();
  await orm.em.fork().transactional(async (em) => {
    await insertChunks(em, rows);
  });
  const inserted = performance.now();
  const outcome = await ensureCollectionVectorIndex(
    orm.em.fork(),
    { collectionId, embeddingDim: EMBED_DIM, embeddingType: 'vector' },
    { minRows: 0 },
  );
  if (outcome.status !== 'built') throw new Error(`the storage step's index was not built: ${JSON.stringify(outcome)}`);
  return { insertMs: inserted - started, indexMs: performance.now() - inserted };
}

/** The bound: every row in one statement, arrays of values unnested server-side, into a copy of `chunks`; the same index. */
async function storeBulk(
  databaseUrl: string,
  rows: Chunk[],
  collectionId: string,
): Promise<{ insertMs: number; indexMs: number }> {
  // A plain pg client: the 16 arrays travel as bind parameters (the ORM's raw execute would inline them as lists).
  const pgClient = new pg.Client({ connectionString: databaseUrl });
  await pgClient.connect();
  try {
    const insertMs = await bulkInsert(pgClient, rows);
    const { column, opclass } = searchExpression({ embeddingDim: EMBED_DIM, embeddingType: 'vector' });
    const started = performance.now();
    await pgClient.query(
      `create index chunks_bulk_hnsw on chunks_bulk using hnsw ((${column}) ${opclass}) where collection_id = '${collectionId}'`,
    );
    return { insertMs, indexMs: performance.now() - started };
  } finally {
    await pgClient.end();
  }
}

/** Postgres' binary one-dimensional array (array_recv) of already binary elements. */
function binaryArray(elementOid: number, elements: Buffer[]): Buffer {
  const header = Buffer.alloc(20);
  header.writeInt32BE(1, 0); // dimensions
  header.writeInt32BE(0, 4); // no nulls
  header.writeUInt32BE(elementOid, 8);
  header.writeInt32BE(elements.length, 12);
  header.writeInt32BE(1, 16); // lower bound
  const parts: Buffer[] = [header];
  for (const e of elements) {
    const len = Buffer.alloc(4);
    len.writeInt32BE(e.length, 0);
    parts.push(len, e);
  }
  return Buffer.concat(parts);
}

async function bulkInsert(conn: pg.Client, rows: Chunk[]): Promise<number> {
  const col = <T>(f: (r: Chunk) => T) => rows.map(f);
  const arrayLiteral = (xs: string[]) => `{${xs.map((x) => `"${x.replace(/(["\\])/g, '\\$1')}"`).join(',')}}`;
  // Vectors as one binary vector[] parameter (array_recv → vector_recv), as ours sends them, so neither side pays for
  // parsing 384 floats of text per row and the bound stays a bound.
  const vectorOid = Number((await conn.query(`select 'vector'::regtype::oid as oid`)).rows[0].oid);
  const embeddings = binaryArray(
    vectorOid,
    rows.map((r) => vectorToBinary(r.embedding!)),
  );
  const started = performance.now();
  await conn.query(
    `insert into chunks_bulk (id, tenant_id, collection_id, document_id, ordinal, text, content_hash, heading_path, page,
                              start_offset, end_offset, tokens, embedding, embedding_dim, metadata, created_at)
     select id, tenant_id, collection_id, document_id, ordinal, text, content_hash, heading_path::text[], page,
            start_offset, end_offset, tokens, embedding, embedding_dim, metadata::jsonb, created_at
       from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::int[], $6::text[], $7::text[], $8::text[], $9::int[],
                   $10::int[], $11::int[], $12::int[], $13::vector[], $14::int[], $15::text[], $16::timestamptz[])
         as t(id, tenant_id, collection_id, document_id, ordinal, text, content_hash, heading_path, page,
              start_offset, end_offset, tokens, embedding, embedding_dim, metadata, created_at)`,
    [
      col((r) => r.id),
      col((r) => r.tenantId),
      col((r) => r.collectionId),
      col((r) => r.documentId),
      col((r) => r.ordinal),
      col((r) => r.text),
      col((r) => r.contentHash),
      col((r) => arrayLiteral(r.headingPath ?? [])),
      col((r) => r.page ?? null),
      col((r) => r.startOffset ?? null),
      col((r) => r.endOffset ?? null),
      col((r) => r.tokens),
      embeddings,
      col((r) => r.embeddingDim ?? null),
      col((r) => JSON.stringify(r.metadata ?? {})),
      col((r) => r.createdAt!.toISOString()),
    ],
  );
  return performance.now() - started;
}

async function main(): Promise<void> {
  const docsRaw = (process.env.BENCH_DOCS ?? '').trim();
  const limit: number | 'all' = docsRaw === 'all' ? 'all' : intFromEnv('BENCH_DOCS', 150, 1, 100_000);
  const baseConfig = loadConfig(process.env);
  Runtime.install({ logger: new DefaultLogger('WARN') });

  const corpus = await loadCorpus(limit);
  const warmupDocs = intFromEnv('BENCH_WARMUP', 10, 0, 100);
  const warmup = warmupDocs > 0 ? await loadCorpus(warmupDocs, 'end') : null;
  const timeoutS = intFromEnv('BENCH_TIMEOUT_S', 600 + 3 * corpus.names.length, 30, 7 * 24 * 3600);

  // Everything opened is closed in reverse order on every path: success, failure, watchdog or a signal.
  // Everything opened is closed in reverse order on every path; PGlite lives in this process.
  let server: DevServer | undefined;
  const { cleanups, cleanup, bounded, dispose } = benchLifecycle({
    timeoutS,
    graceS: 60,
    onHardStop: () => server?.process.kill('SIGKILL'),
  });

  try {
    const tmp = await mkdtemp(join(tmpdir(), 'beyondcloud-bench-ingest-'));
    cleanups.push(() => rm(tmp, { recursive: true, force: true }));

    console.error(
      `corpus: ${corpus.names.length} pages of ${corpus.dir}/library (${(corpus.bytes.reduce((a, b) => a + b.length, 0) / 1048576).toFixed(1)} MiB)`,
    );
    // BENCH_DATABASE_URL: a real Postgres with pgvector instead of PGlite; the run gets a fresh database there, dropped
    // at the end.
    const external = process.env.BENCH_DATABASE_URL;
    console.error(
      `acquiring the Temporal CLI, ${external ? 'creating a fresh database on BENCH_DATABASE_URL' : 'starting Postgres (in memory)'} ...`,
    );
    const pgStarted = external
      ? freshDatabase(external, 'bench_ingest')
      : freePort().then((port) =>
          PGLITE_MODE === 'process' ? startPgliteProcess(port) : startEmbeddedPostgres({ port }),
        );
    void pgStarted.then(
      (pg) => cleanups.push(() => pg.stop()),
      () => {},
    );
    const [cliPath, db] = await bounded(
      Promise.all([
        acquireTemporalCli({
          explicitPath: baseConfig.temporal.cliPath,
          cacheDir: baseConfig.temporal.cliCacheDir,
          log: (l) => console.error(l),
        }),
        pgStarted,
      ]),
    );
    console.error('starting the Temporal dev server (in memory) ...');
    server = await bounded(startDevServer({ cliPath, port: 0, uiPort: null }));
    const s = server;
    cleanups.push(() => s.stop());

    // Only our settings: nothing of the caller's BeyondCloud configuration (an OpenAI endpoint, ...) leaks in.
    const taskQueue = `bench-ingest-${randomUUID()}`;
    const config = loadConfig({
      NODE_ENV: 'production',
      LOG_LEVEL: 'silent',
      DATABASE_URL: db.url,
      TEMPORAL_ADDRESS: s.address,
      TEMPORAL_NAMESPACE: NAMESPACE,
      TEMPORAL_TASK_QUEUE: taskQueue,
      BLOB_DIR: join(tmp, 'blobs'),
      // The hashing embedder, as every number of this bench so far (and LangChain's side) uses; the semantic default's
      // cost is bench/embedding's.
      LLM_MODEL_EMBEDDING: EMBED_MODEL,
    });
    if (config.llm.models.embedding !== EMBED_MODEL)
      throw new Error(`expected the local embedder, got ${config.llm.models.embedding}`);

    const orm = await bounded(createOrm(db.url, 4));
    cleanups.push(() => orm.close());
    await bounded(migrate(orm));
    const serverVersion =
      ((await orm.em.getConnection().execute('show server_version')) as Array<{ server_version: string }>)[0]
        ?.server_version ?? '?';
    const tenant = await bounded(
      createTenantWithKey(orm, {
        tenantName: `bench-ingest-${randomUUID().slice(0, 8)}`,
        keyName: 'bench',
        role: 'admin',
      }),
    );
    const tenantId = tenant.tenantId;
    const collectionId = randomUUID();
    {
      const em = orm.em.fork();
      em.create(CollectionEntity, {
        id: collectionId,
        tenantId,
        name: 'python-3.11-docs',
        description: null,
        embeddingModel: EMBED_MODEL,
        embeddingDim: EMBED_DIM,
        chunkSize: CHUNK_SIZE,
        chunkOverlap: CHUNK_OVERLAP,
      });
      await bounded(em.flush());
    }

    const connection = await bounded(Connection.connect({ address: s.address }));
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: NAMESPACE });
    const nativeConnection = await bounded(NativeConnection.connect({ address: s.address }));
    cleanups.push(() => nativeConnection.close());
    const llm = createLlmGateway({ config, orm });
    const blobs = new BlobStore(config.ingest.blobDir);
    // Parsing and chunking on worker threads, as the worker process does (INGEST_PARSE_THREADS; 0: on the main thread).
    const parsePool = new ParsePool(config.ingest.parseThreads);
    cleanups.push(() => parsePool.close());
    console.error(`bundling the workflows and starting an in-process worker (${parsePool.threads} parse threads) ...`);
    const worker = await bounded(
      createWorker({
        connection: nativeConnection,
        namespace: NAMESPACE,
        taskQueue,
        deps: { orm, llm, blobs, config, parsePool },
      }),
    );

    const loadAtStart = round(loadavg()[0]!);
    const measured = await worker.runUntil(
      bounded(
        (async () => {
          if (warmup) {
            console.error(`warm-up (untimed): both pipelines over the last ${warmup.names.length} pages ...`);
            const warmCollection = randomUUID();
            const em = orm.em.fork();
            em.create(CollectionEntity, {
              id: warmCollection,
              tenantId,
              name: 'warm-up',
              description: null,
              embeddingModel: EMBED_MODEL,
              embeddingDim: EMBED_DIM,
              chunkSize: CHUNK_SIZE,
              chunkOverlap: CHUNK_OVERLAP,
            });
            await em.flush();
            const warmDocs = await uploadCorpus({ orm, blobs, tenantId, collectionId: warmCollection, corpus: warmup });
            const { progress } = await ingestRun(
              { client, taskQueue, tenantId, collectionId: warmCollection },
              warmDocs.map((d) => d.id),
            );
            if (progress.done !== warmup.names.length || progress.failed !== 0)
              throw new Error(`warm-up: ${JSON.stringify(progress).slice(0, 1000)}`);
            await runLangChain({
              databaseUrl: db.url,
              tableName: 'langchain_warmup',
              files: warmup.names.map((n) => join(warmup.dir, n)),
              dimensions: EMBED_DIM,
              chunkSize: CHUNK_SIZE * 4,
              chunkOverlap: CHUNK_OVERLAP * 4,
            });
          }
          console.error(`ours: ingestCollection over ${corpus.names.length} documents, concurrency ${CONCURRENCY} ...`);
          const ours = await runOurs({ client, orm, blobs, taskQueue, tenantId, collectionId, corpus });
          console.error(`  ${ours.result.chunks} chunks in ${(ours.result.ms / 1000).toFixed(1)} s`);
          console.error('floor: the same run again, every document unchanged ...');
          const floor = await runFloor(
            { client, taskQueue, tenantId, collectionId },
            ours.docs.map((d) => d.id),
            ours.result.chunks,
          );
          console.error(`  ${floor.documents} documents skipped in ${(floor.ms / 1000).toFixed(1)} s`);

          console.error(
            'langchain: TextLoader + HtmlToTextTransformer + RecursiveCharacterTextSplitter + PGVectorStore ...',
          );
          const peer: PeerResult = await runLangChain({
            databaseUrl: db.url,
            tableName: 'langchain_chunks',
            files: corpus.names.map((n) => join(corpus.dir, n)),
            dimensions: EMBED_DIM,
            chunkSize: CHUNK_SIZE * 4,
            chunkOverlap: CHUNK_OVERLAP * 4,
          });
          if (peer.rowsInTable !== peer.chunks)
            throw new Error(`LangChain split ${peer.chunks} chunks, its table holds ${peer.rowsInTable}`);
          console.error(`  ${peer.chunks} chunks in ${(peer.ms / 1000).toFixed(1)} s`);

          console.error(
            'storage: our chunks recomputed in-process, then insertChunks batches vs one bulk statement ...',
          );
          const docIds = new Map(ours.docs.map((d) => [d.source, d.id]));
          const built = await buildRows({ llm, tenantId, collectionId, corpus, docIds });
          if (built.rows.length !== ours.result.chunks)
            throw new Error(`in-process: ${built.rows.length} chunks, the workflow stored ${ours.result.chunks}`);
          const conn = orm.em.getConnection();
          // Both inserts start from an empty table with the same indexes, generated column and foreign keys, and no
          // vector index, which each side then builds the same way.
          await conn.execute(`drop index if exists ${vectorIndexName(collectionId)}`);
          await conn.execute('create table chunks_bulk (like chunks including all)');
          await conn.execute(
            `alter table chunks_bulk add foreign key (tenant_id) references tenants (id) on delete cascade,
                                     add foreign key (collection_id) references collections (id) on delete cascade,
                                     add foreign key (document_id) references documents (id) on delete cascade`,
          );
          await conn.execute('truncate chunks');
          const storeSteps = await storeOurs(orm, built.rows, collectionId);
          const bulkSteps = await storeBulk(db.url, built.rows, collectionId);
          const storeMs = storeSteps.insertMs + storeSteps.indexMs;
          const bulkMs = bulkSteps.insertMs + bulkSteps.indexMs;
          const counts = (await conn.execute(
            'select (select count(*) from chunks)::int as ours, (select count(*) from chunks_bulk)::int as bulk',
          )) as Array<{ ours: number; bulk: number }>;
          if (counts[0]!.ours !== built.rows.length || counts[0]!.bulk !== built.rows.length) {
            throw new Error(`stored ${JSON.stringify(counts[0])}, expected ${built.rows.length} rows each`);
          }
          const [differing] = (await conn.execute(
            'select count(*)::int as n from chunks c join chunks_bulk b using (id) where c.embedding <> b.embedding or c.text <> b.text or c.heading_path <> b.heading_path',
          )) as Array<{ n: number }>;
          if (differing!.n !== 0) throw new Error(`${differing!.n} rows differ between ours and the bound`);
          const chars = built.rows.reduce((a, r) => a + r.text.length, 0);
          const tokens = built.rows.reduce((a, r) => a + r.tokens, 0);
          return {
            ours: ours.result,
            floor,
            oursWorkflowId: ours.workflowId,
            vectorIndex: ours.vectorIndex,
            peer,
            built: {
              chunks: built.rows.length,
              steps: built.steps,
              avgChunkChars: chars / built.rows.length,
              charsPerToken: chars / tokens,
            },
            storeMs,
            bulkMs,
            storeSteps,
            bulkSteps,
          };
        })(),
      ),
    );
    const loadAtEnd = round(loadavg()[0]!);

    // ---- report
    const { ours, peer } = measured;
    const rate = (m: Measured) => ({
      docsPerS: round(m.documents / (m.ms / 1000)),
      chunksPerS: round(m.chunks / (m.ms / 1000)),
    });
    const oursRate = rate(ours);
    const peerRate = rate(peer);
    const storageRows = measured.built.chunks;
    const storageRate = (ms: number) => round(storageRows / (ms / 1000));
    const ratios = {
      endToEndDocsVsLangChain: round(oursRate.docsPerS / peerRate.docsPerS, 3),
      endToEndChunksVsLangChain: round(oursRate.chunksPerS / peerRate.chunksPerS, 3),
      storageVsBulkBound: round(measured.bulkMs / measured.storeMs, 3),
      // Both sides with an HNSW index: LangChain's user builds it afterwards; ours is built by the run when the
      // collection reaches the threshold, else it costs what the storage step's build of the same rows cost.
      endToEndDocsVsLangChainPlusIndex: round(
        ours.documents /
          ((ours.ms + (measured.vectorIndex.status === 'built' ? 0 : measured.storeSteps.indexMs)) / 1000) /
          (peer.documents / ((peer.ms + peer.hnswIndexMs) / 1000)),
        3,
      ),
    };
    const floorRate = rate(measured.floor);
    // The best end-to-end ratio any work inside the activities could reach: the floor alone, against LangChain.
    const floorVsLangChain = round(floorRate.docsPerS / peerRate.docsPerS, 3);
    const goals = { endToEnd: ratios.endToEndDocsVsLangChain >= 1.5, storage: ratios.storageVsBulkBound >= 0.5 };
    const env = {
      ...machineFacts(),
      temporalCli: TEMPORAL_CLI_VERSION,
      temporalServer: 'dev server, in-memory SQLite',
      database: process.env.BENCH_DATABASE_URL
        ? `Postgres ${serverVersion} (BENCH_DATABASE_URL)`
        : `PGlite (in memory) over pglite-socket, ${PGLITE_MODE === 'process' ? 'in a process of its own' : "in the worker's process"}`,
      loadAverage1m: { atStart: loadAtStart, atEnd: loadAtEnd },
    };
    const s1 = (ms: number) => (ms / 1000).toFixed(2);
    console.log('');
    console.log(
      `Ingestion throughput: ${corpus.names.length} pages of the Python 3.11 docs (library/*.html, sorted), one run each`,
    );
    console.log(
      `node ${env.node}, ${env.cpus} CPUs (${env.cpuModel}), Temporal CLI ${env.temporalCli} dev server in memory, ${env.database}`,
    );
    console.log(`1-minute load average ${loadAtStart} at the start, ${loadAtEnd} at the end`);
    console.log('');
    printTable([
      ['pipeline', 'documents', 'chunks', 'seconds', 'docs/s', 'chunks/s', 'docs/s vs LangChain'],
      [
        `ours: ingestCollection (durable, concurrency ${CONCURRENCY})`,
        String(ours.documents),
        String(ours.chunks),
        s1(ours.ms),
        oursRate.docsPerS.toFixed(2),
        oursRate.chunksPerS.toFixed(1),
        `${ratios.endToEndDocsVsLangChain.toFixed(2)}x`,
      ],
      [
        'LangChain.js (TextLoader, html-to-text, splitter, PGVectorStore)',
        String(peer.documents),
        String(peer.chunks),
        s1(peer.ms),
        peerRate.docsPerS.toFixed(2),
        peerRate.chunksPerS.toFixed(1),
        '1.00x',
      ],
      [
        'floor: ours again, every document unchanged (no parse/embed/store)',
        String(measured.floor.documents),
        '0',
        s1(measured.floor.ms),
        floorRate.docsPerS.toFixed(2),
        '-',
        `${floorVsLangChain.toFixed(2)}x`,
      ],
    ]);
    console.log('');
    console.log(
      `durable floor: a child workflow and a step per batch of documents, doing no work, take ${s1(measured.floor.ms)} s; ` +
        `1.5x LangChain needs the whole run in ${s1(peer.ms / 1.5)} s, so no pipeline under this orchestration on this machine can do better than ${floorVsLangChain.toFixed(2)}x`,
    );
    console.log('');
    console.log(
      `chunk sizes: ours ${CHUNK_SIZE}/${CHUNK_OVERLAP} tokens at ${measured.built.charsPerToken.toFixed(2)} characters per estimated token on this corpus ` +
        `(≈ ${Math.round(CHUNK_SIZE * measured.built.charsPerToken)}/${Math.round(CHUNK_OVERLAP * measured.built.charsPerToken)} characters), LangChain ${CHUNK_SIZE * 4}/${CHUNK_OVERLAP * 4} characters; ` +
        `mean chunk ${Math.round(measured.built.avgChunkChars)} vs ${Math.round(peer.avgChunkChars)} characters (ours packs short sections whole, splits long ones)`,
    );
    console.log(`ours, the collection's vector index at the end of the run: ${JSON.stringify(measured.vectorIndex)}`);
    console.log(
      `both with an HNSW index (LangChain's built afterwards, ${s1(peer.hnswIndexMs)} s; ours in the run or, below the threshold, the storage step's build): ${ratios.endToEndDocsVsLangChainPlusIndex.toFixed(2)}x`,
    );
    if (measured.vectorIndex.status !== 'built') {
      // A collection this size is searched exactly (the index waits for INGEST_VECTOR_INDEX_MIN_ROWS chunks). Had it
      // been built, it would have cost what the storage step's build of the same rows costs.
      const withIndex = ours.documents / ((ours.ms + measured.storeSteps.indexMs) / 1000);
      console.log(
        `ours, had the run also built the HNSW index (the storage step's build, ${s1(measured.storeSteps.indexMs)} s): ${(withIndex / peerRate.docsPerS).toFixed(2)}x LangChain`,
      );
    }
    console.log('');
    console.log(
      `storage step, the same ${storageRows} rows of our pipeline into an empty chunks table (tsvector, GIN, foreign keys), then the collection's HNSW index:`,
    );
    printTable([
      ['storage', 'rows', 'insert s', 'index s', 'seconds', 'rows/s', 'vs bulk bound'],
      [
        'ours: insertChunks x 200 in one transaction',
        String(storageRows),
        s1(measured.storeSteps.insertMs),
        s1(measured.storeSteps.indexMs),
        s1(measured.storeMs),
        storageRate(measured.storeMs).toFixed(1),
        `${ratios.storageVsBulkBound.toFixed(2)}x`,
      ],
      [
        'bound: one insert … select from unnest',
        String(storageRows),
        s1(measured.bulkSteps.insertMs),
        s1(measured.bulkSteps.indexMs),
        s1(measured.bulkMs),
        storageRate(measured.bulkMs).toFixed(1),
        '1.00x',
      ],
    ]);
    const b = measured.built.steps;
    const p = peer.stepsMs;
    console.log('');
    console.log(
      `ours in-process, no workflow: parse ${s1(b.parse)} s, chunk ${s1(b.chunk)} s, embed ${s1(b.embed)} s, store ${s1(measured.storeMs)} s`,
    );
    console.log(
      `LangChain steps: load ${s1(p.load)} s, html-to-text ${s1(p.transform)} s, split ${s1(p.split)} s, embed ${s1(p.embed)} s, insert ${s1(p.store)} s (no index on its table; an HNSW index built afterwards took ${s1(peer.hnswIndexMs)} s, not counted)`,
    );
    console.log('');
    console.log(
      `goal, end to end >= 1.5x LangChain (docs/s): ${ratios.endToEndDocsVsLangChain.toFixed(2)}x, ${goals.endToEnd ? 'met' : 'NOT met'}`,
    );
    console.log(
      `goal, storage >= 0.5x the bulk bound: ${ratios.storageVsBulkBound.toFixed(2)}x, ${goals.storage ? 'met' : 'NOT met'}`,
    );
    console.log('');
    console.log(
      'RESULT ' +
        JSON.stringify({
          benchmark: 'ingest',
          date: new Date().toISOString(),
          corpus: {
            source: 'python3.11-doc library/*.html',
            documents: corpus.names.length,
            bytes: corpus.bytes.reduce((a, x) => a + x.length, 0),
          },
          settings: {
            chunkSize: CHUNK_SIZE,
            chunkOverlap: CHUNK_OVERLAP,
            langchainChars: [CHUNK_SIZE * 4, CHUNK_OVERLAP * 4],
            embedding: EMBED_MODEL,
            concurrency: CONCURRENCY,
          },
          env,
          ours: { ...ours, ms: round(ours.ms), ...oursRate, workflowId: measured.oursWorkflowId },
          floor: { documents: measured.floor.documents, ms: round(measured.floor.ms), docsPerS: floorRate.docsPerS },
          langchain: {
            ...peer,
            ms: round(peer.ms),
            hnswIndexMs: round(peer.hnswIndexMs),
            stepsMs: Object.fromEntries(Object.entries(p).map(([k, v]) => [k, round(v)])),
            ...peerRate,
          },
          inProcess: {
            chunks: storageRows,
            avgChunkChars: round(measured.built.avgChunkChars),
            charsPerToken: round(measured.built.charsPerToken),
            stepsMs: Object.fromEntries(Object.entries(b).map(([k, v]) => [k, round(v)])),
          },
          vectorIndex: measured.vectorIndex,
          storage: {
            rows: storageRows,
            oursMs: round(measured.storeMs),
            bulkBoundMs: round(measured.bulkMs),
            oursSteps: measured.storeSteps,
            bulkSteps: measured.bulkSteps,
            oursRowsPerS: storageRate(measured.storeMs),
            bulkRowsPerS: storageRate(measured.bulkMs),
          },
          ratios: { ...ratios, floorDocsVsLangChain: floorVsLangChain },
          goals,
        }),
    );
  } finally {
    dispose();
    await cleanup();
  }
}

runMain(main);
