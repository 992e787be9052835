import { maxHeaderSize, STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Middleware } from 'koa';
import { ZodError } from 'zod';
import { databasePorts } from '../lib/db/orm';
import { AppError } from '../lib/errors';
import { QUOTA_CODES } from '../lib/quota/errors';
import { secretRegistry } from '../lib/secrets';
import type { Logger } from '../lib/log';

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

const statusCodes: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable',
  // A method no router implements (TRACE, CONNECT): the router answers 501; the caller's doing, not a fault here.
  501: 'not_implemented',
};

/** Under `/v1/openai` every error is in OpenAI's shape instead, so OpenAI clients raise their own error types. */
const OPENAI_PATH = /^\/v1\/openai(\/|$)/i;

export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** OpenAI's `type` for a status; a tokens-per-day quota is OpenAI's `insufficient_quota`. */
function openaiErrorType(status: number, code: string): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return code === QUOTA_CODES.tokens ? 'insufficient_quota' : 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/**
 * An error of the API's shape in OpenAI's (`{ error: { message, type, param, code } }`): the code stays the API's
 * stable one, and a validation failure names its first field the way OpenAI does (`messages[0].content`).
 */
export function openaiError(status: number, body: ErrorBody): OpenAiErrorBody {
  const first = Array.isArray(body.error.details)
    ? (body.error.details[0] as { path?: unknown } | undefined)?.path
    : undefined;
  const param = Array.isArray(first)
    ? first.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${String(p)}` : String(p))).join('') || null
    : null;
  return {
    error: {
      message: body.error.message,
      type: openaiErrorType(status, body.error.code),
      param,
      code: body.error.code,
    },
  };
}

/** gRPC status codes a Temporal call fails with while the frontend cannot be reached or is restarting. */
const GRPC_UNAVAILABLE = new Set([14 /* UNAVAILABLE */, 4 /* DEADLINE_EXCEEDED */]);
/** Postgres SQLSTATEs of a lost or refused connection: class 08, and the server shutting down or starting. */
const PG_UNAVAILABLE = /^(08...|57P01|57P02|57P03)$/;
const NET_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);
/** The wording of node-postgres, its pool and knex for a connection that broke or could not be made. */
const DB_UNAVAILABLE =
  /Connection terminated|Connection ended unexpectedly|timeout exceeded when trying to connect|Client has encountered a connection error|Timeout acquiring a connection|the database system is (starting up|shutting down)/i;
/** A frame of the database stack: a socket error raised there is the database's connection. */
const DB_FRAMES = /node_modules[\\/](pg|pg-pool|knex|@mikro-orm[\\/][a-z]+)[\\/]/;

/**
 * Which backing service an error says is out of reach (the database, Temporal), looking through its causes; null
 * for any other error. Such a request did not fail for anything the client did: it gets 503 and may be retried.
 * A socket error counts for the database only when the database stack raised or wrapped it, or it names a
 * database's port (an outbound call to an MCP server or a URL is not the database).
 */
export function unavailableDependency(err: unknown): 'database' | 'temporal' | null {
  const chain: Array<Record<string, unknown>> = [];
  for (let e: unknown = err; e && typeof e === 'object' && chain.length < 6; e = (e as { cause?: unknown }).cause)
    chain.push(e as Record<string, unknown>);
  const fromDb = chain.some((e) => /Exception$/.test(String(e.name ?? '')) || DB_FRAMES.test(String(e.stack ?? '')));
  for (const e of chain) {
    const name = String(e.name ?? '');
    const code = e.code;
    if (name === 'ServiceError' && typeof e.cause === 'object' && e.cause) {
      const grpc = (e.cause as { code?: unknown }).code;
      if (typeof grpc === 'number' && GRPC_UNAVAILABLE.has(grpc)) return 'temporal';
    }
    if (typeof code === 'string' && PG_UNAVAILABLE.test(code)) return 'database';
    if (name === 'ConnectionException' || DB_UNAVAILABLE.test(String(e.message ?? ''))) return 'database';
    if (typeof code === 'string' && NET_UNAVAILABLE.has(code) && (fromDb || databasePorts.has(Number(e.port))))
      return 'database';
  }
  return null;
}

/** First in the chain: every error, thrown or not, leaves as `{ error: { code, message, details? } }`. */
export function errorHandler(log: Logger, bodyLimit: string): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new AppError({
          code: 'route_not_found',
          message: `No route for ${ctx.method} ${ctx.path}.`,
          status: 404,
        });
      }
    } catch (err) {
      let body: ErrorBody;
      if (err instanceof AppError) {
        ctx.status = err.status;
        body = { error: { code: err.code, message: err.message, details: err.details } };
      } else if (err instanceof ZodError) {
        ctx.status = 400;
        body = {
          error: {
            code: 'validation_failed',
            message: err.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
            details: err.issues.map((i) => ({ path: i.path, message: i.message, code: i.code })),
          },
        };
      } else {
        const e = err as { status?: number; statusCode?: number; expose?: boolean; message?: string; type?: string };
        const status = e.status ?? e.statusCode ?? 500;
        ctx.status = status;
        const unavailable = status >= 500 ? unavailableDependency(err) : null;
        if (unavailable) {
          // The database or Temporal is out of reach (restarting, a network cut): nothing the client did; retry.
          log.warn({ err, path: ctx.path, method: ctx.method, dependency: unavailable }, 'dependency unavailable');
          ctx.status = 503;
          ctx.set('Retry-After', '5');
          body = {
            error: {
              code: 'unavailable',
              message: `${unavailable === 'database' ? 'The database' : 'Temporal'} cannot be reached right now; retry shortly.`,
            },
          };
        } else if (status >= 500 && status !== 501) {
          log.error({ err, path: ctx.path, method: ctx.method }, 'request failed');
          body = { error: { code: 'internal', message: 'Internal error; it has been logged.' } };
        } else {
          if (err instanceof SyntaxError && status === 400) {
            body = { error: { code: 'invalid_json', message: `The request body is not valid JSON: ${err.message}` } };
          } else if (status === 413) {
            body = {
              error: { code: 'payload_too_large', message: `The request body is larger than the ${bodyLimit} limit.` },
            };
          } else {
            const code = statusCodes[status] ?? 'bad_request';
            body = { error: { code, message: e.expose && e.message ? e.message : code.replace(/_/g, ' ') } };
          }
        }
      }
      if (body.error.details === undefined) delete body.error.details;
      body.error.message = secretRegistry.redact(body.error.message);
      ctx.body = OPENAI_PATH.test(ctx.path) ? openaiError(ctx.status, body) : body;
      ctx.type = 'application/json';
    }
  };
}

/**
 * Requests Node's HTTP parser refuses never reach Koa (a header over the size limit, a request line that is not
 * HTTP): they are answered here, on the socket, with the same error shape.
 */
export function answerClientErrors(server: Server) {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // Nothing to answer on a connection the client reset, or while a response on it is already under way.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy(err);
      return;
    }
    const [status, code, message] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [
            431,
            'header_too_large',
            `The request headers are larger than the ${Math.floor(maxHeaderSize / 1024)} KB the server accepts.`,
          ]
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'request_timeout', 'The request was not received in time.']
          : [400, 'bad_request', 'The request is not valid HTTP.'];
    const body = JSON.stringify({ error: { code, message } } satisfies ErrorBody);
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
