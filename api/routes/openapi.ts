import { Router } from '@koa/router';
import type { AppDeps } from '../deps';
import type { AuthState } from '../auth/middleware';
import { buildOpenApiDocument } from '../openapi/document';
import { referencePage } from '../openapi/reference-page';

/** The OpenAPI 3.1 document and the API reference page, reached without a key. */
export function openapiRoutes(_deps: AppDeps) {
  const router = new Router<AuthState>({ prefix: '/v1', sensitive: true });
  // Built once per app: the document depends on the code only.
  let doc: ReturnType<typeof buildOpenApiDocument> | undefined;
  let page: string | undefined;
  const document = () => (doc ??= buildOpenApiDocument());

  router.get('/openapi.json', (ctx) => {
    ctx.body = document();
  });
  router.get('/docs', (ctx) => {
    ctx.type = 'text/html';
    ctx.body = page ??= referencePage(document());
  });
  return router;
}
