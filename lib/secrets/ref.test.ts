import { describe, expect, it } from 'vitest';
import { isSecretRef, parseSecretRef, SecretError } from './index';

function refusal(ref: string): SecretError {
  try {
    parseSecretRef(ref);
  } catch (e) {
    expect(e).toBeInstanceOf(SecretError);
    return e as SecretError;
  }
  throw new Error(`${ref} was accepted`);
}

describe('parseSecretRef', () => {
  it('parses the three schemes', () => {
    expect(parseSecretRef('env:OPENAI_API_KEY')).toEqual({
      scheme: 'env',
      ref: 'env:OPENAI_API_KEY',
      name: 'OPENAI_API_KEY',
    });
    expect(parseSecretRef('file:db-password')).toEqual({
      scheme: 'file',
      ref: 'file:db-password',
      name: 'db-password',
    });
    expect(parseSecretRef('file:.env_key.txt')).toMatchObject({ name: '.env_key.txt' });
    expect(parseSecretRef('vault:kv/data/llm#api_key')).toEqual({
      scheme: 'vault',
      ref: 'vault:kv/data/llm#api_key',
      mount: 'kv',
      path: 'llm',
      key: 'api_key',
    });
    expect(parseSecretRef('vault:team/kv/data/prod/openai/v1#key.with-dots')).toMatchObject({
      mount: 'team/kv',
      path: 'prod/openai/v1',
      key: 'key.with-dots',
    });
    // the first /data/ splits mount from path; a later "data" segment belongs to the path
    expect(parseSecretRef('vault:secret/data/app/data/x#k')).toMatchObject({ mount: 'secret', path: 'app/data/x' });
  });

  it.each([
    ['env:', 'names nothing'],
    ['env:1ABC', 'environment variable'],
    ['env:A-B', 'environment variable'],
    ['env:A B', 'environment variable'],
    ['file:', 'names nothing'],
    ['file:../etc/passwd', 'without "/"'],
    ['file:..', 'without ".."'],
    ['file:.', 'without ".."'],
    ['file:a..b', 'without ".."'],
    ['file:sub/name', 'without "/"'],
    ['file:/etc/passwd', 'without "/"'],
    ['file:..\\x', 'without "/"'],
    ['file:a\u0000b', 'control characters'],
    ['vault:kv/data/llm', 'must end with #<key>'],
    ['vault:kv/data/llm#', 'empty key'],
    ['vault:kv/data/llm#a#b', 'more than one "#"'],
    ['vault:kv/llm#k', 'KV v2'],
    ['vault:/data/llm#k', 'KV v2'],
    ['vault:kv/data/#k', 'empty secret path'],
    ['vault:kv/data/a//b#k', 'bad Vault secret path'],
    ['vault:kv/data/a/../b#k', 'bad Vault secret path'],
    ['vault:kv/data/a?x=1#k', 'bad Vault secret path'],
    ['vault:k v/data/a#k', 'bad Vault mount'],
  ])('refuses %j (%s)', (ref, problem) => {
    const e = refusal(ref);
    expect(e.code).toBe('bad_reference');
    expect(e.name).toBe('SecretError');
    expect(e.message).toContain(problem);
    expect(e.message).toContain(JSON.stringify(ref));
  });

  it('refuses a plain string without repeating it (it may be a literal secret)', () => {
    const literal = 'sk-live-literal-value-123';
    const e = refusal(literal);
    expect(e.code).toBe('bad_reference');
    expect(e.message).not.toContain(literal);
    expect(refusal('ENV:X').code).toBe('bad_reference');
  });
});

describe('isSecretRef', () => {
  it('is true for the known schemes only, well-formed or not', () => {
    for (const v of ['env:X', 'file:x', 'vault:kv/data/a#b', 'vault:nonsense', 'env:'])
      expect(isSecretRef(v)).toBe(true);
    for (const v of ['sk-123', 'postgres://u:p@h/db', 'https://x', 'Env:X', ' env:X', 'aws:x', '', undefined, 42]) {
      expect(isSecretRef(v)).toBe(false);
    }
  });
});
