import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRunResult } from '../lib/contracts';
import { startCountingMcpServer, type CountingMcpServer } from './agents/counting-mcp-server';
import { registerServer, until } from './agents/helpers';
import { setupTestContext, startTestApi, type TestContext } from './harness';
import { startOpenAiServer, type OpenAiTestServer } from './openai-server';

/**
 * `GET /v1/agents/approvals`: the sensitive tool calls waiting across the tenant's running agent runs, read from
 * Temporal's visibility and each run's agentState query, with a real worker, MCP server and scripted model. And
 * `/mcp` opened in a browser: a page, while MCP clients and other GETs are answered as before.
 */
let ctx: TestContext;
let llm: OpenAiTestServer;
let api: Awaited<ReturnType<typeof startTestApi>>;
let notes: CountingMcpServer;

beforeAll(async () => {
  [llm, notes] = await Promise.all([startOpenAiServer({ apiKey: 'sk-inbox' }), startCountingMcpServer()]);
  ctx = await setupTestContext({
    OPENAI_BASE_URL: `${llm.url}/v1`,
    OPENAI_API_KEY: 'sk-inbox',
    FETCH_ALLOW_HOSTS: '127.0.0.1',
  });
  api = await startTestApi(ctx);
  await ctx.startWorker();
  await registerServer(
    api,
    ctx.tenant.key,
    { name: 'notes', transport: 'http', url: notes.url },
    { delete_notes: { sensitive: true }, lookup: { sensitive: false } },
  );
});
afterAll(async () => {
  await ctx?.close();
  await notes?.close();
  await llm?.close();
});

interface Approval {
  workflowId: string;
  goal: string;
  callId: string;
  tool: string;
  arguments: string;
  requestedAt: string;
  expiresAt?: string;
}
const inbox = async (key: string) => {
  const res = await api.request('GET', '/v1/agents/approvals', { key });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { approvals: Approval[]; truncated: boolean };
};
const mine = (all: Approval[], ids: string[]) => all.filter((a) => ids.includes(a.workflowId));

async function startAgent(goal: string): Promise<string> {
  const res = await api.request('POST', '/v1/agents/runs', {
    key: ctx.tenant.key,
    body: { goal, tools: ['notes/delete_notes', 'notes/lookup'], approvalTimeoutMs: 600_000 },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body!.workflowId as string;
}

describe('GET /v1/agents/approvals', () => {
  it("lists the calls waiting in the tenant's running agent runs, for every role, and none to another tenant", async () => {
    const before = await inbox(ctx.tenant.key);
    expect(before).toEqual({ approvals: [], truncated: false });

    llm.chat.enqueue({ reply: { toolCalls: [{ name: 'notes__delete_notes', arguments: {} }] } });
    const first = await startAgent('Clean up the notebook, please.');
    await until('the first run to wait', async () => mine((await inbox(ctx.tenant.key)).approvals, [first]).length);
    llm.chat.enqueue({ reply: { toolCalls: [{ name: 'notes__delete_notes', arguments: { reason: 'stale' } }] } });
    const second = await startAgent('Delete the stale notes.');
    const both = await until('both runs in the inbox', async () => {
      const a = mine((await inbox(ctx.tenant.key)).approvals, [first, second]);
      return a.length === 2 && a;
    });
    expect(both[0]).toMatchObject({
      workflowId: first,
      goal: 'Clean up the notebook, please.',
      tool: 'notes/delete_notes',
      arguments: '{}',
      callId: expect.stringMatching(/^1:/),
    });
    expect(both[1]).toMatchObject({
      workflowId: second,
      goal: 'Delete the stale notes.',
      arguments: '{"reason":"stale"}',
    });
    expect(Date.parse(both[0]!.expiresAt!) - Date.parse(both[0]!.requestedAt)).toBe(600_000);

    // Any role reads it; another tenant sees nothing of this one's runs.
    const viewer = await ctx.addTenant('viewer');
    expect((await inbox(viewer.key)).approvals).toEqual([]);
    const other = await ctx.addTenant('admin');
    expect(await inbox(other.key)).toEqual({ approvals: [], truncated: false });
    expect(await api.request('GET', '/v1/agents/approvals')).toMatchObject({ status: 401 });

    // Decided calls leave the inbox: approve the first, refuse the second; both runs then finish.
    llm.chat.enqueue({ reply: { content: 'Done.' } }, { reply: { content: 'Not done.' } });
    const ok = await api.request('POST', `/v1/agents/runs/${first}/approvals`, {
      key: ctx.tenant.key,
      body: { callId: both[0]!.callId, approve: true },
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    await until('the first run out of the inbox', async () => {
      const a = mine((await inbox(ctx.tenant.key)).approvals, [first, second]);
      return a.length === 1 && a[0]!.workflowId === second;
    });
    const no = await api.request('POST', `/v1/agents/runs/${second}/approvals`, {
      key: ctx.tenant.key,
      body: { callId: both[1]!.callId, approve: false, reason: 'keep them' },
    });
    expect(no.status, JSON.stringify(no.body)).toBe(200);
    const results = (await Promise.all(
      [first, second].map((id) => ctx.client.workflow.getHandle(id).result()),
    )) as AgentRunResult[];
    expect(results.map((r) => r.trace[0]!.outcome)).toEqual(['ok', 'rejected']);
    expect(mine((await inbox(ctx.tenant.key)).approvals, [first, second])).toEqual([]);
    expect(notes.callsOf('delete_notes')).toHaveLength(1);
  }, 90_000);

  it('leaves out runs that closed while waiting', async () => {
    llm.chat.enqueue({ reply: { toolCalls: [{ name: 'notes__delete_notes', arguments: {} }] } });
    const id = await startAgent('Delete everything, then stop.');
    await until('the run in the inbox', async () => mine((await inbox(ctx.tenant.key)).approvals, [id]).length);
    const cancel = await api.request('POST', `/v1/agents/runs/${id}/cancel`, { key: ctx.tenant.key });
    expect(cancel.status).toBe(202);
    await until(
      'the canceled run out of the inbox',
      async () => !mine((await inbox(ctx.tenant.key)).approvals, [id]).length,
    );
  }, 60_000);
});

describe('/mcp in a browser', () => {
  const browserAccept = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

  it('shows a page on how to connect, without a key', async () => {
    const res = await fetch(`${api.base}/mcp`, { headers: { accept: browserAccept } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toContain('<h1>BeyondCloud MCP endpoint</h1>');
    expect(html).toContain(`${api.base}/mcp`);
    expect(html).toContain('Authorization: Bearer &lt;api key&gt;');
    expect(html).toContain('npm run --silent mcp');
    expect(html).toContain('href="/agents/tools"');
    expect(html).not.toContain('<script');
  });

  it('answers everything else as before', async () => {
    const noKey = await fetch(`${api.base}/mcp`, { headers: { accept: 'application/json' } });
    expect(noKey.status).toBe(401);
    const wildcard = await fetch(`${api.base}/mcp`, { headers: { accept: '*/*' } });
    expect(wildcard.status).toBe(401);
    const sse = await fetch(`${api.base}/mcp`, {
      headers: { authorization: `Bearer ${ctx.tenant.key}`, accept: 'text/event-stream' },
    });
    expect(sse.status).toBe(405);
    expect(await sse.json()).toMatchObject({ error: { code: 'method_not_allowed' } });
    // A POST that also accepts HTML is still JSON-RPC.
    const post = await fetch(`${api.base}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ctx.tenant.key}`,
        accept: 'application/json, text/event-stream, text/html',
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
    });
    expect(post.status).toBe(200);
    expect(await post.json()).toMatchObject({ jsonrpc: '2.0', id: 1, result: { serverInfo: { name: 'beyondcloud' } } });
  });
});
