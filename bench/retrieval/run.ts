/**
 * Retrieval speed and HNSW recall (issue 21, "fast search"): the hybrid retrieval SQL and `POST /v1/search` at about
 * 6,000 and 100,000 chunks, and recall@10 of each collection's HNSW index against an exact scan.
 *
 *   npm run bench:retrieval
 *   BENCH_LARGE=100000 BENCH_ROUNDS=3 npm run bench:retrieval
 *
 * One process: an embedded Postgres (PGlite, in memory, migrated; or, with BENCH_DATABASE_URL, a fresh database on
 * that real Postgres with pgvector, dropped at the end), one tenant, two collections embedded with the local
 * semantic model (all-MiniLM-L6-v2, 384 dimensions):
 *   small  the Python 3.11 manual (Debian's python3.11-doc: the library reference's 317 pages first, then the other
 *          parts), parsed, chunked and embedded in-process as the ingest activity does it, until BENCH_SMALL chunks
 *          (default 6,000; the 473 pages of its parts make about 4,600, topped up with synthetic copies as below);
 *   large  synthetic chunks from the same corpus up to BENCH_LARGE (default 100,000): each real chunk copied with
 *          its text and its vector moved by Gaussian noise and normalised again, so the copies of one chunk are near
 *          neighbours of each other but not equal, and full text sees the real vocabulary.
 * Both get their HNSW index and their own full-text index the way ingestion builds them (ensureCollectionVectorIndex,
 * ensureCollectionTextIndex; BENCH_TEXT_INDEX=0 leaves the latter out), then `analyze`.
 * Queries: the questions of bench/eval (Python docs), embedded once. Timed, per collection, BENCH_ROUNDS rounds of
 * every question (the first round is a warm-up and not counted):
 *   sql         retrieveHybrid in this process over a pooled connection (the search activity's whole work), and
 *               its vector side and full-text side alone (mode vector, mode text)
 *   sql exact   the same with index scans off (the baseline of the HNSW rows: an exact scan of the collection)
 *   text exhaustive  the full-text ranking as it was before issue 21 (every matching chunk scored against every
 *               query term: the baseline of the bounded ranking), and the share of its top 10 the bounded one keeps;
 *               past 30,000 chunks on every 4th question (17 of 68), as it takes seconds a question there
 *   api         `POST /v1/search` (hybrid, topK 10) through `npm start`'s launcher on the same database: auth, quota,
 *               the query's embedding and the retrieval in the API process, the run that records it, the response
 *   run path    its baseline, the path the API took before it served searches itself: a searchKnowledge run whose
 *               one local activity embeds and retrieves in the worker, started and waited for with the Temporal
 *               client (no HTTP, auth or quotas)
 * and recall@10 of the vector side: the HNSW top 10 (at pgvector's default ef_search, 40, at 100, the one every
 * pooled connection starts with: lib/db/orm.ts HNSW_EF_SEARCH, and at 200) against the exact top 10. Prints a table and, last,
 * one line `RESULT {json}`; exits non-zero on any failure. A watchdog (BENCH_TIMEOUT_S, default 1,800 s) bounds the
 * run, and everything started is stopped on every path. BENCH_EXPLAIN=1 also prints the executed plan (`explain
 * (analyze, buffers)`) of the full-text side for the first three questions at each size.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import pgvector from 'pgvector';
import { createApiKey } from '../../api/auth/api-keys';
import { startRun } from '../../api/runs/start';
import { workflowIds } from '../../lib/contracts';
import { CollectionEntity, DocumentEntity, TenantEntity, type Chunk } from '../../lib/db/entities';
import { startEmbeddedPostgres } from '../../lib/db/embedded';
import { createOrm, migrate, type Orm } from '../../lib/db/orm';
import { chunkDocument, contextualText } from '../../lib/ingest/chunk';
import { parseDocument } from '../../lib/ingest/parse';
import { chunkRows, insertChunks } from '../../lib/ingest/store';
import {
  ensureCollectionTextIndex,
  ensureCollectionVectorIndex,
  searchExpression,
} from '../../lib/ingest/vector-index';
import { MINILM_L6 } from '../../lib/llm/local-models';
import { LocalProvider } from '../../lib/llm/providers/local';
import { queryTerms, retrieveHybrid, textSearchSql } from '../../lib/rag/retrieve';
import { createClient } from '../../lib/temporal/client';
import { searchKnowledge } from '../../workflows/search';
import { startPlatform } from '../eval/platform';
import { intFromEnv, machineFacts, percentile } from '../lib/env';
import { freshDatabase } from '../lib/database';
import { benchLifecycle, runMain } from '../lib/lifecycle';
import { corpusDir } from '../lib/python-docs';
import { stackCall } from '../lib/stack';
import { printTable } from '../lib/table';

const here = dirname(fileURLToPath(import.meta.url));
const DIM = MINILM_L6.dimensions;
const CHUNK_SIZE = 800;
const CHUNK_OVERLAP = 100;
const EMBED_BATCH = 64;
const TOP_K = 10;
/** How far a synthetic copy's vector moves from its original: per-dimension noise, before normalising again. */
const NOISE = 0.02;

/**
 * The full-text ranking as retrieveHybrid ran it before issue 21: every chunk matching any query term, scored against
 * every term (an IDF-weighted sum of ts_rank). Exact, and its cost grows with the number of matching chunks.
 */
const EXHAUSTIVE_TEXT_SQL = `with useful as materialized (
    select distinct on (q::text) q from (
      select to_tsquery('english', t) as q from unnest(?::text[]) as t
      union all
      select quote_literal(lexeme)::tsquery from unnest(to_tsvector('english', ?))
    ) terms where numnode(q) > 0
  ),
  matches as materialized (
    select id, tsv from chunks
     where tenant_id = ? and collection_id = any(?::uuid[]) and tsv @@ (select string_agg(q::text, ' | ')::tsquery from useful)
  ),
  df as materialized (
    select u.q, count(m.id)::float8 as n from useful u join matches m on m.tsv @@ u.q group by u.q
  ),
  total as materialized (
    select count(*)::float8 as n from chunks where tenant_id = ? and collection_id = any(?::uuid[])
  )
  select m.id
    from matches m
    join df on m.tsv @@ df.q
    cross join total
   group by m.id
   order by sum(ln(1 + (total.n - df.n + 0.5) / (df.n + 0.5)) * ts_rank(m.tsv, df.q, 1)) desc, m.id
   limit ?`;

const round = (x: number, digits = 1) => Number(x.toFixed(digits));

/** Box–Muller from a seeded generator, so every run builds the same synthetic collection. */
function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(next() || 1e-12)) * Math.cos(2 * Math.PI * next());
}

interface Timing {
  p50: number;
  p95: number;
  mean: number;
  n: number;
}
const timing = (xs: number[]): Timing => ({
  p50: round(percentile(xs, 50), 2),
  p95: round(percentile(xs, 95), 2),
  mean: round(xs.reduce((a, b) => a + b, 0) / xs.length, 2),
  n: xs.length,
});

async function main(): Promise<void> {
  const timeoutS = intFromEnv('BENCH_TIMEOUT_S', 1800, 60, 36_000);
  const smallTarget = intFromEnv('BENCH_SMALL', 6000, 100, 100_000);
  const largeTarget = intFromEnv('BENCH_LARGE', 100_000, 1000, 1_000_000);
  const rounds = intFromEnv('BENCH_ROUNDS', 3, 2, 20);
  const { cleanups, cleanup, bounded, dispose } = benchLifecycle({ timeoutS, graceS: 60, onHardStop: () => {} });
  try {
    const dir = corpusDir();
    // The library reference first (bench/ingest's 317 pages), then the other parts of the manual, until the small
    // collection has BENCH_SMALL chunks.
    const parts = ['library', 'reference', 'howto', 'tutorial', 'c-api', 'using', 'extending', 'faq', 'whatsnew'];
    const pages = parts.flatMap((part) =>
      readdirSync(join(dir, part))
        .filter((f) => f.endsWith('.html'))
        .sort()
        .map((f) => `${part}/${f}`),
    );
    const questions = (
      JSON.parse(await readFile(join(here, '../eval/data/questions.json'), 'utf8')) as Array<{
        question: string;
      }>
    ).map((q) => q.question);

    // BENCH_DATABASE_URL: a real Postgres with pgvector instead of PGlite; the run gets a fresh database there,
    // dropped at the end.
    const external = process.env.BENCH_DATABASE_URL;
    console.error(
      `${external ? 'creating a fresh database on BENCH_DATABASE_URL' : 'starting Postgres (in memory)'} and migrating ...`,
    );
    const db = await bounded(
      external ? freshDatabase(external, 'bench_retrieval') : startEmbeddedPostgres({ port: 0 }),
    );
    cleanups.push(() => db.stop());
    const orm: Orm = await bounded(createOrm(db.url, 4));
    cleanups.push(() => orm.close());
    await bounded(migrate(orm));
    const serverVersion = (
      (await orm.em.getConnection().execute(`select current_setting('server_version') as v`)) as Array<{ v: string }>
    )[0]!.v;

    const tenantId = randomUUID();
    const small = randomUUID();
    const large = randomUUID();
    {
      const em = orm.em.fork();
      em.create(TenantEntity, { id: tenantId, name: `bench-retrieval-${tenantId.slice(0, 8)}` });
      await bounded(em.flush());
      for (const [id, name] of [
        [small, 'python-3.11-library'],
        [large, 'python-3.11-library-synthetic'],
      ] as const)
        em.create(CollectionEntity, {
          id,
          tenantId,
          name,
          description: null,
          embeddingModel: MINILM_L6.model,
          embeddingDim: DIM,
          chunkSize: CHUNK_SIZE,
          chunkOverlap: CHUNK_OVERLAP,
        });
      await bounded(em.flush());
    }

    // ---- small: the real corpus, parsed, chunked, embedded and stored in-process
    const llm = new LocalProvider({ dimensions: DIM });
    cleanups.push(() => llm.close());
    const embed = async (texts: string[]) => {
      const out: number[][] = [];
      for (let i = 0; i < texts.length; i += EMBED_BATCH)
        out.push(
          ...(await bounded(llm.embed(texts.slice(i, i + EMBED_BATCH), { model: MINILM_L6.model, timeoutMs: 600_000 })))
            .vectors,
        );
      return out;
    };
    const loadStarted = performance.now();
    const docs: Array<{ source: string; title: string; bytes: number; rows: Chunk[] }> = [];
    let embedded = 0;
    for (let d = 0; d < pages.length && embedded < smallTarget; d++) {
      if (d % 100 === 0) console.error(`ingest ${d} pages, ${embedded} chunks`);
      const bytes = await readFile(join(dir, pages[d]!));
      const parsed = await parseDocument({ bytes, filename: pages[d]!, mimeType: 'text/html' });
      const pieces = chunkDocument(parsed, { chunkSize: CHUNK_SIZE, chunkOverlap: CHUNK_OVERLAP });
      if (!pieces.length) continue;
      const vectors = await embed(pieces.map(contextualText));
      embedded += vectors.length;
      docs.push({
        source: pages[d]!,
        title: parsed.title ?? pages[d]!,
        bytes: bytes.length,
        rows: chunkRows({ tenantId, collectionId: small, documentId: '', embeddingDim: DIM }, pieces, vectors),
      });
    }
    const store = async (collectionId: string, copy: number, noise: (() => number) | null, upTo = Infinity) => {
      const em = orm.em.fork();
      const rows: Chunk[] = [];
      for (const doc of docs) {
        if (rows.length >= upTo) break;
        const documentId = randomUUID();
        em.create(DocumentEntity, {
          id: documentId,
          tenantId,
          collectionId,
          sourceKind: 'upload',
          source: copy ? `${doc.source}#copy-${copy}` : doc.source,
          title: doc.title,
          mimeType: 'text/html',
          sizeBytes: doc.bytes,
          status: 'ready',
          chunkCount: doc.rows.length,
          metadata: {},
        });
        for (const r of doc.rows) {
          let embedding = r.embedding!;
          if (noise) {
            const moved = embedding.map((x) => x + NOISE * noise());
            const norm = Math.hypot(...moved);
            embedding = moved.map((x) => x / norm);
          }
          rows.push({ ...r, id: randomUUID(), collectionId, documentId, embedding });
        }
      }
      await bounded(em.flush());
      for (let i = 0; i < rows.length; i += 2000)
        await bounded(orm.em.fork().transactional((tem) => insertChunks(tem, rows.slice(i, i + 2000))));
      return rows.length;
    };
    let smallChunks = await store(small, 0, null);
    console.error(
      `small: ${docs.length} pages, ${smallChunks} chunks in ${((performance.now() - loadStarted) / 1000).toFixed(1)} s`,
    );
    // A corpus shorter than BENCH_SMALL is topped up with synthetic copies of its first pages (as the large one is).
    const noise = gaussian(21);
    if (smallChunks < smallTarget) {
      smallChunks += await store(small, 1, noise, smallTarget - smallChunks);
      console.error(`small: topped up to ${smallChunks} chunks with synthetic copies`);
    }

    // ---- large: synthetic copies of the real chunks
    const largeStarted = performance.now();
    let largeChunks = 0;
    for (let copy = 1; largeChunks < largeTarget; copy++) {
      largeChunks += await store(large, copy, noise);
      console.error(`large: ${largeChunks} chunks, ${((performance.now() - largeStarted) / 1000).toFixed(0)} s`);
    }
    const indexStarted = performance.now();
    const built: Record<string, unknown> = {};
    for (const [name, id] of [
      ['small', small],
      ['large', large],
    ] as const)
      built[name] = {
        hnsw: await bounded(
          ensureCollectionVectorIndex(
            orm.em.fork(),
            { collectionId: id, embeddingDim: DIM, embeddingType: 'vector' },
            { minRows: 0 },
          ),
        ),
        // The collection's own full-text index, as ingestion builds it beside the HNSW one (BENCH_TEXT_INDEX=0: none,
        // the shared GIN index only, as before session 33).
        text:
          process.env.BENCH_TEXT_INDEX === '0'
            ? 'skipped'
            : await bounded(ensureCollectionTextIndex(orm.em.fork(), id, { minRows: 0 })),
      };
    await bounded(orm.em.getConnection().execute('analyze'));
    console.error(
      `large loaded in ${((indexStarted - largeStarted) / 1000).toFixed(1)} s; HNSW indexes ${JSON.stringify(built)} in ${((performance.now() - indexStarted) / 1000).toFixed(1)} s`,
    );

    const queryVectors = await embed(questions);

    // ---- SQL: the search activity's whole work, and the exact-scan baseline
    const sqlTimes = async (collectionId: string, exact: boolean, mode?: 'vector' | 'text') => {
      const xs: number[] = [];
      for (let r = 0; r < rounds; r++)
        for (let q = 0; q < questions.length; q++) {
          const em = orm.em.fork();
          const t = performance.now();
          const run = (e: typeof em) =>
            retrieveHybrid(e, {
              tenantId,
              collectionIds: [collectionId],
              query: questions[q]!,
              queryVector: queryVectors[q]!,
              topK: TOP_K,
              mode,
            });
          if (exact)
            await bounded(
              em.transactional(async (tem) => {
                await tem
                  .getConnection()
                  .execute('set local enable_indexscan = off', [], 'run', tem.getTransactionContext());
                return run(tem);
              }),
            );
          else await bounded(run(em));
          if (r > 0) xs.push(performance.now() - t);
        }
      return timing(xs);
    };

    // ---- recall@10 of the vector side: HNSW at an ef_search against the exact top 10
    const { column, cast } = searchExpression({ embeddingDim: DIM, embeddingType: 'vector' });
    const topIds = async (collectionId: string, v: number[], mode: { exact: true } | { efSearch: number }) =>
      orm.em.fork().transactional(async (tem) => {
        const c = tem.getConnection();
        const tx = tem.getTransactionContext();
        if ('exact' in mode) await c.execute('set local enable_indexscan = off', [], 'run', tx);
        else await c.execute(`set local hnsw.ef_search = ${mode.efSearch}`, [], 'run', tx);
        const rows = (await c.execute(
          `select id from chunks where tenant_id = ? and collection_id = ? and embedding_dim = ${DIM}
            order by ${column} <=> ?::${cast} limit ${TOP_K}`,
          [tenantId, collectionId, pgvector.toSql(v)],
          'all',
          tx,
        )) as Array<{ id: string }>;
        return rows.map((r) => r.id);
      });
    const plan = async (collectionId: string) =>
      (
        (await orm.em.getConnection().execute(
          `explain select id from chunks where tenant_id = ? and collection_id = ? and embedding_dim = ${DIM}
            order by ${column} <=> ?::${cast} limit ${TOP_K}`,
          [tenantId, collectionId, pgvector.toSql(queryVectors[0]!)],
        )) as Array<{ 'QUERY PLAN': string }>
      )
        .map((r) => r['QUERY PLAN'].replace(/'\[[^\]]*\]'/g, "'[...]'"))
        .join(' / ');
    // Recall@10 at an ef_search, and the time of its HNSW query (in a transaction with `set local`, as every row here).
    const recall = async (collectionId: string, efSearch: number) => {
      let hit = 0;
      const xs: number[] = [];
      for (const v of queryVectors) {
        const exact = new Set(await bounded(topIds(collectionId, v, { exact: true })));
        const t = performance.now();
        const approx = await bounded(topIds(collectionId, v, { efSearch }));
        xs.push(performance.now() - t);
        hit += approx.filter((id) => exact.has(id)).length;
      }
      return { recall: round(hit / (queryVectors.length * TOP_K), 3), time: timing(xs) };
    };

    // ---- the full-text side's baseline: the exhaustive ranking (every matching chunk scored against every term, the
    // query retrieveHybrid ran before issue 21), its time and how many of its top 10 the bounded ranking keeps
    const textIds = (ids: Array<{ id: string }>) => ids.map((r) => r.id);
    const exhaustiveText = async (collectionId: string, query: string) =>
      textIds(
        (await orm.em
          .getConnection()
          .execute(EXHAUSTIVE_TEXT_SQL, [
            `{${queryTerms(query).join(',')}}`,
            query,
            tenantId,
            `{${collectionId}}`,
            tenantId,
            `{${collectionId}}`,
            TOP_K,
          ])) as Array<{ id: string }>,
      );
    // Past 30k chunks the exhaustive ranking takes seconds a question: it runs on every 4th question there.
    const textBaseline = async (collectionId: string, chunks: number) => {
      const xs: number[] = [];
      let kept = 0;
      let total = 0;
      const step = chunks > 30_000 ? 4 : 1;
      for (let r = 0; r < rounds; r++)
        for (let q = 0; q < questions.length; q += step) {
          const t = performance.now();
          const exhaustive = await bounded(exhaustiveText(collectionId, questions[q]!));
          if (r > 0) xs.push(performance.now() - t);
          if (r === 0) {
            const bounded10 = await bounded(
              retrieveHybrid(orm.em.fork(), {
                tenantId,
                collectionIds: [collectionId],
                query: questions[q]!,
                queryVector: [],
                topK: TOP_K,
                mode: 'text',
              }),
            );
            const ids = new Set(bounded10.map((h) => h.chunkId));
            kept += exhaustive.filter((id) => ids.has(id)).length;
            total += exhaustive.length;
          }
        }
      return { time: timing(xs), overlap: total ? round(kept / total, 3) : 1 };
    };

    // ---- BENCH_EXPLAIN=1: where the full-text side's time goes, the executed plan of the first questions
    const explainText = async (name: string, collectionId: string) => {
      for (const query of questions.slice(0, 3)) {
        const search = textSearchSql(tenantId, [collectionId], query, queryTerms(query), 4 * TOP_K);
        const rows = (await orm.em
          .getConnection()
          .execute(`explain (analyze, buffers) ${search.sql}`, search.params)) as Array<{ 'QUERY PLAN': string }>;
        console.error(
          `${name} text plan for ${JSON.stringify(query)}:\n${rows.map((r) => r['QUERY PLAN']).join('\n')}`,
        );
      }
    };

    const results: Record<string, Record<string, unknown>> = {};
    for (const [name, id, chunks] of [
      ['small', small, smallChunks],
      ['large', large, largeChunks],
    ] as const) {
      console.error(`${name}: timing the SQL ...`);
      // Each measurement is printed as it completes, so a run stopped by the watchdog still tells what it measured.
      const r: Record<string, unknown> = (results[name] = { chunks });
      const phase = async <T>(key: string, fn: () => Promise<T>) => {
        const started = performance.now();
        r[key] = await fn();
        console.error(
          `${name} ${key} (${((performance.now() - started) / 1000).toFixed(1)} s): ${JSON.stringify(r[key]).slice(0, 300)}`,
        );
      };
      await phase('plan', () => bounded(plan(id)));
      await phase('sql', () => sqlTimes(id, false));
      await phase('sqlVector', () => sqlTimes(id, false, 'vector'));
      await phase('sqlText', () => sqlTimes(id, false, 'text'));
      await phase('recall40', () => recall(id, 40));
      await phase('recall100', () => recall(id, 100));
      await phase('recall200', () => recall(id, 200));
      await phase('sqlExact', () => sqlTimes(id, true));
      await phase('textBaseline', () => textBaseline(id, chunks));
      if (process.env.BENCH_EXPLAIN === '1') await bounded(explainText(name, id));
      const b = r.textBaseline as { time: Timing; overlap: number };
      Object.assign(r, { textExhaustive: b.time, textOverlap: b.overlap });
      delete r.textBaseline;
    }

    // ---- the API on the same database
    if (process.env.BENCH_API !== '0') {
      const { key } = await bounded(createApiKey(orm, { tenantId, keyName: 'bench-retrieval', role: 'admin' }));
      console.error('starting the platform (npm start) against the same database ...');
      const platform = await bounded(startPlatform(db.url));
      cleanups.push(() => platform.stop());
      // Each question timed at each size, BENCH_ROUNDS rounds, the first a warm-up.
      const timeQuestions = async (
        row: 'api' | 'workflowPath',
        search: (id: string, query: string) => Promise<void>,
      ) => {
        for (const [name, id] of [
          ['small', small],
          ['large', large],
        ] as const) {
          const xs: number[] = [];
          for (let r = 0; r < rounds; r++)
            for (const query of questions) {
              const t = performance.now();
              await search(id, query);
              if (r > 0) xs.push(performance.now() - t);
            }
          results[name]![row] = timing(xs);
        }
      };
      await timeQuestions('api', async (id, query) => {
        const res = await bounded(
          stackCall<{ results?: unknown[] }>(platform.apiUrl, key, 'POST', '/v1/search', {
            collectionIds: [id],
            query,
            topK: TOP_K,
          }),
        );
        if (!res.results?.length) throw new Error(`POST /v1/search found nothing for "${query}"`);
      });
      // The baseline of the API row: the path POST /v1/search took before the API served searches itself, a
      // searchKnowledge run (its one local activity embeds and retrieves in the worker) started and waited for with
      // the Temporal client, as the API did (without HTTP, auth and quotas: those are in the API row only).
      if (!platform.temporalAddress) throw new Error('npm start did not print its Temporal address');
      const client = createClient(await bounded(Connection.connect({ address: platform.temporalAddress })), 'default');
      cleanups.push(() => client.connection.close());
      await timeQuestions('workflowPath', async (id, query) => {
        const handle = await bounded(
          startRun(client, 'beyondcloud', searchKnowledge, {
            workflowId: workflowIds.search(tenantId, randomUUID()),
            tenantId,
            kind: 'search',
            args: [{ tenantId, collectionIds: [id], query, topK: TOP_K, mode: 'hybrid' }],
          }),
        );
        const hits = await bounded(handle.result());
        if (!hits.length) throw new Error(`the search run found nothing for "${query}"`);
      });
    }

    const rows: string[][] = [
      [
        'collection',
        'chunks',
        'sql p50',
        'sql p95',
        'vector p50',
        'text p50',
        'text exhaustive p50',
        'text top-10 kept',
        'exact p50',
        'exact p95',
        'api p50',
        'api p95',
        'run path p50',
        'run path p95',
        'recall@10 ef40',
        'ef100',
        'ef200',
      ],
    ];
    for (const name of ['small', 'large']) {
      const r = results[name]! as {
        chunks: number;
        sql: Timing;
        sqlVector: Timing;
        sqlText: Timing;
        sqlExact: Timing;
        textExhaustive: Timing;
        textOverlap: number;
        api?: Timing;
        workflowPath?: Timing;
        recall40: { recall: number };
        recall100: { recall: number };
        recall200: { recall: number };
      };
      rows.push([
        name,
        String(r.chunks),
        r.sql.p50.toFixed(1),
        r.sql.p95.toFixed(1),
        r.sqlVector.p50.toFixed(1),
        r.sqlText.p50.toFixed(1),
        r.textExhaustive.p50.toFixed(1),
        r.textOverlap.toFixed(3),
        r.sqlExact.p50.toFixed(1),
        r.sqlExact.p95.toFixed(1),
        r.api ? r.api.p50.toFixed(1) : '-',
        r.api ? r.api.p95.toFixed(1) : '-',
        r.workflowPath ? r.workflowPath.p50.toFixed(1) : '-',
        r.workflowPath ? r.workflowPath.p95.toFixed(1) : '-',
        r.recall40.recall.toFixed(3),
        r.recall100.recall.toFixed(3),
        r.recall200.recall.toFixed(3),
      ]);
    }
    console.log(`\nretrieval: ${questions.length} questions × ${rounds - 1} timed rounds, topK ${TOP_K}, ms\n`);
    printTable(rows);
    console.log(
      `\nRESULT ${JSON.stringify({
        bench: 'retrieval',
        env: {
          ...machineFacts(),
          database: external ? `Postgres ${serverVersion} (BENCH_DATABASE_URL)` : 'PGlite (embedded, in memory)',
          loadAverage1m: round(loadavg()[0]!, 2),
        },
        questions: questions.length,
        rounds,
        topK: TOP_K,
        results,
      })}`,
    );
  } finally {
    dispose();
    await cleanup();
  }
}

runMain(main);
