import { Router } from '@koa/router';
import type { AppDeps } from '../deps';
import type { AuthState } from '../auth/middleware';

/** The tenant's audit log. Filled in by the audit slice. */
export function auditRoutes(_deps: AppDeps) {
  return new Router<AuthState>({ prefix: '/v1/audit', sensitive: true });
}
