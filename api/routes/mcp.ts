import { KB_SERVER } from '../../lib/contracts';
import { Router } from '@koa/router';
import { z } from 'zod';
import { badRequest } from '../../lib/errors';
import { checkTenantSecretRef, looksLikeSecretRef } from '../../lib/secrets/tenant';
import type { AppDeps } from '../deps';
import { requireRole, type AuthState } from '../auth/middleware';
import { McpService } from '../mcp/service';

const serverName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be 1-32 of a-z, 0-9, _ and -, starting with a letter or digit')
  .refine((n) => n !== KB_SERVER, { message: `"${KB_SERVER}" is reserved for the built-in knowledge-base tools` });
const headerName = z.string().regex(/^[A-Za-z0-9-]{1,100}$/);
// Header values that look like credentials must be secret references: the database never holds the secret.
const credentialHeader = /authorization|token|key|secret|cookie|password/i;
const headers = z
  .record(headerName, z.string().max(4000))
  .refine((h) => Object.keys(h).length <= 32, 'at most 32 headers')
  .refine((h) => Object.entries(h).every(([k, v]) => !credentialHeader.test(k) || looksLikeSecretRef(v)), {
    message:
      'credential headers (authorization, *token*, *key*, *secret*, cookie, password) must be tenant secret references (secret:<name>)',
  });
const bearerSecret = z
  .string()
  .max(200)
  .refine(looksLikeSecretRef, 'must be a tenant secret reference (secret:<name>)');

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
      throw badRequest(
        'secret_ref_not_allowed',
        `${where}: only tenant secret references (secret:<name>, see /v1/secrets) are allowed; env:, file: and vault: references are for the platform's own configuration.`,
      );
    }
    throw badRequest(
      'validation_failed',
      `${where}: must be a tenant secret reference secret:<name>, the name 1-100 of A-Z, a-z, 0-9, _ . and -, starting with a letter or digit.`,
    );
  }
}

export const createBody = z.discriminatedUnion('transport', [
  z
    .object({
      transport: z.literal('http'),
      name: serverName,
      url: z.url({ protocol: /^https?$/ }).max(2048),
      headers: headers.optional(),
      bearerSecret: bearerSecret.optional(),
      discover: z.boolean().default(true),
    })
    .strict(),
  z
    .object({
      transport: z.literal('stdio'),
      name: serverName,
      stdioName: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be a name from MCP_STDIO_ALLOWLIST'),
      discover: z.boolean().default(true),
    })
    .strict(),
]);
export const patchBody = z
  .object({
    enabled: z.boolean().optional(),
    url: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional(),
    headers: headers.optional(),
    bearerSecret: bearerSecret.nullable().optional(),
  })
  .strict();
export const approveBody = z
  .object({
    /** The definition hash the approver reviewed (from the tool listing). */
    definitionHash: z.string().regex(/^[0-9a-f]{64}$/),
    sensitive: z.boolean().optional(),
    idempotent: z.boolean().optional(),
    timeoutMs: z.number().int().min(1000).max(3_600_000).nullable().optional(),
    maxAttempts: z.number().int().min(1).max(20).optional(),
  })
  .strict();

/** The MCP server registry: register (HTTP by URL, stdio by allow-list name), discover, approve tools. */
export function mcpRoutes({ orm, config, secrets }: AppDeps) {
  const mcp = new McpService(orm, config, secrets);
  const router = new Router<AuthState>({ prefix: '/v1/mcp/servers', sensitive: true });
  /** The registry is configuration (which servers, which tools, their policy): admins only. */
  const configure = requireRole('admin');

  router.post('/', configure, async (ctx) => {
    const body = createBody.parse(ctx.request.body ?? {});
    if (body.transport === 'http') checkTenantRefs(body);
    const registered = await mcp.register(ctx.state.principal.tenantId, body);
    ctx.status = 201;
    ctx.body = registered;
  });

  router.get('/', async (ctx) => {
    ctx.body = await mcp.list(ctx.state.principal.tenantId);
  });

  router.get('/:id', async (ctx) => {
    ctx.body = await mcp.view(ctx.state.principal.tenantId, ctx.params.id!);
  });

  router.patch('/:id', configure, async (ctx) => {
    const body = patchBody.parse(ctx.request.body ?? {});
    checkTenantRefs(body);
    ctx.body = await mcp.update(ctx.state.principal.tenantId, ctx.params.id!, body);
  });

  router.delete('/:id', configure, async (ctx) => {
    await mcp.delete(ctx.state.principal.tenantId, ctx.params.id!);
    ctx.status = 204;
  });

  router.post('/:id/discover', configure, async (ctx) => {
    ctx.body = await mcp.discover(ctx.state.principal.tenantId, ctx.params.id!);
  });

  router.get('/:id/tools', async (ctx) => {
    ctx.body = await mcp.tools(ctx.state.principal.tenantId, ctx.params.id!);
  });

  router.post('/:id/tools/:name/approve', configure, async (ctx) => {
    const body = approveBody.parse(ctx.request.body ?? {});
    ctx.body = await mcp.approveTool(
      ctx.state.principal.tenantId,
      ctx.params.id!,
      ctx.params.name!,
      body,
      ctx.state.principal,
    );
  });

  router.post('/:id/tools/:name/disable', configure, async (ctx) => {
    ctx.body = await mcp.disableTool(ctx.state.principal.tenantId, ctx.params.id!, ctx.params.name!);
  });

  return router;
}
