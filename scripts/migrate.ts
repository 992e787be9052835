/**
 * Applies pending migrations to DATABASE_URL and creates the admin tenant on a fresh database, then exits.
 * `npm start` does this itself; deployments (infra/k8s) run it as a Job before rolling out the API and workers.
 */
import { ensureBootstrapAdmin } from '../api/auth/api-keys';
import { ConfigError, loadConfig, redactUrl } from '../lib/config';
import { createOrm, migrate } from '../lib/db/orm';

try {
  const config = loadConfig();
  if (!config.database.url) throw new ConfigError('DATABASE_URL', 'is required to run migrations');
  const orm = await createOrm(config.database.url, 1);
  try {
    const applied = await migrate(orm);
    console.log(applied.length ? `applied: ${applied.join(', ')}` : `up to date: ${redactUrl(config.database.url)}`);
    const bootstrap = await ensureBootstrapAdmin(orm, config.api.bootstrapAdminKey);
    if (bootstrap?.generated)
      console.log(`created the admin tenant ${bootstrap.tenantId}; its API key (shown once): ${bootstrap.key}`);
    else if (bootstrap)
      console.log(`created the admin tenant ${bootstrap.tenantId} with the key from BOOTSTRAP_ADMIN_KEY`);
  } finally {
    await orm.close();
  }
} catch (e) {
  console.error(e instanceof ConfigError ? e.message : `migrate failed: ${(e as Error).message}`);
  process.exit(1);
}
