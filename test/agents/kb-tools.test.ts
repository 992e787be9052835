import { writeFile } from 'node:fs/promises';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nameBasedUuid } from '../../activities/agent';
import { SEARCH_ATTRIBUTES, workflowIds, type AgentRunResult } from '../../lib/contracts';
import { setupTestContext, startTestApi, type TestContext } from '../harness';
import { startOpenAiServer, type OpenAiTestServer, type RecordedRequest, type Step } from '../openai-server';
import { ingestCorpus } from '../rag-fixtures';
import { kindOf, messagesOf, passageWith, scriptedJudge } from '../scripted-model';
import { toolMessages } from './helpers';

// An agent with the built-in knowledge-base tools: every search and answer is a child workflow of the run. One
// scripted "model" plays both parts: the agent (tool calls in order) and the answering pipeline (by prompt kind).
let ctx: TestContext;
let llm: OpenAiTestServer;
let api: Awaited<ReturnType<typeof startTestApi>>;
let collectionId: string;
let other: { id: string; key: string };
let otherCollectionId: string;

afterAll(async () => {
  await ctx?.close();
  await llm?.close();
});
beforeAll(async () => {
  llm = await startOpenAiServer({ apiKey: 'sk-kb' });
  ctx = await setupTestContext({
    OPENAI_BASE_URL: `${llm.url}/v1`,
    OPENAI_API_KEY: 'sk-kb',
    LLM_EMBEDDING_DIMENSIONS: '8',
  });
  api = await startTestApi(ctx);
  await ctx.startWorker();
  other = await ctx.addTenant('admin');
  [collectionId, otherCollectionId] = await Promise.all([
    ingestCorpus(ctx, api),
    ingestCorpus(ctx, api, {
      key: other.key,
      corpus: { 'vault.md': `# Vault\n\n${OTHER_SECRET} The pickle protocol of the vault is protocol 9.\n` },
    }),
  ]);
});

const OTHER_SECRET = 'The launch code of the other tenant is 7741.';
const PROTOCOL = 'default pickle protocol';
const agentRequests = () => llm.requestsTo('/chat/completions').filter((r) => kindOf(r) === 'other');

/** The agent's turns in order (each may read the request it answers); the answering pipeline's calls by kind. */
function scriptModel(turns: Array<(r: RecordedRequest) => Step>) {
  const queue = [...turns];
  const route = (r: RecordedRequest): Step => {
    switch (kindOf(r)) {
      case 'generate':
        return {
          reply: { content: `The default pickle protocol in Python 3.11 is protocol 5 [${passageWith(r, PROTOCOL)}].` },
        };
      case 'judge':
        return scriptedJudge(r);
      case 'rerank':
        return {
          reply: {
            content: JSON.stringify({
              ranking: [...(messagesOf(r)[1]?.content ?? '').matchAll(/^Passage (\d+):/gm)].map((m) => Number(m[1])),
            }),
          },
        };
      default: {
        const next = queue.shift();
        if (!next) throw new Error('the agent asked for more turns than scripted');
        return next(r);
      }
    }
  };
  llm.chat.clear();
  llm.chat.enqueue(...Array.from({ length: 30 }, () => route));
}

async function recordHistory(workflowId: string, file: string) {
  if (!process.env.RECORD_HISTORIES) return;
  const history = await ctx.client.workflow.getHandle(workflowId).fetchHistory();
  await writeFile(
    new URL(`../histories/${file}`, import.meta.url),
    JSON.stringify({ workflowId, ...JSON.parse(historyToJSON(history)) }, null, 2) + '\n',
  );
}

describe('knowledge-base tools for agents', () => {
  it('refuses a run with kb tools but no collections, with a missing or foreign collection, or an unknown kb tool', async () => {
    const start = (body: Record<string, unknown>) =>
      api.request('POST', '/v1/agents/runs', { key: ctx.tenant.key, body: { goal: 'Look something up.', ...body } });
    const none = await start({ tools: ['kb/search'] });
    expect(none.status).toBe(400);
    expect(none.body!.error.code).toBe('collection_ids_required');
    const foreign = await start({ tools: ['kb/*'], collectionIds: [otherCollectionId] });
    expect(foreign.status).toBe(404);
    expect(foreign.body!.error.code).toBe('collection_not_found');
    const unknown = await start({ tools: ['kb/delete'], collectionIds: [collectionId] });
    expect(unknown.status).toBe(400);
    expect(unknown.body!.error.code).toBe('agent_tool_unavailable');
    expect(unknown.body!.error.message).toContain('kb/delete');
  });

  it('searches and asks as child workflows, hands the grounded answer to the model, and keeps other tenants out', async () => {
    const before = agentRequests().length;
    let finalText = '';
    scriptModel([
      () => ({
        reply: {
          toolCalls: [
            { id: 'call_search', name: 'kb_search', arguments: { query: 'pickle protocol default', topK: 3 } },
          ],
        },
      }),
      () => ({
        reply: {
          toolCalls: [
            {
              id: 'call_ask',
              name: 'kb_ask',
              arguments: { question: 'What is the default pickle protocol in Python 3.11?' },
            },
          ],
        },
      }),
      // A model that tries another tenant's collection (an id it saw somewhere): refused as not found.
      () => ({
        reply: {
          toolCalls: [
            {
              id: 'call_foreign',
              name: 'kb_search',
              arguments: { query: 'launch code', collectionIds: [otherCollectionId] },
            },
          ],
        },
      }),
      (r) => {
        const answered = JSON.parse(
          /<tool_result tool="kb_ask" outcome="ok">\n([\s\S]*?)\n<\/tool_result>/.exec(
            toolMessages(r.body).join('\n'),
          )![1]!,
        ) as { answer: string };
        finalText = `From the knowledge base: ${answered.answer}`;
        return { reply: { content: finalText } };
      },
    ]);
    const res = await api.request('POST', '/v1/agents/runs', {
      key: ctx.tenant.key,
      body: {
        goal: 'Which pickle protocol does Python 3.11 use by default? Cite the documentation.',
        tools: ['kb/*'],
        collectionIds: [collectionId],
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const workflowId = res.body!.workflowId as string;
    const r = (await ctx.client.workflow.getHandle(workflowId).result()) as AgentRunResult;

    expect(r.status).toBe('completed');
    expect(r.finalText).toBe(finalText);
    expect(finalText).toMatch(/protocol 5 \[\d+\]/);
    expect(r.trace.map((t) => [t.tool, t.server, t.toolName, t.outcome])).toEqual([
      ['kb_search', 'kb', 'search', 'ok'],
      ['kb_ask', 'kb', 'ask', 'ok'],
      ['kb_search', 'kb', 'search', 'refused'],
    ]);

    // What the model was offered and what it got back, as delimited untrusted data.
    const requests = agentRequests().slice(before);
    expect(requests).toHaveLength(4);
    const offered = (requests[0]!.body!.tools as Array<{ function: { name: string; description: string } }>)
      .map((t) => t.function.name)
      .sort();
    expect(offered).toEqual(['kb_ask', 'kb_search']);
    const searched = toolMessages(requests[1]!.body)[0]!;
    expect(searched).toMatch(/^<tool_result tool="kb_search" outcome="ok">\n\{"hits":\[/);
    const hits = JSON.parse(searched.split('\n')[1]!).hits as Array<{ source: string; heading: string; text: string }>;
    expect(hits.length).toBeLessThanOrEqual(3);
    expect(hits[0]).toMatchObject({
      source: 'pickle.md',
      heading: expect.stringContaining('Protocols'),
      text: expect.stringContaining('protocol 5'),
    });
    const asked = toolMessages(requests[2]!.body)[1]!;
    expect(asked).toMatch(/^<tool_result tool="kb_ask" outcome="ok">/);
    const answer = JSON.parse(asked.split('\n')[1]!) as {
      answerId: string;
      status: string;
      answer: string;
      groundingScore: number;
      citations: Array<{ n: number; source: string; heading: string }>;
    };
    expect(answer).toMatchObject({
      status: 'answered',
      groundingScore: 1,
      answer: expect.stringMatching(/^The default pickle protocol in Python 3\.11 is protocol 5 \[\d+\]\.$/),
    });
    expect(answer.citations).toEqual([
      expect.objectContaining({ source: 'pickle.md', heading: expect.stringContaining('Protocols') }),
    ]);
    expect(answer.answer).toContain(`[${answer.citations[0]!.n}]`);
    const foreign = toolMessages(requests[3]!.body)[2]!;
    expect(foreign).toMatch(/^<tool_result tool="kb_search" outcome="refused">/);
    expect(foreign).toContain(`Collection ${otherCollectionId} was not found.`);
    // Nothing of the other tenant reached the model, in any request of the run.
    for (const req of requests) expect(req.rawBody).not.toMatch(/launch code of the other|vault\.md|protocol 9/);

    // The children are runs of their own: completed, listed under the tenant and their kind.
    const runKey = workflowId.slice(workflowIds.agent(ctx.tenant.id, '').length);
    const searchId = workflowIds.search(ctx.tenant.id, `agent-${runKey}-${r.trace[0]!.callId}`);
    const answerWorkflowId = workflowIds.answer(ctx.tenant.id, answer.answerId);
    for (const [id, kind] of [
      [searchId, 'search'],
      [answerWorkflowId, 'answer'],
    ] as const) {
      const d = await ctx.client.workflow.getHandle(id).describe();
      expect(d.status.name).toBe('COMPLETED');
      expect(d.parentExecution?.workflowId).toBe(workflowId);
      expect(d.typedSearchAttributes.get(SEARCH_ATTRIBUTES.TenantId)).toBe(ctx.tenant.id);
      expect(d.typedSearchAttributes.get(SEARCH_ATTRIBUTES.RunKind)).toBe(kind);
      expect((await api.request('GET', `/v1/runs/${encodeURIComponent(id)}`, { key: ctx.tenant.key })).status).toBe(
        200,
      );
      expect((await api.request('GET', `/v1/runs/${encodeURIComponent(id)}`, { key: other.key })).status).toBe(404);
    }
    // The foreign call started no child at all.
    const foreignChild = workflowIds.search(ctx.tenant.id, `agent-${runKey}-${r.trace[2]!.callId}`);
    await expect(ctx.client.workflow.getHandle(foreignChild).describe()).rejects.toThrow();

    // The answer is stored like any other, under an id derived from the run and the call (a retry is the same answer).
    expect(answer.answerId).toBe(nameBasedUuid(`${workflowId}\n${r.trace[1]!.callId}`));
    const stored = await api.request('GET', `/v1/answers/${answer.answerId}`, { key: ctx.tenant.key });
    expect(stored.status).toBe(200);
    expect(stored.body).toMatchObject({
      id: answer.answerId,
      workflowId: answerWorkflowId,
      status: 'answered',
      answer: answer.answer,
      groundingScore: 1,
    });
    expect(stored.body!.result.citations[0]).toMatchObject({
      source: 'pickle.md',
      text: expect.stringContaining(PROTOCOL),
    });
    expect((await api.request('GET', `/v1/answers/${answer.answerId}`, { key: other.key })).status).toBe(404);

    await recordHistory(workflowId, 'agent-kb-tools.json');
  });
});
