import { randomUUID } from 'node:crypto';
import { Router } from '@koa/router';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Context } from 'koa';
import { z } from 'zod';
import { ANSWER_DEFAULTS, durationMs, workflowIds, type AnswerInput, type AnswerOptions, type AnswerState, type GroundingReport, type HistoryMessage, type SearchHit, type SearchInput } from '../../lib/contracts';
import { AnswerEntity, ConversationEntity, MessageEntity, type AnswerRecord } from '../../lib/db/entities';
import { AppError, badRequest, notFound } from '../../lib/errors';
import { answerableCollections } from '../../lib/rag/collections';
import { appendRunEvents } from '../../lib/events/run-events';
import type { AppDeps } from '../app';
import { requireRole, type AuthState } from '../auth/middleware';
import { startRun } from '../runs/start';
import { streamRunEvents } from '../sse';

const uuid = z.uuid({ error: 'must be a UUID' });

const answerOptions = z
  .object({
    topK: z.number().int().min(1).max(50).optional(),
    model: z.string().regex(/^[A-Za-z0-9._:/-]{1,200}$/).optional(),
    groundingThreshold: z.number().min(0).max(1).optional(),
    policy: z.enum(['abstain', 'review']).optional(),
    reviewTimeout: z
      .string()
      .refine((s) => (durationMs(s) ?? 0) >= 1000 && (durationMs(s) ?? 0) <= 30 * 86_400_000, { message: "must be a duration from 1 second to 30 days, like '24 hours'" })
      .optional(),
    maxContextTokens: z.number().int().min(100).max(100_000).optional(),
    groundingMethod: z.enum(['auto', 'llm', 'deterministic']).optional(),
    rerank: z.boolean().optional(),
  })
  .strict();

const answerBody = answerOptions
  .extend({
    question: z.string().trim().min(1).max(4000),
    collectionIds: z.array(uuid).min(1).max(20),
    /** A client-chosen id makes the start idempotent: sending it again returns the same answer. */
    id: uuid.optional(),
  })
  .strict();

const groundingBody = z
  .object({
    answer: z.string().trim().min(1).max(20_000),
    contexts: z
      .array(z.union([z.string().min(1).max(50_000), z.object({ id: z.string().min(1).max(100), text: z.string().min(1).max(50_000) }).strict()]))
      .min(1)
      .max(100),
    threshold: z.number().min(0).max(1).optional(),
    method: z.enum(['auto', 'llm', 'deterministic']).optional(),
    model: z.string().regex(/^[A-Za-z0-9._:/-]{1,200}$/).optional(),
  })
  .strict();

const searchBody = z
  .object({
    query: z.string().trim().min(1).max(4000),
    collectionIds: z.array(uuid).min(1).max(20),
    topK: z.number().int().min(1).max(50).default(8),
    mode: z.enum(['hybrid', 'vector', 'text']).default('hybrid'),
  })
  .strict();

const conversationBody = z
  .object({ title: z.string().trim().min(1).max(200).optional(), collectionIds: z.array(uuid).min(1).max(20), options: answerOptions.optional() })
  .strict();
const messageBody = z.object({ content: z.string().trim().min(1).max(4000), id: uuid.optional() }).strict();
/** No `reviewer`: the decision is recorded as the key's (strict, so a body naming someone else is refused). */
const reviewBody = z.object({ decision: z.enum(['approve', 'reject']), note: z.string().max(2000).optional() }).strict();

/** Earlier turns a follow-up is rewritten with. */
const HISTORY_MESSAGES = 12;
const MAX_WAIT_MS = 120_000;

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
  ...(a.result ? { result: a.result } : {}),
  ...(live ? { live } : {}),
});

/** Answers (start, wait, read, stream, review), grounding checks, and chat conversations. */
export function answersRoutes({ orm, temporal, config }: AppDeps) {
  const router = new Router<AuthState>({ prefix: '/v1', sensitive: true });
  /** Starting runs (model budget), writing conversations and deciding reviews: never a viewer. */
  const operate = requireRole('admin', 'operator');

  const checkCollections = (tenantId: string, ids: string[]) => answerableCollections(orm.em.fork(), tenantId, ids);

  function optionsOf(body: z.infer<typeof answerOptions>, base: Partial<AnswerOptions> = {}): AnswerOptions {
    const defined = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
    return { ...ANSWER_DEFAULTS, ...base, ...defined } as AnswerOptions;
  }

  /**
   * The record of an answer id this tenant may use (null when the id is new); an id of another conversation is
   * refused. Ids are keyed per tenant, so another tenant's id is simply unused here.
   */
  async function claimAnswerId(tenantId: string, id: string, conversationId?: string) {
    const existing = await orm.em.fork().findOne(AnswerEntity, { id, tenantId });
    if (existing && (existing.conversationId ?? undefined) !== conversationId) {
      throw new AppError({ code: 'id_conflict', message: 'This id is taken; choose another.', status: 409, category: 'conflict' });
    }
    return existing;
  }

  function checkGroundingMethod(method: string | undefined) {
    if (method === 'llm' && config.llm.provider === 'local') {
      throw badRequest('judge_not_configured', 'An LLM judge was asked for (method "llm"), but no model is configured (LLM_PROVIDER is local); use "auto" or "deterministic".');
    }
  }

  async function startAnswer(tenantId: string, a: { id: string; question: string; collectionIds: string[]; options: AnswerOptions; conversationId?: string; history?: HistoryMessage[] }) {
    const workflowId = workflowIds.answer(tenantId, a.id);
    const em = orm.em.fork();
    const existing = await claimAnswerId(tenantId, a.id, a.conversationId);
    if (!existing) {
      await em.getConnection().execute(
        `insert into answers (id, tenant_id, workflow_id, conversation_id, question, status) values (?, ?, ?, ?, ?, 'running') on conflict (tenant_id, id) do nothing`,
        [a.id, tenantId, workflowId, a.conversationId ?? null, a.question],
      );
    }
    const input: AnswerInput = { tenantId, answerId: a.id, question: a.question, collectionIds: a.collectionIds, options: a.options, ...(a.conversationId ? { conversationId: a.conversationId, history: a.history ?? [] } : {}) };
    try {
      await startRun(temporal, config.temporal.taskQueue, { workflowType: 'answer', workflowId, args: [input], tenantId, kind: 'answer', collectionId: a.collectionIds[0] });
    } catch (e) {
      // Not started (Temporal unreachable): no record may claim a run that does not exist. A start that timed out
      // may still have started the run, so the record goes only when Temporal confirms there is none.
      const started = await temporal.workflow
        .getHandle(workflowId)
        .describe()
        .then(() => true)
        .catch((err: unknown) => ((err as Error).name === 'WorkflowNotFoundError' ? false : true));
      if (!existing && !started) await em.getConnection().execute(`delete from answers where id = ? and tenant_id = ? and status = 'running'`, [a.id, tenantId]);
      throw e;
    }
    return workflowId;
  }

  async function ownAnswer(tenantId: string, id: string) {
    if (!uuid.safeParse(id).success) throw notFound('Answer');
    const a = await orm.em.fork().findOne(AnswerEntity, { id, tenantId });
    if (!a) throw notFound('Answer');
    return a;
  }

  /** Waits until the answer is final or held for review (or the wait is over), reading the record. */
  async function waitForAnswer(tenantId: string, id: string, timeoutMs: number, waitingOn: ReadonlyArray<AnswerRecord['status']> = ['running'], gone?: () => boolean) {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const a = await ownAnswer(tenantId, id);
      if (!waitingOn.includes(a.status) || Date.now() >= until || gone?.()) return a;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * The live state of an unfinished answer. A run that ended without writing its record (terminated, timed out: no
   * workflow code ran to say so) is reconciled here: the record becomes `failed` and SSE clients get `failed`.
   */
  async function live(a: AnswerRecord): Promise<AnswerState | undefined> {
    if (a.status !== 'running' && a.status !== 'pending_review') return undefined;
    const handle = temporal.workflow.getHandle(a.workflowId);
    const described = await handle.describe().catch(() => null);
    if (described && described.status.name !== 'RUNNING') {
      const em = orm.em.fork();
      const fresh = await em.findOne(AnswerEntity, { id: a.id, tenantId: a.tenantId });
      if (fresh && (fresh.status === 'running' || fresh.status === 'pending_review')) {
        const message = `The run ended (${described.status.name.toLowerCase()}) without a result.`;
        const changed = await em.nativeUpdate(AnswerEntity, { id: a.id, tenantId: a.tenantId, status: fresh.status }, { status: 'failed', result: { error: message }, completedAt: new Date() });
        if (changed === 1) await appendRunEvents(em, a.tenantId, a.workflowId, [{ type: 'failed', data: { message } }]);
        Object.assign(a, { status: 'failed', result: { error: message } });
      }
      return undefined;
    }
    return handle.query<AnswerState>('state').catch(() => undefined);
  }

  const waitParam = (q: unknown) => {
    const { wait, timeoutMs } = z
      .object({ wait: z.enum(['true', 'false', '1', '0']).optional(), timeoutMs: z.coerce.number().int().min(1).max(MAX_WAIT_MS).optional() })
      .parse(q);
    return wait === 'true' || wait === '1' ? (timeoutMs ?? MAX_WAIT_MS) : 0;
  };

  async function respond(ctx: Context, tenantId: string, id: string, waitMs: number, waitingOn?: ReadonlyArray<AnswerRecord['status']>) {
    let gone = false;
    // The response closing before it was written means the client went away: stop polling for it.
    ctx.res.once('close', () => (gone = !ctx.res.writableEnded));
    const a = waitMs ? await waitForAnswer(tenantId, id, waitMs, waitingOn, () => gone) : await ownAnswer(tenantId, id);
    const state = await live(a);
    ctx.status = a.status === 'running' ? 202 : 200;
    ctx.body = publicAnswer(a, state);
  }

  /**
   * The result of a short run (grounding check, search) within a bound: a run still going after it answers 202 with
   * its id; a failed run maps its failure type to a 4xx (bad input) or a 502 (the model), never a bare 500.
   */
  async function shortRunResult<T>(handle: { workflowId: string; result: () => Promise<unknown> }, timeoutMs = 60_000): Promise<{ done: true; value: T } | { done: false }> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<{ done: false }>((r) => (timer = setTimeout(() => r({ done: false }), timeoutMs)));
      return await Promise.race([handle.result().then((value) => ({ done: true as const, value: value as T })), timeout]);
    } catch (e) {
      const failure = e instanceof WorkflowFailedError ? (e.cause as { cause?: unknown })?.cause ?? e.cause : undefined;
      if (failure instanceof ApplicationFailure) {
        const type = failure.type ?? 'run_failed';
        const status = ['collection_not_found'].includes(type) ? 404 : type.startsWith('llm_') || type === 'judge_invalid_output' ? 502 : failure.nonRetryable ? 400 : 502;
        throw new AppError({ code: type, message: failure.message, status, category: status === 502 ? 'dependency' : 'user', details: { workflowId: handle.workflowId } });
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  router.post('/answers', operate, async (ctx) => {
    const waitMs = waitParam(ctx.query);
    const body = answerBody.parse(ctx.request.body ?? {});
    const tenantId = ctx.state.principal.tenantId;
    await checkCollections(tenantId, body.collectionIds);
    checkGroundingMethod(body.groundingMethod);
    const { question, collectionIds, id = randomUUID(), ...options } = body;
    await startAnswer(tenantId, { id, question, collectionIds, options: optionsOf(options) });
    await respond(ctx, tenantId, id, waitMs);
  });

  router.get('/answers', async (ctx) => {
    const { limit, before } = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), before: z.iso.datetime().optional() }).parse(ctx.query);
    const rows = await orm.em
      .fork()
      .find(AnswerEntity, { tenantId: ctx.state.principal.tenantId, ...(before ? { createdAt: { $lt: new Date(before) } } : {}) }, { orderBy: { createdAt: 'desc' }, limit, fields: ['id', 'tenantId', 'workflowId', 'conversationId', 'question', 'status', 'answer', 'groundingScore', 'createdAt', 'completedAt'] });
    ctx.body = { answers: rows.map((a) => publicAnswer(a)) };
  });

  router.get('/answers/:id', async (ctx) => {
    await respond(ctx, ctx.state.principal.tenantId, ctx.params.id!, waitParam(ctx.query));
  });

  router.get('/answers/:id/events', async (ctx) => {
    const a = await ownAnswer(ctx.state.principal.tenantId, ctx.params.id!);
    await streamRunEvents(ctx, {
      orm,
      tenantId: a.tenantId,
      workflowId: a.workflowId,
      isClosed: async () => {
        // A run Temporal does not know is over; an unreachable Temporal is not (the stream waits and asks again).
        const d = await temporal.workflow
          .getHandle(a.workflowId)
          .describe()
          .catch((e: unknown) => ((e as Error).name === 'WorkflowNotFoundError' ? null : undefined));
        return d === null || (d !== undefined && d.status.name !== 'RUNNING');
      },
    });
  });

  router.post('/answers/:id/review', operate, async (ctx) => {
    const tenantId = ctx.state.principal.tenantId;
    const a = await ownAnswer(tenantId, ctx.params.id!);
    const body = reviewBody.parse(ctx.request.body ?? {});
    try {
      const { keyId, keyName, keyPrefix } = ctx.state.principal;
      await temporal.workflow.getHandle(a.workflowId).executeUpdate('review', { args: [{ ...body, reviewer: `${keyName} (${keyPrefix}…)`, reviewerKeyId: keyId }] });
    } catch (e) {
      if (e instanceof WorkflowUpdateFailedError || (e as Error).name === 'WorkflowNotFoundError') {
        throw new AppError({ code: 'not_pending_review', message: 'This answer is not waiting for review.', status: 409, category: 'conflict' });
      }
      throw e;
    }
    // The decision is taken: wait for the released (or abstained) answer, not for the review state it leaves.
    await respond(ctx, tenantId, a.id, 30_000, ['running', 'pending_review']);
  });

  router.post('/grounding', operate, async (ctx) => {
    const body = groundingBody.parse(ctx.request.body ?? {});
    checkGroundingMethod(body.method);
    const tenantId = ctx.state.principal.tenantId;
    const id = randomUUID();
    const handle = await startRun(temporal, config.temporal.taskQueue, {
      workflowType: 'groundingCheck',
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
    });
    const report = await shortRunResult<GroundingReport>(handle);
    if (!report.done) {
      ctx.status = 202;
      ctx.body = { id, workflowId: handle.workflowId, status: 'running' };
      return;
    }
    ctx.body = { id, workflowId: handle.workflowId, ...report.value };
  });

  /** Hybrid search without generation, as a short workflow (visible in the runs list like every other step). */
  router.post('/search', operate, async (ctx) => {
    const body = searchBody.parse(ctx.request.body ?? {});
    const tenantId = ctx.state.principal.tenantId;
    await checkCollections(tenantId, body.collectionIds);
    const id = randomUUID();
    const handle = await startRun(temporal, config.temporal.taskQueue, {
      workflowType: 'searchKnowledge',
      workflowId: workflowIds.search(tenantId, id),
      tenantId,
      kind: 'search',
      collectionId: body.collectionIds[0],
      args: [{ tenantId, ...body } satisfies SearchInput],
    });
    const hits = await shortRunResult<SearchHit[]>(handle);
    if (!hits.done) {
      ctx.status = 202;
      ctx.body = { id, workflowId: handle.workflowId, status: 'running' };
      return;
    }
    ctx.body = { id, workflowId: handle.workflowId, results: hits.value };
  });

  router.post('/conversations', operate, async (ctx) => {
    const body = conversationBody.parse(ctx.request.body ?? {});
    checkGroundingMethod(body.options?.groundingMethod);
    const tenantId = ctx.state.principal.tenantId;
    await checkCollections(tenantId, body.collectionIds);
    const em = orm.em.fork();
    const c = em.create(ConversationEntity, { id: randomUUID(), tenantId, title: body.title ?? null, collectionIds: body.collectionIds, options: body.options ?? {} });
    await em.flush();
    ctx.status = 201;
    ctx.body = c;
  });

  router.get('/conversations', async (ctx) => {
    ctx.body = { conversations: await orm.em.fork().find(ConversationEntity, { tenantId: ctx.state.principal.tenantId }, { orderBy: { updatedAt: 'desc' }, limit: 100 }) };
  });

  async function ownConversation(tenantId: string, id: string) {
    if (!uuid.safeParse(id).success) throw notFound('Conversation');
    const c = await orm.em.fork().findOne(ConversationEntity, { id, tenantId });
    if (!c) throw notFound('Conversation');
    return c;
  }

  router.get('/conversations/:id', async (ctx) => {
    const tenantId = ctx.state.principal.tenantId;
    const c = await ownConversation(tenantId, ctx.params.id!);
    const messages = await orm.em.fork().find(MessageEntity, { tenantId, conversationId: c.id }, { orderBy: { createdAt: 'asc', role: 'desc' } });
    ctx.body = { ...c, messages };
  });

  /** A follow-up: stored, then answered with the conversation's history (rewritten into a standalone query). */
  router.post('/conversations/:id/messages', operate, async (ctx) => {
    const waitMs = waitParam(ctx.query);
    const tenantId = ctx.state.principal.tenantId;
    const c = await ownConversation(tenantId, ctx.params.id!);
    const body = messageBody.parse(ctx.request.body ?? {});
    const answerId = body.id ?? randomUUID();
    await claimAnswerId(tenantId, answerId, c.id);
    const em = orm.em.fork();
    const history = (await em.find(MessageEntity, { tenantId, conversationId: c.id, answerId: { $ne: answerId } }, { orderBy: { createdAt: 'desc' }, limit: HISTORY_MESSAGES }))
      .reverse()
      .map((m) => ({ role: m.role, content: m.content }));
    await em.getConnection().execute(
      `insert into messages (id, tenant_id, conversation_id, role, content, answer_id) values (?, ?, ?, 'user', ?, ?) on conflict (conversation_id, answer_id, role) do nothing`,
      [randomUUID(), tenantId, c.id, body.content, answerId],
    );
    await startAnswer(tenantId, {
      id: answerId,
      question: body.content,
      collectionIds: c.collectionIds,
      options: optionsOf({}, c.options as Partial<AnswerOptions>),
      conversationId: c.id,
      history,
    });
    await respond(ctx, tenantId, answerId, waitMs);
  });

  return router;
}
