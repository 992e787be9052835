import { SecretError, showRef, type SecretRef } from './ref';
import type { SecretRegistry } from './registry';

type VaultRef = Extract<SecretRef, { scheme: 'vault' }>;

export interface VaultOptions {
  /** http(s)://host:port of Vault or OpenBao. */
  address: string;
  /** A Vault token. Takes precedence over AppRole. */
  token?: string;
  /** AppRole role_id and secret_id, used to log in when no token is given. */
  roleId?: string;
  secretId?: string;
  /** Vault Enterprise / OpenBao namespace, sent as X-Vault-Namespace. */
  namespace?: string;
  /** Per-request timeout (default 5000 ms). */
  timeoutMs?: number;
}

export const DEFAULT_VAULT_TIMEOUT_MS = 5000;

export interface VaultReader {
  read(ref: VaultRef): Promise<string>;
}

/** A failure inside the reader, turned into a SecretError naming the reference by read(). */
class VaultProblem extends Error {
  constructor(
    readonly code: SecretError['code'],
    readonly problem: string,
  ) {
    super(problem);
  }
}

const fail = (code: SecretError['code'], problem: string) => new VaultProblem(code, problem);

/**
 * Reads KV v2 secrets. Each (mount, path) is read once for the reader's lifetime: the answer is cached, and
 * concurrent lookups of keys of one path share one request. A failed read is not cached.
 *
 * Nothing a server answers is put into an error message: messages name the reference, the Vault origin and the
 * HTTP status only. The token, role id, secret id and the token an AppRole login returns are added to the registry
 * so that redaction hides them too. Redirects are not followed (the token would go along): point the address at
 * the active node or a load balancer.
 */
export function createVaultReader(
  opts: VaultOptions,
  deps: { fetch: typeof fetch; registry: SecretRegistry },
): VaultReader {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_VAULT_TIMEOUT_MS;
  let origin: string | null = null;
  let base: string | null = null;
  try {
    const u = new URL(opts.address);
    if (u.protocol === 'http:' || u.protocol === 'https:') {
      origin = u.origin;
      base = `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
    }
  } catch {
    // reported on first use
  }
  for (const v of [opts.token, opts.roleId, opts.secretId]) if (v) deps.registry.add(v);

  const cache = new Map<string, Promise<Record<string, unknown>>>();
  let login: Promise<string> | null = null;

  const headers = (token?: string): Record<string, string> => {
    const h: Record<string, string> = { accept: 'application/json' };
    if (token) h['x-vault-token'] = token;
    if (opts.namespace) h['x-vault-namespace'] = opts.namespace;
    return h;
  };

  /** One HTTP request with the timeout; network failures become 'unreachable'. Returns status and parsed JSON. */
  async function request(
    url: string,
    init: { method: string; headers: Record<string, string>; body?: string },
  ): Promise<{ status: number; json: unknown }> {
    let res: Response;
    try {
      res = await deps.fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    } catch (e) {
      if (isTimeout(e)) throw fail('unreachable', `Vault at ${origin} did not answer within ${timeoutMs} ms`);
      throw fail('unreachable', `Vault at ${origin} could not be reached (${networkCode(e)})`);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      throw fail(
        'unreachable',
        isTimeout(e)
          ? `Vault at ${origin} did not finish its answer within ${timeoutMs} ms`
          : `Vault at ${origin} broke off its answer`,
      );
    }
    let json: unknown = undefined;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json };
  }

  function statusProblem(status: number, what: string): VaultProblem {
    if (status === 401 || status === 403)
      return fail('unauthorized', `Vault at ${origin} denied ${what} (HTTP ${status})`);
    if (status === 404) return fail('not_found', `Vault at ${origin} has no ${what} (HTTP 404)`);
    if (status === 429 || status >= 500)
      return fail('unreachable', `Vault at ${origin} is unavailable (HTTP ${status})`);
    if (status >= 300 && status < 400) {
      return fail('bad_response', `Vault at ${origin} redirected ${what} (HTTP ${status}); redirects are not followed`);
    }
    return fail('bad_response', `Vault at ${origin} refused ${what} (HTTP ${status})`);
  }

  async function appRoleLogin(): Promise<string> {
    const { status, json } = await request(`${base}/v1/auth/approle/login`, {
      method: 'POST',
      headers: { ...headers(), 'content-type': 'application/json' },
      body: JSON.stringify({ role_id: opts.roleId, secret_id: opts.secretId }),
    });
    // Vault answers 400 "invalid role or secret ID" to wrong credentials.
    if (status === 400 || status === 401 || status === 403) {
      throw fail('unauthorized', `Vault at ${origin} refused the AppRole login (HTTP ${status})`);
    }
    if (status !== 200) throw statusProblem(status, 'the AppRole login');
    const token = (json as { auth?: { client_token?: unknown } } | undefined)?.auth?.client_token;
    if (typeof token !== 'string' || token === '') {
      throw fail('bad_response', `Vault at ${origin} answered the AppRole login without a client token`);
    }
    deps.registry.add(token);
    return token;
  }

  /** The token to use: the configured one, or one AppRole login shared by all reads (tried again after a failure). */
  function token(renew = false): Promise<string> {
    if (opts.token) return Promise.resolve(opts.token);
    if (!opts.roleId || !opts.secretId) {
      return Promise.reject(fail('unauthorized', 'no Vault token and no AppRole role id and secret id are configured'));
    }
    if (!login || renew) {
      const attempt = appRoleLogin();
      login = attempt;
      attempt.catch(() => {
        if (login === attempt) login = null;
      });
    }
    return login;
  }

  async function readPath(ref: VaultRef): Promise<Record<string, unknown>> {
    const url = `${base}/v1/${enc(ref.mount)}/data/${enc(ref.path)}`;
    const what = `the secret ${ref.mount}/data/${ref.path}`;
    let used = await token();
    let res = await request(url, { method: 'GET', headers: headers(used) });
    if (res.status === 403 && !opts.token) {
      // The AppRole token may have expired or been revoked since the login: log in again (unless another read
      // already did) and try once more.
      const current = login ? await login.catch(() => null) : null;
      used = await token(current === used);
      res = await request(url, { method: 'GET', headers: headers(used) });
    }
    if (res.status !== 200) throw statusProblem(res.status, what);
    const data = (res.json as { data?: { data?: unknown } } | undefined)?.data?.data;
    if (data === null) throw fail('not_found', `Vault at ${origin} has ${what} deleted or destroyed`);
    if (typeof data !== 'object' || data === undefined || Array.isArray(data)) {
      throw fail('bad_response', `Vault at ${origin} answered for ${what} without a KV v2 data object`);
    }
    return data as Record<string, unknown>;
  }

  async function readKey(ref: VaultRef): Promise<string> {
    if (!base) throw fail('bad_reference', 'the Vault address is not an http(s) URL');
    const cacheKey = `${ref.mount}\u0000${ref.path}`;
    let pending = cache.get(cacheKey);
    if (!pending) {
      pending = readPath(ref);
      cache.set(cacheKey, pending);
      pending.catch(() => cache.delete(cacheKey));
    }
    const data = await pending;
    const where = `Vault secret ${ref.mount}/data/${ref.path}`;
    if (!Object.hasOwn(data, ref.key)) throw fail('not_found', `${where} has no key ${JSON.stringify(ref.key)}`);
    const value = data[ref.key];
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw fail('bad_response', `${where} key ${JSON.stringify(ref.key)} is not a string`);
  }

  return {
    async read(ref) {
      try {
        return await readKey(ref);
      } catch (e) {
        if (e instanceof VaultProblem) {
          throw new SecretError(e.code, `secret ${showRef(ref.ref)}: ${e.problem}`, { ref: ref.ref });
        }
        throw e;
      }
    },
  };
}

function isTimeout(e: unknown): boolean {
  const name = (e as { name?: unknown } | null)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

function enc(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** The system error code of a failed fetch (ECONNREFUSED, ENOTFOUND, ...), never its message. */
function networkCode(e: unknown): string {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur && typeof cur === 'object'; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z0-9_]+$/.test(code)) return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return 'network error';
}
