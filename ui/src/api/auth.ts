import { request } from './request';
import type { Me, SignedIn, SignInProviders } from './types';

/** The tenant, role and key or user of the session; with `apiKey`, checks that key rather than the session's. */
export function getMe(apiKey?: string): Promise<Me> {
  return request<Me>('/v1/system/me', apiKey === undefined ? {} : { apiKey });
}

/** Which ways of signing in the API offers (single sign-on only when configured). */
export function getProviders(): Promise<SignInProviders> {
  return request<SignInProviders>('/v1/auth/providers', { anonymous: true });
}

/** Password sign-in: the API sets the session and CSRF cookies. */
export function login(email: string, password: string): Promise<SignedIn> {
  return request<SignedIn>('/v1/auth/login', { method: 'POST', body: { email, password }, anonymous: true });
}

/** Redeems an invitation token (a new account's password, or an existing account's own) and signs in. */
export function acceptInvitation(token: string, password: string, displayName?: string): Promise<SignedIn> {
  return request<SignedIn>('/v1/auth/invitations/accept', {
    method: 'POST',
    body: { token, password, ...(displayName ? { displayName } : {}) },
    anonymous: true,
  });
}

/** Ends the session on the server and clears its cookies. */
export function logout(): Promise<void> {
  return request<void>('/v1/auth/logout', { method: 'POST' });
}

/** A new session in another tenant of the user; the old one is revoked. */
export function switchTenant(tenantId: string): Promise<SignedIn> {
  return request<SignedIn>('/v1/auth/session/tenant', { method: 'POST', body: { tenantId } });
}

/** Where the browser goes to sign in with the configured identity provider. */
export const SSO_LOGIN_PATH = '/v1/auth/oidc/login';

export interface SessionProfile {
  user: { id: string; email: string; displayName: string };
  tenant: { id: string; name: string };
  role: Me['role'];
  platformAdmin: boolean;
  tenants: SignedIn['tenants'];
}

/** Who the session cookie signs in as, with every tenant the user may switch to. */
export function getSession(): Promise<SessionProfile> {
  return request<SessionProfile>('/v1/auth/session');
}
