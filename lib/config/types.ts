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
