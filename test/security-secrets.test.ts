/**
 * Tenants and the platform's secrets: a tenant's MCP server settings name only its own secrets (secret:<name>,
 * stored per tenant, encrypted under TENANT_SECRETS_KEY). env:, file: and vault: references are refused when given,
 * and a row that still holds one is refused when connecting, without reading the environment or naming the variable.
 * A local MCP server stands in for the tenant's URL and records every header it is sent.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpServerEntity, TenantSecretEntity } from '../lib/db/entities';
import { McpError } from '../lib/mcp/connect';
import { McpClientPool } from '../lib/mcp/pool';
import { createTenantSecrets, TenantSecrets } from '../lib/secrets/tenant';
import { tenantSecretsKeyId } from '../lib/secrets/tenant-key';
import { setupTestContext, startTestApi, type TestContext } from './harness';

const platformKey = randomBytes(32);
// Stand-ins for the platform's own secrets, in the environment of the process that runs the API and the pool.
const PLATFORM_VAR = 'BC_TEST_PLATFORM_SECRET';
const PLATFORM_VALUE = `platform-secret-${randomBytes(8).toString('hex')}`;
const UNSET_VAR = 'BC_TEST_NOT_SET_ANYWHERE';

let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let target: { url: string; requests: IncomingHttpHeaders[]; close(): Promise<void> };
let pool: McpClientPool;

/** A stateless streamable HTTP MCP server with one tool, recording the headers of every request. */
async function startHeaderRecordingMcpServer() {
  const requests: IncomingHttpHeaders[] = [];
  const http: Server = createServer((req, res) => {
    requests.push(req.headers);
    const server = new McpServer({ name: 'header-recorder', version: '1.0.0' });
    server.registerTool('ping', { description: 'Answers pong.', inputSchema: {} }, async () => ({
      content: [{ type: 'text', text: 'pong' }],
    }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => void transport.close().then(() => server.close()));
    void server
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        http.closeAllConnections();
        http.close(() => r());
      }),
  };
}

/** Every header value the tenant's URL received since `from`. */
const sentSince = (from: number) => target.requests.slice(from).flatMap((h) => Object.values(h).flat().map(String));

afterAll(async () => {
  delete process.env[PLATFORM_VAR];
  await pool?.close();
  await ctx?.close();
  await target?.close();
});
beforeAll(async () => {
  process.env[PLATFORM_VAR] = PLATFORM_VALUE;
  target = await startHeaderRecordingMcpServer();
  ctx = await setupTestContext({ FETCH_ALLOW_HOSTS: '127.0.0.1', TENANT_SECRETS_KEY: platformKey.toString('base64') });
  api = await startTestApi(ctx);
  // What a worker holds: the same configuration, so the same key.
  pool = new McpClientPool({
    config: ctx.config.mcp,
    secrets: createTenantSecrets({ orm: ctx.orm, config: ctx.config }),
  });
});

async function register(key: string, body: Record<string, unknown>) {
  const res = await api.request('POST', '/v1/mcp/servers', {
    key,
    body: { transport: 'http', url: target.url, discover: false, ...body },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body!.server.id as string;
}
const putSecret = (key: string, name: string, value: string) =>
  api.request('PUT', `/v1/secrets/${name}`, { key, body: { value } });
const serverRow = (id: string) => ctx.orm.em.fork().findOneOrFail(McpServerEntity, { id });
const uniqueName = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

describe('secret references a tenant gives', () => {
  it('refuses env:, file: and vault: references at PATCH and POST with secret_ref_not_allowed, storing nothing', async () => {
    const key = ctx.tenant.key;
    const id = await register(key, { name: uniqueName('leak') });
    const patch = await api.request('PATCH', `/v1/mcp/servers/${id}`, {
      key,
      body: { bearerSecret: 'env:DATABASE_URL', headers: { 'X-Leak': 'env:OPENAI_API_KEY' } },
    });
    expect(patch.status).toBe(400);
    expect(patch.body!.error.code).toBe('secret_ref_not_allowed');
    expect(JSON.stringify(patch.body)).not.toMatch(/DATABASE_URL|OPENAI_API_KEY/);
    const stored = await serverRow(id);
    expect(stored.bearerSecret ?? null).toBeNull();
    expect(stored.headers).toEqual({});

    const refused: Array<Record<string, unknown>> = [
      { bearerSecret: `env:${PLATFORM_VAR}` },
      { bearerSecret: 'file:db-password' },
      { bearerSecret: 'vault:kv/data/platform/llm#api_key' },
      { headers: { 'X-Leak': `env:${PLATFORM_VAR}` } },
      { headers: { 'X-Api-Key': 'file:openai_key' } },
      { headers: { Authorization: 'vault:kv/data/tenants/x/y#k' } },
    ];
    for (const settings of refused) {
      const post = await api.request('POST', '/v1/mcp/servers', {
        key,
        body: { name: uniqueName('p'), transport: 'http', url: target.url, discover: false, ...settings },
      });
      expect(post.status, JSON.stringify(settings)).toBe(400);
      expect(post.body!.error.code).toBe('secret_ref_not_allowed');
      expect(post.body!.error.message).not.toMatch(/BC_TEST|db-password|openai_key|platform\/llm|api_key/);
      const again = await api.request('PATCH', `/v1/mcp/servers/${id}`, { key, body: settings });
      expect(again.status, JSON.stringify(settings)).toBe(400);
      expect(again.body!.error.code).toBe('secret_ref_not_allowed');
    }
    const bad = await api.request('PATCH', `/v1/mcp/servers/${id}`, { key, body: { bearerSecret: 'secret:../x' } });
    expect(bad.status).toBe(400);
    expect(bad.body!.error.code).toBe('validation_failed');

    const from = target.requests.length;
    const discover = await api.request('POST', `/v1/mcp/servers/${id}/discover`, { key });
    expect(discover.status, JSON.stringify(discover.body)).toBe(200);
    expect(sentSince(from).join('\n')).not.toContain(PLATFORM_VALUE);
  });

  it('refuses a row that still names the platform environment, at discover and in the worker pool, reading and naming nothing', async () => {
    const em = ctx.orm.em.fork();
    const legacy = em.create(McpServerEntity, {
      tenantId: ctx.tenant.id,
      name: uniqueName('legacy'),
      transport: 'http',
      url: target.url,
      headers: { 'X-Leak': `env:${PLATFORM_VAR}`, 'X-Probe': `env:${UNSET_VAR}` },
      bearerSecret: `env:${PLATFORM_VAR}`,
    });
    await em.flush();
    const from = target.requests.length;
    const res = await api.request('POST', `/v1/mcp/servers/${legacy.id}/discover`, { key: ctx.tenant.key });
    expect(res.status).toBe(400);
    expect(res.body!.error.code).toBe('mcp_secret_unresolved');
    expect(res.body!.error.message).toMatch(/only tenant secret references/);
    expect(res.body!.error.message).not.toMatch(/BC_TEST|environment variable|unset/);
    expect((await serverRow(legacy.id)).lastError).not.toMatch(/BC_TEST/);

    const e = await pool.listTools(await serverRow(legacy.id)).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(McpError);
    expect((e as McpError).code).toBe('mcp_secret_unresolved');
    expect((e as McpError).message).not.toMatch(/BC_TEST/);
    expect(target.requests.length).toBe(from);
  });

  it('sends the tenant’s own secrets (secret:<name>) from the API’s discovery and from the worker pool', async () => {
    const key = ctx.tenant.key;
    const token = `tok-${randomBytes(12).toString('hex')}`;
    const team = `team-${randomBytes(6).toString('hex')}`;
    expect((await putSecret(key, 'mcp-token', token)).status).toBe(201);
    expect((await putSecret(key, 'team.id', team)).status).toBe(201);

    const from = target.requests.length;
    const res = await api.request('POST', '/v1/mcp/servers', {
      key,
      body: {
        name: uniqueName('mine'),
        transport: 'http',
        url: target.url,
        bearerSecret: 'secret:mcp-token',
        headers: { 'X-Team': 'secret:team.id', 'X-Plain': 'literal' },
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body!.discovery.error).toBeUndefined();
    expect(res.body!.tools.map((t: { name: string }) => t.name)).toEqual(['ping']);
    expect(res.body!.server.bearerSecret).toBe('secret:mcp-token');
    const sent = target.requests.slice(from);
    expect(sent.length).toBeGreaterThan(0);
    for (const h of sent)
      expect(h).toMatchObject({ authorization: `Bearer ${token}`, 'x-team': team, 'x-plain': 'literal' });

    const fromPool = target.requests.length;
    expect((await pool.listTools(await serverRow(res.body!.server.id as string))).map((t) => t.name)).toEqual(['ping']);
    for (const h of target.requests.slice(fromPool))
      expect(h).toMatchObject({ authorization: `Bearer ${token}`, 'x-team': team });
  });

  it('says a missing secret is missing, naming only the tenant’s own secret', async () => {
    const id = await register(ctx.tenant.key, { name: uniqueName('missing'), bearerSecret: 'secret:never-stored' });
    const res = await api.request('POST', `/v1/mcp/servers/${id}/discover`, { key: ctx.tenant.key });
    expect(res.status).toBe(400);
    expect(res.body!.error.code).toBe('mcp_secret_unresolved');
    expect(res.body!.error.message).toMatch(/bearerSecret.*no secret "never-stored"/);
    expect(res.body!.error.message).not.toMatch(/environment|env:|file:|vault:/);
  });

  it('keeps another tenant’s secret of the same name invisible', async () => {
    const other = await ctx.addTenant('admin');
    const theirs = `theirs-${randomBytes(12).toString('hex')}`;
    const name = uniqueName('shared');
    expect((await putSecret(other.key, name, theirs)).status).toBe(201);

    const mine = await ctx.addTenant('admin');
    const id = await register(mine.key, { name: 'uses-shared', bearerSecret: `secret:${name}` });
    const from = target.requests.length;
    const res = await api.request('POST', `/v1/mcp/servers/${id}/discover`, { key: mine.key });
    expect(res.status).toBe(400);
    expect(res.body!.error.message).toMatch(new RegExp(`no secret "${name}"`));
    expect(sentSince(from).join('\n')).not.toContain(theirs);
    expect((await api.request('GET', '/v1/secrets', { key: mine.key })).body!.secrets).toEqual([]);
    expect((await api.request('DELETE', `/v1/secrets/${name}`, { key: mine.key })).status).toBe(404);

    const own = `own-${randomBytes(12).toString('hex')}`;
    expect((await putSecret(mine.key, name, own)).status).toBe(201);
    const ok = await api.request('POST', `/v1/mcp/servers/${id}/discover`, { key: mine.key });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(sentSince(from)).toContain(`Bearer ${own}`);
    expect(sentSince(from).join('\n')).not.toContain(theirs);
    // Still theirs, untouched.
    expect(await createTenantSecrets({ orm: ctx.orm, config: ctx.config }).read(other.id, name)).toBe(theirs);
  });
});

describe('/v1/secrets', () => {
  it('lists names and times (never values), lets admins write, and validates names', async () => {
    const t = await ctx.addTenant('admin');
    const value = `v-${randomBytes(12).toString('hex')}`;
    const created = await putSecret(t.key, 'api-token', value);
    expect(created.status).toBe(201);
    expect(created.body!.secret).toEqual({
      name: 'api-token',
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const updated = await putSecret(t.key, 'api-token', `${value}-2`);
    expect(updated.status).toBe(200);
    expect(updated.body!.secret.createdAt).toBe(created.body!.secret.createdAt);
    expect(Date.parse(updated.body!.secret.updatedAt)).toBeGreaterThanOrEqual(
      Date.parse(created.body!.secret.updatedAt),
    );

    const list = await api.request('GET', '/v1/secrets', { key: t.key });
    expect(list.status).toBe(200);
    expect(list.body!.secrets).toEqual([
      { name: 'api-token', createdAt: created.body!.secret.createdAt, updatedAt: updated.body!.secret.updatedAt },
    ]);
    expect(JSON.stringify([created.body, updated.body, list.body])).not.toContain(value);

    const operator = await ctx.addTenant('operator');
    expect((await putSecret(operator.key, 'x-token', 'abcdefgh')).status).toBe(403);
    expect((await api.request('DELETE', '/v1/secrets/x-token', { key: operator.key })).status).toBe(403);
    expect((await api.request('GET', '/v1/secrets', { key: operator.key })).status).toBe(200);
    expect((await api.request('GET', '/v1/secrets')).status).toBe(401);

    for (const bad of ['.hidden', 'a%2Fb', '-dash', 'x'.repeat(101), 'sp%20ace', 'caf%C3%A9']) {
      const res = await putSecret(t.key, bad, 'abcdefgh');
      expect(res.status, bad).toBe(400);
      expect(res.body!.error.code).toBe('invalid_secret_name');
    }
    expect((await api.request('PUT', '/v1/secrets/empty', { key: t.key, body: { value: '' } })).status).toBe(400);
    expect(
      (await api.request('PUT', '/v1/secrets/extra', { key: t.key, body: { value: 'abcdefgh', note: 1 } })).status,
    ).toBe(400);
    expect(
      (await api.request('PUT', '/v1/secrets/big', { key: t.key, body: { value: 'x'.repeat(16 * 1024 + 1) } })).status,
    ).toBe(400);

    expect((await api.request('DELETE', '/v1/secrets/api-token', { key: t.key })).status).toBe(204);
    expect((await api.request('DELETE', '/v1/secrets/api-token', { key: t.key })).status).toBe(404);
    expect((await api.request('GET', '/v1/secrets', { key: t.key })).body!.secrets).toEqual([]);
  });

  it('stores values encrypted under TENANT_SECRETS_KEY, bound to their tenant and name', async () => {
    const t = await ctx.addTenant('admin');
    const value = `at-rest-${randomBytes(12).toString('hex')}`;
    expect((await putSecret(t.key, 'db-pass', value)).status).toBe(201);
    const rows = await ctx.orm.em
      .getConnection()
      .execute<Array<Record<string, unknown>>>(`select * from tenant_secrets where tenant_id = ?`, [t.id]);
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(value);
    expect(
      Buffer.concat([rows[0]!.nonce as Buffer, rows[0]!.ciphertext as Buffer, rows[0]!.auth_tag as Buffer]).includes(
        Buffer.from(value),
      ),
    ).toBe(false);
    expect(rows[0]!.key_id).toBe(tenantSecretsKeyId(platformKey));

    expect(await new TenantSecrets({ orm: ctx.orm, key: async () => platformKey }).read(t.id, 'db-pass')).toBe(value);
    await expect(
      new TenantSecrets({ orm: ctx.orm, key: async () => randomBytes(32) }).read(t.id, 'db-pass'),
    ).rejects.toThrow(/another TENANT_SECRETS_KEY/);

    // The ciphertext copied into another tenant's row does not open there.
    const other = await ctx.addTenant('admin');
    const em = ctx.orm.em.fork();
    const row = await em.findOneOrFail(TenantSecretEntity, { tenantId: t.id, name: 'db-pass' });
    em.create(TenantSecretEntity, {
      tenantId: other.id,
      name: 'db-pass',
      keyId: row.keyId,
      nonce: row.nonce,
      ciphertext: row.ciphertext,
      authTag: row.authTag,
    });
    await em.flush();
    await expect(createTenantSecrets({ orm: ctx.orm, config: ctx.config }).read(other.id, 'db-pass')).rejects.toThrow(
      /does not decrypt/,
    );
  });
});

describe('the stdio allow-list', () => {
  it('does not take an inherited property name for an allowed server', async () => {
    expect(ctx.config.mcp.stdioAllowList.size).toBe(0);
    for (const stdioName of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      const res = await api.request('POST', '/v1/mcp/servers', {
        key: ctx.tenant.key,
        body: { name: uniqueName('stdio'), transport: 'stdio', stdioName, discover: false },
      });
      expect(res.status, stdioName).toBe(400);
      expect(['mcp_stdio_not_allowed', 'validation_failed']).toContain(res.body!.error.code);
    }
    const constructor = await api.request('POST', '/v1/mcp/servers', {
      key: ctx.tenant.key,
      body: { name: uniqueName('stdio'), transport: 'stdio', stdioName: 'constructor' },
    });
    expect(constructor.body!.error.code).toBe('mcp_stdio_not_allowed');
    const servers = (await api.request('GET', '/v1/mcp/servers', { key: ctx.tenant.key })).body!.servers as Array<{
      transport: string;
    }>;
    expect(servers.filter((s) => s.transport === 'stdio')).toEqual([]);
  });
});
