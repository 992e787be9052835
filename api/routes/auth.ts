import { Router } from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { UserEntity, UserSessionEntity, type User } from '../../lib/db/entities';
import { AppError } from '../../lib/errors';
import type { AuditNote } from '../../lib/contracts/audit';
import type { AppDeps } from '../deps';
import type { AuthState } from '../auth/middleware';
import { PASSWORD_MAX } from '../auth/passwords';
import { clearSessionCookies, revokeSession, startSession, type StartedSession } from '../auth/sessions';
import { uuid } from '../schemas';
import { InvitationsService } from '../tenants/invitations';
import { PasswordCheck } from '../users/login';
import {
  displayName,
  emailAddress,
  membershipsOf,
  publicUser,
  UsersService,
  type TenantMembership,
} from '../users/service';

// Long enough for any allowed password; the rules themselves are checked where a password is set.
const password = z.string().min(1).max(PASSWORD_MAX);

export const loginBody = z.object({ email: emailAddress, password, tenantId: uuid.optional() }).strict();
export const acceptBody = z
  .object({ token: z.string().min(1).max(200), password, displayName: displayName.optional() })
  .strict();
export const switchBody = z.object({ tenantId: uuid }).strict();
export const passwordBody = z.object({ currentPassword: password, newPassword: password }).strict();

/** One brute-force counter per app, shared by sign-in, invitation acceptance and password change. */
const passwordChecks = new WeakMap<AppDeps, PasswordCheck>();
const passwordCheckOf = (deps: AppDeps) => {
  let check = passwordChecks.get(deps);
  if (!check) passwordChecks.set(deps, (check = new PasswordCheck(deps.orm, deps.config.auth)));
  return check;
};

const noTenant = (message: string) => new AppError({ code: 'no_tenant', message, status: 403, category: 'auth' });

/** Retry-After on a 429, whichever counter locked. */
async function withRetryAfter<T>(ctx: Context, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const retryAfter = (err as { retryAfterSeconds?: unknown }).retryAfterSeconds;
    if (typeof retryAfter === 'number') ctx.set('Retry-After', String(Math.max(1, retryAfter)));
    throw err;
  }
}

/** What a sign-in, a tenant switch and "who am I" answer: the user, the tenant and role, every tenant they may use. */
function sessionBody(user: User, tenants: TenantMembership[], tenantId: string, started?: StartedSession) {
  const current = tenants.find((t) => t.id === tenantId)!;
  return {
    user: publicUser(user),
    tenant: { id: current.id, name: current.name },
    role: current.role,
    tenants,
    ...(started ? { csrfToken: started.csrfToken, expiresAt: started.expiresAt.toISOString() } : {}),
  };
}

/** Signs a user in to a tenant of theirs (the oldest membership unless one is asked for) and answers the session. */
async function signIn(ctx: Context, deps: AppDeps, user: User, method: 'password' | 'oidc', tenantId?: string) {
  const em = deps.orm.em.fork();
  const tenants = await membershipsOf(em, user.id);
  if (tenants.length === 0) throw noTenant('The account is not a member of any tenant; ask an admin to add you.');
  const chosen = tenantId ?? tenants[0]!.id;
  if (!tenants.some((t) => t.id === chosen)) throw noTenant('The account is not a member of that tenant.');
  const started = await startSession(ctx, deps, { userId: user.id, tenantId: chosen, method });
  return sessionBody(user, tenants, chosen, started);
}

/** Sign-in routes reached without a principal: login, the sign-in options, accepting an invitation. */
export function authPublicRoutes(deps: AppDeps) {
  const router = new Router<AuthState>({ prefix: '/v1/auth', sensitive: true });
  const passwords = passwordCheckOf(deps);
  const invitations = new InvitationsService(deps.orm);

  router.get('/providers', (ctx) => {
    ctx.body = { password: true, oidc: deps.config.oidc !== null };
  });

  router.post('/login', async (ctx) => {
    const body = loginBody.parse(ctx.request.body ?? {});
    const note: AuditNote = {
      action: 'session.login',
      actorType: 'user',
      actorLabel: body.email,
      detail: { method: 'password' },
    };
    ctx.state.audit = { ...note, outcome: 'failure' };
    const user = await withRetryAfter(ctx, () =>
      passwords.verify({ email: body.email, password: body.password, ip: ctx.ip }),
    ).catch(async (err: unknown) => {
      // A failed sign-in to an account is kept in the audit log of the account's (first) tenant. One query whether
      // or not the account exists, so this adds no timing difference between the two.
      const [known] = await deps.orm.em
        .fork()
        .getConnection()
        .execute<Array<{ id: string; tenant_id: string | null }>>(
          `select u.id, m.tenant_id from users u left join tenant_members m on m.user_id = u.id
          where u.email = ? order by m.created_at, m.tenant_id limit 1`,
          [body.email],
        );
      if (known?.tenant_id)
        ctx.state.audit = { ...note, actorId: known.id, tenantId: known.tenant_id, outcome: 'failure' };
      throw err;
    });
    ctx.state.audit = { ...note, actorId: user.id, outcome: 'failure' };
    const answer = await signIn(ctx, deps, user, 'password', body.tenantId);
    ctx.state.audit = { ...note, actorId: user.id, tenantId: answer.tenant.id, outcome: 'success' };
    ctx.body = answer;
  });

  router.post('/invitations/accept', async (ctx) => {
    const body = acceptBody.parse(ctx.request.body ?? {});
    const accepted = await withRetryAfter(ctx, () => invitations.accept(passwords, { ...body, ip: ctx.ip }));
    const user = await deps.orm.em.fork().findOneOrFail(UserEntity, { id: accepted.userId });
    ctx.state.audit = {
      action: 'invitation.accept',
      tenantId: accepted.tenantId,
      actorType: 'user',
      actorId: user.id,
      actorLabel: user.email,
      outcome: 'success',
      detail: { role: accepted.role, newUser: accepted.created },
    };
    ctx.body = await signIn(ctx, deps, user, 'password', accepted.tenantId);
    ctx.status = 201;
  });

  return router;
}

/** Routes about the caller's own console session, which an API key has none of. */
const requireSession: Middleware<AuthState> = async (ctx, next) => {
  if (ctx.state.principal.via !== 'session')
    throw new AppError({
      code: 'session_required',
      message: 'This route is about a console session; an API key has none. Sign in with a password first.',
      status: 400,
      category: 'user',
    });
  await next();
};

/** The signed-in caller's session routes: who am I, switch tenant, sign out, password, sessions. */
export function authRoutes(deps: AppDeps) {
  const router = new Router<AuthState>({ prefix: '/v1/auth', sensitive: true });
  const passwords = passwordCheckOf(deps);
  const users = new UsersService(deps.orm, deps.config.auth.sessionIdleMinutes);
  const me = (ctx: Context & { state: AuthState }) =>
    ctx.state.principal as AuthState['principal'] & {
      userId: string;
      sessionId: string;
    };

  router.get('/session', requireSession, async (ctx) => {
    const p = me(ctx);
    const { user, tenants } = await users.profile(p.userId);
    ctx.body = {
      user,
      tenant: { id: p.tenantId, name: p.tenantName },
      role: p.role,
      platformAdmin: p.platformAdmin,
      tenants,
      sessionId: p.sessionId,
    };
  });

  router.post('/logout', requireSession, async (ctx) => {
    await revokeSession(deps, me(ctx).sessionId);
    clearSessionCookies(ctx, deps);
    ctx.status = 204;
  });

  router.post('/session/tenant', requireSession, async (ctx) => {
    const { tenantId } = switchBody.parse(ctx.request.body ?? {});
    const p = me(ctx);
    const em = deps.orm.em.fork();
    const user = await em.findOneOrFail(UserEntity, { id: p.userId });
    const { method } = await em.findOneOrFail(UserSessionEntity, { id: p.sessionId });
    ctx.body = await signIn(ctx, deps, user, method === 'oidc' ? 'oidc' : 'password', tenantId);
    await revokeSession(deps, p.sessionId);
    ctx.state.audit = { action: 'session.switch_tenant', targets: { tenantId } };
  });

  router.post('/password', requireSession, async (ctx) => {
    const body = passwordBody.parse(ctx.request.body ?? {});
    const p = me(ctx);
    try {
      await withRetryAfter(ctx, () =>
        passwords.verify({ email: p.userEmail!, password: body.currentPassword, ip: ctx.ip }),
      );
    } catch (err) {
      // Not a 401: the session is fine, only the password given is wrong (a 401 would sign the console out).
      if (err instanceof AppError && err.code === 'invalid_credentials')
        throw new AppError({
          code: 'wrong_password',
          message: 'The current password is wrong.',
          status: 400,
          category: 'user',
        });
      throw err;
    }
    ctx.body = await users.setPassword(p.userId, body.newPassword, p.sessionId);
    ctx.state.audit = { action: 'user.password_change' };
  });

  router.get('/sessions', requireSession, async (ctx) => {
    const p = me(ctx);
    ctx.body = await users.listSessions(p.userId, p.sessionId);
  });

  router.post('/sessions/:id/revoke', requireSession, async (ctx) => {
    const p = me(ctx);
    ctx.body = await users.revokeSession(p.userId, ctx.params.id!, p.sessionId);
  });

  return router;
}
