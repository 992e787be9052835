import { randomUUID } from 'node:crypto';
import { Router } from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { durationMs } from '../../lib/contracts';
import { AnswersService, type PublicAnswer } from '../answers/service';
import type { AppDeps } from '../deps';
import { requireRole, type AuthState } from '../auth/middleware';
import { collectionIdList, modelName, pageSize, promptSelection, uuid, waitMsParam } from '../schemas';
import { clientGone, streamRunEvents } from '../sse';

const answerOptions = z
  .object({
    topK: z.number().int().min(1).max(50).optional(),
    model: modelName.optional(),
    groundingThreshold: z.number().min(0).max(1).optional(),
    policy: z.enum(['abstain', 'review']).optional(),
    reviewTimeout: z
      .string()
      .refine((s) => (durationMs(s) ?? 0) >= 1000 && (durationMs(s) ?? 0) <= 30 * 86_400_000, {
        message: "must be a duration from 1 second to 30 days, like '24 hours'",
      })
      .optional(),
    maxContextTokens: z.number().int().min(100).max(100_000).optional(),
    groundingMethod: z.enum(['auto', 'llm', 'deterministic']).optional(),
    rerank: z.boolean().optional(),
    temperature: z.number().min(0).max(2).optional(),
    maxTokens: z.number().int().min(1).max(100_000).optional(),
  })
  .strict();

export const answerBody = answerOptions
  .extend({
    question: z.string().trim().min(1).max(4000),
    collectionIds: collectionIdList,
    /** A client-chosen id makes the start idempotent: sending it again returns the same answer. */
    id: uuid.optional(),
    /** Prompt versions or labels to answer with (default: each prompt's `production` label). */
    prompts: promptSelection.optional(),
  })
  .strict();

export const groundingBody = z
  .object({
    answer: z.string().trim().min(1).max(20_000),
    contexts: z
      .array(
        z.union([
          z.string().min(1).max(50_000),
          z.object({ id: z.string().min(1).max(100), text: z.string().min(1).max(50_000) }).strict(),
        ]),
      )
      .min(1)
      .max(100),
    threshold: z.number().min(0).max(1).optional(),
    method: z.enum(['auto', 'llm', 'deterministic']).optional(),
    model: modelName.optional(),
  })
  .strict();

export const searchBody = z
  .object({
    query: z.string().trim().min(1).max(4000),
    collectionIds: collectionIdList,
    topK: z.number().int().min(1).max(50).default(8),
    mode: z.enum(['hybrid', 'vector', 'text']).default('hybrid'),
  })
  .strict();

export const conversationBody = z
  .object({
    title: z.string().trim().min(1).max(200).optional(),
    collectionIds: collectionIdList,
    options: answerOptions.optional(),
  })
  .strict();
export const messageBody = z
  .object({ content: z.string().trim().min(1).max(4000), id: uuid.optional(), prompts: promptSelection.optional() })
  .strict();
/** No `reviewer`: the decision is recorded as the key's (strict, so a body naming someone else is refused). */
export const reviewBody = z
  .object({ decision: z.enum(['approve', 'reject']), note: z.string().max(2000).optional() })
  .strict();

export const answersQuery = z.object({ limit: pageSize, before: z.iso.datetime().optional() });

function respond(ctx: Context, a: PublicAnswer) {
  ctx.status = a.status === 'running' ? 202 : 200;
  ctx.body = a;
}

/** Answers (start, wait, read, stream, review), grounding checks, and chat conversations. */
export function answersRoutes({ orm, temporal, config, quotas, llm }: AppDeps) {
  const answers = new AnswersService(temporal, orm, config, quotas, llm);
  const router = new Router<AuthState>({ prefix: '/v1', sensitive: true });
  /** Starting runs (model budget), writing conversations and deciding reviews: never a viewer. */
  const operate = requireRole('admin', 'operator');

  router.post('/answers', operate, async (ctx) => {
    const waitMs = waitMsParam(ctx.query);
    const {
      question,
      collectionIds,
      id = randomUUID(),
      prompts,
      ...options
    } = answerBody.parse(ctx.request.body ?? {});
    respond(
      ctx,
      await answers.ask(
        ctx.state.principal.tenantId,
        { id, question, collectionIds, options, prompts },
        { ms: waitMs, gone: clientGone(ctx) },
      ),
    );
  });

  router.get('/answers', async (ctx) => {
    const { limit, before } = answersQuery.parse(ctx.query);
    ctx.body = await answers.list(ctx.state.principal.tenantId, {
      limit,
      before: before ? new Date(before) : undefined,
    });
  });

  router.get('/answers/:id', async (ctx) => {
    respond(
      ctx,
      await answers.view(ctx.state.principal.tenantId, ctx.params.id!, {
        ms: waitMsParam(ctx.query),
        gone: clientGone(ctx),
      }),
    );
  });

  router.get('/answers/:id/events', async (ctx) => {
    const a = await answers.own(ctx.state.principal.tenantId, ctx.params.id!);
    await streamRunEvents(ctx, {
      orm,
      tenantId: a.tenantId,
      workflowId: a.workflowId,
      isClosed: () => answers.runClosed(a),
    });
  });

  router.post('/answers/:id/review', operate, async (ctx) => {
    const a = await answers.own(ctx.state.principal.tenantId, ctx.params.id!);
    const body = reviewBody.parse(ctx.request.body ?? {});
    respond(ctx, await answers.review(a, body, ctx.state.principal, { gone: clientGone(ctx) }));
  });

  router.post('/grounding', operate, async (ctx) => {
    const run = await answers.checkGrounding(ctx.state.principal.tenantId, groundingBody.parse(ctx.request.body ?? {}));
    if (!run.done) {
      ctx.status = 202;
      ctx.body = { id: run.id, workflowId: run.workflowId, status: 'running' };
      return;
    }
    ctx.body = { id: run.id, workflowId: run.workflowId, ...run.value };
  });

  /** Hybrid search without generation, served by the API and then recorded as a run (listed like every run). */
  router.post('/search', operate, async (ctx) => {
    const run = await answers.search(ctx.state.principal.tenantId, searchBody.parse(ctx.request.body ?? {}));
    ctx.state.workflowId = run.workflowId;
    ctx.body = { id: run.id, workflowId: run.workflowId, results: run.value };
  });

  router.post('/conversations', operate, async (ctx) => {
    const body = conversationBody.parse(ctx.request.body ?? {});
    const c = await answers.createConversation(ctx.state.principal.tenantId, body);
    ctx.status = 201;
    ctx.body = c;
  });

  router.get('/conversations', async (ctx) => {
    ctx.body = await answers.listConversations(ctx.state.principal.tenantId);
  });

  router.get('/conversations/:id', async (ctx) => {
    ctx.body = await answers.conversationWithMessages(
      await answers.conversation(ctx.state.principal.tenantId, ctx.params.id!),
    );
  });

  /** A follow-up: stored, then answered with the conversation's history (rewritten into a standalone query). */
  router.post('/conversations/:id/messages', operate, async (ctx) => {
    const waitMs = waitMsParam(ctx.query);
    const c = await answers.conversation(ctx.state.principal.tenantId, ctx.params.id!);
    const { content, id = randomUUID(), prompts } = messageBody.parse(ctx.request.body ?? {});
    respond(ctx, await answers.followUp(c, { id, content, prompts }, { ms: waitMs, gone: clientGone(ctx) }));
  });

  return router;
}
