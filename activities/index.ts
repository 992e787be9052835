import type { Orm } from '../lib/db/orm';
import type { LlmGateway } from '../lib/llm/gateway';
import { createLlmActivities } from './llm';
import { createSystemActivities } from './system';

export interface ActivityDeps {
  orm: Orm;
  llm: LlmGateway;
}

/** Builds every activity from injected dependencies; workflows import this by type only. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createSystemActivities(deps),
    ...createLlmActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
