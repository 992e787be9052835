import { afterAll, beforeAll, expect, it } from 'vitest';
import { setupTestContext, startTestApi, type TestContext } from './harness';
import { startOpenAiServer, type OpenAiTestServer } from './openai-server';
import { ingestCorpus } from './rag-fixtures';
import { kindOf, passageWith, scriptModel } from './scripted-model';

// A worker process killed after generation, while the grounding judge is being asked: the next worker finishes the
// run from history, and the model is not asked to generate again (its answer is the completed activity's result).
let server: OpenAiTestServer;
let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
const env = (url: string) => ({
  LLM_PROVIDER: 'openai',
  OPENAI_BASE_URL: `${url}/v1`,
  OPENAI_API_KEY: 'sk-test',
  LLM_EMBEDDING_DIMENSIONS: '8',
});

afterAll(async () => {
  await ctx?.close();
  await server?.close();
});
beforeAll(async () => {
  server = await startOpenAiServer({ apiKey: 'sk-test' });
  ctx = await setupTestContext(env(server.url));
  api = await startTestApi(ctx);
});

it('a worker killed after generation does not call the model again for that step', { timeout: 180_000 }, async () => {
  const first = await ctx.startWorkerProcess({ env: env(server.url) });
  const collectionId = await ingestCorpus(ctx, api);
  // The first judge call hangs (the worker dies during it); the retry on the next worker is answered at once.
  scriptModel(server, {
    generate: [
      (r) => `The default pickle protocol in Python 3.11 is protocol 5 [${passageWith(r, 'default pickle protocol')}].`,
    ],
    judgeDelayMs: (nth) => (nth === 1 ? 120_000 : undefined),
  });
  const chat = () => server.requestsTo('/chat/completions');
  const before = chat().length;
  const start = await api.request('POST', '/v1/answers', {
    key: ctx.tenant.key,
    body: { question: 'What is the default pickle protocol?', collectionIds: [collectionId], groundingMethod: 'llm' },
  });
  expect(start.status).toBe(202);

  for (
    const deadline = Date.now() + 60_000;
    !chat()
      .slice(before)
      .some((r) => kindOf(r) === 'judge');
  ) {
    if (Date.now() > deadline) throw new Error('the judge was never asked');
    await new Promise((r) => setTimeout(r, 50));
  }
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  await ctx.startWorkerProcess({ env: env(server.url) });

  let a = start.body!;
  for (const deadline = Date.now() + 120_000; a.status === 'running' && Date.now() < deadline;) {
    a = (await api.request('GET', `/v1/answers/${a.id}?wait=true&timeoutMs=5000`, { key: ctx.tenant.key })).body!;
  }
  expect(a.status).toBe('answered');
  expect(a.answer).toMatch(/protocol 5/);
  const kinds = chat().slice(before).map(kindOf);
  expect(kinds.filter((k) => k === 'generate')).toHaveLength(1);
  expect(kinds.filter((k) => k === 'judge')).toHaveLength(2);
  // The usage record agrees: one generation call, two judge attempts (the first never finished).
  const calls = (await ctx.orm.em
    .getConnection()
    .execute(
      `select purpose, outcome from llm_calls where workflow_id = ? and purpose in ('answer', 'judge') order by created_at`,
      [a.workflowId],
    )) as Array<{ purpose: string; outcome: string }>;
  expect(calls.filter((c) => c.purpose === 'answer' && c.outcome === 'ok')).toHaveLength(1);
  // The workflow's own events are written once each, whichever of its activities ran again after the kill.
  const phases = (
    (await ctx.orm.em
      .getConnection()
      .execute(`select data->>'phase' as phase from run_events where workflow_id = ? and type = 'phase' order by id`, [
        a.workflowId,
      ])) as Array<{ phase: string }>
  ).map((r) => r.phase);
  expect(phases.length).toBeGreaterThan(2);
  expect(new Set(phases).size).toBe(phases.length);
});
