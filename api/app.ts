import { existsSync } from 'node:fs';
import Koa from 'koa';
import type { Router } from '@koa/router';
import serve from 'koa-static';
import { bodyParser } from '@koa/bodyparser';
import { authenticate } from './auth/middleware';
import { consoleDir } from './console';
import type { AppDeps } from './deps';
import { errorHandler } from './errors';
import { inputGuard } from './input-guard';
import { keysRoutes } from './routes/keys';
import { healthRoutes } from './routes/health';
import { answersRoutes } from './routes/answers';
import { collectionsRoutes } from './routes/collections';
import { llmRoutes } from './routes/llm';
import { mcpRoutes } from './routes/mcp';
import { mcpEndpointRoutes } from './routes/mcp-endpoint';
import { agentsRoutes } from './routes/agents';
import { runsRoutes } from './routes/runs';
import { secretsRoutes } from './routes/secrets';
import { systemRoutes } from './routes/system';
import { tracingMiddleware } from './tracing';
import { auditMiddleware } from './audit/middleware';
import { rateLimitMiddleware } from './quota/middleware';
import { authPublicRoutes, authRoutes } from './routes/auth';
import { tenantsRoutes } from './routes/tenants';
import { oidcRoutes } from './routes/oidc';
import { auditRoutes } from './routes/audit';
import { quotasRoutes } from './routes/quotas';
import { settingsRoutes } from './routes/settings';
import { usageRoutes } from './routes/usage';
import { openapiRoutes } from './routes/openapi';
import { sourcesRoutes } from './routes/sources';
import { schedulesRoutes } from './routes/schedules';
import { promptsRoutes } from './routes/prompts';
import { datasetsRoutes } from './routes/datasets';
import { evalsRoutes } from './routes/evals';
import { replaysRoutes } from './routes/replays';
import { savedAgentsRoutes } from './routes/saved-agents';
import { openaiRoutes } from './routes/openai';

/** Composes the API from injected dependencies; no globals, so tests build one with theirs. */
export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.proxy = false;
  app.silent = true; // the error middleware logs what matters

  app.use(tracingMiddleware());
  app.use(errorHandler(deps.log, deps.config.api.bodyLimit));
  app.use(
    bodyParser({
      enableTypes: ['json'],
      jsonLimit: deps.config.api.bodyLimit,
      onError: (err) => {
        throw err;
      },
    }),
  );
  app.use(inputGuard());

  const health = healthRoutes(deps);
  app.use(health.routes());

  // Every request below is audited (writes, sign-ins, decisions; the middleware decides what to keep).
  app.use(auditMiddleware(deps));

  // Reached without a key: signing in, single sign-on, the API's own description. Exact, case-sensitive paths;
  // any other spelling falls through to the key check below.
  for (const router of [authPublicRoutes(deps), oidcRoutes(deps), openapiRoutes(deps)]) {
    app.use(router.routes()).use(router.allowedMethods({ throw: true }));
  }

  const v1 = authenticate(deps);
  const v1Routers: Array<Pick<Router, 'match'>> = [];
  // A key is needed under /v1 in any letter case, and on any path a /v1 router would route (matched the way it
  // matches), so no spelling of a path reaches a handler unauthenticated.
  const needsKey = (path: string) =>
    /^\/v1(\/|$)/i.test(path) ||
    v1Routers.some((r) => r.match(path, 'GET').path.some((layer) => layer.methods.length > 0));
  app.use(async (ctx, next) => (needsKey(ctx.path) ? v1(ctx as never, next) : next()));
  app.use(rateLimitMiddleware(deps));
  for (const router of [
    systemRoutes(deps),
    runsRoutes(deps),
    llmRoutes(deps),
    collectionsRoutes(deps),
    answersRoutes(deps),
    mcpRoutes(deps),
    agentsRoutes(deps),
    secretsRoutes(deps),
    keysRoutes(deps),
    authRoutes(deps),
    tenantsRoutes(deps),
    auditRoutes(deps),
    quotasRoutes(deps),
    settingsRoutes(deps),
    usageRoutes(deps),
    sourcesRoutes(deps),
    schedulesRoutes(deps),
    promptsRoutes(deps),
    datasetsRoutes(deps),
    evalsRoutes(deps),
    replaysRoutes(deps),
    savedAgentsRoutes(deps),
    openaiRoutes(deps),
  ]) {
    v1Routers.push(router);
    app.use(router.routes()).use(router.allowedMethods({ throw: true }));
  }
  // MCP over streamable HTTP: outside /v1, so it authenticates API keys itself.
  app.use(mcpEndpointRoutes(deps).routes());

  // The console: static files, and index.html for its client-side routes.
  if (existsSync(consoleDir)) {
    app.use(serve(consoleDir, { index: 'index.html', maxage: 0 }));
    app.use(async (ctx, next) => {
      await next();
      if (
        ctx.status === 404 &&
        ctx.body === undefined &&
        ctx.method === 'GET' &&
        !/^\/v1/i.test(ctx.path) &&
        ctx.accepts('html')
      ) {
        await serve(consoleDir, { index: 'index.html' })(Object.assign(ctx, { path: '/' }), async () => {});
      }
    });
  }
  return app;
}
