/**
 * Answer quality: retrieval (recall@5, MRR@10), citation accuracy and grounding balanced accuracy, each beside a
 * baseline run in the same process on the same data.
 *
 *   npm run bench:eval              # or: npx tsx bench/eval/run.ts
 *
 * Data (written by hand from the Python 3.11 HTML documentation, see bench/eval/README.md):
 *   data/questions.json  questions with the pages that answer them (`gold`)
 *   data/corpus.json     the 120 library/*.html pages indexed: every gold page plus a deterministic spread of others
 *   data/grounding.json  answer/context pairs labelled supported/unsupported, with the perturbation (`kind`)
 * Corpus: the Debian package python3.11-doc (installed with apt-get when /usr/share/doc/python3.11/html is missing;
 * BENCH_CORPUS_DIR points elsewhere).
 *
 * One process: an embedded Postgres (PGlite, in memory, free port, migrated), a tenant and a collection; the corpus
 * goes through the project's own parse → chunk (400/60 tokens) → embed (LocalProvider, local-embed-384) → store
 * (chunkRows + insertChunks), in-process, since this measures quality, not durability. Then:
 *   retrieval   per question, `retrieveHybrid` (hybrid; vector-only and text-only as extra rows) against BM25 from
 *               wink-bm25-text-search over the same chunk texts (the text the `tsv` column is built from), with
 *               wink-nlp-utils' usual preparation (lower case, tokenize, stopwords out, Porter2 stem).
 *               recall@5: a gold page among the top 5 chunks' documents; MRR@10: 1 / rank of the first chunk from a
 *               gold page within the top 10 (0 when none).
 *   citations   for our top 5 and for BM25's top 5: `buildAnswerMessages`, `generate` with the local provider
 *               (local-extractive), then the share of cited passages (`citedNumbers`) whose document is a gold page;
 *               also the share of questions answered rather than abstained (`isAbstention`).
 *   grounding   ours: `checkAnswerDeterministic(answer, [{ id: 'ctx', text: context }])`, predicted supported iff
 *               every claim is supported. Baseline: plain word overlap, the share of the answer's lower-cased words
 *               found in the context, supported iff >= a threshold; the threshold is the one with the best balanced
 *               accuracy on this very data (a generous baseline: it is fitted on the test set). Our score with a
 *               threshold fitted the same way is shown as an extra row.
 * Prints tables and, last, one line `RESULT {json}`. Exits 0 on success and non-zero on any failure; a watchdog
 * (BENCH_TIMEOUT_S, default 900 s) bounds the run and Postgres is stopped on every path, including Ctrl-C.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import bm25 from 'wink-bm25-text-search';
import nlp from 'wink-nlp-utils';
import { z } from 'zod';
import { CollectionEntity, DocumentEntity, TenantEntity, type Chunk } from '../../lib/db/entities';
import { startEmbeddedPostgres } from '../../lib/db/embedded';
import { createOrm, migrate } from '../../lib/db/orm';
import { chunkDocument, contextualText } from '../../lib/ingest/chunk';
import { parseDocument } from '../../lib/ingest/parse';
import { chunkRows, insertChunks } from '../../lib/ingest/store';
import { MINILM_L6 } from '../../lib/llm/local-models';
import { LOCAL_EXTRACTIVE_MODEL, LocalProvider } from '../../lib/llm/providers/local';
import { checkAnswerDeterministic } from '../../lib/rag/grounding';
import { buildAnswerMessages, citedNumbers, isAbstention, type Passage } from '../../lib/rag/prompt';
import { retrieveHybrid } from '../../lib/rag/retrieve';
import { benchLifecycle, runMain } from '../lib/lifecycle';
import { printTable } from '../lib/table';
import { intFromEnv, machineFacts } from '../lib/env';
import { corpusDir } from '../lib/python-docs';

const DATA_DIR = join(dirname(fileURLToPath(import.meta.url)), 'data');
const CHUNK_SIZE = 400;
const CHUNK_OVERLAP = 60;
const EMBED_DIM = 384;
/** Ours embeds with the local semantic model; the hashing embedder runs beside it as extra rows. */
const EMBED_MODEL = MINILM_L6.model;
const HASH_MODEL = 'local-embed-384';
const EMBED_BATCH = 128;
const TOP_K = 5;
const MRR_DEPTH = 10;
const CALL = { model: LOCAL_EXTRACTIVE_MODEL, timeoutMs: 30_000 };

const QuestionSchema = z.object({
  id: z.string(),
  style: z.enum(['keyword', 'paraphrase', 'specific']),
  question: z.string().min(5),
  gold: z.array(z.string().regex(/^library\/[\w.-]+\.html$/)).min(1),
  answer_hint: z.string().min(1),
});
const CorpusSchema = z.object({
  source: z.string(),
  rule: z.string(),
  pages: z.array(z.string().regex(/^library\/[\w.-]+\.html$/)).min(3),
});
const GroundingSchema = z.object({
  id: z.string(),
  source: z.string(),
  context: z.string().min(20),
  answer: z.string().min(5),
  label: z.enum(['supported', 'unsupported']),
  kind: z.string(),
});
type Question = z.infer<typeof QuestionSchema>;
type GroundingPair = z.infer<typeof GroundingSchema>;

async function loadJson<T>(name: string, schema: z.ZodType<T>): Promise<T> {
  return schema.parse(JSON.parse(await readFile(join(DATA_DIR, name), 'utf8')));
}

/** As bench/ingest/run.ts: the corpus, installing python3.11-doc when the default location is missing. */
const round = (x: number, digits = 3) => Number(x.toFixed(digits));
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

// ------------------------------------------------------------------------------------------------------ retrieval

/** One ranked chunk as the metrics need it. */
interface Hit {
  chunkId: string;
  source: string;
  title: string | null;
  text: string;
  headingPath: string[];
}

interface RankScores {
  recallAt5: number;
  mrrAt10: number;
}

function rankScores(hits: Hit[], gold: string[]): RankScores {
  const first = hits.slice(0, MRR_DEPTH).findIndex((h) => gold.includes(h.source));
  return { recallAt5: first >= 0 && first < TOP_K ? 1 : 0, mrrAt10: first >= 0 ? 1 / (first + 1) : 0 };
}

interface CitationOutcome {
  answered: boolean;
  cited: number;
  citedGold: number;
}

/** The answer the local provider generates from the top 5, and how many of its citations point at a gold page. */
async function citeFrom(llm: LocalProvider, q: Question, hits: Hit[]): Promise<CitationOutcome> {
  const top = hits.slice(0, TOP_K);
  const passages: Passage[] = top.map((h, i) => ({
    n: i + 1,
    text: h.text,
    title: h.title,
    headingPath: h.headingPath,
  }));
  const result = await llm.generate(buildAnswerMessages({ question: q.question, passages }), CALL);
  if (isAbstention(result.text)) return { answered: false, cited: 0, citedGold: 0 };
  const cited = citedNumbers(result.text).filter((n) => n >= 1 && n <= top.length);
  return {
    answered: true,
    cited: cited.length,
    citedGold: cited.filter((n) => q.gold.includes(top[n - 1]!.source)).length,
  };
}

interface SystemResult {
  recallAt5: number;
  mrrAt10: number;
  byStyle: Record<string, { n: number; recallAt5: number; mrrAt10: number }>;
}

function summarise(questions: Question[], scores: RankScores[]): SystemResult {
  const byStyle: SystemResult['byStyle'] = {};
  for (const style of [...new Set(questions.map((q) => q.style))].sort()) {
    const idx = questions.map((q, i) => (q.style === style ? i : -1)).filter((i) => i >= 0);
    byStyle[style] = {
      n: idx.length,
      recallAt5: round(mean(idx.map((i) => scores[i]!.recallAt5))),
      mrrAt10: round(mean(idx.map((i) => scores[i]!.mrrAt10))),
    };
  }
  return {
    recallAt5: round(mean(scores.map((s) => s.recallAt5))),
    mrrAt10: round(mean(scores.map((s) => s.mrrAt10))),
    byStyle,
  };
}

function summariseCitations(outcomes: CitationOutcome[]) {
  const cited = outcomes.reduce((a, o) => a + o.cited, 0);
  const citedGold = outcomes.reduce((a, o) => a + o.citedGold, 0);
  const answered = outcomes.filter((o) => o.answered).length;
  return {
    citationAccuracy: round(cited ? citedGold / cited : 0),
    citations: cited,
    citationsToGold: citedGold,
    answered,
    answeredShare: round(answered / outcomes.length),
    // Answers whose every citation is a gold page, over all questions (abstentions count as misses).
    allCitationsGoldShare: round(
      outcomes.filter((o) => o.cited > 0 && o.citedGold === o.cited).length / outcomes.length,
    ),
  };
}

// ------------------------------------------------------------------------------------------------------ grounding

interface Classified {
  pair: GroundingPair;
  predictedSupported: boolean;
}

function groundingScores(items: Classified[]) {
  const recall = (label: GroundingPair['label']) => {
    const of = items.filter((c) => c.pair.label === label);
    return of.filter((c) => c.predictedSupported === (label === 'supported')).length / of.length;
  };
  const perKind: Record<string, { n: number; accuracy: number }> = {};
  for (const kind of [...new Set(items.map((c) => c.pair.kind))].sort()) {
    const of = items.filter((c) => c.pair.kind === kind);
    perKind[kind] = {
      n: of.length,
      accuracy: round(of.filter((c) => c.predictedSupported === (c.pair.label === 'supported')).length / of.length),
    };
  }
  const supportedRecall = recall('supported');
  const unsupportedRecall = recall('unsupported');
  return {
    balancedAccuracy: round((supportedRecall + unsupportedRecall) / 2),
    supportedRecall: round(supportedRecall),
    unsupportedRecall: round(unsupportedRecall),
    perKind,
  };
}

/** The threshold t (among the observed values) for which "supported iff value >= t" has the best balanced accuracy. */
function bestThreshold(pairs: GroundingPair[], values: number[]): { threshold: number; balancedAccuracy: number } {
  let best = { threshold: 0, balancedAccuracy: -1 };
  for (const t of [...new Set(values)].sort((a, b) => a - b)) {
    const { balancedAccuracy } = groundingScores(
      pairs.map((pair, i) => ({ pair, predictedSupported: values[i]! >= t })),
    );
    if (balancedAccuracy > best.balancedAccuracy) best = { threshold: t, balancedAccuracy };
  }
  return best;
}

const words = (s: string) =>
  s
    .normalize('NFKC')
    .toLowerCase()
    .match(/[\p{L}\p{N}]+/gu) ?? [];

/** The baseline: the share of the answer's lower-cased words (with repeats) that occur in the context. */
function wordOverlap(answer: string, context: string): number {
  const inContext = new Set(words(context));
  const answerWords = words(answer);
  return answerWords.length ? answerWords.filter((w) => inContext.has(w)).length / answerWords.length : 1;
}

// ----------------------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  const timeoutS = intFromEnv('BENCH_TIMEOUT_S', 900, 30, 7 * 24 * 3600);
  const { cleanups, cleanup, bounded, dispose } = benchLifecycle({ timeoutS, graceS: 30, onHardStop: () => {} });
  try {
    const allQuestions = await loadJson('questions.json', z.array(QuestionSchema).min(1));
    // A quick check of the harness itself; the reported numbers are always over every question.
    const questions = allQuestions.slice(0, intFromEnv('BENCH_QUESTIONS', allQuestions.length, 1, allQuestions.length));
    const corpus = await loadJson('corpus.json', CorpusSchema);
    const grounding = await loadJson('grounding.json', z.array(GroundingSchema).min(2));
    for (const q of questions) {
      for (const g of q.gold)
        if (!corpus.pages.includes(g)) throw new Error(`${q.id}: gold page ${g} is not in corpus.json`);
    }
    if (new Set(questions.map((q) => q.id)).size !== questions.length)
      throw new Error('questions.json has duplicate ids');
    if (new Set(grounding.map((p) => p.id)).size !== grounding.length)
      throw new Error('grounding.json has duplicate ids');
    const dir = corpusDir();
    const bytes = await Promise.all(corpus.pages.map((p) => readFile(join(dir, p))));
    console.error(
      `corpus: ${corpus.pages.length} pages of ${dir} (${(bytes.reduce((a, b) => a + b.length, 0) / 1048576).toFixed(1)} MiB), ${questions.length} questions, ${grounding.length} grounding pairs`,
    );

    console.error('starting Postgres (in memory) and migrating ...');
    const db = await bounded(startEmbeddedPostgres({ port: 0 }));
    cleanups.push(() => db.stop());
    const orm = await bounded(createOrm(db.url, 4));
    cleanups.push(() => orm.close());
    await bounded(migrate(orm));

    const tenantId = randomUUID();
    const collectionId = randomUUID();
    // The same chunks again, embedded by the hashing embedder (extra rows in the retrieval table).
    const hashCollectionId = randomUUID();
    {
      const em = orm.em.fork();
      em.create(TenantEntity, { id: tenantId, name: `bench-eval-${tenantId.slice(0, 8)}` });
      // The entities declare no relations, so the unit of work does not order the inserts: the tenant goes first.
      await bounded(em.flush());
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
      em.create(CollectionEntity, {
        id: hashCollectionId,
        tenantId,
        name: 'python-3.11-docs-hashing',
        description: null,
        embeddingModel: HASH_MODEL,
        embeddingDim: EMBED_DIM,
        chunkSize: CHUNK_SIZE,
        chunkOverlap: CHUNK_OVERLAP,
      });
      await bounded(em.flush());
    }

    // ---- ingest: parse → chunk → embed → store, in-process
    const llm = new LocalProvider({ dimensions: EMBED_DIM });
    const ingestStarted = performance.now();
    const rows: Chunk[] = [];
    const hashRows: Chunk[] = [];
    let embedMs = 0;
    const titles = new Map<string, string | null>();
    const sourceOf = new Map<string, string>();
    {
      const em = orm.em.fork();
      for (let d = 0; d < corpus.pages.length; d++) {
        const source = corpus.pages[d]!;
        const parsed = await parseDocument({ bytes: bytes[d]!, filename: source, mimeType: 'text/html' });
        const pieces = chunkDocument(parsed, { chunkSize: CHUNK_SIZE, chunkOverlap: CHUNK_OVERLAP });
        if (pieces.length === 0) throw new Error(`${source}: no chunks`);
        const vectors: number[][] = [];
        const hashVectors: number[][] = [];
        for (let i = 0; i < pieces.length; i += EMBED_BATCH) {
          const texts = pieces.slice(i, i + EMBED_BATCH).map(contextualText);
          const t = performance.now();
          vectors.push(...(await bounded(llm.embed(texts, { model: EMBED_MODEL, timeoutMs: 600_000 }))).vectors);
          embedMs += performance.now() - t;
          hashVectors.push(...(await llm.embed(texts, { model: HASH_MODEL, timeoutMs: 60_000 })).vectors);
        }
        const documentId = randomUUID();
        const title = parsed.title ?? source;
        em.create(DocumentEntity, {
          id: documentId,
          tenantId,
          collectionId,
          sourceKind: 'upload',
          source,
          title,
          mimeType: 'text/html',
          sizeBytes: bytes[d]!.length,
          status: 'ready',
          chunkCount: pieces.length,
          metadata: {},
        });
        titles.set(documentId, title);
        sourceOf.set(documentId, source);
        rows.push(...chunkRows({ tenantId, collectionId, documentId, embeddingDim: EMBED_DIM }, pieces, vectors));
        const hashDocumentId = randomUUID();
        em.create(DocumentEntity, {
          id: hashDocumentId,
          tenantId,
          collectionId: hashCollectionId,
          sourceKind: 'upload',
          source,
          title,
          mimeType: 'text/html',
          sizeBytes: bytes[d]!.length,
          status: 'ready',
          chunkCount: pieces.length,
          metadata: {},
        });
        titles.set(hashDocumentId, title);
        sourceOf.set(hashDocumentId, source);
        hashRows.push(
          ...chunkRows(
            { tenantId, collectionId: hashCollectionId, documentId: hashDocumentId, embeddingDim: EMBED_DIM },
            pieces,
            hashVectors,
          ),
        );
      }
      await bounded(em.flush());
    }
    await bounded(orm.em.fork().transactional((em) => insertChunks(em, rows)));
    await bounded(orm.em.fork().transactional((em) => insertChunks(em, hashRows)));
    const [stored] = (await orm.em
      .getConnection()
      .execute('select count(*)::int as n from chunks where collection_id = ?', [collectionId])) as Array<{
      n: number;
    }>;
    if (stored!.n !== rows.length) throw new Error(`stored ${stored!.n} chunks, expected ${rows.length}`);
    // PGlite runs no autovacuum: without statistics the planner takes the 5 000+ chunk rows for one and picks plans
    // that rescan them per row (a real Postgres would have analyzed the table after this bulk load).
    await bounded(orm.em.getConnection().execute('analyze chunks'));
    const ingestMs = performance.now() - ingestStarted;
    console.error(
      `ingested ${rows.length} chunks in ${(ingestMs / 1000).toFixed(1)} s (${EMBED_MODEL} embeddings ${(embedMs / 1000).toFixed(1)} s)`,
    );

    // ---- the BM25 baseline over the same chunk texts
    const engine = bm25();
    engine.defineConfig({ fldWeights: { text: 1 } });
    engine.definePrepTasks([nlp.string.lowerCase, nlp.string.tokenize0, nlp.tokens.removeWords, nlp.tokens.stem]);
    const chunkById = new Map<string, Chunk>();
    for (const r of rows) {
      engine.addDoc({ text: r.text }, r.id);
      chunkById.set(r.id, r);
    }
    engine.consolidate();
    const bm25Hits = (query: string): Hit[] =>
      engine.search(query, MRR_DEPTH).map(([id]) => {
        const r = chunkById.get(id)!;
        return {
          chunkId: id,
          source: sourceOf.get(r.documentId)!,
          title: titles.get(r.documentId) ?? null,
          text: r.text,
          headingPath: r.headingPath,
        };
      });

    // ---- retrieval and citations, per question
    const modes = ['hybrid', 'vector', 'text', 'hybridHashing', 'vectorHashing'] as const;
    const scores: Record<(typeof modes)[number] | 'bm25', RankScores[]> = {
      hybrid: [],
      vector: [],
      text: [],
      hybridHashing: [],
      vectorHashing: [],
      bm25: [],
    };
    const citations: Record<'hybrid' | 'bm25', CitationOutcome[]> = { hybrid: [], bm25: [] };
    const perQuestion: Array<Record<string, unknown>> = [];
    const modeMs: Record<(typeof modes)[number], number> = {
      hybrid: 0,
      vector: 0,
      text: 0,
      hybridHashing: 0,
      vectorHashing: 0,
    };
    const evalStarted = performance.now();
    for (const [qi, q] of questions.entries()) {
      if (qi % 10 === 0)
        console.error(
          `question ${qi + 1}/${questions.length}, ${((performance.now() - evalStarted) / 1000).toFixed(1)} s`,
        );
      const [queryVector] = (await llm.embed([q.question], { model: EMBED_MODEL, timeoutMs: 60_000 })).vectors;
      const [hashQueryVector] = (await llm.embed([q.question], { model: HASH_MODEL, timeoutMs: 60_000 })).vectors;
      const ranked: Partial<Record<(typeof modes)[number], Hit[]>> = {};
      for (const mode of modes) {
        // topK 10 for MRR@10; the fused candidates per method are max(40, 4 × topK) = 40 for topK 5 and 10 alike, so the
        // first 5 are exactly what topK 5 returns.
        const t = performance.now();
        const hashing = mode === 'hybridHashing' || mode === 'vectorHashing';
        const got = await bounded(
          retrieveHybrid(orm.em.fork(), {
            tenantId,
            collectionIds: [hashing ? hashCollectionId : collectionId],
            query: q.question,
            queryVector: (hashing ? hashQueryVector : queryVector)!,
            topK: MRR_DEPTH,
            mode: mode === 'hybridHashing' ? 'hybrid' : mode === 'vectorHashing' ? 'vector' : mode,
          }),
        );
        modeMs[mode] += performance.now() - t;
        if (got.length === 0) throw new Error(`${q.id}: retrieveHybrid (${mode}) returned nothing`);
        ranked[mode] = got.map((c) => ({
          chunkId: c.chunkId,
          source: c.source,
          title: c.documentTitle,
          text: c.text,
          headingPath: c.headingPath,
        }));
        scores[mode].push(rankScores(ranked[mode], q.gold));
      }
      const bm = bm25Hits(q.question);
      scores.bm25.push(rankScores(bm, q.gold));
      citations.hybrid.push(await citeFrom(llm, q, ranked.hybrid!));
      citations.bm25.push(await citeFrom(llm, q, bm));
      perQuestion.push({
        id: q.id,
        hybridTop5: ranked.hybrid!.slice(0, TOP_K).map((h) => h.source),
        bm25Top5: bm.slice(0, TOP_K).map((h) => h.source),
        hybrid: scores.hybrid.at(-1),
        bm25: scores.bm25.at(-1),
        // 1 / rank of the first gold chunk per system (0: none in the top 10)
        mrrBySystem: Object.fromEntries([...modes, 'bm25' as const].map((m) => [m, round(scores[m].at(-1)!.mrrAt10)])),
      });
    }
    const retrievalMs = performance.now() - evalStarted;

    // ---- grounding
    const oursChecked = grounding.map((pair) => {
      const res = checkAnswerDeterministic(pair.answer, [{ id: 'ctx', text: pair.context }]);
      return {
        pair,
        predictedSupported: res.claims.every((c) => c.verdict === 'supported'),
        score: res.score,
        claims: res.claims.length,
      };
    });
    const overlaps = grounding.map((pair) => wordOverlap(pair.answer, pair.context));
    const baselineFit = bestThreshold(grounding, overlaps);
    const oursFit = bestThreshold(
      grounding,
      oursChecked.map((c) => c.score),
    );
    const groundingOurs = groundingScores(oursChecked);
    const groundingOursFitted = groundingScores(
      grounding.map((pair, i) => ({ pair, predictedSupported: oursChecked[i]!.score >= oursFit.threshold })),
    );
    const groundingBaseline = groundingScores(
      grounding.map((pair, i) => ({ pair, predictedSupported: overlaps[i]! >= baselineFit.threshold })),
    );

    // ---- report
    const retrieval = {
      hybrid: summarise(questions, scores.hybrid),
      vector: summarise(questions, scores.vector),
      text: summarise(questions, scores.text),
      hybridHashing: summarise(questions, scores.hybridHashing),
      vectorHashing: summarise(questions, scores.vectorHashing),
      bm25: summarise(questions, scores.bm25),
    };
    const cite = { hybrid: summariseCitations(citations.hybrid), bm25: summariseCitations(citations.bm25) };
    const ratio = (a: number, b: number) => (b > 0 ? round(a / b, 2) : null);
    const ratios = {
      recallAt5: ratio(retrieval.hybrid.recallAt5, retrieval.bm25.recallAt5),
      mrrAt10: ratio(retrieval.hybrid.mrrAt10, retrieval.bm25.mrrAt10),
      citationAccuracy: ratio(cite.hybrid.citationAccuracy, cite.bm25.citationAccuracy),
      groundingBalancedAccuracy: ratio(groundingOurs.balancedAccuracy, groundingBaseline.balancedAccuracy),
    };
    const goals = {
      retrievalBeatsBm25:
        retrieval.hybrid.recallAt5 > retrieval.bm25.recallAt5 && retrieval.hybrid.mrrAt10 > retrieval.bm25.mrrAt10,
      groundingBeatsWordOverlap: groundingOurs.balancedAccuracy > groundingBaseline.balancedAccuracy,
    };
    const env = {
      ...machineFacts(),
      database: 'PGlite (embedded, in memory) over pglite-socket',
      loadAverage1m: round(loadavg()[0]!, 2),
    };
    const f = (x: number) => x.toFixed(3);
    const r = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(2)}x`);
    const nSup = grounding.filter((p) => p.label === 'supported').length;

    console.log('');
    console.log(
      `Answer quality: ${questions.length} questions over ${corpus.pages.length} pages of the Python 3.11 docs (${rows.length} chunks of ${CHUNK_SIZE}/${CHUNK_OVERLAP} tokens), ${grounding.length} grounding pairs (${nSup} supported, ${grounding.length - nSup} unsupported)`,
    );
    console.log(
      `node ${env.node}, ${env.cpus} CPUs (${env.cpuModel}), ${env.database}; embeddings ${EMBED_MODEL} (and ${HASH_MODEL} as extra rows), answers local-extractive`,
    );
    console.log('');
    printTable([
      ['metric', 'ours', 'baseline', 'ratio', 'baseline is'],
      [
        'recall@5',
        f(retrieval.hybrid.recallAt5),
        f(retrieval.bm25.recallAt5),
        r(ratios.recallAt5),
        'BM25 (wink-bm25-text-search), same chunks',
      ],
      ['MRR@10', f(retrieval.hybrid.mrrAt10), f(retrieval.bm25.mrrAt10), r(ratios.mrrAt10), 'BM25, same chunks'],
      [
        'citation accuracy (cited passages from a gold page)',
        f(cite.hybrid.citationAccuracy),
        f(cite.bm25.citationAccuracy),
        r(ratios.citationAccuracy),
        'the same generator on BM25 top 5',
      ],
      [
        'questions answered (not abstained)',
        f(cite.hybrid.answeredShare),
        f(cite.bm25.answeredShare),
        r(ratio(cite.hybrid.answeredShare, cite.bm25.answeredShare)),
        '',
      ],
      [
        'answers citing only gold pages (share of all questions)',
        f(cite.hybrid.allCitationsGoldShare),
        f(cite.bm25.allCitationsGoldShare),
        r(ratio(cite.hybrid.allCitationsGoldShare, cite.bm25.allCitationsGoldShare)),
        '',
      ],
      [
        'grounding balanced accuracy',
        f(groundingOurs.balancedAccuracy),
        f(groundingBaseline.balancedAccuracy),
        r(ratios.groundingBalancedAccuracy),
        `word overlap >= ${baselineFit.threshold.toFixed(3)} (best threshold on this data)`,
      ],
    ]);
    console.log('');
    console.log('retrieval by mode and question style (recall@5 / MRR@10):');
    const styles = Object.keys(retrieval.hybrid.byStyle);
    printTable([
      ['system', 'all', ...styles.map((s) => `${s} (${retrieval.hybrid.byStyle[s]!.n})`)],
      ...(['hybrid', 'vector', 'text', 'hybridHashing', 'vectorHashing', 'bm25'] as const).map((m) => [
        {
          hybrid: `retrieveHybrid hybrid (${EMBED_MODEL})`,
          vector: `retrieveHybrid vector only (${EMBED_MODEL})`,
          text: 'retrieveHybrid text only',
          hybridHashing: `retrieveHybrid hybrid (${HASH_MODEL}, hashing)`,
          vectorHashing: `retrieveHybrid vector only (${HASH_MODEL})`,
          bm25: 'BM25 baseline',
        }[m],
        `${f(retrieval[m].recallAt5)} / ${f(retrieval[m].mrrAt10)}`,
        ...styles.map((s) => `${f(retrieval[m].byStyle[s]!.recallAt5)} / ${f(retrieval[m].byStyle[s]!.mrrAt10)}`),
      ]),
    ]);
    console.log('');
    console.log('grounding, accuracy per kind of answer:');
    const kinds = Object.keys(groundingOurs.perKind);
    printTable([
      [
        'kind',
        'label',
        'n',
        'ours (all claims supported)',
        `ours (score >= ${oursFit.threshold.toFixed(2)}, fitted)`,
        'word overlap (fitted)',
      ],
      ...kinds.map((k) => [
        k,
        grounding.find((p) => p.kind === k)!.label,
        String(groundingOurs.perKind[k]!.n),
        f(groundingOurs.perKind[k]!.accuracy),
        f(groundingOursFitted.perKind[k]!.accuracy),
        f(groundingBaseline.perKind[k]!.accuracy),
      ]),
      [
        'balanced accuracy',
        '',
        String(grounding.length),
        f(groundingOurs.balancedAccuracy),
        f(groundingOursFitted.balancedAccuracy),
        f(groundingBaseline.balancedAccuracy),
      ],
      [
        'recall on supported / unsupported',
        '',
        '',
        `${f(groundingOurs.supportedRecall)} / ${f(groundingOurs.unsupportedRecall)}`,
        `${f(groundingOursFitted.supportedRecall)} / ${f(groundingOursFitted.unsupportedRecall)}`,
        `${f(groundingBaseline.supportedRecall)} / ${f(groundingBaseline.unsupportedRecall)}`,
      ],
    ]);
    console.log('');
    console.log(`goal, retrieval beats BM25 (recall@5 and MRR@10): ${goals.retrievalBeatsBm25 ? 'met' : 'NOT met'}`);
    console.log(
      `goal, grounding beats word overlap (balanced accuracy): ${goals.groundingBeatsWordOverlap ? 'met' : 'NOT met'}`,
    );
    console.log(
      `ingest ${(ingestMs / 1000).toFixed(1)} s, retrieval + generation for ${questions.length} questions ${(retrievalMs / 1000).toFixed(1)} s (retrieveHybrid: hybrid ${(modeMs.hybrid / 1000).toFixed(1)} s, vector ${(modeMs.vector / 1000).toFixed(1)} s, text ${(modeMs.text / 1000).toFixed(1)} s)`,
    );
    console.log('');
    console.log(
      'RESULT ' +
        JSON.stringify({
          benchmark: 'eval',
          date: new Date().toISOString(),
          data: {
            questions: questions.length,
            corpusPages: corpus.pages.length,
            chunks: rows.length,
            groundingPairs: grounding.length,
            groundingSupported: nSup,
          },
          settings: {
            chunkSize: CHUNK_SIZE,
            chunkOverlap: CHUNK_OVERLAP,
            embedding: EMBED_MODEL,
            extraEmbedding: HASH_MODEL,
            generator: LOCAL_EXTRACTIVE_MODEL,
            topK: TOP_K,
            mrrDepth: MRR_DEPTH,
          },
          env,
          retrieval,
          citations: cite,
          grounding: {
            ours: groundingOurs,
            oursScoreThreshold: { threshold: round(oursFit.threshold), ...groundingOursFitted },
            wordOverlap: { threshold: round(baselineFit.threshold), ...groundingBaseline },
          },
          ratios,
          goals,
          perQuestion,
          ms: {
            ingest: round(ingestMs, 0),
            retrievalAndGeneration: round(retrievalMs, 0),
            retrieveHybrid: Object.fromEntries(modes.map((m) => [m, round(modeMs[m], 0)])),
          },
        }),
    );
  } finally {
    dispose();
    await cleanup();
  }
}

runMain(main);
