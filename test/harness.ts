import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Connection, type Client } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger, type Worker, type WorkerOptions } from '@temporalio/worker';
import { inject } from 'vitest';
import { createApp } from '../api/app';
import { QuotaService } from '../api/quota/service';
import { TenantSettings } from '../lib/settings';
import type { AppDeps } from '../api/deps';
import { createTenantWithKey } from '../api/auth/api-keys';
import { loadConfig, type Config } from '../lib/config';
import type { Role } from '../lib/db/entities';
import { createOrm, type Orm } from '../lib/db/orm';
import { createLogger } from '../lib/log';
import { createWorker } from '../workers/worker';
import { createClient } from '../lib/temporal/client';
import { createLlmGateway, type LlmGateway } from '../lib/llm';
import { BlobStore } from '../lib/storage/blobs';
import { startTelemetry, type Telemetry } from '../lib/telemetry';
import { McpClientPool } from '../lib/mcp/pool';
import { createTenantSecrets } from '../lib/secrets/tenant';
import { taskQueues } from '../lib/contracts';

let runtimeInstalled = false;
let telemetry: Telemetry;

/** Config for this test file: the shared services and a task queue of its own. */
export function testConfig(overrides: NodeJS.ProcessEnv = {}): Config {
  return loadConfig({
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    DATABASE_URL: inject('databaseUrl'),
    TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`,
    DATABASE_POOL_MAX: '4',
    BLOB_DIR: join(inject('tmpDir'), 'blobs'),
    // No request, run-rate or concurrency limits unless a test asks for them (test/quotas.test.ts does).
    QUOTA_REQUESTS_PER_MINUTE: '0',
    QUOTA_RUNS_PER_MINUTE: '0',
    QUOTA_CONCURRENT_RUNS: '0',
    ...overrides,
  });
}

export interface TestContext {
  /** Stops what the context started (workers, worker processes, API servers) and closes its connections. */
  close(): Promise<void>;
  onClose(fn: () => Promise<unknown>): void;
  telemetry: Telemetry;
  config: Config;
  orm: Orm;
  client: Client;
  /** A tenant of this file's own: the shared database is isolated per tenant, as the product is. */
  tenant: { id: string; key: string };
  addTenant(role?: Role): Promise<{ id: string; key: string }>;
  /**
   * A worker on this file's task queue, plus one on its tools queue (agent tool calls, with an MCP client pool
   * closed with the context); its LLM gateway follows the file's config unless one is given, and `overrides` go to
   * the first (e.g. `enableNonLocalActivities: false` for a worker that runs workflows and local activities only).
   */
  startWorker(opts?: { llm?: LlmGateway; overrides?: Partial<WorkerOptions> }): Promise<Worker>;
  /**
   * The real worker process (workers/main.ts, both task queues) on this file's queue, for tests that kill it;
   * SIGKILLed after the file. `env` adds variables (e.g. the file's OPENAI_BASE_URL).
   */
  /** A worker process; `startOutput` is what it printed up to 'worker started'. */
  startWorkerProcess(opts?: { env?: NodeJS.ProcessEnv }): Promise<ChildProcess & { startOutput: string }>;
  workerConnection(): Promise<NativeConnection>;
}

/** Opens the database and Temporal for one test file; the file closes it with `afterAll(() => ctx?.close())`. */
export async function setupTestContext(overrides: NodeJS.ProcessEnv = {}): Promise<TestContext> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    // One SDK per test process, as in the API and worker processes; spans go to the shared test database.
    telemetry = startTelemetry({ serviceName: 'beyondcloud-test', tracing: true });
    runtimeInstalled = true;
  }
  const config = testConfig(overrides);
  const orm = await createOrm(config.database.url!, config.database.poolMax);
  const connection = await Connection.connect({ address: config.temporal.address! });
  const client = createClient(connection, config.temporal.namespace);
  telemetry.spanStore?.attach(orm);
  const workers: Worker[] = [];
  const runs: Promise<void>[] = [];
  const nativeConnections: NativeConnection[] = [];

  const workerConnection = async () => {
    const c = await NativeConnection.connect({ address: config.temporal.address! });
    nativeConnections.push(c);
    return c;
  };
  const addTenant = async (role: Role = 'admin') => {
    const t = await createTenantWithKey(orm, { tenantName: `test-${randomUUID().slice(0, 8)}`, keyName: 'test', role });
    return { id: t.tenantId, key: t.key };
  };

  const processes: ChildProcess[] = [];
  const closers: Array<() => Promise<unknown>> = [];
  // Hooks registered inside a beforeAll never run, so the test file calls close() from its own afterAll.
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
    for (const p of processes) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await Promise.allSettled(runs);
    for (const c of nativeConnections) await c.close();
    await telemetry.spanStore?.flush();
    await connection.close();
    await orm.close();
  };

  const context: TestContext = {
    close,
    onClose: (fn) => void closers.push(fn),
    telemetry,
    config,
    orm,
    client,
    tenant: await addTenant('admin'),
    addTenant,
    workerConnection,
    async startWorker(opts = {}) {
      const mcp = new McpClientPool({ config: config.mcp, secrets: createTenantSecrets({ orm, config }) });
      closers.push(() => mcp.close());
      const deps = {
        orm,
        llm: opts.llm ?? createLlmGateway({ config, orm }),
        blobs: new BlobStore(config.ingest.blobDir),
        config,
        mcp,
      };
      const connection = await workerConnection();
      const worker = await createWorker({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: config.temporal.taskQueue,
        deps,
        workflowBundlePath: inject('workflowBundlePath'),
        telemetry,
        overrides: opts.overrides,
      });
      const toolsWorker = await createWorker({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: taskQueues(config.temporal.taskQueue).tools,
        deps,
        activitiesOnly: true,
      });
      workers.push(worker, toolsWorker);
      runs.push(worker.run(), toolsWorker.run());
      return worker;
    },
    async startWorkerProcess(opts = {}) {
      const child = await spawnWorkerProcess(context, opts.env);
      processes.push(child);
      return child;
    },
  };
  return context;
}

/** The API's dependencies as api/server.ts builds them, from a test's config, database and Temporal client. */
export function testAppDeps(deps: Pick<AppDeps, 'config' | 'orm' | 'temporal'> & Partial<AppDeps>): AppDeps {
  return {
    log: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', 'api-test'),
    blobs: new BlobStore(deps.config.ingest.blobDir),
    secrets: createTenantSecrets({ orm: deps.orm, config: deps.config }),
    quotas: new QuotaService(deps),
    settings: new TenantSettings(deps.orm),
    llm: createLlmGateway({ config: deps.config, orm: deps.orm }),
    ...deps,
  };
}

/** The API on an ephemeral port, built with the test file's dependencies. */
export async function startTestApi(ctx: TestContext, config: Config = ctx.config) {
  const app = createApp(testAppDeps({ config, orm: ctx.orm, temporal: ctx.client }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const address = server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  ctx.onClose(() => new Promise<void>((r) => server.close(() => r())));
  return {
    base,
    async request(method: string, path: string, opts: { key?: string; body?: unknown; rawBody?: string } = {}) {
      const headers: Record<string, string> = {};
      if (opts.key) headers.authorization = `Bearer ${opts.key}`;
      if (opts.body !== undefined || opts.rawBody !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(base + path, {
        method,
        headers,
        body: opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
      });
      const text = await res.text();
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert response fields one by one
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : null };
    },
  };
}

/**
 * The real API process (api/server.ts, as a deployment runs it) on the context's Temporal queue, database and blob
 * store, on a free port: `done` resolves with its URL once it listens, or with its exit code if it exits first.
 */
export function spawnApiProcess(ctx: TestContext, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'api/server.ts'], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: ctx.config.temporal.address!,
      DATABASE_URL: ctx.config.database.url!,
      TEMPORAL_TASK_QUEUE: ctx.config.temporal.taskQueue,
      BLOB_DIR: ctx.config.ingest.blobDir,
      API_PORT: '0',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const done = new Promise<{ url?: string; code?: number | null }>((resolve) => {
    child.stdout!.on('data', (b: Buffer) => {
      output += b.toString();
      const url = /"url":"(http:\/\/[^"]+)"[^\n]*api listening/.exec(output)?.[1];
      if (url) resolve({ url });
    });
    child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
    child.once('exit', (code) => resolve({ code }));
  });
  return { child, done, output: () => output };
}

/** The real worker process (workers/main.ts, as `npm start` runs it) on the context's task queue and database. */
async function spawnWorkerProcess(
  ctx: TestContext,
  env: NodeJS.ProcessEnv = {},
): Promise<ChildProcess & { startOutput: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: ctx.config.temporal.address!,
      DATABASE_URL: ctx.config.database.url!,
      TEMPORAL_TASK_QUEUE: ctx.config.temporal.taskQueue,
      WORKER_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
      BLOB_DIR: ctx.config.ingest.blobDir,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => {
      output += b.toString();
      if (output.includes('worker started')) resolve();
    });
    child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before starting: ${output}`)));
  });
  return Object.assign(child, { startOutput: output });
}
