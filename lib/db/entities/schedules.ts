import { EntitySchema, type Opt } from '@mikro-orm/core';

/**
 * A tenant's schedule as the API names it (api/schedules). The Temporal Schedule `schedule:<tenant>:<id>` is the one
 * that runs: it holds the spec, policies, paused state and history. This row keeps what Temporal does not echo back
 * as given (the cron text, the job in the API's words, the name) and lets a tenant's schedules be listed cheaply.
 */
export interface ScheduleRow {
  id: string;
  tenantId: string;
  name: string;
  description: Opt<string>;
  job: Record<string, unknown>;
  spec: Record<string, unknown>;
  createdBy: string;
  createdAt: Opt<Date>;
  updatedAt: Opt<Date>;
  updatedBy: string;
}

export const ScheduleEntity = new EntitySchema<ScheduleRow>({
  name: 'Schedule',
  tableName: 'schedules',
  properties: {
    id: { type: 'uuid', primary: true },
    tenantId: { type: 'uuid' },
    name: { type: 'text' },
    description: { type: 'text', default: '' },
    job: { type: 'json', columnType: 'jsonb' },
    spec: { type: 'json', columnType: 'jsonb' },
    createdBy: { type: 'text' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    updatedAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date(), onUpdate: () => new Date() },
    updatedBy: { type: 'text' },
  },
});

export const scheduleEntities = [ScheduleEntity];
