import { Router } from '@koa/router';
import type { AppDeps } from '../deps';
import type { AuthState } from '../auth/middleware';

/** Tenants (platform admin), members and invitations (tenant admin). Filled in by the identity slice. */
export function tenantsRoutes(_deps: AppDeps) {
  return new Router<AuthState>({ prefix: '/v1', sensitive: true });
}
