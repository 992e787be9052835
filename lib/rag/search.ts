import type { SearchInput } from '../contracts';
import type { Orm } from '../db/orm';
import type { LlmCallContext, LlmGateway } from '../llm/gateway';
import { answerableCollections } from './collections';
import { retrieveHybrid, type RetrievedChunk } from './retrieve';

/**
 * The query's embedding with the collections' own model (the first one's: the collections of one search share it,
 * answerableCollections refuses a mix).
 */
export async function embedSearchQuery(
  deps: { orm: Orm; llm: LlmGateway },
  ctx: LlmCallContext,
  collectionIds: string[],
  text: string,
): Promise<{ vector: number[]; model: string }> {
  const collections = await answerableCollections(deps.orm.em.fork(), ctx.tenantId, collectionIds);
  const res = await deps.llm.embed(ctx, [text], { model: collections[0]!.embeddingModel });
  return { vector: res.vectors[0]!, model: res.model };
}

/**
 * A whole search (no generation): the query's embedding, unless the mode is text, and the hybrid retrieval, whose
 * full-text side runs while the embedding is computed. What POST /v1/search serves in the API process and what the
 * search workflow's step ran before that. Read-only. Unknown or foreign collections are a 404
 * (`collection_not_found`) before any model call.
 */
export async function searchKnowledgeBase(
  deps: { orm: Orm; llm: LlmGateway },
  ctx: LlmCallContext,
  input: Omit<SearchInput, 'tenantId'>,
  /** Called when the query's embedding has arrived (the retrieval's full-text side may still be running). */
  onEmbedded?: () => void,
): Promise<RetrievedChunk[]> {
  const collections = await answerableCollections(deps.orm.em.fork(), ctx.tenantId, input.collectionIds);
  const vector =
    input.mode === 'text'
      ? []
      : deps.llm.embed(ctx, [input.query], { model: collections[0]!.embeddingModel }).then((res) => {
          onEmbedded?.();
          return res.vectors[0]!;
        });
  return retrieveHybrid(deps.orm.em.fork(), {
    tenantId: ctx.tenantId,
    collectionIds: input.collectionIds,
    query: input.query,
    queryVector: vector,
    topK: input.topK,
    mode: input.mode,
  });
}
