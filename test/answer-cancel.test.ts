import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTestContext, startTestApi, type TestContext } from './harness';

// An answer cancelled while its next step is scheduled but no worker has started it: that step never runs, so the
// phase events it carried are written by the failure record instead, before the terminal `failed`.
let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;

afterAll(() => ctx?.close());
beforeAll(async () => {
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
  // Workflows and local activities only: a regular activity this run schedules waits, unstarted.
  await ctx.startWorker({ overrides: { enableNonLocalActivities: false } });
});

const scheduled = async (workflowId: string) =>
  ((await ctx.client.workflow.getHandle(workflowId).fetchHistory()).events ?? []).flatMap(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? [],
  );

describe('a cancelled answer', () => {
  it('still writes the events its unstarted step carried, before `failed`', async () => {
    const created = await api.request('POST', '/v1/collections', {
      key: ctx.tenant.key,
      body: { name: `kb-${crypto.randomUUID().slice(0, 8)}` },
    });
    expect(created.status).toBe(201);
    const start = await api.request('POST', '/v1/answers', {
      key: ctx.tenant.key,
      body: { question: 'What is the default pickle protocol?', collectionIds: [created.body!.id] },
    });
    expect(start.status).toBe(202);
    const { id, workflowId } = start.body as { id: string; workflowId: string };
    await expect.poll(() => scheduled(workflowId), { timeout: 20_000, interval: 100 }).toEqual(['retrieveForQuestion']);

    const cancel = await api.request('POST', `/v1/runs/${encodeURIComponent(workflowId)}/cancel`, {
      key: ctx.tenant.key,
    });
    expect(cancel.status).toBe(202);
    await expect
      .poll(() => scheduled(workflowId), { timeout: 20_000, interval: 100 })
      .toEqual(['retrieveForQuestion', 'failAnswer']);
    // Now a worker that runs activities: only the failure record is left to run (the retrieval was cancelled).
    await ctx.startWorker();
    await expect(ctx.client.workflow.getHandle(workflowId).result()).rejects.toThrow();

    const events = (await ctx.orm.em
      .getConnection()
      .execute(`select type, data->>'phase' as phase from run_events where workflow_id = ? order by id`, [
        workflowId,
      ])) as Array<{ type: string; phase: string | null }>;
    expect(events.map((e) => (e.phase ? `phase:${e.phase}` : e.type))).toEqual(['phase:retrieving', 'failed']);
    const answer = await api.request('GET', `/v1/answers/${id}`, { key: ctx.tenant.key });
    expect(answer.body).toMatchObject({ status: 'failed', result: { error: 'cancelled' } });
    const history = (await ctx.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    expect(history.filter((e) => e.activityTaskStartedEventAttributes)).toHaveLength(1); // failAnswer's alone
  });
});
