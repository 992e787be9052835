import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

/**
 * PGlite (Postgres compiled to WASM) with pgvector, served on the Postgres wire protocol so the app uses the
 * ordinary driver and DATABASE_URL can point at any real Postgres instead. PGlite is a single session: the socket
 * server queues statements from all connections, so transactions must stay short.
 */
export async function startEmbeddedPostgres(opts: {
  /** Persist here; omit for an in-memory database (tests). */
  dataDir?: string;
  port: number;
  host?: string;
  maxConnections?: number;
}): Promise<EmbeddedPostgres> {
  if (opts.dataDir) await mkdir(opts.dataDir, { recursive: true });
  const db = await PGlite.create({ dataDir: opts.dataDir, extensions: { vector } });
  const host = opts.host ?? '127.0.0.1';
  const server = new PGLiteSocketServer({ db, port: opts.port, host, maxConnections: opts.maxConnections ?? 64 });
  try {
    await server.start();
  } catch (e) {
    await db.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`embedded Postgres port ${host}:${opts.port} is already in use (set PGLITE_PORT)`);
    throw e;
  }
  return {
    url: `postgres://postgres:postgres@${host}:${opts.port}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
