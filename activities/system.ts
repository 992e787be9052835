import { Context } from '@temporalio/activity';
import { SystemProbeEntity } from '../lib/db/entities';
import type { Orm } from '../lib/db/orm';

export interface ProbeInput {
  tenantId: string;
  index: number;
  holdMs: number;
  note?: string;
}

export function createSystemActivities({ orm }: { orm: Orm }) {
  return {
    /**
     * Writes one probe row, keyed by (workflow, run, activity) so a retry after a worker crash finds the row an
     * earlier attempt wrote instead of adding a second one; then holds, heartbeating, for holdMs.
     */
    async writeProbe(input: ProbeInput): Promise<{ inserted: boolean; attempt: number }> {
      const ctx = Context.current();
      const { workflowExecution, activityId, attempt } = ctx.info;
      if (!workflowExecution) throw new Error('writeProbe must run inside a workflow');
      const em = orm.em.fork();
      const rows = await em
        .createQueryBuilder(SystemProbeEntity)
        .insert({
          id: crypto.randomUUID(),
          tenantId: input.tenantId,
          workflowId: workflowExecution.workflowId,
          runId: workflowExecution.runId,
          activityId,
          attempt,
          note: input.note ?? null,
          createdAt: new Date(),
        })
        .onConflict(['workflowId', 'runId', 'activityId'])
        .ignore()
        .execute('run');
      const inserted = (rows as { affectedRows?: number }).affectedRows === 1;
      const until = Date.now() + input.holdMs;
      while (Date.now() < until) {
        ctx.heartbeat({ index: input.index });
        await ctx.sleep(Math.min(250, until - Date.now()));
      }
      return { inserted, attempt };
    },
  };
}
