import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Resource } from '@opentelemetry/resources';
import { describe, expect, inject, it } from 'vitest';
import { startEmbeddedPostgres } from '../db/embedded';
import { createOrm, migrate } from '../db/orm';
import type { Logger } from '../log';
import { PostgresSpanStore, storableText } from './span-store';

function tracerFor(store: PostgresSpanStore) {
  const provider = new BasicTracerProvider({ resource: new Resource({ 'service.name': 'span-store-test' }) });
  provider.addSpanProcessor(store);
  return provider.getTracer('test');
}

const spanCount = async (orm: Awaited<ReturnType<typeof createOrm>>, name: string) =>
  (
    (await orm.em
      .getConnection()
      .execute('select count(*)::int as n from spans where name like ?', [`${name}%`])) as Array<{ n: number }>
  )[0]!.n;

describe('PostgresSpanStore', () => {
  it('keeps spans while the database is away and writes them when it is back, never throwing', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'span-store-'));
    let pg = await startEmbeddedPostgres({ port: 0, dataDir });
    const port = pg.port; // the pool reconnects to the same address after the restart
    const orm = await createOrm(pg.url, 2);
    await migrate(orm);
    const store = new PostgresSpanStore({ flushIntervalMs: 60_000 });
    store.attach(orm);
    const tracer = tracerFor(store);
    try {
      tracer.startSpan('before-outage').end();
      await store.flush();
      expect(await spanCount(orm, 'before-outage')).toBe(1);

      await pg.stop();
      const started = performance.now();
      for (let i = 0; i < 50; i++) tracer.startSpan(`during-outage-${i}`).end();
      // Ending spans is an in-memory append: no database round trip while it is down.
      expect(performance.now() - started).toBeLessThan(1000);
      await expect(store.flush()).resolves.toBeUndefined();
      expect(store.queued).toBe(50);
      expect(store.stats.failedWrites).toBeGreaterThan(0);

      pg = await startEmbeddedPostgres({ port, dataDir });
      const deadline = Date.now() + 15_000;
      while (store.queued > 0 && Date.now() < deadline) await store.flush();
      expect(store.queued).toBe(0);
      expect(await spanCount(orm, 'during-outage-')).toBe(50);
      expect(store.stats.dropped).toBe(0);
      expect(store.stats.rejected).toBe(0);
    } finally {
      await store.shutdown();
      await orm.close();
      await pg.stop();
    }
  });

  it('stores names, attributes, events and status messages carrying NUL bytes and lone surrogates, as U+FFFD', async () => {
    const orm = await createOrm(inject('databaseUrl'), 2);
    const store = new PostgresSpanStore({ flushIntervalMs: 60_000 });
    store.attach(orm);
    const tag = `nul-${randomUUID()}`;
    try {
      const span = tracerFor(store).startSpan(`${tag}\u0000x`, {
        attributes: { 'url.path': '/v1/runs/selftest\u0000x', list: ['a\u0000', '\uD800b'], 'k\u0000': 1 },
      });
      span.addEvent('event\u0000', { note: 'lone \uDC00 low' });
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'failed: \u0000 and \uD83D' });
      span.end();
      await store.flush();
      expect(store.queued).toBe(0);
      const [row] = (await orm.em
        .getConnection()
        .execute('select name, attributes, events, status_message from spans where name like ?', [
          `${tag}%`,
        ])) as Array<{
        name: string;
        attributes: Record<string, unknown>;
        events: Array<{ name: string; attributes: Record<string, unknown> }>;
        status_message: string;
      }>;
      expect(row!.name).toBe(`${tag}\uFFFDx`);
      expect(row!.attributes).toMatchObject({
        'url.path': '/v1/runs/selftest\uFFFDx',
        list: ['a\uFFFD', '\uFFFDb'],
        'k\uFFFD': 1,
      });
      expect(row!.events[0]).toMatchObject({ name: 'event\uFFFD', attributes: { note: 'lone \uFFFD low' } });
      expect(row!.status_message).toBe('failed: \uFFFD and \uFFFD');
      // A well-formed pair is kept as it is.
      expect(storableText('ok \uD83D\uDE00')).toBe('ok \uD83D\uDE00');
    } finally {
      await store.shutdown();
      await orm.close();
    }
  });

  it('drops a span the database refuses, counts it, logs once, and writes the spans around and after it', async () => {
    const orm = await createOrm(inject('databaseUrl'), 2);
    const warnings: string[] = [];
    const log = { warn: (_: unknown, msg: string) => void warnings.push(msg) } as unknown as Logger;
    const store = new PostgresSpanStore({ flushIntervalMs: 60_000, log });
    store.attach(orm);
    const tracer = tracerFor(store);
    const tag = `poison-${randomUUID()}`;
    // A row no sanitizing foresaw: `kind` does not fit its smallint column, so Postgres refuses the whole insert.
    const poisoned = (span: ReadableSpan) =>
      new Proxy(span, { get: (t, p) => (p === 'kind' ? 70_000 : Reflect.get(t, p)) });
    const side = new BasicTracerProvider({ resource: new Resource({ 'service.name': 'span-store-test' }) });
    const captured: ReadableSpan[] = [];
    side.addSpanProcessor({
      onStart() {},
      onEnd: (s) => void captured.push(s),
      forceFlush: async () => {},
      shutdown: async () => {},
    });
    try {
      for (let i = 0; i < 3; i++) tracer.startSpan(`${tag}-good-${i}`).end();
      side.getTracer('test').startSpan(`${tag}-bad-0`).end();
      store.onEnd(poisoned(captured[0]!));
      for (let i = 3; i < 6; i++) tracer.startSpan(`${tag}-good-${i}`).end();
      side.getTracer('test').startSpan(`${tag}-bad-1`).end();
      store.onEnd(poisoned(captured[1]!));
      await store.flush();
      expect(store.queued).toBe(0);
      expect(await spanCount(orm, `${tag}-good-`)).toBe(6);
      expect(await spanCount(orm, `${tag}-bad-`)).toBe(0);
      expect(store.stats).toMatchObject({ rejected: 2, dropped: 0, failedWrites: 0 });
      expect(warnings.filter((w) => w.includes('refused'))).toHaveLength(1);

      tracer.startSpan(`${tag}-after`).end();
      await store.flush();
      expect(await spanCount(orm, `${tag}-after`)).toBe(1);
    } finally {
      await store.shutdown();
      await orm.close();
    }
  });

  it('keeps spans, dropping none, while the database answers but refuses every span (the table is away)', async () => {
    const pg = await startEmbeddedPostgres({ port: 0 });
    const orm = await createOrm(pg.url, 2);
    await migrate(orm);
    const store = new PostgresSpanStore({ flushIntervalMs: 60_000 });
    store.attach(orm);
    const tracer = tracerFor(store);
    try {
      await orm.em.getConnection().execute('alter table spans rename to spans_away');
      for (let i = 0; i < 3; i++) tracer.startSpan(`refused-all-${i}`).end();
      await store.flush();
      expect(store.queued).toBe(3);
      expect(store.stats).toMatchObject({ rejected: 0, dropped: 0 });
      expect(store.stats.failedWrites).toBeGreaterThan(0);

      await orm.em.getConnection().execute('alter table spans_away rename to spans');
      await store.flush();
      expect(store.queued).toBe(0);
      expect(await spanCount(orm, 'refused-all-')).toBe(3);
    } finally {
      await store.shutdown();
      await orm.close();
      await pg.stop();
    }
  });

  it('drops and counts spans past its bound instead of growing without limit', async () => {
    const store = new PostgresSpanStore({ maxQueue: 5, flushIntervalMs: 60_000 });
    const tracer = tracerFor(store);
    for (let i = 0; i < 12; i++) tracer.startSpan(`s${i}`).end();
    expect(store.queued).toBe(5);
    expect(store.stats.dropped).toBe(7);
    await store.shutdown();
  });
});
