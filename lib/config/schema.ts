import { z } from 'zod';

/** The environment variables, validated; lib/config/index.ts maps them into a Config. */

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

  SESSION_TTL_HOURS: z.coerce.number({ error: 'must be hours from 1 to 720' }).int().min(1).max(720).default(12),
  SESSION_IDLE_MINUTES: z.coerce
    .number({ error: 'must be minutes from 5 to 43200' })
    .int()
    .min(5)
    .max(43_200)
    .default(120),
  COOKIE_SECURE: z.enum(['auto', 'true', 'false']).default('auto'),
  LOGIN_MAX_FAILURES: z.coerce.number({ error: 'must be an integer from 1 to 100' }).int().min(1).max(100).default(5),
  LOGIN_LOCKOUT_MINUTES: z.coerce
    .number({ error: 'must be minutes from 1 to 1440' })
    .int()
    .min(1)
    .max(1440)
    .default(15),

  OIDC_ISSUER: z.url('must be an http(s) URL').optional(),
  OIDC_CLIENT_ID: optionalString,
  OIDC_CLIENT_SECRET: optionalString,
  OIDC_REDIRECT_URI: z.url('must be an http(s) URL').optional(),
  OIDC_SCOPES: z.string().min(1).default('openid email profile'),
  OIDC_TENANT_CLAIM: optionalString,
  OIDC_DEFAULT_TENANT: optionalString,
  OIDC_ROLE_CLAIM: optionalString,
  OIDC_ROLE_MAP: z
    .string()
    .transform((v, ctx) => {
      try {
        return JSON.parse(v) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON like {"bc-admins":"admin","staff":"viewer"}' });
        return z.NEVER;
      }
    })
    .pipe(
      z.record(z.string(), z.enum(['admin', 'operator', 'viewer']), {
        error: 'must map claim values to admin, operator or viewer',
      }),
    )
    .optional(),
  OIDC_DEFAULT_ROLE: z.enum(['admin', 'operator', 'viewer', 'none']).default('viewer'),

  AUDIT_RETENTION_DAYS: z.coerce
    .number({ error: 'must be days from 0 (keep forever) to 36500' })
    .int()
    .min(0)
    .max(36_500)
    .default(365),

  QUOTA_REQUESTS_PER_MINUTE: z.coerce
    .number({ error: 'must be a whole number (0 = no limit)' })
    .int()
    .min(0)
    .default(600),
  QUOTA_RUNS_PER_MINUTE: z.coerce.number({ error: 'must be a whole number (0 = no limit)' }).int().min(0).default(120),
  QUOTA_CONCURRENT_RUNS: z.coerce.number({ error: 'must be a whole number (0 = no limit)' }).int().min(0).default(20),
  QUOTA_MAX_DOCUMENTS: z.coerce
    .number({ error: 'must be a whole number (0 = no limit)' })
    .int()
    .min(0)
    .default(100_000),
  QUOTA_MAX_BYTES: byteSize.default('20gb'),
  QUOTA_DAILY_TOKENS: z.coerce.number({ error: 'must be a whole number (0 = no limit)' }).int().min(0).default(0),

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
  INGEST_BATCH_DOCUMENTS: z.coerce
    .number({ error: 'must be an integer from 1 to 200' })
    .int()
    .min(1)
    .max(200)
    .default(16),
  INGEST_BATCH_BYTES: byteSize.default('8mb'),
  INGEST_PARSE_THREADS: z.coerce.number({ error: 'must be an integer from 0 to 64' }).int().min(0).max(64).optional(),
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
