import { Router } from '@koa/router';
import { WorkflowNotFoundError } from '@temporalio/client';
import { rootCause } from '@temporalio/common';
import { z } from 'zod';
import { SELF_TEST_LIMITS, workflowIds } from '../../lib/contracts';
import { selfTest } from '../../workflows/self-test';
import { startRun } from '../runs/start';
import { notFound } from '../../lib/errors';
import type { AppDeps } from '../deps';
import { requireRole, type AuthState } from '../auth/middleware';
import { clientRunId, waitsForResult } from '../schemas';

export const selfTestBody = z
  .object({
    probes: z.number().int().min(1).max(SELF_TEST_LIMITS.maxProbes).default(3),
    holdMs: z.number().int().min(0).max(SELF_TEST_LIMITS.maxHoldMs).default(0),
    note: z.string().max(500).optional(),
    /** Client-chosen id makes the start idempotent: a retried POST finds the same run. */
    id: clientRunId.optional(),
  })
  .strict();

/** Diagnostics: a self-test run proves Temporal, the worker and the database work together. */
export function systemRoutes({ temporal, config, quotas }: AppDeps) {
  const router = new Router<AuthState>({ prefix: '/v1/system', sensitive: true });

  router.get('/me', (ctx) => {
    const p = ctx.state.principal;
    ctx.body = {
      tenant: { id: p.tenantId, name: p.tenantName },
      role: p.role,
      platformAdmin: p.platformAdmin,
      via: p.via,
      key: p.via === 'key' ? { id: p.keyId, name: p.keyName, prefix: p.keyPrefix } : null,
      user: p.via === 'session' ? { id: p.userId, email: p.userEmail } : null,
    };
  });

  router.post('/self-test', requireRole('admin', 'operator'), async (ctx) => {
    const body = selfTestBody.parse(ctx.request.body ?? {});
    const { tenantId } = ctx.state.principal;
    const workflowId = workflowIds.selfTest(tenantId, body.id ?? crypto.randomUUID());
    ctx.state.workflowId = workflowId;
    const handle = await startRun(
      temporal,
      config.temporal.taskQueue,
      selfTest,
      {
        workflowId,
        args: [{ tenantId, probes: body.probes, holdMs: body.holdMs, note: body.note }],
        tenantId,
        kind: 'system',
      },
      quotas,
    );
    if (waitsForResult(ctx.query)) {
      const result = await handle.result();
      ctx.body = { workflowId, status: 'completed', result };
      return;
    }
    ctx.status = 202;
    ctx.body = {
      workflowId,
      runId: 'firstExecutionRunId' in handle ? handle.firstExecutionRunId : null,
      status: 'running',
    };
  });

  router.get('/self-test/:id', async (ctx) => {
    const { tenantId } = ctx.state.principal;
    const workflowId = ctx.params.id!;
    // Ids carry the tenant; another tenant's id answers exactly like a missing one.
    if (!workflowId.startsWith(workflowIds.selfTest(tenantId, ''))) throw notFound('Self-test run');
    const handle = temporal.workflow.getHandle<typeof selfTest>(workflowId);
    try {
      const description = await handle.describe();
      const status = description.status.name;
      const body: Record<string, unknown> = { workflowId, runId: description.runId, status: status.toLowerCase() };
      if (status === 'COMPLETED') body.result = await handle.result();
      if (status === 'FAILED') {
        try {
          await handle.result();
        } catch (e) {
          body.failure = { message: rootCause((e as Error).cause) ?? (e as Error).message };
        }
      }
      ctx.body = body;
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) throw notFound('Self-test run');
      throw e;
    }
  });

  return router;
}
