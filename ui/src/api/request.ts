/**
 * The one way the console talks to the API: adds the bearer key (signed in with a key) or sends the session cookie
 * with the CSRF header on writes (signed in with a password), parses JSON and turns every failure into an ApiError
 * mapped from `{ error: { code, message, details? } }`.
 */

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    /** HTTP status; 0 when no response arrived. */
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError(0, 'client_error', err instanceof Error ? err.message : String(err));
}

/** True for the error of a request the caller aborted on purpose; nothing to show for it. */
export function isAborted(err: unknown): boolean {
  return err instanceof ApiError && err.code === 'aborted';
}

type QueryValue = string | number | boolean | null | undefined;

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  query?: Record<string, QueryValue>;
  body?: unknown;
  signal?: AbortSignal;
  /** Use this key instead of the session's; sign-in validates a key before keeping it. */
  apiKey?: string;
  /** A sign-in call: sent without a key, and its 401 means wrong credentials rather than an ended session. */
  anonymous?: boolean;
  timeoutMs?: number;
}

export interface RequestAuth {
  getApiKey(): string | null;
  /** Called once a 401 answers a request made with the session's key. */
  onUnauthorized(): void;
}

let auth: RequestAuth = { getApiKey: () => null, onUnauthorized: () => undefined };

/** Wired once in main.ts, so this module needs neither the store nor the router. */
export function configureRequest(next: RequestAuth): void {
  auth = next;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** The session's CSRF token: the API sets it in a cookie the page can read (the session cookie itself it cannot). */
export const CSRF_COOKIE = 'bc_csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function readCookie(name: string): string | null {
  if (typeof document === 'undefined') return null;
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return null;
}

/** True while the browser holds a console session (its CSRF cookie lives exactly as long as the session cookie). */
export const hasSessionCookie = () => Boolean(readCookie(CSRF_COOKIE));

export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const usesSessionKey = options.apiKey === undefined && !options.anonymous;
  const key = options.anonymous ? null : usesSessionKey ? auth.getApiKey() : options.apiKey;
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  // A write on the session cookie proves it comes from this page by echoing the CSRF token (a key needs none).
  const csrf = !key && !SAFE_METHODS.has(method) ? readCookie(CSRF_COOKIE) : null;
  if (csrf) headers['x-csrf-token'] = csrf;
  const sessionCookie = !key && usesSessionKey && hasSessionCookie();
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? anySignal([options.signal, timeout]) : timeout;

  let response: Response;
  let text: string;
  try {
    response = await fetch(withQuery(path, options.query), {
      method,
      headers,
      body,
      signal,
      credentials: 'same-origin',
      cache: 'no-store',
    });
    text = await response.text();
  } catch (err) {
    throw transportError(err, options.signal, timeoutMs);
  }

  const payload = parseJson(text);
  if (!response.ok) {
    if (response.status === 401 && usesSessionKey && (key || sessionCookie)) auth.onUnauthorized();
    throw errorFromResponse(response, payload);
  }
  if (text !== '' && payload === undefined) {
    throw new ApiError(response.status, 'invalid_response', 'The API answered with something that is not JSON.');
  }
  return payload as T;
}

/**
 * Opens a streamed response (Server-Sent Events) with the session's key and extra headers; failures map to ApiError
 * exactly like `request`. No timeout: a stream stays open as long as the server has something to say.
 */
export async function openStream(
  path: string,
  options: { headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Response> {
  const key = auth.getApiKey();
  const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers };
  if (key) headers.authorization = `Bearer ${key}`;
  let response: Response;
  try {
    response = await fetch(path, { headers, signal: options.signal, credentials: 'same-origin', cache: 'no-store' });
  } catch (err) {
    throw transportError(err, options.signal, 0);
  }
  if (!response.ok) {
    const payload = parseJson(await response.text().catch(() => ''));
    if (response.status === 401 && (key || hasSessionCookie())) auth.onUnauthorized();
    throw errorFromResponse(response, payload);
  }
  if (!response.body)
    throw new ApiError(response.status, 'invalid_response', 'The API answered without a body to stream.');
  return response;
}

export function withQuery(path: string, query?: Record<string, QueryValue>): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    params.set(name, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function errorFromResponse(response: Response, payload: unknown): ApiError {
  const error = (payload as { error?: unknown } | undefined)?.error;
  if (error && typeof error === 'object') {
    const { code, message, details } = error as { code?: unknown; message?: unknown; details?: unknown };
    if (typeof code === 'string' && typeof message === 'string')
      return new ApiError(response.status, code, message, details);
  }
  // Not our shape: a proxy or gateway answered (e.g. the dev proxy while the API is down).
  const reason = response.statusText ? ` ${response.statusText}` : '';
  return new ApiError(response.status, `http_${response.status}`, `The server answered ${response.status}${reason}.`);
}

function transportError(err: unknown, callerSignal: AbortSignal | undefined, timeoutMs: number): ApiError {
  const name = err instanceof Error || err instanceof DOMException ? err.name : '';
  if (callerSignal?.aborted) return new ApiError(0, 'aborted', 'The request was canceled.');
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new ApiError(0, 'timeout', `The API did not answer within ${Math.round(timeoutMs / 1000)} s.`);
  }
  return new ApiError(
    0,
    'network_error',
    'Cannot reach the BeyondCloud API. Check your connection and that the server is running.',
  );
}

function anySignal(signals: AbortSignal[]): AbortSignal {
  if (typeof AbortSignal.any === 'function') return AbortSignal.any(signals);
  const controller = new AbortController();
  for (const s of signals) {
    if (s.aborted) {
      controller.abort(s.reason);
      break;
    }
    s.addEventListener('abort', () => controller.abort(s.reason), { once: true });
  }
  return controller.signal;
}
