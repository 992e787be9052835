import Koa from 'koa';
import { bodyParser } from '@koa/bodyparser';
import type { Client } from '@temporalio/client';
import type { Config } from '../lib/config';
import type { Orm } from '../lib/db/orm';
import type { Logger } from '../lib/log';
import { authenticate } from './auth/middleware';
import { errorHandler } from './errors';
import { healthRoutes } from './routes/health';
import { systemRoutes } from './routes/system';

export interface AppDeps {
  config: Config;
  orm: Orm;
  temporal: Client;
  log: Logger;
}

/** Composes the API from injected dependencies; no globals, so tests build one with theirs. */
export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.proxy = false;
  app.silent = true; // the error middleware logs what matters

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

  const health = healthRoutes(deps);
  app.use(health.routes());

  const v1 = authenticate(deps.orm);
  const system = systemRoutes(deps);
  app.use(async (ctx, next) => (ctx.path.startsWith('/v1/') ? v1(ctx as never, next) : next()));
  app.use(system.routes()).use(system.allowedMethods({ throw: true }));
  return app;
}
