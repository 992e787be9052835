import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { ApiError, openStream, toApiError } from './request';

/**
 * Server-Sent Events over fetch: EventSource cannot send the bearer key, so the stream is read with fetch and
 * parsed by eventsource-parser, and the reconnect EventSource would do is done here, with `Last-Event-ID`.
 */

export interface StreamMessage {
  id: string | undefined;
  event: string;
  data: unknown;
}

export interface FollowOptions {
  onEvent: (message: StreamMessage) => void;
  /** Events after which the server ends the stream for good; anything else ending it is a dropped connection. */
  terminal: ReadonlySet<string>;
  /** Resume after this event id. */
  lastEventId?: string | undefined;
  signal?: AbortSignal | undefined;
  /** Reconnect delay unless the server sets one (`retry:`). */
  retryMs?: number;
  /** Connections in a row that may fail, or end without any event, before giving up. */
  maxRetries?: number;
  onReconnect?: (lastEventId: string | undefined) => void;
}

export interface FollowResult {
  lastEventId: string | undefined;
  /** The terminal event that ended the stream. */
  last: StreamMessage;
}

const DEFAULT_RETRY_MS = 1000;
const DEFAULT_MAX_RETRIES = 5;

/** Follows `path` until a terminal event, reconnecting after drops from the last event id seen. */
export async function followEventStream(path: string, options: FollowOptions): Promise<FollowResult> {
  const { signal } = options;
  let lastEventId = options.lastEventId;
  let retryMs = options.retryMs ?? DEFAULT_RETRY_MS;
  let failures = 0;

  for (;;) {
    // Written by the parser's callback, so kept in an object TypeScript does not narrow.
    const seen: { terminal: StreamMessage | null; any: boolean } = { terminal: null, any: false };
    try {
      const response = await openStream(path, { headers: lastEventId ? { 'last-event-id': lastEventId } : {}, signal });
      const parser = createParser({
        onEvent: (m: EventSourceMessage) => {
          if (seen.terminal) return;
          if (m.id) lastEventId = m.id;
          seen.any = true;
          const message = { id: m.id, event: m.event ?? 'message', data: parseData(m.data) };
          if (options.terminal.has(message.event)) seen.terminal = message;
          options.onEvent(message);
        },
        onRetry: (ms) => (retryMs = ms),
      });
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      try {
        while (!seen.terminal) {
          const { value, done } = await reader.read();
          if (done) break;
          parser.feed(decoder.decode(value, { stream: true }));
        }
      } finally {
        // The server ends the stream after a terminal event anyway; don't wait for it.
        if (seen.terminal) void reader.cancel().catch(() => undefined);
      }
      if (seen.terminal) return { lastEventId, last: seen.terminal };
    } catch (err) {
      if (signal?.aborted) throw new ApiError(0, 'aborted', 'The request was canceled.');
      const e = toApiError(err);
      // A refused stream (bad event id, a foreign or missing answer, a revoked key) stays refused.
      if (e.status >= 400 && e.status < 500) throw e;
    }
    failures = seen.any ? 0 : failures + 1;
    if (failures > (options.maxRetries ?? DEFAULT_MAX_RETRIES)) {
      throw new ApiError(0, 'stream_lost', 'Lost the connection to the live updates; reload to try again.');
    }
    await delay(retryMs, signal);
    options.onReconnect?.(lastEventId);
  }
}

function parseData(data: string): unknown {
  if (data === '') return null;
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return data;
  }
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new ApiError(0, 'aborted', 'The request was canceled.'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new ApiError(0, 'aborted', 'The request was canceled.'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
