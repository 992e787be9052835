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

  it('a step that fails still writes the phase events it carried: the log shows how far the run got', async () => {
    server.reset();
    // The question's embedding is refused (not retried): the first step fails, carrying the "retrieving" phase.
    server.embeddings.enqueue({ status: 401 });
    const res = await ask('What is the default pickle protocol?');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'failed', result: { error: expect.stringContaining('credentials') } });
    const events = (await ctx.orm.em
      .getConnection()
      .execute(`select type, data->>'phase' as phase from run_events where workflow_id = ? order by id`, [
        res.body!.workflowId,
      ])) as Array<{ type: string; phase: string | null }>;
    expect(events.map((e) => (e.phase ? `phase:${e.phase}` : e.type))).toEqual(['phase:retrieving', 'failed']);
  });
});

describe('search served by the API (scripted OpenAI-compatible model)', () => {
  const search = (body: Record<string, unknown>) =>
    api.request('POST', '/v1/search', { key: ctx.tenant.key, body: { collectionIds: [collectionId], ...body } });
  const callsOf = async (workflowId: string) =>
    (await ctx.orm.em
      .getConnection()
      .execute(`select attempt, outcome, error_type from llm_calls where workflow_id = ? order by attempt`, [
        workflowId,
      ])) as Array<{ attempt: number; outcome: string; error_type: string | null }>;

  it('embeds the query and retrieves in the API process, then records the run with its trace, tokens and attempts', async () => {
    server.reset();
    // The first embedding attempt fails with a 503: the API tries again, as an activity would.
    server.embeddings.enqueue({ status: 503 });
    const res = await search({ query: 'default pickle protocol', topK: 3 });
    expect(res.status).toBe(200);
    expect(res.body!.results).toContainEqual(expect.objectContaining({ source: 'pickle.md' }));
    expect(server.requestsTo('/embeddings')).toHaveLength(2);
    const workflowId = res.body!.workflowId as string;
    const calls = await callsOf(workflowId);
    expect(calls.map((c) => [c.attempt, c.outcome])).toEqual([
      [1, 'error'],
      [2, 'ok'],
    ]);

    // The run: started with what was served, ended in its first task without a step, its result the response's.
    const handle = ctx.client.workflow.getHandle(workflowId);
    expect(await handle.result()).toEqual(res.body!.results);
    const events = (await handle.fetchHistory()).events ?? [];
    expect(events.filter((e) => e.workflowTaskCompletedEventAttributes)).toHaveLength(1);
    expect(events.filter((e) => e.activityTaskScheduledEventAttributes || e.markerRecordedEventAttributes)).toEqual([]);
    const run = await api.request('GET', `/v1/runs/${encodeURIComponent(workflowId)}`, { key: ctx.tenant.key });
    expect(run.body).toMatchObject({ kind: 'search', status: 'completed' });
    expect(run.body!.tokens.input).toBeGreaterThan(0);

    // One trace: the request, the search under it, the embedding calls under that, and the recorded run.
    const spans = async () => {
      await ctx.telemetry.spanStore!.flush();
      const t = await api.request('GET', `/v1/runs/${encodeURIComponent(workflowId)}/trace`, { key: ctx.tenant.key });
      return t.body!.spans as Array<{ name: string; spanId: string; parentSpanId: string | null; traceId: string }>;
    };
    await expect
      .poll(async () => (await spans()).map((s) => s.name), { timeout: 20_000, interval: 200 })
      .toEqual(expect.arrayContaining(['POST /v1/search', 'search', 'RunWorkflow:searchKnowledge']));
    const all = await spans();
    const byName = (n: string) => all.filter((s) => s.name === n);
    const searchSpan = byName('search')[0]!;
    expect(searchSpan.parentSpanId).toBe(byName('POST /v1/search')[0]!.spanId);
    expect(all.filter((s) => s.parentSpanId === searchSpan.spanId).length).toBe(2);
    expect(new Set(all.map((s) => s.traceId)).size).toBe(1);
  });

  it('answers a model that keeps failing with a 502 after 3 attempts, recorded as a failed run', async () => {
    server.reset();
    server.embeddings.enqueue({ status: 503 }, { status: 503 }, { status: 503 });
    const res = await search({ query: 'default pickle protocol' });
    expect(res.status).toBe(502);
    expect(res.body!.error.code).toBe('llm_server_error');
    const workflowId = res.body!.error.details.workflowId as string;
    expect((await callsOf(workflowId)).map((c) => c.attempt)).toEqual([1, 2, 3]);
    await expect(ctx.client.workflow.getHandle(workflowId).result()).rejects.toMatchObject({
      cause: { type: 'llm_server_error' },
    });
    const run = await api.request('GET', `/v1/runs/${encodeURIComponent(workflowId)}`, { key: ctx.tenant.key });
    expect(run.body).toMatchObject({ kind: 'search', status: 'failed' });
    // A refused credential is not tried again.
    server.embeddings.enqueue({ status: 401 });
    const refused = await search({ query: 'default pickle protocol' });
    expect(refused.status).toBe(502);
    expect(refused.body!.error.code).toBe('llm_unauthorized');
    expect(await callsOf(refused.body!.error.details.workflowId as string)).toHaveLength(1);
    // Text mode calls no model.
    const before = server.requestsTo('/embeddings').length;
    const text = await search({ query: 'default pickle protocol', mode: 'text' });
    expect(text.status).toBe(200);
    expect(server.requestsTo('/embeddings')).toHaveLength(before);
  });

  it('refuses an unknown collection with a 404 before any model call', async () => {
    server.reset();
    const res = await api.request('POST', '/v1/search', {
      key: ctx.tenant.key,
      body: { query: 'x', collectionIds: [crypto.randomUUID()] },
    });
    expect(res.status).toBe(404);
    expect(res.body!.error.code).toBe('collection_not_found');
    expect(server.requestsTo('/embeddings')).toHaveLength(0);
  });
});
