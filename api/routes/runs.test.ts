import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTestContext, startTestApi, type TestContext } from '../../test/harness';

let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;

afterAll(() => ctx?.close());
beforeAll(async () => {
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
  await ctx.startWorker();
});

async function selfTest(body: Record<string, unknown>, wait = true) {
  const res = await api.request('POST', `/v1/system/self-test${wait ? '?wait=true' : ''}`, {
    key: ctx.tenant.key,
    body,
  });
  expect(res.status).toBe(wait ? 200 : 202);
  return res.body!.workflowId as string;
}

interface SpanOut {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  service: string;
  attributes: Record<string, unknown>;
}

async function traceOf(workflowId: string, mustInclude: string[]): Promise<{ traceIds: string[]; spans: SpanOut[] }> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    await ctx.telemetry.spanStore!.flush();
    const res = await api.request('GET', `/v1/runs/${encodeURIComponent(workflowId)}/trace`, { key: ctx.tenant.key });
    expect(res.status).toBe(200);
    const names = (res.body!.spans as SpanOut[]).map((s) => s.name);
    if (mustInclude.every((n) => names.includes(n))) return res.body as { traceIds: string[]; spans: SpanOut[] };
    if (Date.now() > deadline) throw new Error(`trace incomplete: ${names.join(', ')}`);
    await sleep(200);
  }
}

describe('runs API', () => {
  it('lists the tenant’s runs with filters and pages them by token', async () => {
    const ids = [await selfTest({ probes: 1 }), await selfTest({ probes: 1 }), await selfTest({ probes: 1 })];
    const seen: string[] = [];
    let token: string | null = null;
    let pages = 0;
    do {
      const res = await api.request(
        'GET',
        `/v1/runs?kind=system&status=completed&pageSize=2${token ? `&pageToken=${token}` : ''}`,
        {
          key: ctx.tenant.key,
        },
      );
      expect(res.status).toBe(200);
      expect(res.body!.runs.length).toBeLessThanOrEqual(2);
      for (const r of res.body!.runs) {
        expect(r).toMatchObject({ type: 'selfTest', kind: 'system', status: 'completed' });
        seen.push(r.workflowId);
      }
      token = res.body!.nextPageToken;
      pages++;
    } while (token && pages < 10);
    expect(pages).toBeGreaterThanOrEqual(2);
    expect(seen).toEqual(expect.arrayContaining(ids));

    const byPrefix = await api.request('GET', `/v1/runs?q=${encodeURIComponent(ids[1]!)}`, { key: ctx.tenant.key });
    expect(byPrefix.body!.runs.map((r: { workflowId: string }) => r.workflowId)).toEqual([ids[1]]);
    const none = await api.request('GET', '/v1/runs?status=failed', { key: ctx.tenant.key });
    expect(none.body!.runs).toEqual([]);
  });

  it('refuses malformed filters with 400 validation_failed', async () => {
    for (const q of ['status=weird', "q=a'b", 'pageSize=0', 'from=not-a-date', 'sneaky=1']) {
      const res = await api.request('GET', `/v1/runs?${q}`, { key: ctx.tenant.key });
      expect(res.status, q).toBe(400);
      expect(res.body!.error.code).toBe('validation_failed');
    }
  });

  it('shows one run with its input, result and steps', async () => {
    const id = await selfTest({ probes: 2, note: 'hello' });
    const run = await api.request('GET', `/v1/runs/${encodeURIComponent(id)}`, { key: ctx.tenant.key });
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({
      workflowId: id,
      type: 'selfTest',
      status: 'completed',
      kind: 'system',
      pendingActivities: [],
    });
    expect(run.body!.input).toEqual([{ tenantId: ctx.tenant.id, probes: 2, holdMs: 0, note: 'hello' }]);
    expect(run.body!.result).toEqual({ probesWritten: 2, probesAlreadyPresent: 0, attempts: [1, 1] });

    await traceOf(id, ['RunActivity:writeProbe']);
    const steps = await api.request('GET', `/v1/runs/${encodeURIComponent(id)}/steps`, { key: ctx.tenant.key });
    expect(steps.body!.steps).toHaveLength(2);
    for (const step of steps.body!.steps) {
      expect(step).toMatchObject({ activityType: 'writeProbe', status: 'completed', attempts: 1 });
      expect(step.durationMs).toBeGreaterThanOrEqual(0);
      expect(step.attemptsDetail).toEqual([expect.objectContaining({ attempt: 1, status: 'ok' })]);
    }
  });

  it('has one trace from the HTTP request through the workflow into each activity, with parent links', async () => {
    const id = await selfTest({ probes: 2 });
    const { traceIds, spans } = await traceOf(id, [
      'RunWorkflow:selfTest',
      'RunActivity:writeProbe',
      'StartWorkflow:selfTest',
    ]);
    expect(traceIds).toHaveLength(1);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const ancestors = (s: SpanOut) => {
      const chain: string[] = [];
      for (
        let p = s.parentSpanId && byId.get(s.parentSpanId);
        p;
        p = p.parentSpanId ? byId.get(p.parentSpanId) : undefined
      )
        chain.push(p.name);
      return chain;
    };
    const http = spans.find((s) => s.name === 'POST /v1/system/self-test')!;
    expect(http.parentSpanId).toBeNull();
    expect(http.attributes['bc.tenant_id']).toBe(ctx.tenant.id);
    expect(http.attributes['http.response.status_code']).toBe(200);

    const workflow = spans.find((s) => s.name === 'RunWorkflow:selfTest')!;
    expect(ancestors(workflow)).toEqual(['StartWorkflow:selfTest', 'POST /v1/system/self-test']);
    expect(workflow.attributes['temporalWorkflowId']).toBe(id);

    const activities = spans.filter((s) => s.name === 'RunActivity:writeProbe');
    expect(activities).toHaveLength(2);
    for (const a of activities) {
      expect(ancestors(a)).toEqual([
        'StartActivity:writeProbe',
        'RunWorkflow:selfTest',
        'StartWorkflow:selfTest',
        'POST /v1/system/self-test',
      ]);
    }
  });

  it('cancels a running run', async () => {
    const id = await selfTest({ probes: 1, holdMs: 30_000 }, false);
    const res = await api.request('POST', `/v1/runs/${encodeURIComponent(id)}/cancel`, { key: ctx.tenant.key });
    expect(res).toEqual({ status: 202, body: { workflowId: id, status: 'cancel_requested' } });
    const deadline = Date.now() + 20_000;
    let status = '';
    while (Date.now() < deadline && status !== 'canceled') {
      status = (await api.request('GET', `/v1/runs/${encodeURIComponent(id)}`, { key: ctx.tenant.key })).body!.status;
      await sleep(200);
    }
    expect(status).toBe('canceled');
  });

  it("hides another tenant's runs: absent from its list, 404 on every route like a missing run", async () => {
    const id = await selfTest({ probes: 1 });
    const other = await ctx.addTenant('admin');
    const list = await api.request('GET', '/v1/runs', { key: other.key });
    expect(list.body!.runs).toEqual([]);
    for (const [method, suffix] of [
      ['GET', ''],
      ['GET', '/steps'],
      ['GET', '/trace'],
      ['POST', '/cancel'],
    ] as const) {
      const foreign = await api.request(method, `/v1/runs/${encodeURIComponent(id)}${suffix}`, { key: other.key });
      const missing = await api.request(method, `/v1/runs/${encodeURIComponent(`${id}-missing`)}${suffix}`, {
        key: other.key,
      });
      expect(foreign.status).toBe(404);
      expect(foreign).toEqual(missing);
    }
  });

  it('filters by every kind of the contracts: search and llm runs are listed by their kind (was a 400 for search)', async () => {
    const key = ctx.tenant.key;
    const collection = await api.request('POST', '/v1/collections', {
      key,
      body: { name: `runs-by-kind-${Date.now()}` },
    });
    expect(collection.status).toBe(201);
    const search = await api.request('POST', '/v1/search', {
      key,
      body: { query: 'durable runs', collectionIds: [collection.body!.id], mode: 'text' },
    });
    expect([200, 202]).toContain(search.status);
    // Whether or not a model is configured, the call is a run of kind llm.
    const llm = await api.request('POST', '/v1/llm/completions', {
      key,
      body: { messages: [{ role: 'user', content: 'hi' }] },
    });
    expect(llm.status).toBe(202);

    for (const [kind, workflowId] of [
      ['search', search.body!.workflowId as string],
      ['llm', llm.body!.workflowId as string],
    ] as const) {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const res = await api.request('GET', `/v1/runs?kind=${kind}`, { key });
        expect(res.status, kind).toBe(200);
        const runs = res.body!.runs as Array<{ workflowId: string; kind: string }>;
        expect(
          runs.every((r) => r.kind === kind),
          kind,
        ).toBe(true);
        if (runs.some((r) => r.workflowId === workflowId)) break;
        if (Date.now() > deadline) throw new Error(`${workflowId} is not listed under kind=${kind}`);
        await sleep(200);
      }
    }
    const system = await api.request('GET', '/v1/runs?kind=system', { key });
    expect(system.body!.runs.map((r: { workflowId: string }) => r.workflowId)).not.toContain(search.body!.workflowId);
  });
});
