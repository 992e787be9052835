import type { Middleware } from 'koa';
import { AppError, forbidden, unauthorized } from '../../lib/errors';
import type { Role } from '../../lib/db/entities';
import type { AuditNote } from '../../lib/contracts/audit';
import type { AppDeps } from '../deps';
import { resolveApiKey, type Principal } from './api-keys';
import { resolveSession, SESSION_COOKIE } from './sessions';

export interface AuthState {
  principal: Principal;
  /** The run a request started, put on its span so the trace of the run includes the request. */
  workflowId?: string;
  /** What the handler adds to the request's audit entry (api/audit/middleware.ts reads it). */
  audit?: AuditNote;
}

/**
 * Everything under /v1: a Bearer API key, or else a console session cookie (with its CSRF check on writes). A request
 * that carries a key is judged by the key alone and its cookies are ignored, so a script in a browser never mixes
 * the two.
 */
export function authenticate(deps: Pick<AppDeps, 'orm' | 'config'>): Middleware<AuthState> {
  return async (ctx, next) => {
    const header = ctx.get('authorization');
    if (header) {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match) throw unauthorized();
      const principal = await resolveApiKey(deps.orm, match[1]!);
      if (!principal) throw unauthorized('The API key is invalid or revoked.');
      ctx.state.principal = principal;
    } else {
      const principal = await resolveSession(ctx, deps);
      if (!principal) {
        throw ctx.cookies.get(SESSION_COOKIE)
          ? unauthorized('The session has expired or was revoked; sign in again.')
          : unauthorized();
      }
      ctx.state.principal = principal;
    }
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
      throw forbidden(
        `This needs one of the roles ${roles.join(', ')}; the ${principal.via === 'key' ? 'key' : 'user'} has ${principal.role}.`,
      );
    }
    await next();
  };
  return Object.assign(guard, { roles });
}

export const platformAdminRequired = () =>
  new AppError({
    code: 'platform_admin_required',
    message: 'Only an admin of the platform tenant can manage tenants.',
    status: 403,
    category: 'auth',
  });

/**
 * Only an admin of the platform tenant (the one made at first start): tenants and their quotas. Any other caller,
 * admins of other tenants included, is refused; it follows `requireRole('admin')`.
 */
export const requirePlatformAdmin: Middleware<AuthState> = async (ctx, next) => {
  if (!(ctx.state.principal as Principal | undefined)?.platformAdmin) throw platformAdminRequired();
  await next();
};
