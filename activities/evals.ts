import {
  applicationFailure,
  FAILURES,
  PROMPT_NAMES,
  type AnswerResult,
  type DatasetItem,
  type DatasetVersionRef,
  type EvalAggregate,
  type EvalConfig,
  type EvalItemResult,
  type GroundingReport,
  type PromptRef,
  type PromptSet,
  type Verdict,
} from '../lib/contracts';
import type { Orm } from '../lib/db/orm';
import type { LlmGateway } from '../lib/llm/gateway';
import { AppError, toApplicationFailure } from '../lib/errors';
import { findAnswer, insertRunningAnswer } from '../lib/rag/answer-store';
import { datasetVersion, loadDatasetItems } from '../lib/evals/datasets-store';
import { aggregate, scoreGroundingItem, scoreItem, verdictCounts } from '../lib/evals/metrics';
import { toItemResult, type ResultRow } from '../lib/evals/results';
import { buildCorrectnessMessages, CORRECTNESS_RESPONSE_FORMAT, parseCorrectness } from '../lib/evals/correctness';
import { resolvePrompts } from '../lib/prompts/store';
import { inLlmActivity } from './heartbeat';

export interface EvalActivityDeps {
  orm: Orm;
  llm: LlmGateway;
}

/** The refs of a prompt set, every name (absent names ran their shipped version 1). */
export const promptRefs = (set: PromptSet): PromptRef[] =>
  PROMPT_NAMES.map((name) => ({ name, version: set[name]?.version ?? 1 }));

/**
 * The activities of an eval run (workflows/eval.ts): begin (its row, the dataset version, the prompts), a page of
 * items, an item's answer record, its scores (with the LLM judge's correctness when a judge model is set), and the
 * aggregate at the end. Every write is keyed by run and item index, so a retried or repeated step writes nothing twice.
 */
export function createEvalActivities({ orm, llm }: EvalActivityDeps) {
  const sql = <T = Record<string, unknown>>(query: string, params: unknown[] = []) =>
    orm.em.fork().getConnection().execute(query, params) as Promise<T[]>;

  return {
    /** The run's row (made by the API, or here for a scheduled run), its dataset version and its prompts. */
    async beginEvalRun(input: {
      tenantId: string;
      evalRunId: string;
      workflowId: string;
      dataset: { datasetId: string; version?: number };
      config: EvalConfig;
      prompts?: PromptSet;
      actor: string;
      scheduleId?: string;
      name?: string;
    }): Promise<{ dataset: DatasetVersionRef; itemCount: number; prompts: PromptSet }> {
      const em = orm.em.fork();
      const version = await datasetVersion(em, input.tenantId, input.dataset.datasetId, input.dataset.version);
      if (!version) {
        await sql(
          `update eval_runs set status = 'failed', error = ?, completed_at = now() where tenant_id = ? and id = ?`,
          ['The dataset (or that version of it) is gone.', input.tenantId, input.evalRunId],
        );
        throw applicationFailure(FAILURES.eval.datasetMissing.type, 'The dataset (or that version of it) is gone.');
      }
      let prompts = input.prompts;
      if (!prompts) {
        try {
          prompts = await resolvePrompts(em, input.tenantId, input.config.prompts);
        } catch (e) {
          if (e instanceof AppError && e.status < 500) throw toApplicationFailure(e);
          throw e;
        }
      }
      await sql(
        `insert into eval_runs (id, tenant_id, name, dataset_id, dataset_name, dataset_version, config, prompts, status,
                                item_count, workflow_id, schedule_id, created_by)
         values (?, ?, ?, ?, ?, ?, ?::jsonb, ?::jsonb, 'running', ?, ?, ?, ?)
         on conflict (id) do update set dataset_version = excluded.dataset_version, dataset_name = excluded.dataset_name,
           item_count = excluded.item_count, prompts = excluded.prompts`,
        [
          input.evalRunId,
          input.tenantId,
          input.name ?? `${version.name} v${version.version}`,
          version.datasetId,
          version.name,
          version.version,
          JSON.stringify(input.config),
          JSON.stringify(promptRefs(prompts)),
          version.itemCount,
          input.workflowId,
          input.scheduleId ?? null,
          input.actor,
        ],
      );
      return {
        dataset: { datasetId: version.datasetId, version: version.version },
        itemCount: version.itemCount,
        prompts,
      };
    },

    /** A page of the dataset version's items. */
    async loadEvalItems(input: {
      tenantId: string;
      dataset: DatasetVersionRef;
      offset: number;
      limit: number;
    }): Promise<DatasetItem[]> {
      return loadDatasetItems(orm.em.fork(), input.tenantId, input.dataset, {
        offset: input.offset,
        limit: input.limit,
      });
    },

    /**
     * Before an item's run starts: its result row, running, and for an answer run (target `answer`) its answer record
     * (origin `eval`); a grounding item has no answer record.
     */
    async startEvalItem(input: {
      tenantId: string;
      evalRunId: string;
      index: number;
      item: { id: string; question: string };
      answerId?: string;
      workflowId: string;
    }): Promise<void> {
      if (input.answerId)
        await insertRunningAnswer(orm.em.fork(), {
          tenantId: input.tenantId,
          id: input.answerId,
          workflowId: input.workflowId,
          question: input.item.question,
          origin: 'eval',
        });
      await sql(
        `insert into eval_results (tenant_id, eval_run_id, idx, item_id, question, status, answer_id, workflow_id)
         values (?, ?, ?, ?, ?, 'running', ?, ?) on conflict (eval_run_id, idx) do nothing`,
        [
          input.tenantId,
          input.evalRunId,
          input.index,
          input.item.id,
          input.item.question,
          input.answerId ?? null,
          input.workflowId,
        ],
      );
    },

    /**
     * An item's scores from its answer's recorded result: retrieval against the gold sources, citations, expected
     * facts, grounding, and, with a judge model and an expected answer, the judge's correctness (an abstention scores
     * 0 without a call).
     */
    async scoreEvalItem(input: {
      tenantId: string;
      evalRunId: string;
      index: number;
      item: DatasetItem;
      answerId: string;
      k: number;
      judgeModel?: string;
    }): Promise<EvalItemResult> {
      const record = await findAnswer(orm.em.fork(), input.tenantId, input.answerId);
      if (!record?.result) {
        throw applicationFailure(FAILURES.eval.answerMissing.type, `The answer ${input.answerId} has no result.`);
      }
      const result = record.result as unknown as AnswerResult;
      let correctness: number | null = null;
      let correctnessReason: string | undefined;
      if (input.judgeModel && input.item.expectedAnswer) {
        if (result.status !== 'answered') {
          correctness = 0;
          correctnessReason = 'the answer abstained';
        } else {
          const res = await inLlmActivity(input.tenantId, (ctx) =>
            llm.generate(
              ctx,
              buildCorrectnessMessages(input.item.question, input.item.expectedAnswer!, result.answer),
              {
                purpose: 'judge',
                model: input.judgeModel,
                temperature: 0,
                responseFormat: CORRECTNESS_RESPONSE_FORMAT,
              },
            ),
          );
          try {
            const parsed = parseCorrectness(res.text);
            correctness = parsed.score;
            correctnessReason = parsed.reason;
          } catch (e) {
            throw applicationFailure(FAILURES.judge.invalidOutput.type, (e as Error).message);
          }
        }
      }
      const out: EvalItemResult = {
        index: input.index,
        itemId: input.item.id,
        status: 'completed',
        answerId: input.answerId,
        workflowId: record.workflowId,
        answerStatus: result.status,
        verdicts: verdictCounts(result),
        metrics: { ...scoreItem(input.item, result, input.k), correctness },
      };
      await sql(
        `update eval_results set status = 'completed', answer_status = ?, verdicts = ?::jsonb, metrics = ?::jsonb,
                error = null, updated_at = now()
          where eval_run_id = ? and idx = ? and tenant_id = ?`,
        [
          out.answerStatus,
          out.verdicts ? JSON.stringify(out.verdicts) : null,
          JSON.stringify({ ...out.metrics, ...(correctnessReason ? { correctnessReason } : {}) }),
          input.evalRunId,
          input.index,
          input.tenantId,
        ],
      );
      return out;
    },

    /**
     * A grounding item's scores (target `grounding`) from its check's report: the verdict against the expected one,
     * the claim verdicts, and the check's latency, tokens and cost (its model calls, when it used a model).
     */
    async scoreGroundingEvalItem(input: {
      tenantId: string;
      evalRunId: string;
      index: number;
      item: DatasetItem;
      workflowId: string;
      report: GroundingReport;
      latencyMs: number;
    }): Promise<EvalItemResult> {
      const [usage] = await sql<{ calls: number; input: number; output: number; cost: number }>(
        `select count(*)::int as calls, coalesce(sum(input_tokens), 0)::int as input,
                coalesce(sum(output_tokens), 0)::int as output, coalesce(sum(cost_usd), 0)::float8 as cost
           from llm_calls where tenant_id = ? and workflow_id = ?`,
        [input.tenantId, input.workflowId],
      );
      const verdicts: Record<Verdict, number> = { supported: 0, contradicted: 0, unsupported: 0 };
      for (const c of input.report.claims) verdicts[c.verdict]++;
      const out: EvalItemResult = {
        index: input.index,
        itemId: input.item.id,
        status: 'completed',
        answerId: null,
        workflowId: input.workflowId,
        answerStatus: null,
        verdicts,
        metrics: scoreGroundingItem(input.item, input.report, {
          latencyMs: input.latencyMs,
          inputTokens: usage?.input ?? 0,
          outputTokens: usage?.output ?? 0,
          costUsd: usage?.cost ?? 0,
          calls: usage?.calls ?? 0,
        }),
      };
      await sql(
        `update eval_results set status = 'completed', verdicts = ?::jsonb, metrics = ?::jsonb, error = null,
                updated_at = now()
          where eval_run_id = ? and idx = ? and tenant_id = ?`,
        [JSON.stringify(verdicts), JSON.stringify(out.metrics), input.evalRunId, input.index, input.tenantId],
      );
      return out;
    },

    /** An item whose answer run failed: its row says why; the run goes on with the other items. */
    async failEvalItem(input: { tenantId: string; evalRunId: string; index: number; error: string }): Promise<void> {
      await sql(
        `update eval_results set status = 'failed', error = ?, updated_at = now()
          where eval_run_id = ? and idx = ? and tenant_id = ?`,
        [input.error.slice(0, 2000), input.evalRunId, input.index, input.tenantId],
      );
    },

    /** The aggregate over every item's row, written on the run's row with its final status. */
    async finishEvalRun(input: {
      tenantId: string;
      evalRunId: string;
      workflowId: string;
      status: 'completed' | 'failed' | 'canceled';
      error?: string;
    }): Promise<EvalAggregate> {
      const agg = await computeAggregate(input.tenantId, input.evalRunId, input.workflowId);
      await sql(
        `update eval_runs set status = ?, aggregate = ?::jsonb, error = ?, completed_at = coalesce(completed_at, now())
          where tenant_id = ? and id = ?`,
        [input.status, JSON.stringify(agg), input.error ?? null, input.tenantId, input.evalRunId],
      );
      return agg;
    },
  };

  async function computeAggregate(tenantId: string, evalRunId: string, workflowId: string): Promise<EvalAggregate> {
    const rows = await sql<ResultRow>(
      `select idx, item_id, status, answer_id, workflow_id, answer_status, verdicts, metrics, error
         from eval_results where tenant_id = ? and eval_run_id = ? order by idx`,
      [tenantId, evalRunId],
    );
    const [judge] = await sql<{ calls: number; cost: number }>(
      `select count(*)::int as calls, coalesce(sum(cost_usd), 0)::float8 as cost
         from llm_calls where tenant_id = ? and workflow_id = ?`,
      [tenantId, workflowId],
    );
    return {
      ...aggregate(rows.map(toItemResult)),
      judge: { calls: judge?.calls ?? 0, costUsd: judge?.cost ?? 0 },
    };
  }
}
