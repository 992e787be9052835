import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTestContext, type TestContext } from '../../test/harness';
import { appendRunEvents, readRunEvents } from './run-events';

let ctx: TestContext;
afterAll(() => ctx?.close());
beforeAll(async () => {
  ctx = await setupTestContext();
});

const summary = async (workflowId: string) => (await readRunEvents(ctx.orm.em.fork(), ctx.tenant.id, workflowId)).map((e) => [e.type, e.data]);

describe('run events', () => {
  it('writes a keyed event once however often its activity runs, in order', async () => {
    const workflowId = `answer:${randomUUID()}`;
    const batch = [
      { type: 'step', data: { name: 'retrieve' }, key: 'run-1:0:0' },
      { type: 'phase', data: { phase: 'generating' }, key: 'run-1:0:1' },
    ];
    await appendRunEvents(ctx.orm.em.fork(), ctx.tenant.id, workflowId, batch);
    await appendRunEvents(ctx.orm.em.fork(), ctx.tenant.id, workflowId, batch); // the retried activity
    // A later batch that repeats one stored event writes only the new one.
    await appendRunEvents(ctx.orm.em.fork(), ctx.tenant.id, workflowId, [batch[1]!, { type: 'phase', data: { phase: 'grounding' }, key: 'run-1:1:0' }]);
    expect(await summary(workflowId)).toEqual([
      ['step', { name: 'retrieve' }],
      ['phase', { phase: 'generating' }],
      ['phase', { phase: 'grounding' }],
    ]);
  });

  it('keeps unkeyed events (streamed tokens) every time, and keys apart per workflow id', async () => {
    const workflowId = `answer:${randomUUID()}`;
    const token = [{ type: 'token', data: { text: 'Hello' } }];
    await appendRunEvents(ctx.orm.em.fork(), ctx.tenant.id, workflowId, token);
    await appendRunEvents(ctx.orm.em.fork(), ctx.tenant.id, workflowId, token);
    expect(await summary(workflowId)).toEqual([
      ['token', { text: 'Hello' }],
      ['token', { text: 'Hello' }],
    ]);
    const other = `answer:${randomUUID()}`;
    await appendRunEvents(ctx.orm.em.fork(), ctx.tenant.id, other, [{ type: 'phase', data: { phase: 'retrieving' }, key: 'run-1:0:0' }]);
    await appendRunEvents(ctx.orm.em.fork(), ctx.tenant.id, `${other}-b`, [{ type: 'phase', data: { phase: 'retrieving' }, key: 'run-1:0:0' }]);
    expect(await summary(other)).toHaveLength(1);
    expect(await summary(`${other}-b`)).toHaveLength(1);
  });
});
