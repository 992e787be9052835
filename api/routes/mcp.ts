import { KB_SERVER } from '../../lib/contracts';
import { Router } from '@koa/router';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { z } from 'zod';
import { McpServerEntity, McpToolEntity, type McpServerRow, type McpToolRow } from '../../lib/db/entities';
import { AppError, badRequest, notFound } from '../../lib/errors';
import { checkServerUrl, McpError } from '../../lib/mcp/connect';
import { approveTool, discoverTools } from '../../lib/mcp/registry';
import { checkTenantSecretRef, createTenantSecrets, looksLikeSecretRef } from '../../lib/secrets/tenant';
import type { AppDeps } from '../app';
import { requireRole, type AuthState } from '../auth/middleware';

const serverName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be 1-32 of a-z, 0-9, _ and -, starting with a letter or digit').refine((n) => n !== KB_SERVER, { message: `"${KB_SERVER}" is reserved for the built-in knowledge-base tools` });
const headerName = z.string().regex(/^[A-Za-z0-9-]{1,100}$/);
// Header values that look like credentials must be secret references: the database never holds the secret.
const credentialHeader = /authorization|token|key|secret|cookie|password/i;
const headers = z
  .record(headerName, z.string().max(4000))
  .refine((h) => Object.keys(h).length <= 32, 'at most 32 headers')
  .refine((h) => Object.entries(h).every(([k, v]) => !credentialHeader.test(k) || looksLikeSecretRef(v)), {
    message: 'credential headers (authorization, *token*, *key*, *secret*, cookie, password) must be tenant secret references (secret:<name>)',
  });
const bearerSecret = z.string().max(200).refine(looksLikeSecretRef, 'must be a tenant secret reference (secret:<name>)');

/**
 * A tenant's references name its own secrets only (secret:<name>); env:, file: and vault: name the platform's and are
 * refused here, before anything is stored. The message names the setting, never what the reference points at.
 */
function checkTenantRefs(body: { headers?: Record<string, string>; bearerSecret?: string | null }): void {
  const refs: Array<[string, string]> = [
    ...Object.entries(body.headers ?? {})
      .filter(([, v]) => looksLikeSecretRef(v))
      .map(([k, v]): [string, string] => [`headers.${k}`, v]),
    ...(body.bearerSecret ? [['bearerSecret', body.bearerSecret] as [string, string]] : []),
  ];
  for (const [where, ref] of refs) {
    const checked = checkTenantSecretRef(ref);
    if (checked.ok) continue;
    if (checked.problem === 'not_allowed') {
      throw badRequest('secret_ref_not_allowed', `${where}: only tenant secret references (secret:<name>, see /v1/secrets) are allowed; env:, file: and vault: references are for the platform's own configuration.`);
    }
    throw badRequest('validation_failed', `${where}: must be a tenant secret reference secret:<name>, the name 1-100 of A-Z, a-z, 0-9, _ . and -, starting with a letter or digit.`);
  }
}

const createBody = z.discriminatedUnion('transport', [
  z.object({ transport: z.literal('http'), name: serverName, url: z.url({ protocol: /^https?$/ }).max(2048), headers: headers.optional(), bearerSecret: bearerSecret.optional(), discover: z.boolean().default(true) }).strict(),
  z.object({ transport: z.literal('stdio'), name: serverName, stdioName: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be a name from MCP_STDIO_ALLOWLIST'), discover: z.boolean().default(true) }).strict(),
]);
const patchBody = z
  .object({ enabled: z.boolean().optional(), url: z.url({ protocol: /^https?$/ }).max(2048).optional(), headers: headers.optional(), bearerSecret: bearerSecret.nullable().optional() })
  .strict();
const approveBody = z
  .object({
    /** The definition hash the approver reviewed (from the tool listing). */
    definitionHash: z.string().regex(/^[0-9a-f]{64}$/),
    sensitive: z.boolean().optional(),
    idempotent: z.boolean().optional(),
    timeoutMs: z.number().int().min(1000).max(3_600_000).nullable().optional(),
    maxAttempts: z.number().int().min(1).max(20).optional(),
  })
  .strict();

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

/** The MCP server registry: register (HTTP by URL, stdio by allow-list name), discover, approve tools. */
export function mcpRoutes({ orm, config }: AppDeps) {
  const router = new Router<AuthState>({ prefix: '/v1/mcp/servers', sensitive: true });
  /** The registry is configuration (which servers, which tools, their policy): admins only. */
  const configure = requireRole('admin');
  const secrets = createTenantSecrets({ orm, config });
  const connectOpts = () => ({ stdioAllowList: config.mcp.stdioAllowList, secrets });

  async function ownServer(tenantId: string, id: string) {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw notFound('MCP server');
    const s = await orm.em.fork().findOne(McpServerEntity, { id, tenantId });
    if (!s) throw notFound('MCP server');
    return s;
  }
  const toolsOf = (server: McpServerRow) => orm.em.fork().find(McpToolEntity, { serverId: server.id, tenantId: server.tenantId }, { orderBy: { name: 'asc' } });

  async function discover(server: McpServerRow) {
    try {
      return await discoverTools(orm, server, connectOpts());
    } catch (e) {
      return mcpFailure(e);
    }
  }

  router.post('/', configure, async (ctx) => {
    const body = createBody.parse(ctx.request.body ?? {});
    const { tenantId } = ctx.state.principal;
    if (body.transport === 'http') checkTenantRefs(body);
    if (body.transport === 'stdio' && !config.mcp.stdioAllowList.has(body.stdioName)) {
      throw badRequest('mcp_stdio_not_allowed', `"${body.stdioName}" is not in the server's MCP_STDIO_ALLOWLIST (${[...config.mcp.stdioAllowList.keys()].join(', ') || 'empty'}).`);
    }
    if (body.transport === 'http') await checkServerUrl(body.url, config.ingest.fetch.allowHosts).catch(mcpFailure);
    const em = orm.em.fork();
    const server = em.create(McpServerEntity, {
      tenantId,
      name: body.name,
      transport: body.transport,
      ...(body.transport === 'http' ? { url: body.url, headers: body.headers ?? {}, bearerSecret: body.bearerSecret ?? null } : { stdioName: body.stdioName, headers: {} }),
    });
    try {
      await em.flush();
    } catch (e) {
      if (e instanceof UniqueConstraintViolationException) throw new AppError({ code: 'name_taken', message: `An MCP server named "${body.name}" exists already.`, status: 409, category: 'conflict' });
      throw e;
    }
    let discovery: unknown = null;
    if (body.discover) {
      try {
        discovery = await discoverTools(orm, server, connectOpts());
      } catch (e) {
        discovery = { error: { code: e instanceof McpError ? e.code : 'mcp_discovery_failed', message: (e as Error).message } };
      }
    }
    const fresh = await ownServer(tenantId, server.id);
    ctx.status = 201;
    ctx.body = { server: publicServer(fresh), discovery, tools: (await toolsOf(fresh)).map(publicTool) };
  });

  router.get('/', async (ctx) => {
    const servers = await orm.em.fork().find(McpServerEntity, { tenantId: ctx.state.principal.tenantId }, { orderBy: { name: 'asc' } });
    ctx.body = { servers: servers.map(publicServer) };
  });

  router.get('/:id', async (ctx) => {
    const server = await ownServer(ctx.state.principal.tenantId, ctx.params.id!);
    ctx.body = { server: publicServer(server), tools: (await toolsOf(server)).map(publicTool) };
  });

  router.patch('/:id', configure, async (ctx) => {
    const body = patchBody.parse(ctx.request.body ?? {});
    checkTenantRefs(body);
    const server = await ownServer(ctx.state.principal.tenantId, ctx.params.id!);
    if (server.transport === 'stdio' && (body.url || body.headers || body.bearerSecret !== undefined)) {
      throw badRequest('not_http', 'url, headers and bearerSecret apply to HTTP servers only.');
    }
    if (body.url) await checkServerUrl(body.url, config.ingest.fetch.allowHosts).catch(mcpFailure);
    const em = orm.em.fork();
    await em.nativeUpdate(McpServerEntity, { id: server.id }, {
      ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
      ...(body.url ? { url: body.url } : {}),
      ...(body.headers ? { headers: body.headers } : {}),
      ...(body.bearerSecret !== undefined ? { bearerSecret: body.bearerSecret } : {}),
      updatedAt: new Date(),
    });
    ctx.body = { server: publicServer(await ownServer(server.tenantId, server.id)) };
  });

  router.delete('/:id', configure, async (ctx) => {
    const server = await ownServer(ctx.state.principal.tenantId, ctx.params.id!);
    await orm.em.fork().nativeDelete(McpServerEntity, { id: server.id });
    ctx.status = 204;
  });

  router.post('/:id/discover', configure, async (ctx) => {
    const server = await ownServer(ctx.state.principal.tenantId, ctx.params.id!);
    const summary = await discover(server);
    ctx.body = { discovery: summary, tools: (await toolsOf(server)).map(publicTool) };
  });

  router.get('/:id/tools', async (ctx) => {
    const server = await ownServer(ctx.state.principal.tenantId, ctx.params.id!);
    ctx.body = { tools: (await toolsOf(server)).map(publicTool) };
  });

  router.post('/:id/tools/:name/approve', configure, async (ctx) => {
    const body = approveBody.parse(ctx.request.body ?? {});
    const { tenantId, keyName, keyPrefix } = ctx.state.principal;
    const server = await ownServer(tenantId, ctx.params.id!);
    const outcome = await approveTool(orm, tenantId, server.id, ctx.params.name!, { ...body, by: `${keyName} (${keyPrefix}…)` });
    if (!outcome.ok) {
      if (outcome.reason === 'not_found') throw notFound('Tool');
      if (outcome.reason === 'removed') throw new AppError({ code: 'tool_removed', message: 'The server no longer offers this tool.', status: 409, category: 'conflict' });
      throw new AppError({
        code: 'definition_changed',
        message: 'The tool definition is not the one you reviewed (the server changed it); review the current definition and approve its hash.',
        status: 409,
        category: 'conflict',
        details: { definitionHash: outcome.tool?.definitionHash },
      });
    }
    ctx.body = { tool: publicTool(outcome.tool) };
  });

  router.post('/:id/tools/:name/disable', configure, async (ctx) => {
    const server = await ownServer(ctx.state.principal.tenantId, ctx.params.id!);
    const n = await orm.em.fork().nativeUpdate(McpToolEntity, { serverId: server.id, name: ctx.params.name! }, { status: 'disabled' });
    if (n === 0) throw notFound('Tool');
    ctx.body = { tool: publicTool((await orm.em.fork().findOne(McpToolEntity, { serverId: server.id, name: ctx.params.name! }))!) };
  });

  return router;
}
