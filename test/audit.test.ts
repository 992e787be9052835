import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, resolveApiKey } from '../api/auth/api-keys';
import { auditMiddleware } from '../api/audit/middleware';
import { pruneAuditLog, startAuditRetention } from '../api/audit/retention';
import { appendAuditEntry, recordKeyUse } from '../api/audit/service';
import type { AuditEntry } from '../lib/contracts/audit';
import { ApiKeyEntity, TenantEntity, type Role } from '../lib/db/entities';
import { createLogger } from '../lib/log';
import { HttpBackend } from '../lib/mcp-server/backend';
import { setupTestContext, startTestApi, testAppDeps, type TestContext } from './harness';
import { PASSWORD, sessionClient, uniqueEmail } from './session-client';
import { platformAdminKey as platformKeyOf } from './session-client';

/** The audit log: what the API keeps of writes, denials, sign-ins and key use; who may read it; what the database allows. */

let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let admin: string;
let adminKeyId: string;
let tenantB: { id: string; key: string };

afterAll(() => ctx?.close());
beforeAll(async () => {
  ctx = await setupTestContext({ TENANT_SECRETS_KEY: randomBytes(32).toString('base64') });
  api = await startTestApi(ctx);
  admin = ctx.tenant.key;
  adminKeyId = (await keyIdOf(admin))!;
  tenantB = await ctx.addTenant('admin');
});

const keyIdOf = async (key: string) => (await resolveApiKey(ctx.orm, key))?.keyId;

async function newKey(role: Role, tenantId = ctx.tenant.id, keyName = `k-${role}`) {
  const { key, keyId } = await createApiKey(ctx.orm, { tenantId, keyName, role });
  return { key, keyId };
}

/** A request with headers of its own (user agent, the MCP tool label); the body as JSON. */
async function send(method: string, path: string, key: string | null, body?: unknown, headers = {}) {
  const res = await fetch(api.base + path, {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert response fields one by one
  return { status: res.status, headers: res.headers, text, body: text ? (JSON.parse(text) as any) : null };
}

async function entries(query: Record<string, string> = {}, key = admin): Promise<AuditEntry[]> {
  const res = await send('GET', `/v1/audit?${new URLSearchParams({ pageSize: '200', ...query })}`, key);
  expect(res.status, res.text).toBe(200);
  return res.body.entries as AuditEntry[];
}

/** An admin key of the one platform tenant (test/session-client.ts makes it when no other file has). */
const platformAdminKey = async () => (await platformKeyOf(ctx.orm)).key;

describe('what the audit log keeps', () => {
  it('a write: actor, action, route pattern, targets (path and created row), outcome, address and trace', async () => {
    const created = await send(
      'POST',
      '/v1/keys',
      admin,
      { name: 'audited', role: 'viewer' },
      { 'user-agent': 'ua/1' },
    );
    expect(created.status).toBe(201);
    const newId = created.body.id as string;

    const [entry] = await entries({ action: 'keys.create', target: newId });
    expect(entry).toMatchObject({
      tenantId: ctx.tenant.id,
      actorType: 'key',
      actorId: adminKeyId,
      actorLabel: expect.stringMatching(/^test \(bc_.{7}…\)$/),
      via: 'key',
      action: 'keys.create',
      method: 'POST',
      route: '/v1/keys',
      targets: { key: newId },
      status: 201,
      outcome: 'success',
      userAgent: 'ua/1',
      mcpTool: null,
    });
    expect(entry!.ip).toMatch(/127\.0\.0\.1/);
    expect(entry!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(created.headers.get('traceparent')).toContain(entry!.traceId);

    expect((await send('POST', `/v1/keys/${newId}/revoke`, admin)).status).toBe(200);
    const [revoked] = await entries({ route: '/v1/keys/:id/revoke', target: newId });
    expect(revoked).toMatchObject({ action: 'keys.revoke', targets: { key: newId }, outcome: 'success', status: 200 });
  });

  it('a 403 is kept as denied, a 400 as a failure, with the error code only', async () => {
    const viewer = await newKey('viewer');
    expect((await send('POST', '/v1/keys', viewer.key, { name: 'x', role: 'viewer' })).status).toBe(403);
    const [denied] = await entries({ actor: viewer.keyId, action: 'keys.create' });
    expect(denied).toMatchObject({
      actorType: 'key',
      actorId: viewer.keyId,
      status: 403,
      outcome: 'denied',
      detail: { error: 'forbidden' },
    });
    // Reading the audit log is an admin's: a viewer's attempt is kept too.
    expect((await send('GET', '/v1/audit', viewer.key)).status).toBe(403);
    expect(await entries({ actor: viewer.keyId, action: 'audit.read' })).toMatchObject([
      { outcome: 'denied', status: 403, method: 'GET', route: '/v1/audit' },
    ]);

    const bad = await send('POST', '/v1/keys', admin, { name: 'x', role: 'owner' });
    expect(bad.status).toBe(400);
    const [failed] = await entries({ action: 'keys.create', outcome: 'failure' });
    expect(failed).toMatchObject({ status: 400, outcome: 'failure', detail: { error: 'validation_failed' } });
  });

  it('does not keep reads; keeps nothing of a request no tenant can be told of', async () => {
    const reader = await newKey('viewer');
    for (const path of ['/v1/system/me', '/v1/collections', '/v1/runs?pageSize=1']) {
      expect((await send('GET', path, reader.key)).status).toBeLessThan(500);
    }
    const kept = await entries({ actor: reader.keyId });
    expect(kept.map((e) => e.action)).toEqual(['key.use']);

    const before = await countRows(`tenant_id is null`);
    expect((await send('POST', '/v1/keys', null, { name: 'x', role: 'viewer' })).status).toBe(401);
    expect((await send('POST', '/v1/keys', 'bc_' + 'x'.repeat(43), { name: 'x', role: 'viewer' })).status).toBe(401);
    expect(await countRows(`tenant_id is null`)).toBe(before);
    expect(before).toBe(0);
  });

  it("records a key's use once per clock hour, with its address and user agent", async () => {
    const k = await newKey('viewer');
    await Promise.all([1, 2, 3].map(() => send('GET', '/v1/system/me', k.key, undefined, { 'user-agent': 'cli/2' })));
    await send('GET', '/v1/collections', k.key);
    const uses = await entries({ action: 'key.use', actor: k.keyId });
    expect(uses).toHaveLength(1);
    expect(uses[0]).toMatchObject({
      actorType: 'key',
      actorId: k.keyId,
      via: 'key',
      targets: { key: k.keyId },
      userAgent: 'cli/2',
      outcome: 'success',
    });
    expect(uses[0]!.ip).toMatch(/127\.0\.0\.1/);

    // The next hour records it again, once, however many processes see the key.
    const principal = (await resolveApiKey(ctx.orm, k.key))!;
    const later = new Date(Date.now() + 3_600_000);
    const request = {
      via: 'key',
      method: 'GET',
      route: '/v1/system/me',
      status: 200,
      ip: '10.0.0.1',
      userAgent: null,
      traceId: null,
      mcpTool: null,
    } as const;
    await Promise.all([
      recordKeyUse(ctx.orm, principal, request, later),
      recordKeyUse(ctx.orm, principal, request, later),
    ]);
    expect(await entries({ action: 'key.use', actor: k.keyId })).toHaveLength(2);
  });

  it('keeps the decision of a review or approval, never its free text', async () => {
    const note = `note-${randomUUID()}`;
    const id = randomUUID();
    await send('POST', `/v1/answers/${id}/review`, admin, { decision: 'reject', note });
    await send('POST', `/v1/agents/runs/${id}/approvals`, admin, { callId: 'call-1', approve: true, reason: note });
    await send('POST', `/v1/mcp/servers/${id}/tools/echo/approve`, admin, { definitionHash: 'a'.repeat(64) });
    await send('POST', `/v1/mcp/servers/${id}/tools/echo/disable`, admin);
    const kept = await entries({ target: id });
    const byAction = Object.fromEntries(kept.map((e) => [e.action, e]));
    expect(byAction['answers.review']).toMatchObject({ targets: { answer: id }, detail: { decision: 'reject' } });
    expect(byAction['agents.runs.approvals.create']).toMatchObject({
      targets: { run: id, toolCall: 'call-1' },
      detail: { decision: 'approve' },
    });
    expect(byAction['mcp.servers.tools.approve']).toMatchObject({
      targets: { server: id, tool: 'echo' },
      detail: { decision: 'approve', definitionHash: 'a'.repeat(64) },
    });
    expect(byAction['mcp.servers.tools.disable']).toMatchObject({ detail: { decision: 'disable' } });
    expect(JSON.stringify(kept)).not.toContain(note);
  });
});

describe('calls made through MCP', () => {
  it("carry the tool's name and via mcp; the /mcp tool call is kept, its handshakes are not", async () => {
    const collection = await send('POST', '/v1/collections', admin, { name: `mcp-${randomUUID().slice(0, 8)}` });
    expect(collection.status).toBe(201);
    const collectionId = collection.body.id as string;

    const client = new Client({ name: 'audit-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${api.base}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${admin}` } },
      }),
    );
    ctx.onClose(() => client.close());
    const res = (await client.callTool({
      name: 'ingest_url',
      arguments: { collection: collectionId, urls: ['https://example.com/audited'] },
    })) as CallToolResult;
    expect(res.isError, JSON.stringify(res.content)).not.toBe(true);

    const loopback = await entries({ route: '/v1/collections/:id/urls', target: collectionId });
    expect(loopback).toHaveLength(1);
    expect(loopback[0]).toMatchObject({
      action: 'collections.urls.create',
      via: 'mcp',
      mcpTool: 'ingest_url',
      actorId: adminKeyId,
      status: 202,
      targets: { collection: collectionId, run: expect.stringContaining(ctx.tenant.id) },
    });
    const [call] = await entries({ route: '/mcp', action: 'mcp.tools.call' });
    expect(call).toMatchObject({ via: 'mcp', mcpTool: 'ingest_url', detail: { rpcMethod: 'tools/call' }, status: 200 });
    expect(JSON.stringify(call)).not.toContain('example.com');
    expect(await entries({ action: 'mcp.*', outcome: 'success' })).toSatisfy((es: AuditEntry[]) =>
      es.every((e) => e.action === 'mcp.tools.call'),
    );
  });

  it('HttpBackend labels its calls; a header that is not a tool name is not recorded', async () => {
    const backend = new HttpBackend({ baseUrl: api.base, apiKey: admin });
    await expect(
      backend.search({ query: 'x', collectionIds: [randomUUID()], topK: 1, mode: 'text' }),
    ).rejects.toMatchObject({ status: 404 });
    const [searched] = await entries({ route: '/v1/search' });
    expect(searched).toMatchObject({ via: 'mcp', mcpTool: 'search_knowledge', outcome: 'failure', status: 404 });

    await send(
      'POST',
      '/v1/search',
      admin,
      { query: 'x', collectionIds: [randomUUID()] },
      { 'x-bc-mcp-tool': '../x y' },
    );
    const [spoofed] = await entries({ route: '/v1/search' });
    expect(spoofed!.id).not.toBe(searched!.id);
    expect(spoofed).toMatchObject({ via: 'key', mcpTool: null, actorId: adminKeyId });
  });
});

describe('reading the audit log', () => {
  it("is per tenant: B never sees A's entries, a foreign tenantId is not found; a platform admin reads B", async () => {
    const marker = (await send('POST', '/v1/keys', admin, { name: 'iso', role: 'viewer' })).body.id as string;
    const seenByB = await entries({}, tenantB.key);
    expect(seenByB.every((e) => e.tenantId === tenantB.id)).toBe(true);
    expect(JSON.stringify(seenByB)).not.toContain(marker);
    expect(await entries({ target: marker }, tenantB.key)).toEqual([]);

    const foreign = await send('GET', `/v1/audit?tenantId=${ctx.tenant.id}`, tenantB.key);
    const missing = await send('GET', `/v1/audit?tenantId=${randomUUID()}`, tenantB.key);
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual(missing.body);
    expect((await send('GET', `/v1/audit/export?tenantId=${ctx.tenant.id}`, tenantB.key)).status).toBe(404);

    const platform = await platformAdminKey();
    const read = await entries({ tenantId: ctx.tenant.id, target: marker }, platform);
    expect(read).toMatchObject([{ action: 'keys.create', tenantId: ctx.tenant.id }]);
    const ownRead = await entries({ tenantId: tenantB.id }, platform);
    expect(ownRead.every((e) => e.tenantId === tenantB.id)).toBe(true);
    // The platform's read is kept in the platform's own log, naming the tenant it read.
    const platformKeyId = await keyIdOf(platform);
    const [kept] = await entries({ action: 'audit.read', actor: platformKeyId!, target: ctx.tenant.id }, platform);
    expect(kept).toMatchObject({ outcome: 'success', targets: { tenant: ctx.tenant.id } });
  });

  it('filters by actor, type, action (exact or prefix), outcome, route, target and time; pages newest first', async () => {
    const operator = await newKey('operator');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await send('POST', `/v1/runs/filter-${i}-${randomUUID()}/cancel`, operator.key);
      expect(res.status).toBe(404);
      ids.push(res.headers.get('traceparent')!.split('-')[1]!);
    }
    const all = await entries({ actor: operator.keyId, action: 'runs.cancel' });
    expect(all).toHaveLength(5);
    expect(all.map((e) => e.traceId)).toEqual([...ids].reverse());
    expect(all.every((e) => e.outcome === 'failure' && e.route === '/v1/runs/:id/cancel')).toBe(true);
    expect(all.map((e) => Number(e.id))).toEqual([...all.map((e) => Number(e.id))].sort((a, b) => b - a));

    expect(await entries({ actor: operator.keyId, action: 'runs.*' })).toHaveLength(5);
    expect(await entries({ actor: operator.keyId, action: 'run.*' })).toHaveLength(0);
    expect(await entries({ actor: operator.keyId, outcome: 'success', action: 'runs.cancel' })).toHaveLength(0);
    expect(await entries({ actor: operator.keyId, actorType: 'user' })).toHaveLength(0);
    expect(await entries({ actor: all[0]!.actorLabel!, action: 'runs.cancel' })).toHaveLength(5);
    expect(await entries({ target: all[2]!.targets.run! })).toMatchObject([{ id: all[2]!.id }]);
    const at = (e: AuditEntry) => new Date(e.at).toISOString();
    expect(await entries({ actor: operator.keyId, action: 'runs.cancel', from: at(all[1]!), to: at(all[1]!) })).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: all[1]!.id })]),
    );
    expect(await entries({ actor: operator.keyId, from: new Date(Date.now() + 60_000).toISOString() })).toEqual([]);

    const seen: string[] = [];
    let token: string | null = null;
    do {
      const query: Record<string, string> = { actor: operator.keyId, action: 'runs.cancel', pageSize: '2' };
      if (token) query.pageToken = token;
      const res = await send('GET', `/v1/audit?${new URLSearchParams(query)}`, admin);
      expect(res.status).toBe(200);
      seen.push(...res.body.entries.map((e: AuditEntry) => e.id));
      token = res.body.nextPageToken;
    } while (token);
    expect(seen).toEqual(all.map((e) => e.id));

    // A token is bound to the tenant it was handed out for.
    const first = await send('GET', `/v1/audit?actor=${operator.keyId}&pageSize=1`, admin);
    const stolen = await send('GET', `/v1/audit?pageToken=${first.body.nextPageToken}`, tenantB.key);
    expect(stolen.status).toBe(400);
    expect(stolen.body.error.code).toBe('invalid_page_token');
  });

  it('answers bad filters with 400 in the standard error shape', async () => {
    for (const query of [
      'outcome=maybe',
      'actorType=robot',
      'from=yesterday',
      'action=keys.*.x',
      'pageSize=0',
      'pageToken=abc',
      'tenantId=nope',
      'unknown=1',
      'from=2026-12-02&to=2026-12-01',
    ]) {
      const res = await send('GET', `/v1/audit?${query}`, admin);
      expect(res.status, query).toBe(400);
      expect(res.body.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
    }
    expect((await send('GET', '/v1/audit/export?pageSize=2', admin)).status).toBe(400);
  });

  it('exports as JSON lines, the same entries as the list; the export and the read are audited', async () => {
    const list = await entries({ action: 'keys.*' });
    const res = await fetch(`${api.base}/v1/audit/export?action=keys.*`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="audit-.*\.jsonl"$/);
    const text = await res.text();
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n');
    const exported = lines.map((l) => JSON.parse(l) as AuditEntry);
    expect(exported.map((e) => e.id)).toEqual(list.map((e) => e.id));

    const [exportEntry] = await entries({ action: 'audit.export' });
    expect(exportEntry).toMatchObject({
      actorId: adminKeyId,
      outcome: 'success',
      detail: { filters: { action: 'keys.*' } },
    });
    expect((await entries({ action: 'audit.read', actor: adminKeyId })).length).toBeGreaterThan(0);
  });
});

describe('the database', () => {
  it('refuses to change or delete an entry; retention deletes only what is older than the window', async () => {
    const tx = async (sql: string) => {
      const em = ctx.orm.em.fork();
      return em.transactional((t) => t.getConnection().execute(sql, [], 'run', t.getTransactionContext()));
    };
    const [some] = await entries();
    await expect(tx(`update audit_log set action = 'x' where id = ${some!.id}`)).rejects.toThrow(/append-only/);
    await expect(tx(`delete from audit_log where id = ${some!.id}`)).rejects.toThrow(/append-only/);
    await expect(tx(`truncate audit_log`)).rejects.toThrow(/append-only/);
    expect(await countRows(`id = ${some!.id} and action = '${some!.action}'`)).toBe(1);

    const marker = randomUUID();
    const old = (days: number) => ({
      tenantId: ctx.tenant.id,
      at: new Date(Date.now() - days * 86_400_000),
      actorType: 'anonymous' as const,
      actorId: null,
      actorLabel: null,
      via: 'none' as const,
      action: `retention.test${days}`,
      method: 'POST',
      route: null,
      targetIds: { test: marker },
      status: 200,
      outcome: 'success' as const,
      ip: null,
      userAgent: null,
      traceId: null,
      mcpTool: null,
      detail: {},
    });
    await appendAuditEntry(ctx.orm, old(400));
    await appendAuditEntry(ctx.orm, old(40));
    await appendAuditEntry(ctx.orm, old(10));
    expect(await pruneAuditLog(ctx.orm, 0)).toBe(0);
    expect(await pruneAuditLog(ctx.orm, 30, { batchSize: 1 })).toBe(2);
    expect((await entries({ target: marker })).map((e) => e.action)).toEqual(['retention.test10']);

    // The API process's timer: prunes at once, then on its interval, and stops cleanly.
    await appendAuditEntry(ctx.orm, old(31));
    const retention = startAuditRetention(
      { orm: ctx.orm, log: createLogger('silent', 'retention'), retentionDays: 30 },
      50,
    );
    await expect.poll(async () => (await entries({ target: marker })).length).toBe(1);
    await retention.stop();
    expect((await entries({ action: 'keys.create' })).length).toBeGreaterThan(0);
  });

  it('a deleted tenant takes its log with it', async () => {
    const t = await ctx.addTenant('admin');
    expect((await send('POST', '/v1/keys', t.key, { name: 'x', role: 'viewer' })).status).toBe(201);
    expect(await countRows(`tenant_id = '${t.id}'`)).toBeGreaterThan(0);
    const em = ctx.orm.em.fork();
    await em.nativeDelete(ApiKeyEntity, { tenantId: t.id });
    await em.nativeDelete(TenantEntity, { id: t.id });
    expect(await countRows(`tenant_id = '${t.id}'`)).toBe(0);
  });
});

describe('when the entry cannot be written', () => {
  it('logs the failure without its SQL or values, and the request answers as it would have', async () => {
    const lines: string[] = [];
    const log = createLogger('info', 'audit-test', { write: (line: string) => void lines.push(line) });
    const app = new Koa();
    app.use(auditMiddleware(testAppDeps({ config: ctx.config, orm: ctx.orm, temporal: ctx.client, log })) as never);
    app.use((c) => {
      // A tenant that does not exist: the insert breaks its foreign key.
      c.state.audit = { tenantId: randomUUID(), actorLabel: 'label-in-the-values' };
      c.status = 201;
      c.body = { ok: true };
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    ctx.onClose(() => new Promise((r) => server.close(r)));
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/anything`, {
      method: 'POST',
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ ok: true });
    const logged = lines.join('');
    expect(logged).toContain('audit entry not written');
    expect(logged).toContain('23503'); // the foreign key violation, by its code
    expect(logged).not.toMatch(/insert into|label-in-the-values/i);
  });
});

describe('console users', () => {
  it("keeps sign-ins (success and failure, never the password) and a session's writes as the user", async () => {
    const email = uniqueEmail('audit');
    const added = await send('POST', '/v1/members', admin, { email, role: 'operator', password: PASSWORD });
    expect(added.status).toBe(201);
    const userId = added.body.userId as string;
    const c = sessionClient(api.base);
    const wrong = `wrong-${randomUUID()}`;
    expect((await c.login(email, wrong)).status).toBe(401);
    expect((await c.login(email, PASSWORD)).status).toBe(200);
    const logins = await entries({ action: 'session.login', actor: userId });
    expect(logins).toMatchObject([
      { outcome: 'success', actorType: 'user', via: 'none', tenantId: ctx.tenant.id, route: '/v1/auth/login' },
      { outcome: 'failure', actorType: 'user', status: 401 },
    ]);
    expect(JSON.stringify(logins)).not.toContain(wrong);
    expect(JSON.stringify(logins)).not.toContain(PASSWORD);

    const made = await c.request('POST', '/v1/collections', { body: { name: `session-${randomUUID().slice(0, 8)}` } });
    expect(made.status).toBe(201);
    const [entry] = await entries({ action: 'collections.create', target: made.body!.id as string });
    expect(entry).toMatchObject({ actorType: 'user', actorId: userId, actorLabel: email, via: 'session' });
  });
});

describe('secrets', () => {
  it('no entry holds a body, a key or a secret value', async () => {
    const value = `secret-value-${randomUUID()}`;
    expect((await send('PUT', '/v1/secrets/audit-secret', admin, { value })).status).toBe(201);
    const created = await send('POST', '/v1/keys', admin, { name: 'shown-once', role: 'viewer' });
    const rotated = await send('POST', `/v1/keys/${created.body.id}/rotate`, admin);
    const password = `pw-${randomUUID()}`;
    await send('POST', '/v1/auth/login', null, { email: 'nobody@example.com', password });
    const hashes = (await ctx.orm.em.fork().find(ApiKeyEntity, { tenantId: ctx.tenant.id })).map((k) => k.keyHash);

    const res = await fetch(`${api.base}/v1/audit/export`, { headers: { authorization: `Bearer ${admin}` } });
    const all = await res.text();
    expect(all).toContain('"action":"secrets.set"');
    expect(all).toContain('"targets":{"secret":"audit-secret"}');
    for (const secret of [value, admin, created.body.key, rotated.body?.key, password, ...hashes].filter(Boolean))
      expect(all).not.toContain(secret);
    expect(all).not.toMatch(/bc_[A-Za-z0-9_-]{20,}/);
  });
});

async function countRows(where: string): Promise<number> {
  const [row] = (await ctx.orm.em
    .getConnection()
    .execute(`select count(*)::int as n from audit_log where ${where}`)) as Array<{ n: number }>;
  return row!.n;
}
