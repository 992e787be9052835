import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, resolveApiKey, type Principal } from '../api/auth/api-keys';
import { KeysService } from '../api/keys/service';
import { ApiKeyEntity, type Role } from '../lib/db/entities';
import { AppError } from '../lib/errors';
import { setupTestContext, startTestApi, type TestContext } from './harness';

/** The API keys of a tenant through the HTTP API and the CLI: create, list, use, revoke, rotate, expire. */

let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let admin: string;
/** Every response body of this file, to prove no key hash ever leaves the API. */
const bodies: string[] = [];

afterAll(() => ctx?.close());
beforeAll(async () => {
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
  admin = ctx.tenant.key;
});

async function request(method: string, path: string, opts: { key?: string; body?: unknown } = {}) {
  const res = await api.request(method, path, opts);
  bodies.push(JSON.stringify(res.body));
  return res;
}

const create = (key: string, body: Record<string, unknown>) => request('POST', '/v1/keys', { key, body });
const me = (key: string) => request('GET', '/v1/system/me', { key });
const listed = async (key: string) => (await request('GET', '/v1/keys', { key })).body!.keys as Array<{ id: string }>;

/** Writes a key's expiry directly, as time passing would. */
const expire = (id: string, at = new Date(Date.now() - 1000)) =>
  ctx.orm.em.fork().nativeUpdate(ApiKeyEntity, { id }, { expiresAt: at });

const INVALID = { error: { code: 'unauthorized', message: 'The API key is invalid or revoked.' } };

describe('API keys', () => {
  it('creates a key shown once, lists it without the key, and the key works with its role', async () => {
    const res = await create(admin, { name: 'reader', role: 'viewer' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'reader',
      role: 'viewer',
      status: 'active',
      expiresAt: null,
      revokedAt: null,
      lastUsedAt: null,
    });
    const { key, id, prefix } = res.body!;
    expect(key).toMatch(/^bc_[A-Za-z0-9_-]{43}$/);
    expect(prefix).toBe(key.slice(0, 10));
    expect(Object.keys(res.body!).sort()).toEqual(
      [
        'key',
        'id',
        'name',
        'role',
        'prefix',
        'status',
        'createdAt',
        'lastUsedAt',
        'expiresAt',
        'revokedAt',
        'createdByKeyId',
        'createdByUserId',
      ].sort(),
    );
    const mine = (await me(admin)).body!;
    expect(res.body!.createdByKeyId).toBe(mine.key.id);

    expect((await me(key)).body).toMatchObject({ role: 'viewer', key: { id, name: 'reader' } });
    const list = await request('GET', '/v1/keys', { key: admin });
    expect(list.status).toBe(200);
    const row = list.body!.keys.find((k: { id: string }) => k.id === id);
    expect(row).toMatchObject({ id, name: 'reader', role: 'viewer', prefix, status: 'active' });
    expect(row.lastUsedAt).not.toBeNull();
    expect(row).not.toHaveProperty('key');
    expect(JSON.stringify(list.body)).not.toContain(key);

    // The new key can do what a viewer does, and no more: keys are an admin's.
    expect((await request('GET', '/v1/keys', { key })).status).toBe(403);
    expect((await create(key, { name: 'x', role: 'viewer' })).status).toBe(403);
  });

  it('is admin only, listing included', async () => {
    for (const role of ['viewer', 'operator'] as const) {
      const { key } = await createApiKey(ctx.orm, { tenantId: ctx.tenant.id, keyName: role, role });
      const someId = (await listed(admin))[0]!.id;
      for (const [method, path] of [
        ['GET', '/v1/keys'],
        ['POST', '/v1/keys'],
        ['POST', `/v1/keys/${someId}/revoke`],
        ['POST', `/v1/keys/${someId}/rotate`],
      ] as const) {
        const res = await request(method, path, {
          key,
          body: method === 'POST' ? { name: 'x', role: 'viewer' } : undefined,
        });
        expect(res.status, `${role} ${method} ${path}`).toBe(403);
        expect(res.body!.error.code).toBe('forbidden');
      }
    }
  });

  it('validates the body: a known role, one expiry, in the future', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ name: 'x' }, 'validation_failed'],
      [{ name: 'x', role: 'owner' }, 'validation_failed'],
      [{ name: '', role: 'viewer' }, 'validation_failed'],
      [{ name: 'x', role: 'viewer', tenantId: randomUUID() }, 'validation_failed'],
      [{ name: 'x', role: 'viewer', expiresInDays: 0 }, 'validation_failed'],
      [{ name: 'x', role: 'viewer', expiresInDays: 1.5 }, 'validation_failed'],
      [{ name: 'x', role: 'viewer', expiresAt: 'tomorrow' }, 'validation_failed'],
      [
        { name: 'x', role: 'viewer', expiresInDays: 1, expiresAt: new Date(Date.now() + 3_600_000).toISOString() },
        'validation_failed',
      ],
      [{ name: 'x', role: 'viewer', expiresAt: new Date(Date.now() - 60_000).toISOString() }, 'expiry_not_in_future'],
    ];
    const before = (await listed(admin)).length;
    for (const [body, code] of cases) {
      const res = await create(admin, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body!.error.code, JSON.stringify(body)).toBe(code);
    }
    expect((await listed(admin)).length).toBe(before);
  });

  it('sets an expiry from expiresAt or expiresInDays', async () => {
    const at = new Date(Date.now() + 3_600_000);
    const exact = await create(admin, { name: 'hour', role: 'viewer', expiresAt: at.toISOString() });
    expect(exact.status).toBe(201);
    expect(exact.body!.expiresAt).toBe(at.toISOString());
    const days = await create(admin, { name: 'week', role: 'operator', expiresInDays: 7 });
    expect(days.status).toBe(201);
    const ms = new Date(days.body!.expiresAt).getTime() - Date.now();
    expect(ms).toBeGreaterThan(7 * 86_400_000 - 60_000);
    expect(ms).toBeLessThanOrEqual(7 * 86_400_000);
    expect((await me(days.body!.key)).body).toMatchObject({ role: 'operator' });
  });

  it('refuses a role above the creator’s with 403 role_too_high', async () => {
    const keys = new KeysService(ctx.orm);
    const creatorKeyId = (await me(admin)).body!.key.id as string;
    const as = (role: Role): Principal => ({
      tenantId: ctx.tenant.id,
      tenantName: 'test',
      role,
      platformAdmin: false,
      via: 'key',
      keyId: creatorKeyId,
      keyName: role,
      keyPrefix: 'bc_xxxxxxx',
      userId: null,
      userEmail: null,
      sessionId: null,
    });
    const before = (await listed(admin)).length;
    for (const [creator, role] of [
      ['operator', 'admin'],
      ['viewer', 'operator'],
      ['viewer', 'admin'],
    ] as const) {
      const err = await keys.create(as(creator), { name: 'up', role, expiresAt: null }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ code: 'role_too_high', status: 403 });
    }
    expect((await listed(admin)).length).toBe(before);
    // At or below the creator's role is fine.
    await expect(keys.create(as('operator'), { name: 'down', role: 'viewer', expiresAt: null })).resolves.toMatchObject(
      { role: 'viewer' },
    );
  });

  it('revokes a key (idempotently); the revoked key is refused like an unknown one', async () => {
    const { key, id } = (await create(admin, { name: 'short-lived', role: 'operator' })).body!;
    expect((await me(key)).status).toBe(200);
    const revoked = await request('POST', `/v1/keys/${id}/revoke`, { key: admin });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id, status: 'revoked' });
    expect(revoked.body!.revokedAt).not.toBeNull();
    expect(revoked.body).not.toHaveProperty('key');

    const refused = await me(key);
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual(INVALID);
    const unknown = await me(`bc_${'A'.repeat(43)}`);
    expect(unknown).toEqual(refused);

    const again = await request('POST', `/v1/keys/${id}/revoke`, { key: admin });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(revoked.body);
    const row = (await request('GET', '/v1/keys', { key: admin })).body!.keys.find((k: { id: string }) => k.id === id);
    expect(row).toMatchObject({ status: 'revoked', revokedAt: revoked.body!.revokedAt });
  });

  it('rotates a key: a new key of the same name, role and expiry, the old one revoked', async () => {
    const old = (await create(admin, { name: 'deployer', role: 'operator', expiresInDays: 30 })).body!;
    const rotated = await request('POST', `/v1/keys/${old.id}/rotate`, { key: admin });
    expect(rotated.status).toBe(201);
    expect(rotated.body).toMatchObject({
      name: 'deployer',
      role: 'operator',
      expiresAt: old.expiresAt,
      status: 'active',
      replacedKeyId: old.id,
    });
    expect(rotated.body!.id).not.toBe(old.id);
    expect(rotated.body!.key).not.toBe(old.key);
    expect((await me(old.key)).body).toEqual(INVALID);
    expect((await me(rotated.body!.key)).body).toMatchObject({ role: 'operator', key: { id: rotated.body!.id } });
    const rows = await request('GET', '/v1/keys', { key: admin });
    expect(rows.body!.keys.find((k: { id: string }) => k.id === old.id)).toMatchObject({ status: 'revoked' });

    const again = await request('POST', `/v1/keys/${old.id}/rotate`, { key: admin });
    expect(again.status).toBe(409);
    expect(again.body!.error.code).toBe('key_revoked');
  });

  it('refuses an expired key like a revoked one, lists it as expired, and will not rotate it', async () => {
    const { key, id } = (await create(admin, { name: 'expiring', role: 'viewer', expiresInDays: 1 })).body!;
    expect((await me(key)).status).toBe(200);
    await expire(id);
    expect(await resolveApiKey(ctx.orm, key)).toBeNull();
    const refused = await me(key);
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual(INVALID);
    // The MCP endpoint authenticates the same way.
    const mcp = await api.request('POST', '/mcp', { key, body: { jsonrpc: '2.0', id: 1, method: 'ping' } });
    expect(mcp.status).toBe(401);

    const row = (await request('GET', '/v1/keys', { key: admin })).body!.keys.find((k: { id: string }) => k.id === id);
    expect(row).toMatchObject({ status: 'expired', revokedAt: null });
    const rotate = await request('POST', `/v1/keys/${id}/rotate`, { key: admin });
    expect(rotate.status).toBe(409);
    expect(rotate.body!.error.code).toBe('key_expired');
    // Revoking it is still allowed (and final).
    expect((await request('POST', `/v1/keys/${id}/revoke`, { key: admin })).body).toMatchObject({ status: 'revoked' });
  });

  it('answers another tenant’s key id, and an id that is not a UUID, exactly like a missing one', async () => {
    const b = await ctx.addTenant('admin');
    const bKey = (await create(b.key, { name: 'b-reader', role: 'viewer' })).body!;
    const aIds = (await listed(admin)).map((k) => k.id);
    expect(aIds).not.toContain(bKey.id);
    const bIds = (await listed(b.key)).map((k) => k.id);
    for (const id of aIds) expect(bIds).not.toContain(id);

    for (const action of ['revoke', 'rotate']) {
      const missing = await request('POST', `/v1/keys/${randomUUID()}/${action}`, { key: admin });
      expect(missing.status).toBe(404);
      expect(missing.body).toEqual({ error: { code: 'not_found', message: 'API key was not found.' } });
      expect(await request('POST', `/v1/keys/${bKey.id}/${action}`, { key: admin })).toEqual(missing);
      expect(await request('POST', `/v1/keys/not-a-uuid/${action}`, { key: admin })).toEqual(missing);
    }
    expect((await me(bKey.key)).body).toMatchObject({ role: 'viewer', tenant: { id: b.id } });
  });

  it('refuses to revoke the tenant’s last active admin key with 409 last_admin_key', async () => {
    const t = await ctx.addTenant('admin');
    const self = (await me(t.key)).body!.key.id as string;
    const last = await request('POST', `/v1/keys/${self}/revoke`, { key: t.key });
    expect(last.status).toBe(409);
    expect(last.body!.error.code).toBe('last_admin_key');
    expect((await me(t.key)).status).toBe(200);

    // An expired admin key does not count as another admin.
    const expired = (await create(t.key, { name: 'old-admin', role: 'admin' })).body!;
    await expire(expired.id);
    expect((await request('POST', `/v1/keys/${self}/revoke`, { key: t.key })).status).toBe(409);

    // With a second active admin key, a key may revoke itself; then the second is the last.
    const second = (await create(t.key, { name: 'admin-2', role: 'admin' })).body!;
    const own = await request('POST', `/v1/keys/${self}/revoke`, { key: t.key });
    expect(own.status).toBe(200);
    expect((await me(t.key)).body).toEqual(INVALID);
    const now = await request('POST', `/v1/keys/${second.id}/revoke`, { key: second.key });
    expect(now.status).toBe(409);
    expect(now.body!.error.code).toBe('last_admin_key');

    // Rotating the last admin key is fine: the tenant keeps one.
    const rotated = await request('POST', `/v1/keys/${second.id}/rotate`, { key: second.key });
    expect(rotated.status).toBe(201);
    expect((await me(rotated.body!.key)).body).toMatchObject({ role: 'admin', tenant: { id: t.id } });
    expect((await me(second.key)).status).toBe(401);
  });

  it('creates, lists, rotates and revokes keys from the CLI', async () => {
    const cli = (...args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'bin/cli.ts', 'keys', ...args], {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        env: { ...process.env, BC_API_URL: api.base, BC_API_KEY: admin },
      });
    const created = await cli('create', 'cli-made', '--role', 'viewer', '--expires-in-days', '3');
    const key = created.stdout.trim();
    expect(key).toMatch(/^bc_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toContain('shown this once');
    const who = (await me(key)).body!;
    expect(who).toMatchObject({ role: 'viewer', key: { name: 'cli-made' } });

    const list = (await cli()).stdout;
    const line = list.split('\n').find((l) => l.startsWith(who.key.id))!;
    expect(line).toContain('cli-made\tviewer');
    expect(line).toContain('active');
    expect(list).not.toContain(key);

    const rotated = (await cli('rotate', who.key.id)).stdout.trim();
    expect((await me(rotated)).body).toMatchObject({ role: 'viewer', key: { name: 'cli-made' } });
    expect((await me(key)).status).toBe(401);
    const newId = (await me(rotated)).body!.key.id as string;
    expect((await cli('revoke', newId)).stdout).toContain('revoked');
    expect((await me(rotated)).status).toBe(401);

    const refused = await cli('create', 'x', '--role', 'owner').catch((e: { code: number; stderr: string }) => e);
    expect(refused).toMatchObject({ code: 1 });
    expect((refused as { stderr: string }).stderr).toContain('validation_failed');
  });

  it('never answers a key hash', async () => {
    const hashes = (await ctx.orm.em.fork().find(ApiKeyEntity, {})).map((k) => k.keyHash);
    expect(hashes.length).toBeGreaterThan(10);
    expect(bodies.length).toBeGreaterThan(40);
    const all = bodies.join('\n');
    expect(all).not.toMatch(/keyHash|key_hash/);
    for (const h of hashes) expect(all).not.toContain(h);
  });
});
