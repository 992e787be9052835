import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ChunkEntity, type Chunk } from '../db/entities';
import type { DocumentChunk } from './chunk';

/** Rows per INSERT: large enough to amortise round trips, small enough to stay well under parameter limits. */
export const INSERT_BATCH = 200;

/** The `chunks` rows of one document's chunks and their embeddings (same order). */
export function chunkRows(
  target: { tenantId: string; collectionId: string; documentId: string; embeddingDim: number },
  pieces: DocumentChunk[],
  vectors: number[][],
  now = new Date(),
): Chunk[] {
  return pieces.map((p, i) => ({
    id: randomUUID(),
    tenantId: target.tenantId,
    collectionId: target.collectionId,
    documentId: target.documentId,
    ordinal: p.ordinal,
    text: p.text,
    contentHash: p.contentHash,
    headingPath: p.headingPath,
    page: p.page,
    startOffset: p.startOffset,
    endOffset: p.endOffset,
    tokens: p.tokens,
    embedding: vectors[i]!,
    embeddingDim: target.embeddingDim,
    metadata: {},
    createdAt: now,
  }));
}

/** Multi-row inserts of INSERT_BATCH rows, inside the caller's transaction. */
export async function insertChunks(em: EntityManager, rows: Chunk[]): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_BATCH) await em.insertMany(ChunkEntity, rows.slice(i, i + INSERT_BATCH));
}
