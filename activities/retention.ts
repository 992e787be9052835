import type { RetentionAges, RetentionKind } from '../lib/contracts';
import { deleteExpired } from '../lib/retention';
import { TenantSettings } from '../lib/settings';
import { withHeartbeat } from './heartbeat';
import type { ActivityDeps } from './index';

/** Activities of the `retention` job (issue 18 item 4): the tenant's ages, then one delete per kind. */
export function createRetentionActivities({ orm, blobs }: ActivityDeps) {
  // read() bypasses the models cache: a job run right after a change applies it.
  const settings = new TenantSettings(orm);
  return {
    /** The days each kind is kept, from the tenant's settings (null: forever). */
    async retentionAges(input: { tenantId: string }): Promise<RetentionAges> {
      return (await settings.read(input.tenantId)).retention;
    },

    /**
     * Deletes the tenant's `kind` older than `cutoff` (fixed by the workflow, so a retry deletes what is left of the
     * same set), batch by batch, heartbeating while it works.
     */
    async deleteExpiredKind(input: {
      tenantId: string;
      kind: RetentionKind;
      cutoff: string;
    }): Promise<{ deleted: number }> {
      const deleted = await withHeartbeat(() =>
        deleteExpired({ orm, blobs }, input.kind, input.tenantId, new Date(input.cutoff)),
      );
      return { deleted };
    },
  };
}
