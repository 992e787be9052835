import { trace } from '@opentelemetry/api';
import type { Middleware, ParameterizedContext } from 'koa';
import { ZodError } from 'zod';
import { MCP_TOOL_HEADER, MCP_TOOL_NAME, type AuditOutcome } from '../../lib/contracts/audit';
import { AppError } from '../../lib/errors';
import type { AppDeps } from '../deps';
import type { AuthState } from '../auth/middleware';
import { actorLabel, type Principal } from '../auth/api-keys';
import { createdTarget, decision, defaultAction, mcpRequest, pathTargets, safeDetail, unmatchedPath } from './describe';
import { appendAuditEntry, keyUseHour, recordKeyUse, type NewAuditEntry } from './service';

const AUDITED_PATH = /^\/(v1|mcp)(\/|$)/i;
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The status the error handler will answer a thrown error with (api/errors.ts), for the entry. */
function thrownStatus(err: unknown): { status: number; code: string | null } {
  if (err instanceof AppError) return { status: err.status, code: err.code };
  if (err instanceof ZodError) return { status: 400, code: 'validation_failed' };
  const e = err as { status?: number; statusCode?: number } | null;
  return { status: e?.status ?? e?.statusCode ?? 500, code: null };
}

const outcomeOf = (status: number): AuditOutcome =>
  status < 400 ? 'success' : status === 401 || status === 403 ? 'denied' : 'failure';

const clip = (v: string, n: number) => (v.length > n ? v.slice(0, n) : v);

/**
 * The audit log's writer, around every `/v1` and `/mcp` request. It keeps:
 * - every write (any method but GET, HEAD and OPTIONS), whatever its outcome: success, failure, or denied (401/403);
 *   on `/mcp` only tool calls (`tools/call`) and refused requests, not the protocol's handshakes and listings;
 * - every request whose handler set `ctx.state.audit` (sign-ins, reads of the audit log itself);
 * - a key's use (`key.use`), once per key and clock hour (here rather than in resolveApiKey, because only here are
 *   the client's address and user agent known; a unique index makes it hold across API processes).
 * A request that no tenant can be told of (a 401 without a key, a sign-in for an unknown account) is logged, not
 * stored. The entry is written before the response is sent, so the caller reads it at once; a failed write is logged
 * and the request answers as it would have.
 */
export function auditMiddleware(deps: AppDeps): Middleware<AuthState> {
  const { orm, log } = deps;
  /** keyId → the hour its use was last recorded by this process: a key's next use in the hour costs no query. */
  const keyUses = new Map<string, string>();

  const keyUsed = async (principal: Principal, request: Parameters<typeof recordKeyUse>[2]) => {
    const hour = keyUseHour(new Date());
    if (!principal.keyId || keyUses.get(principal.keyId) === hour) return;
    keyUses.set(principal.keyId, hour);
    if (keyUses.size > 10_000) keyUses.clear();
    try {
      await recordKeyUse(orm, principal, request);
    } catch (err) {
      keyUses.delete(principal.keyId);
      throw err;
    }
  };

  const record = async (ctx: ParameterizedContext<AuthState>, thrown: { error: unknown } | null) => {
    const { status, code } = thrown ? thrownStatus(thrown.error) : { status: ctx.status, code: null };
    const principal = ctx.state.principal as Principal | undefined;
    const note = ctx.state.audit;
    const matched = (ctx as { _matchedRoute?: string | RegExp })._matchedRoute;
    const route = typeof matched === 'string' ? matched.replace(/(.)\/$/, '$1') : null;
    const mcpEndpoint = route === '/mcp';
    const mcp = mcpEndpoint ? mcpRequest(ctx.request.body) : null;
    const headerTool = ctx.get(MCP_TOOL_HEADER);
    // Only a label for calls made by the MCP server's tools with the caller's key: it changes no actor or right.
    const mcpTool = mcp ? mcp.tool : principal?.via === 'key' && MCP_TOOL_NAME.test(headerTool) ? headerTool : null;
    const via = principal ? (mcpEndpoint || mcpTool ? 'mcp' : principal.via) : 'none';
    const request = {
      via,
      method: ctx.method,
      route,
      status,
      ip: ctx.ip || null,
      userAgent: ctx.get('user-agent') ? clip(ctx.get('user-agent'), 300) : null,
      traceId: trace.getActiveSpan()?.spanContext().traceId ?? null,
      mcpTool,
    } as const;

    if (principal?.via === 'key') {
      // Apart from the request's own entry, which a failure here must not cost.
      await keyUsed(principal, request).catch((err: unknown) => log.error({ err }, 'key use not written'));
    }

    const write = !READS.has(ctx.method) && (!mcpEndpoint || mcp?.tool || status >= 400);
    if (!note && !write) return;
    const tenantId = principal?.tenantId ?? note?.tenantId ?? null;
    if (!tenantId) {
      log.info(
        { method: ctx.method, route: route ?? unmatchedPath(ctx.path), status, ip: ctx.ip },
        'request without a tenant; not kept in the audit log',
      );
      return;
    }

    const decided = route ? decision(route, ctx.request.body) : null;
    const targets: Record<string, string> = route
      ? pathTargets(route, (ctx as { params?: Record<string, string> }).params)
      : {};
    if (route && status === 201 && !thrown) Object.assign(targets, createdTarget(route, ctx.body, targets));
    if (ctx.state.workflowId) targets.run = ctx.state.workflowId;
    Object.assign(targets, decided?.targets, note?.targets);

    const detail: Record<string, unknown> = {
      ...decided?.detail,
      ...(mcp?.rpcMethod ? { rpcMethod: mcp.rpcMethod } : {}),
      ...(route ? {} : { path: unmatchedPath(ctx.path) }),
      ...(code && status >= 400 ? { error: code } : {}),
      ...note?.detail,
    };
    const entry: NewAuditEntry = {
      ...request,
      tenantId,
      actorType: principal ? (principal.via === 'key' ? 'key' : 'user') : (note?.actorType ?? 'anonymous'),
      actorId: principal ? (principal.keyId ?? principal.userId) : (note?.actorId ?? null),
      actorLabel: principal ? actorLabel(principal) : (note?.actorLabel ?? null),
      action:
        note?.action ??
        (mcpEndpoint
          ? `mcp.${(mcp?.rpcMethod ?? 'request').replace(/\//g, '.')}`
          : route
            ? defaultAction(ctx.method, route)
            : 'request.unmatched'),
      targetIds: targets,
      outcome: note?.outcome ?? outcomeOf(status),
      detail: safeDetail(detail),
    };
    await appendAuditEntry(orm, entry);
  };

  return async (ctx, next) => {
    if (!AUDITED_PATH.test(ctx.path)) return next();
    let thrown: { error: unknown } | null = null;
    try {
      await next();
    } catch (error) {
      thrown = { error };
    }
    try {
      await record(ctx, thrown);
    } catch (err) {
      // The request stands; the error is logged without its SQL (lib/log.ts).
      log.error({ err, method: ctx.method, path: ctx.path }, 'audit entry not written');
    }
    if (thrown) throw thrown.error;
  };
}
