import { QuotaService } from './quota/service';
import { TenantSettings } from '../lib/settings';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig, resolveConfigSecrets } from '../lib/config';
import { createOrm, pendingMigrations } from '../lib/db/orm';
import { createLlmGateway } from '../lib/llm';
import { resolveEmbeddingModel } from '../lib/llm/local-models';
import { createLogger } from '../lib/log';
import { createTenantSecrets } from '../lib/secrets/tenant';
import { BlobStore } from '../lib/storage/blobs';
import { createTemporalClient } from '../lib/temporal/client';
import { startTelemetry } from '../lib/telemetry';
import { createApp } from './app';
import { answerClientErrors } from './errors';
import { ensureBootstrapAdmin } from './auth/api-keys';
import { startAuditRetention } from './audit/retention';

/** The API process. With `npm start` the launcher has already migrated and bootstrapped. */
async function main() {
  const loaded = await resolveConfigSecrets(loadConfig());
  const log = createLogger(loaded.logLevel, 'api');
  // The embedding model new collections get, decided as `npm start` decides it (which, after a fallback, passes the
  // outcome in LLM_MODEL_EMBEDDING): fetched now, or the hashing fallback with one line saying so.
  const { config, fallback } = await resolveEmbeddingModel(loaded, { log: (line) => log.info(line) });
  if (fallback) log.warn(fallback);
  const telemetry = startTelemetry({
    serviceName: 'beyondcloud-api',
    tracing: config.telemetry.tracing,
    otlpEndpoint: config.telemetry.otlpEndpoint,
    log,
  });
  if (!config.temporal.address) throw new ConfigError('TEMPORAL_ADDRESS', 'is required for the API process');
  if (!config.database.url) throw new ConfigError('DATABASE_URL', 'is required for the API process');

  const orm = await createOrm(config.database.url, config.database.poolMax);
  telemetry.spanStore?.attach(orm);
  const temporal = await createTemporalClient({ ...config.temporal, address: config.temporal.address });
  // The API never migrates (the launcher or the migrate job does); on a schema behind the code it says so and stops.
  const pending = await pendingMigrations(orm);
  if (pending.length) {
    throw new StartupError(
      `the database schema is not migrated (pending: ${pending.join(', ')}); run \`npm run migrate\``,
    );
  }
  const bootstrap = await ensureBootstrapAdmin(orm, config.api.bootstrapAdminKey);
  if (bootstrap?.generated)
    log.warn({ tenantId: bootstrap.tenantId }, `created the admin tenant; its API key (shown once): ${bootstrap.key}`);
  else if (bootstrap)
    log.info({ tenantId: bootstrap.tenantId }, 'created the admin tenant with the key from BOOTSTRAP_ADMIN_KEY');

  const app = createApp({
    config,
    orm,
    temporal,
    log,
    blobs: new BlobStore(config.ingest.blobDir),
    secrets: createTenantSecrets({ orm, config }),
    quotas: new QuotaService({ config, orm, temporal }),
    settings: new TenantSettings(orm),
    llm: createLlmGateway({ config, orm, log }),
  });
  const retention = startAuditRetention({ orm, log, retentionDays: config.audit.retentionDays });
  const server = app.listen(config.api.port, config.api.host, () => {
    // API_PORT=0 takes any free port: the one bound is what is logged and reported to the launcher.
    const port = (server.address() as AddressInfo).port;
    log.info({ url: `http://${config.api.host}:${port}` }, 'api listening');
    process.send?.({ type: 'ready', port });
  });
  answerClientErrors(server);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    const retentionStopped = retention.stop();
    // In-flight requests (a ?wait=true start can take a while) get the drain window; idle keep-alives go now.
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), config.api.drainMs).unref();
    server.close(() => {
      void retentionStopped
        .then(() => telemetry.shutdown())
        .then(() => Promise.all([orm.close(), temporal.connection.close()]))
        .finally(() => process.exit(0));
    });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  if (process.send) process.once('disconnect', stop);
}

class StartupError extends Error {}

main().catch((e: unknown) => {
  console.error(e instanceof ConfigError || e instanceof StartupError ? `api: ${e.message}` : e);
  process.exit(1);
});
