import type { Middleware } from 'koa';
import type { AppDeps } from '../deps';
import type { AuthState } from '../auth/middleware';

/** Requests per minute per key (or session), after authentication. Filled in by the quotas slice. */
export function rateLimitMiddleware(_deps: AppDeps): Middleware<AuthState> {
  return (_ctx, next) => next();
}
