import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../api/auth/api-keys';
import { runSearchAttributes, workflowIds, type ContextPassage } from '../lib/contracts';
import { replayAnswers, replayProgressQuery } from '../workflows/replay';
import { setupTestContext, startTestApi, type TestContext } from './harness';
import { startOpenAiServer, type OpenAiTestServer, type RecordedRequest } from './openai-server';
import { firstPassage, kindOf, scriptModel } from './scripted-model';
import { ingestCorpus } from './rag-fixtures';

// Counterfactual replay (issue 19): answers asked offline (local extractive model, hashing embeddings,
// deterministic grounding), replayed with the scripted OpenAI-compatible model as the new answer model.
// RECORD_HISTORY=1 saves the first replay's histories (the replayAnswers run and its first replayAnswer child) as
// test/histories/replay-answers-three.json and replay-answer-generation.json, and the retrieval replay's child as
// replay-answer-retrieval.json (all replayed by test/replay.test.ts).
let server: OpenAiTestServer;
let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let collectionId: string;
const answers: Array<{ id: string; workflowId: string; answer: string }> = [];

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const RETRIEVAL_ACTIVITIES = ['embedQuestion', 'retrieveContext', 'retrieveForQuestion', 'searchChunks'];

async function historyOf(workflowId: string): Promise<HistoryEvent[]> {
  return (await ctx.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
}
const scheduledTypes = (events: HistoryEvent[]) =>
  events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
/** The inputs of every scheduled activity of a type, in order. */
function inputsOf<T>(events: HistoryEvent[], type: string): T[] {
  return events
    .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type)
    .map((e) => defaultPayloadConverter.fromPayload<T>(e.activityTaskScheduledEventAttributes!.input!.payloads![0]!));
}
/** The passages the recorded answer's generation saw: its last rerank's result, else its retrieval's. */
function recordedPassages(events: HistoryEvent[]): ContextPassage[] {
  const results = new Map<string, ContextPassage[]>();
  const scheduled = new Map<string, string>();
  for (const e of events) {
    const t = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (t) scheduled.set(String(e.eventId), t);
    const done = e.activityTaskCompletedEventAttributes;
    const type = done && scheduled.get(String(done.scheduledEventId));
    if (done && (type === 'rerankContext' || type === 'retrieveForQuestion'))
      results.set(
        type,
        defaultPayloadConverter.fromPayload<{ passages: ContextPassage[] }>(done.result!.payloads![0]!).passages,
      );
  }
  return results.get('rerankContext') ?? results.get('retrieveForQuestion')!;
}

/**
 * The scripted model answers with every sentence of the first passage, cited before the final stop (the extractive
 * model cites after each sentence's stop), and adds a claim no passage states: a new text with a claim the recorded
 * answer did not make.
 */
const FABRICATED = 'The module was first written in 1842';
function answerFromFirstPassage(r: RecordedRequest): string {
  const { n, text } = firstPassage(r);
  return `${text} [${n}]. ${FABRICATED} [${n}].`;
}

afterAll(async () => {
  await ctx?.close();
  await server?.close();
});
beforeAll(async () => {
  server = await startOpenAiServer({ apiKey: 'sk-test' });
  ctx = await setupTestContext({
    // The OpenAI-compatible provider is there for the replays' new model; every default stays local (offline).
    LLM_PROVIDER: 'openai',
    OPENAI_BASE_URL: `${server.url}/v1`,
    OPENAI_API_KEY: 'sk-test',
    LLM_MODEL_EMBEDDING: 'local-embed-384',
    LLM_MODEL_ANSWER: 'local-extractive',
    LLM_MODEL_JUDGE: 'local-extractive',
    LLM_MODEL_AGENT: 'local-extractive',
  });
  api = await startTestApi(ctx);
  await ctx.startWorker();
  collectionId = await ingestCorpus(ctx, api);
  for (const question of [
    'What is the default pickle protocol?',
    'What does asyncio.gather do?',
    'What does json.dumps do?',
  ]) {
    const res = await api.request('POST', '/v1/answers?wait=true', {
      key: ctx.tenant.key,
      body: { question, collectionIds: [collectionId] },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(['answered', 'abstained']).toContain(res.body!.status);
    answers.push({ id: res.body!.id, workflowId: res.body!.workflowId, answer: res.body!.answer });
  }
  scriptModel(server, { generate: [answerFromFirstPassage], strict: [answerFromFirstPassage] });
});

const start = (body: Record<string, unknown>, key = ctx.tenant.key) =>
  api.request('POST', '/v1/replays', { key, body });

/** Saves a workflow's history as test/histories/<name>.json. */
async function recordHistory(workflowId: string, name: string): Promise<void> {
  const history = JSON.parse(historyToJSON(await ctx.client.workflow.getHandle(workflowId).fetchHistory())) as object;
  const file = fileURLToPath(new URL(`./histories/${name}.json`, import.meta.url));
  await writeFile(file, JSON.stringify({ workflowId, ...history }, null, 2) + '\n');
}

async function finished(id: string, workflowId: string) {
  await ctx.client.workflow.getHandle(workflowId).result();
  const replay = await api.request('GET', `/v1/replays/${id}`, { key: ctx.tenant.key });
  const items = await api.request('GET', `/v1/replays/${id}/items?limit=10`, { key: ctx.tenant.key });
  return { replay: replay.body!, items: items.body!.items as Array<Record<string, any>> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('counterfactual replay', () => {
  it('regenerates from the recorded passages with a new model: no retrieval runs, and the diff per answer', async () => {
    const res = await start({
      name: 'scripted model',
      answerIds: answers.map((a) => a.id),
      // A threshold the fabricated claim alone does not fail, so the scripted answers are released.
      setup: { model: 'gpt-4o-mini', groundingThreshold: 0.3 },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const { replay, items } = await finished(res.body!.id, res.body!.workflowId);
    if (process.env.RECORD_HISTORY) {
      // A change to workflows/replay.ts unsafe for running replays fails test/replay.test.ts.
      await recordHistory(res.body!.workflowId, 'replay-answers-three');
      await recordHistory(`${res.body!.workflowId}/item-0`, 'replay-answer-generation');
    }
    expect(replay).toMatchObject({
      id: res.body!.id,
      mode: 'generation',
      status: 'completed',
      progress: { total: 3, done: 3, completed: 3, failed: 0 },
      setup: { model: 'gpt-4o-mini' },
      summary: { items: 3, completed: 3, failed: 0 },
    });
    expect(items).toHaveLength(3);

    for (const [i, item] of items.entries()) {
      const recorded = answers[i]!;
      expect(item).toMatchObject({
        index: i,
        answerId: recorded.id,
        status: 'completed',
        mode: 'generation',
        source: 'history',
        workflowId: `${res.body!.workflowId}/item-${i}`,
      });
      expect(item.old.text).toBe(recorded.answer);
      expect(item.old.model).toBe('local-extractive');
      expect(item.new.model).toMatch(/^gpt-4o-mini/);
      expect(item.modelText ?? item.new.text).not.toBe(item.old.text);
      expect(item.new.text).toContain(FABRICATED);
      expect(item.new.grounding).toMatchObject({ method: 'deterministic', threshold: 0.3 });
      expect(item.new.grounding.claims.find((c: { claim: string }) => c.claim.includes('1842')).verdict).not.toBe(
        'supported',
      );
      expect(item.claims).toContainEqual(
        expect.objectContaining({ claim: expect.stringContaining('1842'), change: 'added', before: null }),
      );
      expect(item.citations).toEqual({ added: expect.any(Array), removed: expect.any(Array) });
      expect(item.delta.costUsd).toBeGreaterThanOrEqual(0);
      expect(item.new.costUsd).toBeGreaterThan(0);
      expect(item.delta.costUsd).toBeCloseTo(item.new.costUsd - item.old.costUsd, 6);

      // From the child's own history: nothing retrieved, and generation got exactly the recorded passages.
      const events = await historyOf(item.workflowId);
      const types = scheduledTypes(events);
      expect(types).toContain('generateAnswer');
      expect(types).toContain('groundAnswer');
      expect(types.filter((t) => RETRIEVAL_ACTIVITIES.includes(t))).toEqual([]);
      const [generation] = inputsOf<{ passages: ContextPassage[]; model: string; strict: boolean }>(
        events,
        'generateAnswer',
      );
      expect(generation!.strict).toBe(false);
      expect(generation!.model).toBe('gpt-4o-mini');
      expect(generation!.passages).toEqual(recordedPassages(await historyOf(recorded.workflowId)));
    }
    // Every generation of the replay went to the scripted model; the children are runs of kind replay.
    const generated = server.requestsTo('/chat/completions').filter((r) => kindOf(r).startsWith('generate'));
    expect(generated.length).toBeGreaterThanOrEqual(3);
    const run = await api.request('GET', `/v1/runs/${encodeURIComponent(items[0]!.workflowId)}`, {
      key: ctx.tenant.key,
    });
    expect(run.status).toBe(200);
  });

  it('re-retrieves with topK 1 and keeps the recorded model', async () => {
    const res = await start({ mode: 'retrieval', answerIds: [answers[0]!.id], setup: { topK: 1 } });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const { replay, items } = await finished(res.body!.id, res.body!.workflowId);
    if (process.env.RECORD_HISTORY) await recordHistory(`${res.body!.workflowId}/item-0`, 'replay-answer-retrieval');
    expect(replay).toMatchObject({ mode: 'retrieval', status: 'completed', setup: { topK: 1 } });
    expect(items[0]).toMatchObject({ status: 'completed', mode: 'retrieval' });
    const events = await historyOf(items[0]!.workflowId);
    const [retrieval] = inputsOf<{ topK: number; collectionIds: string[] }>(events, 'retrieveContext');
    expect(retrieval).toMatchObject({ topK: 1, collectionIds: [collectionId] });
    const generations = inputsOf<{ model: string; passages: ContextPassage[] }>(events, 'generateAnswer');
    for (const g of generations) expect(g.model).toBe('local-extractive');
    expect(generations[0]!.passages.length).toBeLessThanOrEqual(1);
    expect(items[0]!.new.model === null || items[0]!.new.model === 'local-extractive').toBe(true);
  });

  it('falls back to the answer record when the run history is gone, and passes the chosen prompt version', async () => {
    // A copy of a recorded answer whose run Temporal no longer has (as after retention).
    const [row] = (await ctx.orm.em
      .fork()
      .getConnection()
      .execute(`select result from answers where tenant_id = ? and id = ?`, [ctx.tenant.id, answers[0]!.id])) as Array<{
      result: { context: Array<{ chunkId: string }>; citations: Array<{ chunkId: string; text: string }> };
    }>;
    const id = crypto.randomUUID();
    await ctx.orm.em
      .fork()
      .getConnection()
      .execute(
        `insert into answers (tenant_id, id, workflow_id, question, status, answer, origin, result)
         values (?, ?, ?, ?, 'answered', ?, 'request', ?::jsonb)`,
        [
          ctx.tenant.id,
          id,
          `answer:${ctx.tenant.id}:${id}`,
          'What is the default pickle protocol?',
          answers[0]!.answer,
          JSON.stringify(row!.result),
        ],
      );
    const res = await start({ answerIds: [id], setup: { model: 'gpt-4o-mini', prompts: { answer: 1 } } });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const { replay, items } = await finished(res.body!.id, res.body!.workflowId);
    expect(replay.setup).toMatchObject({
      promptSelection: { answer: 1 },
      prompts: { answer: { name: 'answer', version: 1, text: expect.stringContaining('You answer questions') } },
    });
    expect(items[0]).toMatchObject({ status: 'completed', source: 'record' });
    const events = await historyOf(items[0]!.workflowId);
    expect(scheduledTypes(events).filter((t) => RETRIEVAL_ACTIVITIES.includes(t))).toEqual([]);
    const [generation] = inputsOf<{ passages: ContextPassage[]; prompt?: { name: string; version: number } }>(
      events,
      'generateAnswer',
    );
    // The recorded context, in its order, with each passage's text (from the citations, else from the chunk).
    expect(generation!.passages.map((p) => p.chunkId)).toEqual(row!.result.context.map((c) => c.chunkId));
    expect(generation!.passages.every((p) => p.text.length > 0)).toBe(true);
    expect(generation!.prompt).toMatchObject({ name: 'answer', version: 1 });
  });

  it('selects answers by filter', async () => {
    const res = await start({ filter: { limit: 2 }, setup: { model: 'gpt-4o-mini' } });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const { replay } = await finished(res.body!.id, res.body!.workflowId);
    expect(replay).toMatchObject({ status: 'completed', progress: { total: 2, done: 2 } });
    expect(replay.answerIds).toHaveLength(2);
  });

  it('replays the answers a dataset was built from', async () => {
    const made = await api.request('POST', '/v1/datasets/from-answers', {
      key: ctx.tenant.key,
      body: { name: `replay-${crypto.randomUUID().slice(0, 8)}`, answerIds: [answers[1]!.id, answers[2]!.id] },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const res = await start({ datasetId: made.body!.id, setup: { model: 'gpt-4o-mini' } });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const { replay } = await finished(res.body!.id, res.body!.workflowId);
    expect(replay).toMatchObject({ status: 'completed', answerIds: [answers[1]!.id, answers[2]!.id] });
    expect((await start({ datasetId: crypto.randomUUID() })).status).toBe(404);
  });

  it('records an answer that cannot be replayed as a failed item and goes on; progress is a query', async () => {
    const id = crypto.randomUUID();
    const workflowId = workflowIds.replay(ctx.tenant.id, id);
    const missing = crypto.randomUUID();
    await ctx.orm.em
      .fork()
      .getConnection()
      .execute(
        `insert into replays (id, tenant_id, name, mode, setup, answer_ids, workflow_id, created_by)
         values (?, ?, 'direct', 'generation', '{}'::jsonb, ?::jsonb, ?, 'test')`,
        [id, ctx.tenant.id, JSON.stringify([missing, answers[0]!.id]), workflowId],
      );
    const handle = await ctx.client.workflow.start(replayAnswers, {
      workflowId,
      taskQueue: ctx.config.temporal.taskQueue,
      typedSearchAttributes: runSearchAttributes({ tenantId: ctx.tenant.id, kind: 'replay' }),
      args: [
        {
          tenantId: ctx.tenant.id,
          replayId: id,
          mode: 'generation',
          answerIds: [missing, answers[0]!.id],
          setup: { model: 'gpt-4o-mini' },
          concurrency: 1,
          actor: 'test',
        },
      ],
    });
    expect(await handle.result()).toEqual({ items: 2, completed: 1, failed: 1 });
    expect(await handle.query(replayProgressQuery)).toEqual({ total: 2, done: 2, failed: 1, running: 0 });
    const { replay, items } = await finished(id, workflowId);
    expect(replay).toMatchObject({ status: 'completed', summary: { items: 2, completed: 1, failed: 1 } });
    expect(items[0]).toMatchObject({
      status: 'failed',
      old: null,
      new: null,
      error: expect.stringMatching(/not found/),
    });
    expect(items[1]).toMatchObject({ status: 'completed' });
  });

  it('continues as new after 200 items, carrying the next index', { timeout: 180_000 }, async () => {
    const id = crypto.randomUUID();
    const workflowId = workflowIds.replay(ctx.tenant.id, id);
    // Unknown answers fail fast: what is checked here is the hand-over between runs, not the replays.
    const answerIds = Array.from({ length: 201 }, () => crypto.randomUUID());
    await ctx.orm.em
      .fork()
      .getConnection()
      .execute(
        `insert into replays (id, tenant_id, name, mode, setup, answer_ids, workflow_id, created_by)
         values (?, ?, 'many', 'generation', '{}'::jsonb, ?::jsonb, ?, 'test')`,
        [id, ctx.tenant.id, JSON.stringify(answerIds), workflowId],
      );
    const handle = await ctx.client.workflow.start(replayAnswers, {
      workflowId,
      taskQueue: ctx.config.temporal.taskQueue,
      typedSearchAttributes: runSearchAttributes({ tenantId: ctx.tenant.id, kind: 'replay' }),
      args: [
        {
          tenantId: ctx.tenant.id,
          replayId: id,
          mode: 'generation',
          answerIds,
          setup: {},
          concurrency: 16,
          actor: 't',
        },
      ],
    });
    expect(await handle.result()).toEqual({ items: 201, completed: 0, failed: 201 });
    const events = await historyOf(workflowId);
    const started = events[0]!.workflowExecutionStartedEventAttributes!;
    expect(started.continuedExecutionRunId).toBeTruthy();
    expect(defaultPayloadConverter.fromPayload<{ nextIndex: number }>(started.input!.payloads![0]!).nextIndex).toBe(
      200,
    );
    expect(scheduledTypes(events).filter((t) => t === 'markReplay')).toEqual(['markReplay']); // completed only
  });

  it('refuses unknown and foreign answers, mode-mismatched setups, viewers; hides replays from other tenants', async () => {
    const other = await ctx.addTenant('admin');
    const foreignId = crypto.randomUUID();
    await ctx.orm.em
      .fork()
      .getConnection()
      .execute(
        `insert into answers (tenant_id, id, workflow_id, question, status, origin, result)
         values (?, ?, ?, 'elsewhere?', 'answered', 'request', '{}'::jsonb)`,
        [other.id, foreignId, `answer:${other.id}:${foreignId}`],
      );
    const unknown = crypto.randomUUID();
    const refused = await start({ answerIds: [answers[0]!.id, foreignId, unknown] });
    expect(refused.status).toBe(400);
    expect(refused.body!.error).toMatchObject({ code: 'answers_not_found' });
    expect([...refused.body!.error.details.answerIds].sort()).toEqual([foreignId, unknown].sort());

    const failedId = crypto.randomUUID();
    await ctx.orm.em
      .fork()
      .getConnection()
      .execute(
        `insert into answers (tenant_id, id, workflow_id, question, status, origin) values (?, ?, ?, 'q', 'failed', 'request')`,
        [ctx.tenant.id, failedId, `answer:${ctx.tenant.id}:${failedId}`],
      );
    const unfit = await start({ answerIds: [failedId] });
    expect(unfit.status).toBe(400);
    expect(unfit.body!.error).toMatchObject({ code: 'answers_not_replayable', details: { answerIds: [failedId] } });

    const mismatch = await start({ answerIds: [answers[0]!.id], setup: { topK: 2 } });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body!.error).toMatchObject({ code: 'setup_not_for_mode' });

    const viewer = await createApiKey(ctx.orm, { tenantId: ctx.tenant.id, keyName: 'viewer', role: 'viewer' });
    expect((await start({ answerIds: [answers[0]!.id] }, viewer.key)).status).toBe(403);
    const listed = await api.request('GET', '/v1/replays', { key: viewer.key });
    expect(listed.status).toBe(200);
    const [mine] = listed.body!.replays as Array<{ id: string }>;
    expect(mine).toBeDefined();

    expect((await api.request('GET', `/v1/replays/${mine!.id}`, { key: other.key })).status).toBe(404);
    expect((await api.request('GET', `/v1/replays/${mine!.id}/items`, { key: other.key })).status).toBe(404);
    expect((await api.request('GET', '/v1/replays/not-a-uuid', { key: ctx.tenant.key })).status).toBe(404);
    expect((await api.request('GET', '/v1/replays', { key: other.key })).body!.replays).toEqual([]);
  });
});
