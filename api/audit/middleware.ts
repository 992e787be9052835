import type { Middleware } from 'koa';
import type { AppDeps } from '../deps';
import type { AuthState } from '../auth/middleware';

/** Writes one audit entry per audited request after it ran. Filled in by the audit slice. */
export function auditMiddleware(_deps: AppDeps): Middleware<AuthState> {
  return (_ctx, next) => next();
}
