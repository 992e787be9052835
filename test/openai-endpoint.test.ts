import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../api/auth/api-keys';
import { startCountingMcpServer, type CountingMcpServer } from './agents/counting-mcp-server';
import { registerServer } from './agents/helpers';
import { ABSTAIN_TEXT } from '../lib/contracts';
import { setupTestContext, startTestApi, type TestContext } from './harness';
import { startOpenAiServer, type OpenAiTestServer, type RecordedRequest, type Step } from './openai-server';
import { ingestCorpus } from './rag-fixtures';
import { kindOf, messagesOf, passageWith, scriptedJudge, scriptModel } from './scripted-model';

// BeyondCloud as an OpenAI-compatible model (issue 20), called by the official `openai` client. Behind it the
// workflow's own model is the project's scripted OpenAI-compatible server, so answers are grounded and cited as
// a real model's would be, and a test can hold a generation to cancel it.
let server: OpenAiTestServer;
let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let collectionId: string;
let collectionName: string;
let client: OpenAI;
let notes: CountingMcpServer;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response fields
const PROTOCOL = 'default pickle protocol';
const protocolAnswer = (r: RecordedRequest) =>
  `The default pickle protocol in Python 3.11 is protocol 5 [${passageWith(r, PROTOCOL)}].`;

afterAll(async () => {
  await ctx?.close();
  await server?.close();
  await notes?.close();
});
beforeAll(async () => {
  [server, notes] = await Promise.all([startOpenAiServer({ apiKey: 'sk-test' }), startCountingMcpServer()]);
  ctx = await setupTestContext({
    LLM_PROVIDER: 'openai',
    OPENAI_BASE_URL: `${server.url}/v1`,
    OPENAI_API_KEY: 'sk-test',
    LLM_EMBEDDING_DIMENSIONS: '8',
    FETCH_ALLOW_HOSTS: '127.0.0.1',
  });
  api = await startTestApi(ctx);
  await ctx.startWorker();
  collectionName = `docs-${crypto.randomUUID().slice(0, 8)}`;
  collectionId = await ingestCorpus(ctx, api, { body: { name: collectionName } });
  client = new OpenAI({ baseURL: `${api.base}/v1/openai`, apiKey: ctx.tenant.key, maxRetries: 0 });
});

async function runStatus(workflowId: string) {
  return (await ctx.client.workflow.getHandle(workflowId).describe()).status.name;
}

describe('the OpenAI-compatible endpoint, called by the official openai client', () => {
  it('lists the tenant’s collections as models, and rag/* for all of them', async () => {
    const models = [];
    for await (const m of client.models.list()) models.push(m);
    expect(models.map((m) => m.id)).toEqual(['rag/*', `rag/${collectionName}`]);
    expect(models[1]).toMatchObject({ object: 'model', owned_by: 'beyondcloud', created: expect.any(Number) });
    const one = await client.models.retrieve(`rag/${collectionName}`);
    expect(one.id).toBe(`rag/${collectionName}`);
    // Another tenant sees none of them.
    const other = await ctx.addTenant();
    const theirs = new OpenAI({ baseURL: `${api.base}/v1/openai`, apiKey: other.key, maxRetries: 0 });
    expect((await theirs.models.list()).data).toEqual([]);
    await expect(theirs.models.retrieve(`rag/${collectionId}`)).rejects.toMatchObject({
      status: 404,
      code: 'model_not_found',
    });
  });

  it('answers a question as a grounded, cited answer run (non-streaming)', async () => {
    scriptModel(server, { generate: [protocolAnswer] });
    const res = await client.chat.completions.create({
      model: `rag/${collectionName}`,
      messages: [
        { role: 'system', content: 'You are a helpful assistant.' },
        { role: 'user', content: 'What is the default pickle protocol?' },
      ],
      user: 'alice',
      metadata: { app: 'openai-endpoint-test' },
    });
    expect(res.object).toBe('chat.completion');
    const content = res.choices[0]!.message.content!;
    expect(content).toMatch(/^The default pickle protocol in Python 3\.11 is protocol 5 \[\d+\]\./);
    expect(content).toContain('\n\nSources:\n[');
    expect(content).toContain('pickle.md');
    expect(res.choices[0]!.finish_reason).toBe('stop');
    expect(res.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(res.usage!.total_tokens).toBe(res.usage!.prompt_tokens + res.usage!.completion_tokens);
    const extra = (res as unknown as { beyondcloud: Json }).beyondcloud;
    expect(extra).toMatchObject({ answerId: res.id, kind: 'answer', status: 'answered' });
    expect(extra.sources[0]).toMatchObject({ source: 'pickle.md', text: expect.stringContaining(PROTOCOL) });
    expect(extra.grounding).toMatchObject({ passed: true, score: 1, method: 'llm' });
    expect(extra.grounding.claims[0]).toMatchObject({ verdict: 'supported', source: extra.sources[0].n });

    // The response id is the answer id; the run is an `answer` run like any other, with the caller in its memo.
    const answer = await api.request('GET', `/v1/answers/${res.id}`, { key: ctx.tenant.key });
    expect(answer.body).toMatchObject({ status: 'answered', question: 'What is the default pickle protocol?' });
    const run = await api.request('GET', `/v1/runs/${encodeURIComponent(extra.workflowId)}`, { key: ctx.tenant.key });
    expect(run.body).toMatchObject({ kind: 'answer', status: 'completed' });
    const memo = (await ctx.client.workflow.getHandle(extra.workflowId).describe()).memo;
    expect(memo?.client).toEqual({
      api: 'openai',
      model: `rag/${collectionName}`,
      user: 'alice',
      metadata: { app: 'openai-endpoint-test' },
    });
    // Audited as the key's write.
    const audit = await api.request('GET', '/v1/audit?action=openai.chat', { key: ctx.tenant.key });
    expect(JSON.stringify(audit.body)).toContain(res.id);
  });

  it('streams the released answer in OpenAI chunks, the sources and verdicts in the last, then the usage', async () => {
    scriptModel(server, { generate: [protocolAnswer] });
    const stream = await client.chat.completions.create({
      model: 'rag/*',
      messages: [{ role: 'user', content: 'What is the default pickle protocol?' }],
      stream: true,
      stream_options: { include_usage: true },
      beyondcloud: { sources: 'none' },
    } as OpenAI.ChatCompletionCreateParamsStreaming);
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toMatch(/^The default pickle protocol in Python 3\.11 is protocol 5 \[\d+\]\.$/);
    expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBeGreaterThan(2);
    const last = chunks.at(-2)!;
    expect(last.choices[0]!.finish_reason).toBe('stop');
    const extra = (last as unknown as { beyondcloud: Json }).beyondcloud;
    expect(extra).toMatchObject({ answerId: last.id, status: 'answered', grounding: { passed: true } });
    expect(extra.sources.map((s: { source: string }) => s.source)).toEqual(['pickle.md']);
    const usage = chunks.at(-1)!;
    expect(usage.choices).toEqual([]);
    expect(usage.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(new Set(chunks.map((c) => c.id))).toEqual(new Set([last.id]));
  });

  it('answers a follow-up with the earlier turns: the question is rewritten with them', async () => {
    scriptModel(server, { generate: [protocolAnswer] });
    const before = server.requestsTo('/chat/completions').length;
    const res = await client.chat.completions.create({
      model: `rag/${collectionName}`,
      messages: [
        { role: 'user', content: 'Tell me about pickle.' },
        { role: 'assistant', content: 'Pickle serializes Python objects [1].\n\nSources:\n[1] pickle.md' },
        { role: 'user', content: 'Which protocol does it use by default?' },
      ],
    });
    const rewrite = server
      .requestsTo('/chat/completions')
      .slice(before)
      .find((r) => kindOf(r) === 'rewrite');
    expect(rewrite).toBeDefined();
    const sent = messagesOf(rewrite!)
      .map((m) => m.content)
      .join('\n');
    expect(sent).toContain('Tell me about pickle.');
    expect(sent).toContain('Pickle serializes Python objects [1].');
    expect(sent).not.toContain('Sources:');
    expect(sent).toContain('Which protocol does it use by default?');
    expect(res.choices[0]!.message.content).toContain('protocol 5');
  });

  it('an abstention is a normal assistant message that says so', async () => {
    scriptModel(server, { generate: [() => 'Pickle was designed by the Python Software Foundation in 1990.'] });
    const res = await client.chat.completions.create({
      model: `rag/${collectionName}`,
      messages: [{ role: 'user', content: 'Who designed pickle?' }],
    });
    expect(res.choices[0]!.message).toMatchObject({ role: 'assistant', content: ABSTAIN_TEXT });
    expect((res as unknown as { beyondcloud: { status: string } }).beyondcloud.status).toBe('abstained');
  });

  it('an answer held for review returns the abstention text at once; the answer waits for its reviewer', async () => {
    scriptModel(server, { generate: [() => 'Pickle was designed by the Python Software Foundation in 1990.'] });
    const res = await client.chat.completions.create({
      model: `rag/${collectionName}`,
      messages: [{ role: 'user', content: 'Who designed pickle?' }],
      beyondcloud: { policy: 'review' },
    } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    expect(res.choices[0]!.message.content).toBe(ABSTAIN_TEXT);
    const extra = (res as unknown as { beyondcloud: Json }).beyondcloud;
    expect(extra).toMatchObject({ status: 'pending_review', sources: [], grounding: null });
    expect(await runStatus(extra.workflowId)).toBe('RUNNING');
    const held = await api.request('GET', `/v1/answers/${res.id}`, { key: ctx.tenant.key });
    expect(held.body).toMatchObject({ status: 'pending_review' });
    const decided = await api.request('POST', `/v1/answers/${res.id}/review`, {
      key: ctx.tenant.key,
      body: { decision: 'reject', note: 'not in the documents' },
    });
    expect(decided.body).toMatchObject({ status: 'abstained' });
  });

  it('refuses in OpenAI’s error shape: unknown model 404, bad body 400, viewer 403, bad key 401', async () => {
    await expect(
      client.chat.completions.create({ model: 'rag/nope', messages: [{ role: 'user', content: 'Hi?' }] }),
    ).rejects.toMatchObject({ status: 404, code: 'model_not_found', type: 'invalid_request_error' });
    await expect(
      client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi?' }] }),
    ).rejects.toMatchObject({ status: 404, code: 'model_not_found' });

    const raw = await api.request('POST', '/v1/openai/chat/completions', {
      key: ctx.tenant.key,
      body: { model: 'rag/*', messages: [{ role: 'user', content: 42 }] },
    });
    expect(raw.status).toBe(400);
    expect(raw.body).toEqual({
      error: {
        message: expect.stringContaining('messages.0.content'),
        type: 'invalid_request_error',
        param: 'messages[0].content',
        code: 'validation_failed',
      },
    });
    const lastAssistant = await api.request('POST', '/v1/openai/chat/completions', {
      key: ctx.tenant.key,
      body: { model: 'rag/*', messages: [{ role: 'assistant', content: 'Hello' }] },
    });
    expect(lastAssistant.body!.error).toMatchObject({ code: 'question_required', param: 'messages[0]' });

    const viewer = await createApiKey(ctx.orm, { tenantId: ctx.tenant.id, keyName: 'openai-viewer', role: 'viewer' });
    const asViewer = new OpenAI({ baseURL: `${api.base}/v1/openai`, apiKey: viewer.key, maxRetries: 0 });
    expect((await asViewer.models.list()).data.length).toBe(2);
    await expect(
      asViewer.chat.completions.create({ model: 'rag/*', messages: [{ role: 'user', content: 'Hi?' }] }),
    ).rejects.toMatchObject({ status: 403, code: 'forbidden', type: 'permission_error' });
    await expect(asViewer.embeddings.create({ model: 'rag/*', input: 'pickle' })).rejects.toMatchObject({
      status: 403,
    });

    const stranger = new OpenAI({ baseURL: `${api.base}/v1/openai`, apiKey: 'bc_not_a_key', maxRetries: 0 });
    await expect(stranger.models.list()).rejects.toMatchObject({ status: 401, type: 'authentication_error' });
    const unknownRoute = await api.request('GET', '/v1/openai/completions', { key: ctx.tenant.key });
    expect(unknownRoute.status).toBe(404);
    expect(unknownRoute.body!.error).toMatchObject({ type: 'invalid_request_error', code: 'route_not_found' });
  });

  it('a client that cancels its stream cancels the run', async () => {
    // The generation is held until the client has gone.
    server.chat.clear();
    server.chat.enqueue(
      ...Array.from(
        { length: 10 },
        () =>
          (r: RecordedRequest): Step =>
            kindOf(r) === 'generate'
              ? { delayMs: 20_000, then: { reply: { content: protocolAnswer(r) } } }
              : kindOf(r) === 'judge'
                ? scriptedJudge(r)
                : { reply: { content: 'ok' } },
      ),
    );
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      {
        model: `rag/${collectionName}`,
        messages: [{ role: 'user', content: 'What is the default pickle protocol?' }],
        stream: true,
      },
      { signal: controller.signal },
    );
    let answerId = '';
    let chunks = 0;
    try {
      for await (const c of stream) {
        answerId = c.id;
        chunks++;
        controller.abort();
      }
    } catch (e) {
      // The client may end an aborted stream quietly or with its abort error; either way it is gone.
      expect((e as Error).name).toMatch(/Abort/);
    }
    expect(chunks).toBe(1);
    expect(answerId).toMatch(/^[0-9a-f-]{36}$/);
    const workflowId = `answer:${ctx.tenant.id}:${answerId}`;
    await expect.poll(() => runStatus(workflowId), { timeout: 15_000, interval: 200 }).toBe('CANCELLED');
    const answer = await api.request('GET', `/v1/answers/${answerId}`, { key: ctx.tenant.key });
    expect(answer.body).toMatchObject({ status: 'failed' });
  });

  it('embeds with a collection’s own embedding model, as floats or base64', async () => {
    const res = await client.embeddings.create({ model: `rag/${collectionName}`, input: ['pickle', 'protocol'] });
    expect(res.data).toHaveLength(2);
    expect(res.data[0]!.embedding).toHaveLength(8);
    expect(res.usage.prompt_tokens).toBeGreaterThan(0);
    const floats = await client.embeddings.create({
      model: `rag/${collectionName}`,
      input: 'pickle',
      encoding_format: 'float',
    });
    // The SDK asks for base64 by default and decodes it: the same vector either way (float32 precision).
    expect(res.data[0]!.embedding.map((x) => Math.fround(x))).toEqual(
      floats.data[0]!.embedding.map((x) => Math.fround(x)),
    );
    await expect(
      client.embeddings.create({ model: `rag/${collectionName}`, input: 'pickle', dimensions: 3 }),
    ).rejects.toMatchObject({ status: 400, code: 'dimensions_unsupported', param: 'dimensions' });
  });
});

describe('saved agents as models', () => {
  const agentName = `notes-helper-${crypto.randomUUID().slice(0, 6)}`;
  beforeAll(async () => {
    await registerServer(
      api,
      ctx.tenant.key,
      { name: 'notes', transport: 'http', url: notes.url },
      { delete_notes: { sensitive: true } },
    );
    const saved = await api.request('POST', '/v1/agents/saved', {
      key: ctx.tenant.key,
      body: { name: agentName, instructions: 'Be brief.', tools: ['notes/delete_notes'], approvalTimeoutMs: 600_000 },
    });
    expect(saved.status, JSON.stringify(saved.body)).toBe(201);
  });

  it('lists agent/<name> and answers as an agent run, the chat so far and the client’s instructions in its input', async () => {
    expect((await client.models.list()).data.map((m) => m.id)).toContain(`agent/${agentName}`);
    server.chat.clear();
    server.chat.enqueue({ reply: { content: 'Pickle serializes Python objects.' } });
    const before = server.requestsTo('/chat/completions').length;
    const res = await client.chat.completions.create({
      model: `agent/${agentName}`,
      messages: [
        { role: 'system', content: 'Answer in one sentence.' },
        { role: 'user', content: 'Tell me about pickle.' },
        { role: 'assistant', content: 'It is a standard library module.' },
        { role: 'user', content: 'What does it do?' },
      ],
    });
    expect(res.choices[0]!.message.content).toBe('Pickle serializes Python objects.');
    const extra = (res as unknown as { beyondcloud: Json }).beyondcloud;
    expect(extra).toMatchObject({ kind: 'agent', status: 'completed', answerId: null, toolCalls: [], sources: [] });
    expect(extra.workflowId).toBe(`agent:${ctx.tenant.id}:${res.id}`);
    const sent = JSON.stringify(messagesOf(server.requestsTo('/chat/completions')[before]!));
    expect(sent).toContain('Be brief.');
    expect(sent).toContain("The client's instructions:\\nAnswer in one sentence.");
    expect(sent).toContain('User: Tell me about pickle.');
    expect(sent).toContain('Assistant: It is a standard library module.');
    expect(sent).toContain('The user now asks: What does it do?');
    const run = await api.request('GET', `/v1/runs/${encodeURIComponent(extra.workflowId)}`, { key: ctx.tenant.key });
    expect(run.body).toMatchObject({
      kind: 'agent',
      status: 'completed',
      what: `agent/${agentName}: What does it do?`,
    });
  });

  it('streams “waiting for approval” when the agent stops for a person, and the run goes on to finish', async () => {
    server.chat.clear();
    server.chat.enqueue(
      { reply: { toolCalls: [{ name: 'notes__delete_notes', arguments: { reason: 'stale' } }] } },
      { reply: { content: 'The notes are deleted.' } },
    );
    const stream = await client.chat.completions.create({
      model: `agent/${agentName}`,
      messages: [{ role: 'user', content: 'Delete the stale notes.' }],
      stream: true,
    });
    let content = '';
    let extra: Json | undefined;
    for await (const c of stream) {
      content += c.choices[0]?.delta.content ?? '';
      extra ??= (c as unknown as { beyondcloud?: Json }).beyondcloud;
    }
    expect(content).toMatch(/^The agent is waiting for a person to approve its call of notes\/delete_notes/);
    expect(extra).toMatchObject({ kind: 'agent', status: 'waiting_for_approval' });
    // The client has its answer; the run was not canceled: it waits for the decision, then finishes.
    expect(await runStatus(extra!.workflowId)).toBe('RUNNING');
    const inbox = await api.request('GET', '/v1/agents/approvals', { key: ctx.tenant.key });
    const pending = inbox.body!.approvals.find((a: { workflowId: string }) => a.workflowId === extra!.workflowId);
    const decided = await api.request('POST', `/v1/agents/runs/${encodeURIComponent(extra!.workflowId)}/approvals`, {
      key: ctx.tenant.key,
      body: { callId: pending.callId, approve: true },
    });
    expect(decided.status, JSON.stringify(decided.body)).toBe(200);
    const result = (await ctx.client.workflow.getHandle(extra!.workflowId).result()) as { finalText: string };
    expect(result.finalText).toBe('The notes are deleted.');
    expect(notes.callsOf('delete_notes')).toHaveLength(1);
  });

  it('is not an embedding model', async () => {
    await expect(client.embeddings.create({ model: `agent/${agentName}`, input: 'x' })).rejects.toMatchObject({
      status: 400,
      code: 'model_not_embedding',
    });
    await expect(
      client.chat.completions.create({ model: 'agent/no-such-agent', messages: [{ role: 'user', content: 'Hi' }] }),
    ).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });
});
