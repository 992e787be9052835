import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { getMe } from '../api/auth';
import { ApiError } from '../api/request';
import type { Me } from '../api/types';

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

export const useSessionStore = defineStore('session', () => {
  const apiKey = ref<string | null>(readKey());
  const me = ref<Me | null>(null);
  let profileLoad: Promise<void> | null = null;

  const isSignedIn = computed(() => apiKey.value !== null);
  const role = computed(() => me.value?.role ?? null);
  const canOperate = computed(() => role.value === 'admin' || role.value === 'operator');

  /** Validates the key with GET /v1/system/me before keeping it; throws the ApiError otherwise. */
  async function signIn(key: string): Promise<void> {
    const profile = await getMe(key);
    apiKey.value = key;
    me.value = profile;
    writeKey(key);
  }

  /** After a reload the key survives but the profile does not; a rejected key signs out. */
  function ensureProfile(): Promise<void> {
    const key = apiKey.value;
    if (!key || me.value) return Promise.resolve();
    profileLoad ??= getMe(key)
      .then((profile) => {
        if (apiKey.value === key) me.value = profile;
      })
      .catch((err: unknown) => {
        // Other failures keep the key: the API may be restarting, and the pages show their own errors.
        if (err instanceof ApiError && err.status === 401 && apiKey.value === key) signOut();
      })
      .finally(() => {
        profileLoad = null;
      });
    return profileLoad;
  }

  function signOut(): void {
    apiKey.value = null;
    me.value = null;
    writeKey(null);
  }

  return { apiKey, me, isSignedIn, role, canOperate, signIn, ensureProfile, signOut };
});
