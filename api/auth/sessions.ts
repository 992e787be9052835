import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import {
  TenantEntity,
  TenantMemberEntity,
  UserEntity,
  UserSessionEntity,
  type UserSession,
} from '../../lib/db/entities';
import { AppError } from '../../lib/errors';
import type { AppDeps } from '../deps';
import type { Principal } from './api-keys';

export const SESSION_COOKIE = 'bc_session';
export const CSRF_COOKIE = 'bc_csrf';
export const CSRF_HEADER = 'x-csrf-token';

export type SessionMethod = 'password' | 'oidc';

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const randomToken = () => randomBytes(32).toString('base64url');
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** lastSeenAt is refreshed at most this often, so reads do not each become a write. */
const TOUCH_EVERY_MS = 60_000;

type CookieDeps = Pick<AppDeps, 'config'>;

function secureCookies(ctx: Context, { config }: CookieDeps): boolean {
  const setting = config.auth.cookieSecure;
  return setting === 'true' || (setting === 'auto' && ctx.secure);
}

function setSessionCookies(ctx: Context, deps: CookieDeps, token: string, csrfToken: string, expires: Date) {
  const secure = secureCookies(ctx, deps);
  // koa's cookies refuse to set a Secure cookie over plain http unless told otherwise; COOKIE_SECURE=true behind a
  // TLS-terminating proxy is exactly that case.
  const base = { path: '/', expires, secure, overwrite: true, signed: false } as const;
  ctx.cookies.secure = secure || ctx.cookies.secure;
  ctx.cookies.set(SESSION_COOKIE, token, { ...base, httpOnly: true, sameSite: 'lax' });
  // Readable by the console's script, which echoes it in the CSRF header; a cross-site page can neither read it
  // nor make the browser send it.
  ctx.cookies.set(CSRF_COOKIE, csrfToken, { ...base, httpOnly: false, sameSite: 'strict' });
}

/** Removes both cookies (sign-out, or a session that is no longer valid). */
export function clearSessionCookies(ctx: Context, deps: CookieDeps) {
  const secure = secureCookies(ctx, deps);
  ctx.cookies.secure = secure || ctx.cookies.secure;
  const base = { path: '/', secure, overwrite: true, signed: false, expires: new Date(0) } as const;
  ctx.cookies.set(SESSION_COOKIE, '', { ...base, httpOnly: true, sameSite: 'lax' });
  ctx.cookies.set(CSRF_COOKIE, '', { ...base, httpOnly: false, sameSite: 'strict' });
}

export interface StartedSession {
  csrfToken: string;
  expiresAt: Date;
  sessionId: string;
}

/**
 * Signs a user in to one tenant: writes the session row (hashes only) and sets the session and CSRF cookies on the
 * response. The caller has already checked the credentials and that the user is a member of the tenant. Used by
 * password sign-in, invitation acceptance, tenant switching and single sign-on.
 */
export async function startSession(
  ctx: Context,
  deps: Pick<AppDeps, 'orm' | 'config'>,
  opts: { userId: string; tenantId: string; method: SessionMethod },
): Promise<StartedSession> {
  const token = randomToken();
  const csrfToken = randomToken();
  const expiresAt = new Date(Date.now() + deps.config.auth.sessionTtlHours * 3_600_000);
  const em = deps.orm.em.fork();
  const session = em.create(UserSessionEntity, {
    tokenHash: sha256(token),
    csrfHash: sha256(csrfToken),
    userId: opts.userId,
    tenantId: opts.tenantId,
    expiresAt,
    method: opts.method,
    ip: ctx.ip || null,
    userAgent: ctx.get('user-agent').slice(0, 500) || null,
  });
  await em.flush();
  await em.nativeUpdate(UserEntity, { id: opts.userId }, { lastLoginAt: new Date() });
  // A browser holds one session: signing in again (as anyone) ends the one its cookie named.
  const previous = ctx.cookies.get(SESSION_COOKIE);
  if (previous && TOKEN_PATTERN.test(previous))
    await em.nativeUpdate(
      UserSessionEntity,
      { tokenHash: sha256(previous), revokedAt: null },
      { revokedAt: new Date() },
    );
  setSessionCookies(ctx, deps, token, csrfToken, expiresAt);
  return { csrfToken, expiresAt, sessionId: session.id };
}

/** Past its absolute expiry, or idle longer than SESSION_IDLE_MINUTES. */
export function isLiveSession(
  s: Pick<UserSession, 'revokedAt' | 'expiresAt' | 'lastSeenAt'>,
  idleMinutes: number,
  now = Date.now(),
): boolean {
  return !s.revokedAt && s.expiresAt.getTime() > now && now - s.lastSeenAt.getTime() < idleMinutes * 60_000;
}

export const csrfFailed = () =>
  new AppError({
    code: 'csrf_failed',
    message: `A signed-in write must send the session's CSRF token in the ${CSRF_HEADER} header.`,
    status: 403,
    category: 'auth',
  });

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function sameSecret(given: string, expectedHash: string): boolean {
  const a = Buffer.from(sha256(given), 'hex');
  const b = Buffer.from(expectedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The principal behind a session cookie, or null when the cookie names no live session, the user is disabled or is
 * no longer a member of the session's tenant. The role is the membership's, read on every request, so a role change
 * or a removal applies at once. A write without the matching CSRF header is refused (403 `csrf_failed`).
 */
export async function resolveSession(ctx: Context, deps: Pick<AppDeps, 'orm' | 'config'>): Promise<Principal | null> {
  const token = ctx.cookies.get(SESSION_COOKIE);
  if (!token || !TOKEN_PATTERN.test(token)) return null;
  const em = deps.orm.em.fork();
  const session = await em.findOne(UserSessionEntity, { tokenHash: sha256(token), revokedAt: null });
  if (!session || !isLiveSession(session, deps.config.auth.sessionIdleMinutes)) return null;
  const [user, member, tenant] = await Promise.all([
    em.findOne(UserEntity, { id: session.userId }),
    em.findOne(TenantMemberEntity, { tenantId: session.tenantId, userId: session.userId }),
    em.findOne(TenantEntity, { id: session.tenantId }),
  ]);
  if (!user || user.disabledAt || !member || !tenant) return null;
  if (!SAFE_METHODS.has(ctx.method)) {
    const header = ctx.get(CSRF_HEADER);
    if (!header || !sameSecret(header, session.csrfHash)) throw csrfFailed();
  }
  if (Date.now() - session.lastSeenAt.getTime() > TOUCH_EVERY_MS) {
    await em.nativeUpdate(UserSessionEntity, { id: session.id }, { lastSeenAt: new Date() });
  }
  return {
    tenantId: tenant.id,
    tenantName: tenant.name,
    platformAdmin: tenant.platform && member.role === 'admin',
    role: member.role,
    via: 'session',
    keyId: null,
    keyName: null,
    keyPrefix: null,
    userId: user.id,
    userEmail: user.email,
    sessionId: session.id,
  };
}

/** Revokes one session (sign-out); revoking a revoked session changes nothing. */
export async function revokeSession(deps: Pick<AppDeps, 'orm'>, sessionId: string): Promise<void> {
  await deps.orm.em
    .fork()
    .nativeUpdate(UserSessionEntity, { id: sessionId, revokedAt: null }, { revokedAt: new Date() });
}

/** Revokes a user's sessions, optionally only in one tenant and sparing one (the caller's own). */
export async function revokeUserSessions(
  deps: Pick<AppDeps, 'orm'>,
  userId: string,
  opts: { tenantId?: string; exceptSessionId?: string } = {},
): Promise<number> {
  return deps.orm.em.fork().nativeUpdate(
    UserSessionEntity,
    {
      userId,
      revokedAt: null,
      ...(opts.tenantId ? { tenantId: opts.tenantId } : {}),
      ...(opts.exceptSessionId ? { id: { $ne: opts.exceptSessionId } } : {}),
    },
    { revokedAt: new Date() },
  );
}
