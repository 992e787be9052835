import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { Resource } from '@opentelemetry/resources';
import { describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../db/embedded';
import { createOrm, migrate } from '../db/orm';
import { freePort } from '../process/ports';
import { PostgresSpanStore } from './span-store';

function tracerFor(store: PostgresSpanStore) {
  const provider = new BasicTracerProvider({ resource: new Resource({ 'service.name': 'span-store-test' }) });
  provider.addSpanProcessor(store);
  return provider.getTracer('test');
}

const spanCount = async (orm: Awaited<ReturnType<typeof createOrm>>, name: string) =>
  ((await orm.em.getConnection().execute('select count(*)::int as n from spans where name like ?', [`${name}%`])) as Array<{ n: number }>)[0]!.n;

describe('PostgresSpanStore', () => {
  it('keeps spans while the database is away and writes them when it is back, never throwing', async () => {
    const port = await freePort();
    const dataDir = await mkdtemp(join(tmpdir(), 'span-store-'));
    let pg = await startEmbeddedPostgres({ port, dataDir });
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
