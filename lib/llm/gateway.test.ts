import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAiServer, type OpenAiTestServer } from '../../test/openai-server';
import { setupTestContext, type TestContext } from '../../test/harness';
import { SEARCH_ATTRIBUTES, workflowIds } from '../contracts';
import { createLlmGateway, LlmGateway } from './index';
import { DEFAULT_PRICES } from './prices';
import { OpenAiProvider } from './providers/openai';

const CANARY = `sk-canary-${crypto.randomUUID()}`;
let server: OpenAiTestServer;
let ctx: TestContext;

afterAll(() => ctx?.close());
beforeAll(async () => {
  server = await startOpenAiServer({ apiKey: CANARY });
  ctx = await setupTestContext({
    OPENAI_BASE_URL: `${server.url}/v1`,
    OPENAI_API_KEY: CANARY,
    LLM_MODEL_ANSWER: 'gpt-4o-mini',
  });
  await ctx.startWorker();
});
afterAll(() => server?.close());

interface CallRow {
  attempt: number;
  outcome: string;
  error_type: string | null;
  input_tokens: number;
  output_tokens: number;
  cost_usd: string;
  provider: string;
  model: string;
  activity_id: string | null;
}

const rowsOf = async (workflowId: string) =>
  (await ctx.orm.em
    .getConnection()
    .execute('select * from llm_calls where workflow_id = ? order by attempt, created_at', [workflowId])) as CallRow[];

function startCompletion(content = 'Say hi') {
  const workflowId = workflowIds.completion(ctx.tenant.id, crypto.randomUUID());
  return ctx.client.workflow.start('completion', {
    workflowId,
    taskQueue: ctx.config.temporal.taskQueue,
    args: [{ tenantId: ctx.tenant.id, purpose: 'answer', messages: [{ role: 'user', content }] }],
    typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.TenantId, value: ctx.tenant.id }],
  });
}

describe('LLM gateway through Temporal activities', () => {
  it('retries 429 (honouring Retry-After) and 500 with backoff, then succeeds; every attempt is recorded with its cost', async () => {
    server.chat.enqueue(
      { status: 429, retryAfter: 2 },
      { status: 500 },
      { reply: { content: 'hello', usage: { prompt_tokens: 1000, completion_tokens: 500 } } },
    );
    const handle = await startCompletion();
    const result = (await handle.result()) as { text: string; usage: { inputTokens: number } };
    expect(result.text).toBe('hello');

    const times = server
      .requestsTo('/chat/completions')
      .slice(-3)
      .map((r) => r.receivedAt);
    expect(times).toHaveLength(3);
    // 2 s from Retry-After (the policy alone would wait 1 s), then the policy's backoff of 1 s x 2.
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(1900);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(1900);

    const rows = await rowsOf(handle.workflowId);
    expect(rows.map((r) => [r.attempt, r.outcome, r.error_type])).toEqual([
      [1, 'error', 'llm_rate_limited'],
      [2, 'error', 'llm_server_error'],
      [3, 'ok', null],
    ]);
    const ok = rows[2]!;
    expect([ok.provider, ok.model, ok.input_tokens, ok.output_tokens]).toEqual(['openai', 'gpt-4o-mini', 1000, 500]);
    const price = DEFAULT_PRICES['gpt-4o-mini']!;
    expect(Number(ok.cost_usd)).toBeCloseTo((1000 * price.input + 500 * price.output) / 1e6, 10);
    expect(new Set(rows.map((r) => r.activity_id)).size).toBe(1);
  });

  it('fails at once on 400 context length, without retrying', async () => {
    const before = server.requestsTo('/chat/completions').length;
    server.chat.enqueue({ status: 400, code: 'context_length_exceeded' });
    const handle = await startCompletion('x'.repeat(1000));
    const error = await handle.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = ((error as WorkflowFailedError).cause as { cause?: unknown })?.cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('llm_context_length');
    expect((cause as ApplicationFailure).nonRetryable).toBe(true);
    expect(server.requestsTo('/chat/completions').length - before).toBe(1);
    expect((await rowsOf(handle.workflowId)).map((r) => [r.attempt, r.outcome, r.error_type])).toEqual([
      [1, 'error', 'llm_context_length'],
    ]);
  });

  it('aborts the HTTP request when the activity is cancelled', async () => {
    server.chat.enqueue({ delayMs: 60_000, then: { reply: { content: 'too late' } } });
    const before = server.requestsTo('/chat/completions').length;
    const handle = await startCompletion();
    while (server.requestsTo('/chat/completions').length === before) await sleep(50);
    const request = server.requestsTo('/chat/completions').at(-1)!;
    await handle.cancel();
    const deadline = Date.now() + 15_000;
    while (!request.aborted && Date.now() < deadline) await sleep(50);
    expect(request.aborted).toBe(true);
    await expect(handle.result()).rejects.toThrow();
    await sleep(200);
    expect((await rowsOf(handle.workflowId)).map((r) => r.outcome)).toEqual(['cancelled']);
  });

  it('puts a GenAI span under the activity span, with model and token counts', async () => {
    server.chat.enqueue({ reply: { content: 'traced', usage: { prompt_tokens: 12, completion_tokens: 3 } } });
    const handle = await startCompletion();
    await handle.result();
    let spans: Array<{
      span_id: string;
      parent_span_id: string | null;
      name: string;
      attributes: Record<string, unknown>;
    }> = [];
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      await ctx.telemetry.spanStore!.flush();
      const traces = (await ctx.orm.em
        .getConnection()
        .execute('select distinct trace_id from spans where workflow_id = ?', [handle.workflowId])) as Array<{
        trace_id: string;
      }>;
      spans = (await ctx.orm.em
        .getConnection()
        .execute('select span_id, parent_span_id, name, attributes from spans where trace_id in (?)', [
          traces.map((t) => t.trace_id),
        ])) as typeof spans;
      if (spans.some((s) => s.name === 'chat gpt-4o-mini')) break;
      await sleep(200);
    }
    const llm = spans.find((s) => s.name === 'chat gpt-4o-mini')!;
    const activity = spans.find((s) => s.name === 'RunActivity:generateText')!;
    expect(llm.parent_span_id).toBe(activity.span_id);
    expect(llm.attributes).toMatchObject({
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 3,
    });
  });
});

describe('LLM gateway, direct', () => {
  it('refuses calls past the tenant’s daily token budget with a non-retryable error', async () => {
    const tenant = await ctx.addTenant();
    const gateway = createLlmGateway({
      config: { ...ctx.config, llm: { ...ctx.config.llm, dailyTokenBudget: 1000 } },
      orm: ctx.orm,
    });
    server.chat.enqueue({ reply: { content: 'first', usage: { prompt_tokens: 900, completion_tokens: 200 } } });
    const before = server.requestsTo('/chat/completions').length;
    await gateway.generate({ tenantId: tenant.id }, [{ role: 'user', content: 'hi' }], { purpose: 'answer' });
    const refused = await gateway
      .generate({ tenantId: tenant.id }, [{ role: 'user', content: 'again' }], { purpose: 'answer' })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApplicationFailure);
    expect((refused as ApplicationFailure).type).toBe('llm_budget_exceeded');
    expect((refused as ApplicationFailure).nonRetryable).toBe(true);
    expect((refused as Error).message).toMatch(/1000 tokens/);
    expect(server.requestsTo('/chat/completions').length - before).toBe(1);
    const outcomes = (await ctx.orm.em
      .getConnection()
      .execute('select outcome from llm_calls where tenant_id = ? order by created_at', [tenant.id])) as Array<{
      outcome: string;
    }>;
    expect(outcomes.map((r) => r.outcome)).toEqual(['ok', 'refused']);
  });

  it('streams tokens and returns the same text, with tool calls assembled', async () => {
    const gateway = createLlmGateway({ config: ctx.config, orm: ctx.orm });
    server.chat.enqueue({
      reply: { content: 'Streaming works well today', usage: { prompt_tokens: 5, completion_tokens: 5 } },
    });
    const tokens: string[] = [];
    const result = await gateway.generate({ tenantId: ctx.tenant.id }, [{ role: 'user', content: 'stream' }], {
      purpose: 'answer',
      stream: true,
      onToken: (t) => tokens.push(t),
    });
    expect(tokens.length).toBeGreaterThan(1);
    expect(tokens.join('')).toBe('Streaming works well today');
    expect(result.text).toBe('Streaming works well today');
    expect(result.usage).toEqual({ inputTokens: 5, outputTokens: 5 });

    server.chat.enqueue({ reply: { toolCalls: [{ name: 'search_knowledge', arguments: { query: 'pgvector' } }] } });
    const tools = await gateway.generate({ tenantId: ctx.tenant.id }, [{ role: 'user', content: 'use a tool' }], {
      purpose: 'agent',
      stream: true,
      tools: [{ name: 'search_knowledge', parameters: { type: 'object', properties: { query: { type: 'string' } } } }],
    });
    expect(tools.finishReason).toBe('tool_calls');
    expect(tools.toolCalls.map((c) => [c.name, JSON.parse(c.arguments)])).toEqual([
      ['search_knowledge', { query: 'pgvector' }],
    ]);
  });

  it('batches embeddings within the provider limits and keeps their order', async () => {
    const provider = new OpenAiProvider({ apiKey: CANARY, baseURL: `${server.url}/v1`, maxEmbeddingInputs: 3 });
    const gateway = new LlmGateway({
      config: {
        routes: { ...routesOf(ctx), embedding: { provider: 'openai', model: 'text-embedding-3-small' } },
        prices: DEFAULT_PRICES,
        timeoutMs: 10_000,
        dailyTokenBudget: 0,
      },
      orm: ctx.orm,
      providers: { openai: provider },
    });
    const before = server.requestsTo('/embeddings').length;
    const texts = ['a', 'bb', 'ccc', 'dddd', 'eeeee', 'ffffff', 'ggggggg'];
    const result = await gateway.embed({ tenantId: ctx.tenant.id }, texts);
    expect(server.requestsTo('/embeddings').length - before).toBe(3);
    const direct = await gateway.embed({ tenantId: ctx.tenant.id }, ['eeeee']);
    expect(result.vectors).toHaveLength(7);
    expect(result.vectors[4]).toEqual(direct.vectors[0]);
  });

  it('sends local-* models to the local provider even when the OpenAI-compatible one serves the purpose', async () => {
    const gateway = createLlmGateway({
      config: {
        ...ctx.config,
        llm: {
          ...ctx.config.llm,
          provider: 'openai',
          apiKey: CANARY,
          baseURL: `${server.url}/v1`,
          models: { ...ctx.config.llm.models, embedding: 'text-embedding-3-small' },
        },
      },
      orm: ctx.orm,
    });
    expect(gateway.route('embedding')).toEqual({ provider: 'openai', model: 'text-embedding-3-small' });
    expect(gateway.route('embedding', 'local-minilm-l6')).toEqual({ provider: 'local', model: 'local-minilm-l6' });
    expect(gateway.route('embedding', 'text-embedding-3-large')).toEqual({
      provider: 'openai',
      model: 'text-embedding-3-large',
    });
    const before = server.requestsTo('/embeddings').length;
    const res = await gateway.embed({ tenantId: ctx.tenant.id }, ['offline'], { model: 'local-embed-384' });
    expect(res.model).toBe('local-embed-384');
    expect(server.requestsTo('/embeddings').length).toBe(before);
  });

  it('never lets the API key reach logs, spans, usage rows or errors (canary)', async () => {
    let logged = '';
    const log = pino(
      { level: 'trace' },
      new Writable({ write: (chunk, _e, done) => ((logged += chunk.toString()), done()) }),
    );
    const gateway = createLlmGateway({ config: ctx.config, orm: ctx.orm, log });
    server.chat.enqueue({ status: 401 }, { status: 500 }, { reply: { content: 'fine', model: 'unpriced-model' } });
    const errors: string[] = [];
    for (let i = 0; i < 3; i++) {
      await gateway
        .generate({ tenantId: ctx.tenant.id, workflowId: 'canary-check' }, [{ role: 'user', content: 'canary' }], {
          purpose: 'answer',
        })
        .catch((e: unknown) => errors.push(JSON.stringify(e, Object.getOwnPropertyNames(e)) + String(e)));
    }
    expect(errors).toHaveLength(2);
    // The key was really used: the server saw it.
    expect(server.requests.at(-1)!.headers.authorization).toBe(`Bearer ${CANARY}`);
    await ctx.telemetry.spanStore!.flush();
    const leaks = await ctx.orm.em.getConnection().execute(
      `select (select count(*) from spans where attributes::text like ? or coalesce(status_message, '') like ?)::int
              + (select count(*) from llm_calls where row_to_json(llm_calls)::text like ?)::int as n`,
      [`%${CANARY}%`, `%${CANARY}%`, `%${CANARY}%`],
    );
    expect(leaks[0]?.n).toBe(0);
    expect(logged).toContain('unpriced-model');
    expect(logged).not.toContain(CANARY);
    for (const e of errors) expect(e).not.toContain(CANARY);
  });
});

describe('LLM gateway, local provider (the offline default)', () => {
  it('answers from the supplied passages with citations, records usage at cost 0, and embeds deterministically', async () => {
    const config = {
      ...ctx.config,
      llm: {
        ...ctx.config.llm,
        provider: 'local' as const,
        models: {
          embedding: 'local-embed-384',
          answer: 'local-extractive',
          judge: 'local-extractive',
          agent: 'local-extractive',
        },
      },
    };
    const gateway = createLlmGateway({ config, orm: ctx.orm });
    const tenant = await ctx.addTenant();
    const before = server.requests.length;
    const result = await gateway.generate(
      { tenantId: tenant.id },
      [
        {
          role: 'system',
          content:
            'Answer from the passages and cite them.\n[1] Temporal retries failed activities with exponential backoff.\n[2] PGlite runs Postgres inside WebAssembly.',
        },
        { role: 'user', content: 'Question: How does Temporal retry failed activities?' },
      ],
      { purpose: 'answer' },
    );
    expect(result.text).toBe('Temporal retries failed activities with exponential backoff. [1]');
    expect(result.model).toBe('local-extractive');
    const a = await gateway.embed({ tenantId: tenant.id }, ['durable execution', 'durable execution']);
    expect(a.vectors[0]).toEqual(a.vectors[1]);
    expect(a.dimensions).toBe(384);
    expect(server.requests.length).toBe(before);
    const rows = (await ctx.orm.em
      .getConnection()
      .execute('select provider, model, cost_usd from llm_calls where tenant_id = ? order by created_at', [
        tenant.id,
      ])) as Array<{ provider: string; model: string; cost_usd: string }>;
    expect(rows.map((r) => [r.provider, r.model, Number(r.cost_usd)])).toEqual([
      ['local', 'local-extractive', 0],
      ['local', 'local-embed-384', 0],
    ]);
  });
});

function routesOf(c: TestContext) {
  const m = c.config.llm.models;
  return {
    embedding: { provider: 'openai' as const, model: m.embedding },
    answer: { provider: 'openai' as const, model: m.answer },
    judge: { provider: 'openai' as const, model: m.judge },
    agent: { provider: 'openai' as const, model: m.agent },
  };
}
