import { ApplicationFailure } from '@temporalio/common';
import OpenAI from 'openai';
import { applicationFailure, LLM_FAILURES, type LlmFailureType } from '../contracts/failures';

/**
 * Stable failure types of LLM calls, from the failure catalogue (lib/contracts/failures.ts). Temporal retries the
 * retryable ones with the activity's retry policy (a provider's Retry-After becomes the next retry delay); the
 * others fail the activity at once.
 */
export { LLM_FAILURES, type LlmFailureType };

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

const failure = (type: LlmFailureType, message: string, nextRetryDelayMs?: number) =>
  applicationFailure(type, message, { nextRetryDelayMs });

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
  if (err instanceof OpenAI.APIConnectionTimeoutError)
    return failure(LLM_FAILURES.timeout, 'The model did not answer in time.');
  if (err instanceof OpenAI.APIConnectionError) {
    return failure(LLM_FAILURES.connection, `Could not reach the model endpoint: ${err.message}`);
  }
  if (err instanceof OpenAI.APIError && typeof err.status === 'number') {
    const code = typeof err.code === 'string' ? err.code : undefined;
    const detail = `${err.status}${code ? ` ${code}` : ''}: ${err.message}`;
    if (err.status === 429)
      return failure(
        LLM_FAILURES.rateLimited,
        `Rate limited by the model endpoint (${detail})`,
        retryAfterMs(err.headers),
      );
    if (err.status >= 500)
      return failure(LLM_FAILURES.serverError, `The model endpoint failed (${detail})`, retryAfterMs(err.headers));
    if (err.status === 408) return failure(LLM_FAILURES.timeout, `The model endpoint timed out (${detail})`);
    if (err.status === 401)
      return failure(LLM_FAILURES.unauthorized, `The model endpoint refused the credentials (${detail})`);
    if (err.status === 403) return failure(LLM_FAILURES.forbidden, `The model endpoint refused access (${detail})`);
    if (err.status === 404) return failure(LLM_FAILURES.notFound, `The model or endpoint does not exist (${detail})`);
    const text = `${code ?? ''} ${err.message}`.toLowerCase();
    if (
      code === 'context_length_exceeded' ||
      text.includes('maximum context length') ||
      text.includes('context length')
    ) {
      return failure(LLM_FAILURES.contextLength, `The input is longer than the model's context (${detail})`);
    }
    if (
      code === 'content_filter' ||
      code === 'content_policy_violation' ||
      text.includes('content management policy')
    ) {
      return failure(LLM_FAILURES.contentFilter, `The model endpoint's content filter refused the request (${detail})`);
    }
    return failure(LLM_FAILURES.badRequest, `The model endpoint rejected the request (${detail})`);
  }
  if (err instanceof SyntaxError || err instanceof OpenAI.OpenAIError) {
    return failure(
      LLM_FAILURES.badResponse,
      `The model endpoint sent an unreadable response: ${(err as Error).message}`,
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return failure(LLM_FAILURES.badResponse, `LLM call failed: ${message}`);
}
