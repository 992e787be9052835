import { trace } from '@opentelemetry/api';
import { pino, type Logger } from 'pino';

export type { Logger };

const redact = ['req.headers.authorization', 'headers.authorization', '*.apiKey', '*.password', '*.token'];

/** Structured JSON logs; each line inside a span carries its trace and span ids. */
export function createLogger(level: string, name: string): Logger {
  return pino({
    level,
    name,
    redact,
    base: { pid: process.pid, service: name },
    mixin() {
      const ctx = trace.getActiveSpan()?.spanContext();
      return ctx ? { trace_id: ctx.traceId, span_id: ctx.spanId } : {};
    },
  });
}
