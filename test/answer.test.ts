import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ABSTAIN_TEXT } from '../lib/contracts';
import { setupTestContext, startTestApi, type TestContext } from './harness';
import { ingestCorpus } from './rag-fixtures';
import { readSse } from './sse-client';

// Offline, the embedded default: the local provider answers extractively and the deterministic checker gates.
let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let collectionId: string;

afterAll(() => ctx?.close());
beforeAll(async () => {
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
  await ctx.startWorker();
  collectionId = await ingestCorpus(ctx, api);
});

const ask = (question: string, extra: Record<string, unknown> = {}, key = ctx.tenant.key) =>
  api.request('POST', '/v1/answers?wait=true', { key, body: { question, collectionIds: [collectionId], ...extra } });

describe('answers (local provider)', () => {
  it('answers with citations that map to the chunks used, and per-claim verdicts', async () => {
    const res = await ask('What is the default pickle protocol in Python 3.11?');
    expect(res.status).toBe(200);
    const a = res.body!;
    expect(a.status).toBe('answered');
    expect(a.answer).toMatch(/protocol 5/);
    const result = a.result;
    expect(result.citations.length).toBeGreaterThan(0);
    // Every [n] in the answer is a returned citation, and each citation's chunk text holds the sentence it backs.
    const markers = [...new Set([...(a.answer as string).matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])))];
    expect(markers.sort()).toEqual(result.citations.map((c: { n: number }) => c.n).sort());
    const pickle = result.citations.find((c: { text: string }) => c.text.includes('default pickle protocol'));
    expect(pickle).toMatchObject({ source: 'pickle.md', headingPath: expect.arrayContaining(['Protocols']) });
    const rows = (await ctx.orm.em
      .getConnection()
      .execute('select text from chunks where id = ?', [pickle.chunkId])) as Array<{ text: string }>;
    expect(rows[0]!.text).toBe(pickle.text);

    expect(result.grounding).toMatchObject({ method: 'deterministic', passed: true, score: 1 });
    expect(result.grounding.claims.length).toBeGreaterThan(0);
    for (const c of result.grounding.claims)
      expect(c).toMatchObject({ verdict: 'supported', evidence: { id: expect.any(String), span: expect.any(String) } });
    expect(result.steps.map((s: { name: string }) => s.name)).toEqual([
      'embed',
      'retrieve',
      'rerank',
      'generate',
      'ground',
    ]);
    expect(result.usage.calls).toBeGreaterThanOrEqual(2); // embedding + generation, recorded by the gateway
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(result.model).toBe('local-extractive');

    const again = await api.request('GET', `/v1/answers/${a.id}`, { key: ctx.tenant.key });
    expect(again.body).toMatchObject({ id: a.id, status: 'answered', answer: a.answer });
  });

  it('abstains when the documents do not say', async () => {
    const res = await ask('Who won the football world cup in 1998?');
    expect(res.status).toBe(200);
    expect(res.body!.status).toBe('abstained');
    expect(res.body!.answer).toBe(ABSTAIN_TEXT);
    expect(res.body!.result.citations).toEqual([]);
  });

  it('streams step events and tokens, then the result; a reconnect with Last-Event-ID resumes after it', async () => {
    const start = await api.request('POST', '/v1/answers', {
      key: ctx.tenant.key,
      body: { question: 'What does asyncio.gather return?', collectionIds: [collectionId] },
    });
    expect(start.status).toBe(202);
    const url = `${api.base}/v1/answers/${start.body!.id}/events`;
    const all = await readSse(url, { key: ctx.tenant.key });
    expect(all.status).toBe(200);
    expect(all.contentType).toMatch(/text\/event-stream/);
    const types = all.events.map((e) => e.event);
    expect(types.at(-1)).toBe('result');
    expect(types).toContain('token');
    expect(types.indexOf('token')).toBeLessThan(types.indexOf('result'));
    const result = all.events.at(-1)!.data as { answer: string; status: string };
    expect(result.status).toBe('answered');
    const streamed = all.events
      .filter((e) => e.event === 'token')
      .map((e) => (e.data as { text: string }).text)
      .join('');
    expect(streamed.trim()).toBe(result.answer);
    const ids = all.events.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    // Each phase change is written by the step that follows it, before that step's own events: the phases and the
    // steps come in the run's order, and no local activity (a history marker besides the patch's) runs for them.
    const order = all.events.flatMap((e) => {
      const d = e.data as { phase?: string; name?: string };
      return e.event === 'phase' ? [`phase:${d.phase}`] : e.event === 'step' ? [`step:${d.name}`] : [];
    });
    expect(order).toEqual([
      'phase:retrieving',
      'step:embed',
      'step:retrieve',
      'step:rerank',
      'phase:generating',
      'step:generate',
      'phase:grounding',
      'step:ground',
      'phase:saving',
    ]);
    const generating = all.events.findIndex((e) => (e.data as { phase?: string }).phase === 'generating');
    expect(types.indexOf('token')).toBeGreaterThan(generating);
    const history = (await ctx.client.workflow.getHandle(start.body!.workflowId).fetchHistory()).events ?? [];
    const markers = history.flatMap((e) => e.markerRecordedEventAttributes?.markerName ?? []);
    expect(markers).toEqual(['core_patch']);

    // Drop the connection after three events, then resume from the third one's id.
    const first = await readSse(url, { key: ctx.tenant.key, stop: (_e, seen) => seen.length === 3 });
    expect(first.events).toHaveLength(3);
    const resumed = await readSse(url, { key: ctx.tenant.key, lastEventId: first.events[2]!.id });
    expect([...first.events, ...resumed.events].map((e) => e.id)).toEqual(all.events.map((e) => e.id));
  });

  it('checks grounding alone: a wrong number is contradicted, a negation flip is caught', async () => {
    const contexts = ['The default pickle protocol in Python 3.11 is protocol 5.', 'The pickle module is not secure.'];
    const ok = await api.request('POST', '/v1/grounding', {
      key: ctx.tenant.key,
      body: { answer: 'Python 3.11 uses pickle protocol 5 by default.', contexts },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ method: 'deterministic', passed: true, score: 1 });
    const bad = await api.request('POST', '/v1/grounding', {
      key: ctx.tenant.key,
      body: {
        answer: 'The default pickle protocol in Python 3.11 is protocol 4. The pickle module is secure.',
        contexts,
      },
    });
    expect(bad.body!.score).toBe(0);
    expect(bad.body!.passed).toBe(false);
    expect(bad.body!.claims.map((c: { verdict: string }) => c.verdict)).not.toContain('supported');
    const invalid = await api.request('POST', '/v1/grounding', {
      key: ctx.tenant.key,
      body: { answer: 'x', contexts: [] },
    });
    expect(invalid.status).toBe(400);
  });

  it('keeps a conversation and rewrites a follow-up into a standalone query', async () => {
    const conv = await api.request('POST', '/v1/conversations', {
      key: ctx.tenant.key,
      body: { collectionIds: [collectionId], title: 'pickle' },
    });
    expect(conv.status).toBe(201);
    const first = await api.request('POST', `/v1/conversations/${conv.body!.id}/messages?wait=true`, {
      key: ctx.tenant.key,
      body: { content: 'Is the pickle module secure?' },
    });
    expect(first.body!.status).toBe('answered');
    const follow = await api.request('POST', `/v1/conversations/${conv.body!.id}/messages?wait=true`, {
      key: ctx.tenant.key,
      body: { content: 'Which protocol is its default?' },
    });
    expect(follow.body!.status).toBe('answered');
    expect(follow.body!.result.query).toMatch(/pickle/);
    expect(follow.body!.answer).toMatch(/protocol 5/);
    const history = await api.request('GET', `/v1/conversations/${conv.body!.id}`, { key: ctx.tenant.key });
    expect(history.body!.messages.map((m: { role: string }) => m.role)).toEqual([
      'user',
      'assistant',
      'user',
      'assistant',
    ]);
  });

  it("is tenant-scoped: another tenant's key sees neither the answer nor the collection", async () => {
    const mine = await ask('What does json.dumps do?');
    const other = await ctx.addTenant();
    expect((await api.request('GET', `/v1/answers/${mine.body!.id}`, { key: other.key })).status).toBe(404);
    expect((await api.request('GET', `/v1/answers/${mine.body!.id}/events`, { key: other.key })).status).toBe(404);
    const theirs = await ask('What does json.dumps do?', {}, other.key);
    expect(theirs.status).toBe(404);
    expect(theirs.body!.error.code).toBe('collection_not_found');
  });

  it('searches without generating, in every mode', async () => {
    const res = await api.request('POST', '/v1/search', {
      key: ctx.tenant.key,
      body: { query: 'asyncio timeout context manager', collectionIds: [collectionId], topK: 3 },
    });
    expect(res.status).toBe(200);
    expect(res.body!.results.length).toBeGreaterThan(0);
    expect(res.body!.results[0]).toMatchObject({
      source: 'asyncio.md',
      text: expect.stringContaining('asyncio.timeout'),
    });
    for (const mode of ['vector', 'text']) {
      const r = await api.request('POST', '/v1/search', {
        key: ctx.tenant.key,
        body: { query: 'asyncio timeout', collectionIds: [collectionId], topK: 2, mode },
      });
      expect(r.body!.results[0].source).toBe('asyncio.md');
    }
    // Served by the API, then recorded: the run is handed what was served and ends in its first task, no step.
    const handle = ctx.client.workflow.getHandle(res.body!.workflowId);
    expect(await handle.result()).toEqual(res.body!.results);
    const events = (await handle.fetchHistory()).events ?? [];
    expect(events.filter((e) => e.activityTaskScheduledEventAttributes || e.markerRecordedEventAttributes)).toEqual([]);
    expect(events.filter((e) => e.workflowTaskCompletedEventAttributes)).toHaveLength(1);
  });

  it('rejects bad input with a clear error', async () => {
    const res = await api.request('POST', '/v1/answers', {
      key: ctx.tenant.key,
      body: { question: '', collectionIds: ['nope'] },
    });
    expect(res.status).toBe(400);
    expect(res.body!.error.code).toBeTruthy();
    const review = await api.request('POST', `/v1/answers/${crypto.randomUUID()}/review`, {
      key: ctx.tenant.key,
      body: { decision: 'approve' },
    });
    expect(review.status).toBe(404);
    // An LLM judge without a model is a configuration mismatch the caller can fix: 400 at once, not retries then 500.
    const judge = await api.request('POST', '/v1/answers', {
      key: ctx.tenant.key,
      body: { question: 'x?', collectionIds: [collectionId], groundingMethod: 'llm' },
    });
    expect(judge.status).toBe(400);
    expect(judge.body!.error.code).toBe('judge_not_configured');
    const grounding = await api.request('POST', '/v1/grounding', {
      key: ctx.tenant.key,
      body: { answer: 'x', contexts: ['y'], method: 'llm' },
    });
    expect(grounding.body!.error.code).toBe('judge_not_configured');
  });
});
