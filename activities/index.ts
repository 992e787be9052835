import type { Orm } from '../lib/db/orm';
import { createSystemActivities } from './system';

export interface ActivityDeps {
  orm: Orm;
}

/** Builds every activity from injected dependencies; workflows import this by type only. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createSystemActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
