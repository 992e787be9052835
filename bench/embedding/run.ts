/**
 * What the embedding model costs ingestion, end to end through the real stack (issue 16): `npm start`'s launcher
 * (scripts/start.ts: Temporal dev server, PGlite, the worker and the API as processes of their own) on free ports and
 * a data folder of its own, then, for each embedder, the same pages uploaded through the API into a new collection
 * of that model and ingested (API → Temporal → worker → Postgres), timed from the upload request until GET
 * /v1/ingests/:id says completed.
 *
 *   npx tsx bench/embedding/run.ts                    # the first 150 pages of library/*.html, 2 rounds
 *   BENCH_DOCS=50 BENCH_ROUNDS=1 npx tsx bench/embedding/run.ts
 *   BENCH_EMBEDDING=local-minilm-l6 npx tsx bench/embedding/run.ts   # one embedder only (comma-separated list)
 *   BENCH_CONCURRENCY=16 npx tsx bench/embedding/run.ts             # INGEST_CONCURRENCY of the stack (default 4)
 *
 * Corpus: the Python 3.11 HTML documentation (bench/lib/python-docs.ts), library/*.html sorted by name. An untimed
 * warm-up ingests the last BENCH_WARMUP pages (5 by default) with each embedder first, so no timed run pays the
 * worker's cold start or the loading of the ONNX model. Rounds alternate the order of the embedders. Besides the wall
 * clock it reports, per run, the embedding calls the gateway recorded in `llm_calls` (their count and the sum of
 * their latencies, which overlap when documents are ingested concurrently), and, apart from the stack, the same
 * chunks embedded in this process one batch after another (parse and chunk as the activity does): what the
 * embedding alone costs on one thread. Prints a table and, last, one line `RESULT {json}`.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { loadConfig } from '../../lib/config';
import { chunkDocument, contextualText } from '../../lib/ingest/chunk';
import { parseDocument } from '../../lib/ingest/parse';
import { HASHING_EMBEDDING_MODEL, MINILM_L6 } from '../../lib/llm/local-models';
import { LocalProvider } from '../../lib/llm/providers/local';
import { benchLifecycle, runMain } from '../lib/lifecycle';
import { intFromEnv, machineFacts, median } from '../lib/env';
import { corpusDir } from '../lib/python-docs';
import { launchStack, stackCall, type LaunchedStack } from '../lib/stack';
import { printTable } from '../lib/table';

// As in activities/ingest.ts.
const EMBED_BATCH = 128;
const round = (x: number, digits = 2) => Number(x.toFixed(digits));
const s1 = (ms: number) => (ms / 1000).toFixed(2);

interface Corpus {
  dir: string;
  names: string[];
  bytes: Buffer[];
}

async function loadCorpus(limit: number, from: 'start' | 'end'): Promise<Corpus> {
  const dir = corpusDir();
  const all = (await readdir(join(dir, 'library'))).filter((f) => f.endsWith('.html')).sort();
  const names = (from === 'start' ? all.slice(0, limit) : all.slice(-limit)).map((f) => `library/${f}`);
  return { dir, names, bytes: await Promise.all(names.map((n) => readFile(join(dir, n)))) };
}

type Stack = LaunchedStack & { databaseUrl: string; key: string };

/** `npm start` on a data folder of its own (the embedded Postgres, the first start's admin key). */
async function startStack(dataDir: string, concurrency: number, signal: AbortSignal): Promise<Stack> {
  const stack = await launchStack({ BC_DATA_DIR: dataDir, INGEST_CONCURRENCY: String(concurrency) }, { signal });
  const { databaseUrl, key } = stack;
  if (!databaseUrl || !key) {
    await stack.stop();
    throw new Error(`npm start did not print its database and key:\n${stack.output()}`);
  }
  return { ...stack, databaseUrl, key };
}

const api = <T>(stack: Stack, method: string, path: string, body?: unknown): Promise<T> =>
  stackCall<T>(stack.apiUrl, stack.key, method, path, body);

interface Progress {
  done: number;
  failed: number;
  skipped: number;
  chunks: number;
}

interface Run {
  model: string;
  round: number;
  documents: number;
  chunks: number;
  uploadMs: number;
  ms: number;
  embedCalls: number;
  embedLatencyMs: number;
}

/** A new collection of `model`; every page uploaded in one request and ingested; timed until the run completed. */
async function ingestThroughApi(
  stack: Stack,
  db: pg.Client,
  model: string,
  name: string,
  corpus: Corpus,
  signal: AbortSignal,
): Promise<Omit<Run, 'round'>> {
  const collection = await api<{ id: string; embeddingModel: string }>(stack, 'POST', '/v1/collections', {
    name,
    embeddingModel: model,
  });
  if (collection.embeddingModel !== model) throw new Error(`asked for ${model}, got ${collection.embeddingModel}`);
  const form = new FormData();
  corpus.names.forEach((n, i) => form.append('file', new Blob([corpus.bytes[i]!], { type: 'text/html' }), n));
  const since = new Date();
  const started = performance.now();
  const { workflowId } = await api<{ workflowId: string }>(
    stack,
    'POST',
    `/v1/collections/${collection.id}/documents`,
    form,
  );
  const uploadMs = performance.now() - started;
  let progress: Progress | null = null;
  for (;;) {
    if (signal.aborted) throw new Error('interrupted');
    const run = await api<{ status: string; progress: Progress | null }>(
      stack,
      'GET',
      `/v1/ingests/${encodeURIComponent(workflowId)}`,
    );
    if (run.status === 'completed') {
      progress = run.progress;
      break;
    }
    if (run.status !== 'running') throw new Error(`ingest ${workflowId}: ${run.status}`);
    await sleep(100);
  }
  const ms = performance.now() - started;
  if (!progress || progress.done !== corpus.names.length || progress.failed !== 0)
    throw new Error(`ingest ${workflowId}: ${JSON.stringify(progress)}`);
  const calls = await db.query<{ n: number; latency: number }>(
    `select count(*)::int as n, coalesce(sum(latency_ms), 0)::int as latency from llm_calls
      where purpose = 'embedding' and model = $1 and created_at >= $2 and outcome = 'ok'`,
    [model, since],
  );
  return {
    model,
    documents: corpus.names.length,
    chunks: progress.chunks,
    uploadMs,
    ms,
    embedCalls: calls.rows[0]!.n,
    embedLatencyMs: calls.rows[0]!.latency,
  };
}

/** The same chunks as the activity makes them, embedded here one batch after another: the embedding alone. */
async function embedInProcess(corpus: Corpus, models: string[]) {
  const config = loadConfig({ ...process.env, LLM_PROVIDER: 'local' });
  const texts: string[] = [];
  for (let d = 0; d < corpus.names.length; d++) {
    const parsed = await parseDocument({ bytes: corpus.bytes[d]!, filename: corpus.names[d]!, mimeType: 'text/html' });
    for (const piece of chunkDocument(parsed, { chunkSize: 400, chunkOverlap: 60 })) texts.push(contextualText(piece));
  }
  const provider = new LocalProvider({ models: config.llm.localModels });
  const out: Record<string, { chunks: number; ms: number; tokens: number }> = {};
  for (const model of models) {
    await provider.embed(['warm-up'], { model, timeoutMs: 60_000 }); // loads the model: not timed
    const started = performance.now();
    let tokens = 0;
    for (let i = 0; i < texts.length; i += EMBED_BATCH) {
      const res = await provider.embed(texts.slice(i, i + EMBED_BATCH), { model, timeoutMs: 600_000 });
      tokens += res.usage.inputTokens;
    }
    out[model] = { chunks: texts.length, ms: performance.now() - started, tokens };
  }
  return out;
}

async function main(): Promise<void> {
  const docs = intFromEnv('BENCH_DOCS', 150, 1, 5000);
  const rounds = intFromEnv('BENCH_ROUNDS', 2, 1, 10);
  const warmupDocs = intFromEnv('BENCH_WARMUP', 5, 0, 100);
  const concurrency = intFromEnv('BENCH_CONCURRENCY', 4, 1, 64);
  const models = (process.env.BENCH_EMBEDDING ?? `${HASHING_EMBEDDING_MODEL},${MINILM_L6.model}`)
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  const timeoutS = intFromEnv('BENCH_TIMEOUT_S', 600 + 4 * docs * rounds * models.length, 30, 7 * 24 * 3600);
  let stack: Stack | undefined;
  const { cleanups, cleanup, bounded, dispose, signal } = benchLifecycle({
    timeoutS,
    graceS: 60,
    onHardStop: () => stack?.child.kill('SIGKILL'),
  });
  try {
    const corpus = await loadCorpus(docs, 'start');
    const warmup = warmupDocs ? await loadCorpus(warmupDocs, 'end') : null;
    const dataDir = await mkdtemp(join(tmpdir(), 'beyondcloud-bench-embedding-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    console.error(
      `corpus: ${corpus.names.length} pages of ${corpus.dir}/library; embedders ${models.join(', ')}; ${rounds} round(s); starting the stack ...`,
    );
    const started = performance.now();
    stack = await bounded(startStack(dataDir, concurrency, signal));
    const up = stack;
    cleanups.push(() => up.stop());
    console.error(`  up in ${s1(performance.now() - started)} s at ${up.apiUrl}`);
    const db = new pg.Client({ connectionString: up.databaseUrl });
    await db.connect();
    cleanups.push(() => db.end());
    const loadAtStart = round(loadavg()[0]!);

    if (warmup) {
      for (const model of models) {
        console.error(`warm-up (untimed): ${warmup.names.length} pages with ${model} ...`);
        await bounded(ingestThroughApi(up, db, model, `warm-up ${model}`, warmup, signal));
      }
    }
    const runs: Run[] = [];
    for (let r = 1; r <= rounds; r++) {
      const order = r % 2 ? models : [...models].reverse();
      for (const model of order) {
        const run = await bounded(ingestThroughApi(up, db, model, `bench ${model} ${r}`, corpus, signal));
        runs.push({ ...run, round: r });
        console.error(
          `  round ${r}, ${model}: ${run.documents} documents, ${run.chunks} chunks in ${s1(run.ms)} s (upload ${s1(run.uploadMs)} s; ${run.embedCalls} embedding calls, ${s1(run.embedLatencyMs)} s summed)`,
        );
      }
    }
    const loadAtEnd = round(loadavg()[0]!);
    console.error('the same chunks embedded in this process, one batch after another ...');
    const alone = await bounded(embedInProcess(corpus, models));
    const ready = /\[start\] {3}Embeddings {3}(\S+)/.exec(up.output())?.[1];

    const per = models.map((model) => {
      const mine = runs.filter((x) => x.model === model);
      const ms = median(mine.map((x) => x.ms));
      const chunks = mine[0]!.chunks;
      return {
        model,
        runs: mine.length,
        documents: corpus.names.length,
        chunks,
        ms: round(ms),
        msEach: mine.map((x) => round(x.ms)),
        docsPerS: round(corpus.names.length / (ms / 1000)),
        chunksPerS: round(chunks / (ms / 1000), 1),
        embedCalls: mine[0]!.embedCalls,
        embedLatencyMs: round(median(mine.map((x) => x.embedLatencyMs))),
        embedAloneMs: round(alone[model]!.ms),
        embedAloneChunksPerS: round(alone[model]!.chunks / (alone[model]!.ms / 1000), 1),
        embedAloneShare: round(alone[model]!.ms / ms, 3),
      };
    });
    const env = { ...machineFacts(), loadAverage1m: { atStart: loadAtStart, atEnd: loadAtEnd } };
    console.log('');
    console.log(
      `Ingestion through the API by embedder: ${corpus.names.length} pages of the Python 3.11 docs, npm start's stack (INGEST_CONCURRENCY ${concurrency}), median of ${rounds}`,
    );
    console.log(
      `node ${env.node}, ${env.cpus} CPUs (${env.cpuModel}); 1-minute load average ${loadAtStart} at the start, ${loadAtEnd} at the end; the stack's default for new collections: ${ready}`,
    );
    console.log('');
    printTable([
      [
        'embedder',
        'documents',
        'chunks',
        'seconds (each run)',
        'docs/s',
        'chunks/s',
        'embed calls, summed latency s',
        'embedding alone s (chunks/s)',
        'alone / end to end',
      ],
      ...per.map((p) => [
        p.model,
        String(p.documents),
        String(p.chunks),
        `${s1(p.ms)} (${p.msEach.map(s1).join(', ')})`,
        p.docsPerS.toFixed(2),
        p.chunksPerS.toFixed(1),
        `${p.embedCalls}, ${s1(p.embedLatencyMs)}`,
        `${s1(p.embedAloneMs)} (${p.embedAloneChunksPerS.toFixed(1)})`,
        `${(p.embedAloneShare * 100).toFixed(1)}%`,
      ]),
    ]);
    const hash = per.find((p) => p.model === HASHING_EMBEDDING_MODEL);
    const semantic = per.find((p) => p.model === MINILM_L6.model);
    let delta: { ms: number; share: number; ratio: number } | undefined;
    if (hash && semantic) {
      delta = {
        ms: round(semantic.ms - hash.ms),
        share: round((semantic.ms - hash.ms) / semantic.ms, 3),
        ratio: round(semantic.ms / hash.ms, 3),
      };
      console.log('');
      console.log(
        `${semantic.model} takes ${s1(delta.ms)} s more than ${hash.model} end to end (${delta.ratio.toFixed(2)}x the time; ${(delta.share * 100).toFixed(1)}% of its run)`,
      );
    }
    console.log('');
    console.log(
      'RESULT ' +
        JSON.stringify({
          benchmark: 'embedding',
          date: new Date().toISOString(),
          corpus: { source: 'python3.11-doc library/*.html', documents: corpus.names.length },
          settings: { concurrency, rounds, warmup: warmupDocs, models },
          env,
          defaultModel: ready,
          embedders: per,
          runs: runs.map((x) => ({ ...x, ms: round(x.ms), uploadMs: round(x.uploadMs) })),
          semanticVsHashing: delta,
        }),
    );
  } finally {
    dispose();
    await cleanup();
  }
}

runMain(main);
