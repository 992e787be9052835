import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureConsoleBuilt } from '../api/console';
import { buildWorkflowBundle } from '../workers/bundle';
import { loadConfig } from '../lib/config';
import { startEmbeddedPostgres } from '../lib/db/embedded';
import { createOrm, migrate } from '../lib/db/orm';
import { resolveEmbeddingModel } from '../lib/llm/local-models';
import { acquireTemporalCli } from '../lib/temporal/cli';
import { startDevServer } from '../lib/temporal/dev-server';
import { acquireTestTools, type TestTools } from './tools';
import { acquireComposeCheck, acquireKustomize } from './deployment-tools';
import { acquirePostgres } from '../lib/db/local-postgres';
import { acquireJaeger } from '../lib/telemetry/jaeger';
import { acquireTemporalServer, temporalServerCacheDir } from '../lib/temporal/server';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    databaseUrl: string;
    workflowBundlePath: string;
    temporalCliPath: string;
    tmpDir: string;
    /** Chromium, the Python docs and OpenBao: a path, or the one-line problem a test that needs it fails with. */
    testTools: TestTools;
  }
}

/**
 * What a few test files build with Go on a machine's first run (kustomize, compose-check, the Temporal server, Jaeger)
 * or install (Debian's PostgreSQL with pgvector), acquired here one after another before any test starts, so those
 * builds (minutes, both cores) do not run inside test hooks beside the other files. Each file acquires its tool again
 * (from the cache) and reports a failure itself; here a failure is only logged.
 */
async function prefetchBuiltTools(cliCacheDir: string): Promise<void> {
  const log = (line: string) => console.log(`[test tools] ${line}`);
  const steps: Array<[string, () => Promise<unknown>]> = [
    ['kustomize', () => acquireKustomize(process.env, log)],
    ['compose-check', () => acquireComposeCheck(process.env, log)],
    ['PostgreSQL with pgvector', () => acquirePostgres(log)],
    ['the Temporal server', () => acquireTemporalServer({ cacheDir: temporalServerCacheDir(cliCacheDir), log })],
    ['Jaeger', () => acquireJaeger({ log })],
  ];
  for (const [name, step] of steps) {
    await step().catch((e: unknown) => console.error(`[test tools] ${name}: ${(e as Error).message.slice(0, 500)}`));
  }
}

/**
 * One Temporal dev server (in memory, free port) and one embedded Postgres (in memory, migrated) for the whole run,
 * plus the workflow bundle built once. Always torn down, also when setup fails halfway.
 */
export default async function setup(project: TestProject) {
  const cleanups: Array<() => Promise<unknown>> = [];
  const teardown = async () => {
    for (const c of cleanups.reverse()) await c().catch((e: unknown) => console.error('teardown:', e));
  };
  try {
    const tmpDir = await mkdtemp(join(tmpdir(), 'beyondcloud-test-'));
    cleanups.push(() => rm(tmpDir, { recursive: true, force: true }));
    const config = loadConfig({ ...process.env, NODE_ENV: 'test' });

    const [cliPath, pg, workflowBundlePath, , testTools, embedding] = await Promise.all([
      acquireTemporalCli({
        explicitPath: config.temporal.cliPath,
        cacheDir: config.temporal.cliCacheDir,
        log: console.log,
      }),
      startEmbeddedPostgres({ port: 0 }),
      buildWorkflowBundle(join(tmpDir, 'workflow-bundle.js')),
      ensureConsoleBuilt(console.log), // the e2e test and npm start serve it
      acquireTestTools(process.env, (line) => console.log(`[test tools] ${line}`)),
      // The default embedding model, fetched into the cache as `npm start` fetches it.
      resolveEmbeddingModel(config, { log: (line) => console.log(`[models] ${line}`) }),
      prefetchBuiltTools(config.temporal.cliCacheDir),
    ]);
    if (embedding.fallback) {
      console.error(`[models] ${embedding.fallback}`);
      // The test files' processes and the stacks they start inherit this: they create collections as npm start would.
      process.env.LLM_MODEL_EMBEDDING = embedding.config.llm.models.embedding;
    }
    for (const tool of Object.values(testTools)) if (tool.problem) console.error(`[test tools] ${tool.problem}`);
    cleanups.push(() => pg.stop());
    const temporal = await startDevServer({ cliPath, port: 0, uiPort: null });
    cleanups.push(() => temporal.stop());

    const orm = await createOrm(pg.url, 2);
    await migrate(orm);
    await orm.close();

    project.provide('temporalAddress', temporal.address);
    project.provide('databaseUrl', pg.url);
    project.provide('workflowBundlePath', workflowBundlePath);
    project.provide('temporalCliPath', cliPath);
    project.provide('tmpDir', tmpDir);
    project.provide('testTools', testTools);
  } catch (e) {
    await teardown();
    throw e;
  }
  return teardown;
}
