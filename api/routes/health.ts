import { Router } from '@koa/router';
import type { AppDeps } from '../app';
import { pendingMigrations } from '../../lib/db/orm';

type Check = { ok: boolean; detail?: string };

const withTimeout = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms).unref())]);

async function check(fn: () => Promise<string | void>): Promise<Check> {
  try {
    const detail = await withTimeout(fn(), 3000, 'check');
    return detail ? { ok: true, detail } : { ok: true };
  } catch (e) {
    return { ok: false, detail: (e as Error).message.split('\n')[0] };
  }
}

/** /healthz: the process is up. /readyz: Temporal, the database and the schema are all usable. */
export function healthRoutes({ orm, temporal, config }: AppDeps) {
  const router = new Router({ sensitive: true });
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const [temporalCheck, database] = await Promise.all([
      check(async () => {
        await temporal.workflowService.describeNamespace({ namespace: config.temporal.namespace });
      }),
      check(async () => {
        await orm.em.getConnection().execute('select 1');
      }),
    ]);
    const migrations = database.ok
      ? await check(async () => {
          const pending = await pendingMigrations(orm);
          if (pending.length) throw new Error(`pending: ${pending.join(', ')}`);
        })
      : { ok: false, detail: 'database unreachable' };
    const checks = { temporal: temporalCheck, database, migrations };
    const failed = Object.entries(checks).filter(([, c]) => !c.ok).map(([name]) => name);
    if (failed.length) {
      ctx.status = 503;
      ctx.body = { error: { code: 'not_ready', message: `Not ready: ${failed.join(', ')}.`, details: checks } };
      return;
    }
    ctx.body = { status: 'ready', checks };
  });
  return router;
}
