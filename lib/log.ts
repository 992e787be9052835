import { trace } from '@opentelemetry/api';
import { pino, type Logger } from 'pino';
import { secretRegistry } from './secrets/registry';

export type { Logger };

const redact = ['req.headers.authorization', 'headers.authorization', '*.apiKey', '*.password', '*.token'];

/** Structured JSON logs; each line inside a span carries its trace and span ids; secret values are redacted. */
export function createLogger(level: string, name: string): Logger {
  return pino({
    level,
    name,
    redact,
    base: { pid: process.pid, service: name },
    // Every resolved secret value is replaced in every log line, whatever field it hid in.
    hooks: { streamWrite: (line) => secretRegistry.redact(line) },
    mixin() {
      const ctx = trace.getActiveSpan()?.spanContext();
      return ctx ? { trace_id: ctx.traceId, span_id: ctx.spanId } : {};
    },
  });
}
