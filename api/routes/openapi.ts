import { Router } from '@koa/router';
import type { AppDeps } from '../deps';
import type { AuthState } from '../auth/middleware';

/** The OpenAPI 3.1 document and the API reference page, reached without a key. Filled in by the OpenAPI slice. */
export function openapiRoutes(_deps: AppDeps) {
  return new Router<AuthState>({ prefix: '/v1', sensitive: true });
}
