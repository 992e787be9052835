import type { AnswerEvent, AnswerRecord, AskInput, Collection, ReviewInput } from './answer-types';
import { followEventStream, type FollowResult } from './event-stream';
import { request } from './request';

const answerPath = (id: string) => `/v1/answers/${encodeURIComponent(id)}`;

/** Events after which the answer's stream ends: the result, a failure, or the run closing without either. */
export const ANSWER_TERMINAL_EVENTS: ReadonlySet<string> = new Set<AnswerEvent['type']>(['result', 'failed', 'end']);

export function listAnswers(
  page: { limit?: number; before?: string | null } = {},
  signal?: AbortSignal,
): Promise<{ answers: AnswerRecord[] }> {
  return request<{ answers: AnswerRecord[] }>('/v1/answers', {
    query: { limit: page.limit, before: page.before },
    signal,
  });
}

export function getAnswer(id: string, signal?: AbortSignal): Promise<AnswerRecord> {
  return request<AnswerRecord>(answerPath(id), { signal });
}

/** Starts an answer (202 with the running record); the page then follows its events. */
export function askQuestion(input: AskInput): Promise<AnswerRecord> {
  return request<AnswerRecord>('/v1/answers', { method: 'POST', body: input });
}

/** The API waits up to 30 s for the released (or abstained) answer before it replies. */
export function reviewAnswer(id: string, review: Pick<ReviewInput, 'decision' | 'note'>): Promise<AnswerRecord> {
  return request<AnswerRecord>(`${answerPath(id)}/review`, { method: 'POST', body: review, timeoutMs: 45_000 });
}

export function listCollections(signal?: AbortSignal): Promise<{ collections: Collection[] }> {
  return request<{ collections: Collection[] }>('/v1/collections', { signal });
}

/** Follows an answer's events (phases, steps, tokens, grounding, result) until it ends; resumes after drops. */
export function followAnswerEvents(
  id: string,
  options: { onEvent: (event: AnswerEvent) => void; lastEventId?: string; signal?: AbortSignal; retryMs?: number },
): Promise<FollowResult> {
  return followEventStream(`${answerPath(id)}/events`, {
    terminal: ANSWER_TERMINAL_EVENTS,
    lastEventId: options.lastEventId,
    signal: options.signal,
    ...(options.retryMs !== undefined ? { retryMs: options.retryMs } : {}),
    onEvent: (m) => options.onEvent({ type: m.event, id: m.id, data: m.data } as AnswerEvent),
  });
}
