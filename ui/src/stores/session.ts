import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import * as authApi from '../api/auth';
import { ApiError, hasSessionCookie } from '../api/request';
import type { Me, SignedIn, TenantMembership } from '../api/types';

/** sessionStorage only: the key lives as long as the tab and never reaches localStorage or a URL. */
const STORAGE_KEY = 'beyondcloud.apiKey';

function readKey(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

function writeKey(key: string | null): void {
  try {
    if (key === null) sessionStorage.removeItem(STORAGE_KEY);
    else sessionStorage.setItem(STORAGE_KEY, key);
  } catch {
    // storage disabled: the key then lasts only until reload
  }
}

const meOf = (s: SignedIn): Me => ({
  tenant: s.tenant,
  role: s.role,
  via: 'session',
  key: null,
  user: { id: s.user.id, email: s.user.email },
});

/**
 * Who the console is signed in as: a user, by password or single sign-on (the session lives in an HttpOnly cookie
 * the page never sees), or an operator's API key (kept in this tab's session storage).
 */
export const useSessionStore = defineStore('session', () => {
  const apiKey = ref<string | null>(readKey());
  /** A cookie session is believed to exist; GET /v1/system/me confirms it (a 401 signs out). */
  const cookieSession = ref(apiKey.value === null && hasSessionCookie());
  const me = ref<Me | null>(null);
  const tenants = ref<TenantMembership[]>([]);
  let profileLoad: Promise<void> | null = null;

  const isSignedIn = computed(() => apiKey.value !== null || cookieSession.value);
  const role = computed(() => me.value?.role ?? null);
  const canOperate = computed(() => role.value === 'admin' || role.value === 'operator');
  /** Changes whenever the person, key or tenant behind the console does: stores drop what they hold then. */
  const identity = computed(
    () => apiKey.value ?? (cookieSession.value ? `session:${me.value?.user?.id}:${me.value?.tenant.id}` : null),
  );

  /** Validates the key with GET /v1/system/me before keeping it; throws the ApiError otherwise. */
  async function signIn(key: string): Promise<void> {
    const profile = await authApi.getMe(key);
    cookieSession.value = false;
    apiKey.value = key;
    me.value = profile;
    writeKey(key);
  }

  function adopt(signedIn: SignedIn): void {
    apiKey.value = null;
    writeKey(null);
    cookieSession.value = true;
    me.value = meOf(signedIn);
    tenants.value = signedIn.tenants;
  }

  /** Email and password; the API answers with the session cookies. */
  async function signInWithPassword(email: string, password: string): Promise<void> {
    adopt(await authApi.login(email, password));
  }

  async function acceptInvitation(token: string, password: string, displayName?: string): Promise<void> {
    adopt(await authApi.acceptInvitation(token, password, displayName));
  }

  async function switchTenant(tenantId: string): Promise<void> {
    adopt(await authApi.switchTenant(tenantId));
  }

  /** After a reload the key or cookie survives but the profile does not; a rejected one signs out. */
  function ensureProfile(): Promise<void> {
    const key = apiKey.value;
    if (!isSignedIn.value || me.value) return Promise.resolve();
    const load: Promise<Me> = key
      ? authApi.getMe(key)
      : authApi.getSession().then((s) => {
          tenants.value = s.tenants;
          return {
            tenant: s.tenant,
            role: s.role,
            platformAdmin: s.platformAdmin,
            via: 'session',
            key: null,
            user: s.user,
          };
        });
    profileLoad ??= load
      .then((profile) => {
        if (apiKey.value === key) me.value = profile;
      })
      .catch((err: unknown) => {
        // Other failures keep the sign-in: the API may be restarting, and the pages show their own errors.
        if (err instanceof ApiError && err.status === 401 && apiKey.value === key) signOut();
      })
      .finally(() => {
        profileLoad = null;
      });
    return profileLoad;
  }

  /** Forgets the sign-in here (the API already refused it, or logout below ended it). */
  function signOut(): void {
    apiKey.value = null;
    cookieSession.value = false;
    me.value = null;
    tenants.value = [];
    writeKey(null);
  }

  /** Sign-out from the header: a cookie session is ended on the server too. */
  async function logout(): Promise<void> {
    if (cookieSession.value) await authApi.logout().catch(() => undefined);
    signOut();
  }

  return {
    apiKey,
    me,
    tenants,
    identity,
    isSignedIn,
    role,
    canOperate,
    signIn,
    signInWithPassword,
    acceptInvitation,
    switchTenant,
    ensureProfile,
    signOut,
    logout,
  };
});
