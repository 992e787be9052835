import { mkdir } from 'node:fs/promises';
import type { AddressInfo, Server } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { SessionQueue } from './pglite-queue';

export interface EmbeddedPostgres {
  url: string;
  /** The port it listens on (the one the OS chose when asked for port 0). */
  port: number;
  stop(): Promise<void>;
}

/**
 * PGlite (Postgres compiled to WASM) with pgvector, served on the Postgres wire protocol so the app uses the
 * ordinary driver and DATABASE_URL can point at any real Postgres instead. PGlite is a single session: the socket
 * server queues statements from all connections (through ./pglite-queue.ts, which keeps each connection's batches
 * and transactions whole), so transactions must stay short.
 */
export async function startEmbeddedPostgres(opts: {
  /** Persist here; omit for an in-memory database (tests). */
  dataDir?: string;
  /** 0: the OS chooses a free port (read it from the result). */
  port: number;
  host?: string;
  maxConnections?: number;
}): Promise<EmbeddedPostgres> {
  if (opts.dataDir) await mkdir(opts.dataDir, { recursive: true });
  const db = await PGlite.create({ dataDir: opts.dataDir, extensions: { vector } });
  const host = opts.host ?? '127.0.0.1';
  const server = new PGLiteSocketServer({ db, port: opts.port, host, maxConnections: opts.maxConnections ?? 64 });
  // Set before the first connection: each connection's handler takes the server's queue when it attaches.
  (server as unknown as { queryQueue: SessionQueue }).queryQueue = new SessionQueue(db);
  try {
    await server.start();
  } catch (e) {
    await db.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new Error(`embedded Postgres port ${host}:${opts.port} is already in use (set PGLITE_PORT)`);
    throw e;
  }
  // pglite-socket reports the port it was given; the one bound is on its net.Server.
  const bound = (server as unknown as { server: Server | null }).server?.address() as AddressInfo | null;
  const port = bound?.port ?? opts.port;
  return {
    url: `postgres://postgres:postgres@${host}:${port}/postgres`,
    port,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
