import { Context } from '@temporalio/activity';
import { arrayFromPayloads, type PayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type {
  AnswerInput,
  AnswerOptions,
  AnswerResult,
  AnswerStatus,
  ContextPassage,
  GroundingReport,
  RecordedAnswer,
  ReplayItemResult,
  ReplayMode,
} from '../lib/contracts';
import { ANSWER_DEFAULTS, applicationFailure, FAILURES } from '../lib/contracts';
import type { Orm } from '../lib/db/orm';
import {
  citationId,
  diffCitations,
  diffClaims,
  metricDelta,
  REPLAYABLE_STATUSES,
  summarizeReplay,
} from '../lib/evals/replay-diff';
import { findAnswer } from '../lib/rag/answer-store';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export interface ReplayActivityDeps {
  orm: Orm;
}

/** Where a replay found the passages generation saw: the answer run's history, or the answer's record (retention). */
export type RecordSource = 'history' | 'record';

/** The recorded answer as a replay uses it: the contract's shape, plus its collections and where it was read. */
export type LoadedAnswer = RecordedAnswer & { collectionIds: string[]; source: RecordSource };

/** A replayed answer as the workflow hands it over: what the gate released, and the passages it cited. */
export interface ReplayOutcome {
  text: string;
  /** The model's own words when the gate did not release them (the released text is then the abstention). */
  modelText: string | null;
  status: AnswerStatus;
  grounding: GroundingReport | null;
  citations: Array<Pick<ContextPassage, 'n' | 'chunkId' | 'source'>>;
  /** Passages generation saw (after rerank in retrieval mode). */
  passages: number;
  regenerated: boolean;
  latencyMs: number;
  model: string | null;
}

/** A stored item: the contract's result, the mode, where the passages came from, and the unreleased model text. */
export type StoredReplayItem = ReplayItemResult & {
  mode: ReplayMode;
  source: RecordSource | null;
  modelText?: string | null;
};

/** Results of the completed activities of the given types, in the order they completed. */
export function completedActivityResults(
  events: HistoryEvent[],
  converter: PayloadConverter,
  types: readonly string[],
): Array<{ type: string; result: unknown }> {
  const scheduled = new Map<string, string>();
  const results: Array<{ type: string; result: unknown }> = [];
  for (const e of events) {
    const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (type && types.includes(type)) scheduled.set(String(e.eventId), type);
    const done = e.activityTaskCompletedEventAttributes;
    const doneType = done ? scheduled.get(String(done.scheduledEventId)) : undefined;
    if (done && doneType)
      results.push({ type: doneType, result: arrayFromPayloads(converter, done.result?.payloads)[0] });
  }
  return results;
}

/** The answer run's start input and the passages its generation saw, or null when the run has no such step. */
export function recordedRun(
  events: HistoryEvent[],
  converter: PayloadConverter,
): { input: AnswerInput; passages: ContextPassage[] } | null {
  const started = events[0]?.workflowExecutionStartedEventAttributes;
  const [input] = arrayFromPayloads(converter, started?.input?.payloads) as [AnswerInput | undefined];
  if (!input) return null;
  // The retrieval step: retrieveForQuestion since the answer-steps-carry-events patch, retrieveContext before it.
  const retrievals = ['retrieveForQuestion', 'retrieveContext'];
  const steps = completedActivityResults(events, converter, [...retrievals, 'rerankContext']);
  // The answer workflow reranks after retrieving: the last rerank, if any, is what generation saw.
  const step = steps.findLast((s) => s.type === 'rerankContext') ?? steps.findLast((s) => retrievals.includes(s.type));
  if (!step) return null;
  return { input, passages: (step.result as { passages: ContextPassage[] }).passages };
}

/** The run is unknown to Temporal (its history is past retention): NOT_FOUND, however the client wraps it. */
function isGone(e: unknown): boolean {
  for (
    let err = e as { name?: string; code?: number; cause?: unknown } | undefined, depth = 0;
    err && depth < 4;
    depth++
  ) {
    if (err.name === 'WorkflowNotFoundError' || err.code === 5) return true;
    err = err.cause as typeof err;
  }
  return false;
}

/**
 * Reading recorded answers and writing a replay's items and outcome (workflows/replay.ts). The recorded run's history
 * is read through the worker's own Temporal client (the activity context's).
 */
export function createReplayActivities({ orm }: ReplayActivityDeps) {
  /** Passages of a record without a history: the context's order, the text from the result or the chunk if it remains. */
  async function passagesFromRecord(tenantId: string, result: AnswerResult): Promise<ContextPassage[]> {
    const withText = new Map(
      [...(result.citations ?? []), ...(result.considered?.passages ?? [])].map((p) => [p.chunkId, p]),
    );
    const context = result.context ?? [...withText.values()];
    const missing = context.map((c) => c.chunkId).filter((id) => !withText.has(id));
    const chunks = missing.length
      ? ((await orm.em
          .fork()
          .getConnection()
          .execute(
            `select id::text as id, text, tokens, page, heading_path as "headingPath"
               from chunks where tenant_id = ? and id = any(?::uuid[])`,
            [tenantId, `{${missing.join(',')}}`],
          )) as Array<{ id: string; text: string; tokens: number; page: number | null; headingPath: string[] | null }>)
      : [];
    const byId = new Map(chunks.map((c) => [c.id, c]));
    return context.flatMap((c): ContextPassage[] => {
      const known = withText.get(c.chunkId);
      if (known) return [{ ...known, n: c.n }];
      const chunk = byId.get(c.chunkId);
      if (!chunk) return [];
      return [
        {
          ...c,
          page: chunk.page ?? null,
          headingPath: chunk.headingPath ?? [],
          text: chunk.text,
          tokens: chunk.tokens,
          score: 0,
        },
      ];
    });
  }

  return {
    /**
     * A past answer of the tenant and what its generation saw: the run's start input (options, prompts, collections)
     * and the passages of its last rerank, else of its retrieval, read from the run's history; when the history is
     * gone (retention), from the answer's record. Another tenant's or an unknown answer fails for good.
     */
    async loadRecordedAnswer(input: { tenantId: string; answerId: string }): Promise<LoadedAnswer> {
      const row = await findAnswer(orm.em.fork(), input.tenantId, input.answerId);
      if (!row?.result || !(REPLAYABLE_STATUSES as readonly string[]).includes(row.status)) {
        throw applicationFailure(
          FAILURES.eval.answerMissing.type,
          `Answer ${input.answerId} was not found, or has no finished result to replay.`,
        );
      }
      const result = row.result as unknown as AnswerResult;
      const client = Context.current().client;
      let run: ReturnType<typeof recordedRun> = null;
      try {
        const history = await client.workflow.getHandle(row.workflowId).fetchHistory();
        run = recordedRun(history.events ?? [], client.options.loadedDataConverter.payloadConverter);
      } catch (e) {
        if (!isGone(e)) throw e;
      }
      const { considered: _considered, ...rest } = result;
      const base = {
        answerId: row.id,
        workflowId: row.workflowId,
        question: row.question,
        query: result.query ?? row.question,
        result: rest,
      };
      if (run) {
        return {
          ...base,
          passages: run.passages,
          options: { ...ANSWER_DEFAULTS, ...run.input.options },
          prompts: run.input.prompts ?? {},
          collectionIds: run.input.collectionIds,
          source: 'history',
        };
      }
      const passages = await passagesFromRecord(input.tenantId, result);
      const options: AnswerOptions = { ...ANSWER_DEFAULTS, ...(result.model ? { model: result.model } : {}) };
      if (result.grounding) options.groundingThreshold = result.grounding.threshold;
      return {
        ...base,
        passages,
        options,
        prompts: {},
        collectionIds: [...new Set((result.context ?? passages).map((p) => p.collectionId))],
        source: 'record',
      };
    },

    /**
     * One replayed answer stored (an upsert: a retried attempt writes the same row): the recorded answer against the
     * outcome, with the child run's model usage from `llm_calls`, the claim and citation changes and the deltas.
     */
    async saveReplayItem(input: {
      tenantId: string;
      replayId: string;
      index: number;
      answerId: string;
      workflowId: string;
      mode: ReplayMode;
      source: RecordSource | null;
      outcome: ReplayOutcome | null;
      error?: string;
    }): Promise<StoredReplayItem> {
      const em = orm.em.fork();
      const conn = em.getConnection();
      const row = await findAnswer(em, input.tenantId, input.answerId);
      const recorded = (row?.result ?? null) as AnswerResult | null;
      const old = recorded
        ? {
            text: recorded.answer,
            status: recorded.status,
            groundingScore: recorded.grounding?.score ?? null,
            citations: recorded.citations.map(citationId),
            costUsd: recorded.usage?.costUsd ?? 0,
            latencyMs: recorded.latencyMs ?? 0,
            model: recorded.model ?? null,
          }
        : null;
      let item: StoredReplayItem;
      if (input.outcome && recorded && old) {
        const [usage] = (await conn.execute(
          `select coalesce(sum(cost_usd), 0)::float8 as cost from llm_calls where tenant_id = ? and workflow_id = ?`,
          [input.tenantId, input.workflowId],
        )) as Array<{ cost: number }>;
        const o = input.outcome;
        const next = {
          text: o.text,
          status: o.status,
          groundingScore: o.grounding?.score ?? null,
          citations: o.citations.map(citationId),
          costUsd: usage?.cost ?? 0,
          latencyMs: o.latencyMs,
          model: o.model,
          grounding: o.grounding,
        };
        item = {
          index: input.index,
          answerId: input.answerId,
          workflowId: input.workflowId,
          status: 'completed',
          old,
          new: next,
          claims: diffClaims(recorded.grounding, o.grounding),
          citations: diffCitations(recorded.citations, o.citations),
          delta: metricDelta(old, next),
          mode: input.mode,
          source: input.source,
          modelText: o.modelText,
        };
      } else {
        item = {
          index: input.index,
          answerId: input.answerId,
          workflowId: input.workflowId,
          status: 'failed',
          old,
          new: null,
          claims: [],
          citations: { added: [], removed: [] },
          delta: null,
          error: input.error ?? 'The answer could not be replayed.',
          mode: input.mode,
          source: input.source,
        };
      }
      await conn.execute(
        `insert into replay_items (tenant_id, replay_id, idx, answer_id, status, result)
         values (?, ?, ?, ?, ?, ?::jsonb)
         on conflict (replay_id, idx) do update
           set status = excluded.status, result = excluded.result, updated_at = now()`,
        [input.tenantId, input.replayId, input.index, input.answerId, item.status, JSON.stringify(item)],
      );
      return item;
    },

    /** The replay's status; at its end, its summary over the stored items. */
    async markReplay(input: {
      tenantId: string;
      replayId: string;
      status: 'running' | 'completed' | 'failed' | 'canceled';
      error?: string;
    }): Promise<{ items: number; completed: number; failed: number }> {
      const conn = orm.em.fork().getConnection();
      if (input.status === 'running') {
        await conn.execute(`update replays set status = 'running' where tenant_id = ? and id = ?`, [
          input.tenantId,
          input.replayId,
        ]);
        return { items: 0, completed: 0, failed: 0 };
      }
      const rows = (await conn.execute(
        `select result from replay_items where tenant_id = ? and replay_id = ? order by idx`,
        [input.tenantId, input.replayId],
      )) as Array<{ result: StoredReplayItem }>;
      const summary = summarizeReplay(rows.map((r) => r.result));
      await conn.execute(
        `update replays set status = ?, summary = ?::jsonb, error = ?, completed_at = coalesce(completed_at, now())
          where tenant_id = ? and id = ?`,
        [input.status, JSON.stringify(summary), input.error ?? null, input.tenantId, input.replayId],
      );
      return { items: summary.items, completed: summary.completed, failed: summary.failed };
    },
  };
}
