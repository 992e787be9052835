import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpanEntity } from '../lib/db/entities';
import { ATTR } from '../lib/telemetry/attributes';
import { setupTestContext, startTestApi, type TestContext } from './harness';

/** Tracing as an attack surface: what a caller can put into spans, trace headers and workflow histories. */

let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;

afterAll(() => ctx?.close());
beforeAll(async () => {
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
  await ctx.startWorker();
});

interface SpanOut {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  attributes: Record<string, unknown>;
}

async function call(
  method: string,
  path: string,
  key: string,
  opts: { body?: unknown; headers?: Record<string, string> } = {},
) {
  const res = await fetch(api.base + path, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...opts.headers },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert response fields one by one
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, any>) : null };
}

async function selfTest(key: string, headers: Record<string, string> = {}) {
  const res = await call('POST', '/v1/system/self-test?wait=true', key, { body: { probes: 1 }, headers });
  expect(res.status).toBe(200);
  const traceparent = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(res.headers.get('traceparent') ?? '');
  expect(traceparent).not.toBeNull();
  return { workflowId: res.body!.workflowId as string, traceId: traceparent![1]!, spanId: traceparent![2]! };
}

const wanted = [
  'POST /v1/system/self-test',
  'StartWorkflow:selfTest',
  'RunWorkflow:selfTest',
  'RunActivity:writeProbe',
];

/** The run's trace once the spans named are all stored (they reach Postgres in batches). */
async function traceOf(key: string, workflowId: string, mustInclude = wanted, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await ctx.telemetry.spanStore!.flush();
    const res = await call('GET', `/v1/runs/${encodeURIComponent(workflowId)}/trace`, key);
    expect(res.status).toBe(200);
    const body = res.body as { traceIds: string[]; spans: SpanOut[] };
    const names = body.spans.map((s) => s.name);
    if (mustInclude.every((n) => names.includes(n))) return body;
    if (Date.now() > deadline) throw new Error(`trace incomplete: ${names.join(', ')}`);
    await sleep(200);
  }
}

describe('tracing under hostile input', () => {
  it('a NUL byte in a request or a span, or a span the database refuses, never stops the spans of other tenants', async () => {
    const store = ctx.telemetry.spanStore!;
    const attacker = await ctx.addTenant('admin');
    // The requests the probe sent. The API may refuse them at the door; their spans are written either way.
    const probe = await call('GET', '/v1/runs/selftest%00x', attacker.key);
    expect(probe.status).toBeLessThan(500);
    const noted = await call('POST', '/v1/system/self-test', attacker.key, { body: { probes: 1, note: 'a\u0000b' } });
    expect([202, 400]).toContain(noted.status);
    if (noted.status === 202)
      ctx.onClose(() => ctx.client.workflow.getHandle(noted.body!.workflowId as string).terminate());
    // Whatever check a route has, a span can carry caller text (an error message, an id): one with a NUL and a lone
    // surrogate, and one the database refuses for a reason nobody foresaw (its kind does not fit the column).
    const tag = `poison-${randomBytes(4).toString('hex')}`;
    const tracer = trace.getTracer('security-test');
    const nul = tracer.startSpan(`${tag}\u0000`, {
      attributes: { [ATTR.tenantId]: attacker.id, 'url.path': '/v1/runs/selftest\u0000x\uD800' },
    });
    nul.setStatus({ code: SpanStatusCode.ERROR, message: 'workflow id selftest\u0000x' });
    nul.end();
    const refused = tracer.startSpan(`${tag}-refused`);
    refused.end();
    const rejectedBefore = store.stats.rejected;
    store.onEnd(
      new Proxy(refused as unknown as ReadableSpan, { get: (t, p) => (p === 'kind' ? 70_000 : Reflect.get(t, p)) }),
    );
    await store.flush();

    const stored = await ctx.orm.em
      .getConnection()
      .execute(`select tenant_id, attributes->>'url.path' as path, status_message from spans where name = ?`, [
        `${tag}\uFFFD`,
      ]);
    expect(stored).toEqual([
      { tenant_id: attacker.id, path: '/v1/runs/selftest\uFFFDx\uFFFD', status_message: 'workflow id selftest\uFFFDx' },
    ]);
    expect(store.stats.rejected).toBe(rejectedBefore + 1);

    // Another tenant's next run is traced end to end.
    const run = await selfTest(ctx.tenant.key);
    const traced = await traceOf(ctx.tenant.key, run.workflowId);
    expect(traced.traceIds).toEqual([run.traceId]);
    expect(store.queued).toBeLessThan(50);
  });

  it("a caller's traceparent naming another tenant's trace is only linked: the run's trace shows none of that tenant's spans", async () => {
    const victim = await selfTest(ctx.tenant.key);
    await traceOf(ctx.tenant.key, victim.workflowId);
    const attacker = await ctx.addTenant('admin');

    const run = await selfTest(attacker.key, { traceparent: `00-${victim.traceId}-${victim.spanId}-01` });
    expect(run.traceId).not.toBe(victim.traceId);
    const trace = await traceOf(attacker.key, run.workflowId);
    expect(trace.traceIds).toEqual([run.traceId]);
    for (const s of trace.spans) {
      expect(s.traceId).toBe(run.traceId);
      expect(JSON.stringify(s.attributes)).not.toContain(victim.workflowId);
    }
    const http = trace.spans.find((s) => s.name === 'POST /v1/system/self-test')!;
    expect(http.parentSpanId).toBeNull();
    expect(http.attributes).toMatchObject({
      'bc.caller.trace_id': victim.traceId,
      'bc.caller.span_id': victim.spanId,
      'bc.tenant_id': attacker.id,
    });
  });

  it("hides another tenant's spans in a trace both touched, also the unlabelled client and activity spans under them", async () => {
    const tenant = await ctx.addTenant('admin');
    const victim = await ctx.addTenant('admin');
    const run = await selfTest(tenant.key);
    const before = await traceOf(tenant.key, run.workflowId);
    // What a trace joined through a forged traceparent (before it was only linked) holds: the victim's request span,
    // its unlabelled client and activity spans, and an activity span whose labelled parent was never stored.
    const id = () => randomBytes(8).toString('hex');
    const [request, client, activity, orphan] = [id(), id(), id(), id()];
    const span = (spanId: string, parentSpanId: string | null, name: string, tenantId: string | null) => ({
      traceId: run.traceId,
      spanId,
      parentSpanId,
      tenantId,
      name,
      kind: 1,
      service: 'beyondcloud-api',
      startTime: new Date(),
      endTime: new Date(),
      durationMs: 1,
      statusCode: 0,
      statusMessage: null,
      attributes: { temporalWorkflowId: 'victim-workflow' },
      events: [],
      workflowId: 'victim-workflow',
      runId: null,
    });
    await ctx.orm.em
      .fork()
      .createQueryBuilder(SpanEntity)
      .insert([
        span(request, null, 'POST /victim', victim.id),
        span(client, request, 'StartWorkflow:victim', null),
        span(activity, client, 'RunActivity:victim', null),
        span(orphan, id(), 'RunActivity:victim-orphan', null),
      ])
      .execute('run');

    const after = await traceOf(tenant.key, run.workflowId);
    expect(after.spans.map((s) => s.name).filter((n) => n.includes('victim'))).toEqual([]);
    expect(after.spans.map((s) => s.spanId)).toEqual(expect.arrayContaining(before.spans.map((s) => s.spanId)));
  });

  it("follows a caller's traceparent into the caller's trace only when the caller's span is the same tenant's", async () => {
    const tenant = await ctx.addTenant('admin');
    const first = await call('GET', '/v1/system/me', tenant.key);
    const [, callerTrace, callerSpan] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(
      first.headers.get('traceparent')!,
    )!;
    const run = await selfTest(tenant.key, { traceparent: `00-${callerTrace}-${callerSpan}-01` });
    const trace = await traceOf(tenant.key, run.workflowId, [...wanted, 'GET /v1/system/me']);
    expect(trace.traceIds).toEqual([run.traceId, callerTrace]);
    // Another tenant naming the same caller span gets its own trace only.
    const other = await ctx.addTenant('admin');
    const foreign = await selfTest(other.key, { traceparent: `00-${callerTrace}-${callerSpan}-01` });
    const foreignTrace = await traceOf(other.key, foreign.workflowId);
    expect(foreignTrace.traceIds).toEqual([foreign.traceId]);
    expect(foreignTrace.spans.map((s) => s.name)).not.toContain('GET /v1/system/me');
  });

  it("never writes a caller's baggage into the workflow's history", async () => {
    const run = await selfTest(ctx.tenant.key, {
      traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`,
      baggage: 'secret=x,tenant=other',
    });
    const history = await ctx.client.workflow.getHandle(run.workflowId).fetchHistory();
    const bytes = Buffer.from(temporal.api.history.v1.History.encode(history).finish()).toString('latin1');
    expect(bytes).toContain('traceparent'); // the tracing header is there, so this reads the right place
    expect(bytes).toContain(run.traceId);
    expect(bytes).not.toContain('secret=x');
    expect(bytes).not.toContain('baggage');
  });
});
