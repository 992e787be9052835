import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, resolveConfigSecrets } from '../config';
import { checkTenantSecretRef, openTenantSecret, sealTenantSecret } from './tenant';
import { loadTenantSecretsKey, parseTenantSecretsKey, TENANT_SECRETS_KEY_FILE, tenantSecretsKeyId } from './tenant-key';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bc-tenant-key-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('TENANT_SECRETS_KEY', () => {
  const key = randomBytes(32);

  it('is 32 bytes as hex or base64 (standard or URL-safe, padded or not)', () => {
    for (const text of [
      key.toString('hex'),
      key.toString('base64'),
      key.toString('base64url'),
      key.toString('base64').replace(/=$/, ''),
      ` ${key.toString('base64')}\n`,
    ]) {
      expect(parseTenantSecretsKey(text)?.equals(key), text).toBe(true);
    }
    for (const text of [
      '',
      'short',
      randomBytes(16).toString('base64'),
      randomBytes(31).toString('hex'),
      randomBytes(33).toString('base64'),
      `${key.toString('hex').slice(1)}g`,
    ]) {
      expect(parseTenantSecretsKey(text), text).toBeNull();
    }
  });

  it('is checked by the config, without printing it, and may be a secret reference', async () => {
    expect(() => loadConfig({ TENANT_SECRETS_KEY: 'not-a-key-but-a-secret' })).toThrow(
      /^config: TENANT_SECRETS_KEY must be 32 bytes as base64 or 64 hex characters/,
    );
    expect(() => loadConfig({ TENANT_SECRETS_KEY: 'not-a-key-but-a-secret' })).not.toThrow(/not-a-key-but-a-secret/);
    expect(loadConfig({ TENANT_SECRETS_KEY: key.toString('base64') }).secrets.tenantKey).toBe(key.toString('base64'));

    const env = { TENANT_SECRETS_KEY: 'env:BC_TEST_TENANT_KEY', BC_TEST_TENANT_KEY: key.toString('hex') };
    const resolved = await resolveConfigSecrets(loadConfig(env), env);
    expect(resolved.secrets.tenantKey).toBe(key.toString('hex'));
    const bad = { TENANT_SECRETS_KEY: 'env:BC_TEST_TENANT_KEY', BC_TEST_TENANT_KEY: 'too-short-to-be-a-key' };
    await expect(resolveConfigSecrets(loadConfig(bad), bad)).rejects.toThrow(
      /^config: TENANT_SECRETS_KEY must be 32 bytes/,
    );
  });
});

describe('the generated key file', () => {
  it('is created once in the data folder with mode 0600, and every process reads the same key', async () => {
    const dataDir = join(root, 'data');
    const keys = await Promise.all(
      Array.from({ length: 5 }, () => loadTenantSecretsKey({ dataDir, production: false })),
    );
    const path = join(dataDir, TENANT_SECRETS_KEY_FILE);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    for (const k of keys) expect(k.equals(keys[0]!)).toBe(true);
    expect(parseTenantSecretsKey(await readFile(path, 'utf8'))!.equals(keys[0]!)).toBe(true);
    expect((await loadTenantSecretsKey({ dataDir, production: false })).equals(keys[0]!)).toBe(true);
  });

  it('is not generated in production (the API and the workers would each make their own)', async () => {
    const dataDir = join(root, 'prod');
    await expect(loadTenantSecretsKey({ dataDir, production: true })).rejects.toThrow(
      /TENANT_SECRETS_KEY is required in production/,
    );
    const given = randomBytes(32);
    expect(
      (await loadTenantSecretsKey({ key: given.toString('base64'), dataDir, production: true })).equals(given),
    ).toBe(true);
  });

  it('refuses a damaged key file without printing it', async () => {
    const dataDir = join(root, 'damaged');
    await loadTenantSecretsKey({ dataDir, production: false });
    await writeFile(join(dataDir, TENANT_SECRETS_KEY_FILE), 'garbage-key-material\n');
    const e = (await loadTenantSecretsKey({ dataDir, production: false }).catch((err: unknown) => err)) as Error;
    expect(e.message).toMatch(/tenant-secrets\.key must be 32 bytes/);
    expect(e.message).not.toContain('garbage-key-material');
  });
});

describe('sealing', () => {
  const key = randomBytes(32);

  it('opens only with the same key, tenant and name', () => {
    const sealed = sealTenantSecret(key, 'tenant-a', 'token', 'value-123456');
    expect(sealed.keyId).toBe(tenantSecretsKeyId(key));
    expect(sealed.ciphertext.includes(Buffer.from('value-123456'))).toBe(false);
    expect(openTenantSecret(key, { tenantId: 'tenant-a', name: 'token', ...sealed })).toBe('value-123456');
    expect(() => openTenantSecret(key, { tenantId: 'tenant-b', name: 'token', ...sealed })).toThrow(/does not decrypt/);
    expect(() => openTenantSecret(key, { tenantId: 'tenant-a', name: 'other', ...sealed })).toThrow(/does not decrypt/);
    expect(() => openTenantSecret(randomBytes(32), { tenantId: 'tenant-a', name: 'token', ...sealed })).toThrow(
      /another TENANT_SECRETS_KEY/,
    );
    const flipped = Buffer.from(sealed.ciphertext);
    flipped[0]! ^= 1;
    expect(() =>
      openTenantSecret(key, { tenantId: 'tenant-a', name: 'token', ...sealed, ciphertext: flipped }),
    ).toThrow(/does not decrypt/);
  });

  it('tells tenant references from the platform’s', () => {
    expect(checkTenantSecretRef('secret:mcp-token')).toEqual({ ok: true, name: 'mcp-token' });
    for (const ref of ['env:DATABASE_URL', 'file:db-password', 'vault:kv/data/llm#api_key', 'env:'])
      expect(checkTenantSecretRef(ref)).toEqual({ ok: false, problem: 'not_allowed' });
    for (const ref of [
      'secret:',
      'secret:../x',
      'secret:a/b',
      'secret:.hidden',
      `secret:${'x'.repeat(101)}`,
      'plain',
      'Secret:x',
    ]) {
      expect(checkTenantSecretRef(ref), ref).toEqual({ ok: false, problem: 'bad' });
    }
  });
});
