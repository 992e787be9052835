import type { Client } from '@temporalio/client';
import type { Config } from '../lib/config';
import type { Orm } from '../lib/db/orm';
import type { LlmGateway } from '../lib/llm/gateway';
import type { Logger } from '../lib/log';
import type { TenantSecrets } from '../lib/secrets/tenant';
import type { BlobStore } from '../lib/storage/blobs';
import type { QuotaService } from './quota/service';
import type { TenantSettings } from '../lib/settings';

/**
 * What the API is composed from, built once by whoever composes it (api/server.ts, the test harness): routes and
 * services take these and construct no clients or stores of their own.
 */
export interface AppDeps {
  config: Config;
  orm: Orm;
  temporal: Client;
  log: Logger;
  /** Uploaded files, by content hash. */
  blobs: BlobStore;
  /** The tenants' own secrets (`secret:<name>`), which their MCP servers name. */
  secrets: TenantSecrets;
  /** The tenants' quotas: requests per key, run starts (`startRun` admits each), storage, tokens. */
  quotas: QuotaService;
  /** Model calls the API serves itself (a search's query embedding), recorded like an activity's. */
  llm: LlmGateway;
  /** The tenants' settings: their default models (lib/settings). */
  settings: TenantSettings;
}
