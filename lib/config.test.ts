import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactUrl } from './config';

const load = (env: NodeJS.ProcessEnv) => loadConfig({ HOME: '/home/u', ...env });

describe('loadConfig', () => {
  it('gives the documented defaults: embedded Temporal and Postgres', () => {
    const c = load({});
    expect(c.api).toMatchObject({ host: '127.0.0.1', port: 8080, bodyLimit: '1mb' });
    expect(c.temporal).toMatchObject({ address: null, namespace: 'default', taskQueue: 'beyondcloud', tls: false, devPort: 7233, uiPort: 8233 });
    expect(c.temporal.cliCacheDir).toBe('/home/u/.cache/beyondcloud/temporal-cli');
    expect(c.database).toMatchObject({ url: null, poolMax: 10, pglitePort: 54329 });
    expect(c.dataDir.endsWith('/.data')).toBe(true);
  });

  it('treats empty strings as unset', () => {
    expect(load({ TEMPORAL_ADDRESS: '', DATABASE_URL: '' }).temporal.address).toBeNull();
  });

  it.each([
    ['API_PORT', 'abc'],
    ['API_PORT', '70000'],
    ['TEMPORAL_ADDRESS', 'no-port-here'],
    ['DATABASE_URL', 'mysql://x@y/z'],
    ['LOG_LEVEL', 'loud'],
    ['API_BODY_LIMIT', 'lots'],
    ['TEMPORAL_TLS', 'maybe'],
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
