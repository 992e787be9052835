import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { SearchHit, SearchInput } from '../lib/contracts';
import { databaseStep, quickModelStep } from './policies';

type Activities = ReturnType<typeof createActivities>;

const { embedQuestion } = proxyActivities<Activities>(quickModelStep);
const { searchChunks } = proxyActivities<Activities>(databaseStep);

/** Hybrid search without generation (POST /v1/search, the MCP `search_knowledge` tool): embed, then retrieve. */
export async function searchKnowledge(input: SearchInput): Promise<SearchHit[]> {
  const { vector } =
    input.mode === 'text'
      ? { vector: [] as number[] }
      : await embedQuestion({ tenantId: input.tenantId, collectionIds: input.collectionIds, text: input.query });
  return searchChunks({ ...input, vector });
}
