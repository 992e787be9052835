import type { ConfigEnv } from './schema';

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
  /** Console sign-in: sessions in cookies, and the lock after repeated failed passwords. */
  auth: {
    sessionTtlHours: number;
    sessionIdleMinutes: number;
    /** `auto`: Secure when the request came over TLS. */
    cookieSecure: 'auto' | 'true' | 'false';
    loginMaxFailures: number;
    loginLockoutMinutes: number;
  };
  /** Single sign-on (authorization code + PKCE); null unless OIDC_ISSUER and OIDC_CLIENT_ID are set. */
  oidc: {
    issuer: string;
    clientId: string;
    /** A literal or a secret reference (env:, file:, vault:); resolved by resolveConfigSecrets. */
    clientSecret?: string;
    redirectUri?: string;
    scopes: string;
    /** The claim naming the tenant (by name or id); without it every SSO user joins defaultTenant. */
    tenantClaim?: string;
    defaultTenant?: string;
    /** The claim (string or array) whose values roleMap turns into a role; the highest mapped role wins. */
    roleClaim?: string;
    roleMap: Record<string, 'admin' | 'operator' | 'viewer'>;
    /** The role when no claim value maps; `none` refuses the sign-in. */
    defaultRole: 'admin' | 'operator' | 'viewer' | 'none';
  } | null;
  audit: {
    /** Audit entries older than this are deleted; 0 keeps them forever. */
    retentionDays: number;
  };
  /** Per-tenant defaults (a platform admin can override them per tenant); 0 = no limit. */
  quotas: {
    requestsPerMinute: number;
    runsPerMinute: number;
    /** Running workflows per run kind. */
    concurrentRuns: number;
    maxDocuments: number;
    maxBytes: number;
    dailyTokens: number;
  };
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
    /**
     * What new collections get instead of `models.embedding` when that is the default local semantic model and its
     * files cannot be fetched (resolveEmbeddingModel in lib/llm/local-models.ts); null when LLM_MODEL_EMBEDDING
     * names the model (then unavailable files stop the start) or the provider is not local.
     */
    embeddingFallback: string | null;
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
    /** A batch (one child run, one step) holds at most this many documents and bytes; a bigger document goes alone. */
    batchDocuments: number;
    batchBytes: number;
    /** Worker threads of a worker process that parse and chunk documents (0: the activities' own thread). */
    parseThreads: number;
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
