import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnswerResult, DatasetItem } from '../lib/contracts';
import { scoreItem } from '../lib/evals/metrics';
import { setupTestContext, startTestApi, type TestContext } from './harness';
import { ingestCorpus } from './rag-fixtures';

// Eval runs (issue 19 item 3): a configuration answered over a dataset version, each item a real `answer` run (origin
// eval, kept out of the answers list), scored against its gold sources, expected facts and expected answer; the
// aggregate at the end. A second run with another prompt version records that version on its runs; an experiment
// compares the two; a schedule starts an eval; a cancelled run says so; tenants and roles are kept apart.
// RECORD_HISTORY=1 saves the first run's history as test/histories/eval-run-four-items.json and the grounding eval's
// as eval-run-grounding.json (both replayed by test/replay.test.ts).

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- API answers, read field by field

let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let other: { id: string; key: string };
let viewerKey = '';
let collectionId = '';
let datasetId = '';
const scheduleIds: string[] = [];

const ITEMS: DatasetItem[] = [
  {
    id: 'protocol',
    question: 'What is the default pickle protocol in Python 3.11?',
    expectedAnswer: 'Protocol 5.',
    expectedFacts: ['protocol 5'],
    goldSources: ['pickle.md'],
  },
  {
    id: 'gather',
    question: 'What does asyncio.gather return?',
    expectedFacts: ['aggregate list of results'],
    goldSources: ['asyncio.md'],
  },
  { id: 'wrong-gold', question: 'Which separators does json.dumps use by default?', goldSources: ['nowhere.md'] },
  { id: 'no-gold', question: 'What is the capital of Mongolia?' },
];

beforeAll(async () => {
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
  await ctx.startWorker();
  other = await ctx.addTenant('admin');
  const viewer = await api.request('POST', '/v1/keys', {
    key: ctx.tenant.key,
    body: { name: 'viewer', role: 'viewer' },
  });
  viewerKey = viewer.body!.key as string;
  collectionId = await ingestCorpus(ctx, api);
  const ds = await call('POST', '/v1/datasets', { name: 'python docs', items: ITEMS });
  expect(ds.status, JSON.stringify(ds.body)).toBe(201);
  datasetId = ds.body.id;
});
afterAll(async () => {
  for (const id of scheduleIds) await call('DELETE', `/v1/schedules/${id}`).catch(() => undefined);
  await ctx?.close();
});

const call = (method: string, path: string, body?: unknown, key = ctx.tenant.key) =>
  api.request(method, path, { key, body }) as Promise<{ status: number; body: Json }>;

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(300);
  }
}

const finished = (id: string) =>
  until(`eval run ${id}`, async () => {
    const r = await call('GET', `/v1/evals/${id}`);
    return r.body.status !== 'running' && r.body;
  });

const itemsOf = async (id: string) => (await call('GET', `/v1/evals/${id}/items?limit=500`)).body.items as Json[];

describe('an eval run over a dataset version', () => {
  let run: Json;
  let items: Json[];

  it('answers every item as its own answer run and scores it', async () => {
    const started = await call('POST', '/v1/evals', { datasetId, config: { collectionIds: [collectionId], topK: 4 } });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body.dataset).toEqual({ id: datasetId, name: 'python docs', version: 1 });
    run = await finished(started.body.id);
    expect(run.status).toBe('completed');
    if (process.env.RECORD_HISTORY) {
      // Replayed by test/replay.test.ts: a change to workflows/eval.ts unsafe for running evals fails there.
      const handle = ctx.client.workflow.getHandle(run.workflowId as string);
      const history = JSON.parse(historyToJSON(await handle.fetchHistory())) as object;
      const file = fileURLToPath(new URL('./histories/eval-run-four-items.json', import.meta.url));
      await writeFile(file, JSON.stringify({ workflowId: handle.workflowId, ...history }, null, 2) + '\n');
    }
    expect(run.progress).toEqual({ completed: 4, failed: 0, running: 0 });
    items = await itemsOf(run.id);
    expect(items.map((i) => i.itemId)).toEqual(ITEMS.map((i) => i.id));
    for (const i of items) {
      expect(i.status).toBe('completed');
      expect(i.workflowId).toBe(`answer:${ctx.tenant.id}:${i.answerId}`);
    }
  });

  it('scores each item from its answer as recorded (retrieval, citations, facts)', async () => {
    const byId = new Map(items.map((i) => [i.itemId, i]));
    // The item whose gold source is the pickle page: found first, cited, the fact stated.
    expect(byId.get('protocol')!.metrics).toMatchObject({ recallAtK: 1, mrr: 1, citationAccuracy: 1, factCoverage: 1 });
    expect(byId.get('protocol')!.answerStatus).toBe('answered');
    // A gold source no document has: nothing retrieved or cited from it.
    expect(byId.get('wrong-gold')!.metrics).toMatchObject({ recallAtK: 0, mrr: 0 });
    // No gold sources, no facts: those metrics do not apply.
    expect(byId.get('no-gold')!.metrics).toMatchObject({ recallAtK: null, mrr: null, factCoverage: null });
    // Every stored score is the metric of the answer's own recorded result, with the run's k.
    for (const i of items) {
      const a = await call('GET', `/v1/answers/${i.answerId}`);
      expect(a.status).toBe(200);
      const item = ITEMS.find((x) => x.id === i.itemId)!;
      const { correctnessReason: _reason, ...stored } = i.metrics as Json;
      expect(stored).toEqual({ ...scoreItem(item, a.body.result as AnswerResult, 4), correctness: null });
    }
  });

  it('aggregates the items', () => {
    const agg = run.aggregate as Json;
    expect(agg.items).toBe(4);
    expect(agg.completed).toBe(4);
    const applicable = items.filter((i) => i.metrics.recallAtK !== null);
    expect(agg.metrics.recallAtK.n).toBe(applicable.length);
    const mean = applicable.reduce((s, i) => s + (i.metrics.recallAtK as number), 0) / applicable.length;
    expect(agg.metrics.recallAtK.mean).toBeCloseTo(mean, 12);
    const answered = items.filter((i) => i.answerStatus === 'answered').length;
    expect(agg.abstainRate).toBeCloseTo(1 - answered / 4, 12);
    expect(agg.latencyMs.p50).toBeGreaterThan(0);
  });

  it('keeps eval answers out of the answers list', async () => {
    const list = await call('GET', '/v1/answers?limit=200');
    const ids = new Set((list.body.answers as Json[]).map((a) => a.id));
    for (const i of items) expect(ids.has(i.answerId)).toBe(false);
  });

  it('lists the run, and runs list it as kind eval', async () => {
    const list = await call('GET', `/v1/evals?datasetId=${datasetId}`);
    expect((list.body.evalRuns as Json[]).some((r) => r.id === run.id)).toBe(true);
    const runs = await call('GET', '/v1/runs?kind=eval');
    expect((runs.body.runs as Json[]).some((r) => r.workflowId === run.workflowId)).toBe(true);
  });

  describe('with another prompt version, compared in an experiment', () => {
    let second: Json;

    it('records the prompt version on the run and on each answer', async () => {
      const v = await call('POST', '/v1/prompts/answer/versions', {
        text: 'Answer only from the numbered passages, citing each sentence like [1]. If they do not answer, say: "The documents do not say."',
        labels: ['candidate'],
      });
      expect(v.status, JSON.stringify(v.body)).toBe(201);
      const started = await call('POST', '/v1/evals', {
        datasetId,
        name: 'candidate prompt',
        config: { collectionIds: [collectionId], topK: 4, prompts: { answer: 'candidate' } },
      });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      second = await finished(started.body.id);
      expect(second.status).toBe('completed');
      expect(second.prompts).toContainEqual({ name: 'answer', version: v.body.version });
      expect(run.prompts ?? (await call('GET', `/v1/evals/${run.id}`)).body.prompts).toContainEqual({
        name: 'answer',
        version: 1,
      });
      const [first] = await itemsOf(second.id);
      const a = await call('GET', `/v1/answers/${first!.answerId}`);
      expect(a.body.result.prompts).toContainEqual({ name: 'answer', version: v.body.version });
    });

    it('compares the runs item by item', async () => {
      const e = await call('POST', '/v1/experiments', {
        name: 'prompt v1 vs candidate',
        evalRunIds: [run.id, second.id],
      });
      expect(e.status, JSON.stringify(e.body)).toBe(201);
      expect(e.body.baselineRunId).toBe(run.id);
      const cmp = (e.body.comparisons as Json[])[0]!;
      expect(cmp.evalRunId).toBe(second.id);
      expect(cmp.pairs).toBe(4);
      const recall = (cmp.metrics as Json[]).find((m) => m.metric === 'recallAtK')!;
      const firstItems = await itemsOf(run.id);
      const secondItems = await itemsOf(second.id);
      const paired = firstItems.filter(
        (i, n) => i.metrics.recallAtK !== null && secondItems[n]!.metrics.recallAtK !== null,
      );
      expect(recall.n).toBe(paired.length);
      const delta =
        paired.reduce((s, i) => s + secondItems[i.index]!.metrics.recallAtK - i.metrics.recallAtK, 0) / paired.length;
      expect(recall.delta).toBeCloseTo(delta, 12);
      expect(recall.ci.low).toBeLessThanOrEqual(recall.delta);
      expect(recall.ci.high).toBeGreaterThanOrEqual(recall.delta);
      const read = await call('GET', `/v1/experiments/${e.body.id}`);
      expect(read.body.comparisons).toEqual(e.body.comparisons);
      expect((await call('GET', '/v1/experiments')).body.experiments.map((x: Json) => x.id)).toContain(e.body.id);
    });
  });
});

describe('a grounding eval (target grounding): given answers and passages, the check scored against labels', () => {
  const PASSAGE = 'The default pickle protocol in Python 3.11 is protocol 5. Protocol 5 was added in Python 3.8.';
  const CASES: DatasetItem[] = [
    {
      id: 'g-same',
      question: 'What is the default pickle protocol?',
      candidateAnswer: 'The default pickle protocol in Python 3.11 is protocol 5.',
      context: [PASSAGE],
      expectedVerdict: 'supported',
    },
    {
      id: 'g-added',
      question: 'When was protocol 5 added?',
      candidateAnswer: 'Protocol 5 was added in Python 3.8.',
      context: ['Unrelated text first.', PASSAGE],
      expectedVerdict: 'supported',
    },
    {
      id: 'g-number',
      question: 'What is the default pickle protocol?',
      candidateAnswer: 'The default pickle protocol in Python 3.11 is protocol 4.',
      context: [PASSAGE],
      expectedVerdict: 'unsupported',
    },
    {
      id: 'g-mislabelled',
      question: 'When was protocol 5 added?',
      candidateAnswer: 'Protocol 5 was added in Python 3.8.',
      context: [PASSAGE],
      // Labelled wrongly on purpose: the check passes it, so this item counts as a disagreement.
      expectedVerdict: 'unsupported',
    },
    { id: 'g-no-context', question: 'Anything?', candidateAnswer: 'Something.' },
  ];

  it('runs one grounding check per item, needs no collection, and reports the confusion', async () => {
    const ds = await call('POST', '/v1/datasets', { name: 'grounding cases', items: CASES });
    expect(ds.status, JSON.stringify(ds.body)).toBe(201);
    const started = await call('POST', '/v1/evals', {
      datasetId: ds.body.id,
      config: { target: 'grounding', collectionIds: [], groundingMethod: 'deterministic' },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const run = await finished(started.body.id);
    expect(run.status).toBe('completed');
    if (process.env.RECORD_HISTORY) {
      // Replayed by test/replay.test.ts, beside the answer eval's history.
      const handle = ctx.client.workflow.getHandle(run.workflowId as string);
      const history = JSON.parse(historyToJSON(await handle.fetchHistory())) as object;
      const file = fileURLToPath(new URL('./histories/eval-run-grounding.json', import.meta.url));
      await writeFile(file, JSON.stringify({ workflowId: handle.workflowId, ...history }, null, 2) + '\n');
    }
    const items = await itemsOf(run.id);
    expect(items.map((i) => [i.itemId, i.status])).toEqual([
      ['g-same', 'completed'],
      ['g-added', 'completed'],
      ['g-number', 'completed'],
      ['g-mislabelled', 'completed'],
      ['g-no-context', 'failed'],
    ]);
    const byId = Object.fromEntries(items.map((i) => [i.itemId, i]));
    expect(byId['g-no-context']!.error).toMatch(/candidateAnswer and at least one context passage/);
    expect(byId['g-same']!.metrics).toMatchObject({
      answered: 1,
      verdictCorrect: 1,
      groundingScore: 1,
      recallAtK: null,
    });
    expect(byId['g-added']!.metrics).toMatchObject({ answered: 1, verdictCorrect: 1 });
    expect(byId['g-number']!.metrics).toMatchObject({ answered: 0, verdictCorrect: 1 });
    expect(byId['g-number']!.verdicts.supported).toBe(0);
    expect(byId['g-mislabelled']!.metrics).toMatchObject({ answered: 1, verdictCorrect: 0 });
    // Each item is a grounding run of its own, with no answer record.
    for (const i of items.slice(0, 4)) {
      expect(i.answerId).toBeNull();
      expect(i.workflowId).toMatch(new RegExp(`^grounding:${ctx.tenant.id}:[0-9a-f-]{36}$`));
      const r = await call('GET', `/v1/runs/${encodeURIComponent(i.workflowId)}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    }
    // By hand: supported 2 of 2 found, unsupported 1 of 2 found (the mislabelled one passed).
    expect(run.aggregate.grounding).toEqual({
      n: 4,
      truePositive: 2,
      falsePositive: 1,
      trueNegative: 1,
      falseNegative: 0,
      accuracy: 0.75,
      balancedAccuracy: 0.75,
    });
    expect(run.aggregate.metrics.verdictCorrect).toEqual({ mean: 0.75, n: 4 });
    expect(run.aggregate).toMatchObject({ items: 5, completed: 4, failed: 1 });
  });

  it('an answer eval still needs a collection; a grounding field of the wrong kind is a 400', async () => {
    const none = await call('POST', '/v1/evals', { datasetId, config: { collectionIds: [] } });
    expect(none.status).toBe(400);
    expect(JSON.stringify(none.body)).toContain('collectionIds');
    const bad = await call('POST', '/v1/datasets', {
      name: 'bad',
      items: [{ question: 'q', expectedVerdict: 'maybe' }],
    });
    expect(bad.status).toBe(400);
  });
});

describe('a scheduled eval', () => {
  it('fires on its schedule and is listed with the schedule that started it', async () => {
    const s = await call('POST', '/v1/schedules', {
      name: 'nightly eval',
      job: { type: 'evalRun', datasetId, config: { collectionIds: [collectionId] } },
      spec: { intervals: [{ every: '3s' }] },
    });
    expect(s.status, JSON.stringify(s.body)).toBe(201);
    scheduleIds.push(s.body.id);
    const scheduled = await until('a scheduled eval run', async () => {
      const list = await call('GET', `/v1/evals?datasetId=${datasetId}`);
      return (list.body.evalRuns as Json[]).find((r) => r.scheduleId && r.status === 'completed');
    });
    expect(scheduled.scheduleId).toBe(s.body.temporalScheduleId);
    expect(scheduled.dataset.version).toBe(1);
    expect(scheduled.aggregate.completed).toBe(4);
    await call('DELETE', `/v1/schedules/${s.body.id}`);
  });

  it('refuses an eval job on a dataset or collection that is not there', async () => {
    const s = await call('POST', '/v1/schedules', {
      name: 'broken eval',
      job: { type: 'evalRun', datasetId: crypto.randomUUID(), config: { collectionIds: [collectionId] } },
      spec: { intervals: [{ every: '1h' }] },
    });
    expect(s.status).toBe(400);
    expect(s.body.error.code).toBe('unknown_dataset');
  });
});

describe('cancel', () => {
  it('stops a running eval: it reads canceled and keeps what it finished', async () => {
    const many = Array.from({ length: 40 }, (_, n) => ({ id: `q${n}`, question: `${ITEMS[n % 2]!.question} (${n})` }));
    const ds = await call('POST', '/v1/datasets', { name: 'many', items: many });
    expect(ds.status).toBe(201);
    const started = await call('POST', '/v1/evals', {
      datasetId: ds.body.id,
      config: { collectionIds: [collectionId] },
      concurrency: 1,
    });
    expect(started.status).toBe(202);
    await until(
      'a first item',
      async () => (await call('GET', `/v1/evals/${started.body.id}`)).body.progress.completed > 0,
    );
    const c = await call('POST', `/v1/evals/${started.body.id}/cancel`);
    expect(c.status).toBe(200);
    const done = await finished(started.body.id);
    expect(done.status).toBe('canceled');
    expect(done.progress.completed).toBeLessThan(40);
  });
});

describe('tenancy, roles and bad input', () => {
  it('another tenant sees no run, no experiment and cannot use the dataset', async () => {
    const list = await call('GET', `/v1/evals`);
    const [mine] = list.body.evalRuns as Json[];
    expect((await call('GET', `/v1/evals/${mine!.id}`, undefined, other.key)).status).toBe(404);
    expect((await call('GET', `/v1/evals/${mine!.id}/items`, undefined, other.key)).status).toBe(404);
    expect((await call('POST', `/v1/evals/${mine!.id}/cancel`, undefined, other.key)).status).toBe(404);
    expect((await call('GET', `/v1/evals`, undefined, other.key)).body.evalRuns).toEqual([]);
    const foreign = await call(
      'POST',
      '/v1/evals',
      { datasetId, config: { collectionIds: [collectionId] } },
      other.key,
    );
    expect(foreign.status).toBe(404);
    const exp = await call('POST', '/v1/experiments', { evalRunIds: [mine!.id, mine!.id] }, other.key);
    expect(exp.status).toBe(400);
  });

  it('viewers read but do not start', async () => {
    expect((await call('GET', '/v1/evals', undefined, viewerKey)).status).toBe(200);
    const r = await call('POST', '/v1/evals', { datasetId, config: { collectionIds: [collectionId] } }, viewerKey);
    expect(r.status).toBe(403);
  });

  it('bad bodies are 400s naming the field', async () => {
    for (const body of [
      {},
      { datasetId },
      { datasetId, config: { collectionIds: [] } },
      { datasetId, config: { collectionIds: [collectionId], topK: 0 } },
      { datasetId, config: { collectionIds: [collectionId], prompts: { nope: 1 } } },
      { datasetId, config: { collectionIds: [collectionId] }, concurrency: 99 },
    ]) {
      const r = await call('POST', '/v1/evals', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBeTruthy();
    }
    const unknownLabel = await call('POST', '/v1/evals', {
      datasetId,
      config: { collectionIds: [collectionId], prompts: { answer: 'no-such-label' } },
    });
    expect(unknownLabel.status).toBe(400);
    const version = await call('POST', '/v1/evals', {
      datasetId,
      datasetVersion: 9,
      config: { collectionIds: [collectionId] },
    });
    expect(version.status).toBe(404);
    expect(version.body.error.code).toBe('dataset_not_found');
  });
});
