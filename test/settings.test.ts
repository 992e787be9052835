import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTestContext, startTestApi, type TestContext } from './harness';
import { startOpenAiServer, type OpenAiTestServer } from './openai-server';

// The tenant's settings (/v1/settings): default models per purpose over the platform's LLM_MODEL_*, read by every
// role, set by admins, refused for a model no provider serves, and used by the gateway for calls that name no model
// (checked at the scripted OpenAI-compatible server: the model each request asked for).

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- API answers, read field by field

let server: OpenAiTestServer;
let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
const keys: Record<'operator' | 'viewer', string> = { operator: '', viewer: '' };

beforeAll(async () => {
  server = await startOpenAiServer({ apiKey: 'sk-test' });
  ctx = await setupTestContext({
    LLM_PROVIDER: 'openai',
    OPENAI_BASE_URL: `${server.url}/v1`,
    OPENAI_API_KEY: 'sk-test',
    LLM_EMBEDDING_DIMENSIONS: '8',
    LLM_MODEL_ANSWER: 'platform-answer-model',
  });
  api = await startTestApi(ctx);
  await ctx.startWorker();
  for (const role of ['operator', 'viewer'] as const) {
    const created = await api.request('POST', '/v1/keys', { key: ctx.tenant.key, body: { name: role, role } });
    expect(created.status).toBe(201);
    keys[role] = created.body!.key as string;
  }
});
afterAll(async () => {
  await ctx?.close();
  await server?.close();
});

const settings = async (key = ctx.tenant.key) =>
  (await api.request('GET', '/v1/settings', { key })) as { status: number; body: Json };
const put = async (body: unknown, key = ctx.tenant.key) =>
  (await api.request('PUT', '/v1/settings', { key, body })) as { status: number; body: Json };

/** One completion through the API without a model; the model the scripted server was asked for. */
async function modelAskedFor(): Promise<string> {
  server.chat.clear();
  server.chat.enqueue({ reply: { content: 'hi' } });
  const res = await api.request('POST', '/v1/llm/completions?wait=true', {
    key: keys.operator,
    body: { messages: [{ role: 'user', content: 'Say hi' }] },
  });
  expect(res.status).toBe(200);
  const asked = server.requestsTo('/v1/chat/completions').at(-1)?.body?.model;
  return String(asked);
}

describe('tenant settings', () => {
  it('reads the platform defaults for every role until the tenant sets its own', async () => {
    const res = await settings(keys.viewer);
    expect(res.status).toBe(200);
    expect(res.body.provider).toBe('openai');
    expect(res.body.models.answer).toEqual({
      model: 'platform-answer-model',
      source: 'platform',
      platform: 'platform-answer-model',
    });
    expect(Object.keys(res.body.models).sort()).toEqual(['agent', 'answer', 'embedding', 'judge']);
    expect(res.body.updatedBy).toBeNull();
    expect(await modelAskedFor()).toBe('platform-answer-model');
  });

  it('lets only admins change them, and refuses what no provider serves', async () => {
    expect((await put({ models: { answer: 'x' } }, keys.operator)).status).toBe(403);
    expect((await put({ models: { answer: 'x' } }, keys.viewer)).status).toBe(403);
    const unknownPurpose = await put({ models: { summarize: 'x' } });
    expect(unknownPurpose.status).toBe(400);
    const badName = await put({ models: { answer: 'has spaces' } });
    expect(badName.status).toBe(400);
    const notEmbedding = await put({ models: { embedding: 'local-extractive' } });
    expect(notEmbedding.status).toBe(400);
    expect(notEmbedding.body.error.code).toBe('model_not_available');
    expect((await settings()).body.models.embedding.source).toBe('platform');
  });

  it('makes a call that names no model use the tenant default, and null returns to the platform', async () => {
    const set = await put({ models: { answer: 'tenant-answer-model', agent: 'tenant-agent-model' } });
    expect(set.status).toBe(200);
    expect(set.body.models.answer).toMatchObject({ model: 'tenant-answer-model', source: 'tenant' });
    expect(set.body.models.agent).toMatchObject({ model: 'tenant-agent-model', source: 'tenant' });
    expect(set.body.updatedBy).toBeTruthy();
    // The worker reads settings through a cache of a few seconds: the change is visible within it.
    await expect.poll(modelAskedFor, { timeout: 20_000, interval: 1_000 }).toBe('tenant-answer-model');

    // A model named in the request still wins over the tenant's default.
    server.chat.clear();
    server.chat.enqueue({ reply: { content: 'hi' } });
    const named = await api.request('POST', '/v1/llm/completions?wait=true', {
      key: keys.operator,
      body: { messages: [{ role: 'user', content: 'Say hi' }], model: 'named-model' },
    });
    expect(named.status).toBe(200);
    expect(server.requestsTo('/v1/chat/completions').at(-1)?.body?.model).toBe('named-model');

    const reset = await put({ models: { answer: null } });
    expect(reset.body.models.answer).toMatchObject({ model: 'platform-answer-model', source: 'platform' });
    expect(reset.body.models.agent.source).toBe('tenant');
    await expect.poll(modelAskedFor, { timeout: 20_000, interval: 1_000 }).toBe('platform-answer-model');

    const audit = await api.request('GET', '/v1/audit?action=settings.update', { key: ctx.tenant.key });
    expect(audit.status).toBe(200);
    expect((audit.body!.entries as Json[]).length).toBeGreaterThanOrEqual(2);
  });

  it('keeps every kind forever until an admin sets retention days, partially, and null keeps one again', async () => {
    const forever = { answers: null, runEvents: null, spans: null, modelCalls: null, audit: null, blobs: null };
    const read = await settings(keys.viewer);
    expect(read.body.retention).toEqual(forever);

    const set = await put({ retention: { answers: 30, spans: 7, blobs: 2 } });
    expect(set.status).toBe(200);
    expect(set.body.retention).toEqual({ ...forever, answers: 30, spans: 7, blobs: 2 });
    expect(set.body.updatedBy).toBeTruthy();

    // Only the kinds named change; models and retention may come together, and the models are left as they were.
    const modelsBefore = (await settings()).body.models;
    const partial = await put({ retention: { spans: null, audit: 36500 }, models: {} });
    expect(partial.status).toBe(200);
    expect(partial.body.retention).toEqual({ ...forever, answers: 30, audit: 36500, blobs: 2 });
    expect(partial.body.models).toEqual(modelsBefore);
    const both = await put({ retention: { runEvents: 1 }, models: { judge: 'tenant-judge-model' } });
    expect(both.body.retention.runEvents).toBe(1);
    expect(both.body.models.judge).toMatchObject({ model: 'tenant-judge-model', source: 'tenant' });
    await put({ models: { judge: null } });
    expect((await settings(keys.viewer)).body.retention).toEqual({
      ...forever,
      answers: 30,
      runEvents: 1,
      audit: 36500,
      blobs: 2,
    });

    for (const bad of [
      { answers: 0 },
      { answers: -1 },
      { spans: 1.5 },
      { audit: 36501 },
      { chats: 30 },
      { blobs: '30' },
    ]) {
      const refused = await put({ retention: bad });
      expect(refused.status, JSON.stringify(bad)).toBe(400);
      expect(refused.body.error.code).toBeTruthy();
    }
    expect((await put({ retention: { answers: 5 } }, keys.viewer)).status).toBe(403);
    expect((await put({ retention: { answers: 5 } }, keys.operator)).status).toBe(403);

    const reset = await put({
      retention: { answers: null, runEvents: null, spans: null, modelCalls: null, audit: null, blobs: null },
    });
    expect(reset.body.retention).toEqual(forever);

    const audit = await api.request('GET', '/v1/audit?action=settings.update', { key: ctx.tenant.key });
    const details = (audit.body!.entries as Json[]).map((e) => e.detail);
    expect(details).toContainEqual(expect.objectContaining({ retention: { answers: 30, spans: 7, blobs: 2 } }));
  });

  it('keeps each tenant to its own settings', async () => {
    const other = await ctx.addTenant();
    const res = await settings(other.key);
    expect(res.status).toBe(200);
    expect(res.body.models.agent.source).toBe('platform');
    expect(Object.values(res.body.retention)).toEqual([null, null, null, null, null, null]);
  });
});

describe('tenant settings with the local provider', () => {
  it('refuses a default that needs a model endpoint', async () => {
    const local = await setupTestContext();
    try {
      const localApi = await startTestApi(local);
      const res = await localApi.request('PUT', '/v1/settings', {
        key: local.tenant.key,
        body: { models: { answer: 'gpt-4o-mini' } },
      });
      expect(res.status).toBe(400);
      expect(res.body!.error.code).toBe('model_not_available');
      const ok = await localApi.request('PUT', '/v1/settings', {
        key: local.tenant.key,
        body: { models: { embedding: 'local-embed-256' } },
      });
      expect(ok.status).toBe(200);
      expect(ok.body!.models.embedding).toMatchObject({ model: 'local-embed-256', source: 'tenant' });
      // A new collection without an embedding model takes the tenant's.
      const created = await localApi.request('POST', '/v1/collections', {
        key: local.tenant.key,
        body: { name: 'tenant-embedder' },
      });
      expect(created.status).toBe(201);
      expect(created.body!).toMatchObject({ embeddingModel: 'local-embed-256', embeddingDim: 256 });
    } finally {
      await local.close();
    }
  });
});
