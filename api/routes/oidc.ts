import { Router } from '@koa/router';
import type { AppDeps } from '../deps';
import type { AuthState } from '../auth/middleware';

/** Single sign-on with OpenID Connect, reached without a principal. Filled in by the OIDC slice. */
export function oidcRoutes(_deps: AppDeps) {
  return new Router<AuthState>({ prefix: '/v1/auth/oidc', sensitive: true });
}
