import type { Middleware } from 'koa';
import { QUOTA_CODES, QuotaExceededError } from '../../lib/quota';
import type { AppDeps } from '../deps';
import type { AuthState } from '../auth/middleware';
import type { Principal } from '../auth/api-keys';

/**
 * Requests per minute per key (or session), after authentication, with the RateLimit-Limit, -Remaining and -Reset
 * headers while a limit applies. Every quota refusal below it (runs, storage, tokens) leaves with `Retry-After`.
 * Counted in this process's memory: with N API processes a key can make N × its limit.
 */
export function rateLimitMiddleware(deps: AppDeps): Middleware<AuthState> {
  const { quotas } = deps;
  return async (ctx, next) => {
    try {
      const principal = ctx.state.principal as Principal | undefined;
      if (principal) {
        const counted = await quotas.countRequest(principal);
        if (counted) {
          ctx.set('RateLimit-Limit', String(counted.limit));
          ctx.set('RateLimit-Remaining', String(counted.remaining));
          ctx.set('RateLimit-Reset', String(counted.resetSeconds));
        }
      }
      await next();
    } catch (e) {
      if (e instanceof QuotaExceededError) {
        ctx.set('Retry-After', String(e.retryAfterSeconds));
        if (e.code === QUOTA_CODES.requests) {
          ctx.set('RateLimit-Limit', String((e.details as { limit: number }).limit));
          ctx.set('RateLimit-Remaining', '0');
          ctx.set('RateLimit-Reset', String(e.retryAfterSeconds));
        }
      }
      throw e;
    }
  };
}
