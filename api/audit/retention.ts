import type { QueryResult } from '@mikro-orm/core';
import type { Logger } from '../../lib/log';
import type { Orm } from '../../lib/db/orm';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/**
 * Deletes the audit entries older than `retentionDays` (0 keeps them forever), oldest first, in batches of one short
 * transaction each (PGlite is one session). Only this job may delete: it sets `beyondcloud.audit_prune` for its own
 * transaction, which the table's trigger checks. Returns how many entries it deleted.
 */
export async function pruneAuditLog(
  orm: Orm,
  retentionDays: number,
  opts: { now?: Date; batchSize?: number } = {},
): Promise<number> {
  if (retentionDays <= 0) return 0;
  const cutoff = new Date((opts.now ?? new Date()).getTime() - retentionDays * DAY_MS);
  const batchSize = opts.batchSize ?? 1000;
  let deleted = 0;
  for (;;) {
    const n = await orm.em.fork().transactional(async (em) => {
      const conn = em.getConnection();
      const tx = em.getTransactionContext();
      await conn.execute(`set local beyondcloud.audit_prune = 'on'`, [], 'run', tx);
      const res = await conn.execute<QueryResult>(
        `delete from audit_log where id in (select id from audit_log where at < ? order by id limit ?)`,
        [cutoff, batchSize],
        'run',
        tx,
      );
      return res.affectedRows;
    });
    deleted += n;
    if (n < batchSize) return deleted;
  }
}

/**
 * Prunes once now and then hourly, in the API process; the timer does not keep the process alive. (A later issue
 * moves batch jobs like this one to Temporal Schedules.)
 */
export function startAuditRetention(deps: { orm: Orm; log: Logger; retentionDays: number }, intervalMs = HOUR_MS) {
  const { orm, log, retentionDays } = deps;
  let running: Promise<void> | null = null;
  const run = () => {
    if (running || retentionDays <= 0) return;
    running = pruneAuditLog(orm, retentionDays)
      .then((deleted) => {
        if (deleted) log.info({ deleted, retentionDays }, 'pruned the audit log');
      })
      .catch((err: unknown) => log.error({ err }, 'audit log retention failed'))
      .finally(() => (running = null));
  };
  run();
  const timer = setInterval(run, intervalMs);
  timer.unref();
  return {
    /** Stops the timer; resolves when a prune under way has finished. */
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
