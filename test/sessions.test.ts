import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyEntity, AuditLogEntity, UserEntity, UserSessionEntity } from '../lib/db/entities';
import { setupTestContext, startTestApi, testConfig, type TestContext } from './harness';
import { PASSWORD, sessionClient, uniqueEmail } from './session-client';

/**
 * Console sessions through the real API: password sign-in, the cookies and their flags, CSRF on writes, absolute and
 * idle expiry, sign-out and revocation, password change, tenant switching, and the brute-force lock.
 */

let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;

afterAll(() => ctx?.close());
beforeAll(async () => {
  ctx = await setupTestContext({ SESSION_IDLE_MINUTES: '30', SESSION_TTL_HOURS: '12' });
  api = await startTestApi(ctx);
});

/** A user added to the test tenant through the API (its admin key), with the given role. */
async function addUser(role: 'admin' | 'operator' | 'viewer', tenant = ctx.tenant, email = uniqueEmail()) {
  const res = await api.request('POST', '/v1/members', {
    key: tenant.key,
    body: { email, role, password: PASSWORD, displayName: 'Test User' },
  });
  expect(res.status).toBe(201);
  return { email, userId: res.body!.userId as string };
}

const sessionRow = (id: string) => ctx.orm.em.fork().findOneOrFail(UserSessionEntity, { id });
const keyCount = () => ctx.orm.em.fork().count(ApiKeyEntity, { tenantId: ctx.tenant.id });

describe('password sign-in', () => {
  it('signs in, sets the session and CSRF cookies with their flags, and the cookie authenticates', async () => {
    const { email, userId } = await addUser('operator');
    const c = sessionClient(api.base);
    const res = await c.login(email.toUpperCase(), PASSWORD);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      user: { id: userId, email, displayName: 'Test User' },
      tenant: { id: ctx.tenant.id },
      role: 'operator',
      tenants: [{ id: ctx.tenant.id, role: 'operator' }],
      csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      expiresAt: expect.any(String),
    });
    const ttl = new Date(res.body!.expiresAt).getTime() - Date.now();
    expect(ttl).toBeGreaterThan(11 * 3_600_000);
    expect(ttl).toBeLessThanOrEqual(12 * 3_600_000);
    expect(JSON.stringify(res.body)).not.toMatch(/passwordHash|argon2/);

    const session = res.cookies.find((x) => x.name === 'bc_session')!;
    const csrf = res.cookies.find((x) => x.name === 'bc_csrf')!;
    expect(session.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session.attrs).toMatchObject({ path: '/', httponly: true, samesite: 'lax' });
    expect(session.attrs.secure).toBeUndefined(); // COOKIE_SECURE=auto over plain http
    expect(csrf.value).toBe(res.body!.csrfToken);
    expect(csrf.attrs).toMatchObject({ path: '/', samesite: 'strict' });
    expect(csrf.attrs.httponly).toBeUndefined();

    // Only hashes are stored.
    const rows = await ctx.orm.em.fork().find(UserSessionEntity, { userId });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.tokenHash).not.toBe(session.value);
    expect(rows[0]!.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0]!.method).toBe('password');

    const me = await c.request('GET', '/v1/system/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ via: 'session', role: 'operator', key: null, user: { id: userId, email } });
    const who = await c.request('GET', '/v1/auth/session');
    expect(who.body).toMatchObject({ user: { email }, role: 'operator', tenant: { id: ctx.tenant.id } });
  });

  it('marks the cookies Secure with COOKIE_SECURE=true', async () => {
    const secureApi = await startTestApi(ctx, testConfig({ COOKIE_SECURE: 'true' }));
    const { email } = await addUser('viewer');
    const res = await sessionClient(secureApi.base).login(email, PASSWORD);
    expect(res.status).toBe(200);
    for (const name of ['bc_session', 'bc_csrf'])
      expect(res.cookies.find((x) => x.name === name)!.attrs.secure).toBe(true);
  });

  it('refuses a wrong password and an unknown email with the same answer', async () => {
    const { email } = await addUser('viewer');
    const c = sessionClient(api.base);
    const wrong = await c.login(email, 'not the password at all');
    const unknown = await c.login(uniqueEmail('nobody'), 'not the password at all');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.body).toEqual({ error: { code: 'invalid_credentials', message: 'The email or password is wrong.' } });
    expect(wrong.cookies).toEqual([]);
    expect(
      (await api.request('POST', '/v1/auth/login', { body: { email: 'not-an-email', password: 'x' } })).status,
    ).toBe(400);
  });

  it('keeps sign-ins, failed ones too, in the audit log of the account’s tenant, never the password', async () => {
    const { email, userId } = await addUser('viewer');
    const c = sessionClient(api.base);
    await c.login(email, 'a wrong password here');
    await c.login(email, PASSWORD);
    const rows = await ctx.orm.em
      .fork()
      .find(
        AuditLogEntity,
        { tenantId: ctx.tenant.id, action: 'session.login', actorId: userId },
        { orderBy: { id: 'asc' } },
      );
    expect(rows.map((r) => [r.outcome, r.status, r.actorType, r.actorLabel])).toEqual([
      ['failure', 401, 'user', email],
      ['success', 200, 'user', email],
    ]);
    expect(rows[0]!.detail).toMatchObject({ method: 'password' });
    expect(JSON.stringify(rows)).not.toContain(PASSWORD);
    expect(JSON.stringify(rows)).not.toContain('a wrong password here');
  });

  it('answers the sign-in options without a key', async () => {
    expect((await api.request('GET', '/v1/auth/providers')).body).toEqual({ password: true, oidc: false });
  });

  it('refuses a user with no tenant (403 no_tenant) and a tenant that is not theirs', async () => {
    const { email, userId } = await addUser('viewer');
    const other = await ctx.addTenant();
    const c = sessionClient(api.base);
    expect((await c.login(email, PASSWORD, other.id)).body?.error.code).toBe('no_tenant');
    await api.request('DELETE', `/v1/members/${userId}`, { key: ctx.tenant.key });
    const res = await c.login(email, PASSWORD);
    expect(res.status).toBe(403);
    expect(res.body?.error.code).toBe('no_tenant');
    expect(c.jar.size).toBe(0);
  });
});

describe('CSRF', () => {
  it('refuses a cookie-authenticated write without the CSRF header or with a wrong one, and writes nothing', async () => {
    const { email } = await addUser('admin');
    const c = sessionClient(api.base);
    await c.login(email, PASSWORD);
    const before = await keyCount();
    for (const csrf of [false, 'wrong-token', c.jar.get('bc_session')!] as const) {
      const res = await c.request('POST', '/v1/keys', { body: { name: 'csrf', role: 'viewer' }, csrf });
      expect(res.status).toBe(403);
      expect(res.body?.error.code).toBe('csrf_failed');
    }
    expect(await keyCount()).toBe(before);

    const ok = await c.request('POST', '/v1/keys', { body: { name: 'csrf-ok', role: 'viewer' } });
    expect(ok.status).toBe(201);
    expect(ok.body!.createdByUserId).toBeTruthy();
    expect(ok.body!.createdByKeyId).toBeNull();
    expect(await keyCount()).toBe(before + 1);
    // Reads need no header.
    expect((await c.request('GET', '/v1/keys')).status).toBe(200);
  });

  it('judges a request with a Bearer key by the key alone, ignoring the cookies', async () => {
    const { email } = await addUser('viewer');
    const c = sessionClient(api.base);
    await c.login(email, PASSWORD);
    const asKey = await c.request('POST', '/v1/keys', {
      key: ctx.tenant.key,
      csrf: false,
      body: { name: 'by-key', role: 'viewer' },
    });
    expect(asKey.status).toBe(201);
    expect((await c.request('GET', '/v1/system/me', { key: ctx.tenant.key })).body).toMatchObject({
      via: 'key',
      user: null,
    });
    expect((await c.request('GET', '/v1/system/me', { key: 'bc_not_a_real_key_not_a_real_key_xx' })).status).toBe(401);
  });
});

describe('expiry, sign-out and revocation', () => {
  it('ends a session past its absolute expiry', async () => {
    const { email } = await addUser('viewer');
    const c = sessionClient(api.base);
    const { body } = await c.login(email, PASSWORD);
    const { sessionId } = (await c.request('GET', '/v1/auth/session')).body!;
    expect((await sessionRow(sessionId)).expiresAt.toISOString()).toBe(body!.expiresAt);
    await ctx.orm.em
      .fork()
      .nativeUpdate(UserSessionEntity, { id: sessionId }, { expiresAt: new Date(Date.now() - 1000) });
    const res = await c.request('GET', '/v1/system/me');
    expect(res.status).toBe(401);
    expect(res.body?.error.code).toBe('unauthorized');
  });

  it('ends a session idle longer than SESSION_IDLE_MINUTES, and keeps a used one alive', async () => {
    const { email } = await addUser('viewer');
    const c = sessionClient(api.base);
    await c.login(email, PASSWORD);
    const { sessionId } = (await c.request('GET', '/v1/auth/session')).body!;
    const em = ctx.orm.em.fork();
    // Used 20 minutes ago: still alive, and this use moves lastSeenAt forward.
    const twentyAgo = new Date(Date.now() - 20 * 60_000);
    await em.nativeUpdate(UserSessionEntity, { id: sessionId }, { lastSeenAt: twentyAgo });
    expect((await c.request('GET', '/v1/system/me')).status).toBe(200);
    expect((await sessionRow(sessionId)).lastSeenAt.getTime()).toBeGreaterThan(twentyAgo.getTime() + 60_000);
    // Idle 31 minutes: gone.
    await em.nativeUpdate(UserSessionEntity, { id: sessionId }, { lastSeenAt: new Date(Date.now() - 31 * 60_000) });
    expect((await c.request('GET', '/v1/system/me')).status).toBe(401);
  });

  it('signs out: the session is revoked and the cookies cleared', async () => {
    const { email } = await addUser('viewer');
    const c = sessionClient(api.base);
    await c.login(email, PASSWORD);
    const token = c.jar.get('bc_session')!;
    const { sessionId } = (await c.request('GET', '/v1/auth/session')).body!;
    expect((await c.request('POST', '/v1/auth/logout', { csrf: false })).body?.error.code).toBe('csrf_failed');
    const out = await c.request('POST', '/v1/auth/logout');
    expect(out.status).toBe(204);
    expect(out.cookies.map((x) => x.name).sort()).toEqual(['bc_csrf', 'bc_session']);
    expect(c.jar.size).toBe(0);
    expect((await sessionRow(sessionId)).revokedAt).toBeInstanceOf(Date);
    // The old cookie, replayed, is refused.
    c.jar.set('bc_session', token);
    expect((await c.request('GET', '/v1/system/me')).status).toBe(401);
  });

  it('lists and revokes the own sessions only; another user’s session id is not found', async () => {
    const { email } = await addUser('viewer');
    const a = sessionClient(api.base);
    const b = sessionClient(api.base);
    await a.login(email, PASSWORD);
    await b.login(email, PASSWORD);
    const list = (await a.request('GET', '/v1/auth/sessions')).body!.sessions as Array<{
      id: string;
      current: boolean;
    }>;
    expect(list).toHaveLength(2);
    const bId = list.find((s) => !s.current)!.id;
    const revoked = await a.request('POST', `/v1/auth/sessions/${bId}/revoke`);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id: bId, active: false });
    expect((await b.request('GET', '/v1/system/me')).status).toBe(401);
    expect((await a.request('GET', '/v1/system/me')).status).toBe(200);

    const other = await addUser('viewer');
    const o = sessionClient(api.base);
    await o.login(other.email, PASSWORD);
    const oId = (await o.request('GET', '/v1/auth/session')).body!.sessionId as string;
    for (const id of [oId, '00000000-0000-4000-8000-000000000000', 'nope'])
      expect((await a.request('POST', `/v1/auth/sessions/${id}/revoke`)).status).toBe(404);
    expect((await o.request('GET', '/v1/system/me')).status).toBe(200);
  });

  it('ends the browser’s previous session when it signs in again', async () => {
    const { email } = await addUser('viewer');
    const c = sessionClient(api.base);
    await c.login(email, PASSWORD);
    const first = (await c.request('GET', '/v1/auth/session')).body!.sessionId as string;
    await c.login(email, PASSWORD);
    expect((await sessionRow(first)).revokedAt).toBeInstanceOf(Date);
    expect((await c.request('GET', '/v1/auth/session')).body!.sessionId).not.toBe(first);
  });

  it('answers the session-only routes for an API key with session_required', async () => {
    for (const [method, path] of [
      ['GET', '/v1/auth/session'],
      ['POST', '/v1/auth/logout'],
      ['GET', '/v1/auth/sessions'],
    ] as const) {
      const res = await api.request(method, path, { key: ctx.tenant.key });
      expect(res.status).toBe(400);
      expect(res.body?.error.code).toBe('session_required');
    }
  });

  it('stops a disabled user’s sessions at once and refuses their sign-in like a wrong password', async () => {
    const { email, userId } = await addUser('viewer');
    const c = sessionClient(api.base);
    await c.login(email, PASSWORD);
    await ctx.orm.em.fork().nativeUpdate(UserEntity, { id: userId }, { disabledAt: new Date() });
    expect((await c.request('GET', '/v1/system/me')).status).toBe(401);
    expect((await c.login(email, PASSWORD)).body?.error.code).toBe('invalid_credentials');
  });
});

describe('password change', () => {
  it('needs the current password, checks the rules, and revokes the other sessions', async () => {
    const { email } = await addUser('viewer');
    const a = sessionClient(api.base);
    const b = sessionClient(api.base);
    await a.login(email, PASSWORD);
    await b.login(email, PASSWORD);
    const newPassword = 'a brand new passphrase';

    const wrong = await a.request('POST', '/v1/auth/password', {
      body: { currentPassword: 'not the current one', newPassword },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body?.error.code).toBe('wrong_password');
    for (const bad of ['short', email]) {
      const res = await a.request('POST', '/v1/auth/password', {
        body: { currentPassword: PASSWORD, newPassword: bad },
      });
      expect(res.status).toBe(400);
      expect(res.body?.error.code).toBe('weak_password');
    }
    expect((await b.request('GET', '/v1/system/me')).status).toBe(200);

    const ok = await a.request('POST', '/v1/auth/password', { body: { currentPassword: PASSWORD, newPassword } });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ revoked: 1 });
    expect((await a.request('GET', '/v1/system/me')).status).toBe(200);
    expect((await b.request('GET', '/v1/system/me')).status).toBe(401);
    expect((await sessionClient(api.base).login(email, PASSWORD)).status).toBe(401);
    expect((await sessionClient(api.base).login(email, newPassword)).status).toBe(200);
  });
});

describe('tenants of a user', () => {
  it('signs in to a chosen tenant and switches: a new session, the old one revoked', async () => {
    const other = await ctx.addTenant();
    const { email, userId } = await addUser('admin');
    const joined = await api.request('POST', '/v1/members', { key: other.key, body: { email, role: 'viewer' } });
    expect(joined.status).toBe(201);
    expect(joined.body!.userId).toBe(userId);

    const c = sessionClient(api.base);
    const first = await c.login(email, PASSWORD);
    expect(first.body).toMatchObject({ tenant: { id: ctx.tenant.id }, role: 'admin' });
    expect(first.body!.tenants.map((t: { id: string; role: string }) => [t.id, t.role])).toEqual([
      [ctx.tenant.id, 'admin'],
      [other.id, 'viewer'],
    ]);
    const oldSession = (await c.request('GET', '/v1/auth/session')).body!.sessionId as string;
    const oldToken = c.jar.get('bc_session')!;

    const switched = await c.request('POST', '/v1/auth/session/tenant', { body: { tenantId: other.id } });
    expect(switched.status).toBe(200);
    expect(switched.body).toMatchObject({ tenant: { id: other.id }, role: 'viewer', csrfToken: c.jar.get('bc_csrf') });
    expect(c.jar.get('bc_session')).not.toBe(oldToken);
    expect((await c.request('GET', '/v1/system/me')).body).toMatchObject({ tenant: { id: other.id }, role: 'viewer' });
    expect((await c.request('GET', '/v1/keys')).status).toBe(403);
    expect((await sessionRow(oldSession)).revokedAt).toBeInstanceOf(Date);

    const notMine = await ctx.addTenant();
    const refused = await c.request('POST', '/v1/auth/session/tenant', { body: { tenantId: notMine.id } });
    expect(refused.status).toBe(403);
    expect(refused.body?.error.code).toBe('no_tenant');

    const direct = await sessionClient(api.base).login(email, PASSWORD, other.id);
    expect(direct.body).toMatchObject({ tenant: { id: other.id }, role: 'viewer' });
  });
});

describe('brute force', () => {
  it('locks an account after LOGIN_MAX_FAILURES failures (429 with Retry-After, the right password too), and an unknown email alike', async () => {
    // An API of its own, so its in-memory counters start empty.
    const lockApi = await startTestApi(ctx, testConfig({ LOGIN_MAX_FAILURES: '3', LOGIN_LOCKOUT_MINUTES: '10' }));
    const { email, userId } = await addUser('viewer');
    const unknown = uniqueEmail('ghost');
    const c = sessionClient(lockApi.base);
    const answers: Record<string, unknown>[] = [];
    for (const who of [email, unknown]) {
      for (let i = 0; i < 3; i++) {
        const res = await c.login(who, `wrong password ${i}`);
        expect(res.status).toBe(401);
        answers.push(res.body!);
      }
      const locked = await c.login(who, PASSWORD);
      expect(locked.status).toBe(429);
      expect(locked.body?.error.code).toBe('login_locked');
      const retryAfter = Number(locked.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(9 * 60);
      expect(retryAfter).toBeLessThanOrEqual(10 * 60);
      answers.push({ ...locked.body!, retryAfter: Math.round(retryAfter / 60) });
    }
    // Same answers, so the lock does not tell whether the account exists.
    expect(answers.slice(4)).toEqual(answers.slice(0, 4));
    expect(c.jar.size).toBe(0);

    const user = await ctx.orm.em.fork().findOneOrFail(UserEntity, { id: userId });
    expect(user.lockedUntil!.getTime()).toBeGreaterThan(Date.now() + 9 * 60_000);

    // The account lock holds in every API process (another app, with its own memory, from the same address).
    const elsewhere = await sessionClient(api.base).login(email, PASSWORD);
    expect(elsewhere.status).toBe(429);

    // Once the lock has passed, the right password signs in and resets the counter.
    await ctx.orm.em.fork().nativeUpdate(UserEntity, { id: userId }, { lockedUntil: new Date(Date.now() - 1000) });
    expect((await sessionClient(api.base).login(email, PASSWORD)).status).toBe(200);
    const reset = await ctx.orm.em.fork().findOneOrFail(UserEntity, { id: userId });
    expect(reset.failedLogins).toBe(0);
    expect(reset.lockedUntil).toBeNull();
  });

  it('counts consecutive failures only: a success in between resets the count', async () => {
    const lockApi = await startTestApi(ctx, testConfig({ LOGIN_MAX_FAILURES: '3' }));
    const { email, userId } = await addUser('viewer');
    const c = sessionClient(lockApi.base);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 2; i++) expect((await c.login(email, 'wrong wrong wrong')).status).toBe(401);
      expect((await c.login(email, PASSWORD)).status).toBe(200);
    }
    expect((await ctx.orm.em.fork().findOneOrFail(UserEntity, { id: userId })).failedLogins).toBe(0);
  });
});
