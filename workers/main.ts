import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig, ConfigError, resolveConfigSecrets } from '../lib/config';
import { createLlmGateway } from '../lib/llm';
import { BlobStore } from '../lib/storage/blobs';
import { ParsePool } from '../lib/ingest/pool';
import { createOrm } from '../lib/db/orm';
import { createLogger } from '../lib/log';
import { createWorkerConnection } from '../lib/temporal/client';
import { startTelemetry } from '../lib/telemetry';
import { taskQueues } from '../lib/contracts';
import { createTenantSecrets } from '../lib/secrets/tenant';
import { McpClientPool } from '../lib/mcp/pool';
import { startHealthServer } from './health';
import { createWorker } from './worker';

/**
 * The worker process until SIGTERM: workflows and activities on the main task queue, and agent tool calls on the
 * tools task queue (WORKER_TASK_QUEUES chooses which, so each can be scaled on its own).
 */
async function main() {
  const config = await resolveConfigSecrets(loadConfig());
  const log = createLogger(config.logLevel, 'worker');
  const telemetry = startTelemetry({
    serviceName: 'beyondcloud-worker',
    tracing: config.telemetry.tracing,
    otlpEndpoint: config.telemetry.otlpEndpoint,
    log,
  });
  // The SDK's own logger stays at WARN: its INFO lines (webpack output, state changes) drown ours.
  // Signals are handled below (once), not also by the SDK's runtime, which would shut the worker down twice.
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  if (!config.temporal.address) throw new ConfigError('TEMPORAL_ADDRESS', 'is required for a worker process');
  if (!config.database.url) throw new ConfigError('DATABASE_URL', 'is required for a worker process');

  const orm = await createOrm(config.database.url, config.database.poolMax);
  telemetry.spanStore?.attach(orm);
  const connection = await createWorkerConnection({ ...config.temporal, address: config.temporal.address });
  const queues = taskQueues(config.temporal.taskQueue);
  const mcp = new McpClientPool({ config: config.mcp, secrets: createTenantSecrets({ orm, config }), log });
  const deps = {
    orm,
    llm: createLlmGateway({ config, orm, log }),
    blobs: new BlobStore(config.ingest.blobDir),
    config,
    mcp,
    // Only a worker of the main queue ingests; the tools queue's parses nothing.
    parsePool: config.worker.taskQueues.includes('main') ? new ParsePool(config.ingest.parseThreads) : undefined,
  };
  const workers = await Promise.all(
    config.worker.taskQueues.map((queue) =>
      createWorker({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: queues[queue],
        deps,
        workflowBundlePath: config.worker.workflowBundle,
        telemetry,
        overrides: { shutdownGraceTime: config.worker.shutdownGraceMs },
        activitiesOnly: queue === 'tools',
      }),
    ),
  );
  const taskQueue = config.worker.taskQueues.map((q) => queues[q]).join(',');
  const health =
    config.worker.healthPort === undefined
      ? undefined
      : await startHealthServer(
          { workers: () => workers.map((w) => ({ taskQueue: w.options.taskQueue, state: w.getState() })) },
          { port: config.worker.healthPort, host: config.worker.healthHost },
        );

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // Launched by `npm start`: if the launcher dies, so do we, instead of lingering as an orphan.
  if (process.send) process.once('disconnect', stop);

  log.info({ taskQueue, address: config.temporal.address, healthPort: health?.port }, 'worker started');
  process.send?.({ type: 'ready' });
  // A worker that fails stops the others, and the process still closes everything before it exits (non-zero).
  const runs = await Promise.allSettled(
    workers.map((worker) =>
      worker.run().catch((e: unknown) => {
        stop();
        throw e;
      }),
    ),
  );
  const failure = runs.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) log.error({ err: failure.reason }, 'a worker failed; stopping');
  // MCP sessions (and the stdio servers they started) end with the worker.
  await health?.close();
  await mcp.close();
  await deps.parsePool?.close();
  await deps.llm.close();
  await connection.close();
  await telemetry.shutdown();
  await orm.close();
  log.info('worker stopped');
  // The IPC channel to the launcher would otherwise keep the process alive.
  process.exit(failure ? 1 : 0);
}

main().catch((e: unknown) => {
  console.error(e instanceof ConfigError ? e.message : e);
  process.exit(1);
});
