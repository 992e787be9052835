import { patched, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { createActivities, DatabaseActivities } from '../activities';
import type { SearchHit, SearchInput } from '../lib/contracts';
import { databaseStep, quickModelStep, searchStep } from './policies';

type Activities = ReturnType<typeof createActivities>;

const { embedQuestion } = proxyActivities<Activities>(quickModelStep);
const { searchChunks } = proxyActivities<DatabaseActivities>(databaseStep);
const { searchKnowledgeStep } = proxyLocalActivities<Activities>(searchStep);

/**
 * Hybrid search without generation (POST /v1/search, the MCP `search_knowledge` tool): the query's embedding and the
 * retrieval in one local activity, inside the workflow's first task. Searches started before that change (two
 * regular activities: embed, then retrieve) replay as they ran.
 */
export async function searchKnowledge(input: SearchInput): Promise<SearchHit[]> {
  if (patched('search-in-one-local-activity')) return searchKnowledgeStep(input);
  const { vector } =
    input.mode === 'text'
      ? { vector: [] as number[] }
      : await embedQuestion({ tenantId: input.tenantId, collectionIds: input.collectionIds, text: input.query });
  return searchChunks({ ...input, vector });
}
