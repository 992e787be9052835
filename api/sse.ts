import type { Context } from 'koa';
import { createSession } from 'better-sse';
import type { RunStreamEndEvent } from '../lib/contracts';
import type { Orm } from '../lib/db/orm';
import { readRunEvents, TERMINAL_EVENT_TYPES } from '../lib/events/run-events';
import { badRequest } from '../lib/errors';

export interface StreamRunEventsOptions {
  orm: Orm;
  tenantId: string;
  workflowId: string;
  /** Whether the run has ended (checked when no event came for a while, so a run that died still ends the stream). */
  isClosed: () => Promise<boolean>;
  pollMs?: number;
}

/** The response closing before it was written means the client went away: a wait for it stops. */
export function clientGone(ctx: Pick<Context, 'res'>): () => boolean {
  let gone = false;
  ctx.res.once('close', () => (gone = !ctx.res.writableEnded));
  return () => gone;
}

/** The last event id a client saw: the `Last-Event-ID` header (EventSource reconnects) or `?lastEventId=`. */
export function lastEventId(ctx: Context): number {
  const raw = ctx.get('last-event-id') || (typeof ctx.query.lastEventId === 'string' ? ctx.query.lastEventId : '');
  if (!raw) return 0;
  if (!/^\d{1,15}$/.test(raw))
    throw badRequest(
      'invalid_last_event_id',
      'Last-Event-ID must be an event id this stream sent (a non-negative integer).',
    );
  return Number(raw);
}

/**
 * Streams a run's events (lib/events) as Server-Sent Events: each with its log id as the SSE `id`, its type as the
 * `event` name and its data as JSON. Events come from Postgres, not from this process's memory, so any API replica
 * serves any client and a reconnecting client resumes right after the last id it saw. The stream ends after a
 * terminal event (`result`, `failed`), or with an `end` event when the run has closed without one.
 */
export async function streamRunEvents(ctx: Context, opts: StreamRunEventsOptions): Promise<void> {
  let after = lastEventId(ctx);
  const pollMs = opts.pollMs ?? 150;
  ctx.respond = false;
  ctx.req.socket.setTimeout(0);
  const session = await createSession(ctx.req, ctx.res, {
    statusCode: 200,
    keepAlive: 15_000,
    retry: 1_000,
    trustClientEventId: false,
  });
  let connected = true;
  session.once('disconnected', () => (connected = false));
  let idleSince = Date.now();
  let checkedAt = 0;
  try {
    while (connected) {
      const events = await readRunEvents(opts.orm.em.fork(), opts.tenantId, opts.workflowId, after);
      for (const e of events) {
        if (!connected) return;
        session.push(e.data, e.type, String(e.id));
        after = e.id;
        if (TERMINAL_EVENT_TYPES.has(e.type)) return;
      }
      if (events.length) {
        idleSince = Date.now();
        continue;
      }
      const now = Date.now();
      if (now - idleSince > 1_000 && now - checkedAt > 2_000 && ((checkedAt = now), await opts.isClosed())) {
        // One more read: the terminal event may have been written just before the run closed.
        const last = await readRunEvents(opts.orm.em.fork(), opts.tenantId, opts.workflowId, after);
        for (const e of last) if (connected) session.push(e.data, e.type, String(e.id));
        const end: RunStreamEndEvent = { type: 'end', data: { reason: 'the run has ended' } };
        if (!last.some((e) => TERMINAL_EVENT_TYPES.has(e.type)) && connected) session.push(end.data, end.type);
        return;
      }
      // Idle (a run waiting for review can wait days): poll less often the longer nothing happens, up to 2 s.
      await new Promise((r) =>
        setTimeout(r, Math.min(2_000, pollMs * Math.max(1, Math.floor((Date.now() - idleSince) / 5_000)))),
      );
    }
  } finally {
    if (!ctx.res.writableEnded) ctx.res.end();
  }
}
