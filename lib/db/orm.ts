import { MikroORM, PostgreSqlDriver, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { entities } from './entities';
import { migrationsList } from './migrations';

export type Orm = MikroORM;

/**
 * The HNSW search list every connection starts with (pgvector's default is 40). Measured with `npm run
 * bench:retrieval` (docs/benchmarks.md): recall@10 against the exact top 10 is 0.944-0.949 at 40 and 0.982-0.985 at
 * 100 on 23k chunks; on 100k chunks (a real Postgres) 0.80 at 40, 0.91-0.93 at 100 and 0.969 at 200, where the
 * vector query takes 6.8 ms p50 against 5.6 at 100. Set once per pooled connection so a search needs no transaction
 * for `set local`; a search that wants more candidates than this still widens it for its own query
 * (lib/rag/retrieve.ts).
 */
export const HNSW_EF_SEARCH = 200;

/** A pooled connection as the pool hands it to `afterCreate` (node-postgres' client). */
interface PooledClient {
  query(sql: string, callback: (error?: Error | null) => void): void;
}

export function ormOptions(url: string, poolMax = 10): Options {
  return {
    driver: PostgreSqlDriver,
    clientUrl: url,
    entities,
    extensions: [Migrator],
    migrations: {
      migrationsList,
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
    pool: {
      min: 0,
      max: poolMax,
      acquireTimeoutMillis: 30_000,
      // A custom setting may be set before pgvector is loaded in the session; loading it keeps the value.
      afterCreate: (client: PooledClient, done: (error: Error | null, client: PooledClient) => void) =>
        client.query(`set hnsw.ef_search = ${HNSW_EF_SEARCH}`, (error) => done(error ?? null, client)),
    },
    driverOptions: { connection: { connectionTimeoutMillis: 5_000 } },
    ensureDatabase: false,
    allowGlobalContext: false,
    debug: false,
    discovery: { disableDynamicFileAccess: true },
  };
}

/**
 * The ports of the databases this process connects to: a socket error on one of them (ECONNREFUSED carries the
 * port) is the database being out of reach, which the API answers with 503 (api/errors.ts).
 */
export const databasePorts = new Set<number>();

export async function createOrm(url: string, poolMax = 10): Promise<Orm> {
  try {
    databasePorts.add(Number(new URL(url).port || 5432));
  } catch {
    // not a URL: MikroORM reports it
  }
  return MikroORM.init(ormOptions(url, poolMax));
}

export async function migrate(orm: Orm): Promise<string[]> {
  const applied = await orm.getMigrator().up();
  return applied.map((m) => m.name);
}

export async function pendingMigrations(orm: Orm): Promise<string[]> {
  return (await orm.getMigrator().getPendingMigrations()).map((m) => m.name);
}
