import { randomUUID } from 'node:crypto';
import { EntitySchema, type Opt } from '@mikro-orm/core';

/** A row written by the self-test workflow; unique per (workflow run, activity) so retries cannot duplicate it. */
export interface SystemProbe {
  id: string;
  tenantId: string;
  workflowId: string;
  runId: string;
  activityId: string;
  attempt: number;
  note?: string | null;
  createdAt: Opt<Date>;
}

export const SystemProbeEntity = new EntitySchema<SystemProbe>({
  name: 'SystemProbe',
  tableName: 'system_probes',
  properties: {
    id: { type: 'uuid', primary: true, onCreate: () => randomUUID() },
    tenantId: { type: 'uuid' },
    workflowId: { type: 'text' },
    runId: { type: 'text' },
    activityId: { type: 'text' },
    attempt: { type: 'integer' },
    note: { type: 'text', nullable: true },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
  },
});
