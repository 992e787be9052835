import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowNotFoundError } from '@temporalio/client';
import { createApiKey } from '../api/auth/api-keys';
import { workflowIds } from '../lib/contracts';
import { DocumentEntity } from '../lib/db/entities';
import { setupTestContext, startTestApi, testConfig, type TestContext } from './harness';

/**
 * Per-tenant quotas through the HTTP API: each limit refused with 429, Retry-After and its code, and nothing started
 * or stored; a platform admin's overrides apply to the next request; everyone else is refused those routes. No worker
 * polls this file's task queue, so a started run stays running until the file terminates it.
 */

const DEFAULTS = {
  requestsPerMinute: 1000,
  runsPerMinute: 500,
  concurrentRuns: 50,
  maxDocuments: 5000,
  maxBytes: 1024 ** 3,
  dailyTokens: 0,
};

let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let platform: string;
const started: string[] = [];

afterAll(async () => {
  for (const id of started)
    await ctx.client.workflow
      .getHandle(id)
      .terminate('quotas test done')
      .catch(() => {});
  await ctx?.close();
});
beforeAll(async () => {
  ctx = await setupTestContext({
    QUOTA_REQUESTS_PER_MINUTE: String(DEFAULTS.requestsPerMinute),
    QUOTA_RUNS_PER_MINUTE: String(DEFAULTS.runsPerMinute),
    QUOTA_CONCURRENT_RUNS: String(DEFAULTS.concurrentRuns),
    QUOTA_MAX_DOCUMENTS: String(DEFAULTS.maxDocuments),
    QUOTA_MAX_BYTES: '1gb',
    QUOTA_DAILY_TOKENS: '0',
  });
  api = await startTestApi(ctx);
  platform = await platformAdminKey();
});

/** An admin key of the platform tenant: the shared database's, or this file's tenant made the platform one. */
async function platformAdminKey(): Promise<string> {
  const conn = ctx.orm.em.getConnection();
  await conn
    .execute(`update tenants set platform = true where id = ? and not exists (select 1 from tenants where platform)`, [
      ctx.tenant.id,
    ])
    .catch(() => {}); // another file made one at the same moment
  const [row] = (await conn.execute(`select id from tenants where platform`)) as Array<{ id: string }>;
  return (await createApiKey(ctx.orm, { tenantId: row!.id, keyName: 'quotas-test', role: 'admin' })).key;
}

/** A request with its headers. */
async function call(method: string, path: string, opts: { key: string; body?: unknown }) {
  const json = opts.body !== undefined && !(opts.body instanceof FormData);
  const res = await fetch(api.base + path, {
    method,
    headers: { authorization: `Bearer ${opts.key}`, ...(json ? { 'content-type': 'application/json' } : {}) },
    body: json ? JSON.stringify(opts.body) : (opts.body as FormData | undefined),
  });
  const text = await res.text();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert response fields one by one
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, any>) : null };
}

const setQuotas = (tenantId: string, body: Record<string, unknown>, key = platform) =>
  call('PUT', `/v1/tenants/${tenantId}/quotas`, { key, body });

const selfTest = (key: string, id = randomUUID()) =>
  call('POST', '/v1/system/self-test', { key, body: { id, probes: 1 } }).then((res) => {
    if (res.status === 202) started.push(res.body!.workflowId as string);
    return { ...res, id };
  });

async function runExists(workflowId: string): Promise<boolean> {
  try {
    await ctx.client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return false;
    throw e;
  }
}

/** A 429 of this code with a Retry-After of 1..max seconds, in the one error shape. */
function expectRefused(res: Awaited<ReturnType<typeof call>>, code: string, maxRetryAfter: number) {
  expect(res.status, JSON.stringify(res.body)).toBe(429);
  expect(res.body!.error).toMatchObject({ code, message: expect.any(String), details: expect.any(Object) });
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(maxRetryAfter);
  expect(res.body!.error.details.retryAfterSeconds).toBe(retryAfter);
}

/** Run-rate windows are whole minutes: a test that counts starts begins well inside one. */
async function freshMinute() {
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 45_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 200));
}

describe('quotas', () => {
  it('keeps other test files unthrottled: the harness turns request, run-rate and concurrency limits off', () => {
    expect(testConfig().quotas).toMatchObject({ requestsPerMinute: 0, runsPerMinute: 0, concurrentRuns: 0 });
  });

  it('shows the defaults and the usage of the caller’s tenant to any role', async () => {
    const t = await ctx.addTenant('viewer');
    const res = await call('GET', '/v1/quotas', { key: t.key });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      tenantId: t.id,
      limits: DEFAULTS,
      defaults: DEFAULTS,
      usage: { requestsThisMinute: 1, runsThisMinute: 0, documents: 0, bytes: 0, tokensToday: 0 },
    });
    expect(res.body!.usage.running).toMatchObject({ system: 0, answer: 0, ingest: 0, llm: 0 });
    expect(res.headers.get('ratelimit-limit')).toBe(String(DEFAULTS.requestsPerMinute));
    expect(res.headers.get('ratelimit-remaining')).toBe(String(DEFAULTS.requestsPerMinute - 1));
  });

  it('refuses requests past a key’s requests per minute (rate_limited); each key counts for itself', async () => {
    const t = await ctx.addTenant('admin');
    expect((await setQuotas(t.id, { requestsPerMinute: 3 })).status).toBe(200);
    const other = (await createApiKey(ctx.orm, { tenantId: t.id, keyName: 'second', role: 'viewer' })).key;
    const remaining: Array<string | null> = [];
    for (let i = 0; i < 3; i++) {
      const res = await call('GET', '/v1/system/me', { key: t.key });
      expect(res.status).toBe(200);
      remaining.push(res.headers.get('ratelimit-remaining'));
    }
    expect(remaining).toEqual(['2', '1', '0']);
    const refused = await call('GET', '/v1/system/me', { key: t.key });
    expectRefused(refused, 'rate_limited', 60);
    expect(refused.headers.get('ratelimit-limit')).toBe('3');
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    expect(refused.body!.error.details).toMatchObject({ quota: 'requestsPerMinute', limit: 3 });
    // A refused start is not started either.
    const start = await selfTest(t.key);
    expectRefused(start, 'rate_limited', 60);
    expect(await runExists(workflowIds.selfTest(t.id, start.id))).toBe(false);
    // Another key of the tenant has its own count.
    expect((await call('GET', '/v1/system/me', { key: other })).status).toBe(200);
    // Back to the default (null), the next request passes.
    expect((await setQuotas(t.id, { requestsPerMinute: null })).body!.limits.requestsPerMinute).toBe(
      DEFAULTS.requestsPerMinute,
    );
    expect((await call('GET', '/v1/system/me', { key: t.key })).status).toBe(200);
  });

  it('refuses run starts past the tenant’s runs per minute (run_rate_limited) and starts nothing', async () => {
    await freshMinute();
    const t = await ctx.addTenant('admin');
    expect((await setQuotas(t.id, { runsPerMinute: 2 })).status).toBe(200);
    const first = await selfTest(t.key);
    expect(first.status).toBe(202);
    expect((await selfTest(t.key)).status).toBe(202);
    const third = await selfTest(t.key);
    expectRefused(third, 'run_rate_limited', 60);
    expect(third.body!.error.details).toMatchObject({ quota: 'runsPerMinute', limit: 2, used: 2 });
    expect(await runExists(workflowIds.selfTest(t.id, third.id))).toBe(false);
    // The same client run id again is the same run, not a new start: answered, not refused.
    const again = await selfTest(t.key, first.id);
    expect(again.status).toBe(202);
    expect(again.body!.workflowId).toBe(first.body!.workflowId);
    const usage = await call('GET', '/v1/quotas', { key: t.key });
    expect(usage.body).toMatchObject({ limits: { runsPerMinute: 2 }, usage: { runsThisMinute: 2 } });
    expect(usage.body!.usage.running.system).toBe(2);
  });

  it('refuses a run past the running runs of its kind (concurrency_limited); a burst cannot overshoot', async () => {
    const t = await ctx.addTenant('admin');
    expect((await setQuotas(t.id, { concurrentRuns: 3 })).status).toBe(200);
    // Ten starts at once: the check and the start are one step per tenant and kind, so exactly three pass.
    const burst = await Promise.all(Array.from({ length: 10 }, () => selfTest(t.key)));
    const accepted = burst.filter((r) => r.status === 202);
    const refused = burst.filter((r) => r.status !== 202);
    expect(accepted).toHaveLength(3);
    for (const r of refused) {
      expectRefused(r, 'concurrency_limited', 60);
      expect(r.body!.error.details).toMatchObject({ quota: 'concurrentRuns', limit: 3, kind: 'system' });
      expect(await runExists(workflowIds.selfTest(t.id, r.id))).toBe(false);
    }
    // Visibility agrees once it caught up.
    await expect
      .poll(async () => (await call('GET', '/v1/quotas', { key: t.key })).body!.usage.running.system, {
        timeout: 10_000,
      })
      .toBe(3);
    // An idempotent start of a running id is the run, not a refusal.
    const again = await selfTest(t.key, accepted[0]!.id);
    expect(again.status).toBe(202);
    // Another kind has its own count: a model call is refused for tokens only if a token limit is set.
    const llm = await call('POST', '/v1/llm/completions', {
      key: t.key,
      body: { messages: [{ role: 'user', content: 'hi' }] },
    });
    expect(llm.status).toBe(202);
    started.push(llm.body!.workflowId as string);
    // One run ends: the next start passes.
    await ctx.client.workflow.getHandle(accepted[0]!.body!.workflowId as string).terminate('make room');
    expect((await selfTest(t.key)).status).toBe(202);
  });

  it('refuses a model run past the tenant’s daily tokens (token_quota_exceeded) until midnight UTC', async () => {
    const t = await ctx.addTenant('admin');
    expect((await setQuotas(t.id, { dailyTokens: 100 })).status).toBe(200);
    await ctx.orm.em.getConnection().execute(
      `insert into llm_calls (id, tenant_id, purpose, provider, model, input_tokens, output_tokens, latency_ms, outcome)
       values (?, ?, 'answer', 'local', 'local-extractive', 70, 40, 5, 'ok')`,
      [randomUUID(), t.id],
    );
    const id = randomUUID();
    const res = await call('POST', '/v1/llm/completions', {
      key: t.key,
      body: { id, messages: [{ role: 'user', content: 'hi' }] },
    });
    expectRefused(res, 'token_quota_exceeded', 86_400);
    expect(res.body!.error.details).toMatchObject({ quota: 'dailyTokens', limit: 100, used: 110 });
    expect(await runExists(workflowIds.completion(t.id, id))).toBe(false);
    expect((await call('GET', '/v1/quotas', { key: t.key })).body!.usage.tokensToday).toBe(110);
    // A self-test calls no model: not held back by tokens.
    expect((await selfTest(t.key)).status).toBe(202);
    // Raised by the platform admin: the next start passes.
    await setQuotas(t.id, { dailyTokens: 1000 });
    const ok = await call('POST', '/v1/llm/completions', {
      key: t.key,
      body: { id, messages: [{ role: 'user', content: 'hi' }] },
    });
    expect(ok.status).toBe(202);
    started.push(ok.body!.workflowId as string);
  });

  it('refuses a follow-up past a quota before storing its message: the conversation is unchanged', async () => {
    const t = await ctx.addTenant('admin');
    const collection = await call('POST', '/v1/collections', { key: t.key, body: { name: 'follow-up quota' } });
    expect(collection.status).toBe(201);
    const conversation = await call('POST', '/v1/conversations', {
      key: t.key,
      body: { collectionIds: [collection.body!.id] },
    });
    expect(conversation.status).toBe(201);
    expect((await setQuotas(t.id, { dailyTokens: 10 })).status).toBe(200);
    await ctx.orm.em.getConnection().execute(
      `insert into llm_calls (id, tenant_id, purpose, provider, model, input_tokens, output_tokens, latency_ms, outcome)
       values (?, ?, 'answer', 'local', 'local-extractive', 20, 0, 5, 'ok')`,
      [randomUUID(), t.id],
    );
    const path = `/v1/conversations/${conversation.body!.id}`;
    const refused = await call('POST', `${path}/messages`, { key: t.key, body: { content: 'And the default?' } });
    expectRefused(refused, 'token_quota_exceeded', 86_400);
    expect((await call('GET', path, { key: t.key })).body!.messages).toEqual([]);
  });

  it('refuses documents and bytes past the tenant’s storage (storage_quota_exceeded) before storing them', async () => {
    const t = await ctx.addTenant('admin');
    const created = await call('POST', '/v1/collections', { key: t.key, body: { name: 'kb' } });
    expect(created.status).toBe(201);
    const collectionId = created.body!.id as string;
    const documents = () => ctx.orm.em.fork().count(DocumentEntity, { tenantId: t.id });

    expect((await setQuotas(t.id, { maxDocuments: 2 })).status).toBe(200);
    const urls = ['https://example.com/a', 'https://example.com/b', 'https://example.com/c'];
    const tooMany = await call('POST', `/v1/collections/${collectionId}/urls`, { key: t.key, body: { urls } });
    expectRefused(tooMany, 'storage_quota_exceeded', 3600);
    expect(Number(tooMany.headers.get('retry-after'))).toBe(3600);
    expect(tooMany.body!.error.details).toMatchObject({ quota: 'maxDocuments', limit: 2, used: 0 });
    expect(await documents()).toBe(0);

    expect((await setQuotas(t.id, { maxDocuments: null, maxBytes: 1000 })).status).toBe(200);
    const form = new FormData();
    form.append('file', new Blob(['x'.repeat(2000)]), 'big.md');
    const tooBig = await call('POST', `/v1/collections/${collectionId}/documents`, { key: t.key, body: form });
    expectRefused(tooBig, 'storage_quota_exceeded', 3600);
    expect(tooBig.body!.error.details).toMatchObject({ quota: 'maxBytes', limit: 1000 });
    expect(await documents()).toBe(0);

    // Within the limits the upload is accepted (its ingest run waits for a worker).
    const small = new FormData();
    small.append('file', new Blob(['# Note\n\nsmall']), 'small.md');
    const ok = await call('POST', `/v1/collections/${collectionId}/documents`, { key: t.key, body: small });
    expect(ok.status, JSON.stringify(ok.body)).toBe(202);
    started.push(ok.body!.workflowId as string);
    expect(await documents()).toBe(1);
    expect((await call('GET', '/v1/quotas', { key: t.key })).body!.usage).toMatchObject({ documents: 1, bytes: 13 });

    // The ingest run is still running (no worker): with one ingest at a time, more documents wait for no run.
    expect((await setQuotas(t.id, { concurrentRuns: 1 })).status).toBe(200);
    const more = new FormData();
    more.append('file', new Blob(['# More\n\ntext']), 'more.md');
    const queued = await call('POST', `/v1/collections/${collectionId}/documents`, { key: t.key, body: more });
    expectRefused(queued, 'concurrency_limited', 60);
    expect(queued.body!.error.details).toMatchObject({ kind: 'ingest', limit: 1 });
    expect(await documents()).toBe(1);
  });

  it('lets only a platform admin read and set a tenant’s quotas; an unknown tenant is 404', async () => {
    const t = await ctx.addTenant('admin');
    const viewer = await ctx.addTenant('viewer');
    // A tenant admin is not a platform admin: refused, for its own tenant, another's or a missing one alike.
    for (const id of [t.id, ctx.tenant.id, randomUUID()]) {
      const put = await setQuotas(id, { runsPerMinute: 1 }, t.key);
      expect(put.status).toBe(403);
      expect(put.body!.error.code).toBe('platform_admin_required');
      expect((await call('GET', `/v1/tenants/${id}/quotas`, { key: t.key })).status).toBe(403);
    }
    const byViewer = await setQuotas(viewer.id, { runsPerMinute: 1 }, viewer.key);
    expect(byViewer.status).toBe(403);
    expect(byViewer.body!.error.code).toBe('forbidden');
    // The platform admin: unknown or malformed ids are 404.
    for (const id of [randomUUID(), 'not-a-tenant']) {
      expect((await setQuotas(id, { runsPerMinute: 1 })).status).toBe(404);
      const get = await call('GET', `/v1/tenants/${id}/quotas`, { key: platform });
      expect(get.status).toBe(404);
      expect(get.body!.error.code).toBe('not_found');
    }
    // Partial, strict, validated.
    expect((await setQuotas(t.id, { runsPerMinute: -1 })).status).toBe(400);
    expect((await setQuotas(t.id, { runsPerMinute: 1.5 })).status).toBe(400);
    expect((await setQuotas(t.id, { unknownLimit: 1 })).status).toBe(400);
    const set = await setQuotas(t.id, { runsPerMinute: 7, maxDocuments: 9 });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({
      tenantId: t.id,
      overrides: { runsPerMinute: 7, maxDocuments: 9 },
      limits: { ...DEFAULTS, runsPerMinute: 7, maxDocuments: 9 },
      defaults: DEFAULTS,
      updatedBy: expect.stringContaining('quotas-test'),
    });
    const patched = await setQuotas(t.id, { maxDocuments: null, dailyTokens: 0 });
    expect(patched.body!.overrides).toEqual({ runsPerMinute: 7, dailyTokens: 0 });
    expect((await call('GET', `/v1/tenants/${t.id}/quotas`, { key: platform })).body).toMatchObject({
      overrides: { runsPerMinute: 7, dailyTokens: 0 },
      limits: { runsPerMinute: 7, maxDocuments: DEFAULTS.maxDocuments },
    });
    // The tenant sees its own effective limits at once.
    expect((await call('GET', '/v1/quotas', { key: t.key })).body!.limits).toMatchObject({ runsPerMinute: 7 });
  });
});
