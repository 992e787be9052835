/**
 * Throughput (issue 21, item 5): answers/s and ingested documents/s at 1, 10 and 100 concurrent callers through the
 * running platform, with p50/p95 latency and the CPU and memory of each process, beside a direct-call baseline: the
 * same pipeline's steps called in one process, without the API, Temporal or run records.
 *
 *   npm run bench:throughput
 *   BENCH_LEVELS=1,10,100 BENCH_MODEL_LATENCY_MS=300 npm run bench:throughput
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres npm run bench:throughput  # a real Postgres
 *
 * Everything runs on this machine: `npm start`'s launcher as a user runs it (embedded Temporal dev server, PGlite, a
 * worker and the API as processes of their own, free ports, a data folder of its own), and the scripted
 * OpenAI-compatible model (test/openai-server.ts) in this process, answering every chat request after a fixed
 * BENCH_MODEL_LATENCY_MS (default 300) by what the prompt asks for: a generation quotes its first passage with its
 * [n], the judge supports a claim a passage states, a rerank keeps the order. Phases, in this order:
 *   1. the stack with the offline provider (LLM_PROVIDER local): collections embedded with its default model
 *      (all-MiniLM-L6-v2, or the hashing fallback when that cannot be fetched);
 *      ingest   per level, a collection of its own; each caller uploads one page of the Python 3.11 library reference
 *               at a time (`POST /v1/collections/:id/documents`, one file) and waits for its ingest run's result
 *               (the Temporal client's long poll on the returned workflow id); max(20, 3 x callers) pages a level
 *      answer   per level, each caller asks a question of bench/eval (`POST /v1/answers?wait=true`, the defaults:
 *               topK 6, rerank, the grounding gate) over the largest collection; max(20, 3 x callers) answers a level
 *   2. the same data folder started again with the scripted model (LLM_PROVIDER openai, OPENAI_BASE_URL), embeddings
 *      still local: answer levels as above (rerank, generation and the judge: three model calls of
 *      BENCH_MODEL_LATENCY_MS each). Ingestion calls no chat model, so it is measured once, in phase 1.
 *   3. the direct-call baseline in this process, against the same Postgres (the stack idle): per document, the blob
 *      and document row the upload writes, then parse, chunk, embed and store in one transaction as the ingest
 *      activity does; per answer, the query's embedding, hybrid retrieval, context assembly, the rerank (scripted
 *      model only), the streamed generation and the grounding check (the offline checker, or the LLM judge) through
 *      the same gateway (its call records written as in a run). Same levels, same counts, same questions.
 * Each platform level starts after an untimed warm-up (3 calls). Prints a table (per level: ok/failed, calls/s,
 * p50/p95 ms, and the cores and peak RSS of each process during it) and, last, one line `RESULT {json}`; exits
 * non-zero on any failure. A watchdog (BENCH_TIMEOUT_S, default 2,400 s) bounds the run; everything started is
 * stopped on every path.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { ANSWER_DEFAULTS, type ClaimVerdict, type ContextPassage, type IngestProgress } from '../../lib/contracts';
import { loadConfig } from '../../lib/config';
import { ChunkEntity, CollectionEntity, DocumentEntity } from '../../lib/db/entities';
import { MikroORM } from '@mikro-orm/postgresql';
import { ormOptions, type Orm } from '../../lib/db/orm';
import { chunkDocument, contextualText } from '../../lib/ingest/chunk';
import { parseDocument } from '../../lib/ingest/parse';
import { chunkRows, insertChunks } from '../../lib/ingest/store';
import { createLlmGateway, type LlmGateway } from '../../lib/llm';
import { splitClaims } from '../../lib/rag/claims';
import { assembleContext } from '../../lib/rag/context';
import { checkAnswer } from '../../lib/rag/grounding';
import { buildJudgeMessages, JUDGE_RESPONSE_FORMAT, parseJudgeOutput } from '../../lib/rag/judge';
import { buildAnswerMessages } from '../../lib/rag/prompt';
import { applyRanking, buildRerankMessages, RERANK_RESPONSE_FORMAT } from '../../lib/rag/rerank';
import { retrieveHybrid } from '../../lib/rag/retrieve';
import { embedSearchQuery } from '../../lib/rag/search';
import { BlobStore } from '../../lib/storage/blobs';
import { createClient } from '../../lib/temporal/client';
import { startOpenAiServer, type RecordedRequest, type Step } from '../../test/openai-server';
import { scriptedAnswerStep } from '../../test/scripted-model';
import { intFromEnv, machineFacts, percentile } from '../lib/env';
import { freshDatabase } from '../lib/database';
import { benchLifecycle, runMain } from '../lib/lifecycle';
import { probeProcesses, stackRole, type RoleUsage } from '../lib/procs';
import { corpusDir } from '../lib/python-docs';
import { launchStack, stackCall, type LaunchedStack } from '../lib/stack';
import { printTable } from '../lib/table';

const here = fileURLToPath(new URL('.', import.meta.url));
const EMBED_BATCH = 64;
const WARMUP = 3;

const round = (x: number, digits = 1) => Number(x.toFixed(digits));

function levelsFromEnv(): number[] {
  const raw = process.env.BENCH_LEVELS ?? '1,10,100';
  const levels = raw.split(',').map((s) => Number(s.trim()));
  if (!levels.length || levels.some((n) => !Number.isInteger(n) || n < 1 || n > 500))
    throw new Error(`BENCH_LEVELS must be a comma-separated list of integers from 1 to 500 (got "${raw}")`);
  return levels;
}

/**
 * How many calls a level makes: at least 20 (a p95 at one caller), BENCH_CALLS_PER_CALLER (default 3) per caller
 * above that; offline answers, bound by the local models' CPU rather than by callers, one per caller.
 */
const callsAt = (level: number, perCaller: number) => Math.max(20, perCaller * level);

interface LevelResult {
  pipeline: string;
  path: 'platform' | 'direct';
  callers: number;
  calls: number;
  ok: number;
  failed: number;
  perS: number;
  p50: number;
  p95: number;
  wallS: number;
  usage: RoleUsage[];
  /** What the calls ended as (an answer's status: answered, abstained; an ingest: ready). */
  outcomes: Record<string, number>;
  firstError?: string;
}

/**
 * `calls` calls made by `callers` concurrent loops (each takes the next index), timed one by one; a call that throws
 * counts as failed with its message kept.
 */
async function atConcurrency(
  callers: number,
  calls: number,
  call: (i: number) => Promise<string>,
): Promise<{
  latencies: number[];
  failed: number;
  wallS: number;
  outcomes: Record<string, number>;
  firstError?: string;
}> {
  const latencies: number[] = [];
  const outcomes: Record<string, number> = {};
  let failed = 0;
  let firstError: string | undefined;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let i = next++; i < calls; i = next++) {
        const t = performance.now();
        try {
          const outcome = await call(i);
          latencies.push(performance.now() - t);
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        } catch (e) {
          failed++;
          firstError ??= (e as Error).message.slice(0, 300);
        }
      }
    }),
  );
  return { latencies, failed, wallS: (performance.now() - started) / 1000, outcomes, firstError };
}

async function measure(
  pipeline: string,
  path: LevelResult['path'],
  callers: number,
  calls: number,
  probeRoots: number[],
  role: (pid: number) => string,
  call: (i: number) => Promise<string>,
): Promise<LevelResult> {
  const probe = probeProcesses(probeRoots, role);
  const r = await atConcurrency(callers, calls, call);
  const usage = probe.stop();
  const result: LevelResult = {
    pipeline,
    path,
    callers,
    calls,
    ok: r.latencies.length,
    failed: r.failed,
    perS: round(r.latencies.length / r.wallS, 2),
    p50: round(percentile(r.latencies, 50)),
    p95: round(percentile(r.latencies, 95)),
    wallS: round(r.wallS, 2),
    usage,
    outcomes: r.outcomes,
    ...(r.firstError ? { firstError: r.firstError } : {}),
  };
  console.error(
    `${pipeline} ${path} x${callers}: ${result.ok}/${calls} ok, ${result.perS}/s, p50 ${result.p50} ms, p95 ${result.p95} ms, ${JSON.stringify(r.outcomes)}` +
      (r.firstError ? ` (first failure: ${r.firstError})` : ''),
  );
  return result;
}

/** The scripted model's rule (test/scripted-model.ts) after a fixed latency. */
function scriptedReply(latencyMs: number): (r: RecordedRequest) => Step {
  return (r) => {
    const step = scriptedAnswerStep(r);
    return latencyMs > 0 ? { delayMs: latencyMs, then: step } : step;
  };
}

interface Page {
  name: string;
  bytes: Buffer;
}

async function loadPages(): Promise<Page[]> {
  const dir = join(corpusDir(), 'library');
  const names = readdirSync(dir)
    .filter((f) => f.endsWith('.html'))
    .sort();
  return Promise.all(names.map(async (name) => ({ name, bytes: await readFile(join(dir, name)) })));
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- API answers

/** The platform's side: uploads and answers through the API of a launched stack. */
function platformCalls(stack: LaunchedStack, key: string, temporal: ReturnType<typeof createClient>) {
  const call = (method: string, path: string, body?: unknown) => stackCall<Json>(stack.apiUrl, key, method, path, body);
  return {
    call,
    async ingest(collectionId: string, page: Page): Promise<string> {
      const form = new FormData();
      form.append('file', new Blob([page.bytes], { type: 'text/html' }), page.name);
      const added = await call('POST', `/v1/collections/${collectionId}/documents`, form);
      const progress = (await temporal.workflow.getHandle(added.workflowId as string).result()) as IngestProgress;
      if (progress.failed) throw new Error(`${page.name}: ${JSON.stringify(progress.failures)}`);
      return progress.done === 1 ? 'ready' : 'skipped';
    },
    async answer(collectionId: string, question: string): Promise<string> {
      const res = await call('POST', '/v1/answers?wait=true', { question, collectionIds: [collectionId] });
      if (res.status !== 'answered' && res.status !== 'abstained')
        throw new Error(`answer ${res.id}: status ${res.status}: ${res.result?.error ?? ''}`);
      return `${res.status as string}${res.result?.regenerated ? ' (regenerated)' : ''}`;
    },
  };
}

/** The direct-call side: the same steps in this process, no API, no Temporal, no run records. */
function directCalls(orm: Orm, llm: LlmGateway, blobs: BlobStore, tenantId: string) {
  const ctx = { tenantId };
  const hasModel = llm.route('judge').provider !== 'local';
  return {
    async ingest(collectionId: string, page: Page): Promise<string> {
      const em = orm.em.fork();
      const collection = await em.findOneOrFail(CollectionEntity, { id: collectionId, tenantId });
      // What the upload writes: the blob and the document row.
      const blob = await blobs.putBuffer(tenantId, page.bytes);
      const doc = em.create(DocumentEntity, {
        id: randomUUID(),
        tenantId,
        collectionId,
        metadata: {},
        sourceKind: 'upload',
        source: page.name,
        title: page.name,
        mimeType: 'text/html',
        sizeBytes: blob.size,
        blobSha256: blob.sha256,
      });
      await em.flush();
      // What the ingest activity does.
      const bytes = await blobs.read(tenantId, blob.sha256);
      const parsed = await parseDocument({ bytes, filename: page.name, mimeType: 'text/html' });
      const pieces = chunkDocument(parsed, {
        chunkSize: collection.chunkSize,
        chunkOverlap: collection.chunkOverlap,
        combineSections: collection.combineSections,
      });
      const vectors: number[][] = [];
      for (let i = 0; i < pieces.length; i += EMBED_BATCH) {
        const res = await llm.embed(ctx, pieces.slice(i, i + EMBED_BATCH).map(contextualText), {
          model: collection.embeddingModel,
        });
        vectors.push(...res.vectors);
      }
      const now = new Date();
      const rows = chunkRows(
        { tenantId, collectionId, documentId: doc.id, embeddingDim: collection.embeddingDim },
        pieces,
        vectors,
        now,
      );
      await orm.em.fork().transactional(async (tx) => {
        await tx.nativeDelete(ChunkEntity, { documentId: doc.id, tenantId });
        await insertChunks(tx, rows);
        await tx.nativeUpdate(
          DocumentEntity,
          { id: doc.id, tenantId },
          { status: 'ready', contentHash: blob.sha256, chunkCount: rows.length, indexedAt: now },
        );
      });
      return 'ready';
    },
    async answer(collectionId: string, question: string): Promise<string> {
      const { vector } = await embedSearchQuery({ orm, llm }, ctx, [collectionId], question);
      const chunks = await retrieveHybrid(orm.em.fork(), {
        tenantId,
        collectionIds: [collectionId],
        query: question,
        queryVector: vector,
        topK: ANSWER_DEFAULTS.topK,
      });
      let passages = assembleContext(chunks, ANSWER_DEFAULTS.maxContextTokens);
      if (!passages.length) return 'abstained';
      if (ANSWER_DEFAULTS.rerank && hasModel && passages.length > 1) {
        const res = await llm.generate(ctx, buildRerankMessages(question, passages), {
          purpose: 'judge',
          temperature: 0,
          responseFormat: RERANK_RESPONSE_FORMAT,
        });
        passages = applyRanking(res.text, passages) ?? passages;
      }
      const generate = (given: ContextPassage[], strict: boolean) =>
        llm.generate(ctx, buildAnswerMessages({ question, passages: given, strict }), {
          purpose: 'answer',
          temperature: 0,
          stream: true,
          onToken: () => {},
        });
      const ground = async (text: string, given: ContextPassage[]): Promise<ClaimVerdict[]> => {
        const evidence = given.map((p) => ({ id: String(p.n), text: p.text }));
        if (!hasModel) return (await checkAnswer(text, evidence, { question, encoder: llm.localEncoder() })).claims;
        const claims = splitClaims(text).map((c) => c.text);
        if (!claims.length) return [];
        const judged = await llm.generate(ctx, buildJudgeMessages(claims, evidence), {
          purpose: 'judge',
          temperature: 0,
          responseFormat: JUDGE_RESPONSE_FORMAT,
        });
        return parseJudgeOutput(
          judged.text,
          claims,
          evidence.map((e) => e.id),
        );
      };
      const passed = (claims: ClaimVerdict[]) =>
        (claims.length ? claims.filter((c) => c.verdict === 'supported').length / claims.length : 1) >=
        ANSWER_DEFAULTS.groundingThreshold;
      // The gate as the answer workflow runs it: below the threshold, once more over the supported spans only.
      let claims = await ground((await generate(passages, false)).text, passages);
      let regenerated = false;
      if (!passed(claims)) {
        const spans = new Map<number, string[]>();
        for (const c of claims) {
          const n = Number(c.evidence?.id);
          if (c.verdict === 'supported' && c.evidence && passages.some((p) => p.n === n))
            spans.set(n, [...(spans.get(n) ?? []), c.evidence.span]);
        }
        const evidence = passages
          .filter((p) => spans.has(p.n))
          .map((p) => ({ ...p, text: [...new Set(spans.get(p.n))].join(' ') }));
        if (evidence.length) {
          claims = await ground((await generate(evidence, true)).text, evidence);
          regenerated = true;
        }
      }
      const status = passed(claims) && claims.length ? 'answered' : 'abstained';
      return `${status}${regenerated ? ' (regenerated)' : ''}`;
    },
  };
}

function usageCells(r: LevelResult, roles: string[]): string[] {
  return roles.map((role) => {
    const u = r.usage.find((x) => x.role === role);
    return u ? `${u.cores.toFixed(2)} / ${u.peakRssMb}` : '-';
  });
}

async function main() {
  const levels = levelsFromEnv();
  const latencyMs = intFromEnv('BENCH_MODEL_LATENCY_MS', 300, 0, 10_000);
  const timeoutS = intFromEnv('BENCH_TIMEOUT_S', 2400, 60, 86_400);
  const questions = (
    JSON.parse(await readFile(join(here, '../eval/data/questions.json'), 'utf8')) as Array<{ question: string }>
  ).map((q) => q.question);
  const pages = await loadPages();
  const maxLevel = Math.max(...levels);
  const perCaller = intFromEnv('BENCH_CALLS_PER_CALLER', 3, 1, 100);
  if (pages.length < callsAt(maxLevel, perCaller) + WARMUP)
    throw new Error(`the corpus has ${pages.length} pages; ${callsAt(maxLevel, perCaller) + WARMUP} are needed`);

  let stack: LaunchedStack | undefined;
  const lc = benchLifecycle({
    timeoutS,
    graceS: 90,
    onHardStop: () => stack?.child.kill('SIGKILL'),
    onSignal: () => stack?.child.kill('SIGTERM'),
  });
  const { bounded, cleanups } = lc;
  const results: LevelResult[] = [];
  try {
    const model = await startOpenAiServer({ fallback: { chat: scriptedReply(latencyMs) } });
    cleanups.push(() => model.close());
    const dataDir = await mkdtemp(join(tmpdir(), 'bench-throughput-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const blobDir = await mkdtemp(join(tmpdir(), 'bench-throughput-blobs-'));
    cleanups.push(() => rm(blobDir, { recursive: true, force: true }));

    // BENCH_DATABASE_URL: the stack and the direct path on a real Postgres with pgvector instead of npm start's
    // PGlite; the run gets a fresh database there, dropped at the end (after the stack has stopped).
    const external = process.env.BENCH_DATABASE_URL;
    const fresh = external ? await bounded(freshDatabase(external, 'bench_throughput')) : null;
    if (fresh) cleanups.push(() => fresh.stop());
    const launch = async (env: NodeJS.ProcessEnv) => {
      console.error(`starting the stack (${env.LLM_PROVIDER ?? 'local'} provider) ...`);
      const s = await bounded(
        launchStack(
          { BC_DATA_DIR: dataDir, ...(fresh ? { DATABASE_URL: fresh.url } : {}), ...env },
          { signal: lc.signal },
        ),
      );
      stack = s;
      cleanups.push(async () => {
        await s.stop();
        // What the stack said, kept when a call failed: the reason is in its worker's and API's log lines.
        if (results.some((r) => r.failed)) {
          const file = join(tmpdir(), `bench-throughput-${env.LLM_PROVIDER ?? 'local'}.log`);
          await writeFile(file, s.output());
          console.error(`the stack's output: ${file}`);
        }
      });
      if (!s.temporalAddress) throw new Error('npm start did not print its Temporal address');
      const temporal = createClient(await bounded(Connection.connect({ address: s.temporalAddress })), 'default');
      cleanups.push(() => temporal.connection.close());
      return { s, temporal };
    };
    const stackRoots = () => [stack!.child.pid!];
    const roleOf = (pid: number) => stackRole(pid, stack!.child.pid!);

    // Phase 1: the offline provider. Ingestion per level, then answers over the largest collection.
    const first = await launch({});
    const key = first.s.key;
    if (!key) throw new Error('npm start printed no admin key on a fresh data folder');
    let api = platformCalls(first.s, key, first.temporal);
    const ingestCollections = new Map<number, Json>();
    for (const level of levels) {
      const c = await api.call('POST', '/v1/collections', { name: `throughput-${level}` });
      ingestCollections.set(level, c);
      const warm = pages.slice(pages.length - WARMUP);
      await bounded(atConcurrency(1, warm.length, (i) => api.ingest(c.id as string, warm[i]!)));
      results.push(
        await bounded(
          measure('ingest', 'platform', level, callsAt(level, perCaller), stackRoots(), roleOf, (i) =>
            api.ingest(c.id as string, pages[i]!),
          ),
        ),
      );
    }
    const answerCollection = ingestCollections.get(maxLevel)!;
    const tenantId = answerCollection.tenantId as string;
    const embeddingModel = answerCollection.embeddingModel as string;
    /**
     * One answer pipeline at every level: the warm-up asks the last questions of the set, each level the next ones in
     * order (wrapping), so the platform and the direct path ask the same questions at the same level.
     */
    const answerLevels = async (
      pipeline: string,
      path: LevelResult['path'],
      roots: () => number[],
      role: (pid: number) => string,
      ask: (question: string) => Promise<string>,
    ) => {
      const calls = pipeline === 'answer offline' ? 1 : perCaller;
      let offset = 0;
      for (const level of levels) {
        await bounded(atConcurrency(1, WARMUP, (i) => ask(questions[questions.length - 1 - i]!)));
        const from = offset;
        results.push(
          await bounded(
            measure(pipeline, path, level, callsAt(level, calls), roots(), role, (i) =>
              ask(questions[(from + i) % questions.length]!),
            ),
          ),
        );
        offset += callsAt(level, calls);
      }
    };
    await answerLevels('answer offline', 'platform', stackRoots, roleOf, (q) =>
      api.answer(answerCollection.id as string, q),
    );
    await first.s.stop();

    // Phase 2: the scripted model (chat only; embeddings stay with the collections' local model).
    const scriptedEnv = {
      LLM_PROVIDER: 'openai',
      OPENAI_BASE_URL: `${model.url}/v1`,
      OPENAI_API_KEY: 'bench-key',
      LLM_MODEL_EMBEDDING: embeddingModel,
    };
    const second = await launch(scriptedEnv);
    api = platformCalls(second.s, key, second.temporal);
    await answerLevels(`answer scripted ${latencyMs} ms`, 'platform', stackRoots, roleOf, (q) =>
      api.answer(answerCollection.id as string, q),
    );

    // Phase 3: the direct-call baseline, in this process, on the same Postgres (the stack idle).
    const databaseUrl = fresh?.url ?? second.s.databaseUrl;
    if (!databaseUrl) throw new Error('npm start did not print its Postgres address');
    const directRoots = [process.pid, stack!.child.pid!];
    const directRole = (pid: number) => (pid === process.pid ? 'bench (direct)' : roleOf(pid));
    const gateway = async (env: NodeJS.ProcessEnv) => {
      const config = loadConfig({ ...env, DATABASE_URL: databaseUrl, BC_DATA_DIR: dataDir });
      // The worker's pool size; a caller waits for a connection as long as it takes (100 callers storing at once
      // outwait the 30 s a process of the platform gives up after, which the platform's task queue never lets happen).
      const base = ormOptions(databaseUrl, 8);
      const orm = await MikroORM.init({ ...base, pool: { ...base.pool, acquireTimeoutMillis: 600_000 } });
      cleanups.push(() => orm.close());
      const llm = createLlmGateway({ config, orm });
      cleanups.push(() => llm.close());
      return { orm, llm };
    };
    const offline = await gateway({ LLM_MODEL_EMBEDDING: embeddingModel });
    const scripted = await gateway(scriptedEnv);
    const blobs = new BlobStore(blobDir);
    const directOffline = directCalls(offline.orm, offline.llm, blobs, tenantId);
    const directScripted = directCalls(scripted.orm, scripted.llm, blobs, tenantId);
    for (const level of levels) {
      const c = await api.call('POST', '/v1/collections', { name: `throughput-direct-${level}` });
      const warm = pages.slice(pages.length - WARMUP);
      await bounded(atConcurrency(1, warm.length, (i) => directOffline.ingest(c.id as string, warm[i]!)));
      results.push(
        await bounded(
          measure('ingest', 'direct', level, callsAt(level, perCaller), directRoots, directRole, (i) =>
            directOffline.ingest(c.id as string, pages[i]!),
          ),
        ),
      );
    }
    const directRootsOf = () => directRoots;
    await answerLevels('answer offline', 'direct', directRootsOf, directRole, (q) =>
      directOffline.answer(answerCollection.id as string, q),
    );
    await answerLevels(`answer scripted ${latencyMs} ms`, 'direct', directRootsOf, directRole, (q) =>
      directScripted.answer(answerCollection.id as string, q),
    );
  } finally {
    lc.dispose();
    await lc.cleanup();
  }

  const roles = ['worker', 'api', 'temporal', 'launcher+postgres', 'bench (direct)'];
  console.log('');
  printTable([
    [
      'pipeline',
      'path',
      'callers',
      'ok/calls',
      'per s',
      'p50 ms',
      'p95 ms',
      ...roles.map((r) => `${r} cores/MB`),
      'outcomes',
    ],
    ...results.map((r) => [
      r.pipeline,
      r.path,
      String(r.callers),
      `${r.ok}/${r.calls}`,
      r.perS.toFixed(2),
      r.p50.toFixed(0),
      r.p95.toFixed(0),
      ...usageCells(r, roles),
      Object.entries(r.outcomes)
        .map(([k, n]) => `${k} ${n}`)
        .join(', '),
    ]),
  ]);
  const ratios = results
    .filter((r) => r.path === 'platform')
    .map((r) => {
      const d = results.find((x) => x.path === 'direct' && x.pipeline === r.pipeline && x.callers === r.callers);
      return {
        pipeline: r.pipeline,
        callers: r.callers,
        throughputVsDirect: d ? round(r.perS / d.perS, 3) : null,
        p50OverheadPct: d ? round(((r.p50 - d.p50) / d.p50) * 100, 1) : null,
      };
    });
  console.log('');
  printTable([
    ['pipeline', 'callers', 'platform/direct per s', 'p50 added by orchestration'],
    ...ratios.map((r) => [
      r.pipeline,
      String(r.callers),
      r.throughputVsDirect === null ? '-' : `${r.throughputVsDirect.toFixed(2)}x`,
      r.p50OverheadPct === null ? '-' : `${r.p50OverheadPct.toFixed(1)}%`,
    ]),
  ]);
  const failed = results.reduce((s, r) => s + r.failed, 0);
  console.log(`RESULT ${JSON.stringify({ machine: machineFacts(), latencyMs, levels, results, ratios })}`);
  if (failed) throw new Error(`${failed} calls failed (see the table and the lines above)`);
}

runMain(main);
