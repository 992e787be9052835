import { trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { secretRegistry } from './secrets/registry';

export type { Logger };

const redact = ['req.headers.authorization', 'headers.authorization', '*.apiKey', '*.password', '*.token'];

/**
 * Structured JSON logs; each line inside a span carries its trace and span ids; secret values are redacted, and
 * database errors are logged by code and constraint, never with their SQL and its values. `destination` is for tests.
 */
export function createLogger(level: string, name: string, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    name,
    redact,
    serializers: { err: serializeError },
    base: { pid: process.pid, service: name },
    // Every resolved secret value is replaced in every log line, whatever field it hid in.
    hooks: { streamWrite: (line) => secretRegistry.redact(line) },
    mixin() {
      const ctx = trace.getActiveSpan()?.spanContext();
      return ctx ? { trace_id: ctx.traceId, span_id: ctx.spanId } : {};
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

type DatabaseError = Error & { code: string; constraint?: string; table?: string; column?: string; routine?: string };

/** A Postgres error (pg's DatabaseError, or MikroORM's DriverException that copies its fields): a SQLSTATE code and a severity. */
const isDatabaseError = (e: unknown): e is DatabaseError => {
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof Error && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && 'severity' in e;
};

const frames = (stack: string | undefined) =>
  (stack ?? '')
    .split('\n')
    .filter((l) => l.trim().startsWith('at '))
    .join('\n');

/**
 * pino's error serializer, except when a database error is in the cause chain: its message and detail carry the
 * statement with the user's values (`insert ... values ('...') - duplicate key`, `Key (name)=(...)`), so the chain
 * is logged as types, SQLSTATE codes, constraints and stack frames, and any message quoting the database's is cut.
 */
export function serializeError(err: unknown): unknown {
  const chain: unknown[] = [];
  for (let e: unknown = err; e instanceof Error && chain.length < 8 && !chain.includes(e); e = e.cause) chain.push(e);
  const db = chain.filter(isDatabaseError);
  if (!db.length) return pino.stdSerializers.err(err as Error);
  const serialize = (e: Error, i: number): Record<string, unknown> => {
    const next = chain[i + 1] instanceof Error ? serialize(chain[i + 1] as Error, i + 1) : undefined;
    if (isDatabaseError(e)) {
      const { code, constraint, table, column, routine } = e;
      const on = constraint ? ` on constraint ${constraint}` : table ? ` on table ${table}` : '';
      return {
        type: e.name,
        message: `database error ${code}${on} (statement and values not logged)`,
        code,
        constraint,
        table,
        column,
        routine,
        stack: frames(e.stack),
        cause: next,
      };
    }
    const quotesDb = db.some(
      (d) =>
        e.message.includes(d.message) || (d.message.includes(' - ') && e.message.includes(d.message.split(' - ')[0]!)),
    );
    return {
      type: e.name,
      message: quotesDb ? `${e.name} wrapping a database error` : e.message,
      stack: frames(e.stack),
      cause: next,
    };
  };
  return serialize(chain[0] as Error, 0);
}
