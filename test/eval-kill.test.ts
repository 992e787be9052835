import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { evalRun } from '../workflows/eval';
import { setupTestContext, startTestApi, type TestContext } from './harness';
import { CORPUS, ingestCorpus } from './rag-fixtures';

// An eval run of 120 items (two workflow runs: it continues as new after 100) whose worker process is SIGKILLed
// twice: it finishes with every item answered and scored once — one answer run per item, no answer record or result
// row made twice — because each item's answer id comes from the workflow's deterministic uuids.

let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
const ITEMS = 120;
const QUESTIONS = [
  'What is the default pickle protocol in Python 3.11?',
  'What does asyncio.gather return?',
  'What does json.dumps serialize an object to?',
];

afterAll(() => ctx?.close());
beforeAll(async () => {
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
});

it(
  'finishes a 120-item eval whose worker is SIGKILLed twice: each item answered and scored once',
  { timeout: 480_000 },
  async () => {
    let worker = await ctx.startWorkerProcess();
    const collectionId = await ingestCorpus(ctx, api, { corpus: CORPUS });
    const items = Array.from({ length: ITEMS }, (_, i) => ({
      id: `item-${i}`,
      question: `${QUESTIONS[i % QUESTIONS.length]} (${i})`,
      goldSources: [['pickle.md', 'asyncio.md', 'json.md'][i % 3]!],
    }));
    const ds = await api.request('POST', '/v1/datasets', { key: ctx.tenant.key, body: { name: 'kill', items } });
    expect(ds.status).toBe(201);
    const started = await api.request('POST', '/v1/evals', {
      key: ctx.tenant.key,
      body: { datasetId: ds.body!.id, config: { collectionIds: [collectionId] }, concurrency: 4 },
    });
    expect(started.status).toBe(202);
    const { id, workflowId } = started.body as { id: string; workflowId: string };

    const conn = ctx.orm.em.getConnection();
    const scored = async () =>
      (
        (await conn.execute(
          `select count(*)::int as n from eval_results where eval_run_id = ? and status = 'completed'`,
          [id],
        )) as Array<{ n: number }>
      )[0]!.n;
    for (const threshold of [15, 60]) {
      const deadline = Date.now() + 180_000;
      while ((await scored()) < threshold) {
        if (Date.now() > deadline) throw new Error(`eval stalled before ${threshold} items`);
        await sleep(50);
      }
      worker.kill('SIGKILL');
      await new Promise((r) => worker.once('exit', r));
      expect(await scored(), 'the kill landed mid-run').toBeLessThan(ITEMS);
      worker = await ctx.startWorkerProcess();
    }
    const report = await ctx.client.workflow.getHandle<typeof evalRun>(workflowId).result();
    expect(report.status).toBe('completed');
    expect(report.aggregate).toMatchObject({ items: ITEMS, completed: ITEMS, failed: 0 });
    const handle = ctx.client.workflow.getHandle(workflowId);
    const [first] = (await handle.fetchHistory()).events ?? [];
    expect(first?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId, 'it continued as new').toBeTruthy();

    const [rows] = (await conn.execute(
      `select count(*)::int as n, count(distinct answer_id)::int as answers, count(distinct item_id)::int as items
       from eval_results where eval_run_id = ? and status = 'completed'`,
      [id],
    )) as Array<{ n: number; answers: number; items: number }>;
    expect(rows).toEqual({ n: ITEMS, answers: ITEMS, items: ITEMS });
    // No answer run was started twice under another id: the tenant's eval answers are exactly the run's.
    const [answers] = (await conn.execute(
      `select count(*)::int as n, count(*) filter (where status in ('answered', 'abstained'))::int as done
       from answers where tenant_id = ? and origin = 'eval'`,
      [ctx.tenant.id],
    )) as Array<{ n: number; done: number }>;
    expect(answers).toEqual({ n: ITEMS, done: ITEMS });
    const run = await api.request('GET', `/v1/evals/${id}`, { key: ctx.tenant.key });
    expect(run.body).toMatchObject({ status: 'completed', progress: { completed: ITEMS, failed: 0, running: 0 } });
  },
);
