import { Router } from '@koa/router';
import { z } from 'zod';
import { ROLES } from '../../lib/db/entities';
import type { AppDeps } from '../deps';
import { requireRole, type AuthState } from '../auth/middleware';
import { SchedulesService } from '../schedules/service';
import { EvalsService } from '../evals/service';
import { backfillBody, createSchedule, noteBody, triggerBody, updateSchedule } from '../schedules/spec';
import { pageSize } from '../schemas';

const idParam = z.uuid();
export const runsQuery = z
  .object({
    pageSize,
    pageToken: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,4096}$/, 'is not a page token from this API')
      .optional(),
  })
  .strict();

/**
 * The tenant's schedules (Temporal Schedules that start batch jobs): create, list, describe, change, pause with a
 * note, unpause, trigger now, backfill a time range, delete, and the runs each started. An id that is not a uuid
 * reads as a missing schedule.
 */
export function schedulesRoutes({ temporal, orm, config }: AppDeps) {
  const schedules = new SchedulesService(
    temporal,
    orm,
    {
      namespace: config.temporal.namespace,
      taskQueuePrefix: config.temporal.taskQueue,
    },
    new EvalsService(temporal, orm, config),
  );
  const router = new Router<AuthState>({ prefix: '/v1/schedules', sensitive: true });
  const read = requireRole(...ROLES);
  const write = requireRole('admin', 'operator');
  const id = (raw: string | undefined) => {
    const parsed = idParam.safeParse(raw);
    return parsed.success ? parsed.data : '00000000-0000-0000-0000-000000000000';
  };

  router.get('/', read, async (ctx) => {
    ctx.body = { schedules: await schedules.list(ctx.state.principal.tenantId) };
  });

  router.post('/', write, async (ctx) => {
    const body = createSchedule.parse(ctx.request.body ?? {});
    const view = await schedules.create(ctx.state.principal, body);
    ctx.state.audit = {
      action: 'schedules.create',
      targets: { scheduleId: view.id },
      detail: { name: view.name, job: view.job.type },
    };
    ctx.status = 201;
    ctx.body = view;
  });

  router.get('/:id', read, async (ctx) => {
    ctx.body = await schedules.get(ctx.state.principal.tenantId, id(ctx.params.id));
  });

  router.patch('/:id', write, async (ctx) => {
    const patch = updateSchedule.parse(ctx.request.body ?? {});
    ctx.state.audit = { action: 'schedules.update', detail: { fields: Object.keys(patch) } };
    ctx.body = await schedules.update(ctx.state.principal, id(ctx.params.id), patch);
  });

  router.delete('/:id', write, async (ctx) => {
    ctx.state.audit = { action: 'schedules.delete' };
    await schedules.remove(ctx.state.principal, id(ctx.params.id));
    ctx.status = 204;
  });

  router.post('/:id/pause', write, async (ctx) => {
    const { note } = noteBody.parse(ctx.request.body ?? {});
    ctx.state.audit = { action: 'schedules.pause', detail: note ? { note } : undefined };
    ctx.body = await schedules.pause(ctx.state.principal, id(ctx.params.id), note, true);
  });

  router.post('/:id/unpause', write, async (ctx) => {
    const { note } = noteBody.parse(ctx.request.body ?? {});
    ctx.state.audit = { action: 'schedules.unpause', detail: note ? { note } : undefined };
    ctx.body = await schedules.pause(ctx.state.principal, id(ctx.params.id), note, false);
  });

  router.post('/:id/trigger', write, async (ctx) => {
    const { overlap } = triggerBody.parse(ctx.request.body ?? {});
    ctx.state.audit = { action: 'schedules.trigger', detail: overlap ? { overlap } : undefined };
    ctx.status = 202;
    ctx.body = await schedules.trigger(ctx.state.principal, id(ctx.params.id), overlap);
  });

  router.post('/:id/backfill', write, async (ctx) => {
    const body = backfillBody.parse(ctx.request.body ?? {});
    ctx.state.audit = { action: 'schedules.backfill', detail: body };
    ctx.status = 202;
    ctx.body = await schedules.backfill(ctx.state.principal, id(ctx.params.id), body);
  });

  router.get('/:id/runs', read, async (ctx) => {
    const page = runsQuery.parse(ctx.query);
    ctx.body = await schedules.runsOf(ctx.state.principal.tenantId, id(ctx.params.id), page);
  });

  return router;
}
