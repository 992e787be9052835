import type { Attributes, Context } from '@opentelemetry/api';
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
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text Postgres can store: a NUL byte (text and json refuse it) and a lone UTF-16 surrogate (no UTF-8 form) become
 * U+FFFD. Span names and attributes carry request paths and error messages, so any caller can put them there.
 */
export function storableText(s: string): string {
  return s.replaceAll('\0', '\uFFFD').replace(loneSurrogate, '\uFFFD');
}

const storableValue = (v: unknown): unknown =>
  typeof v === 'string' ? storableText(v) : Array.isArray(v) ? v.map(storableValue) : v;

function storableAttributes(a: Attributes | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a ?? {})) out[storableText(k)] = storableValue(v);
  return out;
}

export function spanToRow(span: ReadableSpan): SpanRow {
  const a = storableAttributes(span.attributes);
  const start = hrTimeToMilliseconds(span.startTime);
  const tenant = str(a[ATTR.tenantId]);
  return {
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanId ?? null,
    tenantId: tenant && uuidPattern.test(tenant) ? tenant : null,
    name: storableText(span.name),
    kind: span.kind,
    service: storableText(String(span.resource.attributes['service.name'] ?? 'unknown')),
    startTime: new Date(start),
    endTime: new Date(hrTimeToMilliseconds(span.endTime)),
    durationMs: hrTimeToMilliseconds(span.duration),
    statusCode: span.status.code,
    statusMessage: span.status.message === undefined ? null : storableText(span.status.message),
    attributes: a,
    events: span.events.map((e) => ({
      name: storableText(e.name),
      timeMs: hrTimeToMilliseconds(e.time),
      attributes: storableAttributes(e.attributes),
    })),
    workflowId: str(a[ATTR.workflowId]),
    runId: str(a[ATTR.runId]),
  };
}

/** All-zero ids are invalid in OpenTelemetry, so no real span has them. */
const canaryRow = (): SpanRow => ({
  traceId: '0'.repeat(32),
  spanId: '0'.repeat(16),
  parentSpanId: null,
  tenantId: null,
  name: 'span-store canary',
  kind: 0,
  service: 'span-store',
  startTime: new Date(),
  endTime: new Date(),
  durationMs: 0,
  statusCode: 0,
  statusMessage: null,
  attributes: {},
  events: [],
  workflowId: null,
  runId: null,
});

/**
 * Writes finished spans to the `spans` table. `onEnd` only appends to a bounded in-memory queue, so tracing never
 * blocks or fails a request or an activity; a timer writes batches. While the database is away the batch stays
 * queued and is retried; when the queue is full, new spans are dropped, counted and logged (at most every 10 s).
 * A span the database refuses while it accepts others is isolated by splitting the batch, dropped and counted, so
 * one bad span never holds back the rest. The database can be attached after start-up: spans queue until then.
 */
export class PostgresSpanStore implements SpanProcessor {
  private queue: SpanRow[] = [];
  private orm: Orm | null = null;
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout;
  private lastDropLog = 0;
  private droppedSinceLog = 0;
  private lastRejectLog = 0;
  private rejectedSinceLog = 0;
  /** `dropped`: past the queue bound or not convertible; `rejected`: refused by a database that took the others. */
  readonly stats = { written: 0, dropped: 0, rejected: 0, failedWrites: 0 };
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
        this.opts.log?.warn(
          { dropped: this.droppedSinceLog, totalDropped: this.stats.dropped },
          'span queue full: spans dropped',
        );
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
      const settled = await this.writeBatch(this.orm, batch);
      this.queue.splice(0, settled);
      if (settled < batch.length) return; // the database is away: the rest stays queued for the next flush
    }
  }

  /**
   * Writes rows in order and returns how many are settled (written, or refused and dropped); the settled rows are
   * always a prefix. A failed insert is split in halves only while the database accepts spans, down to the one row
   * it refuses twice: that row is dropped and the others are written. While the database is away nothing is
   * dropped, so an outage costs one insert and one check per flush.
   */
  private async writeBatch(orm: Orm, rows: SpanRow[]): Promise<number> {
    const error = await this.insert(orm, rows);
    if (!error) return rows.length;
    if (!(await this.acceptsSpans(orm))) return this.retryLater(error);
    if (rows.length > 1) {
      const half = Math.ceil(rows.length / 2);
      const left = await this.writeBatch(orm, rows.slice(0, half));
      if (left < half) return left;
      return half + (await this.writeBatch(orm, rows.slice(half)));
    }
    // One row failed while the database takes spans; once more rules out a blip (a restart between the two).
    const again = await this.insert(orm, rows);
    if (!again) return 1;
    if (!(await this.acceptsSpans(orm))) return this.retryLater(again);
    this.reject(rows[0]!, again);
    return 1;
  }

  private async insert(orm: Orm, rows: SpanRow[]): Promise<Error | null> {
    try {
      await orm.em
        .fork()
        .createQueryBuilder(SpanEntity)
        .insert(rows)
        .onConflict(['traceId', 'spanId'])
        .ignore()
        .execute('run');
      this.stats.written += rows.length;
      return null;
    } catch (e) {
      return e as Error;
    }
  }

  /**
   * Whether the database is up and takes a well-formed span now: one is inserted and rolled back. A database that
   * answers but refuses every span (the table missing, a permission revoked) is treated as away, not as poison.
   */
  private async acceptsSpans(orm: Orm): Promise<boolean> {
    const rollback = new Error('span store canary: roll back');
    try {
      await orm.em.fork().transactional(async (em) => {
        await em
          .createQueryBuilder(SpanEntity)
          .insert(canaryRow())
          .onConflict(['traceId', 'spanId'])
          .ignore()
          .execute('run');
        throw rollback;
      });
      return false;
    } catch (e) {
      return e === rollback;
    }
  }

  private retryLater(e: Error): number {
    this.stats.failedWrites++;
    if (this.stats.failedWrites === 1 || this.stats.failedWrites % 20 === 0) {
      this.opts.log?.warn({ err: e.message, queued: this.queue.length }, 'spans not written yet; will retry');
    }
    return 0;
  }

  /** A row the database refuses while it accepts others would block every span after it: drop it, count it, say so. */
  private reject(row: SpanRow, e: Error) {
    this.stats.rejected++;
    this.rejectedSinceLog++;
    const now = Date.now();
    if (now - this.lastRejectLog > 10_000) {
      this.opts.log?.warn(
        {
          err: e.message.slice(0, 500),
          span: row.name.slice(0, 200),
          traceId: row.traceId,
          spanId: row.spanId,
          rejected: this.rejectedSinceLog,
          totalRejected: this.stats.rejected,
        },
        'span refused by the database: dropped',
      );
      this.lastRejectLog = now;
      this.rejectedSinceLog = 0;
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
