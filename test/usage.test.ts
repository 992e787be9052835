import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEARCH_ATTRIBUTES } from '../lib/contracts';
import { setupTestContext, startTestApi, type TestContext } from './harness';
import { startOpenAiServer, type OpenAiTestServer } from './openai-server';
import { ingestCorpus } from './rag-fixtures';
import { platformAdminKey } from './session-client';
import { passageWith, scriptModel } from './scripted-model';

// Usage and cost (/v1/usage/...) against the real stack: an ingest, an answer and a model call that fails once and
// then succeeds, all through the scripted OpenAI-compatible model; the expected numbers are read back from the
// llm_calls rows and from Temporal's run list, never written down. A second part inserts rows of its own, 30 days
// back, where each number can be worked out by hand.

let server: OpenAiTestServer;
let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let operator: { id: string; key: string };
let completionWorkflowId: string;
const started = new Date(Date.now() - 60_000);
let range: { from: string; to: string };

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- API answers, read field by field

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
  const created = await api.request('POST', '/v1/keys', {
    key: ctx.tenant.key,
    body: { name: 'usage-operator', role: 'operator' },
  });
  expect(created.status).toBe(201);
  operator = { id: created.body!.id as string, key: created.body!.key as string };

  // Embeddings (ingest), then rerank, generation and judge calls (answer), with the tenant's admin key.
  const collectionId = await ingestCorpus(ctx, api);
  scriptModel(server, {
    generate: [
      (r) => `The default pickle protocol in Python 3.11 is protocol 5 [${passageWith(r, 'default pickle protocol')}].`,
    ],
  });
  const answer = await api.request('POST', '/v1/answers?wait=true', {
    key: ctx.tenant.key,
    body: { question: 'What is the default pickle protocol?', collectionIds: [collectionId] },
  });
  expect(answer.body!.status).toBe('answered');

  // A model call that fails once (a failed attempt) and succeeds on the retry, started with the operator's key.
  server.chat.clear();
  server.chat.enqueue(
    { status: 500 },
    { reply: { content: 'hello', usage: { prompt_tokens: 1000, completion_tokens: 500 } } },
  );
  const completion = await api.request('POST', '/v1/llm/completions?wait=true', {
    key: operator.key,
    body: { messages: [{ role: 'user', content: 'Say hi' }] },
  });
  expect(completion.status).toBe(200);
  completionWorkflowId = completion.body!.workflowId as string;
  range = { from: started.toISOString(), to: new Date(Date.now() + 60_000).toISOString() };
});

const get = async (path: string, key = ctx.tenant.key) => {
  const res = await api.request('GET', path, { key });
  return res as { status: number; body: Json };
};
const qs = (params: Record<string, string>) => new URLSearchParams(params).toString();

interface CallRow {
  workflow_id: string | null;
  model: string;
  input_tokens: number;
  output_tokens: number;
  cost_usd: string;
  outcome: string;
  attempt: number | null;
}
const callsIn = async (tenantId: string, from: string, to: string) =>
  (await ctx.orm.em
    .getConnection()
    .execute(
      'select workflow_id, model, input_tokens, output_tokens, cost_usd, outcome, attempt from llm_calls where tenant_id = ? and created_at >= ? and created_at < ?',
      [tenantId, new Date(from), new Date(to)],
    )) as CallRow[];

const sum = (rows: CallRow[]) => ({
  calls: rows.length,
  inputTokens: rows.reduce((n, r) => n + r.input_tokens, 0),
  outputTokens: rows.reduce((n, r) => n + r.output_tokens, 0),
  costUsd: rows.reduce((n, r) => n + Number(r.cost_usd), 0),
});
const expectTotals = (actual: Json, expected: ReturnType<typeof sum>) => {
  expect({ ...actual, costUsd: undefined }).toEqual({ ...expected, costUsd: undefined });
  expect(actual.costUsd).toBeCloseTo(expected.costUsd, 8);
};
const groupBy = <T>(rows: T[], key: (r: T) => string) => {
  const groups = new Map<string, T[]>();
  for (const r of rows) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  return groups;
};
const KIND_OF_PREFIX: Record<string, string> = { ingest: 'ingest', answer: 'answer', completion: 'llm' };

const cli = (args: string[]) =>
  new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'bin/cli.ts', ...args],
      {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        env: { ...process.env, BC_API_URL: api.base, BC_API_KEY: ctx.tenant.key },
      },
      (err, stdout, stderr) => resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 }),
    );
  });

describe('usage of real runs', () => {
  it('sums tokens and cost, with failed and retried attempts apart, as the llm_calls rows have them', async () => {
    const rows = await callsIn(ctx.tenant.id, range.from, range.to);
    const res = await get(`/v1/usage/summary?${qs(range)}`);
    expect(res.status).toBe(200);
    const s = res.body;
    expect(s).toMatchObject({ from: range.from, to: range.to });
    expectTotals(s.totals, sum(rows));
    const failed = rows.filter((r) => r.outcome !== 'ok');
    const retries = rows.filter((r) => (r.attempt ?? 1) > 1);
    expect(failed.length).toBeGreaterThanOrEqual(1); // the 500
    expect(retries.length).toBeGreaterThanOrEqual(1); // its retry
    expectTotals(s.failed, sum(failed));
    expectTotals(s.retries, sum(retries));
    expect(s.errorRate).toBeCloseTo(failed.length / rows.length, 5);
    expect(s.retryRate).toBeCloseTo(retries.length / rows.length, 5);

    const byModel = groupBy(rows, (r) => r.model);
    expect(s.byModel.map((m: Json) => m.key).sort()).toEqual([...byModel.keys()].sort());
    for (const m of s.byModel as Json[]) {
      const { key, label, failedCalls, failedCostUsd, ...totals } = m;
      expect(label).toBe(key);
      expectTotals(totals, sum(byModel.get(key as string)!));
      expect(failedCalls).toBe(byModel.get(key as string)!.filter((r) => r.outcome !== 'ok').length);
      expect(failedCostUsd).toBeGreaterThanOrEqual(0);
    }
    const byKind = groupBy(rows, (r) => KIND_OF_PREFIX[r.workflow_id!.split(':')[0]!]!);
    expect(s.byKind.map((k: Json) => k.key).sort()).toEqual(['answer', 'ingest', 'llm']);
    for (const k of s.byKind as Json[]) expect(k.calls).toBe(byKind.get(k.key as string)!.length);
  });

  it('splits tokens and cost over time by model and by run kind', async () => {
    const rows = await callsIn(ctx.tenant.id, range.from, range.to);
    const byModel = (await get(`/v1/usage/timeseries?${qs({ ...range, bucket: 'hour', groupBy: 'model' })}`)).body;
    expect(byModel).toMatchObject({ bucket: 'hour', groupBy: 'model' });
    // Every hour the range touches, whether or not it had calls.
    const firstHour = new Date(range.from);
    firstHour.setUTCMinutes(0, 0, 0);
    expect(byModel.buckets[0]).toBe(firstHour.toISOString());
    expect(byModel.buckets).toHaveLength(Math.ceil((Date.parse(range.to) - firstHour.getTime()) / 3_600_000));
    const models = groupBy(rows, (r) => r.model);
    expect(byModel.groups.map((g: Json) => g.key).sort()).toEqual([...models.keys()].sort());
    for (const g of byModel.groups as Json[]) {
      const expected = sum(models.get(g.key as string)!);
      for (const field of ['inputTokens', 'outputTokens', 'costUsd', 'calls'] as const) {
        expect(g[field]).toHaveLength(byModel.buckets.length);
        expect((g[field] as number[]).reduce((a, b) => a + b, 0)).toBeCloseTo(expected[field], 8);
      }
      expectTotals(g.totals, expected);
    }
    // Costliest first.
    const costs = byModel.groups.map((g: Json) => g.totals.costUsd as number);
    expect(costs).toEqual([...costs].sort((a, b) => b - a));

    const byKind = (await get(`/v1/usage/timeseries?${qs({ ...range, groupBy: 'kind' })}`)).body;
    expect(byKind.bucket).toBe('hour'); // the default for a range this short
    const kinds = groupBy(rows, (r) => KIND_OF_PREFIX[r.workflow_id!.split(':')[0]!]!);
    expect(byKind.groups.map((g: Json) => g.key).sort()).toEqual([...kinds.keys()].sort());
    for (const g of byKind.groups as Json[]) expectTotals(g.totals, sum(kinds.get(g.key as string)!));
  });

  it('attributes calls to the key that started their run (through the audit log and the run’s trace)', async () => {
    const rows = await callsIn(ctx.tenant.id, range.from, range.to);
    const [admin] = (await ctx.orm.em
      .getConnection()
      .execute(`select id from api_keys where tenant_id = ? and name = 'test'`, [ctx.tenant.id])) as Array<{
      id: string;
    }>;
    // Spans reach Postgres in batches: wait until every run is attributed.
    let res: Json = {};
    for (const deadline = Date.now() + 30_000; ;) {
      res = (await get(`/v1/usage/timeseries?${qs({ ...range, groupBy: 'key' })}`)).body;
      if (!res.groups.some((g: Json) => g.key === 'unattributed') || Date.now() > deadline) break;
      await sleep(500);
    }
    const byKey = Object.fromEntries((res.groups as Json[]).map((g) => [g.key, g]));
    expect(Object.keys(byKey).sort()).toEqual([`key:${admin!.id}`, `key:${operator.id}`].sort());
    const completionRows = rows.filter((r) => r.workflow_id === completionWorkflowId);
    expectTotals(byKey[`key:${operator.id}`].totals, sum(completionRows));
    expectTotals(byKey[`key:${admin!.id}`].totals, sum(rows.filter((r) => r.workflow_id !== completionWorkflowId)));
    expect(byKey[`key:${operator.id}`].label).toContain('usage-operator');
  });

  it('reports run durations per kind from Temporal and model-call latency per model from the rows', async () => {
    const res = await get(`/v1/usage/latency?${qs(range)}`);
    expect(res.status).toBe(200);
    const durations = new Map<string, number[]>();
    for await (const run of ctx.client.workflow.list({ query: `TenantId = '${ctx.tenant.id}'` })) {
      if (!run.closeTime || run.startTime < started) continue;
      const kind = run.typedSearchAttributes.get(SEARCH_ATTRIBUTES.RunKind) ?? 'other';
      durations.set(kind, [...(durations.get(kind) ?? []), run.closeTime.getTime() - run.startTime.getTime()]);
    }
    const median = (values: number[]) => {
      const s = [...values].sort((a, b) => a - b);
      const mid = (s.length - 1) / 2;
      return (s[Math.floor(mid)]! + s[Math.ceil(mid)]!) / 2;
    };
    const { runs, llm } = res.body;
    expect(runs.truncated).toBe(false);
    expect(runs.kinds.map((k: Json) => k.kind).sort()).toEqual([...durations.keys()].sort());
    for (const k of runs.kinds as Json[]) {
      const d = durations.get(k.kind as string)!;
      expect(k.count).toBe(d.length);
      expect(k.p50Ms).toBeCloseTo(median(d), 5);
      expect(k.maxMs).toBe(Math.max(...d));
      expect(k.p95Ms).toBeGreaterThanOrEqual(k.p50Ms as number);
      expect(k.histogram).toHaveLength(runs.bucketsMs.length + 1);
      expect((k.histogram as number[]).reduce((a, b) => a + b, 0)).toBe(d.length);
      expect(k.errorRate).toBe(0);
    }

    const expected = (await ctx.orm.em.getConnection().execute(
      `select model, count(*)::int as calls,
         percentile_cont(0.5) within group (order by latency_ms) as p50,
         percentile_cont(0.95) within group (order by latency_ms) as p95
       from llm_calls where tenant_id = ? and created_at >= ? and created_at < ? and outcome = 'ok' group by model`,
      [ctx.tenant.id, new Date(range.from), new Date(range.to)],
    )) as Array<{ model: string; calls: number; p50: number; p95: number }>;
    expect(llm.models.map((m: Json) => m.model).sort()).toEqual(expected.map((e) => e.model).sort());
    for (const e of expected) {
      const m = (llm.models as Json[]).find((x) => x.model === e.model)!;
      expect(m).toMatchObject({ calls: e.calls, provider: 'openai' });
      expect(m.p50Ms).toBeCloseTo(Number(e.p50), 5);
      expect(m.p95Ms).toBeCloseTo(Number(e.p95), 5);
    }
  });

  it('shows another tenant nothing of this one: zeros, no groups, no runs', async () => {
    const other = await ctx.addTenant('viewer');
    const s = (await get(`/v1/usage/summary?${qs(range)}`, other.key)).body;
    const zero = { calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
    expect(s).toMatchObject({ totals: zero, failed: zero, superseded: zero, retries: zero, byModel: [], byKind: [] });
    expect(s).toMatchObject({ errorRate: 0, retryRate: 0, wastedCostUsd: 0 });
    for (const by of ['model', 'key', 'kind']) {
      const t = (await get(`/v1/usage/timeseries?${qs({ ...range, groupBy: by })}`, other.key)).body;
      expect(t.groups).toEqual([]);
      expect(t.buckets.length).toBeGreaterThan(0);
    }
    const l = (await get(`/v1/usage/latency?${qs(range)}`, other.key)).body;
    expect(l.runs).toMatchObject({ total: 0, kinds: [] });
    expect(l.llm.models).toEqual([]);
  });

  it('lets only a platform admin read another tenant’s usage (tenantId=), as the audit log does', async () => {
    const other = await ctx.addTenant('admin');
    for (const route of ['summary', 'timeseries', 'latency']) {
      const refused = await get(`/v1/usage/${route}?${qs({ ...range, tenantId: ctx.tenant.id })}`, other.key);
      expect(refused.status).toBe(404);
      expect(refused.body.error.code).toBe('not_found');
    }
    const platform = await platformAdminKey(ctx.orm);
    const own = (await get(`/v1/usage/summary?${qs(range)}`)).body;
    const read = await get(`/v1/usage/summary?${qs({ ...range, tenantId: ctx.tenant.id })}`, platform.key);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(own);
    const missing = await get(`/v1/usage/latency?tenantId=${crypto.randomUUID()}`, platform.key);
    expect(missing.status).toBe(404);
    const [entry] = (await ctx.orm.em
      .getConnection()
      .execute(
        `select action, target_ids from audit_log where tenant_id = ? and action = 'usage.read' order by id desc limit 1`,
        [platform.tenantId],
      )) as Array<{ action: string; target_ids: Record<string, string> }>;
    expect(entry?.target_ids).toEqual({ tenant: ctx.tenant.id });
  });
});

describe('usage of known rows', () => {
  // The start of the UTC day 30 days ago: rows at known hours of it and of the next day.
  const day = new Date(Date.now() - 30 * 86_400_000);
  day.setUTCHours(0, 0, 0, 0);
  const at = (hours: number) => new Date(day.getTime() + hours * 3_600_000);
  const window = { from: at(-24).toISOString(), to: at(48).toISOString() };

  beforeAll(async () => {
    const t = ctx.tenant.id;
    const answerRun = [`answer:${t}:known`, 'run-1', '5'];
    const completionRun = [`completion:${t}:known`, 'run-2', '1'];
    const noRun = [null, null, null];
    // model, purpose, input and output tokens, cost, latency, outcome, attempt, hour; workflow, run, activity
    const rows: Array<[string, string, number, number, number, number, string, number | null, number, unknown[]]> = [
      // A call that succeeded in an attempt whose activity then failed (the next call) and was retried: superseded.
      ['known-a', 'answer', 100, 50, 0.5, 100, 'ok', 1, 1, answerRun],
      ['known-a', 'answer', 10, 0, 0.25, 300, 'error', 1, 1, answerRun],
      ['known-a', 'answer', 100, 60, 1, 200, 'ok', 2, 2, answerRun],
      ['known-b', 'answer', 20, 20, 0.125, 400, 'ok', 1, 27, completionRun],
      ['known-b', 'embedding', 5, 0, 0, 50, 'ok', null, 28, noRun],
    ];
    for (const [model, purpose, input, output, cost, latency, outcome, attempt, hour, run] of rows)
      await ctx.orm.em.getConnection().execute(
        `insert into llm_calls (id, tenant_id, provider, model, purpose, input_tokens, output_tokens, cost_usd,
           latency_ms, outcome, error_type, attempt, created_at, workflow_id, run_id, activity_id)
         values (gen_random_uuid(), ?, 'openai', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          t,
          model,
          purpose,
          input,
          output,
          cost,
          latency,
          outcome,
          outcome === 'ok' ? null : 'llm_server_error',
          attempt,
          at(hour),
          ...run,
        ],
      );
  });

  it('counts failed, superseded and retried attempts and what they cost', async () => {
    const s = (await get(`/v1/usage/summary?${qs(window)}`)).body;
    expect(s).toMatchObject({
      totals: { calls: 5, inputTokens: 235, outputTokens: 130, costUsd: 1.875 },
      failed: { calls: 1, inputTokens: 10, outputTokens: 0, costUsd: 0.25 },
      superseded: { calls: 1, inputTokens: 100, outputTokens: 50, costUsd: 0.5 },
      retries: { calls: 1, inputTokens: 100, outputTokens: 60, costUsd: 1 },
      errorRate: 0.2,
      retryRate: 0.2,
      wastedCostUsd: 0.75,
    });
    expect(s.byKind).toEqual([
      {
        key: 'answer',
        label: 'answer',
        calls: 3,
        inputTokens: 210,
        outputTokens: 110,
        costUsd: 1.75,
        failedCalls: 1,
        failedCostUsd: 0.25,
      },
      {
        key: 'llm',
        label: 'llm',
        calls: 1,
        inputTokens: 20,
        outputTokens: 20,
        costUsd: 0.125,
        failedCalls: 0,
        failedCostUsd: 0,
      },
      {
        key: 'none',
        label: 'none',
        calls: 1,
        inputTokens: 5,
        outputTokens: 0,
        costUsd: 0,
        failedCalls: 0,
        failedCostUsd: 0,
      },
    ]);
    expect(s.byModel.map((m: Json) => [m.key, m.calls, m.costUsd])).toEqual([
      ['known-a', 3, 1.75],
      ['known-b', 2, 0.125],
    ]);
  });

  it('puts each call in its day, every day of the range listed', async () => {
    const t = (await get(`/v1/usage/timeseries?${qs({ ...window, groupBy: 'model' })}`)).body;
    expect(t.bucket).toBe('day'); // the default beyond two days
    expect(t.buckets).toEqual([at(-24), at(0), at(24)].map((d) => d.toISOString()));
    expect(t.groups.map((g: Json) => [g.key, g.costUsd, g.calls, g.failedCalls, g.inputTokens])).toEqual([
      ['known-a', [0, 1.75, 0], [0, 3, 0], [0, 1, 0], [0, 210, 0]],
      ['known-b', [0, 0, 0.125], [0, 0, 2], [0, 0, 0], [0, 0, 25]],
    ]);
    const hourly = (await get(`/v1/usage/timeseries?${qs({ ...window, bucket: 'hour', groupBy: 'purpose' })}`)).body;
    expect(hourly.buckets).toHaveLength(72);
    const embedding = (hourly.groups as Json[]).find((g) => g.key === 'embedding')!;
    expect(embedding.calls[24 + 28]).toBe(1);
    // Runs without a recorded start (these rows have no spans or audit entry) are "not attributed".
    const byKey = (await get(`/v1/usage/timeseries?${qs({ ...window, groupBy: 'key' })}`)).body;
    expect(byKey.groups.map((g: Json) => [g.key, g.totals.calls])).toEqual([['unattributed', 5]]);
  });

  it('prints the same from the CLI: totals, failed cost apart, per model and per run kind', async () => {
    const out = await cli(['usage', '--from', window.from, '--to', window.to]);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`Usage from ${window.from} to ${window.to}`);
    expect(out.stdout).toMatch(/model calls +5 \(235 input \+ 130 output tokens\)/);
    expect(out.stdout).toMatch(/failed attempts +1 \(20\.0%\), cost \$0\.2500/);
    expect(out.stdout).toMatch(/wasted +\$0\.7500/);
    expect(out.stdout).toMatch(/^known-a +3 +210 +110 +\$1\.7500 +1 +\$0\.2500$/m);
    expect(out.stdout).toMatch(/^answer +3 +210 +110 +\$1\.7500 +1 +\$0\.2500$/m);
    expect(out.stdout).toMatch(/^known-b +openai +2 +225 ms +383 ms$/m);
    const json = JSON.parse((await cli(['usage', '--from', window.from, '--to', window.to, '--json'])).stdout);
    expect(json.summary).toEqual((await get(`/v1/usage/summary?${qs(window)}`)).body);
    const bad = await cli(['usage', '--range', '2w']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--range is one of 24h, 7d, 30d');
  });

  it('gives p50 and p95 of successful calls per model as percentile_cont does', async () => {
    const l = (await get(`/v1/usage/latency?${qs(window)}`)).body;
    expect(l.llm.models).toEqual([
      { model: 'known-a', provider: 'openai', calls: 2, p50Ms: 150, p95Ms: 195 },
      { model: 'known-b', provider: 'openai', calls: 2, p50Ms: 225, p95Ms: 382.5 },
    ]);
  });
});

describe('usage query parameters', () => {
  it('defaults to the last 7 days', async () => {
    const res = await get('/v1/usage/summary');
    expect(res.status).toBe(200);
    expect(Date.parse(res.body.to) - Date.parse(res.body.from)).toBe(7 * 86_400_000);
    expect(Math.abs(Date.parse(res.body.to) - Date.now())).toBeLessThan(60_000);
    const t = (await get('/v1/usage/timeseries')).body;
    expect(t).toMatchObject({ bucket: 'day', groupBy: 'model' });
    expect(t.buckets).toHaveLength(8); // 7 days that start and end mid-day touch 8 UTC days
  });

  it.each([
    ['summary', { from: 'yesterday' }, 'from'],
    ['summary', { from: '2026-02-30' }, 'from'],
    ['summary', { from: '2026-12-02T00:00:00Z', to: '2026-12-01T00:00:00Z' }, 'from'],
    ['latency', { from: '2025-01-01', to: '2026-12-01' }, 'to'],
    ['timeseries', { groupBy: 'tenant' }, 'groupBy'],
    ['timeseries', { bucket: 'minute' }, 'bucket'],
    ['timeseries', { from: '2026-10-01', to: '2026-12-01', bucket: 'hour' }, 'bucket'],
    ['summary', { kind: 'answer' }, ''],
    ['summary', { tenantId: 'not-a-uuid' }, 'tenantId'],
  ])('refuses %s with %j: 400 naming %s', async (route, params, field) => {
    const res = await get(`/v1/usage/${route}?${qs(params as Record<string, string>)}`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    if (field) expect(res.body.error.details.map((d: Json) => d.path[0])).toContain(field);
  });
});
