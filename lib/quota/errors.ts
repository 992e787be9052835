import { AppError } from '../errors';
import type { QuotaLimits } from './limits';

/**
 * The machine-readable codes of the 429 answers. They are answers of the API, not failures of runs (a refused run is
 * never started), so they are not in the failure catalogue of lib/contracts/failures.ts.
 */
export const QUOTA_CODES = {
  /** Requests per minute of one key or session. */
  requests: 'rate_limited',
  /** Runs started per minute by the tenant. */
  runs: 'run_rate_limited',
  /** Running workflows of one run kind. */
  concurrency: 'concurrency_limited',
  /** Documents or bytes stored. */
  storage: 'storage_quota_exceeded',
  /** Model tokens used today (UTC). */
  tokens: 'token_quota_exceeded',
} as const;
export type QuotaCode = (typeof QUOTA_CODES)[keyof typeof QUOTA_CODES];

/** Stored content changes only when the tenant deletes some, so its callers are told to come back in an hour. */
export const STORAGE_RETRY_AFTER_SECONDS = 3600;

/** 429 with the seconds to wait (the API sends them as `Retry-After`) and what was exceeded. */
export class QuotaExceededError extends AppError {
  readonly retryAfterSeconds: number;

  constructor(opts: {
    code: QuotaCode;
    message: string;
    quota: keyof QuotaLimits;
    limit: number;
    used: number;
    retryAfterSeconds: number;
    extra?: Record<string, unknown>;
  }) {
    const retryAfterSeconds = Math.max(1, Math.ceil(opts.retryAfterSeconds));
    super({
      code: opts.code,
      message: opts.message,
      status: 429,
      category: 'user',
      details: { quota: opts.quota, limit: opts.limit, used: opts.used, retryAfterSeconds, ...opts.extra },
    });
    this.name = 'QuotaExceededError';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Seconds until the next UTC midnight, when the daily token count starts again. */
export const secondsToUtcMidnight = (now = new Date()) =>
  Math.ceil((Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1) - now.getTime()) / 1000);
