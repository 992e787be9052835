import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Config } from '../../lib/config';
import { McpServerEntity, McpToolEntity, type McpServerRow, type McpToolRow } from '../../lib/db/entities';
import type { Orm } from '../../lib/db/orm';
import { AppError, badRequest, notFound } from '../../lib/errors';
import { checkServerUrl, McpError } from '../../lib/mcp/connect';
import { approveTool, discoverTools, type ApproveToolOptions } from '../../lib/mcp/registry';
import type { TenantSecrets } from '../../lib/secrets/tenant';
import { actorLabel, type Principal } from '../auth/api-keys';
import { isUuid } from '../schemas';

/** A server to register: HTTP by URL (credentials only as tenant secret references), stdio by allow-list name. */
export type NewMcpServer =
  | {
      transport: 'http';
      name: string;
      url: string;
      headers?: Record<string, string>;
      bearerSecret?: string;
      discover: boolean;
    }
  | { transport: 'stdio'; name: string; stdioName: string; discover: boolean };

export interface McpServerPatch {
  enabled?: boolean;
  url?: string;
  headers?: Record<string, string>;
  bearerSecret?: string | null;
}

export type PublicMcpServer = ReturnType<typeof publicServer>;
export type PublicMcpTool = ReturnType<typeof publicTool>;

const publicServer = (s: McpServerRow) => ({
  id: s.id,
  name: s.name,
  transport: s.transport,
  url: s.url ?? null,
  stdioName: s.stdioName ?? null,
  // Names only: literal values may be internal, references are shown by bearerSecret.
  headerNames: Object.keys(s.headers ?? {}),
  bearerSecret: s.bearerSecret ?? null,
  enabled: s.enabled,
  lastDiscoveredAt: s.lastDiscoveredAt ?? null,
  lastError: s.lastError ?? null,
  createdAt: s.createdAt,
  updatedAt: s.updatedAt,
});

const publicTool = (t: McpToolRow) => ({
  name: t.name,
  status: t.status,
  description: t.definition.description ?? null,
  inputSchema: t.definition.inputSchema,
  definitionHash: t.definitionHash,
  approvedHash: t.approvedHash ?? null,
  /** What was approved, when the server has changed the tool since. */
  approvedDefinition: t.approvedHash && t.approvedHash !== t.definitionHash ? t.approvedDefinition : undefined,
  sensitive: t.sensitive,
  idempotent: t.idempotent,
  timeoutMs: t.timeoutMs ?? null,
  maxAttempts: t.maxAttempts,
  approvedBy: t.approvedBy ?? null,
  approvedAt: t.approvedAt ?? null,
  discoveredAt: t.discoveredAt,
});

const mcpFailure = (e: unknown): never => {
  if (e instanceof McpError) {
    const status = e.code === 'mcp_connect_failed' ? 502 : 400;
    throw new AppError({ code: e.code, message: e.message, status, category: status === 502 ? 'dependency' : 'user' });
  }
  throw e;
};

/** The MCP server registry of one tenant at a time: register, change, discover tools, approve and disable them. */
export class McpService {
  constructor(
    private readonly orm: Orm,
    private readonly config: Config,
    private readonly secrets: TenantSecrets,
  ) {}

  async register(tenantId: string, body: NewMcpServer) {
    if (body.transport === 'stdio' && !this.config.mcp.stdioAllowList.has(body.stdioName)) {
      throw badRequest(
        'mcp_stdio_not_allowed',
        `"${body.stdioName}" is not in the server's MCP_STDIO_ALLOWLIST (${[...this.config.mcp.stdioAllowList.keys()].join(', ') || 'empty'}).`,
      );
    }
    if (body.transport === 'http')
      await checkServerUrl(body.url, this.config.ingest.fetch.allowHosts).catch(mcpFailure);
    const em = this.orm.em.fork();
    const server = em.create(McpServerEntity, {
      tenantId,
      name: body.name,
      transport: body.transport,
      ...(body.transport === 'http'
        ? { url: body.url, headers: body.headers ?? {}, bearerSecret: body.bearerSecret ?? null }
        : { stdioName: body.stdioName, headers: {} }),
    });
    try {
      await em.flush();
    } catch (e) {
      if (e instanceof UniqueConstraintViolationException)
        throw new AppError({
          code: 'name_taken',
          message: `An MCP server named "${body.name}" exists already.`,
          status: 409,
          category: 'conflict',
        });
      throw e;
    }
    let discovery: unknown = null;
    if (body.discover) {
      try {
        discovery = await discoverTools(this.orm, server, this.connectOpts());
      } catch (e) {
        // Registered all the same: the failure is reported, and discovery can be run again.
        discovery = {
          error: { code: e instanceof McpError ? e.code : 'mcp_discovery_failed', message: (e as Error).message },
        };
      }
    }
    const fresh = await this.own(tenantId, server.id);
    return { server: publicServer(fresh), discovery, tools: await this.toolsOf(fresh) };
  }

  async list(tenantId: string) {
    const servers = await this.orm.em.fork().find(McpServerEntity, { tenantId }, { orderBy: { name: 'asc' } });
    return { servers: servers.map(publicServer) };
  }

  async view(tenantId: string, id: string) {
    const server = await this.own(tenantId, id);
    return { server: publicServer(server), tools: await this.toolsOf(server) };
  }

  async update(tenantId: string, id: string, patch: McpServerPatch) {
    const server = await this.own(tenantId, id);
    if (server.transport === 'stdio' && (patch.url || patch.headers || patch.bearerSecret !== undefined)) {
      throw badRequest('not_http', 'url, headers and bearerSecret apply to HTTP servers only.');
    }
    if (patch.url) await checkServerUrl(patch.url, this.config.ingest.fetch.allowHosts).catch(mcpFailure);
    await this.orm.em.fork().nativeUpdate(
      McpServerEntity,
      { id: server.id },
      {
        ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
        ...(patch.url ? { url: patch.url } : {}),
        ...(patch.headers ? { headers: patch.headers } : {}),
        ...(patch.bearerSecret !== undefined ? { bearerSecret: patch.bearerSecret } : {}),
        updatedAt: new Date(),
      },
    );
    return { server: publicServer(await this.own(server.tenantId, server.id)) };
  }

  async delete(tenantId: string, id: string): Promise<void> {
    const server = await this.own(tenantId, id);
    await this.orm.em.fork().nativeDelete(McpServerEntity, { id: server.id });
  }

  /** Lists the server's tools again and stores what changed (a changed tool needs approving again). */
  async discover(tenantId: string, id: string) {
    const server = await this.own(tenantId, id);
    const discovery = await discoverTools(this.orm, server, this.connectOpts()).catch(mcpFailure);
    return { discovery, tools: await this.toolsOf(server) };
  }

  async tools(tenantId: string, id: string) {
    return { tools: await this.toolsOf(await this.own(tenantId, id)) };
  }

  /** Approves the definition the caller reviewed, as the caller's key; refused when the server changed it since. */
  async approveTool(tenantId: string, id: string, name: string, review: Omit<ApproveToolOptions, 'by'>, by: Principal) {
    const server = await this.own(tenantId, id);
    const outcome = await approveTool(this.orm, tenantId, server.id, name, {
      ...review,
      by: actorLabel(by),
    });
    if (!outcome.ok) {
      if (outcome.reason === 'not_found') throw notFound('Tool');
      if (outcome.reason === 'removed')
        throw new AppError({
          code: 'tool_removed',
          message: 'The server no longer offers this tool.',
          status: 409,
          category: 'conflict',
        });
      throw new AppError({
        code: 'definition_changed',
        message:
          'The tool definition is not the one you reviewed (the server changed it); review the current definition and approve its hash.',
        status: 409,
        category: 'conflict',
        details: { definitionHash: outcome.tool?.definitionHash },
      });
    }
    return { tool: publicTool(outcome.tool) };
  }

  async disableTool(tenantId: string, id: string, name: string) {
    const server = await this.own(tenantId, id);
    const n = await this.orm.em
      .fork()
      .nativeUpdate(McpToolEntity, { serverId: server.id, name }, { status: 'disabled' });
    if (n === 0) throw notFound('Tool');
    return { tool: publicTool((await this.orm.em.fork().findOne(McpToolEntity, { serverId: server.id, name }))!) };
  }

  /** The tenant's server, or 404 exactly like a missing one. */
  private async own(tenantId: string, id: string): Promise<McpServerRow> {
    if (!isUuid(id)) throw notFound('MCP server');
    const s = await this.orm.em.fork().findOne(McpServerEntity, { id, tenantId });
    if (!s) throw notFound('MCP server');
    return s;
  }

  private async toolsOf(server: McpServerRow) {
    const tools = await this.orm.em
      .fork()
      .find(McpToolEntity, { serverId: server.id, tenantId: server.tenantId }, { orderBy: { name: 'asc' } });
    return tools.map(publicTool);
  }

  private connectOpts() {
    return { stdioAllowList: this.config.mcp.stdioAllowList, secrets: this.secrets };
  }
}
