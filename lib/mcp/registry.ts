import type { Orm } from '../db/orm';
import {
  McpServerEntity,
  McpToolEntity,
  type McpServerRow,
  type McpToolDefinition,
  type McpToolRow,
} from '../db/entities/mcp';
import type { AgentTool } from '../contracts';
import { connectMcp, connectionSpec, type McpConnectOptions } from './connect';
import { definitionHash, toolDefinition } from './definition';

export interface DiscoveredTool {
  definition: McpToolDefinition;
  annotations?: { readOnlyHint?: boolean; destructiveHint?: boolean; idempotentHint?: boolean };
}

export interface SyncSummary {
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: string[];
}

/**
 * Stores what a server lists: new tools are `pending` (nobody approved them), a tool whose definition hash differs
 * from the approved one becomes `changed` and is refused until someone approves the new definition, a tool whose
 * definition is back to the approved one is `approved` again, and tools no longer listed are `removed`.
 */
export async function syncTools(
  orm: Orm,
  server: Pick<McpServerRow, 'id' | 'tenantId'>,
  tools: DiscoveredTool[],
): Promise<SyncSummary> {
  const em = orm.em.fork();
  const existing = new Map(
    (await em.find(McpToolEntity, { serverId: server.id, tenantId: server.tenantId })).map((t) => [t.name, t]),
  );
  const summary: SyncSummary = { added: [], changed: [], removed: [], unchanged: [] };
  const now = new Date();
  for (const { definition, annotations } of tools) {
    const hash = definitionHash(definition);
    const row = existing.get(definition.name);
    existing.delete(definition.name);
    if (!row) {
      const readOnly = annotations?.readOnlyHint === true;
      em.create(McpToolEntity, {
        tenantId: server.tenantId,
        serverId: server.id,
        name: definition.name,
        definition,
        definitionHash: hash,
        status: 'pending',
        // Defaults an operator confirms when approving: anything not declared read-only needs a person per call.
        sensitive: !readOnly,
        idempotent: readOnly || annotations?.idempotentHint === true,
        discoveredAt: now,
      });
      summary.added.push(definition.name);
      continue;
    }
    if (row.definitionHash === hash && row.status !== 'removed') {
      summary.unchanged.push(definition.name);
      continue;
    }
    row.definition = definition;
    row.definitionHash = hash;
    row.discoveredAt = now;
    if (row.status !== 'disabled')
      row.status =
        row.approvedHash === null || row.approvedHash === undefined
          ? 'pending'
          : row.approvedHash === hash
            ? 'approved'
            : 'changed';
    (row.approvedHash && row.approvedHash !== hash ? summary.changed : summary.unchanged).push(definition.name);
  }
  for (const row of existing.values()) {
    if (row.status !== 'removed') {
      row.status = 'removed';
      summary.removed.push(row.name);
    }
  }
  await em.flush();
  return summary;
}

/** Lists a server's tools over a short-lived session (the API's discovery; workers use their pool). */
export async function listServerTools(server: McpServerRow, opts: McpConnectOptions): Promise<DiscoveredTool[]> {
  const client = await connectMcp(await connectionSpec(server, opts));
  try {
    const out: DiscoveredTool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : undefined, { timeout: 30_000 });
      for (const t of page.tools) {
        out.push({
          definition: toolDefinition(t as { name: string; description?: string; inputSchema: Record<string, unknown> }),
          annotations: t.annotations,
        });
      }
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  } finally {
    await client.close().catch(() => {});
  }
}

/** Connects, lists and stores the server's tools; the outcome (or the error) is recorded on the server row. */
export async function discoverTools(orm: Orm, server: McpServerRow, opts: McpConnectOptions): Promise<SyncSummary> {
  const em = orm.em.fork();
  try {
    const summary = await syncTools(orm, server, await listServerTools(server, opts));
    await em.nativeUpdate(McpServerEntity, { id: server.id }, { lastDiscoveredAt: new Date(), lastError: null });
    return summary;
  } catch (e) {
    await em.nativeUpdate(McpServerEntity, { id: server.id }, { lastError: (e as Error).message.slice(0, 2000) });
    throw e;
  }
}

export interface ApproveToolOptions {
  /** The definition hash the approver saw; approving fails if the server changed it since. */
  definitionHash: string;
  sensitive?: boolean;
  idempotent?: boolean;
  timeoutMs?: number | null;
  maxAttempts?: number;
  by: string;
}

export type ApproveOutcome =
  { ok: true; tool: McpToolRow } | { ok: false; reason: 'not_found' | 'hash_mismatch' | 'removed'; tool?: McpToolRow };

/** Pins the tool's current definition as approved (also re-approves a changed one). */
export async function approveTool(
  orm: Orm,
  tenantId: string,
  serverId: string,
  name: string,
  o: ApproveToolOptions,
): Promise<ApproveOutcome> {
  const em = orm.em.fork();
  const tool = await em.findOne(McpToolEntity, { tenantId, serverId, name });
  if (!tool) return { ok: false, reason: 'not_found' };
  if (tool.status === 'removed') return { ok: false, reason: 'removed', tool };
  if (tool.definitionHash !== o.definitionHash) return { ok: false, reason: 'hash_mismatch', tool };
  tool.approvedHash = tool.definitionHash;
  tool.approvedDefinition = tool.definition;
  tool.status = 'approved';
  tool.approvedBy = o.by;
  tool.approvedAt = new Date();
  if (o.sensitive !== undefined) tool.sensitive = o.sensitive;
  if (o.idempotent !== undefined) tool.idempotent = o.idempotent;
  if (o.timeoutMs !== undefined) tool.timeoutMs = o.timeoutMs;
  if (o.maxAttempts !== undefined) tool.maxAttempts = o.maxAttempts;
  await em.flush();
  return { ok: true, tool };
}

/** The function name a model sees for a tool: OpenAI allows ^[A-Za-z0-9_-]{1,64}$. */
export function toolAlias(serverName: string, toolName: string): string {
  const alias = `${serverName}__${toolName}`.replace(/[^A-Za-z0-9_-]/g, '_');
  return alias.length <= 64
    ? alias
    : `${alias.slice(0, 55)}_${definitionHash({ name: alias, inputSchema: {} }).slice(0, 8)}`;
}

export interface ResolvedTools {
  tools: AgentTool[];
  /** References that name nothing usable, with why. */
  problems: Array<{ ref: string; problem: string }>;
}

/**
 * Turns `server/tool` and `server/*` references into pinned tools: only approved tools whose current definition is
 * the approved one, of enabled servers of the tenant.
 */
export async function resolveAgentTools(
  orm: Orm,
  tenantId: string,
  refs: string[],
  defaultTimeoutMs: number,
): Promise<ResolvedTools> {
  const em = orm.em.fork();
  const servers = new Map((await em.find(McpServerEntity, { tenantId })).map((s) => [s.name, s]));
  const out = new Map<string, AgentTool>();
  const problems: ResolvedTools['problems'] = [];
  for (const ref of refs) {
    const slash = ref.indexOf('/');
    const serverName = slash > 0 ? ref.slice(0, slash) : '';
    const toolName = slash > 0 ? ref.slice(slash + 1) : '';
    const server = servers.get(serverName);
    if (!server) {
      problems.push({ ref, problem: 'no such server' });
      continue;
    }
    if (!server.enabled) {
      problems.push({ ref, problem: 'the server is disabled' });
      continue;
    }
    const rows = await em.find(
      McpToolEntity,
      { tenantId, serverId: server.id, ...(toolName === '*' ? { status: 'approved' as const } : { name: toolName }) },
      { orderBy: { name: 'asc' } },
    );
    if (rows.length === 0)
      problems.push({
        ref,
        problem: toolName === '*' ? 'the server has no approved tools' : 'no such tool (run discovery?)',
      });
    for (const row of rows) {
      if (row.status !== 'approved' || !row.approvedDefinition || row.approvedHash !== row.definitionHash) {
        problems.push({
          ref: `${serverName}/${row.name}`,
          problem:
            row.status === 'changed' ? 'its definition changed since approval; re-approve it' : `it is ${row.status}`,
        });
        continue;
      }
      const def = row.approvedDefinition;
      const alias = toolAlias(server.name, row.name);
      out.set(alias, {
        alias,
        serverId: server.id,
        serverName: server.name,
        toolName: row.name,
        ...(def.description !== undefined ? { description: def.description } : {}),
        inputSchema: def.inputSchema,
        definitionHash: row.approvedHash,
        sensitive: row.sensitive,
        idempotent: row.idempotent,
        timeoutMs: row.timeoutMs ?? defaultTimeoutMs,
        maxAttempts: row.maxAttempts,
      });
    }
  }
  return { tools: [...out.values()], problems };
}
