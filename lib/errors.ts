import { ApplicationFailure } from '@temporalio/common';
import { applicationFailure, isFailureType } from './contracts/failures';

/**
 * The one structured error type. `code` is stable and machine-readable; `status` is the HTTP status the API answers
 * with; `details` is safe to show to the caller (never secrets).
 */
export type ErrorCategory = 'user' | 'auth' | 'not_found' | 'conflict' | 'dependency' | 'internal';

export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly category: ErrorCategory;
  readonly details?: unknown;

  constructor(opts: {
    code: string;
    message: string;
    status?: number;
    category?: ErrorCategory;
    details?: unknown;
    cause?: unknown;
  }) {
    super(opts.message, { cause: opts.cause });
    this.name = 'AppError';
    this.code = opts.code;
    this.status = opts.status ?? 500;
    this.category = opts.category ?? 'internal';
    this.details = opts.details;
  }
}

export const badRequest = (code: string, message: string, details?: unknown) =>
  new AppError({ code, message, status: 400, category: 'user', details });
export const unauthorized = (message = 'A valid API key is required (Authorization: Bearer <key>).') =>
  new AppError({ code: 'unauthorized', message, status: 401, category: 'auth' });
export const forbidden = (message: string) =>
  new AppError({ code: 'forbidden', message, status: 403, category: 'auth' });
export const notFound = (what: string) =>
  new AppError({ code: 'not_found', message: `${what} was not found.`, status: 404, category: 'not_found' });

/**
 * An AppError (or another error with a stable `code`, like McpError) as an ApplicationFailure of the same type.
 * Retryability comes from the catalogue; a code outside it is retried only when its status says the fault is not
 * the caller's (5xx).
 */
export function toApplicationFailure(err: { code: string; message: string; status?: number }): ApplicationFailure {
  if (isFailureType(err.code)) return applicationFailure(err.code, err.message);
  return ApplicationFailure.create({ type: err.code, message: err.message, nonRetryable: (err.status ?? 500) < 500 });
}
