import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ABSTAIN_TEXT, type ContextPassage, type IngestProgress } from '../lib/contracts';
import { contextualText } from '../lib/ingest/chunk';
import { LocalProvider } from '../lib/llm/providers/local';
import { contentTerms } from '../lib/llm/text';
import { setupTestContext, startTestApi, type TestContext } from './harness';
import { startOpenAiServer, type OpenAiTestServer, type RecordedRequest } from './openai-server';
import { messagesOf, scriptModel } from './scripted-model';

// The semantic local embedder (`local-minilm-l6`) end to end: collections API → ingest workflow → search and answer
// workflows, on a real worker (the default model of new collections), against a collection of the hashing embedder
// (`local-embed-384`, the fallback when the semantic one cannot be fetched) as the control. Every question below shares no word with any document (checked below, for both the hashing embedder's
// stemmer and Postgres full text), so only an embedding that knows what words mean can find the right one.
let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let hosted: { ctx: TestContext; api: Awaited<ReturnType<typeof startTestApi>>; server: OpenAiTestServer } | undefined;

afterAll(async () => {
  await ctx?.close();
  await hosted?.ctx.close();
  await hosted?.server.close();
});
beforeAll(async () => {
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
  await ctx.startWorker();
});

const MINILM = 'local-minilm-l6';
const HASHING = 'local-embed-384';

/** One topic per document, one short section each. */
const DOCS: Record<string, { heading: string; text: string }> = {
  'temp-files.md': {
    heading: 'Temporary files',
    text: 'Temporary files are deleted automatically as soon as they are closed.',
  },
  'backups.md': {
    heading: 'Backups',
    text: 'The database is copied to an offsite bucket every night at two o clock and kept for thirty days.',
  },
  'passwords.md': {
    heading: 'Password policy',
    text: 'Passwords must be at least twelve characters long and are rotated every ninety days.',
  },
  'kitchen.md': {
    heading: 'Office kitchen',
    text: 'The espresso machine in the office kitchen is descaled every Friday afternoon.',
  },
  'vpn.md': {
    heading: 'VPN access',
    text: 'Remote employees connect to the internal network through the company VPN.',
  },
  'vacation.md': { heading: 'Vacation', text: 'Staff receive twenty-five paid vacation days per year.' },
};
const markdown = (name: string) => `# ${DOCS[name]!.heading}\n\n${DOCS[name]!.text}\n`;

/** The question the answer tests ask, and its document. */
const QUESTION = 'When does a scratch document get removed?';
const ANSWER_DOC = 'temp-files.md';
/** One paraphrase per document, none sharing a content word with any document. */
const PARAPHRASES: Array<[question: string, source: string]> = [
  [QUESTION, ANSWER_DOC],
  ['How many weeks do we retain snapshots?', 'backups.md'],
  ['What is the minimum secret phrase size?', 'passwords.md'],
  ['How is the coffee maker cleaned?', 'kitchen.md'],
  ['How do people working from home reach the intranet?', 'vpn.md'],
  ['How many holidays do workers get annually?', 'vacation.md'],
];

type Api = Awaited<ReturnType<typeof startTestApi>>;
const ids: { minilm?: string; hashing?: string } = {};

/** Uploads every document through the API and waits for the ingest run. */
async function ingest(on: { ctx: TestContext; api: Api }, collectionId: string): Promise<IngestProgress> {
  const form = new FormData();
  for (const name of Object.keys(DOCS)) form.append('file', new Blob([markdown(name)]), name);
  const res = await fetch(`${on.api.base}/v1/collections/${collectionId}/documents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${on.ctx.tenant.key}` },
    body: form,
  });
  expect(res.status).toBe(202);
  const { workflowId } = (await res.json()) as { workflowId: string };
  return (await on.ctx.client.workflow.getHandle(workflowId).result()) as IngestProgress;
}

const search = async (collectionId: string, query: string, mode: 'vector' | 'text' | 'hybrid') => {
  const res = await api.request('POST', '/v1/search', {
    key: ctx.tenant.key,
    body: { query, collectionIds: [collectionId], topK: Object.keys(DOCS).length, mode },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body!.results as Array<{ source: string; chunkId: string; vectorRank: number | null }>;
};
/** 1-based rank of the document's chunk among the results (0 when absent). */
const rankOf = (results: Array<{ source: string }>, source: string) =>
  results.findIndex((r) => r.source === source) + 1;

const sql = <T>(on: TestContext, query: string, params: unknown[]) =>
  on.orm.em.getConnection().execute(query, params) as Promise<T[]>;
const chunkOf = async (on: TestContext, collectionId: string, source: string) =>
  (
    await sql<{ id: string }>(
      on,
      `select c.id from chunks c join documents d on d.id = c.document_id where c.collection_id = ? and d.source = ?`,
      [collectionId, source],
    )
  )[0]!.id;

describe('local-minilm-l6 (semantic local embeddings)', () => {
  it('creates a collection with 384 dimensions; a wrong size or an unknown local model is refused and creates nothing', async () => {
    const created = await api.request('POST', '/v1/collections', {
      key: ctx.tenant.key,
      body: { name: 'semantic', embeddingModel: MINILM },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ name: 'semantic', embeddingModel: MINILM, embeddingDim: 384 });
    ids.minilm = created.body!.id;
    const control = await api.request('POST', '/v1/collections', {
      key: ctx.tenant.key,
      body: { name: 'lexical', embeddingModel: HASHING },
    });
    expect(control.body).toMatchObject({ embeddingModel: HASHING, embeddingDim: 384 });
    ids.hashing = control.body!.id;

    const wrongDim = await api.request('POST', '/v1/collections', {
      key: ctx.tenant.key,
      body: { name: 'wrong-dim', embeddingModel: MINILM, embeddingDim: 768 },
    });
    expect(wrongDim.status).toBe(400);
    expect(wrongDim.body!.error).toMatchObject({
      code: 'embedding_dim_mismatch',
      message: expect.stringContaining('384'),
    });
    const unknown = await api.request('POST', '/v1/collections', {
      key: ctx.tenant.key,
      body: { name: 'unknown-model', embeddingModel: 'local-minilm-l12', embeddingDim: 384 },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body!.error.code).toBe('unknown_embedding_model');
    const unknownNoDim = await api.request('POST', '/v1/collections', {
      key: ctx.tenant.key,
      body: { name: 'unknown-no-dim', embeddingModel: 'local-minilm-l12' },
    });
    expect(unknownNoDim.status).toBe(400);
    expect(unknownNoDim.body!.error.code).toBe('unknown_embedding_model');

    const list = await api.request('GET', '/v1/collections', { key: ctx.tenant.key });
    expect(list.body!.collections.map((c: { name: string }) => c.name).sort()).toEqual(['lexical', 'semantic']);
  });

  it('ingests every document with the collection model: 384-dimensional unit vectors, usage recorded under local-minilm-l6', async () => {
    const [semantic, lexical] = await Promise.all([
      ingest({ ctx, api }, ids.minilm!),
      ingest({ ctx, api }, ids.hashing!),
    ]);
    const total = Object.keys(DOCS).length;
    expect(semantic).toMatchObject({ total, done: total, failed: 0, skipped: 0 });
    expect(lexical).toMatchObject({ total, done: total, failed: 0 });
    const docs = (await api.request('GET', `/v1/collections/${ids.minilm}/documents`, { key: ctx.tenant.key })).body!
      .documents as Array<{ source: string; status: string; chunkCount: number }>;
    expect(docs.map((d) => d.source).sort()).toEqual(Object.keys(DOCS).sort());
    for (const d of docs) expect(d, d.source).toMatchObject({ status: 'ready', chunkCount: 1 });

    const chunks = await sql<{
      source: string;
      heading_path: string[];
      text: string;
      dims: number;
      embedding_dim: number;
      norm: number;
      embedding: string;
    }>(
      ctx,
      `select d.source, c.heading_path, c.text, vector_dims(c.embedding) as dims, c.embedding_dim, vector_norm(c.embedding) as norm, c.embedding::text as embedding
         from chunks c join documents d on d.id = c.document_id where c.collection_id = ? order by d.source`,
      [ids.minilm],
    );
    expect(chunks).toHaveLength(total);
    for (const c of chunks) {
      expect(c, c.source).toMatchObject({ dims: 384, embedding_dim: 384 });
      expect(c.norm).toBeCloseTo(1, 4);
    }
    // The stored vector is the encoder's for the chunk's heading and text (what ingestion embeds), not the hashing one.
    const temp = chunks.find((c) => c.source === ANSWER_DOC)!;
    const stored = JSON.parse(temp.embedding) as number[];
    const local = new LocalProvider();
    const text = contextualText({ headingPath: temp.heading_path, text: temp.text });
    const [semanticVec] = (await local.embed([text], { model: MINILM, timeoutMs: 30_000 })).vectors;
    const [hashedVec] = (await local.embed([text], { model: HASHING, timeoutMs: 30_000 })).vectors;
    const cosine = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
    expect(cosine(stored, semanticVec!)).toBeGreaterThan(0.999);
    expect(cosine(stored, hashedVec!)).toBeLessThan(0.5);

    const calls = (collectionId: string) =>
      sql<{ provider: string; model: string; purpose: string; outcome: string; tokens: number }>(
        ctx,
        `select provider, model, purpose, outcome, sum(input_tokens)::int as tokens from llm_calls
          where tenant_id = ? and workflow_id like ? group by provider, model, purpose, outcome`,
        [ctx.tenant.id, `ingest:${ctx.tenant.id}:${collectionId}:%`],
      );
    const [semanticCalls, lexicalCalls] = await Promise.all([calls(ids.minilm!), calls(ids.hashing!)]);
    expect(semanticCalls).toEqual([
      { provider: 'local', model: MINILM, purpose: 'embedding', outcome: 'ok', tokens: expect.any(Number) },
    ]);
    expect(semanticCalls[0]!.tokens).toBeGreaterThan(0);
    expect(lexicalCalls).toMatchObject([{ provider: 'local', model: HASHING, purpose: 'embedding', outcome: 'ok' }]);
  });

  it('finds the document a paraphrase means; the hashing embedder, on the same documents, does not', async () => {
    // No shared word: not for the hashing embedder's stemmer, and not for Postgres full text (text search finds nothing).
    const docTerms = new Set(Object.values(DOCS).flatMap((d) => contentTerms(`${d.heading} ${d.text}`)));
    for (const [question] of PARAPHRASES)
      expect(
        contentTerms(question).filter((t) => docTerms.has(t)),
        question,
      ).toEqual([]);

    const ranks = await Promise.all(
      PARAPHRASES.map(async ([question, source]) => {
        const [semantic, lexical, text] = await Promise.all([
          search(ids.minilm!, question, 'vector'),
          search(ids.hashing!, question, 'vector'),
          search(ids.minilm!, question, 'text'),
        ]);
        expect(text, question).toEqual([]);
        expect(semantic).toHaveLength(Object.keys(DOCS).length);
        return { question, semantic: rankOf(semantic, source), lexical: rankOf(lexical, source) };
      }),
    );
    // The semantic model puts every paraphrase's document first.
    expect(ranks.map((r) => [r.question, r.semantic])).toEqual(PARAPHRASES.map(([q]) => [q, 1]));
    // The hashing embedder has nothing to go on: the answer question's document is not first, and overall it does
    // no better than chance (1 in 6 first). Measured: ranks 5, 6, 2, 5, 3, 4.
    const lexicalRanks = JSON.stringify(ranks.map((r) => r.lexical));
    expect(ranks[0]!.lexical, lexicalRanks).toBeGreaterThan(1);
    expect(ranks.filter((r) => r.lexical === 1).length, lexicalRanks).toBeLessThanOrEqual(1);

    // Hybrid search (what answering uses) agrees: no text match to fuse, so the vector ranking stands.
    const hybrid = await search(ids.minilm!, QUESTION, 'hybrid');
    expect(hybrid[0]).toMatchObject({ source: ANSWER_DOC, vectorRank: 1 });
  });

  it('answers offline: the question is embedded with local-minilm-l6 and the right passage is [1]; the extractive model abstains', async () => {
    // topK 1: the context is the single best passage, so what it holds is the retrieval's decision alone.
    const res = await api.request('POST', '/v1/answers?wait=true', {
      key: ctx.tenant.key,
      body: { question: QUESTION, collectionIds: [ids.minilm], topK: 1 },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const { result } = res.body!;
    // The paraphrase shares no word with the passage, and the extractive answerer's semantic score of its best
    // sentence (about 0.42) stays below its threshold (0.45): it abstains rather than guess, so the result cites
    // nothing. What this test pins is the retrieval above; the answerer's quality is measured by bench/eval.
    expect(res.body).toMatchObject({ status: 'abstained', answer: ABSTAIN_TEXT });
    expect(result.citations).toEqual([]);
    expect(result.steps.find((s: { name: string }) => s.name === 'retrieve').detail).toMatchObject({
      retrieved: 1,
      passages: 1,
    });

    // The passage the model was given, as the run's history recorded the retrieval step's result.
    const history = await ctx.client.workflow.getHandle(result.workflowId).fetchHistory();
    const events = history.events ?? [];
    const scheduled = events.find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'retrieveForQuestion',
    )!;
    const completed = events.find(
      (e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === String(scheduled.eventId),
    );
    const retrieved = defaultPayloadConverter.fromPayload<{ passages: ContextPassage[] }>(
      completed!.activityTaskCompletedEventAttributes!.result!.payloads![0]!,
    );
    expect(retrieved.passages).toHaveLength(1);
    expect(retrieved.passages[0]).toMatchObject({
      n: 1,
      source: ANSWER_DOC,
      chunkId: await chunkOf(ctx, ids.minilm!, ANSWER_DOC),
    });

    const calls = await sql<{ purpose: string; provider: string; model: string }>(
      ctx,
      `select purpose, provider, model from llm_calls where workflow_id = ? order by created_at`,
      [result.workflowId],
    );
    expect(calls).toEqual([
      { purpose: 'embedding', provider: 'local', model: MINILM },
      { purpose: 'answer', provider: 'local', model: 'local-extractive' },
    ]);
  });

  describe('with a hosted answer model (the scripted OpenAI-compatible server)', () => {
    beforeAll(async () => {
      const server = await startOpenAiServer({ apiKey: 'sk-test' });
      const hostedCtx = await setupTestContext({
        LLM_PROVIDER: 'openai',
        OPENAI_BASE_URL: `${server.url}/v1`,
        OPENAI_API_KEY: 'sk-test',
      });
      hosted = { ctx: hostedCtx, api: await startTestApi(hostedCtx), server };
      await hostedCtx.startWorker();
    });

    it('answers with a citation of the right document, while embeddings stay with the local provider', async () => {
      const { ctx: hctx, api: hapi, server } = hosted!;
      const created = await hapi.request('POST', '/v1/collections', {
        key: hctx.tenant.key,
        body: { name: 'semantic', embeddingModel: MINILM },
      });
      expect(created.body).toMatchObject({ embeddingModel: MINILM, embeddingDim: 384 });
      const collectionId = created.body!.id as string;
      expect(await ingest({ ctx: hctx, api: hapi }, collectionId)).toMatchObject({
        done: Object.keys(DOCS).length,
        failed: 0,
      });

      // A model that knows nothing of the topic: it quotes the first sentence of passage [1] and cites it. Which
      // document that is, is the retrieval's doing.
      const quoteFirstPassage = (r: RecordedRequest) => {
        const user = messagesOf(r).find((m) => m.role === 'user')!.content;
        const first = user
          .split('\n')
          .find((l) => l.startsWith('[1] '))!
          .slice(4);
        return `${/^.*?[.!?](?=\s|$)/.exec(first)?.[0] ?? first} [1]`;
      };
      scriptModel(server, { generate: [quoteFirstPassage] });
      const res = await hapi.request('POST', '/v1/answers?wait=true', {
        key: hctx.tenant.key,
        body: { question: QUESTION, collectionIds: [collectionId], topK: 1, groundingMethod: 'deterministic' },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ status: 'answered', answer: `${DOCS[ANSWER_DOC]!.text} [1]` });
      const { result } = res.body!;
      expect(result.citations).toHaveLength(1);
      expect(result.citations[0]).toMatchObject({
        n: 1,
        source: ANSWER_DOC,
        chunkId: await chunkOf(hctx, collectionId, ANSWER_DOC),
      });
      expect(result.grounding).toMatchObject({ method: 'deterministic', passed: true, score: 1 });

      // LLM_PROVIDER is openai, yet the collection's local-* model never reaches the hosted endpoint.
      expect(server.requestsTo('/embeddings')).toEqual([]);
      expect(server.requestsTo('/chat/completions')).toHaveLength(1);
      const calls = await sql<{ purpose: string; provider: string; model: string }>(
        hctx,
        `select purpose, provider, model from llm_calls where workflow_id = ? order by created_at`,
        [result.workflowId],
      );
      expect(calls).toMatchObject([
        { purpose: 'embedding', provider: 'local', model: MINILM },
        { purpose: 'answer', provider: 'openai' },
      ]);
    });
  });
});
