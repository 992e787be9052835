import type { EntityManager } from '@mikro-orm/postgresql';
import { CollectionEntity, type Collection } from '../db/entities';
import { AppError, badRequest } from '../errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The tenant's collections a question may be asked of together: every id must be the tenant's own (another tenant's
 * reads as not found, like a missing one), and they must share one embedding model, since one query embedding
 * searches them all. Throws AppError `collection_not_found` (404) or `mixed_embedding_models` (400).
 */
export async function answerableCollections(em: EntityManager, tenantId: string, ids: string[]): Promise<Collection[]> {
  const wanted = [...new Set(ids)];
  const found = await em.find(CollectionEntity, { tenantId, id: { $in: wanted.filter((id) => UUID.test(id)) } });
  const missing = wanted.find((id) => !found.some((c) => c.id === id));
  if (missing !== undefined) {
    throw new AppError({
      code: 'collection_not_found',
      message: `Collection ${missing.slice(0, 100)} was not found.`,
      status: 404,
      category: 'not_found',
    });
  }
  const models = [...new Set(found.map((c) => `${c.embeddingModel}/${c.embeddingDim}`))];
  if (models.length > 1)
    throw badRequest(
      'mixed_embedding_models',
      `The collections use different embedding models (${models.join(', ')}); use them one at a time.`,
    );
  return found;
}
