/**
 * A real Temporal server (not the dev server) on a real Postgres, on this machine's loopback: the server and its SQL
 * tool built from their Go packages at the version the compose file pins (lib/temporal/server.ts), Temporal's two
 * databases created and migrated by that tool, the namespace and search attributes registered by
 * infra/temporal/register-namespace.sh, as the compose file and Kubernetes do it. Runs until Ctrl-C (or SIGTERM),
 * then stops the server; the databases stay.
 *
 *   TEMPORAL_CLUSTER_DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres npm run temporal:cluster
 *
 * TEMPORAL_CLUSTER_PORT: the frontend's port (7233; 0 for a free one); TEMPORAL_CLUSTER_DIR: its config folder
 * (.data/temporal-cluster); TEMPORAL_CLUSTER_SHARDS: history shards (4, fixed once the databases exist).
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../lib/config';
import { acquireTemporalCli } from '../lib/temporal/cli';
import {
  acquireTemporalServer,
  parsePostgresUrl,
  registerNamespace,
  setupTemporalSchema,
  startTemporalServer,
  TEMPORAL_SERVER_VERSION,
  temporalServerCacheDir,
} from '../lib/temporal/server';

const root = fileURLToPath(new URL('..', import.meta.url));
const log = (l: string) => console.error(`[temporal-cluster] ${l}`);

async function main() {
  const config = loadConfig();
  const url = process.env.TEMPORAL_CLUSTER_DATABASE_URL;
  if (!url)
    throw new ConfigError('TEMPORAL_CLUSTER_DATABASE_URL', 'is required: a Postgres for Temporal (12 or later).');
  const pg = parsePostgresUrl(url);
  const port = Number(process.env.TEMPORAL_CLUSTER_PORT ?? 7233);
  const shards = Number(process.env.TEMPORAL_CLUSTER_SHARDS ?? 4);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError('TEMPORAL_CLUSTER_PORT', 'must be 0..65535');
  if (!Number.isInteger(shards) || shards < 1 || shards > 16384)
    throw new ConfigError('TEMPORAL_CLUSTER_SHARDS', 'must be 1..16384');

  const cli = await acquireTemporalCli({
    explicitPath: config.temporal.cliPath,
    cacheDir: config.temporal.cliCacheDir,
    log,
  });
  const bin = await acquireTemporalServer({
    cacheDir: temporalServerCacheDir(config.temporal.cliCacheDir),
    log,
  });
  log(`schema: temporal and temporal_visibility on ${pg.host}:${pg.port} ...`);
  await setupTemporalSchema(bin, pg);
  const server = await startTemporalServer({
    bin,
    pg,
    dir: resolve(process.env.TEMPORAL_CLUSTER_DIR ?? resolve(root, '.data', 'temporal-cluster')),
    dynamicConfigFile: resolve(root, 'infra', 'temporal', 'dynamicconfig.yaml'),
    frontendPort: port,
    numHistoryShards: shards,
  });
  const stop = async () => {
    server.child.removeAllListeners('exit');
    await server.stop();
    process.exit(0);
  };
  server.child.once('exit', (code) => {
    console.error(`[temporal-cluster] the server exited (${code}):\n${server.output()}`);
    process.exit(1);
  });
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());

  try {
    await registerNamespace({
      cli,
      script: resolve(root, 'infra', 'temporal', 'register-namespace.sh'),
      address: server.address,
      namespace: config.temporal.namespace,
    });
  } catch (e) {
    await server.stop();
    throw e;
  }
  console.log(
    `Temporal server ${TEMPORAL_SERVER_VERSION} on ${server.address} (namespace ${config.temporal.namespace}, ` +
      `${shards} history shards, Postgres ${pg.host}:${pg.port}). Ctrl-C stops it.`,
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof ConfigError ? e.message : ((e as Error).stack ?? String(e)));
  process.exit(1);
});
