import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../lib/db/embedded';
import { createOrm } from '../lib/db/orm';
import { setupTestContext, startTestApi, testAppDeps, type TestContext } from '../test/harness';
import { createApp } from './app';
import { createLogger } from '../lib/log';

let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;

afterAll(() => ctx?.close());
beforeAll(async () => {
  ctx = await setupTestContext({ API_BODY_LIMIT: '2kb' });
  api = await startTestApi(ctx);
  await ctx.startWorker();
});

describe('health and readiness', () => {
  it('answers /healthz without auth', async () => {
    const res = await api.request('GET', '/healthz');
    expect(res).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('is ready when Temporal, the database and the schema are', async () => {
    const res = await api.request('GET', '/readyz');
    expect(res.status).toBe(200);
    expect(res.body?.checks).toEqual({ temporal: { ok: true }, database: { ok: true }, migrations: { ok: true } });
  });

  it('answers 503 naming the database when it is gone, and the schema when it is not migrated', async () => {
    // A database of its own that is never migrated, then stopped.
    const pg = await startEmbeddedPostgres({ port: 0 });
    const orm = await createOrm(pg.url, 1);
    const app = createApp(
      testAppDeps({ config: ctx.config, orm, temporal: ctx.client, log: createLogger('silent', 't') }),
    );
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as { port: number }).port;
    try {
      let res = await fetch(`http://127.0.0.1:${port}/readyz`);
      let body = (await res.json()) as {
        error: { code: string; message: string; details: Record<string, { ok: boolean }> };
      };
      expect(res.status).toBe(503);
      expect(body.error.code).toBe('not_ready');
      expect(body.error.message).toBe('Not ready: migrations.');
      expect(body.error.details.temporal?.ok).toBe(true);

      await pg.stop();
      res = await fetch(`http://127.0.0.1:${port}/readyz`);
      body = (await res.json()) as typeof body;
      expect(res.status).toBe(503);
      expect(body.error.message).toBe('Not ready: database, migrations.');
    } finally {
      server.close();
      await orm.close().catch(() => {});
    }
  });
});

describe('auth', () => {
  it('refuses a missing, malformed or unknown key with 401 and one error shape', async () => {
    for (const key of [undefined, 'nope', `bc_${'x'.repeat(43)}`]) {
      const res = await api.request('GET', '/v1/system/me', { key });
      expect(res.status).toBe(401);
      expect(res.body?.error.code).toBe('unauthorized');
      expect(typeof res.body?.error.message).toBe('string');
    }
  });

  it('resolves the tenant and role of a key', async () => {
    const res = await api.request('GET', '/v1/system/me', { key: ctx.tenant.key });
    expect(res.status).toBe(200);
    expect(res.body?.tenant.id).toBe(ctx.tenant.id);
    expect(res.body?.role).toBe('admin');
    expect(res.body?.key.prefix).toBe(ctx.tenant.key.slice(0, 10));
  });

  it('stores only a hash of the key', async () => {
    const rows = await ctx.orm.em
      .getConnection()
      .execute('select * from api_keys where tenant_id = ?', [ctx.tenant.id]);
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(ctx.tenant.key);
    expect(rows[0]!.key_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('forbids a viewer from starting runs', async () => {
    const viewer = await ctx.addTenant('viewer');
    const res = await api.request('POST', '/v1/system/self-test', { key: viewer.key, body: {} });
    expect(res.status).toBe(403);
    expect(res.body?.error.code).toBe('forbidden');
  });
});

describe('errors', () => {
  it('maps an unknown route to 404 route_not_found', async () => {
    const res = await api.request('GET', '/v1/nothing-here', { key: ctx.tenant.key });
    expect(res.status).toBe(404);
    expect(res.body?.error.code).toBe('route_not_found');
  });

  it('maps malformed JSON to 400 invalid_json', async () => {
    const res = await api.request('POST', '/v1/system/self-test', { key: ctx.tenant.key, rawBody: '{"probes": ' });
    expect(res.status).toBe(400);
    expect(res.body?.error.code).toBe('invalid_json');
  });

  it('maps a body over the limit to 413 and starts nothing', async () => {
    const before = await ctx.client.workflow.count(`TaskQueue = '${ctx.config.temporal.taskQueue}'`);
    const res = await api.request('POST', '/v1/system/self-test', {
      key: ctx.tenant.key,
      body: { note: 'x'.repeat(4000) },
    });
    expect(res.status).toBe(413);
    expect(res.body?.error.code).toBe('payload_too_large');
    expect(res.body?.error.message).toContain('2kb');
    expect((await ctx.client.workflow.count(`TaskQueue = '${ctx.config.temporal.taskQueue}'`)).count).toBe(
      before.count,
    );
  });

  it('maps schema violations to 400 validation_failed with the field path', async () => {
    const res = await api.request('POST', '/v1/system/self-test', {
      key: ctx.tenant.key,
      body: { probes: 0, extra: 1 },
    });
    expect(res.status).toBe(400);
    expect(res.body?.error.code).toBe('validation_failed');
    expect(res.body?.error.details.map((d: { path: string[] }) => d.path.join('.'))).toContain('probes');
  });
});

describe('self-test run', () => {
  it('runs the workflow through the worker and writes one probe per activity', async () => {
    const res = await api.request('POST', '/v1/system/self-test?wait=true', {
      key: ctx.tenant.key,
      body: { probes: 3 },
    });
    expect(res.status).toBe(200);
    expect(res.body?.result).toEqual({ probesWritten: 3, probesAlreadyPresent: 0, attempts: [1, 1, 1] });
    const rows = await ctx.orm.em
      .getConnection()
      .execute('select count(*)::int as n from system_probes where workflow_id = ?', [res.body?.workflowId]);
    expect(rows[0]!.n).toBe(3);
    const description = await ctx.client.workflow.getHandle(res.body?.workflowId).describe();
    expect(description.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value])).toEqual(
      expect.arrayContaining([
        ['TenantId', ctx.tenant.id],
        ['RunKind', 'system'],
      ]),
    );
  });

  it('treats a repeated start with the same id as the same run', async () => {
    const body = { probes: 1, id: 'same-id' };
    const a = await api.request('POST', '/v1/system/self-test?wait=true', { key: ctx.tenant.key, body });
    const b = await api.request('POST', '/v1/system/self-test?wait=true', { key: ctx.tenant.key, body });
    expect(a.body?.workflowId).toBe(b.body?.workflowId);
    const rows = await ctx.orm.em
      .getConnection()
      .execute('select count(*)::int as n from system_probes where workflow_id = ?', [a.body?.workflowId]);
    expect(rows[0]!.n).toBe(1);
  });

  it("answers 404 for another tenant's run exactly as for a missing one", async () => {
    const started = await api.request('POST', '/v1/system/self-test?wait=true', {
      key: ctx.tenant.key,
      body: { probes: 1 },
    });
    const own = await api.request('GET', `/v1/system/self-test/${started.body?.workflowId}`, { key: ctx.tenant.key });
    expect(own.status).toBe(200);
    expect(own.body?.status).toBe('completed');

    const other = await ctx.addTenant('admin');
    const foreign = await api.request('GET', `/v1/system/self-test/${started.body?.workflowId}`, { key: other.key });
    const missing = await api.request('GET', `/v1/system/self-test/selftest:${other.id}:nope`, { key: other.key });
    expect(foreign).toEqual(missing);
    expect(foreign.status).toBe(404);
  });
});
