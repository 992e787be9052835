import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';

/**
 * The one validated configuration. Every variable is documented in the README; every other module receives
 * values from here instead of reading process.env itself.
 */

const portMessage = 'must be a port number from 1 to 65535';
const port = z.coerce.number({ error: portMessage }).int(portMessage).min(1, portMessage).max(65535, portMessage);
const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const byteSize = z
  .string()
  .regex(/^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/i, 'must be a size such as 512kb or 2mb');

const postgresUrl = z.string().refine((v) => {
  try {
    const u = new URL(v);
    return u.protocol === 'postgres:' || u.protocol === 'postgresql:';
  } catch {
    return false;
  }
}, 'must be a postgres:// or postgresql:// URL');

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port, for example 127.0.0.1:7233');

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  BC_DATA_DIR: z.string().min(1).default('.data'),

  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: port.default(8080),
  API_BODY_LIMIT: byteSize.default('1mb'),
  API_DRAIN_MS: z.coerce.number({ error: 'must be milliseconds from 0 to 600000' }).int().min(0).max(600_000).default(10_000),
  BOOTSTRAP_ADMIN_KEY: z
    .string()
    .regex(/^bc_[A-Za-z0-9_-]{32,}$/, 'must look like bc_ followed by at least 32 URL-safe characters')
    .optional(),

  TEMPORAL_ADDRESS: hostPort.optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('beyondcloud'),
  TEMPORAL_API_KEY: optionalString,
  TEMPORAL_TLS: bool.default(false),
  TEMPORAL_TLS_CERT_PATH: optionalString,
  TEMPORAL_TLS_KEY_PATH: optionalString,
  TEMPORAL_CLI_PATH: optionalString,
  TEMPORAL_CLI_CACHE_DIR: optionalString,
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),

  WORKER_WORKFLOW_BUNDLE: optionalString,
  WORKER_SHUTDOWN_GRACE_MS: z.coerce.number({ error: 'must be milliseconds from 0 to 3600000' }).int().min(0).max(3_600_000).default(20_000),
  TRACING: bool.default(true),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url('must be an http(s) URL').optional(),

  DATABASE_URL: postgresUrl.optional(),
  DATABASE_POOL_MAX: z.coerce.number({ error: 'must be an integer from 1 to 200' }).int('must be an integer from 1 to 200').min(1, 'must be an integer from 1 to 200').max(200, 'must be an integer from 1 to 200').default(10),
  PGLITE_PORT: port.default(54329),
});

export type ConfigEnv = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`config: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

export interface Config {
  env: ConfigEnv['NODE_ENV'];
  logLevel: ConfigEnv['LOG_LEVEL'];
  dataDir: string;
  api: { host: string; port: number; bodyLimit: string; drainMs: number; bootstrapAdminKey?: string };
  temporal: {
    /** null when the embedded dev server is to be started. */
    address: string | null;
    namespace: string;
    taskQueue: string;
    apiKey?: string;
    tls: boolean;
    tlsCertPath?: string;
    tlsKeyPath?: string;
    cliPath?: string;
    cliCacheDir: string;
    devPort: number;
    uiPort: number;
  };
  worker: {
    /** A prebuilt workflow bundle; without one the worker bundles workflows at start. */
    workflowBundle?: string;
    /** On SIGTERM, how long running activities may finish before they are cancelled (and retried elsewhere). */
    shutdownGraceMs: number;
  };
  telemetry: {
    /** Spans written to Postgres (the console's traces). */
    tracing: boolean;
    otlpEndpoint?: string;
  };
  database: {
    /** null when the embedded PGlite server is to be started. */
    url: string | null;
    poolMax: number;
    pglitePort: number;
  };
}

/** Parses the environment; throws a ConfigError whose message is one line naming the bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const known = Object.fromEntries(
    Object.keys(configSchema.shape)
      .filter((k) => env[k] !== undefined && env[k] !== '')
      .map((k) => [k, env[k]]),
  );
  const parsed = configSchema.safeParse(known);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    const value = known[variable];
    const shown = value === undefined || /KEY|SECRET|PASSWORD|TOKEN/.test(variable) ? '' : ` (got "${value}")`;
    throw new ConfigError(variable, `${issue.message.replace(/^Invalid input: /, '')}${shown}`);
  }
  const c = parsed.data;
  if (c.TEMPORAL_TLS_CERT_PATH && !c.TEMPORAL_TLS_KEY_PATH) {
    throw new ConfigError('TEMPORAL_TLS_KEY_PATH', 'is required when TEMPORAL_TLS_CERT_PATH is set');
  }
  const cacheBase = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return {
    env: c.NODE_ENV,
    logLevel: c.LOG_LEVEL,
    dataDir: resolve(c.BC_DATA_DIR),
    api: {
      host: c.API_HOST,
      port: c.API_PORT,
      bodyLimit: c.API_BODY_LIMIT,
      drainMs: c.API_DRAIN_MS,
      bootstrapAdminKey: c.BOOTSTRAP_ADMIN_KEY,
    },
    temporal: {
      address: c.TEMPORAL_ADDRESS ?? null,
      namespace: c.TEMPORAL_NAMESPACE,
      taskQueue: c.TEMPORAL_TASK_QUEUE,
      apiKey: c.TEMPORAL_API_KEY,
      tls: c.TEMPORAL_TLS || Boolean(c.TEMPORAL_API_KEY) || Boolean(c.TEMPORAL_TLS_CERT_PATH),
      tlsCertPath: c.TEMPORAL_TLS_CERT_PATH,
      tlsKeyPath: c.TEMPORAL_TLS_KEY_PATH,
      cliPath: c.TEMPORAL_CLI_PATH,
      cliCacheDir: c.TEMPORAL_CLI_CACHE_DIR ?? join(cacheBase, 'beyondcloud', 'temporal-cli'),
      devPort: c.TEMPORAL_DEV_PORT,
      uiPort: c.TEMPORAL_UI_PORT,
    },
    worker: { workflowBundle: c.WORKER_WORKFLOW_BUNDLE, shutdownGraceMs: c.WORKER_SHUTDOWN_GRACE_MS },
    telemetry: { tracing: c.TRACING, otlpEndpoint: c.OTEL_EXPORTER_OTLP_ENDPOINT },
    database: {
      url: c.DATABASE_URL ?? null,
      poolMax: c.DATABASE_POOL_MAX,
      pglitePort: c.PGLITE_PORT,
    },
  };
}

/** A URL safe to print: the password is replaced. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}
