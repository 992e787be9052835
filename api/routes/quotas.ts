import { Router } from '@koa/router';
import type { AppDeps } from '../deps';
import type { AuthState } from '../auth/middleware';

/** The tenant's quotas and usage; platform admins set a tenant's limits. Filled in by the quotas slice. */
export function quotasRoutes(_deps: AppDeps) {
  return new Router<AuthState>({ prefix: '/v1', sensitive: true });
}
