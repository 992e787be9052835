import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTestContext, startTestApi, type TestContext } from './harness';
import { ingestCorpus } from './rag-fixtures';

// BeyondCloud's own MCP server, driven by the SDK's client over both transports against the real API and worker.
let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let collectionId: string;
let collectionName: string;
let http: Client;

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const TOOLS = ['ask', 'ingest_url', 'run_status', 'search_knowledge'];

afterAll(() => ctx?.close());
beforeAll(async () => {
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
  await ctx.startWorker();
  collectionId = await ingestCorpus(ctx, api);
  collectionName = (await api.request('GET', `/v1/collections/${collectionId}`, { key: ctx.tenant.key })).body!
    .name as string;
  http = await httpClient(ctx.tenant.key);
});

async function httpClient(key: string): Promise<Client> {
  const client = new Client({ name: 'mcp-server-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${api.base}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${key}` } },
  });
  await client.connect(transport);
  ctx.onClose(() => client.close());
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown>) {
  const res = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = res.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert the structured fields one by one
  return { isError: res.isError === true, text, data: res.structuredContent as Record<string, any> };
}

/** Polls run_status until the run leaves `running`. */
async function settledRun(client: Client, runId: string) {
  for (const until = Date.now() + 45_000; Date.now() < until; await new Promise((r) => setTimeout(r, 250))) {
    const res = await call(client, 'run_status', { runId });
    if (res.isError || res.data.status !== 'running') return res;
  }
  throw new Error(`run ${runId} still running`);
}

describe('MCP server over streamable HTTP (/mcp)', () => {
  it('lists the four tools with their input and output schemas', async () => {
    const { tools } = await http.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(TOOLS);
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    expect(byName.search_knowledge!.inputSchema).toMatchObject({
      type: 'object',
      required: ['query'],
      properties: {
        query: { type: 'string' },
        collection: {},
        collectionIds: { type: 'array' },
        topK: { type: 'integer' },
      },
    });
    expect(byName.ask!.inputSchema).toMatchObject({
      type: 'object',
      required: ['question'],
      properties: { question: {}, collection: {}, options: { type: 'object' } },
    });
    expect(byName.ingest_url!.inputSchema).toMatchObject({
      required: expect.arrayContaining(['collection', 'urls']),
      properties: { urls: { type: 'array' } },
    });
    expect(byName.run_status!.inputSchema).toMatchObject({ required: ['runId'] });
    for (const t of tools) {
      expect(t.description!.length).toBeGreaterThan(80);
      expect(t.outputSchema).toMatchObject({ type: 'object' });
    }
    expect(http.getServerVersion()).toMatchObject({ name: 'beyondcloud' });
    expect(http.getInstructions()).toMatch(/search_knowledge/);
  });

  it('search_knowledge by collection name finds the right document, heading and text', async () => {
    const res = await call(http, 'search_knowledge', {
      query: 'default pickle protocol in Python 3.11',
      collection: collectionName,
      topK: 3,
    });
    expect(res.isError).toBe(false);
    expect(res.data.runId).toMatch(new RegExp(`^search:${ctx.tenant.id}:`));
    expect(res.data.collectionIds).toEqual([collectionId]);
    expect(res.data.hits.length).toBeGreaterThan(0);
    expect(res.data.hits.length).toBeLessThanOrEqual(3);
    const top = res.data.hits[0];
    expect(top).toMatchObject({
      n: 1,
      source: 'pickle.md',
      collectionId,
      headingPath: expect.arrayContaining(['Protocols']),
    });
    expect(top.text).toContain('The default pickle protocol in Python 3.11 is protocol 5.');
    expect(top.score).toBeGreaterThan(0);
    // The text content is the readable form of the same hits.
    expect(res.text).toContain('[1] pickle.md');
    expect(res.text).toContain('protocol 5');

    // The tool's loopback call links to the /mcp request (same tenant): the search run's trace shows both requests.
    const names = async () => {
      await ctx.telemetry.spanStore!.flush();
      const trace = await api.request('GET', `/v1/runs/${encodeURIComponent(res.data.runId)}/trace`, {
        key: ctx.tenant.key,
      });
      return (trace.body!.spans as Array<{ name: string }>).map((s) => s.name);
    };
    await expect
      .poll(names, { timeout: 20_000, interval: 200 })
      .toEqual(expect.arrayContaining(['POST /mcp', 'POST /v1/search', 'RunWorkflow:searchKnowledge']));
  });

  it('search_knowledge without a collection searches every collection; by id works as well', async () => {
    const all = await call(http, 'search_knowledge', { query: 'asyncio.gather results order' });
    expect(all.isError).toBe(false);
    expect(all.data.collectionIds).toEqual([collectionId]);
    expect(all.data.hits[0].source).toBe('asyncio.md');
    const byId = await call(http, 'search_knowledge', {
      query: 'json.dumps separators',
      collectionIds: [collectionId],
      mode: 'text',
    });
    expect(byId.data.hits[0].source).toBe('json.md');
  });

  it('ask answers extractively with [n] citations and claim verdicts; run_status reads its run', async () => {
    const res = await call(http, 'ask', {
      question: 'What is the default pickle protocol in Python 3.11?',
      collectionIds: [collectionId],
    });
    expect(res.isError).toBe(false);
    const a = res.data;
    expect(a).toMatchObject({ status: 'answered', groundingScore: 1, grounded: true, model: 'local-extractive' });
    expect(a.answer).toMatch(/protocol 5/);
    const markers = [...new Set([...(a.answer as string).matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])))];
    expect(markers.length).toBeGreaterThan(0);
    expect(markers.sort()).toEqual(a.citations.map((c: { n: number }) => c.n).sort());
    expect(a.citations.find((c: { text: string }) => c.text.includes('default pickle protocol'))).toMatchObject({
      source: 'pickle.md',
      headingPath: expect.arrayContaining(['Protocols']),
    });
    expect(a.claims.length).toBeGreaterThan(0);
    for (const c of a.claims) expect(c.verdict).toBe('supported');
    expect(res.text).toMatch(/^Status: answered \(grounding score 1\.00\)/);
    expect(res.text).toContain(a.answer);

    // The same answer through the HTTP API: the tool reported what the API stored.
    const stored = await api.request('GET', `/v1/answers/${a.answerId}`, { key: ctx.tenant.key });
    expect(stored.body).toMatchObject({ status: 'answered', answer: a.answer, workflowId: a.runId });

    const run = await call(http, 'run_status', { runId: a.runId });
    expect(run.isError).toBe(false);
    expect(run.data).toMatchObject({
      runId: a.runId,
      type: 'answer',
      kind: 'answer',
      status: 'completed',
      failure: null,
      progress: null,
    });
    expect(run.data.durationMs).toBeGreaterThan(0);
    expect(run.data.result).toMatchObject({ status: 'answered', answer: a.answer, groundingScore: 1 });
  });

  it('ask abstains when the documents do not say', async () => {
    const res = await call(http, 'ask', {
      question: 'Who won the football world cup in 1998?',
      collection: collectionName,
    });
    expect(res.isError).toBe(false);
    expect(res.data).toMatchObject({ status: 'abstained', citations: [] });
  });

  it('ingest_url starts a run; the SSRF guard refuses a loopback URL and run_status gives the reason', async () => {
    const url = `${api.base}/healthz`;
    const res = await call(http, 'ingest_url', { collection: collectionName, urls: [url] });
    expect(res.isError).toBe(false);
    expect(res.data.runId).toMatch(new RegExp(`^ingest:${ctx.tenant.id}:${collectionId}:`));
    expect(res.data.documents).toEqual([expect.objectContaining({ source: url })]);

    const run = await settledRun(http, res.data.runId as string);
    expect(run.isError).toBe(false);
    expect(run.data).toMatchObject({
      type: 'ingestCollection',
      status: 'completed',
      progress: { total: 1, done: 1, failed: 1, chunks: 0 },
    });
    expect(run.data.progress.failures[0].reason).toMatch(/Refusing to fetch 127\.0\.0\.1:\d+/);
  });

  it('bad input and API errors come back as tool errors with the reason', async () => {
    const unknown = await call(http, 'ingest_url', {
      collection: 'no-such-collection',
      urls: ['https://example.com/'],
    });
    expect(unknown.isError).toBe(true);
    expect(unknown.text).toContain(
      `No collection is named "no-such-collection". The collections are: "${collectionName}".`,
    );

    const scheme = await call(http, 'ingest_url', { collection: collectionName, urls: ['file:///etc/passwd'] });
    expect(scheme.isError).toBe(true);
    expect(scheme.text).toMatch(/must be an http\(s\) URL/);

    // The API's own 404 for a run id of nobody's, passed through with its message.
    const missing = await call(http, 'run_status', {
      runId: `answer:${ctx.tenant.id}:00000000-0000-4000-8000-000000000000`,
    });
    expect(missing.isError).toBe(true);
    expect(missing.text).toBe('Run was not found.');
  });

  it('refuses a missing or wrong key with 401 and the API error shape; GET is 405', async () => {
    const init = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    };
    const post = (headers: Record<string, string>) =>
      fetch(`${api.base}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        body: JSON.stringify(init),
      });
    for (const headers of [{}, { authorization: `Bearer bc_${'x'.repeat(43)}` }] as Array<Record<string, string>>) {
      const res = await post(headers);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: 'unauthorized', message: expect.any(String) } });
    }
    await expect(httpClient(`bc_${'y'.repeat(43)}`)).rejects.toMatchObject({
      code: 401,
      message: expect.stringContaining('The API key is invalid or revoked.'),
    });

    const ok = await post({ authorization: `Bearer ${ctx.tenant.key}` });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ jsonrpc: '2.0', id: 1, result: { serverInfo: { name: 'beyondcloud' } } });

    const get = await fetch(`${api.base}/mcp`, {
      headers: { authorization: `Bearer ${ctx.tenant.key}`, accept: 'text/event-stream' },
    });
    expect(get.status).toBe(405);
    expect(await get.json()).toMatchObject({ error: { code: 'method_not_allowed' } });
  });

  it("another tenant's key sees none of the first tenant's collections or runs", async () => {
    const other = await ctx.addTenant('admin');
    const client = await httpClient(other.key);
    const byId = await call(client, 'search_knowledge', { query: 'pickle protocol', collection: collectionId });
    expect(byId.isError).toBe(true);
    expect(byId.text).toBe(`Collection ${collectionId} was not found.`);
    const byName = await call(client, 'ask', {
      question: 'What is the default pickle protocol?',
      collection: collectionName,
    });
    expect(byName.isError).toBe(true);
    expect(byName.text).toContain(`No collection is named "${collectionName}". There are no collections yet.`);
    const everything = await call(client, 'search_knowledge', { query: 'pickle protocol' });
    expect(everything.isError).toBe(true);
    expect(everything.text).toMatch(/no collections yet/);
    const ingest = await call(client, 'ingest_url', { collection: collectionId, urls: ['https://example.com/'] });
    expect(ingest.isError).toBe(true);
    expect(ingest.text).toBe('Collection was not found.');

    // The first tenant's answer run: "not found", exactly like a missing one.
    const mine = await call(http, 'search_knowledge', { query: 'pickle', collection: collectionId, topK: 1 });
    const foreign = await call(client, 'run_status', { runId: mine.data.runId });
    expect(foreign.isError).toBe(true);
    expect(foreign.text).toBe('Run was not found.');
  });
});

describe('MCP server over stdio (npm run mcp)', () => {
  const stdioClient = async (command: string, args: string[], env: Record<string, string>) => {
    const transport = new StdioClientTransport({
      command,
      args,
      cwd: repoRoot,
      env: { ...getDefaultEnvironment(), ...env },
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    const client = new Client({ name: 'mcp-server-test', version: '1.0.0' });
    ctx.onClose(() => client.close());
    await client.connect(transport);
    return { client, transport, stderr: () => stderr };
  };

  it('serves tools/list and tools/call to the SDK stdio client (node --import tsx scripts/mcp.ts)', async () => {
    const { client, transport, stderr } = await stdioClient(process.execPath, ['--import', 'tsx', 'scripts/mcp.ts'], {
      BEYONDCLOUD_API_URL: api.base,
      BEYONDCLOUD_API_KEY: ctx.tenant.key,
    });
    const pid = transport.pid!;
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(TOOLS);
    const res = await call(client, 'search_knowledge', {
      query: 'Is the pickle module secure?',
      collection: collectionName,
      topK: 2,
    });
    expect(res.isError).toBe(false);
    expect(res.data.hits[0]).toMatchObject({ source: 'pickle.md', headingPath: expect.arrayContaining(['Security']) });
    expect(res.data.hits[0].text).toContain('The pickle module is not secure.');
    const bad = await call(client, 'search_knowledge', { query: 'x', collection: 'nope' });
    expect(bad).toMatchObject({ isError: true, text: expect.stringContaining('No collection is named "nope"') });
    expect(stderr()).toContain(`calling ${api.base}`);
    await client.close();
    // Closing stdin ends the server process.
    await expect.poll(() => isAlive(pid), { timeout: 5000 }).toBe(false);
  });

  it('works as `npm run --silent mcp`, the command for Claude Desktop', async () => {
    const { client } = await stdioClient('npm', ['run', '--silent', 'mcp'], {
      BEYONDCLOUD_API_URL: api.base,
      BEYONDCLOUD_API_KEY: ctx.tenant.key,
    });
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(TOOLS);
    await client.close();
  });

  it('without BEYONDCLOUD_API_KEY it exits 1 with one line on stderr and nothing on stdout', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/mcp.ts'], {
      cwd: repoRoot,
      env: { ...getDefaultEnvironment(), BEYONDCLOUD_API_URL: api.base },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/BEYONDCLOUD_API_KEY is required/)]);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
