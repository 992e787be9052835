import type { Middleware } from 'koa';
import { forbidden, unauthorized } from '../../lib/errors';
import type { Role } from '../../lib/db/entities';
import type { AuditNote } from '../../lib/contracts/audit';
import type { AppDeps } from '../deps';
import { resolveApiKey, type Principal } from './api-keys';

export interface AuthState {
  principal: Principal;
  /** The run a request started, put on its span so the trace of the run includes the request. */
  workflowId?: string;
  /** What the handler adds to the request's audit entry (api/audit/middleware.ts reads it). */
  audit?: AuditNote;
}

/** Bearer API-key auth: resolves the tenant and role for everything under /v1. */
export function authenticate({ orm }: Pick<AppDeps, 'orm' | 'config'>): Middleware<AuthState> {
  return async (ctx, next) => {
    const header = ctx.get('authorization');
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw unauthorized();
    const principal = await resolveApiKey(orm, match[1]!);
    if (!principal) throw unauthorized('The API key is invalid or revoked.');
    ctx.state.principal = principal;
    await next();
  };
}

/**
 * The roles a route allows. The role model: `viewer` reads (every GET of its tenant but the API keys); `operator` also
 * starts runs and writes content (answers, searches, grounding, agents, ingest, conversations, reviews); `admin` also
 * configures (MCP servers and tool policy, secrets, server folders) and manages the API keys, listing included. The
 * guard carries its roles so tests can list every route's.
 */
export function requireRole(...roles: Role[]): Middleware<AuthState> & { roles: readonly Role[] } {
  const guard: Middleware<AuthState> = async (ctx, next) => {
    // A route reached without authentication is a wiring bug; it must not read as a crash or let the request through.
    const principal = ctx.state.principal as Principal | undefined;
    if (!principal) throw unauthorized();
    if (!roles.includes(principal.role)) {
      throw forbidden(`This needs one of the roles ${roles.join(', ')}; the key has ${principal.role}.`);
    }
    await next();
  };
  return Object.assign(guard, { roles });
}
