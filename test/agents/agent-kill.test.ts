import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AgentRunResult, AgentState } from '../../lib/contracts';
import { setupTestContext, startTestApi, type TestContext } from '../harness';
import { startOpenAiServer, type OpenAiTestServer } from '../openai-server';
import { startCountingMcpServer, type CountingMcpServer } from './counting-mcp-server';
import { registerServer, toolMessages, until } from './helpers';

/** Agent runs across SIGKILLed worker processes (workers/main.ts, main and tools queues in one process). */
let ctx: TestContext;
let llm: OpenAiTestServer;
let api: Awaited<ReturnType<typeof startTestApi>>;
let counting: CountingMcpServer;

afterAll(async () => {
  await ctx?.close();
  await counting?.close();
  await llm?.close();
});
beforeAll(async () => {
  [llm, counting] = await Promise.all([startOpenAiServer({ apiKey: 'sk-agent-kill' }), startCountingMcpServer()]);
  ctx = await setupTestContext({
    OPENAI_BASE_URL: `${llm.url}/v1`,
    OPENAI_API_KEY: 'sk-agent-kill',
    FETCH_ALLOW_HOSTS: '127.0.0.1',
  });
  api = await startTestApi(ctx);
  await registerServer(
    api,
    ctx.tenant.key,
    { name: 'notes', transport: 'http', url: counting.url },
    {
      append_note: { sensitive: false, idempotent: false },
      delete_notes: { sensitive: true },
    },
  );
});

const workerEnv = () => ({ OPENAI_BASE_URL: `${llm.url}/v1`, OPENAI_API_KEY: 'sk-agent-kill' });
const state = async (workflowId: string) =>
  (await api.request('GET', `/v1/agents/runs/${workflowId}`, { key: ctx.tenant.key })).body!.state as AgentState;
async function kill(worker: ChildProcess) {
  worker.kill('SIGKILL');
  await new Promise((r) => worker.once('exit', r));
}
async function startAgent(body: Record<string, unknown>): Promise<string> {
  const res = await api.request('POST', '/v1/agents/runs', { key: ctx.tenant.key, body });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body!.workflowId as string;
}

it('completes a run whose worker is SIGKILLed mid-loop, repeating no completed tool call and no model turn', async () => {
  const first = await ctx.startWorkerProcess({ env: workerEnv() });
  const chatBefore = llm.requestsTo('/chat/completions').length;
  llm.chat.enqueue(
    { reply: { toolCalls: [{ name: 'notes__append_note', arguments: { text: 'first' } }] } },
    // The second note is held at the server for 4 s: the worker is killed while it is in flight.
    () => {
      counting.appendDelayMs = 4_000;
      return { reply: { toolCalls: [{ name: 'notes__append_note', arguments: { text: 'second' } }] } };
    },
    () => {
      counting.appendDelayMs = 0;
      return { reply: { toolCalls: [{ name: 'notes__append_note', arguments: { text: 'third' } }] } };
    },
    { reply: { content: 'Three notes taken.' } },
  );
  const workflowId = await startAgent({ goal: 'Take three notes.', tools: ['notes/append_note'] });
  await until('the second note at the server', () => counting.calls.some((c) => c.args.text === 'second'));
  await kill(first);
  expect((await ctx.client.workflow.getHandle(workflowId).describe()).status.name).toBe('RUNNING');

  await ctx.startWorkerProcess({ env: workerEnv() });
  const r = (await ctx.client.workflow.getHandle(workflowId).result()) as AgentRunResult;

  expect(r.status).toBe('completed');
  // Counted at the server: the completed call ran once; the interrupted non-idempotent call was not sent again
  // (the model was told its outcome is unknown) and the run went on.
  const texts = counting.callsOf('append_note').map((c) => c.args.text);
  expect(texts.filter((t) => t === 'first')).toHaveLength(1);
  expect(texts.filter((t) => t === 'second')).toHaveLength(1);
  expect(texts.filter((t) => t === 'third')).toHaveLength(1);
  expect(r.trace.map((t) => [t.arguments, t.outcome])).toEqual([
    ['{"text":"first"}', 'ok'],
    ['{"text":"second"}', 'outcome_unknown'],
    ['{"text":"third"}', 'ok'],
  ]);
  // Every model turn ran once: the completed ones came from the history after the restart.
  expect(llm.requestsTo('/chat/completions').length - chatBefore).toBe(4);
  expect(toolMessages(llm.requestsTo('/chat/completions').at(-2)!.body).at(-1)).toContain(
    'whether it took effect is unknown',
  );
});

it('takes an approval that arrives after a worker restart, and the call proceeds', async () => {
  const first = await ctx.startWorkerProcess({ env: workerEnv() });
  const deletes = counting.callsOf('delete_notes').length;
  llm.chat.enqueue(
    { reply: { toolCalls: [{ name: 'notes__delete_notes', arguments: {} }] } },
    { reply: { content: 'Deleted.' } },
  );
  const workflowId = await startAgent({ goal: 'Delete every note.', tools: ['notes/delete_notes'] });
  const pending = await until('a pending approval', async () => (await state(workflowId)).pendingApproval);

  await kill(first);
  await ctx.startWorkerProcess({ env: workerEnv() });
  const res = await api.request('POST', `/v1/agents/runs/${workflowId}/approvals`, {
    key: ctx.tenant.key,
    body: { callId: pending.callId, approve: true, reason: 'ok by me' },
  });
  expect(res.status).toBe(200);
  const r = (await ctx.client.workflow.getHandle(workflowId).result()) as AgentRunResult;

  expect(r.status).toBe('completed');
  expect(r.trace[0]).toMatchObject({ outcome: 'ok', approval: { approved: true, reason: 'ok by me' } });
  expect(counting.callsOf('delete_notes').length).toBe(deletes + 1);
  expect(counting.notes).toEqual([]);
});
