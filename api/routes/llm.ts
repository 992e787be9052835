import { Router } from '@koa/router';
import { WorkflowFailedError } from '@temporalio/client';
import { z } from 'zod';
import { applicationFailureOf, failureStatus, isLlmFailureType, workflowIds } from '../../lib/contracts';
import { completion } from '../../workflows/completion';
import { startRun } from '../runs/start';
import { AppError } from '../../lib/errors';
import type { AppDeps } from '../deps';
import { requireRole, type AuthState } from '../auth/middleware';
import { clientRunId, modelName, waitsForResult } from '../schemas';

const message = z.discriminatedUnion('role', [
  z.object({ role: z.enum(['system', 'user']), content: z.string().min(1).max(200_000) }).strict(),
  z.object({ role: z.literal('assistant'), content: z.string().max(200_000) }).strict(),
]);

export const completionBody = z
  .object({
    purpose: z.enum(['answer', 'judge', 'agent']).default('answer'),
    messages: z.array(message).min(1).max(200),
    model: modelName.optional(),
    temperature: z.number().min(0).max(2).optional(),
    maxTokens: z.number().int().min(1).max(100_000).optional(),
    responseFormat: z
      .union([
        z.object({ type: z.literal('json_object') }).strict(),
        z
          .object({
            type: z.literal('json_schema'),
            name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
            schema: z.record(z.string(), z.unknown()),
            strict: z.boolean().optional(),
          })
          .strict(),
      ])
      .optional(),
    /** Client-chosen id makes the start idempotent. */
    id: clientRunId.optional(),
  })
  .strict();

/** A model call as a durable run: retried, recorded, visible in the runs list. */
export function llmRoutes({ temporal, config, quotas }: AppDeps) {
  const router = new Router<AuthState>({ prefix: '/v1/llm', sensitive: true });

  router.post('/completions', requireRole('admin', 'operator'), async (ctx) => {
    const body = completionBody.parse(ctx.request.body ?? {});
    const { tenantId } = ctx.state.principal;
    const workflowId = workflowIds.completion(tenantId, body.id ?? crypto.randomUUID());
    ctx.state.workflowId = workflowId;
    const handle = await startRun(
      temporal,
      config.temporal.taskQueue,
      completion,
      {
        workflowId,
        args: [
          {
            tenantId,
            purpose: body.purpose,
            messages: body.messages,
            model: body.model,
            options: { temperature: body.temperature, maxTokens: body.maxTokens, responseFormat: body.responseFormat },
          },
        ],
        tenantId,
        kind: 'llm',
      },
      quotas,
    );
    if (!waitsForResult(ctx.query)) {
      ctx.status = 202;
      ctx.body = { workflowId, status: 'running' };
      return;
    }
    try {
      ctx.body = { workflowId, status: 'completed', result: await handle.result() };
    } catch (e) {
      const failure = e instanceof WorkflowFailedError ? applicationFailureOf(e.cause) : undefined;
      if (failure && isLlmFailureType(failure.type)) {
        // The run failed for a reason of the model call: a 502 naming it, the run id to look at.
        throw new AppError({
          code: failure.type,
          message: failure.message,
          status: failureStatus(failure.type, failure.nonRetryable),
          category: 'dependency',
          details: { workflowId },
        });
      }
      throw e;
    }
  });

  return router;
}
