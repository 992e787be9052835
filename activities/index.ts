import type { Orm } from '../lib/db/orm';
import type { Config } from '../lib/config';
import type { LlmGateway } from '../lib/llm/gateway';
import type { BlobStore } from '../lib/storage/blobs';
import { createAgentActivities } from './agent';
import { createAnswerActivities } from './answer';
import { createIngestActivities } from './ingest';
import { createLlmActivities } from './llm';
import { createSystemActivities } from './system';
import { createToolActivities } from './tools';
import { createRetentionActivities } from './retention';
import { createSyncSourceActivities } from './sync-source';
import { createFreshnessActivities } from './freshness';
import { createEvalActivities } from './evals';
import { createReplayActivities } from './replay';
import type { McpClientPool } from '../lib/mcp/pool';

export interface ActivityDeps {
  orm: Orm;
  llm: LlmGateway;
  blobs: BlobStore;
  config: Pick<Config, 'ingest'>;
  /** MCP sessions of this worker, for agent tool calls; without it tool calls fail as mcp_not_configured. */
  mcp?: McpClientPool;
}

/** Builds every activity from injected dependencies; workflows import this by type only. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createSystemActivities(deps),
    ...createLlmActivities(deps),
    ...createIngestActivities(deps),
    ...createAnswerActivities(deps),
    ...createAgentActivities(deps),
    ...createToolActivities(deps),
    ...createRetentionActivities(deps),
    ...createSyncSourceActivities(deps),
    ...createFreshnessActivities(deps),
    ...createEvalActivities(deps),
    ...createReplayActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
