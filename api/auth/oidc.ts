/**
 * Single sign-on with OpenID Connect: the authorization code flow with PKCE (S256), state and nonce, through
 * openid-client. Nothing of a sign-in in progress is kept in server memory (the two legs may reach two API processes):
 * state, nonce, code verifier, return path and redirect URI travel in the `bc_oidc` cookie, AES-256-GCM sealed under a
 * key derived (HKDF) from the platform key tenant secrets are sealed under (lib/secrets/tenant-key.ts), which every
 * API process of an installation shares.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Context } from 'koa';
import * as client from 'openid-client';
import type { Config } from '../../lib/config';
import {
  ROLES,
  TenantEntity,
  TenantMemberEntity,
  UserEntity,
  UserIdentityEntity,
  type Role,
  type Tenant,
  type User,
} from '../../lib/db/entities';
import { AppError } from '../../lib/errors';
import { loadTenantSecretsKey } from '../../lib/secrets/tenant-key';
import type { AppDeps } from '../deps';

export type OidcSettings = NonNullable<Config['oidc']>;

export const OIDC_COOKIE = 'bc_oidc';
export const OIDC_CALLBACK_PATH = '/v1/auth/oidc/callback';
const OIDC_COOKIE_PATH = '/v1/auth/oidc';
const OIDC_COOKIE_TTL_MS = 10 * 60_000;

/** The refusals of a sign-in, each with the status its JSON answer has. */
export const OIDC_FAILURES = {
  oidc_not_configured: 404,
  oidc_state_mismatch: 400,
  oidc_denied: 401,
  oidc_token_invalid: 401,
  oidc_no_tenant: 403,
  oidc_no_role: 403,
  oidc_no_email: 403,
  oidc_email_unverified: 403,
  oidc_user_disabled: 403,
  oidc_provider_unavailable: 502,
} as const;
export type OidcFailureCode = keyof typeof OIDC_FAILURES;

export class OidcFailure extends AppError {
  constructor(
    code: OidcFailureCode,
    message: string,
    /** Who the refused sign-in was for, as far as it got (for the audit log). */
    readonly who: { tenantId?: string; userId?: string; email?: string } = {},
    details?: Record<string, unknown>,
  ) {
    const status = OIDC_FAILURES[code];
    super({
      code,
      message,
      status,
      category: status === 502 ? 'dependency' : status === 404 ? 'not_found' : 'auth',
      details,
    });
  }
}

export function oidcSettings(config: Config): OidcSettings {
  if (!config.oidc) throw new OidcFailure('oidc_not_configured', 'Single sign-on is not configured on this server.');
  return config.oidc;
}

// ---------------------------------------------------------------------------------------------------------------
// Discovery

const discovered = new WeakMap<OidcSettings, Promise<client.Configuration>>();

/** The provider's metadata, discovered once per process and settings; a failed discovery is retried next time. */
export function providerConfiguration(settings: OidcSettings, production: boolean): Promise<client.Configuration> {
  let found = discovered.get(settings);
  if (!found) {
    const issuer = new URL(settings.issuer);
    // Plain HTTP only to a provider on this machine or outside production (a development IdP); TLS otherwise.
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname);
    const insecure = issuer.protocol === 'http:' && (loopback || !production);
    found = client
      .discovery(
        issuer,
        settings.clientId,
        undefined,
        settings.clientSecret ? client.ClientSecretBasic(settings.clientSecret) : client.None(),
        { execute: insecure ? [client.allowInsecureRequests] : [], timeout: 10 },
      )
      .catch((err: unknown) => {
        discovered.delete(settings);
        throw providerFailure(err, 'discovery');
      });
    discovered.set(settings, found);
  }
  return found;
}

// ---------------------------------------------------------------------------------------------------------------
// The bc_oidc cookie

interface PendingSignIn {
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
  redirectUri: string;
  /** ms since the epoch; the cookie's own Max-Age is only the browser's side. */
  expiresAt: number;
}

const cookieKeys = new WeakMap<Config, Promise<Buffer>>();

/** HKDF of the platform key, so the cookie key is never the key tenant secrets are sealed with. */
function cookieKey(config: Config): Promise<Buffer> {
  let key = cookieKeys.get(config);
  if (!key) {
    key = loadTenantSecretsKey({
      key: config.secrets.tenantKey,
      dataDir: config.dataDir,
      production: config.env === 'production',
    }).then((platformKey) => Buffer.from(hkdfSync('sha256', platformKey, '', 'beyondcloud oidc state cookie v1', 32)));
    key.catch(() => cookieKeys.delete(config));
    cookieKeys.set(config, key);
  }
  return key;
}

// Bound to the provider and client: a cookie made for another configuration does not open.
const associatedData = (s: OidcSettings) => Buffer.from(`bc_oidc v1\0${s.issuer}\0${s.clientId}`, 'utf8');

async function sealPending(config: Config, pending: PendingSignIn): Promise<string> {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', await cookieKey(config), iv);
  cipher.setAAD(associatedData(oidcSettings(config)));
  const sealed = Buffer.concat([cipher.update(JSON.stringify(pending), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
}

/** The pending sign-in, or null for a missing, tampered, foreign or expired cookie. */
async function openPending(config: Config, value: string | undefined): Promise<PendingSignIn | null> {
  if (!value || value.length > 4096) return null;
  const raw = Buffer.from(value, 'base64url');
  if (raw.length < 12 + 16 + 1) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', await cookieKey(config), raw.subarray(0, 12));
    decipher.setAAD(associatedData(oidcSettings(config)));
    decipher.setAuthTag(raw.subarray(12, 28));
    const text = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    const pending = JSON.parse(text) as PendingSignIn;
    return typeof pending.expiresAt === 'number' && pending.expiresAt > Date.now() ? pending : null;
  } catch {
    return null;
  }
}

function cookieOptions(ctx: Context, config: Config) {
  const secure = config.auth.cookieSecure === 'auto' ? ctx.secure : config.auth.cookieSecure === 'true';
  // Behind a TLS-terminating proxy the request itself is plain HTTP; the operator said the browser sees HTTPS.
  if (secure) ctx.cookies.secure = true;
  return { httpOnly: true, sameSite: 'lax' as const, secure, path: OIDC_COOKIE_PATH, signed: false, overwrite: true };
}

// ---------------------------------------------------------------------------------------------------------------
// The two legs

/** A same-origin path to return to after signing in; anything else (`//host`, `https:`, `/\host`) becomes `/`. */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== 'string' || value.length > 2048 || !value.startsWith('/')) return '/';
  if (value.startsWith('//') || /[\\\p{Cc}]/u.test(value)) return '/';
  const base = 'http://return-to.invalid';
  const url = new URL(value, base);
  return url.origin === base ? `${url.pathname}${url.search}${url.hash}` : '/';
}

/** Starts a sign-in: sets the sealed bc_oidc cookie and answers with the provider's authorization URL. */
export async function beginSignIn(ctx: Context, deps: Pick<AppDeps, 'config'>, returnTo: unknown): Promise<URL> {
  const settings = oidcSettings(deps.config);
  const configuration = await providerConfiguration(settings, deps.config.env === 'production');
  const pending: PendingSignIn = {
    state: client.randomState(),
    nonce: client.randomNonce(),
    codeVerifier: client.randomPKCECodeVerifier(),
    returnTo: safeReturnTo(returnTo),
    // From the Host header by default: the provider only accepts a redirect URI registered for the client anyway.
    redirectUri: settings.redirectUri ?? `${ctx.protocol}://${ctx.host}${OIDC_CALLBACK_PATH}`,
    expiresAt: Date.now() + OIDC_COOKIE_TTL_MS,
  };
  const url = client.buildAuthorizationUrl(configuration, {
    redirect_uri: pending.redirectUri,
    scope: settings.scopes,
    response_type: 'code',
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await client.calculatePKCECodeChallenge(pending.codeVerifier),
    code_challenge_method: 'S256',
  });
  ctx.cookies.set(OIDC_COOKIE, await sealPending(deps.config, pending), {
    ...cookieOptions(ctx, deps.config),
    maxAge: OIDC_COOKIE_TTL_MS,
  });
  return url;
}

export interface SignedIn {
  userId: string;
  tenantId: string;
  email: string;
  role: Role;
  returnTo: string;
}

/**
 * Completes a sign-in from the provider's redirect: checks the state against the cookie, redeems the code with the
 * PKCE verifier, lets openid-client validate the ID token (signature, issuer, audience, expiry, nonce), maps the
 * claims to a tenant and role and provisions the user. Throws OidcFailure for everything the provider or the browser
 * got wrong. The caller starts the session.
 */
export async function completeSignIn(ctx: Context, deps: Pick<AppDeps, 'config' | 'orm' | 'log'>): Promise<SignedIn> {
  const settings = oidcSettings(deps.config);
  const pending = await openPending(deps.config, ctx.cookies.get(OIDC_COOKIE));
  // One use: whatever happens next, this cookie has served.
  ctx.cookies.set(OIDC_COOKIE, null, { ...cookieOptions(ctx, deps.config), maxAge: 0 });
  const state = ctx.query.state;
  if (!pending) {
    throw new OidcFailure(
      'oidc_state_mismatch',
      'No sign-in is in progress in this browser (or it expired); start again.',
    );
  }
  if (typeof state !== 'string' || !sameText(state, pending.state)) {
    throw new OidcFailure('oidc_state_mismatch', 'The state of the sign-in does not match; start again.');
  }
  const configuration = await providerConfiguration(settings, deps.config.env === 'production');
  // The token request's redirect_uri is derived from this URL, so it is the one the authorization request named.
  const currentUrl = new URL(pending.redirectUri);
  currentUrl.search = ctx.querystring;
  let claims: Record<string, unknown>;
  try {
    const tokens = await client.authorizationCodeGrant(configuration, currentUrl, {
      pkceCodeVerifier: pending.codeVerifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
    });
    const idToken = tokens.claims()!;
    claims = { ...idToken };
    // Providers that keep the ID token small (or conform to the spec's default) hand the rest out at userinfo.
    const wanted = ['email', settings.tenantClaim, settings.roleClaim].filter((c): c is string => Boolean(c));
    const userinfoEndpoint = configuration.serverMetadata().userinfo_endpoint;
    if (wanted.some((c) => claims[c] === undefined) && userinfoEndpoint && tokens.access_token) {
      const userinfo = await client.fetchUserInfo(configuration, tokens.access_token, idToken.sub);
      claims = { ...userinfo, ...idToken };
    }
  } catch (err) {
    throw providerFailure(err, 'callback');
  }
  const issuer = configuration.serverMetadata().issuer;
  const identity = readIdentity(claims);
  const em = deps.orm.em.fork();
  const tenant = await mapTenant(em, settings, claims);
  const role = mapRole(settings, claims, tenant.id, identity.email);
  const userId = await provisionWithRetry(deps, { issuer, identity, tenantId: tenant.id, role });
  return { userId, tenantId: tenant.id, email: identity.email, role, returnTo: pending.returnTo };
}

const sameText = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** What went wrong at the provider or in what it sent, as an OidcFailure; never a 500. */
function providerFailure(err: unknown, leg: 'discovery' | 'callback'): OidcFailure {
  const refuse = (code: OidcFailureCode, message: string, details?: Record<string, unknown>) =>
    new OidcFailure(code, message, {}, details);
  if (err instanceof OidcFailure) return err;
  if (isNetworkError(err)) {
    return refuse('oidc_provider_unavailable', 'The identity provider could not be reached; try again later.');
  }
  if (leg === 'discovery') {
    return refuse('oidc_provider_unavailable', 'The identity provider did not describe itself as expected.', {
      failure: errorCode(err),
    });
  }
  // The provider's own error codes (access_denied, invalid_grant…) are short protocol words, safe to pass on.
  if (err instanceof client.AuthorizationResponseError) {
    return refuse('oidc_denied', 'The identity provider did not sign you in.', { error: err.error.slice(0, 100) });
  }
  if (err instanceof client.ResponseBodyError) {
    return refuse('oidc_token_invalid', 'The identity provider refused to redeem the sign-in.', {
      error: err.error.slice(0, 100),
    });
  }
  const claim = failedClaim(err);
  return refuse('oidc_token_invalid', 'The identity provider’s token is not valid for this server.', {
    failure: errorCode(err),
    ...(claim ? { claim } : {}),
  });
}

function isNetworkError(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) {
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return true;
    if (e instanceof TypeError && e.message === 'fetch failed') return true;
    if (
      /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|UND_ERR_)/.test(String((e as { code?: unknown }).code))
    )
      return true;
  }
  return false;
}

const errorCode = (err: unknown) => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'unexpected';
};

/** The ID token claim whose check failed (`aud`, `exp`, `nonce`…), from openid-client's error causes. */
function failedClaim(err: unknown): string | undefined {
  for (let e = err; e instanceof Error; e = e.cause) {
    const claim = (e.cause as { claim?: unknown } | undefined)?.claim;
    if (typeof claim === 'string') return claim;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Claims

interface Identity {
  subject: string;
  email: string;
  emailVerified: boolean;
  displayName: string;
}

function readIdentity(claims: Record<string, unknown>): Identity {
  const email = typeof claims.email === 'string' ? claims.email.trim().toLowerCase() : '';
  if (!email || email.length > 320 || !/^[^\s@]+@[^\s@]+$/.test(email)) {
    throw new OidcFailure('oidc_no_email', 'The identity provider did not give an email address for this account.');
  }
  const name = [claims.name, claims.preferred_username].find((v) => typeof v === 'string' && v.trim()) as
    string | undefined;
  return {
    subject: String(claims.sub),
    email,
    // Some providers send the boolean as a string.
    emailVerified: claims.email_verified === true || claims.email_verified === 'true',
    displayName: (name ?? email).trim().slice(0, 200),
  };
}

/**
 * The tenant: the tenant claim names it (by id or name) when the token carries the claim, and an unknown or ambiguous
 * name is refused, never sent to the default; a token without the claim joins defaultTenant, if there is one.
 */
async function mapTenant(em: EntityManager, settings: OidcSettings, claims: Record<string, unknown>): Promise<Tenant> {
  const raw = settings.tenantClaim ? claims[settings.tenantClaim] : undefined;
  const values = (Array.isArray(raw) ? raw : raw === undefined || raw === null ? [] : [raw]).filter(
    (v): v is string => typeof v === 'string' && v.length > 0 && v.length <= 200,
  );
  const wanted =
    raw === undefined || raw === null ? settings.defaultTenant : values.length === 1 ? values[0] : undefined;
  const refuse = (problem: string) =>
    new OidcFailure('oidc_no_tenant', 'Your account is not assigned to a tenant of this server.', {}, { problem });
  if (!wanted) {
    throw refuse(values.length > 1 ? 'several tenants claimed' : raw == null ? 'no tenant claim' : 'bad tenant claim');
  }
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(wanted);
  const where = uuid ? { $or: [{ id: wanted }, { name: wanted }] } : { name: wanted };
  const found = await em.find(TenantEntity, where, { limit: 2 });
  if (found.length !== 1) throw refuse(found.length ? 'ambiguous tenant' : 'unknown tenant');
  return found[0]!;
}

/** The highest role any value of the role claim maps to, else the default role; `none` refuses. */
function mapRole(settings: OidcSettings, claims: Record<string, unknown>, tenantId: string, email: string): Role {
  const raw = settings.roleClaim ? claims[settings.roleClaim] : undefined;
  const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is string => typeof v === 'string');
  const mapped = new Set(values.filter((v) => Object.hasOwn(settings.roleMap, v)).map((v) => settings.roleMap[v]));
  const role = ROLES.find((r) => mapped.has(r)) ?? settings.defaultRole;
  if (role === 'none') {
    throw new OidcFailure('oidc_no_role', 'Your account has no role on this server.', { tenantId, email });
  }
  return role;
}

// ---------------------------------------------------------------------------------------------------------------
// Provisioning

interface Provision {
  issuer: string;
  identity: Identity;
  tenantId: string;
  role: Role;
}

/** Two first sign-ins of one person at once: the loser of the unique-key race finds the winner's rows. */
async function provisionWithRetry(deps: Pick<AppDeps, 'orm'>, p: Provision): Promise<string> {
  try {
    return await deps.orm.em.fork().transactional((em) => provision(em, p));
  } catch (err) {
    if (!(err instanceof UniqueConstraintViolationException)) throw err;
    return deps.orm.em.fork().transactional((em) => provision(em, p));
  }
}

/**
 * The user of an identity: found by (issuer, subject); else an existing user of the same email, linked only when the
 * provider says it verified the email (otherwise anyone who can register that address at the provider would take the
 * account over); else a new user without a password. Then the membership in the mapped tenant.
 */
async function provision(em: EntityManager, { issuer, identity, tenantId, role }: Provision): Promise<string> {
  const now = new Date();
  const who = { tenantId, email: identity.email };
  const link = await em.findOne(UserIdentityEntity, { issuer, subject: identity.subject });
  let user: User | null = link ? await em.findOne(UserEntity, { id: link.userId }) : null;
  if (link && user) {
    link.lastLoginAt = now;
  } else {
    user = await em.findOne(UserEntity, { email: identity.email });
    if (user && !identity.emailVerified) {
      throw new OidcFailure(
        'oidc_email_unverified',
        'An account with this email exists, and the identity provider has not verified the email, so it is not linked.',
        { ...who, userId: user.id },
      );
    }
    user ??= em.create(UserEntity, { email: identity.email, displayName: identity.displayName, passwordHash: null });
    await em.flush();
    if (link) link.userId = user.id;
    else em.create(UserIdentityEntity, { userId: user.id, issuer, subject: identity.subject, lastLoginAt: now });
  }
  if (user.disabledAt) {
    throw new OidcFailure('oidc_user_disabled', 'This account is disabled.', { ...who, userId: user.id });
  }
  // The provider is the source of truth for SSO members: every sign-in sets the role its claims map to, so a change
  // at the provider (a promotion, a demotion) takes effect at the next sign-in.
  const member = await em.findOne(TenantMemberEntity, { tenantId, userId: user.id });
  if (member) member.role = role;
  else em.create(TenantMemberEntity, { tenantId, userId: user.id, role });
  await em.flush();
  return user.id;
}
