/**
 * PGlite in a process of its own, for bench/ingest: the topology `npm start` runs (its supervisor holds PGlite, the
 * worker is a separate process), so the worker's thread does not also execute the database. Started with the port as
 * the only argument; prints `ready <url>` once it serves, and stops when its stdin closes (the parent exited) or on
 * SIGTERM.
 */
import { startEmbeddedPostgres } from '../../lib/db/embedded';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) throw new Error(`usage: pglite-process.ts <port>, got ${process.argv[2]}`);
const pg = await startEmbeddedPostgres({ port });
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await pg.stop().catch(() => {});
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.stdin.on('close', () => void stop());
process.stdin.resume();
process.stdout.write(`ready ${pg.url}\n`);
