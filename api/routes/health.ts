import { Router } from '@koa/router';
import type { AppDeps } from '../deps';
import { readiness } from '../health/service';

/** /healthz: the process is up. /readyz: Temporal, the database and the schema are all usable. */
export function healthRoutes(deps: AppDeps) {
  const router = new Router({ sensitive: true });
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const { checks, failed } = await readiness(deps);
    if (failed.length) {
      ctx.status = 503;
      ctx.body = { error: { code: 'not_ready', message: `Not ready: ${failed.join(', ')}.`, details: checks } };
      return;
    }
    ctx.body = { status: 'ready', checks };
  });
  return router;
}
