import { randomUUID } from 'node:crypto';
import { createApiKey, createTenantWithKey } from '../api/auth/api-keys';
import { TenantEntity } from '../lib/db/entities';
import type { Orm } from '../lib/db/orm';

/** A parsed Set-Cookie header: the value and its attributes, lower-cased names. */
export interface SetCookie {
  name: string;
  value: string;
  attrs: Record<string, string | true>;
}

export function parseSetCookie(header: string): SetCookie {
  const [pair, ...rest] = header.split(';').map((s) => s.trim());
  const eq = pair!.indexOf('=');
  const attrs: Record<string, string | true> = {};
  for (const a of rest) {
    const i = a.indexOf('=');
    if (i < 0) attrs[a.toLowerCase()] = true;
    else attrs[a.slice(0, i).toLowerCase()] = a.slice(i + 1);
  }
  return { name: pair!.slice(0, eq), value: pair!.slice(eq + 1), attrs };
}

export interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert response fields one by one
  body: Record<string, any> | null;
  headers: Headers;
  cookies: SetCookie[];
}

/**
 * A browser-like client of the API: keeps the cookies it is given (as a browser would) and sends the CSRF header from
 * the `bc_csrf` cookie on writes, unless told to send another or none.
 */
export function sessionClient(base: string) {
  const jar = new Map<string, string>();
  return {
    jar,
    async request(
      method: string,
      path: string,
      opts: { body?: unknown; csrf?: string | false; key?: string; headers?: Record<string, string> } = {},
    ): Promise<Answer> {
      const headers: Record<string, string> = { ...opts.headers };
      if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      if (!['GET', 'HEAD', 'OPTIONS'].includes(method) && opts.csrf !== false) {
        const token = opts.csrf ?? jar.get('bc_csrf');
        if (token) headers['x-csrf-token'] = token;
      }
      if (opts.key) headers.authorization = `Bearer ${opts.key}`;
      if (opts.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(base + path, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      });
      const cookies = res.headers.getSetCookie().map(parseSetCookie);
      for (const c of cookies) {
        const expired = typeof c.attrs.expires === 'string' && new Date(c.attrs.expires).getTime() <= Date.now();
        if (expired || c.value === '') jar.delete(c.name);
        else jar.set(c.name, c.value);
      }
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers, cookies };
    },
    login(email: string, password: string, tenantId?: string) {
      return this.request('POST', '/v1/auth/login', { body: { email, password, ...(tenantId ? { tenantId } : {}) } });
    },
  };
}
export type SessionClient = ReturnType<typeof sessionClient>;

export const uniqueEmail = (tag = 'user') => `${tag}-${randomUUID().slice(0, 8)}@example.test`;
export const PASSWORD = 'correct horse battery staple';

/**
 * An admin key of the platform tenant (the one the first start makes). The test database is shared by every test
 * file, so the tenant is made only when no file has made it yet.
 */
export async function platformAdminKey(orm: Orm): Promise<{ tenantId: string; key: string }> {
  let tenant = await orm.em.fork().findOne(TenantEntity, { platform: true });
  if (!tenant) {
    await createTenantWithKey(orm, { tenantName: 'admin', keyName: 'bootstrap', role: 'admin', platform: true }).catch(
      () => undefined, // another file made it first (one platform tenant, by a unique index)
    );
    tenant = await orm.em.fork().findOneOrFail(TenantEntity, { platform: true });
  }
  const { key } = await createApiKey(orm, {
    tenantId: tenant.id,
    keyName: `test-platform-${randomUUID().slice(0, 6)}`,
    role: 'admin',
  });
  return { tenantId: tenant.id, key };
}
