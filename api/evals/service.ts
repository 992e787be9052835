import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { z } from 'zod';
import {
  workflowIds,
  type EvalAggregate,
  type EvalConfig,
  type EvalItemResult,
  type EvalRunInput,
  type PromptSet,
} from '../../lib/contracts';
import type { Config } from '../../lib/config';
import { EvalRunEntity, ExperimentEntity, type EvalRunRow, type ExperimentRow } from '../../lib/db/entities';
import type { Orm } from '../../lib/db/orm';
import { AppError, badRequest, notFound } from '../../lib/errors';
import { datasetVersion } from '../../lib/evals/datasets-store';
import { compareRuns } from '../../lib/evals/experiment';
import { resolvePrompts } from '../../lib/prompts/store';
import { answerableCollections } from '../../lib/rag/collections';
import { judgeRefusal, modelRefusal } from '../../lib/settings';
import { toItemResult, type ResultRow as StoredRow } from '../../lib/evals/results';
import { evalRun } from '../../workflows/eval';
import { actorLabel, type Principal } from '../auth/api-keys';
import type { QuotaService } from '../quota/service';
import { startRun } from '../runs/start';
import { isUuid } from '../schemas';
import type { createEvalRun, createExperiment, itemsQuery, listQuery } from './spec';

type ResultRow = StoredRow & { question: string };

const publicRun = (r: EvalRunRow, progress?: { completed: number; failed: number; running: number }) => ({
  id: r.id,
  name: r.name,
  workflowId: r.workflowId,
  status: r.status,
  dataset: { id: r.datasetId, name: r.datasetName, version: r.datasetVersion ?? null },
  config: r.config,
  prompts: r.prompts,
  itemCount: r.itemCount ?? null,
  ...(progress ? { progress } : {}),
  aggregate: (r.aggregate as EvalAggregate | null) ?? null,
  error: r.error ?? null,
  scheduleId: r.scheduleId ?? null,
  createdBy: r.createdBy,
  createdAt: r.createdAt,
  completedAt: r.completedAt ?? null,
});

/**
 * Eval runs (a configuration over a dataset version, run by workflows/eval.ts) and experiments comparing them, one
 * tenant at a time: another tenant's id answers exactly like a missing one.
 */
export class EvalsService {
  constructor(
    private readonly temporal: Client,
    private readonly orm: Orm,
    private readonly config: Config,
    private readonly quotas?: QuotaService,
  ) {}

  private sql<T = Record<string, unknown>>(query: string, params: unknown[] = []) {
    return this.orm.em.fork().getConnection().execute(query, params) as Promise<T[]>;
  }

  /**
   * The models, collections and prompts of a config, checked before anything starts (also for a scheduled eval job);
   * the prompts as resolved now.
   */
  async checkConfig(tenantId: string, config: EvalConfig): Promise<PromptSet> {
    if (config.target !== 'grounding') await answerableCollections(this.orm.em.fork(), tenantId, config.collectionIds);
    const judge = judgeRefusal(config.groundingMethod, this.config.llm.provider);
    if (judge) throw judge;
    for (const [field, purpose] of [
      ['model', 'answer'],
      ['judgeModel', 'judge'],
    ] as const) {
      const model = config[field];
      const refusal = model ? modelRefusal(purpose, model, this.config.llm.provider) : null;
      if (refusal) throw badRequest('model_not_available', `config.${field}: ${refusal}`);
    }
    // A prompt version or label that does not exist is refused now, not when the run begins.
    return resolvePrompts(this.orm.em.fork(), tenantId, config.prompts);
  }

  async create(principal: Principal, body: z.infer<typeof createEvalRun>) {
    const { tenantId } = principal;
    const em = this.orm.em.fork();
    const version = await datasetVersion(em, tenantId, body.datasetId, body.datasetVersion);
    if (!version) {
      throw new AppError({
        code: 'dataset_not_found',
        message: body.datasetVersion
          ? `Dataset ${body.datasetId} has no version ${body.datasetVersion}.`
          : `Dataset ${body.datasetId} was not found.`,
        status: 404,
        category: 'not_found',
      });
    }
    if (!version.itemCount) throw badRequest('dataset_empty', 'That dataset version has no items to evaluate.');
    const prompts = await this.checkConfig(tenantId, body.config);
    const id = randomUUID();
    const workflowId = workflowIds.evalRun(tenantId, id);
    const name = body.name ?? `${version.name} v${version.version}`;
    const actor = actorLabel(principal);
    await this.sql(
      `insert into eval_runs (id, tenant_id, name, dataset_id, dataset_name, dataset_version, config, status, item_count,
                              workflow_id, created_by)
       values (?, ?, ?, ?, ?, ?, ?::jsonb, 'running', ?, ?, ?)`,
      [
        id,
        tenantId,
        name,
        version.datasetId,
        version.name,
        version.version,
        JSON.stringify(body.config),
        version.itemCount,
        workflowId,
        actor,
      ],
    );
    const input: EvalRunInput = {
      tenantId,
      evalRunId: id,
      dataset: { datasetId: version.datasetId, version: version.version },
      config: body.config,
      prompts,
      ...(body.concurrency ? { concurrency: body.concurrency } : {}),
      actor,
      name,
    };
    try {
      await startRun(
        this.temporal,
        this.config.temporal.taskQueue,
        evalRun,
        { workflowId, args: [input], tenantId, kind: 'eval', collectionId: body.config.collectionIds[0] },
        this.quotas,
      );
    } catch (e) {
      // Never started (quota, Temporal unreachable): no row may claim a run that does not exist.
      await this.sql(`delete from eval_runs where tenant_id = ? and id = ?`, [tenantId, id]);
      throw e;
    }
    return this.get(tenantId, id);
  }

  async list(tenantId: string, q: z.infer<typeof listQuery>) {
    const rows = await this.orm.em.fork().find(
      EvalRunEntity,
      {
        tenantId,
        ...(q.datasetId ? { datasetId: q.datasetId } : {}),
        ...(q.before ? { createdAt: { $lt: new Date(q.before) } } : {}),
      },
      { orderBy: { createdAt: 'desc' }, limit: q.limit },
    );
    return { evalRuns: rows.map((r) => publicRun(r)) };
  }

  private async row(tenantId: string, id: string): Promise<EvalRunRow> {
    if (!isUuid(id)) throw notFound('Eval run');
    const row = await this.orm.em.fork().findOne(EvalRunEntity, { tenantId, id });
    if (!row) throw notFound('Eval run');
    return row;
  }

  async get(tenantId: string, id: string) {
    const row = await this.row(tenantId, id);
    const [counts] = await this.sql<{ completed: number; failed: number; running: number }>(
      `select count(*) filter (where status = 'completed')::int as completed,
              count(*) filter (where status = 'failed')::int as failed,
              count(*) filter (where status = 'running')::int as running
         from eval_results where tenant_id = ? and eval_run_id = ?`,
      [tenantId, id],
    );
    return publicRun(row, counts ?? { completed: 0, failed: 0, running: 0 });
  }

  async items(tenantId: string, id: string, q: z.infer<typeof itemsQuery>) {
    await this.row(tenantId, id);
    const rows = await this.sql<ResultRow & { updated_at: Date }>(
      `select idx, item_id, question, status, answer_id, workflow_id, answer_status, verdicts, metrics, error, updated_at
         from eval_results where tenant_id = ? and eval_run_id = ? ${q.status ? 'and status = ?' : ''}
        order by idx offset ? limit ?`,
      [tenantId, id, ...(q.status ? [q.status] : []), q.offset, q.limit],
    );
    return {
      items: rows.map((r) => ({
        ...toItemResult(r),
        // A running row is reported as running here (toItemResult counts it failed for the aggregate).
        status: r.status,
        question: r.question,
        updatedAt: r.updated_at,
      })),
    };
  }

  async cancel(principal: Principal, id: string) {
    const row = await this.row(principal.tenantId, id);
    if (row.status === 'running') {
      try {
        await this.temporal.workflow.getHandle(row.workflowId).cancel();
      } catch (e) {
        if (!(e instanceof WorkflowNotFoundError)) throw e;
      }
    }
    return this.get(principal.tenantId, id);
  }

  private async results(
    tenantId: string,
    evalRunId: string,
  ): Promise<{ results: EvalItemResult[]; questions: Map<string, string> }> {
    const rows = await this.sql<ResultRow>(
      `select idx, item_id, question, status, answer_id, workflow_id, answer_status, verdicts, metrics, error
         from eval_results where tenant_id = ? and eval_run_id = ? order by idx`,
      [tenantId, evalRunId],
    );
    return { results: rows.map(toItemResult), questions: new Map(rows.map((r) => [r.item_id, r.question])) };
  }

  // ---- Experiments ---------------------------------------------------------------------------------------------

  async createExperiment(principal: Principal, body: z.infer<typeof createExperiment>) {
    const { tenantId } = principal;
    const ids = [...new Set(body.evalRunIds)];
    if (ids.length < 2) throw badRequest('invalid_request', 'evalRunIds: name at least two different eval runs.');
    const baseline = body.baselineRunId ?? ids[0]!;
    if (!ids.includes(baseline)) throw badRequest('invalid_request', 'baselineRunId must be one of evalRunIds.');
    const found = await this.sql<{ id: string }>(
      `select id from eval_runs where tenant_id = ? and id = any(?::uuid[])`,
      [tenantId, `{${ids.join(',')}}`],
    );
    const missing = ids.filter((id) => !found.some((r) => r.id === id));
    if (missing.length) {
      throw new AppError({
        code: 'eval_run_not_found',
        message: `Eval run(s) not found: ${missing.join(', ')}.`,
        status: 400,
        category: 'user',
        details: { missing },
      });
    }
    const id = randomUUID();
    await this.sql(
      `insert into experiments (id, tenant_id, name, baseline_run_id, run_ids, created_by) values (?, ?, ?, ?, ?::uuid[], ?)`,
      [
        id,
        tenantId,
        body.name ?? `experiment ${new Date().toISOString().slice(0, 16).replace('T', ' ')}`,
        baseline,
        `{${[baseline, ...ids.filter((i) => i !== baseline)].join(',')}}`,
        actorLabel(principal),
      ],
    );
    return this.experiment(tenantId, id);
  }

  async listExperiments(tenantId: string) {
    const rows = await this.sql<{
      id: string;
      name: string;
      baseline_run_id: string;
      run_ids: string[];
      created_by: string;
      created_at: Date;
    }>(
      `select id, name, baseline_run_id, run_ids, created_by, created_at from experiments
        where tenant_id = ? order by created_at desc limit 200`,
      [tenantId],
    );
    return {
      experiments: rows.map((r) => ({
        id: r.id,
        name: r.name,
        baselineRunId: r.baseline_run_id,
        evalRunIds: r.run_ids,
        createdBy: r.created_by,
        createdAt: r.created_at,
      })),
    };
  }

  private async experimentRow(tenantId: string, id: string): Promise<ExperimentRow> {
    if (!isUuid(id)) throw notFound('Experiment');
    const row = await this.orm.em.fork().findOne(ExperimentEntity, { tenantId, id });
    if (!row) throw notFound('Experiment');
    return row;
  }

  /**
   * The experiment as it stands: each run's aggregate, and every other run against the baseline — metric deltas with
   * paired bootstrap intervals, per-item wins and losses, the items whose verdict changed. Computed on read, so a
   * run still going shows what it has so far. A run deleted since is left out and named.
   */
  async experiment(tenantId: string, id: string) {
    const row = await this.experimentRow(tenantId, id);
    const runs = await this.orm.em.fork().find(EvalRunEntity, { tenantId, id: { $in: row.runIds } });
    const byId = new Map(runs.map((r) => [r.id, r]));
    const baseline = byId.get(row.baselineRunId);
    const base = baseline ? await this.results(tenantId, baseline.id) : null;
    const comparisons = [];
    for (const runId of row.runIds) {
      if (runId === row.baselineRunId || !byId.has(runId) || !base) continue;
      const cand = await this.results(tenantId, runId);
      const questions = new Map([...base.questions, ...cand.questions]);
      // Each run's own threshold decides its pass/fail, so a changed threshold shows the items that changed verdict.
      const threshold = (r: EvalRunRow) => (r.config as unknown as EvalConfig).groundingThreshold;
      comparisons.push({
        evalRunId: runId,
        ...compareRuns(base.results, cand.results, questions, {
          groundingThresholds: { baseline: threshold(baseline!), candidate: threshold(byId.get(runId)!) },
        }),
      });
    }
    return {
      id: row.id,
      name: row.name,
      baselineRunId: row.baselineRunId,
      evalRunIds: row.runIds,
      missingRunIds: row.runIds.filter((r) => !byId.has(r)),
      runs: row.runIds.flatMap((r) => (byId.has(r) ? [publicRun(byId.get(r)!)] : [])),
      comparisons,
      createdBy: row.createdBy,
      createdAt: row.createdAt,
    };
  }

  async deleteExperiment(tenantId: string, id: string): Promise<void> {
    await this.experimentRow(tenantId, id);
    await this.sql(`delete from experiments where tenant_id = ? and id = ?`, [tenantId, id]);
  }
}
