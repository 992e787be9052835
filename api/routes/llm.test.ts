import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAiServer, type OpenAiTestServer } from '../../test/openai-server';
import { setupTestContext, startTestApi, type TestContext } from '../../test/harness';

let server: OpenAiTestServer;
let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;

afterAll(() => ctx?.close());
beforeAll(async () => {
  server = await startOpenAiServer({ apiKey: 'sk-test-llm-routes' });
  ctx = await setupTestContext({ OPENAI_BASE_URL: `${server.url}/v1`, OPENAI_API_KEY: 'sk-test-llm-routes' });
  api = await startTestApi(ctx);
  await ctx.startWorker();
});
afterAll(() => server?.close());

describe('POST /v1/llm/completions', () => {
  it('runs a completion as a durable run and returns its result', async () => {
    server.chat.enqueue({ reply: { content: 'Paris.', usage: { prompt_tokens: 9, completion_tokens: 2 } } });
    const res = await api.request('POST', '/v1/llm/completions?wait=true', {
      key: ctx.tenant.key,
      body: { messages: [{ role: 'user', content: 'Capital of France?' }] },
    });
    expect(res.status).toBe(200);
    expect(res.body!.result).toMatchObject({
      text: 'Paris.',
      usage: { inputTokens: 9, outputTokens: 2 },
      finishReason: 'stop',
    });
    expect(server.requestsTo('/chat/completions').at(-1)!.body!.messages).toEqual([
      { role: 'user', content: 'Capital of France?' },
    ]);

    const listed = await api.request('GET', '/v1/runs?kind=llm', { key: ctx.tenant.key });
    expect(listed.body!.runs.map((r: { workflowId: string }) => r.workflowId)).toContain(res.body!.workflowId);
  });

  it('answers 502 with the failure type when the model call fails for good, naming the run', async () => {
    server.chat.enqueue({ status: 400, code: 'context_length_exceeded' });
    const res = await api.request('POST', '/v1/llm/completions?wait=true', {
      key: ctx.tenant.key,
      body: { messages: [{ role: 'user', content: 'very long' }] },
    });
    expect(res.status).toBe(502);
    expect(res.body!.error.code).toBe('llm_context_length');
    expect(res.body!.error.details.workflowId).toMatch(/^completion:/);
  });

  it('validates the body and the role', async () => {
    const bad = await api.request('POST', '/v1/llm/completions', { key: ctx.tenant.key, body: { messages: [] } });
    expect(bad.status).toBe(400);
    expect(bad.body!.error.code).toBe('validation_failed');
    const tool = await api.request('POST', '/v1/llm/completions', {
      key: ctx.tenant.key,
      body: { messages: [{ role: 'tool', content: 'x' }] },
    });
    expect(tool.status).toBe(400);
    const viewer = await ctx.addTenant('viewer');
    const forbidden = await api.request('POST', '/v1/llm/completions', {
      key: viewer.key,
      body: { messages: [{ role: 'user', content: 'hi' }] },
    });
    expect(forbidden.status).toBe(403);
  });
});
