import { createParser, type EventSourceMessage } from 'eventsource-parser';

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: unknown;
}

/**
 * Reads a Server-Sent Events stream with fetch and eventsource-parser, as a browser's EventSource would, until the
 * server ends it or `stop` returns true (then the connection is dropped, like a client going away).
 */
export async function readSse(
  url: string,
  opts: { key: string; lastEventId?: string; stop?: (e: SseEvent, all: SseEvent[]) => boolean; timeoutMs?: number },
) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('SSE read timed out')), opts.timeoutMs ?? 60_000);
  const events: SseEvent[] = [];
  let stopped = false;
  const res = await fetch(url, {
    headers: {
      authorization: `Bearer ${opts.key}`,
      accept: 'text/event-stream',
      ...(opts.lastEventId ? { 'last-event-id': opts.lastEventId } : {}),
    },
    signal: controller.signal,
  });
  const parser = createParser({
    onEvent: (m: EventSourceMessage) => {
      if (stopped) return;
      const e = { id: m.id, event: m.event ?? 'message', data: m.data ? (JSON.parse(m.data) as unknown) : null };
      events.push(e);
      if (opts.stop?.(e, events)) stopped = true;
    },
  });
  try {
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    while (!stopped) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
    }
    if (stopped) await reader.cancel();
  } finally {
    clearTimeout(timer);
    if (stopped) controller.abort();
  }
  return { status: res.status, contentType: res.headers.get('content-type'), events };
}
