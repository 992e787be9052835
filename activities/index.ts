import type { Orm } from '../lib/db/orm';
import type { Config } from '../lib/config';
import type { LlmGateway } from '../lib/llm/gateway';
import type { BlobStore } from '../lib/storage/blobs';
import { createAnswerActivities } from './answer';
import { createIngestActivities } from './ingest';
import { createLlmActivities } from './llm';
import { createSystemActivities } from './system';

export interface ActivityDeps {
  orm: Orm;
  llm: LlmGateway;
  blobs: BlobStore;
  config: Pick<Config, 'ingest'>;
}

/** Builds every activity from injected dependencies; workflows import this by type only. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createSystemActivities(deps),
    ...createLlmActivities(deps),
    ...createIngestActivities(deps),
    ...createAnswerActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
