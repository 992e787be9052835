import type { Middleware } from 'koa';
import { forbidden, unauthorized } from '../../lib/errors';
import type { Role } from '../../lib/db/entities';
import type { Orm } from '../../lib/db/orm';
import { resolveApiKey, type Principal } from './api-keys';

export interface AuthState {
  principal: Principal;
  /** The run a request started, put on its span so the trace of the run includes the request. */
  workflowId?: string;
}

/** Bearer API-key auth: resolves the tenant and role for everything under /v1. */
export function authenticate(orm: Orm): Middleware<AuthState> {
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

export function requireRole(...roles: Role[]): Middleware<AuthState> {
  return async (ctx, next) => {
    if (!roles.includes(ctx.state.principal.role)) {
      throw forbidden(`This needs one of the roles ${roles.join(', ')}; the key has ${ctx.state.principal.role}.`);
    }
    await next();
  };
}
