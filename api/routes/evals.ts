import { Router } from '@koa/router';
import { ROLES } from '../../lib/db/entities';
import type { AppDeps } from '../deps';
import { requireRole, type AuthState } from '../auth/middleware';
import { EvalsService } from '../evals/service';
import { createEvalRun, createExperiment, itemsQuery, listQuery } from '../evals/spec';

/**
 * Eval runs (a configuration answered over a dataset version, each item a real answer run) and experiments comparing
 * two or more of them. An id that is not a uuid reads as a missing one.
 */
export function evalsRoutes({ temporal, orm, config, quotas }: AppDeps) {
  const evals = new EvalsService(temporal, orm, config, quotas);
  const router = new Router<AuthState>({ prefix: '/v1', sensitive: true });
  const read = requireRole(...ROLES);
  const write = requireRole('admin', 'operator');

  router.get('/evals', read, async (ctx) => {
    ctx.body = await evals.list(ctx.state.principal.tenantId, listQuery.parse(ctx.query));
  });

  router.post('/evals', write, async (ctx) => {
    const body = createEvalRun.parse(ctx.request.body ?? {});
    const run = await evals.create(ctx.state.principal, body);
    ctx.state.audit = {
      action: 'evals.start',
      targets: { evalRunId: run.id },
      detail: { datasetId: body.datasetId, version: run.dataset.version },
    };
    ctx.status = 202;
    ctx.body = run;
  });

  router.get('/evals/:id', read, async (ctx) => {
    ctx.body = await evals.get(ctx.state.principal.tenantId, ctx.params.id!);
  });

  router.get('/evals/:id/items', read, async (ctx) => {
    ctx.body = await evals.items(ctx.state.principal.tenantId, ctx.params.id!, itemsQuery.parse(ctx.query));
  });

  router.post('/evals/:id/cancel', write, async (ctx) => {
    ctx.state.audit = { action: 'evals.cancel', targets: { evalRunId: ctx.params.id! } };
    ctx.body = await evals.cancel(ctx.state.principal, ctx.params.id!);
  });

  router.get('/experiments', read, async (ctx) => {
    ctx.body = await evals.listExperiments(ctx.state.principal.tenantId);
  });

  router.post('/experiments', write, async (ctx) => {
    const body = createExperiment.parse(ctx.request.body ?? {});
    const experiment = await evals.createExperiment(ctx.state.principal, body);
    ctx.state.audit = {
      action: 'experiments.create',
      targets: { experimentId: experiment.id },
      detail: { evalRunIds: experiment.evalRunIds },
    };
    ctx.status = 201;
    ctx.body = experiment;
  });

  router.get('/experiments/:id', read, async (ctx) => {
    ctx.body = await evals.experiment(ctx.state.principal.tenantId, ctx.params.id!);
  });

  router.delete('/experiments/:id', write, async (ctx) => {
    ctx.state.audit = { action: 'experiments.delete', targets: { experimentId: ctx.params.id! } };
    await evals.deleteExperiment(ctx.state.principal.tenantId, ctx.params.id!);
    ctx.status = 204;
  });

  return router;
}
