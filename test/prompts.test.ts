import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { registerPromptsCommand } from '../bin/prompts';
import { PROMPT_NAMES } from '../lib/contracts';
import { ANSWER_RULES, AGENT_RULES } from '../lib/prompts/defaults';
import { setupTestContext, startTestApi, type TestContext } from './harness';
import { startOpenAiServer, type OpenAiTestServer, type RecordedRequest } from './openai-server';
import { kindOf, messagesOf, passageWith, scriptModel } from './scripted-model';
import { ingestCorpus } from './rag-fixtures';

// Versioned prompts (/v1/prompts) with the scripted OpenAI-compatible model: the system text a run sends is the
// version its labels (or its request) chose when it started, and the run records the versions it used. Roles:
// viewers read, operators add versions and move labels, only admins move `production`. Tenants never see each
// other's versions.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- API answers, read field by field

let server: OpenAiTestServer;
let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let collectionId: string;
const keys: Record<'operator' | 'viewer', string> = { operator: '', viewer: '' };
let other: { id: string; key: string };

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
  for (const role of ['operator', 'viewer'] as const) {
    const created = await api.request('POST', '/v1/keys', { key: ctx.tenant.key, body: { name: role, role } });
    expect(created.status).toBe(201);
    keys[role] = created.body!.key as string;
  }
  other = await ctx.addTenant('admin');
  collectionId = await ingestCorpus(ctx, api);
});
afterAll(async () => {
  await ctx?.close();
  await server?.close();
});

const call = (method: string, path: string, body?: unknown, key = ctx.tenant.key) =>
  api.request(method, path, { key, body }) as Promise<{ status: number; body: Json }>;

const PROTOCOL = 'default pickle protocol';
// Starts like the shipped one, so the scripted model still answers it as a generation.
const ANSWER_V2 = `${ANSWER_RULES}\n- Prompt version two: answer in one sentence.`;
const AGENT_V2 = `${AGENT_RULES}\nPrompt version two: be brief.`;

const ask = (extra: Json = {}) =>
  call('POST', '/v1/answers?wait=true', {
    question: 'What is the default pickle protocol?',
    collectionIds: [collectionId],
    ...extra,
  });
const generations = (since: number) =>
  server
    .requestsTo('/chat/completions')
    .slice(since)
    .filter((r) => kindOf(r) === 'generate');

describe('versioned prompts', () => {
  let before = 0;
  beforeEach(() => {
    before = server.requestsTo('/chat/completions').length;
    scriptModel(server, {
      generate: [
        (r: RecordedRequest) =>
          `The default pickle protocol in Python 3.11 is protocol 5 [${passageWith(r, PROTOCOL)}].`,
      ],
    });
  });

  it('lists version 1 (the shipped text) of every prompt, to every role', async () => {
    const list = await call('GET', '/v1/prompts', undefined, keys.viewer);
    expect(list.status).toBe(200);
    expect(list.body.prompts.map((p: Json) => p.name)).toEqual([...PROMPT_NAMES]);
    for (const p of list.body.prompts) {
      expect(p).toMatchObject({ production: 1, labels: [] });
      expect(p.versions).toEqual([expect.objectContaining({ version: 1, shipped: true, labels: [] })]);
    }
    const answer = await call('GET', '/v1/prompts/answer', undefined, keys.viewer);
    expect(answer.body.versions[0].text).toBe(ANSWER_RULES);
    const missing = await call('GET', '/v1/prompts/nope');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
  });

  it('refuses bad bodies and unknown versions, labels and prompts with a 400', async () => {
    const bad: Array<[string, string, unknown]> = [
      ['POST', '/v1/prompts/answer/versions', {}],
      ['POST', '/v1/prompts/answer/versions', { text: '   ' }],
      ['POST', '/v1/prompts/answer/versions', { text: 'x'.repeat(20_001) }],
      ['POST', '/v1/prompts/answer/versions', { text: 'ok', extra: true }],
      ['POST', '/v1/prompts/answer/versions', { text: 'ok', labels: ['Not A Label'] }],
      ['PUT', '/v1/prompts/answer/labels', { label: 'candidate' }],
      ['PUT', '/v1/prompts/answer/labels', { label: 'candidate', version: 0 }],
      ['PUT', '/v1/prompts/answer/labels', { label: 'x'.repeat(41), version: 1 }],
    ];
    for (const [method, path, body] of bad) {
      const res = await call(method, path, body);
      expect(res.status, JSON.stringify(body).slice(0, 100)).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    }
    const unknownVersion = await call('PUT', '/v1/prompts/answer/labels', { label: 'candidate', version: 99 });
    expect(unknownVersion.status).toBe(400);
    expect(unknownVersion.body.error).toMatchObject({
      code: 'prompt_version_not_found',
      message: expect.stringContaining('answer'),
    });
    expect((await call('POST', '/v1/prompts/nope/versions', { text: 'ok' })).status).toBe(404);

    for (const [prompts, code] of [
      [{ nope: 1 }, 'validation_failed'],
      [{ answer: 'Bad Label' }, 'validation_failed'],
      [{ answer: 99 }, 'prompt_version_not_found'],
      [{ judge: 'no-such-label' }, 'prompt_label_not_found'],
    ] as const) {
      const res = await ask({ prompts });
      expect(res.status, JSON.stringify(prompts)).toBe(400);
      expect(res.body.error.code).toBe(code);
    }
  });

  it('lets operators add versions, only admins move production; new runs use production and record it', async () => {
    expect((await call('POST', '/v1/prompts/answer/versions', { text: ANSWER_V2 }, keys.viewer)).status).toBe(403);

    const added = await call(
      'POST',
      '/v1/prompts/answer/versions',
      { text: ANSWER_V2, note: 'one sentence', labels: ['candidate'] },
      keys.operator,
    );
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ name: 'answer', version: 2, note: 'one sentence', labels: ['candidate'] });

    const refusedAdd = await call(
      'POST',
      '/v1/prompts/answer/versions',
      { text: ANSWER_V2, labels: ['production'] },
      keys.operator,
    );
    expect(refusedAdd.status).toBe(403);
    const refused = await call('PUT', '/v1/prompts/answer/labels', { label: 'production', version: 2 }, keys.operator);
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'forbidden', message: expect.stringContaining('only admins') });

    // Still version 1 for new runs: nothing moved production.
    const v1 = await ask();
    expect(v1.status).toBe(200);
    expect(v1.body.result.prompts).toContainEqual({ name: 'answer', version: 1 });
    expect(messagesOf(generations(before)[0]!)[0]!.content).toBe(ANSWER_RULES);

    const moved = await call('PUT', '/v1/prompts/answer/labels', { label: 'production', version: 2 });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ name: 'answer', label: 'production', version: 2, previousVersion: null });
    const shown = (await call('GET', '/v1/prompts/answer', undefined, keys.viewer)).body;
    expect(shown.production).toBe(2);
    expect(shown.versions.map((v: Json) => [v.version, v.labels])).toEqual([
      [1, []],
      [2, ['candidate', 'production']],
    ]);
    expect(shown.versions[1].text).toBe(ANSWER_V2);

    const since = server.requestsTo('/chat/completions').length;
    const v2 = await ask();
    expect(v2.body.status).toBe('answered');
    expect(v2.body.result.prompts).toEqual([
      { name: 'answer', version: 2 },
      { name: 'answer_strict', version: 1 },
      { name: 'rewrite', version: 1 },
      { name: 'rerank', version: 1 },
      { name: 'judge', version: 1 },
    ]);
    expect(messagesOf(generations(since)[0]!)[0]!.content).toBe(ANSWER_V2);
  });

  it('answers with the version or label a request selects', async () => {
    const v1 = await ask({ prompts: { answer: 1 } });
    expect(v1.body.result.prompts).toContainEqual({ name: 'answer', version: 1 });
    expect(messagesOf(generations(before)[0]!)[0]!.content).toBe(ANSWER_RULES);

    const since = server.requestsTo('/chat/completions').length;
    const candidate = await ask({ prompts: { answer: 'candidate' } });
    expect(candidate.body.result.prompts).toContainEqual({ name: 'answer', version: 2 });
    expect(messagesOf(generations(since)[0]!)[0]!.content).toBe(ANSWER_V2);
  });

  it('answers a chat message with the prompts it selects', async () => {
    const conversation = await call('POST', '/v1/conversations', { collectionIds: [collectionId] });
    expect(conversation.status).toBe(201);
    const res = await call('POST', `/v1/conversations/${conversation.body.id}/messages?wait=true`, {
      content: 'What is the default pickle protocol?',
      prompts: { answer: 1 },
    });
    expect(res.status).toBe(200);
    expect(res.body.result.prompts).toContainEqual({ name: 'answer', version: 1 });
    expect(messagesOf(generations(before)[0]!)[0]!.content).toBe(ANSWER_RULES);
    const refused = await call('POST', `/v1/conversations/${conversation.body.id}/messages`, {
      content: 'And its security?',
      prompts: { rewrite: 'nope' },
    });
    expect(refused.status).toBe(400);
    // Refused before the message was stored.
    const stored = await call('GET', `/v1/conversations/${conversation.body.id}`);
    expect(stored.body.messages).toHaveLength(2);
  });

  it("keeps each tenant's versions its own", async () => {
    const theirs = await call('GET', '/v1/prompts/answer', undefined, other.key);
    expect(theirs.status).toBe(200);
    expect(theirs.body).toMatchObject({ production: 1, labels: [] });
    expect(theirs.body.versions.map((v: Json) => v.version)).toEqual([1]);
    const label = await call('PUT', '/v1/prompts/answer/labels', { label: 'production', version: 2 }, other.key);
    expect(label.status).toBe(400);
    expect(label.body.error.code).toBe('prompt_version_not_found');
    // Their first version of their own is their version 2.
    const added = await call('POST', '/v1/prompts/answer/versions', { text: 'Their own rules.' }, other.key);
    expect(added.body.version).toBe(2);
    expect((await call('GET', '/v1/prompts/answer')).body.versions[1].text).toBe(ANSWER_V2);
  });

  it('runs an agent with its production prompt and records the version', async () => {
    const added = await call('POST', '/v1/prompts/agent/versions', { text: AGENT_V2, labels: ['production'] });
    expect(added.status).toBe(201);
    const run = await call('POST', '/v1/agents/runs?wait=true', { goal: 'Say hello.' });
    expect(run.status).toBe(200);
    expect(run.body.result).toMatchObject({ status: 'completed', prompt: { name: 'agent', version: 2 } });
    const sent = server
      .requestsTo('/chat/completions')
      .slice(before)
      .find((r) => messagesOf(r)[1]?.content === 'Say hello.');
    expect(messagesOf(sent!)[0]!.content).toBe(AGENT_V2);

    const removed = await call('PUT', '/v1/prompts/agent/labels', { label: 'production', version: null });
    expect(removed.body).toMatchObject({ version: null, previousVersion: 2 });
    const again = await call('POST', '/v1/agents/runs?wait=true', { goal: 'Say hello.', prompt: 1 });
    expect(again.body.result.prompt).toEqual({ name: 'agent', version: 1 });
  });

  it('is driven from the CLI: list, add with a label, label, show', async () => {
    const cliApi = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const res = await call(method, path, body, keys.operator);
      if (res.status >= 400) throw new Error(`${res.status} ${res.body.error.message}`);
      return res.body as T;
    };
    const cli = async (...args: string[]) => {
      const program = new Command().exitOverride();
      registerPromptsCommand(program, cliApi, (message) => new Error(message));
      const out: string[] = [];
      const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
      try {
        await program.parseAsync(['node', 'cli', 'prompts', ...args]);
      } finally {
        log.mockRestore();
      }
      return out.join('\n');
    };
    const file = join(inject('tmpDir'), `rewrite-${Date.now()}.txt`);
    await writeFile(file, 'Rewrite the follow-up as a standalone question. Reply with the question only.');
    expect(await cli('add', 'rewrite', '--file', file, '--note', 'shorter', '--label', 'cli')).toBe(
      'rewrite version 2 [cli]',
    );
    expect(await cli('label', 'rewrite', 'cli', '1')).toBe('rewrite cli: version 2 → version 1');
    await expect(cli('label', 'rewrite', 'production', '2')).rejects.toThrow(/403/);
    expect(await cli('list')).toMatch(/rewrite\s+1\s+2\s+cli=1/);
    expect(await cli('show', 'rewrite')).toContain('--- version 2 (');
  });
});
