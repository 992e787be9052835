import { Router } from '@koa/router';
import type { AppDeps } from '../deps';
import type { AuthState } from '../auth/middleware';

/** Sign-in routes reached without a principal (login, accepting an invitation). Filled in by the identity slice. */
export function authPublicRoutes(_deps: AppDeps) {
  return new Router<AuthState>({ prefix: '/v1/auth', sensitive: true });
}

/** The signed-in caller's session routes (logout, password change, sessions). Filled in by the identity slice. */
export function authRoutes(_deps: AppDeps) {
  return new Router<AuthState>({ prefix: '/v1/auth', sensitive: true });
}
