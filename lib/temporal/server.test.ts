import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePostgresUrl, TEMPORAL_SERVER_VERSION } from './server';

describe('the Temporal server built from its Go packages', () => {
  it('is the version the compose file and its admin tools pin', () => {
    const compose = readFileSync(new URL('../../temporal.docker-compose.yml', import.meta.url), 'utf8');
    expect(compose).toContain(`image: temporalio/server:${TEMPORAL_SERVER_VERSION}\n`);
    expect(compose).toContain(`image: temporalio/admin-tools:${TEMPORAL_SERVER_VERSION}-`);
  });

  it("reads a Postgres URL's host, port and credentials", () => {
    expect(parsePostgresUrl('postgres://temporal:s%40cret@db.internal:6543/x')).toEqual({
      host: 'db.internal',
      port: 6543,
      user: 'temporal',
      password: 's@cret',
    });
    expect(parsePostgresUrl('postgresql://127.0.0.1/postgres')).toEqual({
      host: '127.0.0.1',
      port: 5432,
      user: 'postgres',
      password: '',
    });
    expect(() => parsePostgresUrl('mysql://x')).toThrow(/postgres/);
  });
});
