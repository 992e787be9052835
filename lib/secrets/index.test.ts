import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretResolver, REDACTED, SecretError, SecretRegistry, secretRegistry } from './index';

async function failure(p: Promise<unknown>): Promise<SecretError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(SecretError);
    return e as SecretError;
  }
  throw new Error('resolved, but a SecretError was expected');
}

let root: string;
let dir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bc-secrets-'));
  dir = join(root, 'secrets');
  await mkdir(dir);
  await writeFile(join(root, 'outside'), 'outside-the-folder');
  await writeFile(join(dir, 'db-password'), 'pa55word-from-file\n');
  await writeFile(join(dir, 'crlf'), 'value-with-crlf\r\n');
  await writeFile(join(dir, 'empty'), '\n');
  await mkdir(join(dir, 'a-folder'));
  // Kubernetes secret volumes: each key is a link into a timestamped ..data folder
  await mkdir(join(dir, '..2026_01_01_00_00_00.000000001'));
  await writeFile(join(dir, '..2026_01_01_00_00_00.000000001', 'api-key'), 'k8s-mounted-key');
  await symlink('..2026_01_01_00_00_00.000000001', join(dir, '..data'));
  await symlink(join('..data', 'api-key'), join(dir, 'api-key'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('env: references', () => {
  it('resolves an environment variable and registers the value for redaction', async () => {
    const registry = new SecretRegistry();
    const r = createSecretResolver({ env: { LLM_KEY: 'sk-env-value-1' }, registry });
    expect(await r.resolve('env:LLM_KEY')).toBe('sk-env-value-1');
    expect(registry.redact('key sk-env-value-1')).toBe(`key ${REDACTED}`);
  });

  it('registers in the process-wide registry by default', async () => {
    const value = `default-registry-${Date.now()}`;
    await createSecretResolver({ env: { X: value } }).resolve('env:X');
    expect(secretRegistry.redact(`<${value}>`)).toBe(`<${REDACTED}>`);
  });

  it('refuses an unset or empty variable as not_found, naming the reference', async () => {
    const r = createSecretResolver({ env: { EMPTY: '' } });
    for (const ref of ['env:MISSING', 'env:EMPTY']) {
      const e = await failure(r.resolve(ref));
      expect(e.code).toBe('not_found');
      expect(e.ref).toBe(ref);
      expect(e.message).toContain(JSON.stringify(ref));
    }
  });
});

describe('file: references', () => {
  it('reads a file from the secrets folder, without its trailing line break', async () => {
    const r = createSecretResolver({ env: {}, secretsDir: dir });
    expect(await r.resolve('file:db-password')).toBe('pa55word-from-file');
    expect(await r.resolve('file:crlf')).toBe('value-with-crlf');
  });

  it('follows a Kubernetes secret volume link inside the folder', async () => {
    const r = createSecretResolver({ env: {}, secretsDir: dir });
    expect(await r.resolve('file:api-key')).toBe('k8s-mounted-key');
  });

  it('refuses path traversal before touching the disk', async () => {
    const r = createSecretResolver({ env: {}, secretsDir: dir });
    for (const ref of ['file:../outside', 'file:..', 'file:/etc/passwd', 'file:..data', 'file:sub/x']) {
      const e = await failure(r.resolve(ref));
      expect(e.code).toBe('bad_reference');
      expect(e.message).not.toContain('outside-the-folder');
    }
  });

  it('answers not_found for a missing file, a folder and an empty file', async () => {
    const r = createSecretResolver({ env: {}, secretsDir: dir });
    expect((await failure(r.resolve('file:nope'))).code).toBe('not_found');
    expect((await failure(r.resolve('file:a-folder'))).code).toBe('not_found');
    expect((await failure(r.resolve('file:empty'))).code).toBe('not_found');
  });

  it('refuses file: references when no secrets folder is configured', async () => {
    const e = await failure(createSecretResolver({ env: {} }).resolve('file:db-password'));
    expect(e.code).toBe('bad_reference');
    expect(e.message).toContain('no secrets folder');
  });
});

describe('resolve and resolveAll', () => {
  it('refuses bad references and vault: without a Vault', async () => {
    const r = createSecretResolver({ env: {} });
    expect((await failure(r.resolve('env:1X'))).code).toBe('bad_reference');
    expect((await failure(r.resolve('plain-literal'))).code).toBe('bad_reference');
    const e = await failure(r.resolve('vault:kv/data/llm#api_key'));
    expect(e.code).toBe('bad_reference');
    expect(e.message).toContain('no Vault address');
  });

  it('resolves the references among the values and keeps the rest', async () => {
    const r = createSecretResolver({ env: { A: 'value-of-a' }, secretsDir: dir, registry: new SecretRegistry() });
    const input = { A: 'env:A', B: 'file:db-password', C: 'literal-c', D: undefined };
    const out = await r.resolveAll(input);
    expect(out).toEqual({ A: 'value-of-a', B: 'pa55word-from-file', C: 'literal-c', D: undefined });
    expect(input.A).toBe('env:A');
  });

  it('throws the first failing key, its name leading the message', async () => {
    const r = createSecretResolver({ env: {}, secretsDir: dir });
    const e = await failure(r.resolveAll({ OK: 'file:db-password', FIRST: 'env:NOPE', SECOND: 'file:../x' }));
    expect(e.code).toBe('not_found');
    expect(e.message.startsWith('FIRST: secret "env:NOPE"')).toBe(true);
    expect(e.message).not.toContain('pa55word');
  });
});
