import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createSecretResolver, REDACTED, SecretError, SecretRegistry, type VaultOptions } from './index';
import { startFakeVault, startOpenBao, type FakeVault, type VaultBackend } from '../../test/vault-test-server';

async function failure(p: Promise<unknown>): Promise<SecretError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(SecretError);
    return e as SecretError;
  }
  throw new Error('resolved, but a SecretError was expected');
}

/** A fetch that records every request the resolver makes (method, path, token) before passing it on. */
function recordingFetch() {
  const calls: { method: string; path: string; token?: string }[] = [];
  const f: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const token = new Headers(init?.headers).get('x-vault-token') ?? undefined;
    calls.push({ method: init?.method ?? 'GET', path: url.pathname, token });
    return fetch(input, init);
  };
  return {
    fetch: f,
    calls,
    reads: () => calls.filter((c) => c.method === 'GET' && c.path.includes('/data/')).length,
    logins: () => calls.filter((c) => c.path === '/v1/auth/approle/login').length,
  };
}

const unique = (prefix: string) => `${prefix}-${randomBytes(6).toString('hex')}`;

// The real OpenBao is found or installed by the test setup (test/tools.ts); when it cannot be, its suite fails with
// the one line that says how to get it, never skips.
const bao = inject('testTools').bao;
const backends: { name: string; start: () => Promise<VaultBackend> }[] = [
  { name: 'the KV v2 test server', start: startFakeVault },
  {
    name: `OpenBao (${bao.path ?? 'not installed'})`,
    start: () => (bao.path ? startOpenBao(bao.path) : Promise.reject(new Error(bao.problem))),
  },
];

for (const backend of backends) {
  describe(`vault: references against ${backend.name}`, () => {
    let vault: VaultBackend;
    const resolver = (vaultOpts: Partial<VaultOptions>, registry = new SecretRegistry()) => {
      const rec = recordingFetch();
      const r = createSecretResolver({
        env: {},
        vault: { address: vault.address, ...vaultOpts },
        fetch: rec.fetch,
        registry,
      });
      return { ...r, rec, registry };
    };

    beforeAll(async () => {
      vault = await backend.start();
      await vault.put('kv', 'llm', { api_key: 'sk-vault-llm-key', org: 'org-123456', retries: 3 });
      await vault.put('kv', 'team/db', { password: 'db-pass-from-vault' });
    }, 60_000);
    afterAll(async () => {
      await vault?.close();
    });

    it('reads a key with token auth', async () => {
      const r = resolver({ token: vault.rootToken });
      expect(await r.resolve('vault:kv/data/llm#api_key')).toBe('sk-vault-llm-key');
      expect(await r.resolve('vault:kv/data/team/db#password')).toBe('db-pass-from-vault');
      expect(await r.resolve('vault:kv/data/llm#retries')).toBe('3');
      expect(r.rec.calls.every((c) => c.token === vault.rootToken)).toBe(true);
      expect(r.registry.redact('sk-vault-llm-key')).toBe(REDACTED);
    });

    it('logs in with AppRole, then reads with the token it got', async () => {
      const role = await vault.createAppRole(unique('reader'));
      const r = resolver({ roleId: role.roleId, secretId: role.secretId });
      const [a, b] = await Promise.all([
        r.resolve('vault:kv/data/llm#api_key'),
        r.resolve('vault:kv/data/team/db#password'),
      ]);
      expect([a, b]).toEqual(['sk-vault-llm-key', 'db-pass-from-vault']);
      expect(r.rec.logins()).toBe(1);
      expect(r.rec.calls[0]!.path).toBe('/v1/auth/approle/login');
      expect(r.rec.calls[0]!.token).toBeUndefined();
      const readTokens = r.rec.calls.filter((c) => c.method === 'GET').map((c) => c.token);
      expect(readTokens).toHaveLength(2);
      expect(readTokens[0]).toBeTruthy();
      expect(readTokens[0]).not.toBe(vault.rootToken);
      // the token the login returned is registered for redaction too
      expect(r.registry.redact(`token ${readTokens[0]}`)).toBe(`token ${REDACTED}`);
    });

    it('logs in again when the AppRole token was revoked', async () => {
      const role = await vault.createAppRole(unique('relogin'));
      const r = resolver({ roleId: role.roleId, secretId: role.secretId });
      expect(await r.resolve('vault:kv/data/llm#api_key')).toBe('sk-vault-llm-key');
      await vault.revoke(r.rec.calls.find((c) => c.method === 'GET')!.token!);
      expect(await r.resolve('vault:kv/data/team/db#password')).toBe('db-pass-from-vault');
      expect(r.rec.logins()).toBe(2);
    });

    it('refuses a wrong token as unauthorized, without the token in the message', async () => {
      const wrong = `hvs.${unique('wrong-token')}`;
      const r = resolver({ token: wrong });
      const e = await failure(r.resolve('vault:kv/data/llm#api_key'));
      expect(e.code).toBe('unauthorized');
      expect(e.message).toContain('"vault:kv/data/llm#api_key"');
      expect(e.message).toContain('HTTP 403');
      expect(e.message).not.toContain(wrong);
      expect(JSON.stringify(e)).not.toContain(wrong);
    });

    it('refuses a wrong AppRole secret id as unauthorized, without role id or secret id in the message', async () => {
      const role = await vault.createAppRole(unique('wrong'));
      const wrongSecret = unique('wrong-secret-id');
      const r = resolver({ roleId: role.roleId, secretId: wrongSecret });
      const e = await failure(r.resolve('vault:kv/data/llm#api_key'));
      expect(e.code).toBe('unauthorized');
      expect(e.message).toContain('AppRole login');
      for (const s of [role.roleId, wrongSecret, role.secretId]) expect(e.message).not.toContain(s);
    });

    it('refuses without credentials', async () => {
      const e = await failure(resolver({}).resolve('vault:kv/data/llm#api_key'));
      expect(e.code).toBe('unauthorized');
    });

    it('answers not_found for a missing key, path or mount', async () => {
      const r = resolver({ token: vault.rootToken });
      const key = await failure(r.resolve('vault:kv/data/llm#nope'));
      expect(key.code).toBe('not_found');
      expect(key.message).toContain('has no key "nope"');
      expect((await failure(r.resolve('vault:kv/data/no/such/path#k'))).code).toBe('not_found');
      expect((await failure(r.resolve('vault:nomount/data/llm#api_key'))).code).toBe('not_found');
    });

    it('reads a path once for keys of one path, concurrent or not', async () => {
      const r = resolver({ token: vault.rootToken });
      const serverReadsBefore = vault.kind === 'test-server' ? (vault as FakeVault).reads() : 0;
      const out = await r.resolveAll({
        KEY: 'vault:kv/data/llm#api_key',
        ORG: 'vault:kv/data/llm#org',
        DB: 'vault:kv/data/team/db#password',
        LITERAL: 'plain',
      });
      expect(out).toEqual({ KEY: 'sk-vault-llm-key', ORG: 'org-123456', DB: 'db-pass-from-vault', LITERAL: 'plain' });
      expect(r.rec.reads()).toBe(2);
      expect(await r.resolve('vault:kv/data/llm#org')).toBe('org-123456');
      expect((await failure(r.resolve('vault:kv/data/llm#missing'))).code).toBe('not_found');
      expect(r.rec.reads()).toBe(2);
      if (vault.kind === 'test-server') expect((vault as FakeVault).reads() - serverReadsBefore).toBe(2);
    });

    it('does not cache a failed read', async () => {
      const r = resolver({ token: vault.rootToken });
      const path = unique('later');
      expect((await failure(r.resolve(`vault:kv/data/${path}#k`))).code).toBe('not_found');
      await vault.put('kv', path, { k: 'arrived-later' });
      expect(await r.resolve(`vault:kv/data/${path}#k`)).toBe('arrived-later');
    });

    it('never lets a canary secret into an error message or through redaction', async () => {
      const canary = `canary-${randomBytes(16).toString('hex')}`;
      const path = unique('canary');
      await vault.put('kv', path, { value: canary, nested: { inner: canary } });
      const registry = new SecretRegistry();
      const r = resolver({ token: vault.rootToken }, registry);
      expect(await r.resolve(`vault:kv/data/${path}#value`)).toBe(canary);

      const messages: string[] = [];
      for (const ref of [`vault:kv/data/${path}#nested`, `vault:kv/data/${path}#missing`]) {
        const e = await failure(r.resolve(ref));
        messages.push(e.message, String(e), JSON.stringify(e), e.stack ?? '');
      }
      const wrong = resolver({ token: canary }); // a token that happens to equal the canary
      const denied = await failure(wrong.resolve(`vault:kv/data/${path}#value`));
      expect(denied.code).toBe('unauthorized');
      messages.push(denied.message, denied.stack ?? '');
      for (const m of messages) expect(m).not.toContain(canary);

      const logLine = JSON.stringify({
        level: 30,
        msg: `calling the model with ${canary}`,
        headers: { authorization: `Bearer ${canary}` },
      });
      const redacted = registry.redact(logLine);
      expect(redacted).not.toContain(canary);
      expect(redacted).toContain(`Bearer ${REDACTED}`);
      expect(registry.redact(`${canary.slice(0, 20)}`)).toBe(canary.slice(0, 20));
    });
  });
}

describe('vault: against a hostile test server that echoes credentials in its errors', () => {
  let fake: FakeVault;
  beforeAll(async () => {
    fake = await startFakeVault();
    fake.echoCredentials = true;
    await fake.put('kv', 'llm', { api_key: 'sk-vault-llm-key' });
  });
  afterAll(async () => {
    await fake?.close();
  });

  it('keeps the echoed token, role id and secret id out of the messages', async () => {
    const token = `hvs.${unique('echoed-token')}`;
    const e1 = await failure(
      createSecretResolver({
        env: {},
        vault: { address: fake.address, token },
        registry: new SecretRegistry(),
      }).resolve('vault:kv/data/llm#api_key'),
    );
    expect(e1.code).toBe('unauthorized');
    expect(`${e1.message}${e1.stack}`).not.toContain(token);

    const roleId = unique('echoed-role');
    const secretId = unique('echoed-secret');
    const e2 = await failure(
      createSecretResolver({
        env: {},
        vault: { address: fake.address, roleId, secretId },
        registry: new SecretRegistry(),
      }).resolve('vault:kv/data/llm#api_key'),
    );
    expect(e2.code).toBe('unauthorized');
    for (const s of [roleId, secretId]) expect(`${e2.message}${e2.stack}`).not.toContain(s);
    // the server did echo them: the test would catch a message built from the body
    expect(fake.requests.some((r) => r.token === token)).toBe(true);
  });

  it('sends X-Vault-Namespace on the login and on reads', async () => {
    const role = await fake.createAppRole('ns');
    const before = fake.requests.length;
    const r = createSecretResolver({
      env: {},
      vault: { address: fake.address, roleId: role.roleId, secretId: role.secretId, namespace: 'team-a' },
      registry: new SecretRegistry(),
    });
    expect(await r.resolve('vault:kv/data/llm#api_key')).toBe('sk-vault-llm-key');
    const sent = fake.requests.slice(before);
    expect(sent.map((s) => s.path)).toEqual(['/v1/auth/approle/login', '/v1/kv/data/llm']);
    expect(sent.every((s) => s.namespace === 'team-a')).toBe(true);
  });
});

describe('vault: when Vault cannot be reached', () => {
  let silent: Server;
  let silentPort: number;
  let closedPort: number;
  beforeAll(async () => {
    // a server that accepts connections and never answers
    silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentPort = (silent.address() as AddressInfo).port;
    const s = createServer();
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    closedPort = (s.address() as AddressInfo).port;
    await new Promise<void>((resolve) => s.close(() => resolve()));
  });
  afterAll(async () => {
    silent.closeAllConnections();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('answers unreachable for a closed port', async () => {
    const token = `hvs.${unique('tok')}`;
    const r = createSecretResolver({
      env: {},
      vault: { address: `http://127.0.0.1:${closedPort}`, token },
      registry: new SecretRegistry(),
    });
    const e = await failure(r.resolve('vault:kv/data/llm#api_key'));
    expect(e.code).toBe('unreachable');
    expect(e.message).toContain('ECONNREFUSED');
    expect(e.message).toContain(`http://127.0.0.1:${closedPort}`);
    expect(e.message).not.toContain(token);
  });

  it('answers unreachable when Vault does not answer within the timeout', async () => {
    const r = createSecretResolver({
      env: {},
      vault: { address: `http://127.0.0.1:${silentPort}`, token: 'hvs.some-token', timeoutMs: 200 },
      registry: new SecretRegistry(),
    });
    const started = Date.now();
    const e = await failure(r.resolve('vault:kv/data/llm#api_key'));
    expect(e.code).toBe('unreachable');
    expect(e.message).toContain('did not answer within 200 ms');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses an address that is not an http(s) URL', async () => {
    const r = createSecretResolver({
      env: {},
      vault: { address: 'vault.internal:8200', token: 'hvs.x' },
      registry: new SecretRegistry(),
    });
    expect((await failure(r.resolve('vault:kv/data/llm#api_key'))).code).toBe('bad_reference');
  });
});
