/**
 * `npm start`: the embedded stack in one command, offline, no Docker. Starts (unless pointed elsewhere) the Temporal
 * dev server and PGlite, applies migrations, bootstraps the admin key, then runs the worker and API as children.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ensureConsoleBuilt } from '../api/console';
import { ensureBootstrapAdmin } from '../api/auth/api-keys';
import { ConfigError, loadConfig, redactUrl, resolveConfigSecrets, type Config } from '../lib/config';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../lib/db/embedded';
import { createOrm, migrate, type Orm } from '../lib/db/orm';
import { resolveEmbeddingModel } from '../lib/llm/local-models';
import { watchNpmLauncher } from '../lib/process/launcher';
import { reapStale, writePidFile } from '../lib/process/pidfile';
import { acquireTemporalCli } from '../lib/temporal/cli';
import { startDevServer, type DevServer } from '../lib/temporal/dev-server';

const say = (line: string) => console.log(`[start] ${line}`);
const root = fileURLToPath(new URL('..', import.meta.url));

class StartError extends Error {}

async function connectDatabase(url: string, config: Config): Promise<Orm> {
  let orm: Orm | undefined;
  try {
    orm = await createOrm(url, config.database.poolMax);
    await Promise.race([
      orm.em.getConnection().execute('select 1'),
      sleep(10_000).then(() => {
        throw new Error('no answer within 10 s');
      }),
    ]);
    return orm;
  } catch (e) {
    await orm?.close().catch(() => {});
    const reason = (e as Error).message.split('\n')[0];
    throw new StartError(`cannot connect to DATABASE_URL ${redactUrl(url)}: ${reason}`);
  }
}

interface Ready {
  type: 'ready';
  /** The port the API bound (API_PORT=0 takes any free one). */
  port?: number;
}

function startChild(
  name: string,
  script: string,
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; ready: Ready }> {
  const child = fork(join(root, script), [], {
    env,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new StartError(`${name} exited during start (code ${code})`));
    child.once('exit', onExit);
    child.on('message', (m: Partial<Ready>) => {
      if (m?.type === 'ready') {
        child.off('exit', onExit);
        resolve({ child, ready: m as Ready });
      }
    });
  });
}

async function stopChild(child: ChildProcess | undefined, graceMs: number) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(graceMs + 5_000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

async function main() {
  // Resolved here too so a bad secret reference stops the start before anything runs.
  const loaded = await resolveConfigSecrets(loadConfig());
  // The embedding model new collections get: its files fetched now (like the Temporal CLI), or the hashing fallback
  // with one line saying so; a model LLM_MODEL_EMBEDDING names and that cannot be fetched stops the start here.
  const { config, fallback } = await resolveEmbeddingModel(loaded, { log: say });
  if (fallback) say(`warning: ${fallback}`);
  const runDir = join(config.dataDir, 'run');
  await mkdir(runDir, { recursive: true });
  // A launcher killed with SIGKILL leaves its Temporal server behind: end it so its ports and locks free up.
  for (const f of await readdir(runDir)) if (f.endsWith('.pid')) await reapStale(join(runDir, f), say);

  let pg: EmbeddedPostgres | undefined;
  let orm: Orm | undefined;
  let temporal: DevServer | undefined;
  const children: ChildProcess[] = [];
  let stopping = false;

  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping...');
    for (const child of [...children].reverse())
      await stopChild(child, Math.max(config.worker.shutdownGraceMs, config.api.drainMs));
    await temporal?.stop();
    await orm?.close().catch(() => {});
    await pg?.stop().catch(() => {});
    say('stopped');
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));
  watchNpmLauncher(() => {
    say('npm ended (it does not pass SIGTERM on)');
    void shutdown(0);
  });

  try {
    let databaseUrl = config.database.url;
    if (databaseUrl) {
      orm = await connectDatabase(databaseUrl, config);
      say(`database: ${redactUrl(databaseUrl)}`);
    } else {
      const dir = join(config.dataDir, 'pglite');
      pg = await startEmbeddedPostgres({ dataDir: dir, port: config.database.pglitePort });
      databaseUrl = pg.url;
      orm = await connectDatabase(databaseUrl, config);
      say(`embedded Postgres (PGlite + pgvector): ${databaseUrl}  data: ${dir}`);
    }
    const applied = await migrate(orm);
    say(applied.length ? `migrations applied: ${applied.join(', ')}` : 'migrations: up to date');

    const bootstrap = await ensureBootstrapAdmin(orm, config.api.bootstrapAdminKey);

    let temporalAddress = config.temporal.address;
    if (!temporalAddress) {
      const cliPath = await acquireTemporalCli({
        explicitPath: config.temporal.cliPath,
        cacheDir: config.temporal.cliCacheDir,
        log: say,
      });
      temporal = await startDevServer({
        cliPath,
        port: config.temporal.devPort,
        uiPort: config.temporal.uiPort,
        dbFile: join(config.dataDir, 'temporal', 'temporal.db'),
        logFile: join(config.dataDir, 'logs', 'temporal.log'),
        namespace: config.temporal.namespace,
      });
      await writePidFile(join(runDir, 'temporal.pid'), {
        pid: temporal.process.pid!,
        marker: join(config.dataDir, 'temporal'),
      });
      temporalAddress = temporal.address;
      temporal.process.once('exit', (c) => {
        if (!stopping) {
          say(`Temporal dev server exited unexpectedly (${c}); see ${join(config.dataDir, 'logs', 'temporal.log')}`);
          void shutdown(1);
        }
      });
    }

    await ensureConsoleBuilt(say);
    const env: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: temporalAddress, DATABASE_URL: databaseUrl };
    // The API decides the same way on its own (api/server.ts); after a fallback it is told the outcome instead, so
    // it neither tries the download again nor repeats the line.
    if (fallback) env.LLM_MODEL_EMBEDDING = config.llm.models.embedding;
    let apiPort = config.api.port;
    for (const [name, script] of [
      ['worker', 'workers/main.ts'],
      ['api', 'api/server.ts'],
    ] as const) {
      const { child, ready } = await startChild(name, script, env);
      if (name === 'api' && ready.port) apiPort = ready.port;
      children.push(child);
      child.once('exit', (c, s) => {
        if (!stopping) {
          say(`${name} exited unexpectedly (${s ?? c}); stopping the stack`);
          void shutdown(1);
        }
      });
    }

    const apiUrl = `http://${config.api.host}:${apiPort}`;
    say('BeyondCloud is up:');
    say(`  Console      ${apiUrl}/`);
    say(`  API          ${apiUrl}/v1   (health: ${apiUrl}/healthz, readiness: ${apiUrl}/readyz)`);
    say(
      `  Temporal     ${temporalAddress}  namespace ${config.temporal.namespace}${temporal?.uiUrl ? `  Web UI ${temporal.uiUrl}` : ''}`,
    );
    say(`  Postgres     ${redactUrl(databaseUrl)}`);
    say(`  Embeddings   ${config.llm.models.embedding} for new collections${fallback ? ' (fallback, see above)' : ''}`);
    say(`  data folder  ${config.dataDir}`);
    if (bootstrap?.generated) {
      say('');
      say(`  Admin API key (shown once, only its hash is stored): ${bootstrap.key}`);
      say(`  Try: curl -H "Authorization: Bearer ${bootstrap.key}" ${apiUrl}/v1/system/me`);
      say('');
    } else if (bootstrap) {
      say('  Admin tenant created with the key from BOOTSTRAP_ADMIN_KEY.');
    }
    say('Ctrl-C stops everything.');
  } catch (e) {
    console.error(`[start] error: ${e instanceof StartError ? e.message : ((e as Error).stack ?? String(e))}`);
    await shutdown(1);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof ConfigError ? `[start] error: ${e.message}` : e);
  process.exit(1);
});
