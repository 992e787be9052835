import { writeFile } from 'node:fs/promises';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ABSTAIN_TEXT } from '../lib/contracts';
import { setupTestContext, startTestApi, type TestContext } from './harness';
import { startOpenAiServer, type OpenAiTestServer, type RecordedRequest } from './openai-server';
import { kindOf, messagesOf, passageWith, scriptModel, type Kind } from './scripted-model';
import { ingestCorpus } from './rag-fixtures';

// The same answering workflow with the real `openai` client against the scripted OpenAI-compatible server: the
// "model" below reads the prompts the workflow sends and answers as a scripted test wants.
let server: OpenAiTestServer;
let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let collectionId: string;

afterAll(async () => {
  await ctx?.close();
  await server?.close();
});
beforeAll(async () => {
  server = await startOpenAiServer({ apiKey: 'sk-test' });
  ctx = await setupTestContext({
    LLM_PROVIDER: 'openai',
    OPENAI_BASE_URL: `${server.url}/v1`,
    OPENAI_API_KEY: 'sk-test',
    LLM_EMBEDDING_DIMENSIONS: '8',
  });
  api = await startTestApi(ctx);
  await ctx.startWorker();
  collectionId = await ingestCorpus(ctx, api);
});

const ask = (question: string, extra: Record<string, unknown> = {}) =>
  api.request('POST', '/v1/answers?wait=true', {
    key: ctx.tenant.key,
    body: { question, collectionIds: [collectionId], ...extra },
  });

const chatRequests = (since: number, kind: Kind) =>
  server
    .requestsTo('/chat/completions')
    .slice(since)
    .filter((r) => kindOf(r) === kind);

async function recordHistory(workflowId: string, file: string) {
  if (!process.env.RECORD_HISTORIES) return;
  const history = await ctx.client.workflow.getHandle(workflowId).fetchHistory();
  await writeFile(
    new URL(`./histories/${file}`, import.meta.url),
    JSON.stringify({ workflowId, ...JSON.parse(historyToJSON(history)) }, null, 2) + '\n',
  );
}

const PROTOCOL = 'default pickle protocol';
const SECURITY = 'not secure';

describe('answers (scripted OpenAI-compatible model)', () => {
  let before = 0;
  beforeEach(() => {
    before = server.requestsTo('/chat/completions').length;
  });

  it('answers with citations, an LLM rerank and per-claim verdicts from the LLM judge, with tokens and cost', async () => {
    scriptModel(server, {
      generate: [(r) => `The default pickle protocol in Python 3.11 is protocol 5 [${passageWith(r, PROTOCOL)}].`],
    });
    const res = await ask('What is the default pickle protocol?');
    expect(res.status).toBe(200);
    const a = res.body!;
    expect(a.status).toBe('answered');
    expect(a.result.citations).toHaveLength(1);
    expect(a.result.citations[0]).toMatchObject({ source: 'pickle.md', text: expect.stringContaining(PROTOCOL) });
    expect(a.result.grounding).toMatchObject({ method: 'llm', passed: true, score: 1 });
    expect(a.result.grounding.claims[0]).toMatchObject({
      verdict: 'supported',
      evidence: { id: String(a.result.citations[0].n) },
    });
    expect(a.result.steps.find((s: { name: string }) => s.name === 'rerank').detail).toEqual({ reranked: true });
    expect(a.result.usage.costUsd).toBeGreaterThan(0);
    expect(a.result.usage.calls).toBeGreaterThanOrEqual(4); // embedding, rerank, generation, judge
    expect(chatRequests(before, 'generate')[0]!.body!.stream).toBe(true);
    await recordHistory(a.workflowId, 'answer-openai-judge.json');
  });

  it('catches a fabricated number, regenerates strictly from the supported evidence, and releases only that', async () => {
    scriptModel(server, {
      generate: [
        (r) =>
          `The pickle module is not secure [${passageWith(r, SECURITY)}]. The default pickle protocol in Python 3.11 is protocol 4 [${passageWith(r, PROTOCOL)}].`,
      ],
      strict: [(r) => `The pickle module is not secure [${passageWith(r, SECURITY)}].`],
    });
    const res = await ask('Tell me about pickle: is it secure, and what is its default protocol?', {
      groundingMethod: 'deterministic',
    });
    const a = res.body!;
    expect(a.status).toBe('answered');
    expect(a.result.regenerated).toBe(true);
    expect(a.answer).not.toMatch(/protocol 4/);
    const first = a.result.firstAttempt.grounding;
    expect(first.passed).toBe(false);
    expect(first.claims.find((c: { claim: string }) => c.claim.includes('protocol 4')).verdict).not.toBe('supported');
    // The strict prompt carried only the evidence that was found supported: the security passage, not the protocol one.
    const strictPrompt = messagesOf(chatRequests(before, 'generate_strict')[0]!)[1]!.content;
    expect(strictPrompt).toMatch(/not secure/);
    expect(strictPrompt).not.toMatch(/protocol 5/);
    expect(a.result.grounding).toMatchObject({ passed: true, score: 1 });
    await recordHistory(a.workflowId, 'answer-regenerated.json');
  });

  it('abstains when the fabrication survives regeneration', async () => {
    const fabricated = (r: RecordedRequest) =>
      `The pickle module is not secure [${passageWith(r, SECURITY)}]. The default pickle protocol in Python 3.11 is protocol 4 [${passageWith(r, PROTOCOL)}].`;
    // The strict prompt has only the security passage: the model cites it for the made-up number too.
    const stillFabricated = (r: RecordedRequest) =>
      `The pickle module is not secure [${passageWith(r, SECURITY)}]. The default pickle protocol in Python 3.11 is protocol 4 [${passageWith(r, SECURITY)}].`;
    scriptModel(server, { generate: [fabricated], strict: [stillFabricated] });
    const a = (await ask('Is pickle secure and what is its default protocol?', { groundingMethod: 'deterministic' }))
      .body!;
    expect(a.status).toBe('abstained');
    expect(a.answer).toBe(ABSTAIN_TEXT);
    expect(a.result.citations).toEqual([]);
    expect(a.result.regenerated).toBe(true);
    expect(chatRequests(before, 'generate_strict')).toHaveLength(1);
  });

  it('holds a failing answer for review; approve releases it, reject abstains, a wrong-time review is refused', async () => {
    const fabricated = (r: RecordedRequest) =>
      `The default pickle protocol in Python 3.11 is protocol 4 [${passageWith(r, PROTOCOL)}].`;
    scriptModel(server, { generate: [fabricated] });
    const held = (
      await ask('What is the default pickle protocol?', {
        groundingMethod: 'deterministic',
        policy: 'review',
        reviewTimeout: '1 hour',
      })
    ).body!;
    expect(held.status).toBe('pending_review');
    expect(held.live).toMatchObject({
      phase: 'pending_review',
      pendingReview: { answer: expect.stringContaining('protocol 4') },
    });
    const approved = await api.request('POST', `/v1/answers/${held.id}/review`, {
      key: ctx.tenant.key,
      body: { decision: 'approve', note: 'checked by hand' },
    });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({
      status: 'answered',
      result: { review: { decision: 'approve', note: 'checked by hand' } },
    });
    expect(approved.body!.answer).toMatch(/protocol 4/);
    const again = await api.request('POST', `/v1/answers/${held.id}/review`, {
      key: ctx.tenant.key,
      body: { decision: 'reject' },
    });
    expect(again.status).toBe(409);
    expect(again.body!.error.code).toBe('not_pending_review');

    scriptModel(server, { generate: [fabricated] });
    const held2 = (
      await ask('What is the default pickle protocol?', { groundingMethod: 'deterministic', policy: 'review' })
    ).body!;
    const rejected = await api.request('POST', `/v1/answers/${held2.id}/review`, {
      key: ctx.tenant.key,
      body: { decision: 'reject' },
    });
    expect(rejected.body).toMatchObject({ status: 'abstained', answer: ABSTAIN_TEXT, result: { status: 'rejected' } });
    await recordHistory(held.workflowId, 'answer-review-approved.json');
  });

  it('abstains when no review comes before the durable deadline', async () => {
    scriptModel(server, {
      generate: [(r) => `The default pickle protocol in Python 3.11 is protocol 4 [${passageWith(r, PROTOCOL)}].`],
    });
    const held = (
      await ask('What is the default pickle protocol?', {
        groundingMethod: 'deterministic',
        policy: 'review',
        reviewTimeout: '2s',
      })
    ).body!;
    expect(held.status).toBe('pending_review');
    let done = held;
    for (const deadline = Date.now() + 20_000; done.status === 'pending_review' && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 250));
      done = (await api.request('GET', `/v1/answers/${held.id}`, { key: ctx.tenant.key })).body!;
    }
    expect(done).toMatchObject({ status: 'abstained', answer: ABSTAIN_TEXT, result: { review: { timedOut: true } } });
  });

  it('marks an answer whose run was terminated as failed, and ends its event stream', async () => {
    scriptModel(server, {
      generate: [(r) => `The default pickle protocol in Python 3.11 is protocol 4 [${passageWith(r, PROTOCOL)}].`],
    });
    const held = (
      await ask('What is the default pickle protocol?', { groundingMethod: 'deterministic', policy: 'review' })
    ).body!;
    expect(held.status).toBe('pending_review');
    await ctx.client.workflow.getHandle(held.workflowId).terminate('operator stopped it');
    const after = await api.request('GET', `/v1/answers/${held.id}`, { key: ctx.tenant.key });
    expect(after.body).toMatchObject({ status: 'failed', result: { error: expect.stringContaining('terminated') } });
  });
});
