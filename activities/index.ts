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
import { withHeartbeat } from './heartbeat';
import type { ParsePool } from '../lib/ingest/pool';

export interface ActivityDeps {
  orm: Orm;
  llm: LlmGateway;
  blobs: BlobStore;
  config: Pick<Config, 'ingest'>;
  /** MCP sessions of this worker, for agent tool calls; without it tool calls fail as mcp_not_configured. */
  mcp?: McpClientPool;
  /** Threads that parse and chunk documents for ingestion; without it, the activity's own thread does. */
  parsePool?: ParsePool;
}

/**
 * The activities workflows run as `databaseStep` (workflows/policies.ts): millisecond database work that heartbeats
 * every second while it runs, so a worker killed mid-step is noticed within the step's heartbeat timeout instead of
 * its whole start-to-close timeout, and a slow query that is still running is never failed for not heartbeating.
 * Workflows proxy them through `DatabaseActivities`, so a database step outside this list does not typecheck.
 */
export const DATABASE_STEPS = [
  'retrieveContext',
  'planIngestBatches',
  'searchChunks',
  'markAnswerPendingReview',
  'completeAnswer',
  'failAnswer',
  'loadEvalItems',
  'beginEvalRun',
  'startEvalItem',
  'failEvalItem',
  'scoreGroundingEvalItem',
  'finishEvalRun',
  'markReplay',
  'loadRecordedAnswer',
  'saveReplayItem',
  'answersCiting',
  'retentionAges',
  'nextSourceBatch',
  'markSourceDocumentFailed',
  'recordSourceSync',
  'changedSourceDocuments',
] as const;

/** Builds every activity from injected dependencies; workflows import this by type only. */
export function createActivities(deps: ActivityDeps) {
  const activities = {
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
  for (const name of DATABASE_STEPS) {
    const step = activities[name] as (...args: unknown[]) => Promise<unknown>;
    (activities as Record<string, unknown>)[name] = (...args: unknown[]) => withHeartbeat(() => step(...args));
  }
  return activities;
}

export type Activities = ReturnType<typeof createActivities>;

/** What a workflow may run with the `databaseStep` policy: only the activities that heartbeat while they run. */
export type DatabaseActivities = Pick<Activities, (typeof DATABASE_STEPS)[number]>;
