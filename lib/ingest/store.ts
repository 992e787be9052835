import { randomUUID } from 'node:crypto';
import type { Knex } from '@mikro-orm/knex';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Chunk } from '../db/entities';
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

const COLUMNS = [
  'id',
  'tenant_id',
  'collection_id',
  'document_id',
  'ordinal',
  'text',
  'content_hash',
  'heading_path',
  'page',
  'start_offset',
  'end_offset',
  'tokens',
  'embedding',
  'embedding_dim',
  'metadata',
  'created_at',
] as const;

/** pgvector's binary form (vector_recv): int16 dimensions, int16 unused, float4 values, all big-endian. */
export function vectorToBinary(v: readonly number[]): Buffer {
  const b = Buffer.allocUnsafe(4 + 4 * v.length);
  b.writeInt16BE(v.length, 0);
  b.writeInt16BE(0, 2);
  for (let i = 0; i < v.length; i++) b.writeFloatBE(v[i]!, 4 + 4 * i);
  return b;
}

const textArray = (xs: readonly string[]) => `{${xs.map((x) => `"${x.replace(/(["\\])/g, '\\$1')}"`).join(',')}}`;

/**
 * Multi-row inserts of INSERT_BATCH rows, inside the caller's transaction (if any). Sent as bind parameters through
 * knex, not through em.insertMany: MikroORM inlines every value into the SQL text, which for 384 floats a row cost
 * three times the insert itself (measured on PGlite). Vectors travel in pgvector's binary form, sparing the server
 * the parsing of their text.
 */
export async function insertChunks(em: EntityManager, rows: Chunk[]): Promise<void> {
  const knex = em.getConnection().getKnex();
  const trx = em.getTransactionContext<Knex.Transaction>();
  const row = `(${COLUMNS.map(() => '?').join(', ')})`;
  for (let i = 0; i < rows.length; i += INSERT_BATCH) {
    const batch = rows.slice(i, i + INSERT_BATCH);
    const bindings: unknown[] = [];
    for (const r of batch) {
      bindings.push(
        r.id,
        r.tenantId,
        r.collectionId,
        r.documentId,
        r.ordinal,
        r.text,
        r.contentHash,
        textArray(r.headingPath ?? []),
        r.page ?? null,
        r.startOffset ?? null,
        r.endOffset ?? null,
        r.tokens,
        r.embedding ? vectorToBinary(r.embedding) : null,
        r.embeddingDim ?? null,
        JSON.stringify(r.metadata ?? {}),
        r.createdAt ?? new Date(),
      );
    }
    const query = knex.raw(
      `insert into chunks (${COLUMNS.join(', ')}) values ${batch.map(() => row).join(', ')}`,
      bindings as Knex.RawBinding[],
    );
    await (trx ? query.transacting(trx) : query);
  }
}
