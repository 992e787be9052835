import { judgeRefusal } from '../../lib/settings';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { ApplicationFailure } from '@temporalio/common';
import { msOptionalToNumber } from '@temporalio/common/lib/time';
import { WorkflowFailedError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import {
  ANSWER_DEFAULTS,
  applicationFailureOf,
  failureStatus,
  workflowIds,
  type AnswerInput,
  type AnswerOptions,
  type AnswerState,
  type GroundingMethod,
  type GroundingReport,
  type HistoryMessage,
  type PromptSelection,
  type PromptSet,
  type SearchHit,
  type SearchInput,
  type SearchServed,
} from '../../lib/contracts';
import type { Config } from '../../lib/config';
import type { AnswerRecord, AnswerRecordStatus, Conversation, Message } from '../../lib/db/entities';
import type { Orm } from '../../lib/db/orm';
import { AppError, notFound } from '../../lib/errors';
import { appendRunEvents } from '../../lib/events/run-events';
import { resolvePrompts } from '../../lib/prompts/store';
import * as store from '../../lib/rag/answer-store';
import { answerableCollections } from '../../lib/rag/collections';
import { searchKnowledgeBase } from '../../lib/rag/search';
import type { LlmGateway } from '../../lib/llm/gateway';
import { ATTR } from '../../lib/telemetry/attributes';
import { actorLabel, type Principal } from '../auth/api-keys';
import type { QuotaService } from '../quota/service';
import { answer, answerStateQuery, reviewAnswer } from '../../workflows/answer';
import { groundingCheck } from '../../workflows/grounding';
import { searchKnowledge } from '../../workflows/search';
import { startRun } from '../runs/start';
import { isUuid } from '../schemas';

/** Earlier turns a follow-up is rewritten with (a chat completion's too: api/openai/service.ts). */
export const HISTORY_MESSAGES = 12;

/** How often a waiting request reads the answer's record while its run goes on (its end is not polled for). */
const WAIT_POLL_MS = 1000;

export type PublicAnswer = ReturnType<typeof publicAnswer>;

const publicAnswer = (a: AnswerRecord, live?: AnswerState) => ({
  id: a.id,
  workflowId: a.workflowId,
  conversationId: a.conversationId ?? null,
  question: a.question,
  status: a.status,
  answer: a.answer ?? null,
  groundingScore: a.groundingScore ?? null,
  createdAt: a.createdAt,
  completedAt: a.completedAt ?? null,
  /** Set when a document it cited changed: `current`, `stale` or `unsupported_now` (workflows/recheck-answers.ts). */
  freshness: a.freshness
    ? { status: a.freshness, checkedAt: a.freshnessCheckedAt ?? null, detail: a.freshnessDetail ?? null }
    : null,
  ...(a.result ? { result: a.result } : {}),
  ...(live ? { live } : {}),
});

/** How long a request waits for its answer, and on which statuses; `gone` ends the wait when the client left. */
export interface Wait {
  ms: number;
  waitingOn?: ReadonlyArray<AnswerRecordStatus>;
  gone?: () => boolean;
}

export interface AskInput {
  id: string;
  question: string;
  collectionIds: string[];
  /** Only the options given; the rest are ANSWER_DEFAULTS. */
  options: Partial<AnswerOptions>;
  /** Prompt versions or labels; names left out use their `production` label. */
  prompts?: PromptSelection;
  /** Earlier turns of a chat kept by the client (the OpenAI-compatible endpoint), oldest first. */
  history?: HistoryMessage[];
  /** More memo for the run (who called, through what), beside its `what`. */
  memo?: Record<string, unknown>;
}

export interface GroundingCheckInput {
  answer: string;
  contexts: Array<string | { id: string; text: string }>;
  threshold?: number;
  method?: GroundingMethod;
  model?: string;
}

/** A short run's outcome within its bound: the value, or its id while it still runs. */
export type ShortRun<T> =
  { id: string; workflowId: string; done: true; value: T } | { id: string; workflowId: string; done: false };

function optionsOf(given: Partial<AnswerOptions>, base: Partial<AnswerOptions> = {}): AnswerOptions {
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  return { ...ANSWER_DEFAULTS, ...base, ...defined } as AnswerOptions;
}

/** Answers (start, wait, read, review), grounding checks, searches and chat conversations of one tenant at a time. */
export class AnswersService {
  constructor(
    private readonly temporal: Client,
    private readonly orm: Orm,
    private readonly config: Config,
    /** Admits each run start within the tenant's quotas. */
    private readonly quotas?: QuotaService,
    /** The query embeddings of searches served here (search). */
    private readonly llm?: LlmGateway,
  ) {}

  /** A new answer to a question, waited for as `wait` says. */
  async ask(tenantId: string, q: AskInput, wait: Wait): Promise<PublicAnswer> {
    await this.start(tenantId, q);
    return this.view(tenantId, q.id, wait);
  }

  /** Starts the answer run of a question (idempotent by `q.id`) and names it, without waiting. */
  async start(tenantId: string, q: AskInput): Promise<{ id: string; workflowId: string }> {
    await this.checkCollections(tenantId, q.collectionIds);
    this.checkGroundingMethod(q.options.groundingMethod);
    const prompts = await this.answerPrompts(tenantId, q.prompts);
    const workflowId = await this.startAnswer(tenantId, {
      id: q.id,
      question: q.question,
      collectionIds: q.collectionIds,
      options: optionsOf(q.options),
      prompts,
      ...(q.history?.length ? { history: q.history } : {}),
      ...(q.memo ? { memo: q.memo } : {}),
    });
    return { id: q.id, workflowId };
  }

  async list(tenantId: string, page: { limit: number; before?: Date }): Promise<{ answers: PublicAnswer[] }> {
    const rows = await store.listAnswers(this.orm.em.fork(), tenantId, page);
    return { answers: rows.map((a) => publicAnswer(a)) };
  }

  /** The answer as it stands (after waiting, if asked to), with its live state while it runs. */
  async view(tenantId: string, id: string, wait: Wait): Promise<PublicAnswer> {
    const a = wait.ms ? await this.waitForAnswer(tenantId, id, wait) : await this.own(tenantId, id);
    return publicAnswer(a, await this.live(a));
  }

  /** The tenant's answer record; another tenant's id is "not found", like a missing one. */
  async own(tenantId: string, id: string): Promise<AnswerRecord> {
    if (!isUuid(id)) throw notFound('Answer');
    const a = await store.findAnswer(this.orm.em.fork(), tenantId, id);
    if (!a) throw notFound('Answer');
    return a;
  }

  /** Whether the answer's run is over; a Temporal it cannot reach says not (the caller asks again). */
  async runClosed(a: AnswerRecord): Promise<boolean> {
    const d = await this.temporal.workflow
      .getHandle(a.workflowId)
      .describe()
      .catch((e: unknown) => ((e as Error).name === 'WorkflowNotFoundError' ? null : undefined));
    return d === null || (d !== undefined && d.status.name !== 'RUNNING');
  }

  /**
   * A decision on an answer held for review, recorded as the caller's key's; then waits for the answer it releases
   * (or abstains).
   */
  async review(
    a: AnswerRecord,
    decision: { decision: 'approve' | 'reject'; note?: string },
    by: Principal,
    wait: Pick<Wait, 'gone'>,
  ): Promise<PublicAnswer> {
    try {
      await this.temporal.workflow.getHandle(a.workflowId).executeUpdate(reviewAnswer, {
        args: [
          {
            ...decision,
            reviewer: actorLabel(by),
            reviewerKeyId: by.keyId ?? undefined,
            reviewerUserId: by.userId ?? undefined,
          },
        ],
      });
    } catch (e) {
      if (e instanceof WorkflowUpdateFailedError || (e as Error).name === 'WorkflowNotFoundError') {
        throw new AppError({
          code: 'not_pending_review',
          message: 'This answer is not waiting for review.',
          status: 409,
          category: 'conflict',
        });
      }
      throw e;
    }
    // The decision is taken: wait for the released (or abstained) answer, not for the review state it leaves.
    return this.view(a.tenantId, a.id, { ...wait, ms: 30_000, waitingOn: ['running', 'pending_review'] });
  }

  /** A grounding check of an answer against passages, as a short run. */
  async checkGrounding(tenantId: string, body: GroundingCheckInput): Promise<ShortRun<GroundingReport>> {
    this.checkGroundingMethod(body.method);
    const id = randomUUID();
    const handle = await startRun(
      this.temporal,
      this.config.temporal.taskQueue,
      groundingCheck,
      {
        workflowId: workflowIds.grounding(tenantId, id),
        tenantId,
        kind: 'grounding',
        args: [
          {
            tenantId,
            answer: body.answer,
            passages: body.contexts.map((c, i) => (typeof c === 'string' ? { id: String(i + 1), text: c } : c)),
            threshold: body.threshold ?? ANSWER_DEFAULTS.groundingThreshold,
            method: body.method ?? 'auto',
            ...(body.model ? { model: body.model } : {}),
          },
        ],
      },
      this.quotas,
    );
    return { id, workflowId: handle.workflowId, ...(await shortRunResult<GroundingReport>(handle)) };
  }

  /**
   * Hybrid search without generation, served here: the query's embedding and the hybrid retrieval straight from this
   * process (lib/rag/search.ts) under a `search` span, no workflow step on the way. A search is read-only, so nothing
   * durable is lost when a process dies mid-way; the caller asks again. Then the run is recorded: the search workflow
   * is started with what was served and ends in its first task, so the search is listed in the runs (kind `search`,
   * within the tenant's quotas like every run) with its trace, tokens and cost under its workflow id. A search the
   * model failed (502) is recorded as a failed run; bad input (4xx) records nothing.
   */
  async search(
    tenantId: string,
    body: Omit<SearchInput, 'tenantId'>,
  ): Promise<{ id: string; workflowId: string; value: SearchHit[] }> {
    const id = randomUUID();
    const workflowId = workflowIds.search(tenantId, id);
    const input: SearchInput = { tenantId, ...body };
    const run = { workflowId, tenantId, kind: 'search' as const };
    const record = (served: SearchServed) =>
      // Admitted already (this very call): the start itself is not admitted a second time.
      startRun(this.temporal, this.config.temporal.taskQueue, searchKnowledge, {
        workflowId,
        tenantId,
        kind: 'search',
        collectionId: body.collectionIds[0],
        args: [input, served],
      });
    const serve = async () => {
      const startedAt = new Date().toISOString();
      const t0 = performance.now();
      try {
        const hits = await tracedSearch(workflowId, tenantId, () =>
          withModelRetries(
            (attempt) => searchKnowledgeBase(this.searchDeps(), { tenantId, workflowId, attempt }, body),
            workflowId,
          ),
        );
        await record({ hits, startedAt, durationMs: performance.now() - t0 });
        return hits;
      } catch (e) {
        // The model's failure (bad input is a 4xx and no run, as it was before the search started one).
        if (e instanceof AppError && e.status === 502) {
          const error = { type: e.code, message: e.message };
          await record({ error, startedAt, durationMs: performance.now() - t0 });
        }
        throw e;
      }
    };
    const hits = this.quotas ? await this.quotas.admitRun(run, serve) : await serve();
    return { id, workflowId, value: hits };
  }

  private searchDeps() {
    if (!this.llm) throw new Error('AnswersService.search needs the LLM gateway');
    return { orm: this.orm, llm: this.llm };
  }

  async createConversation(
    tenantId: string,
    c: { title?: string; collectionIds: string[]; options?: Partial<AnswerOptions> },
  ): Promise<Conversation> {
    this.checkGroundingMethod(c.options?.groundingMethod);
    await this.checkCollections(tenantId, c.collectionIds);
    return store.createConversation(this.orm.em.fork(), { tenantId, ...c });
  }

  async listConversations(tenantId: string): Promise<{ conversations: Conversation[] }> {
    return { conversations: await store.listConversations(this.orm.em.fork(), tenantId) };
  }

  /** The tenant's conversation; another tenant's id is "not found", like a missing one. */
  async conversation(tenantId: string, id: string): Promise<Conversation> {
    if (!isUuid(id)) throw notFound('Conversation');
    const c = await store.findConversation(this.orm.em.fork(), tenantId, id);
    if (!c) throw notFound('Conversation');
    return c;
  }

  async conversationWithMessages(c: Conversation): Promise<Conversation & { messages: Message[] }> {
    return { ...c, messages: await store.listMessages(this.orm.em.fork(), c.tenantId, c.id) };
  }

  /** A follow-up: stored, then answered with the conversation's history (rewritten into a standalone query). */
  async followUp(
    c: Conversation,
    m: { id: string; content: string; prompts?: PromptSelection },
    wait: Wait,
  ): Promise<PublicAnswer> {
    const tenantId = c.tenantId;
    // Before the message is stored: an unknown version or label is a 400 that leaves nothing behind.
    const prompts = await this.answerPrompts(tenantId, m.prompts);
    // The message is stored before its run starts: a run the quotas would refuse must be refused first, so a 429
    // leaves no unanswered message behind (a retry of an existing id is the same run, never refused).
    if (!(await this.claimAnswerId(tenantId, m.id, c.id))) await this.quotas?.checkRun({ tenantId, kind: 'answer' });
    const em = this.orm.em.fork();
    const history = await store.conversationHistory(em, tenantId, c.id, m.id, HISTORY_MESSAGES);
    await store.addMessage(em, { tenantId, conversationId: c.id, role: 'user', content: m.content, answerId: m.id });
    await this.startAnswer(tenantId, {
      id: m.id,
      question: m.content,
      collectionIds: c.collectionIds,
      options: optionsOf({}, c.options as Partial<AnswerOptions>),
      conversationId: c.id,
      history,
      prompts,
    });
    return this.view(tenantId, m.id, wait);
  }

  /**
   * The answer prompts a new run uses, resolved now (labels become versions), so the run keeps them whatever the
   * labels say later. The agent prompt is not the answer workflow's.
   */
  private async answerPrompts(tenantId: string, selection?: PromptSelection): Promise<PromptSet> {
    const { agent: _agent, ...prompts } = await resolvePrompts(this.orm.em.fork(), tenantId, selection);
    return prompts;
  }

  private checkCollections(tenantId: string, ids: string[]) {
    return answerableCollections(this.orm.em.fork(), tenantId, ids);
  }

  private checkGroundingMethod(method: GroundingMethod | undefined) {
    const refusal = judgeRefusal(method, this.config.llm.provider);
    if (refusal) throw refusal;
  }

  /**
   * The record of an answer id this tenant may use (null when the id is new); an id of another conversation is
   * refused. Ids are keyed per tenant, so another tenant's id is simply unused here.
   */
  private async claimAnswerId(tenantId: string, id: string, conversationId?: string) {
    const existing = await store.findAnswer(this.orm.em.fork(), tenantId, id);
    if (existing && (existing.conversationId ?? undefined) !== conversationId) {
      throw new AppError({
        code: 'id_conflict',
        message: 'This id is taken; choose another.',
        status: 409,
        category: 'conflict',
      });
    }
    return existing;
  }

  private async startAnswer(
    tenantId: string,
    a: {
      id: string;
      question: string;
      collectionIds: string[];
      options: AnswerOptions;
      conversationId?: string;
      history?: HistoryMessage[];
      prompts: PromptSet;
      memo?: Record<string, unknown>;
    },
  ) {
    const workflowId = workflowIds.answer(tenantId, a.id);
    const em = this.orm.em.fork();
    const existing = await this.claimAnswerId(tenantId, a.id, a.conversationId);
    if (!existing)
      await store.insertRunningAnswer(em, {
        tenantId,
        id: a.id,
        workflowId,
        question: a.question,
        conversationId: a.conversationId,
      });
    const input: AnswerInput = {
      tenantId,
      answerId: a.id,
      question: a.question,
      collectionIds: a.collectionIds,
      options: a.options,
      ...(a.conversationId ? { conversationId: a.conversationId, history: a.history ?? [] } : {}),
      ...(!a.conversationId && a.history?.length ? { history: a.history } : {}),
      prompts: a.prompts,
    };
    try {
      await startRun(
        this.temporal,
        this.config.temporal.taskQueue,
        answer,
        {
          workflowId,
          args: [input],
          tenantId,
          kind: 'answer',
          collectionId: a.collectionIds[0],
          ...(a.memo ? { memo: a.memo } : {}),
        },
        this.quotas,
      );
    } catch (e) {
      // Not started (Temporal unreachable): no record may claim a run that does not exist. A start that timed out
      // may still have started the run, so the record goes only when Temporal confirms there is none.
      const started = await this.temporal.workflow
        .getHandle(workflowId)
        .describe()
        .then(() => true)
        .catch((err: unknown) => ((err as Error).name === 'WorkflowNotFoundError' ? false : true));
      if (!existing && !started) await store.deleteUnstartedAnswer(em, tenantId, a.id);
      throw e;
    }
    return workflowId;
  }

  /**
   * Waits until the answer is final or held for review (or the wait is over). The run's end arrives by the Temporal
   * client's long poll on its result, so a waiter costs no queries meanwhile; the record is read again at that end
   * and once a second (a hold for review comes while the run goes on; a client that left ends the wait).
   */
  private async waitForAnswer(tenantId: string, id: string, wait: Wait): Promise<AnswerRecord> {
    const until = Date.now() + wait.ms;
    const waitingOn = wait.waitingOn ?? ['running'];
    let a = await this.own(tenantId, id);
    if (!waitingOn.includes(a.status)) return a;
    const stop = new AbortController();
    let ended = false;
    const end = this.temporal
      .withAbortSignal(stop.signal, () => this.temporal.workflow.getHandle(a.workflowId).result())
      .then(
        () => {},
        () => {},
      )
      .finally(() => (ended = true));
    try {
      for (;;) {
        const left = until - Date.now();
        if (left <= 0 || wait.gone?.()) return a;
        await Promise.race([end, sleep(Math.min(WAIT_POLL_MS, left))]);
        a = await this.own(tenantId, id);
        // A run that ended without its record saying so (terminated) is reconciled by `live`, not waited for.
        if (!waitingOn.includes(a.status) || ended) return a;
      }
    } finally {
      stop.abort();
    }
  }

  /**
   * The live state of an unfinished answer. A run that ended without writing its record (terminated, timed out: no
   * workflow code ran to say so) is reconciled here: the record becomes `failed` and SSE clients get `failed`.
   */
  private async live(a: AnswerRecord): Promise<AnswerState | undefined> {
    if (a.status !== 'running' && a.status !== 'pending_review') return undefined;
    const handle = this.temporal.workflow.getHandle(a.workflowId);
    const described = await handle.describe().catch(() => null);
    if (described && described.status.name !== 'RUNNING') {
      await this.reconcileDeadRun(a, described.status.name);
      return undefined;
    }
    return handle.query(answerStateQuery).catch(() => undefined);
  }

  /** The record of a run that ended without writing it becomes `failed` (once), and `a` with it. */
  private async reconcileDeadRun(a: AnswerRecord, runStatus: string): Promise<void> {
    const em = this.orm.em.fork();
    const fresh = await store.findAnswer(em, a.tenantId, a.id);
    if (!fresh || (fresh.status !== 'running' && fresh.status !== 'pending_review')) return;
    const message = `The run ended (${runStatus.toLowerCase()}) without a result.`;
    if (await store.failAnswerRecord(em, a.tenantId, a.id, message, fresh.status))
      await appendRunEvents(em, a.tenantId, a.workflowId, [{ type: 'failed', data: { message } }]);
    Object.assign(a, { status: 'failed', result: { error: message } });
  }
}

/**
 * The result of a short run (grounding check, search) within a bound: a run still going after it answers with
 * `done: false`; a failed run maps its failure type to a 4xx (bad input) or a 502 (the model), never a bare 500.
 */
export async function shortRunResult<T>(
  handle: { workflowId: string; result: () => Promise<unknown> },
  timeoutMs = 60_000,
): Promise<{ done: true; value: T } | { done: false }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<{ done: false }>((r) => (timer = setTimeout(() => r({ done: false }), timeoutMs)));
    return await Promise.race([handle.result().then((value) => ({ done: true as const, value: value as T })), timeout]);
  } catch (e) {
    const failure = e instanceof WorkflowFailedError ? applicationFailureOf(e.cause) : undefined;
    if (failure) throw failureAsAppError(failure, handle.workflowId);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** A run's or a model call's failure as the API answers it: its type as the code, a 4xx for bad input, else a 502. */
function failureAsAppError(failure: ApplicationFailure, workflowId: string): AppError {
  const type = failure.type ?? 'run_failed';
  const status = failureStatus(type, failure.nonRetryable);
  return new AppError({
    code: type,
    message: failure.message,
    status,
    category: status === 502 ? 'dependency' : 'user',
    details: { workflowId },
  });
}

const tracer = trace.getTracer('beyondcloud-api');

/** The `search` span of a search served by the API, under its request's span, named by tenant and workflow id. */
function tracedSearch<T>(workflowId: string, tenantId: string, fn: () => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(
    'search',
    { attributes: { [ATTR.tenantId]: tenantId, [ATTR.workflowId]: workflowId, [ATTR.runKind]: 'search' } },
    async (span) => {
      try {
        return await fn();
      } catch (e) {
        span.recordException(e as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
        throw e;
      } finally {
        span.end();
      }
    },
  );
}

/** Attempts of a model call served in the API process, and the longest wait before another one. */
const MODEL_ATTEMPTS = 3;
const MODEL_RETRY_MAX_MS = 2_000;

/**
 * A model call served in the API process, tried again on a retryable failure (a rate limit, a 5xx, a timeout) as
 * an activity would be, within a bound a waiting caller accepts: 3 attempts, the provider's Retry-After or 250 ms
 * doubling, at most 2 s apart. Every attempt is recorded by the gateway (`llm_calls`, attempt n). A failure left is
 * the API's error: 4xx for bad input, 502 for the model.
 */
async function withModelRetries<T>(fn: (attempt: number) => Promise<T>, workflowId: string): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (!(e instanceof ApplicationFailure)) throw e;
      if (e.nonRetryable || attempt >= MODEL_ATTEMPTS) throw failureAsAppError(e, workflowId);
      const delay = e.nextRetryDelay ? msOptionalToNumber(e.nextRetryDelay) : undefined;
      await sleep(Math.min(delay ?? 250 * 2 ** (attempt - 1), MODEL_RETRY_MAX_MS));
    }
  }
}
