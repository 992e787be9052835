import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireJaeger, startJaeger, type JaegerProcess } from '../lib/telemetry/jaeger';
import { setupTestContext, spawnApiProcess, type TestContext } from './harness';
import { startOpenAiServer, type OpenAiTestServer } from './openai-server';
import { ingestCorpus } from './rag-fixtures';
import { passageWith, scriptModel } from './scripted-model';

// The OTLP exporter against a stock receiver: the API process and the worker process, as a deployment runs them,
// with OTEL_EXPORTER_OTLP_ENDPOINT pointed at a real Jaeger on loopback. One answer run (the scripted
// OpenAI-compatible model) is then read back through Jaeger's own query API.
let jaeger: JaegerProcess;
let server: OpenAiTestServer;
let ctx: TestContext;
let api: { base: string; request: ApiRequest };
let collectionId: string;
const children: ChildProcess[] = [];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert response fields one by one
type Json = Record<string, any>;
type ApiRequest = (
  method: string,
  path: string,
  opts?: { key?: string; body?: unknown },
) => Promise<{ status: number; headers: Headers; body: Json | null }>;

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await ctx?.close();
  await server?.close();
  await jaeger?.stop();
});
beforeAll(async () => {
  // The first run on a machine builds Jaeger from the Go module proxy (about ten minutes on two cores); then cached.
  const bin = await acquireJaeger({ log: (line) => console.log(line) });
  jaeger = await startJaeger({ bin });
  server = await startOpenAiServer({ apiKey: 'sk-test' });
  const env = {
    LLM_PROVIDER: 'openai',
    OPENAI_BASE_URL: `${server.url}/v1`,
    OPENAI_API_KEY: 'sk-test',
    LLM_EMBEDDING_DIMENSIONS: '8',
    OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint,
  };
  ctx = await setupTestContext(env);
  await ctx.startWorkerProcess({ env });
  api = await startApiProcess(env);
  collectionId = await ingestCorpus(ctx, api);
}, 25 * 60_000);

/** api/server.ts on the file's Temporal queue and database; resolves once it listens. */
async function startApiProcess(env: NodeJS.ProcessEnv) {
  const api = spawnApiProcess(ctx, env);
  children.push(api.child);
  const { url: base, code } = await api.done;
  if (!base) throw new Error(`the API exited (${code}) before listening: ${api.output()}`);
  const request: ApiRequest = async (method, path, opts = {}) => {
    const res = await fetch(base + path, {
      method,
      headers: {
        ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}),
        ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Json) : null };
  };
  return { base, request };
}

/** A span as Jaeger's query API returns it (`/api/traces/<id>`, the JSON its UI reads). */
interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: Array<{ refType: string; traceID: string; spanID: string }>;
  tags: Array<{ key: string; value: unknown }>;
  processID: string;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

const tags = (s: JaegerSpan) => Object.fromEntries(s.tags.map((t) => [t.key, t.value]));
const parentOf = (s: JaegerSpan) => s.references.find((r) => r.refType === 'CHILD_OF');

async function jaegerGet<T>(path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(jaeger.queryUrl + path);
  return { status: res.status, body: (await res.json()) as T };
}

/**
 * The trace once `complete` holds for it. The processes export in batches (the SDK's BatchSpanProcessor, every 5 s),
 * so spans arrive in a few pieces; the wait is bounded and a timeout shows what had arrived.
 */
async function traceFromJaeger(traceId: string, complete: (t: JaegerTrace) => boolean, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last: JaegerTrace | undefined;
  for (;;) {
    const res = await jaegerGet<{ data: JaegerTrace[] | null }>(`/api/traces/${traceId}`);
    last = res.status === 200 ? res.body.data?.[0] : undefined;
    if (last && complete(last)) return last;
    if (Date.now() > deadline) {
      const ids = new Set(last?.spans.map((s) => s.spanID));
      const orphans = last?.spans.filter((s) => parentOf(s) && !ids.has(parentOf(s)!.spanID)).length ?? 0;
      const names = last?.spans.map((s) => s.operationName).join(', ') ?? 'nothing';
      throw new Error(
        `trace ${traceId} incomplete in Jaeger after ${timeoutMs} ms (${orphans} spans without their parent): ${names}`,
      );
    }
    await sleep(500);
  }
}

const PROTOCOL = 'default pickle protocol';

describe('telemetry to a stock OTLP receiver (Jaeger)', () => {
  it("an answer run's spans arrive in Jaeger as one trace, linked parent to child, with GenAI attributes", async () => {
    scriptModel(server, {
      generate: [(r) => `The default pickle protocol in Python 3.11 is protocol 5 [${passageWith(r, PROTOCOL)}].`],
    });
    const res = await api.request('POST', '/v1/answers?wait=true', {
      key: ctx.tenant.key,
      body: { question: 'What is the default pickle protocol?', collectionIds: [collectionId] },
    });
    expect(res.status).toBe(200);
    const answer = res.body!;
    expect(answer.status).toBe('answered');
    const usage = answer.result.usage as { inputTokens: number; outputTokens: number; calls: number };
    expect(usage.calls).toBeGreaterThanOrEqual(4); // embedding, rerank, generation, judge
    const traceId = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(res.headers.get('traceparent') ?? '')?.[1];
    expect(traceId).toBeDefined();

    const isLlm = (s: JaegerSpan) => 'gen_ai.operation.name' in tags(s);
    const trace = await traceFromJaeger(traceId!, (t) => {
      const ids = new Set(t.spans.map((s) => s.spanID));
      return (
        t.spans.some((s) => s.operationName === 'RunWorkflow:answer') &&
        t.spans.filter(isLlm).length >= usage.calls &&
        t.spans.every((s) => !parentOf(s) || ids.has(parentOf(s)!.spanID))
      );
    });

    // Both processes' spans, under the service names they start their SDK with (api/server.ts, workers/main.ts).
    const serviceOf = (s: JaegerSpan) => trace.processes[s.processID]!.serviceName;
    expect(new Set(Object.values(trace.processes).map((p) => p.serviceName))).toEqual(
      new Set(['beyondcloud-api', 'beyondcloud-worker']),
    );
    const services = await jaegerGet<{ data: string[] }>('/api/services');
    expect(services.body.data).toEqual(expect.arrayContaining(['beyondcloud-api', 'beyondcloud-worker']));

    // One trace: every span carries its id, and one root, the API's request span; every other span's parent is in it.
    const byId = new Map(trace.spans.map((s) => [s.spanID, s]));
    expect(trace.spans.every((s) => s.traceID === traceId)).toBe(true);
    const roots = trace.spans.filter((s) => !parentOf(s));
    expect(roots.map((s) => s.operationName)).toEqual(['POST /v1/answers']);
    const root = roots[0]!;
    expect(serviceOf(root)).toBe('beyondcloud-api');
    expect(tags(root)).toMatchObject({
      'span.kind': 'server',
      'http.request.method': 'POST',
      'http.route': '/v1/answers',
      'http.response.status_code': 200,
      'bc.tenant_id': ctx.tenant.id,
    });
    for (const s of trace.spans) {
      const ref = parentOf(s);
      if (ref) expect(byId.has(ref.spanID), `parent of ${s.operationName}`).toBe(true);
      if (ref) expect(ref.traceID).toBe(traceId);
    }
    const parentName = (s: JaegerSpan) => byId.get(parentOf(s)!.spanID)!.operationName;

    // HTTP -> StartWorkflow (API) -> RunWorkflow (worker) -> StartActivity -> RunActivity -> the model call.
    const start = trace.spans.filter((s) => s.operationName === 'StartWorkflow:answer');
    expect(start).toHaveLength(1);
    expect(parentName(start[0]!)).toBe('POST /v1/answers');
    expect(serviceOf(start[0]!)).toBe('beyondcloud-api');
    const workflow = trace.spans.filter((s) => s.operationName === 'RunWorkflow:answer');
    expect(workflow).toHaveLength(1);
    expect(parentOf(workflow[0]!)!.spanID).toBe(start[0]!.spanID);
    expect(serviceOf(workflow[0]!)).toBe('beyondcloud-worker');
    expect(tags(workflow[0]!)).toMatchObject({
      temporalWorkflowId: answer.workflowId,
      'bc.tenant_id': ctx.tenant.id,
    });
    const startActivities = trace.spans.filter((s) => s.operationName.startsWith('StartActivity:'));
    const runActivities = trace.spans.filter((s) => s.operationName.startsWith('RunActivity:'));
    const activityNames = new Set(runActivities.map((s) => s.operationName));
    expect([...activityNames]).toEqual(
      expect.arrayContaining(
        ['retrieveForQuestion', 'rerankContext', 'generateAnswer', 'groundAnswer', 'completeAnswer'].map(
          (a) => `RunActivity:${a}`,
        ),
      ),
    );
    expect(runActivities).toHaveLength(startActivities.length);
    for (const s of startActivities) expect(parentName(s)).toBe('RunWorkflow:answer');
    for (const s of runActivities) {
      expect(parentName(s)).toBe(s.operationName.replace('RunActivity:', 'StartActivity:'));
      expect(serviceOf(s)).toBe('beyondcloud-worker');
    }

    // The LLM gateway's spans: GenAI semantic-convention attributes, one per model call the answer counted.
    const llm = trace.spans.filter(isLlm);
    expect(llm).toHaveLength(usage.calls);
    for (const s of llm) {
      const t = tags(s);
      expect(serviceOf(s)).toBe('beyondcloud-worker');
      expect(parentName(s)).toMatch(/^RunActivity:/);
      expect(t).toMatchObject({
        'span.kind': 'client',
        'gen_ai.system': 'openai',
        'bc.tenant_id': ctx.tenant.id,
        temporalWorkflowId: answer.workflowId,
      });
      expect(s.operationName).toBe(`${String(t['gen_ai.operation.name'])} ${String(t['gen_ai.request.model'])}`);
      expect(t['gen_ai.response.model']).toBe(t['gen_ai.request.model']);
      expect(t['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    }
    // Each call under the activity that made it, with the configured models (the openai provider's defaults).
    const made = llm.map((s) => `${parentName(s)} ${s.operationName} ${String(tags(s)['bc.llm.purpose'])}`);
    expect(made).toEqual(
      expect.arrayContaining([
        'RunActivity:retrieveForQuestion embeddings text-embedding-3-small embedding',
        'RunActivity:generateAnswer chat gpt-4o-mini answer',
        'RunActivity:groundAnswer chat gpt-4o-mini judge',
      ]),
    );
    // The tokens on the spans are the ones the answer was billed for.
    const sum = (key: string) => llm.reduce((n, s) => n + Number(tags(s)[key] ?? 0), 0);
    expect(sum('gen_ai.usage.input_tokens')).toBe(usage.inputTokens);
    expect(sum('gen_ai.usage.output_tokens')).toBe(usage.outputTokens);
  });
});
