import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import type {
  AnswerResult,
  AnswerRunEvent,
  ClaimVerdict,
  ContextPassage,
  GroundingCheckInput,
  GroundingReport,
  HistoryMessage,
  ResolvedPrompt,
  SearchInput,
} from '../lib/contracts';
import { applicationFailure, FAILURES } from '../lib/contracts';
import type { Orm } from '../lib/db/orm';
import { appendRunEvents, RunEventBuffer, type NewRunEvent } from '../lib/events/run-events';
import type { LlmCallContext, LlmGateway } from '../lib/llm/gateway';
import { splitClaims } from '../lib/rag/claims';
import { AppError, toApplicationFailure } from '../lib/errors';
import { addMessage, completeAnswerRecord, failAnswerRecord, holdAnswerForReview } from '../lib/rag/answer-store';
import { assembleContext } from '../lib/rag/context';
import { checkAnswer } from '../lib/rag/grounding';
import { buildJudgeMessages, JUDGE_RESPONSE_FORMAT, JudgeOutputError, parseJudgeOutput } from '../lib/rag/judge';
import { buildAnswerMessages, citedNumbers } from '../lib/rag/prompt';
import { applyRanking, buildRerankMessages, RERANK_RESPONSE_FORMAT } from '../lib/rag/rerank';
import { retrieveHybrid, type RetrievedChunk } from '../lib/rag/retrieve';
import { embedSearchQuery, searchKnowledgeBase } from '../lib/rag/search';
import { buildRewriteMessages, rewriteDeterministic } from '../lib/rag/rewrite';
import { inLlmActivity, llmCallContext } from './heartbeat';

export interface AnswerActivityDeps {
  orm: Orm;
  llm: LlmGateway;
}

/** Bad input found inside an activity (an AppError with a 4xx status) fails the step at once: retrying cannot fix it. */
async function nonRetryableOnBadInput<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof AppError && e.status < 500) throw toApplicationFailure(e);
    throw e;
  }
}

function currentWorkflowId(): string {
  return Context.current().info.workflowExecution!.workflowId;
}

function report(
  claims: ClaimVerdict[],
  threshold: number,
  method: GroundingReport['method'],
  model?: string,
): GroundingReport {
  const score = claims.length ? claims.filter((c) => c.verdict === 'supported').length / claims.length : 1;
  return { score, threshold, passed: score >= threshold, method, claims, ...(model ? { model } : {}) };
}

/** A retrieval as the answer and search workflows ask for it: the question's text and vector. */
interface SearchRequest {
  tenantId: string;
  collectionIds: string[];
  query: string;
  vector: number[];
  topK: number;
  mode?: 'hybrid' | 'vector' | 'text';
}

/**
 * What an answer run hands the step that follows a phase change: that change's events (and the steps before it), for
 * the step to write as it starts (alongside its work), instead of a local activity of their own in the workflow task.
 * Keyed by run, transition and position, so a retried attempt writes nothing twice.
 */
export interface CarriesRunEvents {
  runEvents?: Array<NewRunEvent<AnswerRunEvent>>;
}

/** How many times a step writes its carried events before the step fails (see writeCarried). */
const CARRIED_WRITE_TRIES = 3;

export function createAnswerActivities({ orm, llm }: AnswerActivityDeps) {
  /**
   * Writes a step's carried events, trying again in place on a failed write (a model step's retry would call the
   * model again for it): three tries, 100 and 400 ms apart, then the step fails and its retry writes them.
   */
  const writeCarried = async (tenantId: string, input: CarriesRunEvents, workflowId?: string) => {
    if (!input.runEvents?.length) return;
    const id = workflowId ?? currentWorkflowId();
    for (let attempt = 1; ; attempt++) {
      try {
        return await appendRunEvents(orm.em.fork(), tenantId, id, input.runEvents);
      } catch (e) {
        if (attempt >= CARRIED_WRITE_TRIES) throw e;
        await sleep(100 * 4 ** (attempt - 1));
      }
    }
  };
  /**
   * A step's work while its carried events are written (a model step's events do not wait for the model); the step
   * ends once both have, and a failed write fails it (its retry writes them again, keyed). `work` gets the write to
   * await before events of its own, which must come after; a failed `work` still waits for the write.
   */
  const alongsideCarried = async <T>(
    tenantId: string,
    input: CarriesRunEvents,
    work: (carried: Promise<void>) => Promise<T>,
  ): Promise<T> => {
    const carried = writeCarried(tenantId, input);
    carried.catch(() => {}); // handled here so a failure while the work runs is not an unhandled rejection
    let result: T;
    try {
      result = await work(carried);
    } catch (e) {
      // The step failed: its events are still written if they can be (a run that fails here shows how far it got);
      // the step's own failure is what it reports.
      await carried.catch(() => {});
      throw e;
    }
    await carried;
    return result;
  };
  const hasModel = (purpose: 'answer' | 'judge') => llm.route(purpose).provider !== 'local';
  const search = (input: SearchRequest): Promise<RetrievedChunk[]> =>
    nonRetryableOnBadInput(() =>
      retrieveHybrid(orm.em.fork(), {
        tenantId: input.tenantId,
        collectionIds: input.collectionIds,
        query: input.query,
        queryVector: input.vector,
        topK: input.topK,
        mode: input.mode,
      }),
    );

  const embedQuery = (ctx: LlmCallContext, collectionIds: string[], text: string) =>
    nonRetryableOnBadInput(() => embedSearchQuery({ orm, llm }, ctx, collectionIds, text));

  return {
    /** Chat: the follow-up as a standalone query (LLM when a model is configured, the offline rewrite otherwise). */
    async rewriteQuestion(
      input: {
        tenantId: string;
        question: string;
        history: HistoryMessage[];
        model?: string;
        /** The rewrite prompt the run resolved (absent: the shipped one). */
        prompt?: ResolvedPrompt;
      } & CarriesRunEvents,
    ): Promise<{ query: string; method: 'llm' | 'deterministic' }> {
      return alongsideCarried(input.tenantId, input, async () => {
        if (!input.history.length) return { query: input.question, method: 'deterministic' };
        if (!hasModel('answer'))
          return { query: rewriteDeterministic(input.history, input.question), method: 'deterministic' };
        const res = await inLlmActivity(input.tenantId, (ctx) =>
          llm.generate(ctx, buildRewriteMessages(input.history, input.question, input.prompt?.text), {
            purpose: 'answer',
            model: input.model,
            temperature: 0,
            maxTokens: 200,
          }),
        );
        const query = res.text.replace(/\s+/g, ' ').trim();
        return { query: query || input.question, method: 'llm' };
      });
    },

    /** The query embedded with the collections' own embedding model (they must share one). */
    async embedQuestion(input: {
      tenantId: string;
      collectionIds: string[];
      text: string;
    }): Promise<{ vector: number[]; model: string }> {
      return inLlmActivity(input.tenantId, (ctx) => embedQuery(ctx, input.collectionIds, input.text));
    },

    /** Hybrid retrieval, then the context: deduplicated, within the token budget, numbered for citation. */
    async retrieveContext(
      input: Omit<SearchRequest, 'mode'> & { maxContextTokens: number },
    ): Promise<{ passages: ContextPassage[]; retrieved: number }> {
      const chunks = await search({ ...input, mode: undefined });
      return { passages: assembleContext(chunks, input.maxContextTokens), retrieved: chunks.length };
    },

    /**
     * The query's embedding and the hybrid retrieval in one step (runs since the `answer-steps-carry-events` patch):
     * the full-text side starts while the question is embedded (lib/rag/search.ts), then the context is assembled.
     * Returns how long the embedding and the whole retrieval took, which the run shows as its embed and retrieve steps.
     */
    async retrieveForQuestion(
      input: {
        tenantId: string;
        collectionIds: string[];
        query: string;
        topK: number;
        maxContextTokens: number;
      } & CarriesRunEvents,
    ): Promise<{ passages: ContextPassage[]; retrieved: number; embedMs: number; retrieveMs: number }> {
      const started = performance.now();
      let embedMs = 0;
      const chunks = await alongsideCarried(input.tenantId, input, () =>
        inLlmActivity(input.tenantId, (ctx) =>
          nonRetryableOnBadInput(() =>
            searchKnowledgeBase(
              { orm, llm },
              ctx,
              {
                collectionIds: input.collectionIds,
                query: input.query,
                topK: input.topK,
                mode: 'hybrid',
              },
              () => (embedMs = performance.now() - started),
            ),
          ),
        ),
      );
      return {
        passages: assembleContext(chunks, input.maxContextTokens),
        retrieved: chunks.length,
        embedMs: Math.round(embedMs),
        retrieveMs: Math.round(performance.now() - started),
      };
    },

    /** Plain hybrid search (no generation): the top chunks with their scores and ranks. */
    async searchChunks(input: SearchRequest): Promise<RetrievedChunk[]> {
      return search(input);
    },

    /**
     * A whole search in one step (lib/rag/search.ts), as the search workflow ran it (a local activity) before the API
     * served searches itself; kept for runs started before that. Read-only, so a retry after a worker died repeats nothing that
     * matters. A local activity cannot heartbeat: the embedding call is bounded by the gateway's own timeout and
     * cancelled with the activity.
     */
    async searchKnowledgeStep(input: SearchInput): Promise<RetrievedChunk[]> {
      return nonRetryableOnBadInput(() => searchKnowledgeBase({ orm, llm }, llmCallContext(input.tenantId), input));
    },

    /** Optional: the model reorders the passages. Skipped (unchanged) without a model or on an unusable ranking. */
    async rerankContext(input: {
      tenantId: string;
      question: string;
      passages: ContextPassage[];
      model?: string;
      /** The rerank prompt the run resolved (absent: the shipped one). */
      prompt?: ResolvedPrompt;
    }): Promise<{ passages: ContextPassage[]; reranked: boolean }> {
      if (!hasModel('judge') || input.passages.length < 2) return { passages: input.passages, reranked: false };
      const res = await inLlmActivity(input.tenantId, (ctx) =>
        llm.generate(ctx, buildRerankMessages(input.question, input.passages, input.prompt?.text), {
          purpose: 'judge',
          model: input.model,
          temperature: 0,
          responseFormat: RERANK_RESPONSE_FORMAT,
        }),
      );
      const ranked = applyRanking(res.text, input.passages);
      return ranked ? { passages: ranked, reranked: true } : { passages: input.passages, reranked: false };
    },

    /**
     * Generation with [n] citations, streamed: tokens go to the run's event log as they arrive (batched), so SSE
     * clients see them while the activity's result stays the durable record. A retried attempt first tells clients
     * to discard the partial text they got from the attempt that died.
     */
    async generateAnswer(
      input: {
        tenantId: string;
        question: string;
        passages: ContextPassage[];
        strict: boolean;
        model?: string;
        /** The caller's sampling temperature (absent: 0) and cap on generated tokens. */
        temperature?: number;
        maxTokens?: number;
        /** The answer (or, strict, answer_strict) prompt the run resolved (absent: the shipped one). */
        prompt?: ResolvedPrompt;
      } & CarriesRunEvents,
    ): Promise<{ text: string; citations: number[]; model: string; finishReason: string }> {
      const workflowId = currentWorkflowId();
      return alongsideCarried(input.tenantId, input, async (carried) => {
        const { attempt } = Context.current().info;
        // The generation's own events (tokens) come after the phase change it carries.
        const write = async (events: NewRunEvent[]) => {
          await carried;
          await appendRunEvents(orm.em.fork(), input.tenantId, workflowId, events);
        };
        const buffer = new RunEventBuffer(write);
        if (attempt > 1 || input.strict) buffer.push({ type: 'token_reset', data: { attempt, strict: input.strict } });
        const messages = buildAnswerMessages({
          question: input.question,
          passages: input.passages,
          strict: input.strict,
          system: input.prompt?.text,
        });
        const res = await inLlmActivity(input.tenantId, (ctx) =>
          llm.generate(ctx, messages, {
            purpose: 'answer',
            model: input.model,
            temperature: input.temperature ?? 0,
            ...(input.maxTokens !== undefined ? { maxTokens: input.maxTokens } : {}),
            stream: true,
            onToken: (text) => buffer.push({ type: 'token', data: { text } }),
          }),
        );
        await buffer.flush();
        const numbers = new Set(input.passages.map((p) => p.n));
        return {
          text: res.text.trim(),
          citations: citedNumbers(res.text).filter((n) => numbers.has(n)),
          model: res.model,
          finishReason: res.finishReason,
        };
      });
    },

    /**
     * Claim-level grounding: an LLM judge with structured output when a model is configured (or asked for), the
     * offline checker otherwise: semantic with the local sentence encoder (its model named in the report), lexical
     * when that model cannot be loaded. With the question, claims that do not address it are not support. A judge
     * whose output is not the schema's JSON is retried by Temporal.
     */
    async groundAnswer(
      input: GroundingCheckInput & {
        /** The question answered (optional: grounding checks without one judge support only). */
        question?: string;
        /** The judge prompt the run resolved (absent: the shipped one); the offline checker has no prompt. */
        prompt?: ResolvedPrompt;
      } & CarriesRunEvents,
    ): Promise<GroundingReport> {
      return alongsideCarried(input.tenantId, input, async () => {
        if (input.method === 'llm' && !hasModel('judge')) {
          throw applicationFailure(
            FAILURES.judge.notConfigured.type,
            'An LLM judge was asked for, but no judge model is configured (LLM_PROVIDER is local).',
          );
        }
        const useLlm = input.method === 'llm' || (input.method === 'auto' && hasModel('judge'));
        if (!useLlm) {
          const encoder = llm.localEncoder();
          const checked = await checkAnswer(input.answer, input.passages, {
            question: input.question,
            encoder,
            signal: Context.current().cancellationSignal,
          });
          const model = checked.method === 'semantic' ? encoder?.model : undefined;
          return report(checked.claims, input.threshold, 'deterministic', model);
        }
        const claims = splitClaims(input.answer).map((c) => c.text);
        if (!claims.length) return report([], input.threshold, 'llm');
        const res = await inLlmActivity(input.tenantId, (ctx) =>
          llm.generate(ctx, buildJudgeMessages(claims, input.passages, input.prompt?.text), {
            purpose: 'judge',
            model: input.model,
            temperature: 0,
            responseFormat: JUDGE_RESPONSE_FORMAT,
          }),
        );
        try {
          return report(
            parseJudgeOutput(
              res.text,
              claims,
              input.passages.map((p) => p.id),
            ),
            input.threshold,
            'llm',
            res.model,
          );
        } catch (e) {
          if (e instanceof JudgeOutputError) throw applicationFailure(FAILURES.judge.invalidOutput.type, e.message);
          throw e;
        }
      });
    },

    /** The workflow's own events (phases, steps, gate decisions) into the run's event log. */
    async emitAnswerEvents(input: {
      tenantId: string;
      workflowId: string;
      events: Array<NewRunEvent<AnswerRunEvent>>;
    }): Promise<void> {
      await appendRunEvents(orm.em.fork(), input.tenantId, input.workflowId, input.events);
    },

    /** Holds the record as pending review, so lists and the console show it waiting. */
    async markAnswerPendingReview(input: { tenantId: string; answerId: string }): Promise<void> {
      await holdAnswerForReview(orm.em.fork(), input.tenantId, input.answerId);
    },

    /**
     * The result record: usage summed from the gateway's records of this run, the answer row completed, the
     * conversation's assistant message written (once), and the terminal `result` event. Idempotent.
     */
    async completeAnswer(
      input: {
        tenantId: string;
        conversationId?: string;
        result: Omit<AnswerResult, 'usage'>;
      } & CarriesRunEvents,
    ): Promise<AnswerResult> {
      await writeCarried(input.tenantId, input, input.result.workflowId);
      const em = orm.em.fork();
      const conn = em.getConnection();
      const [usage] = (await conn.execute(
        `select coalesce(sum(input_tokens), 0)::int as input, coalesce(sum(output_tokens), 0)::int as output,
                coalesce(sum(cost_usd), 0)::float8 as cost, count(*)::int as calls
           from llm_calls where tenant_id = ? and workflow_id = ?`,
        [input.tenantId, input.result.workflowId],
      )) as Array<{ input: number; output: number; cost: number; calls: number }>;
      const result: AnswerResult = {
        ...input.result,
        usage: {
          inputTokens: usage?.input ?? 0,
          outputTokens: usage?.output ?? 0,
          costUsd: usage?.cost ?? 0,
          calls: usage?.calls ?? 0,
        },
      };
      await completeAnswerRecord(em, input.tenantId, result);
      if (input.conversationId) {
        await addMessage(em, {
          tenantId: input.tenantId,
          conversationId: input.conversationId,
          role: 'assistant',
          content: result.answer,
          answerId: result.answerId,
        });
      }
      const done = (await conn.execute(
        `select 1 from run_events where tenant_id = ? and workflow_id = ? and type = 'result' limit 1`,
        [input.tenantId, result.workflowId],
      )) as unknown[];
      if (!done.length)
        await appendRunEvents(em, input.tenantId, result.workflowId, [{ type: 'result', data: result }]);
      return result;
    },

    /** A run that failed: the record says so and SSE clients get a terminal `failed` event. */
    async failAnswer(
      input: {
        tenantId: string;
        answerId: string;
        workflowId: string;
        message: string;
      } & CarriesRunEvents,
    ): Promise<void> {
      await writeCarried(input.tenantId, input, input.workflowId);
      const em = orm.em.fork();
      await failAnswerRecord(em, input.tenantId, input.answerId, input.message);
      // A retried attempt (or a replayed one) must not end the stream twice.
      const ended = (await em
        .getConnection()
        .execute(
          `select 1 from run_events where tenant_id = ? and workflow_id = ? and type in ('result', 'failed') limit 1`,
          [input.tenantId, input.workflowId],
        )) as unknown[];
      if (!ended.length)
        await appendRunEvents(em, input.tenantId, input.workflowId, [
          { type: 'failed', data: { message: input.message } },
        ]);
    },
  };
}
