import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AnswerEvent } from './answer-types';
import { followAnswerEvents } from './answers';
import { configureRequest } from './request';
import { applyAnswerEvent, emptyLive } from '../lib/answer-stream';
import { answerResult } from '../lib/test-fixtures';

const fetchMock = vi.fn<typeof fetch>();
const onUnauthorized = vi.fn();

/** A streamed response delivering `chunks` one read at a time, then ending (as a dropped connection would). */
function sse(chunks: string[]): Response {
  const encoder = new TextEncoder();
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(encoder.encode(chunks[i++]!));
      else controller.close();
    },
  });
  return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
}

const frame = (id: number, event: string, data: unknown) =>
  `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
const headersOf = (call: number) => (fetchMock.mock.calls[call]![1]?.headers ?? {}) as Record<string, string>;

async function follow(id = 'a1') {
  const events: AnswerEvent[] = [];
  const done = await followAnswerEvents(id, { onEvent: (e) => events.push(e), retryMs: 0 });
  return { events, done, live: events.reduce(applyAnswerEvent, emptyLive()) };
}

beforeEach(() => {
  vi.stubGlobal('fetch', fetchMock);
  configureRequest({ getApiKey: () => 'bc_session', onUnauthorized });
});
afterEach(() => {
  vi.unstubAllGlobals();
  fetchMock.mockReset();
  onUnauthorized.mockReset();
});

describe('answer event stream', () => {
  it('reads tokens, then the result, with the key in a header', async () => {
    const result = answerResult();
    const all =
      frame(1, 'phase', { phase: 'generating' }) +
      frame(2, 'token', { text: 'The default ' }) +
      frame(3, 'token', { text: 'protocol' }) +
      frame(4, 'result', result);
    // Cut mid-frame: the parser must carry partial lines across reads.
    fetchMock.mockResolvedValueOnce(sse([all.slice(0, 37), all.slice(37, 120), all.slice(120)]));
    const { events, done, live } = await follow();

    expect(events.map((e) => e.type)).toEqual(['phase', 'token', 'token', 'result']);
    expect(events.map((e) => e.id)).toEqual(['1', '2', '3', '4']);
    expect(done).toMatchObject({ lastEventId: '4', last: { event: 'result' } });
    expect(live).toMatchObject({
      phase: 'done',
      ended: true,
      text: result.answer,
      result: { answer: result.answer, citations: result.citations },
    });
    expect(fetchMock).toHaveBeenCalledOnce();
    expect(fetchMock.mock.calls[0]![0]).toBe('/v1/answers/a1/events');
    expect(headersOf(0)).toMatchObject({ authorization: 'Bearer bc_session', accept: 'text/event-stream' });
    expect(headersOf(0)['last-event-id']).toBeUndefined();
  });

  it('shows the partial text before the result arrives and drops it on a token reset', () => {
    let live = emptyLive();
    live = applyAnswerEvent(live, { type: 'token', data: { text: 'Protocol 4 ' } });
    live = applyAnswerEvent(live, { type: 'token', data: { text: '[1].' } });
    expect(live.text).toBe('Protocol 4 [1].');
    expect(live.result).toBeNull();
    live = applyAnswerEvent(live, { type: 'token_reset', data: { attempt: 1, strict: true } });
    expect(live.text).toBe('');
  });

  it('resumes after a dropped connection with Last-Event-ID, without repeating events', async () => {
    const result = answerResult();
    fetchMock
      .mockResolvedValueOnce(sse([frame(7, 'token', { text: 'The default ' })]))
      .mockResolvedValueOnce(sse([frame(8, 'token', { text: 'protocol' }), frame(9, 'result', result)]));
    const { events, live } = await follow();

    expect(fetchMock).toHaveBeenCalledTimes(2);
    expect(headersOf(1)['last-event-id']).toBe('7');
    expect(events.map((e) => e.id)).toEqual(['7', '8', '9']);
    expect(live.result?.answer).toBe(result.answer);
  });

  it('keeps trying through network failures, but not after a refusal', async () => {
    fetchMock
      .mockRejectedValueOnce(new TypeError('Failed to fetch'))
      .mockResolvedValueOnce(sse([frame(1, 'failed', { message: 'worker lost' })]));
    const { live } = await follow();
    expect(live).toMatchObject({ failure: 'worker lost', ended: true });
    expect(fetchMock).toHaveBeenCalledTimes(2);

    fetchMock.mockReset();
    fetchMock.mockResolvedValueOnce(
      new Response(JSON.stringify({ error: { code: 'not_found', message: 'Answer not found.' } }), { status: 404 }),
    );
    await expect(follow('gone')).rejects.toMatchObject({ status: 404, code: 'not_found' });
    expect(fetchMock).toHaveBeenCalledOnce();
  });

  it('gives up after repeated connections that carry nothing', async () => {
    fetchMock.mockImplementation(() => Promise.resolve(sse([': keep-alive\n\n'])));
    await expect(followAnswerEvents('a1', { onEvent: () => undefined, retryMs: 0 })).rejects.toMatchObject({
      code: 'stream_lost',
    });
    expect(fetchMock).toHaveBeenCalledTimes(6);
  });
});
