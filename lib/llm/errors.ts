import { ApplicationFailure } from '@temporalio/common';
import OpenAI from 'openai';

/**
 * Stable failure types of LLM calls. Temporal retries the retryable ones with the activity's retry policy (a
 * provider's Retry-After becomes the next retry delay); the others fail the activity at once.
 */
export const LLM_FAILURES = {
  rateLimited: 'llm_rate_limited',
  serverError: 'llm_server_error',
  timeout: 'llm_timeout',
  connection: 'llm_connection',
  badResponse: 'llm_bad_response',
  badRequest: 'llm_bad_request',
  contextLength: 'llm_context_length',
  contentFilter: 'llm_content_filter',
  unauthorized: 'llm_unauthorized',
  forbidden: 'llm_forbidden',
  notFound: 'llm_not_found',
  budgetExceeded: 'llm_budget_exceeded',
  notConfigured: 'llm_not_configured',
} as const;

export type LlmFailureType = (typeof LLM_FAILURES)[keyof typeof LLM_FAILURES];

/** Seconds or milliseconds from `retry-after-ms` / `retry-after` (seconds or an HTTP date), capped at 5 minutes. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.get('retry-after-ms') !== null && Number.isFinite(ms) && ms >= 0) return Math.min(ms, 300_000);
  const raw = headers.get('retry-after');
  if (raw === null) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, 300_000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.min(Math.max(0, date - now), 300_000);
}

const failure = (type: LlmFailureType, message: string, nonRetryable: boolean, nextRetryDelayMs?: number) =>
  ApplicationFailure.create({
    type,
    message,
    nonRetryable,
    ...(nextRetryDelayMs !== undefined ? { nextRetryDelay: nextRetryDelayMs } : {}),
  });

/** True when the error is the caller's own abort (activity cancellation), which is not a provider failure. */
/** Throws like an aborted `fetch`: the signal's reason when it is an Error, else a DOMException `AbortError`. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  const reason: unknown = signal.reason;
  throw reason instanceof Error ? reason : new DOMException('The local provider call was aborted.', 'AbortError');
}

export const isAbort = (err: unknown) =>
  err instanceof OpenAI.APIUserAbortError || (err instanceof Error && err.name === 'AbortError');

/**
 * Maps a provider error to an ApplicationFailure with a stable type. Messages carry the provider's status and
 * code, never request headers (where the API key lives).
 */
export function classifyLlmError(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof OpenAI.APIConnectionTimeoutError) return failure(LLM_FAILURES.timeout, 'The model did not answer in time.', false);
  if (err instanceof OpenAI.APIConnectionError) {
    return failure(LLM_FAILURES.connection, `Could not reach the model endpoint: ${err.message}`, false);
  }
  if (err instanceof OpenAI.APIError && typeof err.status === 'number') {
    const code = typeof err.code === 'string' ? err.code : undefined;
    const detail = `${err.status}${code ? ` ${code}` : ''}: ${err.message}`;
    if (err.status === 429) return failure(LLM_FAILURES.rateLimited, `Rate limited by the model endpoint (${detail})`, false, retryAfterMs(err.headers));
    if (err.status >= 500) return failure(LLM_FAILURES.serverError, `The model endpoint failed (${detail})`, false, retryAfterMs(err.headers));
    if (err.status === 408) return failure(LLM_FAILURES.timeout, `The model endpoint timed out (${detail})`, false);
    if (err.status === 401) return failure(LLM_FAILURES.unauthorized, `The model endpoint refused the credentials (${detail})`, true);
    if (err.status === 403) return failure(LLM_FAILURES.forbidden, `The model endpoint refused access (${detail})`, true);
    if (err.status === 404) return failure(LLM_FAILURES.notFound, `The model or endpoint does not exist (${detail})`, true);
    const text = `${code ?? ''} ${err.message}`.toLowerCase();
    if (code === 'context_length_exceeded' || text.includes('maximum context length') || text.includes('context length')) {
      return failure(LLM_FAILURES.contextLength, `The input is longer than the model's context (${detail})`, true);
    }
    if (code === 'content_filter' || code === 'content_policy_violation' || text.includes('content management policy')) {
      return failure(LLM_FAILURES.contentFilter, `The model endpoint's content filter refused the request (${detail})`, true);
    }
    return failure(LLM_FAILURES.badRequest, `The model endpoint rejected the request (${detail})`, true);
  }
  if (err instanceof SyntaxError || err instanceof OpenAI.OpenAIError) {
    return failure(LLM_FAILURES.badResponse, `The model endpoint sent an unreadable response: ${(err as Error).message}`, false);
  }
  const message = err instanceof Error ? err.message : String(err);
  return failure(LLM_FAILURES.badResponse, `LLM call failed: ${message}`, false);
}
