import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../api/auth/api-keys';
import { MembersService } from '../api/tenants/members';
import { InvitationEntity, TenantMemberEntity, UserEntity, UserSessionEntity } from '../lib/db/entities';
import { AppError } from '../lib/errors';
import { setupTestContext, startTestApi, type TestContext } from './harness';
import { PASSWORD, platformAdminKey, sessionClient, uniqueEmail } from './session-client';

/**
 * Tenants (platform admin), members and invitations (tenant admins) through the real API and the CLI: role ceiling,
 * last admin, tenant scoping, live role changes, and invitation tokens that work once.
 */

let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let platform: { tenantId: string; key: string };
/** Every response body of this file, to prove no password hash or invitation token hash leaves the API. */
const bodies: string[] = [];

afterAll(() => ctx?.close());
beforeAll(async () => {
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
  platform = await platformAdminKey(ctx.orm);
});

async function request(method: string, path: string, opts: { key?: string; body?: unknown } = {}) {
  const res = await api.request(method, path, opts);
  bodies.push(JSON.stringify(res.body));
  return res;
}

/** A tenant made by the platform admin, whose first admin is a new user with a password (and no API key). */
async function tenantWithAdminUser() {
  const email = uniqueEmail('admin');
  const res = await request('POST', '/v1/tenants', {
    key: platform.key,
    body: { name: `t-${email.slice(6, 14)}`, admin: { email, password: PASSWORD, displayName: 'First Admin' } },
  });
  expect(res.status).toBe(201);
  const admin = sessionClient(api.base);
  expect((await admin.login(email, PASSWORD)).status).toBe(200);
  return { tenantId: res.body!.tenant.id as string, email, userId: res.body!.admin.id as string, admin };
}

describe('tenants', () => {
  it('are created, listed and read by the platform admin only', async () => {
    const email = uniqueEmail('founder');
    const created = await request('POST', '/v1/tenants', {
      key: platform.key,
      body: { name: 'acme', admin: { email, password: PASSWORD } },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      tenant: { name: 'acme', platform: false, members: 1 },
      admin: { email },
      invitation: null,
    });
    const id = created.body!.tenant.id as string;

    const list = await request('GET', '/v1/tenants', { key: platform.key });
    expect(list.status).toBe(200);
    expect(list.body!.tenants).toContainEqual(expect.objectContaining({ id, name: 'acme', members: 1 }));
    expect(list.body!.tenants).toContainEqual(expect.objectContaining({ id: platform.tenantId, platform: true }));
    expect((await request('GET', `/v1/tenants/${id}`, { key: platform.key })).body).toMatchObject({ id, name: 'acme' });
    expect(
      (await request('GET', '/v1/tenants/00000000-0000-4000-8000-000000000000', { key: platform.key })).status,
    ).toBe(404);

    // The new tenant's admin signs in and administers it, but is no platform admin.
    const founder = sessionClient(api.base);
    expect((await founder.login(email, PASSWORD)).body).toMatchObject({ tenant: { id }, role: 'admin' });
    expect((await founder.request('GET', '/v1/system/me')).body).toMatchObject({ platformAdmin: false });
    for (const [method, path] of [
      ['GET', '/v1/tenants'],
      ['POST', '/v1/tenants'],
      ['GET', `/v1/tenants/${id}`],
    ] as const) {
      for (const res of [
        await founder.request(method, path, { body: method === 'POST' ? { name: 'nope' } : undefined }),
        await request(method, path, { key: ctx.tenant.key, body: method === 'POST' ? { name: 'nope' } : undefined }),
      ]) {
        expect(res.status).toBe(403);
        expect(res.body?.error.code).toBe('platform_admin_required');
      }
    }
  });

  it('invites an unknown first admin given without a password, and adds an existing user as they are', async () => {
    const email = uniqueEmail('invitee');
    const res = await request('POST', '/v1/tenants', {
      key: platform.key,
      body: { name: 'invited', admin: { email } },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      tenant: { members: 0 },
      admin: null,
      invitation: { email, role: 'admin', status: 'pending', token: expect.stringMatching(/^bci_/) },
    });
    const accepted = await sessionClient(api.base).request('POST', '/v1/auth/invitations/accept', {
      body: { token: res.body!.invitation.token, password: PASSWORD },
    });
    expect(accepted.body).toMatchObject({ tenant: { id: res.body!.tenant.id }, role: 'admin' });

    const again = await request('POST', '/v1/tenants', {
      key: platform.key,
      body: { name: 'second', admin: { email } },
    });
    expect(again.body).toMatchObject({ admin: { email }, invitation: null, tenant: { members: 1 } });
    const dup = await request('POST', '/v1/tenants', {
      key: platform.key,
      body: { name: 'third', admin: { email, password: PASSWORD } },
    });
    expect(dup.status).toBe(409);
    expect(dup.body?.error.code).toBe('user_exists');
  });
});

describe('members', () => {
  it('adds existing and new users, lists, changes roles and removes, scoped to the tenant', async () => {
    const key = ctx.tenant.key;
    const email = uniqueEmail('Mixed.Case');
    const created = await request('POST', '/v1/members', {
      key,
      body: { email: `  ${email.toUpperCase()} `, role: 'operator', password: PASSWORD, displayName: 'Op' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ email: email.toLowerCase(), role: 'operator', displayName: 'Op' });
    const userId = created.body!.userId as string;
    expect(created.body!.addedByKeyId).toBeTruthy();

    const list = await request('GET', '/v1/members', { key });
    expect(list.body!.members).toContainEqual(expect.objectContaining({ userId, role: 'operator' }));

    // Unknown email without a password, bad email, weak password, duplicate.
    const missing = await request('POST', '/v1/members', { key, body: { email: uniqueEmail(), role: 'viewer' } });
    expect(missing.status).toBe(404);
    expect(missing.body?.error.code).toBe('user_not_found');
    expect((await request('POST', '/v1/members', { key, body: { email: 'nope', role: 'viewer' } })).status).toBe(400);
    const weak = await request('POST', '/v1/members', {
      key,
      body: { email: uniqueEmail(), role: 'viewer', password: 'short' },
    });
    expect(weak.body?.error.code).toBe('weak_password');
    const dup = await request('POST', '/v1/members', { key, body: { email, role: 'viewer' } });
    expect(dup.status).toBe(409);
    expect(dup.body?.error.code).toBe('already_member');
    expect(
      (await request('POST', '/v1/members', { key, body: { email, role: 'viewer', extra: true } })).body?.error.code,
    ).toBe('validation_failed');

    const changed = await request('PATCH', `/v1/members/${userId}`, { key, body: { role: 'viewer' } });
    expect(changed.body).toMatchObject({ userId, role: 'viewer' });

    // Another tenant's admin sees this user as missing, on every route.
    const other = await ctx.addTenant();
    expect((await request('PATCH', `/v1/members/${userId}`, { key: other.key, body: { role: 'admin' } })).status).toBe(
      404,
    );
    expect((await request('DELETE', `/v1/members/${userId}`, { key: other.key })).status).toBe(404);
    expect((await request('GET', '/v1/members', { key: other.key })).body!.members).toEqual([]);
    // The same user may join the other tenant, by email.
    expect((await request('POST', '/v1/members', { key: other.key, body: { email, role: 'viewer' } })).status).toBe(
      201,
    );

    const removed = await request('DELETE', `/v1/members/${userId}`, { key });
    expect(removed.body).toMatchObject({ removed: { userId }, revokedSessions: 0 });
    expect((await request('DELETE', `/v1/members/${userId}`, { key })).status).toBe(404);
    expect((await request('GET', '/v1/members', { key: other.key })).body!.members).toHaveLength(1);
  });

  it('are managed by admins only', async () => {
    const viewer = await ctx.addTenant('viewer');
    for (const [method, path] of [
      ['GET', '/v1/members'],
      ['POST', '/v1/members'],
      ['GET', '/v1/invitations'],
      ['POST', '/v1/invitations'],
    ] as const)
      expect((await request(method, path, { key: viewer.key, body: method === 'POST' ? {} : undefined })).status).toBe(
        403,
      );
  });

  it('applies a role change and a removal to a live session at once', async () => {
    const email = uniqueEmail('live');
    const { userId } = (
      await request('POST', '/v1/members', {
        key: ctx.tenant.key,
        body: { email, role: 'admin', password: PASSWORD },
      })
    ).body!;
    const c = sessionClient(api.base);
    await c.login(email, PASSWORD);
    expect((await c.request('GET', '/v1/keys')).status).toBe(200);

    await request('PATCH', `/v1/members/${userId}`, { key: ctx.tenant.key, body: { role: 'viewer' } });
    const demoted = await c.request('GET', '/v1/keys');
    expect(demoted.status).toBe(403);
    expect(demoted.body?.error.message).toContain('the user has viewer');
    expect((await c.request('GET', '/v1/system/me')).body).toMatchObject({ role: 'viewer' });

    const removed = await request('DELETE', `/v1/members/${userId}`, { key: ctx.tenant.key });
    expect(removed.body).toMatchObject({ revokedSessions: 1 });
    expect((await c.request('GET', '/v1/system/me')).status).toBe(401);
    const sessions = await ctx.orm.em.fork().find(UserSessionEntity, { userId });
    expect(sessions.every((s) => s.revokedAt)).toBe(true);
  });

  it('keeps an admin: the last admin member of a tenant without an admin key cannot leave or be demoted', async () => {
    const { tenantId, userId, admin } = await tenantWithAdminUser();
    for (const [method, body] of [
      ['PATCH', { role: 'operator' }],
      ['DELETE', undefined],
    ] as const) {
      const res = await admin.request(method, `/v1/members/${userId}`, { body });
      expect(res.status).toBe(409);
      expect(res.body?.error.code).toBe('last_admin');
    }
    // A second admin member, made by the first; now the first may step down.
    const second = uniqueEmail('second');
    const added = await admin.request('POST', '/v1/members', {
      body: { email: second, role: 'admin', password: PASSWORD },
    });
    expect(added.status).toBe(201);
    expect(added.body!.addedByUserId).toBe(userId);
    expect((await admin.request('PATCH', `/v1/members/${userId}`, { body: { role: 'operator' } })).status).toBe(200);
    expect((await admin.request('GET', '/v1/members')).status).toBe(403);

    // With an active admin API key, the last admin member may go.
    const other = sessionClient(api.base);
    await other.login(second, PASSWORD);
    const keyRes = await other.request('POST', '/v1/keys', { body: { name: 'ops', role: 'admin' } });
    expect(keyRes.status).toBe(201);
    const secondId = (await other.request('GET', '/v1/auth/session')).body!.user.id as string;
    expect((await other.request('DELETE', `/v1/members/${secondId}`)).status).toBe(200);
    const left = await ctx.orm.em.fork().count(TenantMemberEntity, { tenantId, role: 'admin' });
    expect(left).toBe(0);
  });

  it('refuses giving or changing a role above the caller’s (role_too_high)', async () => {
    const members = new MembersService(ctx.orm);
    const operator: Principal = {
      tenantId: ctx.tenant.id,
      tenantName: 'test',
      platformAdmin: false,
      role: 'operator',
      via: 'key',
      keyId: null,
      keyName: 'op',
      keyPrefix: 'bc_x',
      userId: null,
      userEmail: null,
      sessionId: null,
    };
    const err = await members
      .add(operator, { email: uniqueEmail(), role: 'admin', password: PASSWORD })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'role_too_high', status: 403 });
    const admin = (
      await request('POST', '/v1/members', {
        key: ctx.tenant.key,
        body: { email: uniqueEmail(), role: 'admin', password: PASSWORD },
      })
    ).body!;
    await expect(members.setRole(operator, admin.userId, 'viewer')).rejects.toMatchObject({ code: 'role_too_high' });
    await expect(members.remove(operator, admin.userId)).rejects.toMatchObject({ code: 'role_too_high' });
  });
});

describe('invitations', () => {
  const accept = (body: Record<string, unknown>) =>
    sessionClient(api.base).request('POST', '/v1/auth/invitations/accept', { body });

  it('invites a new user, who accepts once with a password and is signed in with the role', async () => {
    const email = uniqueEmail('new');
    const inv = await request('POST', '/v1/invitations', { key: ctx.tenant.key, body: { email, role: 'operator' } });
    expect(inv.status).toBe(201);
    expect(inv.body).toMatchObject({ email, role: 'operator', status: 'pending' });
    const { token, acceptPath, id } = inv.body!;
    expect(token).toMatch(/^bci_[A-Za-z0-9_-]{43}$/);
    expect(acceptPath).toBe(`/sign-in#invitation=${token}`);
    const expires = new Date(inv.body!.expiresAt).getTime() - Date.now();
    expect(expires).toBeGreaterThan(6.9 * 86_400_000);

    const list = await request('GET', '/v1/invitations', { key: ctx.tenant.key });
    expect(list.body!.invitations).toContainEqual(expect.objectContaining({ id, status: 'pending' }));
    expect(JSON.stringify(list.body)).not.toContain(token);

    expect((await accept({ token, password: 'short' })).body?.error.code).toBe('weak_password');
    const c = sessionClient(api.base);
    const ok = await c.request('POST', '/v1/auth/invitations/accept', {
      body: { token, password: PASSWORD, displayName: 'New Person' },
    });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({
      user: { email, displayName: 'New Person' },
      role: 'operator',
      csrfToken: c.jar.get('bc_csrf'),
    });
    expect((await c.request('GET', '/v1/system/me')).body).toMatchObject({ role: 'operator', user: { email } });

    const used = await accept({ token, password: PASSWORD });
    expect(used.status).toBe(410);
    expect(used.body?.error.code).toBe('invitation_accepted');
    expect((await request('GET', '/v1/invitations', { key: ctx.tenant.key })).body!.invitations).toContainEqual(
      expect.objectContaining({ id, status: 'accepted' }),
    );
    const again = await request('POST', '/v1/invitations', { key: ctx.tenant.key, body: { email, role: 'viewer' } });
    expect(again.body?.error.code).toBe('already_member');
  });

  it('refuses a revoked, an expired, a replaced and an unknown token', async () => {
    const key = ctx.tenant.key;
    const make = async (email = uniqueEmail()) =>
      (await request('POST', '/v1/invitations', { key, body: { email, role: 'viewer', expiresInDays: 2 } })).body!;

    const revoked = await make();
    const r = await request('POST', `/v1/invitations/${revoked.id}/revoke`, { key });
    expect(r.body).toMatchObject({ status: 'revoked' });
    expect((await accept({ token: revoked.token, password: PASSWORD })).body?.error.code).toBe('invitation_revoked');

    const expired = await make();
    await ctx.orm.em
      .fork()
      .nativeUpdate(InvitationEntity, { id: expired.id }, { expiresAt: new Date(Date.now() - 1000) });
    const e = await accept({ token: expired.token, password: PASSWORD });
    expect(e.status).toBe(410);
    expect(e.body?.error.code).toBe('invitation_expired');

    const email = uniqueEmail();
    const first = await make(email);
    const second = await make(email);
    expect((await accept({ token: first.token, password: PASSWORD })).body?.error.code).toBe('invitation_revoked');
    expect((await accept({ token: second.token, password: PASSWORD })).status).toBe(201);

    for (const token of ['bci_' + 'A'.repeat(43), 'garbage']) {
      const res = await accept({ token, password: PASSWORD });
      expect(res.status).toBe(404);
      expect(res.body?.error.code).toBe('invitation_invalid');
    }
    expect(await ctx.orm.em.fork().count(UserEntity, { email: revoked.email })).toBe(0);

    // Another tenant's invitation id is not found, like a missing one.
    const other = await ctx.addTenant();
    const foreign = await make();
    expect((await request('POST', `/v1/invitations/${foreign.id}/revoke`, { key: other.key })).status).toBe(404);
    expect((await request('GET', '/v1/invitations', { key: other.key })).body!.invitations).toEqual([]);
  });

  it('lets an existing user accept with their own password only', async () => {
    const email = uniqueEmail('existing');
    await request('POST', '/v1/members', { key: ctx.tenant.key, body: { email, role: 'viewer', password: PASSWORD } });
    const other = await ctx.addTenant();
    const inv = (await request('POST', '/v1/invitations', { key: other.key, body: { email, role: 'admin' } })).body!;
    const wrong = await accept({ token: inv.token, password: 'someone elses password' });
    expect(wrong.status).toBe(401);
    expect(wrong.body?.error.code).toBe('invalid_credentials');
    const ok = await accept({ token: inv.token, password: PASSWORD });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ tenant: { id: other.id }, role: 'admin' });
    expect(ok.body!.tenants).toHaveLength(2);
  });
});

describe('CLI', () => {
  const cli = (key: string, args: string[], input?: string) =>
    new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
      const child = execFile(
        process.execPath,
        ['--import', 'tsx', 'bin/cli.ts', ...args],
        {
          cwd: fileURLToPath(new URL('..', import.meta.url)),
          env: { ...process.env, BC_API_URL: api.base, BC_API_KEY: key },
        },
        (err, stdout, stderr) => resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 }),
      );
      child.stdin!.end(input ?? '');
    });

  it('manages tenants, users and invitations', async () => {
    const adminEmail = uniqueEmail('cli-admin');
    const made = await cli(
      platform.key,
      ['tenants', 'create', 'cli-tenant', '--admin-email', adminEmail, '--admin-password-stdin'],
      `${PASSWORD}\n`,
    );
    expect(made.code).toBe(0);
    const tenantId = made.stdout.split('\t')[0]!;
    expect(made.stdout).toContain('cli-tenant\ttenant\t1 members');
    expect((await cli(platform.key, ['tenants', 'list'])).stdout).toContain(`${tenantId}\tcli-tenant`);
    const refused = await cli(ctx.tenant.key, ['tenants', 'list']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('platform_admin_required');

    // The CLI speaks for a key; give the new tenant's admin one, through their session.
    const admin = sessionClient(api.base);
    await admin.login(adminEmail, PASSWORD);
    const key = (await admin.request('POST', '/v1/keys', { body: { name: 'cli', role: 'admin' } })).body!.key as string;

    const userEmail = uniqueEmail('cli-user');
    const added = await cli(
      key,
      ['users', 'add', userEmail, '--role', 'operator', '--password-stdin', '--name', 'Cli User'],
      `${PASSWORD}\n`,
    );
    expect(added.code).toBe(0);
    expect(added.stdout).toContain(`${userEmail}\toperator\tCli User`);
    const userId = added.stdout.split('\t')[0]!;
    expect((await sessionClient(api.base).login(userEmail, PASSWORD)).body).toMatchObject({ tenant: { id: tenantId } });

    expect((await cli(key, ['users', 'set-role', userEmail, 'viewer'])).stdout).toContain(
      `${userId}\t${userEmail}\tviewer`,
    );
    const list = (await cli(key, ['users', 'list'])).stdout;
    expect(list).toContain(`${userEmail}\tviewer`);
    expect(list).toContain(`${adminEmail}\tadmin`);

    const invited = await cli(key, ['users', 'invite', uniqueEmail('cli-inv'), '--role', 'viewer']);
    expect(invited.code).toBe(0);
    expect(invited.stdout.trim()).toMatch(new RegExp(`^${api.base}/sign-in#invitation=bci_[A-Za-z0-9_-]{43}$`));
    expect(invited.stderr).toContain('shown this once');

    expect((await cli(key, ['users', 'remove', userId])).stdout).toContain(`removed ${userEmail}`);
    const gone = await cli(key, ['users', 'remove', userEmail]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('No member');
    const noPassword = await cli(key, ['users', 'add', uniqueEmail(), '--role', 'viewer']);
    expect(noPassword.stderr).toContain('user_not_found');
  });
});

describe('secrets at rest', () => {
  it('never answers a password hash or an invitation token hash', async () => {
    const em = ctx.orm.em.fork();
    const hashes = [
      // Real hashes only: other test files may store placeholders such as 'x' for users that never sign in.
      ...(await em.find(UserEntity, {}, { limit: 500 }))
        .map((u) => u.passwordHash)
        .filter((h): h is string => !!h && h.startsWith('$argon2id$')),
      ...(await em.find(InvitationEntity, { tenantId: ctx.tenant.id })).map((i) => i.tokenHash),
    ];
    expect(hashes.length).toBeGreaterThan(0);
    const all = bodies.join('\n');
    for (const h of hashes) expect(all).not.toContain(h);
    expect(all).not.toContain('$argon2id$');
  });
});
