import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { safeReturnTo } from '../api/auth/oidc';
import { TenantEntity, TenantMemberEntity, UserEntity, UserIdentityEntity } from '../lib/db/entities';
import { AuditLogEntity } from '../lib/db/entities/audit';
import { setupTestContext, startTestApi, testConfig, type TestContext } from './harness';
import {
  CookieJar,
  browse,
  followSignIn,
  startTestIdp,
  type Hop,
  type TestAccount,
  type TestIdp,
} from './oidc-provider';

/**
 * Single sign-on against a real OpenID provider (oidc-provider on loopback): the whole authorization code flow with
 * PKCE through the API's two legs, the claims mapped to tenant and role, and every way the callback must refuse.
 */

type Api = Awaited<ReturnType<typeof startTestApi>>;

let ctx: TestContext;
let idp: TestIdp;
/** Tenant claim and role claim mapped; a default tenant for tokens without the tenant claim; viewer by default. */
let api: Api;
/** No default tenant, and defaultRole `none`: an unmapped user is refused. */
let strict: Api;
/** OIDC not configured. */
let off: Api;
/** Configured like `api`, as a second API process behind the same load balancer would be. */
let twin: Api;
const run = randomUUID().slice(0, 8);
const tenants: Record<'acme' | 'beta' | 'fallback', { id: string; name: string }> = {} as never;
const CALLBACK = '/v1/auth/oidc/callback';

afterAll(async () => {
  await ctx?.close();
  await idp?.close();
});
beforeAll(async () => {
  ctx = await setupTestContext();
  const em = ctx.orm.em.fork();
  for (const name of ['acme', 'beta', 'fallback'] as const) {
    const t = em.create(TenantEntity, { id: randomUUID(), name: `oidc-${name}-${run}` });
    tenants[name] = { id: t.id, name: t.name };
  }
  await em.flush();

  // The provider listens first: its URL is the issuer the APIs are configured with.
  idp = await startTestIdp();
  const secret = randomBytes(24).toString('base64url');
  const oidcEnv = {
    OIDC_ISSUER: idp.issuer,
    OIDC_CLIENT_ID: 'beyondcloud',
    OIDC_CLIENT_SECRET: secret,
    TENANT_SECRETS_KEY: randomBytes(32).toString('base64'),
  };
  const mainEnv = {
    ...oidcEnv,
    OIDC_TENANT_CLAIM: 'tenant',
    OIDC_DEFAULT_TENANT: tenants.fallback.name,
    OIDC_ROLE_CLAIM: 'groups',
    OIDC_ROLE_MAP: JSON.stringify({ 'bc-admins': 'admin', 'bc-operators': 'operator', staff: 'viewer' }),
    OIDC_DEFAULT_ROLE: 'viewer',
  };
  api = await startTestApi(ctx, testConfig(mainEnv));
  // A second process of the same installation: same settings and platform key, no memory shared with the first.
  twin = await startTestApi(ctx, testConfig(mainEnv));
  strict = await startTestApi(
    ctx,
    testConfig({
      ...oidcEnv,
      OIDC_TENANT_CLAIM: 'tenant',
      OIDC_ROLE_CLAIM: 'groups',
      OIDC_ROLE_MAP: JSON.stringify({ 'bc-admins': 'admin' }),
      OIDC_DEFAULT_ROLE: 'none',
    }),
  );
  off = await startTestApi(ctx);
  // Then the clients, whose redirect URIs name the APIs' callbacks. `other` shares the main API's redirect URI: a code
  // issued to it must not sign anyone in here.
  idp.configure({
    clients: [
      {
        client_id: 'beyondcloud',
        client_secret: secret,
        redirect_uris: [api.base + CALLBACK, strict.base + CALLBACK],
      },
      { client_id: 'other', client_secret: 'other-secret', redirect_uris: [api.base + CALLBACK] },
    ],
  });
});

/** A person at the provider, with a subject and email of this run. */
function account(name: string, claims: TestAccount = {}): { sub: string; email: string } {
  const sub = `${name}-${randomUUID()}`;
  const email = `${name}-${run}@example.com`;
  idp.accounts.set(sub, { email, email_verified: true, name, ...claims });
  return { sub, email };
}

interface SignIn {
  jar: CookieJar;
  callback: Hop;
  hops: Hop[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert response fields one by one
  error: Record<string, any> | null;
}

/** A fresh browser signs `sub` in through `target`'s login route; the answer to the callback leg is returned. */
async function signIn(
  target: Api,
  sub: string,
  opts: Omit<Parameters<typeof followSignIn>[0], 'jar' | 'start' | 'idp' | 'account'> & {
    returnTo?: string;
    jar?: CookieJar;
  } = {},
): Promise<SignIn> {
  const jar = opts.jar ?? new CookieJar();
  const start = new URL(
    `/v1/auth/oidc/login?returnTo=${encodeURIComponent(opts.returnTo ?? '/runs?x=1')}`,
    target.base,
  );
  const { callback, hops } = await followSignIn({ ...opts, jar, start, idp, account: sub });
  expect(callback, JSON.stringify(hops.map((h) => [h.url.href, h.status, h.body.slice(0, 200)]))).not.toBeNull();
  const isJson = callback!.body.startsWith('{');
  return { jar, callback: callback!, hops, error: isJson ? (JSON.parse(callback!.body).error ?? null) : null };
}

async function me(target: Api, jar: CookieJar) {
  const url = new URL('/v1/system/me', target.base);
  const res = await fetch(url, { headers: { cookie: jar.header(url) } });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert response fields one by one
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const userByEmail = (email: string) => ctx.orm.em.fork().findOne(UserEntity, { email });
const membership = (tenantId: string, userId: string) =>
  ctx.orm.em.fork().findOne(TenantMemberEntity, { tenantId, userId });

const signInsAudited = (email: string) =>
  ctx.orm.em.fork().find(AuditLogEntity, { action: 'session.login', actorLabel: email }, { orderBy: { id: 'asc' } });

/** The callback refused: the code, its status, and no session cookie in the browser. */
function expectRefused(s: SignIn, status: number, code: string) {
  expect({ status: s.callback.status, code: s.error?.code }).toEqual({ status, code });
  expect(s.jar.get(api.base, 'bc_session') ?? s.jar.get(strict.base, 'bc_session')).toBeUndefined();
}

describe('single sign-on with OpenID Connect', () => {
  it('signs a new user in: provisioned without a password, in the claimed tenant with the highest mapped role', async () => {
    const alice = account('alice', { tenant: tenants.acme.name, groups: ['staff', 'bc-operators', 'unrelated'] });
    const s = await signIn(api, alice.sub);

    // The login leg: PKCE S256, state and nonce, and the sealed bc_oidc cookie.
    const authorize = s.hops[0]!;
    expect(authorize.status).toBe(302);
    const params = authorize.location!.searchParams;
    expect(authorize.location!.origin).toBe(idp.issuer);
    expect(params.get('client_id')).toBe('beyondcloud');
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('state')).toBeTruthy();
    expect(params.get('nonce')).toBeTruthy();
    expect(params.get('redirect_uri')).toBe(api.base + CALLBACK);
    const cookie = authorize.setCookies.find((c) => c.startsWith('bc_oidc='))!;
    expect(cookie).toMatch(/; path=\/v1\/auth\/oidc/i);
    expect(cookie).toMatch(/; httponly/i);
    expect(cookie).toMatch(/; samesite=lax/i);
    const expires = Date.parse(/; expires=([^;]+)/i.exec(cookie)![1]!);
    expect(expires - Date.now()).toBeGreaterThan(9 * 60_000);
    expect(expires - Date.now()).toBeLessThanOrEqual(10 * 60_000);
    // Sealed: neither the state nor the verifier can be read from it.
    expect(cookie).not.toContain(params.get('state')!);

    // The callback leg: a session, and back to where the user started; the one-time cookie is gone.
    expect(s.callback.status).toBe(302);
    expect(s.callback.location!.href).toBe(`${api.base}/runs?x=1`);
    expect(s.jar.get(api.base, 'bc_session')).toBeTruthy();
    expect(s.jar.get(api.base, 'bc_oidc')).toBeUndefined();

    const user = (await userByEmail(alice.email))!;
    expect(user).toMatchObject({ displayName: 'alice', passwordHash: null });
    const identity = await ctx.orm.em.fork().findOne(UserIdentityEntity, { issuer: idp.issuer, subject: alice.sub });
    expect(identity?.userId).toBe(user.id);
    expect((await membership(tenants.acme.id, user.id))?.role).toBe('operator');

    const who = await me(api, s.jar);
    expect(who.status).toBe(200);
    expect(who.body).toMatchObject({
      via: 'session',
      role: 'operator',
      tenant: { id: tenants.acme.id },
      user: { id: user.id, email: alice.email },
    });

    expect(await signInsAudited(alice.email)).toEqual([
      expect.objectContaining({
        tenantId: tenants.acme.id,
        actorType: 'user',
        actorId: user.id,
        outcome: 'success',
        status: 302,
        detail: expect.objectContaining({ method: 'oidc', role: 'operator' }),
      }),
    ]);
  });

  it('finds the same user on the next sign-in, and the role follows the provider', async () => {
    const bob = account('bob', { tenant: tenants.acme.name, groups: 'staff' });
    expect((await signIn(api, bob.sub)).callback.status).toBe(302);
    const first = (await userByEmail(bob.email))!;
    expect((await membership(tenants.acme.id, first.id))?.role).toBe('viewer');

    idp.accounts.get(bob.sub)!.groups = ['bc-admins', 'staff'];
    const again = await signIn(api, bob.sub);
    expect(again.callback.status).toBe(302);
    const em = ctx.orm.em.fork();
    expect(await em.count(UserEntity, { email: bob.email })).toBe(1);
    expect(await em.count(UserIdentityEntity, { userId: first.id })).toBe(1);
    expect((await membership(tenants.acme.id, first.id))?.role).toBe('admin');
    expect((await me(api, again.jar)).body).toMatchObject({ role: 'admin', user: { id: first.id } });
  });

  it('names the tenant by id, and puts a token without the tenant claim in the default tenant', async () => {
    const byId = account('carol', { tenant: tenants.beta.id });
    expect((await signIn(api, byId.sub)).callback.status).toBe(302);
    const carol = (await userByEmail(byId.email))!;
    expect((await membership(tenants.beta.id, carol.id))?.role).toBe('viewer');

    const noClaim = account('dan');
    const s = await signIn(api, noClaim.sub);
    expect(s.callback.status).toBe(302);
    expect((await me(api, s.jar)).body).toMatchObject({ tenant: { id: tenants.fallback.id }, role: 'viewer' });
  });

  it('links an existing user by a verified email, and never by an unverified one', async () => {
    const em = ctx.orm.em.fork();
    const existing = em.create(UserEntity, {
      email: `erin-${run}@example.com`,
      displayName: 'Erin',
      passwordHash: 'x',
    });
    const other = em.create(UserEntity, { email: `frank-${run}@example.com`, displayName: 'Frank', passwordHash: 'x' });
    await em.flush();

    const erin = account('erin', { tenant: tenants.acme.name, email_verified: true });
    const linked = await signIn(api, erin.sub);
    expect(linked.callback.status).toBe(302);
    expect((await me(api, linked.jar)).body.user).toEqual({ id: existing.id, email: existing.email });
    const identity = await em.fork().findOne(UserIdentityEntity, { issuer: idp.issuer, subject: erin.sub });
    expect(identity?.userId).toBe(existing.id);
    expect((await em.fork().findOne(UserEntity, { id: existing.id }))?.passwordHash).toBe('x');

    const frank = account('frank', { tenant: tenants.acme.name, email_verified: false });
    const refused = await signIn(api, frank.sub);
    expectRefused(refused, 403, 'oidc_email_unverified');
    expect(await em.fork().count(UserIdentityEntity, { subject: frank.sub })).toBe(0);
    expect(await membership(tenants.acme.id, other.id)).toBeNull();
  });

  it('refuses an unknown or ambiguous tenant claim, and a strict server refuses users without a tenant or role', async () => {
    const ghost = account('ghost', { tenant: `no-such-tenant-${run}` });
    expectRefused(await signIn(api, ghost.sub), 403, 'oidc_no_tenant');
    expect(await userByEmail(ghost.email)).toBeNull();

    const twice = account('twice', { tenant: [tenants.acme.name, tenants.beta.name] });
    expectRefused(await signIn(api, twice.sub), 403, 'oidc_no_tenant');

    // defaultRole none: no mapped group, no sign-in; a mapped one still works.
    const plain = account('plain', { tenant: tenants.acme.name, groups: ['staff'] });
    expectRefused(await signIn(strict, plain.sub), 403, 'oidc_no_role');
    expect(await userByEmail(plain.email)).toBeNull();
    expect(await signInsAudited(plain.email)).toEqual([
      expect.objectContaining({
        tenantId: tenants.acme.id,
        actorType: 'anonymous',
        outcome: 'denied',
        status: 403,
        detail: expect.objectContaining({ method: 'oidc', reason: 'oidc_no_role' }),
      }),
    ]);
    const boss = account('boss', { tenant: tenants.acme.name, groups: ['bc-admins'] });
    const ok = await signIn(strict, boss.sub);
    expect(ok.callback.status).toBe(302);
    expect((await me(strict, ok.jar)).body).toMatchObject({ role: 'admin', tenant: { id: tenants.acme.id } });

    // No default tenant: a token without the tenant claim has nowhere to go.
    const nowhere = account('nowhere', { groups: ['bc-admins'] });
    expectRefused(await signIn(strict, nowhere.sub), 403, 'oidc_no_tenant');
  });

  it('completes a sign-in started by another API process', async () => {
    const hana = account('hana', { tenant: tenants.acme.name });
    const jar = new CookieJar();
    const s = await signIn(api, hana.sub, {
      jar,
      // The load balancer sends the callback leg to the other process; the browser's cookie goes with it.
      beforeCallback: (url) => {
        const moved = new URL(url.pathname + url.search, twin.base);
        jar.set(twin.base, 'bc_oidc', jar.get(api.base, 'bc_oidc'));
        return moved;
      },
    });
    expect(s.callback.url.origin).toBe(twin.base);
    expect(s.callback.status).toBe(302);
    expect((await me(twin, jar)).body.user).toMatchObject({ email: hana.email });
  });

  it('refuses a disabled user', async () => {
    const ivan = account('ivan', { tenant: tenants.acme.name });
    expect((await signIn(api, ivan.sub)).callback.status).toBe(302);
    await ctx.orm.em.fork().nativeUpdate(UserEntity, { email: ivan.email }, { disabledAt: new Date() });
    expectRefused(await signIn(api, ivan.sub), 403, 'oidc_user_disabled');
  });

  it('reads the claims a small ID token leaves out from userinfo', async () => {
    // A provider that keeps the ID token to `sub` and the protocol claims: email, tenant and groups come from userinfo.
    idp.rewriteIdToken = ({ email: _e, email_verified: _v, name: _n, tenant: _t, groups: _g, ...rest }) => rest;
    try {
      const gina = account('gina', { tenant: tenants.beta.name, groups: ['bc-operators'] });
      const s = await signIn(api, gina.sub);
      expect(s.callback.status).toBe(302);
      expect((await me(api, s.jar)).body).toMatchObject({
        role: 'operator',
        tenant: { id: tenants.beta.id },
        user: { email: gina.email },
      });
    } finally {
      idp.rewriteIdToken = null;
    }
  });

  it('sends a browser to the sign-in page with the error code', async () => {
    const ghost = account('ghost-browser', { tenant: `no-such-tenant-${run}` });
    const s = await signIn(api, ghost.sub, { headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(s.callback.status).toBe(302);
    expect(s.callback.location!.href).toBe(`${api.base}/sign-in?error=oidc_no_tenant`);
    expect(s.jar.get(api.base, 'bc_session')).toBeUndefined();
  });

  describe('a bad state', () => {
    const mallory = () => account('mallory', { tenant: tenants.acme.name });

    it('refuses a state that does not match the cookie', async () => {
      const s = await signIn(api, mallory().sub, {
        beforeCallback: (url) => {
          url.searchParams.set('state', `${url.searchParams.get('state')}x`);
          return url;
        },
      });
      expectRefused(s, 400, 'oidc_state_mismatch');
    });

    it('refuses a callback without the bc_oidc cookie, or with a tampered one', async () => {
      const jar = new CookieJar();
      const dropped = await signIn(api, mallory().sub, {
        jar,
        beforeCallback: (url) => {
          jar.set(api.base, 'bc_oidc', undefined);
          return url;
        },
      });
      expectRefused(dropped, 400, 'oidc_state_mismatch');

      // One changed character and the seal does not open.
      const tampered = new CookieJar();
      const changed = await signIn(api, mallory().sub, {
        jar: tampered,
        beforeCallback: (url) => {
          const value = tampered.get(api.base, 'bc_oidc')!;
          tampered.set(api.base, 'bc_oidc', `${value.slice(0, 20)}${value[20] === 'A' ? 'B' : 'A'}${value.slice(21)}`);
          return url;
        },
      });
      expectRefused(changed, 400, 'oidc_state_mismatch');

      // The cookie of another sign-in in the same browser: its state is not this callback's.
      const mixed = new CookieJar();
      const earlier = await browse(mixed, new URL('/v1/auth/oidc/login', api.base));
      const earlierCookie = mixed.get(api.base, 'bc_oidc')!;
      expect(earlier.status).toBe(302);
      const crossed = await signIn(api, mallory().sub, {
        jar: mixed,
        beforeCallback: (url) => {
          mixed.set(api.base, 'bc_oidc', earlierCookie);
          return url;
        },
      });
      expectRefused(crossed, 400, 'oidc_state_mismatch');
    });

    it('refuses a callback nobody started, and a made-up code', async () => {
      const made = await browse(new CookieJar(), new URL(`${CALLBACK}?code=abc&state=def`, api.base));
      expect(made.status).toBe(400);
      expect(JSON.parse(made.body).error.code).toBe('oidc_state_mismatch');

      const s = await signIn(api, mallory().sub, {
        beforeCallback: (url) => {
          url.searchParams.set('code', 'made-up-code');
          return url;
        },
      });
      expectRefused(s, 401, 'oidc_token_invalid');
    });
  });

  describe('a token that is not for us', () => {
    it('refuses an ID token whose audience is another client (openid-client’s audience check)', async () => {
      // Signed by the provider's own key, so only the `aud` comparison can refuse it.
      idp.rewriteIdToken = (claims) => ({ ...claims, aud: 'someone-else' });
      try {
        const s = await signIn(api, account('aud', { tenant: tenants.acme.name }).sub);
        expectRefused(s, 401, 'oidc_token_invalid');
        expect(s.error?.details).toMatchObject({ claim: 'aud' });
      } finally {
        idp.rewriteIdToken = null;
      }
    });

    it('refuses a code the provider issued to another client for the same redirect URI', async () => {
      // Our state and PKCE challenge, but the authorization is the other client's: the provider refuses to redeem it
      // for us (invalid_grant), so no token for `other` ever becomes a session here.
      const s = await signIn(api, account('confused', { tenant: tenants.acme.name }).sub, {
        beforeAuthorize: (url) => {
          url.searchParams.set('client_id', 'other');
          return url;
        },
      });
      expectRefused(s, 401, 'oidc_token_invalid');
      expect(s.error?.details).toMatchObject({ error: 'invalid_grant' });
    });

    it('refuses an expired ID token', async () => {
      // Expired ten minutes ago, beyond openid-client's clock tolerance; the signature is the provider's.
      const now = Math.floor(Date.now() / 1000);
      idp.rewriteIdToken = (claims) => ({ ...claims, iat: now - 1200, exp: now - 600 });
      try {
        const s = await signIn(api, account('late', { tenant: tenants.acme.name }).sub);
        expectRefused(s, 401, 'oidc_token_invalid');
        expect(s.error?.details).toMatchObject({ claim: 'exp' });
      } finally {
        idp.rewriteIdToken = null;
      }
    });

    it('answers a provider that did not sign the user in', async () => {
      // An account the provider does not know: it sends the browser back with error=access_denied.
      const s = await signIn(api, 'nobody-at-all');
      expectRefused(s, 401, 'oidc_denied');
      expect(s.error?.details).toEqual({ error: 'access_denied' });
    });
  });

  it('answers 404 oidc_not_configured when no provider is configured, and 502 when it cannot be reached', async () => {
    for (const path of ['/v1/auth/oidc/login', CALLBACK]) {
      const res = await off.request('GET', path);
      expect(res.status).toBe(404);
      expect(res.body!.error.code).toBe('oidc_not_configured');
    }

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = await startTestApi(
      ctx,
      testConfig({ OIDC_ISSUER: `http://127.0.0.1:${port}`, OIDC_CLIENT_ID: 'beyondcloud' }),
    );
    const res = await unreachable.request('GET', '/v1/auth/oidc/login');
    expect(res.status).toBe(502);
    expect(res.body!.error.code).toBe('oidc_provider_unavailable');
  });

  it('returns only to a path of this site', async () => {
    const s = await signIn(api, account('redirect', { tenant: tenants.acme.name }).sub, {
      returnTo: '//evil.example/steal',
    });
    expect(s.callback.status).toBe(302);
    expect(s.callback.location!.href).toBe(`${api.base}/`);

    for (const bad of ['https://evil.example/', '//evil.example', '/\\evil.example', '/\t/evil.example', 'evil', '']) {
      expect([bad, safeReturnTo(bad)]).toEqual([bad, '/']);
    }
    expect(safeReturnTo('/collections/1?tab=docs#top')).toBe('/collections/1?tab=docs#top');
    expect(safeReturnTo(['/a', '/b'])).toBe('/');
  });
});
