import type { Context } from '@opentelemetry/api';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { SpanEntity, type Span as SpanRow } from '../db/entities';
import type { Orm } from '../db/orm';
import type { Logger } from '../log';
import { ATTR } from './attributes';

export interface SpanStoreOptions {
  /** Spans kept in memory while the database is slow or away; past this, new spans are dropped and counted. */
  maxQueue?: number;
  maxBatch?: number;
  flushIntervalMs?: number;
  log?: Logger;
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function spanToRow(span: ReadableSpan): SpanRow {
  const a = span.attributes;
  const start = hrTimeToMilliseconds(span.startTime);
  const tenant = str(a[ATTR.tenantId]);
  return {
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanId ?? null,
    tenantId: tenant && uuidPattern.test(tenant) ? tenant : null,
    name: span.name,
    kind: span.kind,
    service: String(span.resource.attributes['service.name'] ?? 'unknown'),
    startTime: new Date(start),
    endTime: new Date(hrTimeToMilliseconds(span.endTime)),
    durationMs: hrTimeToMilliseconds(span.duration),
    statusCode: span.status.code,
    statusMessage: span.status.message ?? null,
    attributes: { ...a },
    events: span.events.map((e) => ({ name: e.name, timeMs: hrTimeToMilliseconds(e.time), attributes: e.attributes ?? {} })),
    workflowId: str(a[ATTR.workflowId]),
    runId: str(a[ATTR.runId]),
  };
}

/**
 * Writes finished spans to the `spans` table. `onEnd` only appends to a bounded in-memory queue, so tracing never
 * blocks or fails a request or an activity; a timer writes batches. While the database is away the batch stays
 * queued and is retried; when the queue is full, new spans are dropped, counted and logged (at most every 10 s).
 * The database can be attached after start-up: spans queue until then.
 */
export class PostgresSpanStore implements SpanProcessor {
  private queue: SpanRow[] = [];
  private orm: Orm | null = null;
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout;
  private lastDropLog = 0;
  private droppedSinceLog = 0;
  readonly stats = { written: 0, dropped: 0, failedWrites: 0 };
  private readonly maxQueue: number;
  private readonly maxBatch: number;

  constructor(private readonly opts: SpanStoreOptions = {}) {
    this.maxQueue = opts.maxQueue ?? 10_000;
    this.maxBatch = opts.maxBatch ?? 200;
    this.timer = setInterval(() => void this.flush(), opts.flushIntervalMs ?? 500);
    this.timer.unref();
  }

  attach(orm: Orm) {
    this.orm = orm;
  }

  get queued() {
    return this.queue.length;
  }

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    if (this.queue.length >= this.maxQueue) {
      this.stats.dropped++;
      this.droppedSinceLog++;
      const now = Date.now();
      if (now - this.lastDropLog > 10_000) {
        this.opts.log?.warn({ dropped: this.droppedSinceLog, totalDropped: this.stats.dropped }, 'span queue full: spans dropped');
        this.lastDropLog = now;
        this.droppedSinceLog = 0;
      }
      return;
    }
    try {
      this.queue.push(spanToRow(span));
    } catch (e) {
      this.stats.dropped++;
      this.opts.log?.warn({ err: e }, 'span could not be converted: dropped');
    }
  }

  /** Writes what is queued; one flush at a time. Resolves (never rejects) when the attempt is over. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (!this.orm || this.queue.length === 0) return Promise.resolve();
    this.flushing = this.writeAll().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async writeAll() {
    while (this.orm && this.queue.length > 0) {
      const batch = this.queue.slice(0, this.maxBatch);
      try {
        await this.orm.em
          .fork()
          .createQueryBuilder(SpanEntity)
          .insert(batch)
          .onConflict(['traceId', 'spanId'])
          .ignore()
          .execute('run');
        this.queue.splice(0, batch.length);
        this.stats.written += batch.length;
      } catch (e) {
        this.stats.failedWrites++;
        if (this.stats.failedWrites === 1 || this.stats.failedWrites % 20 === 0) {
          this.opts.log?.warn({ err: (e as Error).message, queued: this.queue.length }, 'spans not written yet; will retry');
        }
        return;
      }
    }
  }

  async forceFlush(): Promise<void> {
    await this.flush();
  }

  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    await Promise.race([this.flush(), new Promise((r) => setTimeout(r, 3000).unref())]);
  }
}
