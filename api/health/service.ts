import type { Client } from '@temporalio/client';
import type { Config } from '../../lib/config';
import { pendingMigrations, type Orm } from '../../lib/db/orm';

export type Check = { ok: boolean; detail?: string };

export interface Readiness {
  checks: { temporal: Check; database: Check; migrations: Check };
  /** The names of the checks that failed, in order. */
  failed: string[];
}

const withTimeout = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms).unref(),
    ),
  ]);

async function check(fn: () => Promise<string | void>): Promise<Check> {
  try {
    const detail = await withTimeout(fn(), 3000, 'check');
    return detail ? { ok: true, detail } : { ok: true };
  } catch (e) {
    return { ok: false, detail: (e as Error).message.split('\n')[0] };
  }
}

/** Whether Temporal, the database and the schema are all usable; the schema is checked only on a reachable database. */
export async function readiness({
  orm,
  temporal,
  config,
}: {
  orm: Orm;
  temporal: Client;
  config: Config;
}): Promise<Readiness> {
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
  return {
    checks,
    failed: Object.entries(checks)
      .filter(([, c]) => !c.ok)
      .map(([name]) => name),
  };
}
