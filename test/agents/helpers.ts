import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import type { startTestApi } from '../harness';

type Api = Awaited<ReturnType<typeof startTestApi>>;

export { mcpServerScript, startEverythingHttp } from '../mcp-servers';

export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Registers a server through the API and approves the named tools with the given policy. */
export async function registerServer(
  api: Api,
  key: string,
  body: Record<string, unknown>,
  approve: Record<string, { sensitive?: boolean; idempotent?: boolean; maxAttempts?: number }>,
): Promise<{ id: string; tools: Array<{ name: string; definitionHash: string; status: string }> }> {
  const res = await api.request('POST', '/v1/mcp/servers', { key, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body!.discovery?.error).toBeUndefined();
  const id = res.body!.server.id as string;
  const tools = res.body!.tools as Array<{ name: string; definitionHash: string; status: string }>;
  for (const [name, policy] of Object.entries(approve)) {
    const tool = tools.find((t) => t.name === name);
    expect(tool, `${name} was discovered`).toBeDefined();
    const ok = await api.request('POST', `/v1/mcp/servers/${id}/tools/${encodeURIComponent(name)}/approve`, {
      key,
      body: { definitionHash: tool!.definitionHash, ...policy },
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
  }
  return { id, tools };
}

/** The `role: tool` messages the model was sent in a chat request. */
export function toolMessages(body: unknown): string[] {
  const messages = (body as { messages?: Array<{ role: string; content: unknown }> } | undefined)?.messages ?? [];
  return messages.filter((m) => m.role === 'tool').map((m) => String(m.content));
}
