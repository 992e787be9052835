import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AnswerRecord } from '../api/answer-types';
import { configureRequest } from '../api/request';
import { answerResult } from '../lib/test-fixtures';
import { useAnswerStore } from './answer';

const fetchMock = vi.fn<typeof fetch>();
const result = answerResult();
const running: AnswerRecord = {
  id: 'a1',
  workflowId: result.workflowId,
  conversationId: null,
  question: result.question,
  status: 'running',
  answer: null,
  groundingScore: null,
  createdAt: '2025-01-01T00:00:00.000Z',
  completedAt: null,
};
const answered: AnswerRecord = {
  ...running,
  status: 'answered',
  answer: result.answer,
  groundingScore: 0.5,
  completedAt: '2025-01-01T00:00:01.000Z',
  result,
};
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status });
const sse = (text: string) => new Response(text, { status: 200, headers: { 'content-type': 'text/event-stream' } });
const calls = () => fetchMock.mock.calls.map(([url, init]) => `${init?.method ?? 'GET'} ${String(url)}`);

beforeEach(() => {
  setActivePinia(createPinia());
  vi.stubGlobal('fetch', fetchMock);
  configureRequest({ getApiKey: () => 'bc_session', onUnauthorized: () => undefined });
});
afterEach(() => {
  vi.unstubAllGlobals();
  fetchMock.mockReset();
});

describe('answer store', () => {
  it('follows a running answer: streamed text first, then the stored result read again', async () => {
    fetchMock
      .mockResolvedValueOnce(json(running))
      .mockResolvedValueOnce(
        sse(
          `id: 1\nevent: token\ndata: {"text":"The default "}\n\nid: 2\nevent: result\ndata: ${JSON.stringify(result)}\n\n`,
        ),
      )
      .mockResolvedValueOnce(json(answered));
    const store = useAnswerStore();
    await store.open('a1');
    expect(store.streaming).toBe(true);
    await vi.waitFor(() => expect(store.streaming).toBe(false));
    expect(calls()).toEqual(['GET /v1/answers/a1', 'GET /v1/answers/a1/events', 'GET /v1/answers/a1']);
    expect(store.record?.status).toBe('answered');
    expect(store.result?.citations).toHaveLength(2);
    expect(store.live.text).toBe(result.answer);
  });

  it('does not stream an answer that is final already', async () => {
    fetchMock.mockResolvedValueOnce(json(answered));
    const store = useAnswerStore();
    await store.open('a1');
    expect(store.streaming).toBe(false);
    expect(calls()).toEqual(['GET /v1/answers/a1']);
  });

  it('sends a review decision with its note, then reads the answer again', async () => {
    const store = useAnswerStore();
    store.show({ ...running, status: 'pending_review' });
    fetchMock.mockResolvedValueOnce(json(answered)).mockResolvedValueOnce(json(answered));
    await store.review('approve', '  checked by hand ');
    expect(calls()).toEqual(['POST /v1/answers/a1/review', 'GET /v1/answers/a1']);
    expect(JSON.parse(String(fetchMock.mock.calls[0]![1]!.body))).toEqual({
      decision: 'approve',
      note: 'checked by hand',
    });
    expect(store.record?.status).toBe('answered');
    expect(store.reviewError).toBeNull();
  });

  it('keeps a refused review as an error to show', async () => {
    const store = useAnswerStore();
    store.show({ ...running, status: 'pending_review' });
    fetchMock.mockResolvedValueOnce(
      json({ error: { code: 'not_pending_review', message: 'This answer is not waiting for review.' } }, 409),
    );
    await store.review('reject', '');
    expect(store.reviewError).toMatchObject({ status: 409, code: 'not_pending_review' });
    expect(JSON.parse(String(fetchMock.mock.calls[0]![1]!.body))).toEqual({ decision: 'reject' });
  });
});
