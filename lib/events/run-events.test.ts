import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTestContext, type TestContext } from '../../test/harness';
import type { AnswerStep } from '../contracts';
import { appendRunEvents, readRunEvents, RunEventBuffer, type NewRunEvent } from './run-events';

let ctx: TestContext;
afterAll(() => ctx?.close());
beforeAll(async () => {
  ctx = await setupTestContext();
});

const summary = async (workflowId: string) =>
  (await readRunEvents(ctx.orm.em.fork(), ctx.tenant.id, workflowId)).map((e) => [e.type, e.data]);

describe('run events', () => {
  it('writes a keyed event once however often its activity runs, in order', async () => {
    const workflowId = `answer:${randomUUID()}`;
    const batch: NewRunEvent[] = [
      { type: 'step', data: { name: 'retrieve' } as AnswerStep, key: 'run-1:0:0' },
      { type: 'phase', data: { phase: 'generating' }, key: 'run-1:0:1' },
    ];
    await appendRunEvents(ctx.orm.em.fork(), ctx.tenant.id, workflowId, batch);
    await appendRunEvents(ctx.orm.em.fork(), ctx.tenant.id, workflowId, batch); // the retried activity
    // A later batch that repeats one stored event writes only the new one.
    await appendRunEvents(ctx.orm.em.fork(), ctx.tenant.id, workflowId, [
      batch[1]!,
      { type: 'phase', data: { phase: 'grounding' }, key: 'run-1:1:0' },
    ]);
    expect(await summary(workflowId)).toEqual([
      ['step', { name: 'retrieve' }],
      ['phase', { phase: 'generating' }],
      ['phase', { phase: 'grounding' }],
    ]);
  });

  it('keeps unkeyed events (streamed tokens) every time, and keys apart per workflow id', async () => {
    const workflowId = `answer:${randomUUID()}`;
    const token: NewRunEvent[] = [{ type: 'token', data: { text: 'Hello' } }];
    await appendRunEvents(ctx.orm.em.fork(), ctx.tenant.id, workflowId, token);
    await appendRunEvents(ctx.orm.em.fork(), ctx.tenant.id, workflowId, token);
    expect(await summary(workflowId)).toEqual([
      ['token', { text: 'Hello' }],
      ['token', { text: 'Hello' }],
    ]);
    const other = `answer:${randomUUID()}`;
    await appendRunEvents(ctx.orm.em.fork(), ctx.tenant.id, other, [
      { type: 'phase', data: { phase: 'retrieving' }, key: 'run-1:0:0' },
    ]);
    await appendRunEvents(ctx.orm.em.fork(), ctx.tenant.id, `${other}-b`, [
      { type: 'phase', data: { phase: 'retrieving' }, key: 'run-1:0:0' },
    ]);
    expect(await summary(other)).toHaveLength(1);
    expect(await summary(`${other}-b`)).toHaveLength(1);
  });

  it('buffers consecutive tokens into one event and keeps every other event as it came', async () => {
    const written: NewRunEvent[][] = [];
    const buffer = new RunEventBuffer(async (events) => void written.push(events), 60_000);
    buffer.push({ type: 'token_reset', data: { attempt: 2, strict: false } });
    buffer.push({ type: 'token', data: { text: 'Hel' } });
    buffer.push({ type: 'token', data: { text: 'lo' } });
    buffer.push({ type: 'phase', data: { phase: 'grounding' } });
    buffer.push({ type: 'token', data: { text: '!' } });
    await buffer.flush();
    expect(written).toEqual([
      [
        { type: 'token_reset', data: { attempt: 2, strict: false } },
        { type: 'token', data: { text: 'Hello' } },
        { type: 'phase', data: { phase: 'grounding' } },
        { type: 'token', data: { text: '!' } },
      ],
    ]);
  });
});
