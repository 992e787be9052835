import { ApplicationFailure, patched, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { createActivities, DatabaseActivities } from '../activities';
import type { SearchHit, SearchInput, SearchServed } from '../lib/contracts';
import { databaseStep, quickModelStep, searchStep } from './policies';

type Activities = ReturnType<typeof createActivities>;

const { embedQuestion } = proxyActivities<Activities>(quickModelStep);
const { searchChunks } = proxyActivities<DatabaseActivities>(databaseStep);
const { searchKnowledgeStep } = proxyLocalActivities<Activities>(searchStep);

/**
 * Hybrid search without generation (POST /v1/search, the MCP `search_knowledge` tool). The API serves a search
 * itself (a traced query in its own process, api/answers/service.ts) and then starts this run with what it served
 * (`served`): the run is the search's entry in the runs list, its result what the caller got (or, when the model
 * failed, a failed run with that failure), and it ends in its first task without a step. Runs started before that ran the search here: one local activity inside the first task, or
 * (older still) two regular activities, embed then retrieve; they replay as they ran.
 */
export async function searchKnowledge(input: SearchInput, served?: SearchServed): Promise<SearchHit[]> {
  if (served?.error) throw ApplicationFailure.create({ ...served.error, nonRetryable: true });
  if (served) return served.hits;
  if (patched('search-in-one-local-activity')) return searchKnowledgeStep(input);
  const { vector } =
    input.mode === 'text'
      ? { vector: [] as number[] }
      : await embedQuestion({ tenantId: input.tenantId, collectionIds: input.collectionIds, text: input.query });
  return searchChunks({ ...input, vector });
}
