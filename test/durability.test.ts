import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SEARCH_ATTRIBUTES, workflowIds, type SelfTestInput, type SelfTestResult } from '../lib/contracts';
import { setupTestContext, type TestContext } from './harness';

let ctx: TestContext;

afterAll(() => ctx?.close());
beforeAll(async () => {
  ctx = await setupTestContext();
});

async function probeRows(workflowId: string) {
  return (await ctx.orm.em
    .getConnection()
    .execute('select activity_id, attempt from system_probes where workflow_id = ? order by activity_id', [
      workflowId,
    ])) as Array<{
    activity_id: string;
    attempt: number;
  }>;
}

it('finishes a run whose worker is SIGKILLed mid-activity, with each row written exactly once', async () => {
  const first = await ctx.startWorkerProcess();
  const workflowId = workflowIds.selfTest(ctx.tenant.id, randomUUID());
  const input: SelfTestInput = { tenantId: ctx.tenant.id, probes: 3, holdMs: 2500 };
  const handle = await ctx.client.workflow.start('selfTest', {
    workflowId,
    taskQueue: ctx.config.temporal.taskQueue,
    args: [input],
    typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.TenantId, value: ctx.tenant.id }],
  });

  // Wait until the second probe has written its row and is holding, then kill the worker without warning.
  const deadline = Date.now() + 30_000;
  while ((await probeRows(workflowId)).length < 2) {
    if (Date.now() > deadline) throw new Error('the second probe never wrote its row');
    await sleep(50);
  }
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  expect((await handle.describe()).status.name).toBe('RUNNING');

  await ctx.startWorkerProcess();
  const result = (await handle.result()) as SelfTestResult;

  // Probe 0 completed before the kill and is not run again; probe 1 is retried (attempt 2) and finds its row.
  expect(result).toEqual({ probesWritten: 2, probesAlreadyPresent: 1, attempts: [1, 2, 1] });
  const rows = await probeRows(workflowId);
  expect(rows.map((r) => r.attempt)).toEqual([1, 1, 1]);
  expect(new Set(rows.map((r) => r.activity_id)).size).toBe(3);
});
