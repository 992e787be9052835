import { randomUUID } from 'node:crypto';
import { BigIntType, EntitySchema, type Opt } from '@mikro-orm/core';
import { VectorType } from 'pgvector/mikro-orm';

export interface Collection {
  id: string;
  tenantId: string;
  name: string;
  description?: string | null;
  embeddingModel: string;
  embeddingDim: number;
  /** The type of the collection's HNSW index and searches (lib/ingest/vector-index.ts); stored vectors keep full precision. */
  embeddingType: Opt<'vector' | 'halfvec'>;
  chunkSize: Opt<number>;
  chunkOverlap: Opt<number>;
  /** Pack consecutive short sections into one chunk (lib/ingest/chunk/). */
  combineSections: Opt<boolean>;
  createdAt: Opt<Date>;
  updatedAt: Opt<Date>;
}

export const CollectionEntity = new EntitySchema<Collection>({
  name: 'Collection',
  tableName: 'collections',
  properties: {
    id: { type: 'uuid', primary: true, onCreate: () => randomUUID() },
    tenantId: { type: 'uuid' },
    name: { type: 'text' },
    description: { type: 'text', nullable: true },
    embeddingModel: { type: 'text' },
    embeddingDim: { type: 'integer' },
    embeddingType: { type: 'text', default: 'vector' },
    chunkSize: { type: 'integer', default: 800 },
    chunkOverlap: { type: 'integer', default: 100 },
    combineSections: { type: 'boolean', default: true },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    updatedAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date(), onUpdate: () => new Date() },
  },
});

export type DocumentStatus = 'pending' | 'processing' | 'ready' | 'failed' | 'skipped';

export interface Document {
  id: string;
  tenantId: string;
  collectionId: string;
  sourceKind: 'upload' | 'url' | 'folder';
  source: string;
  title?: string | null;
  mimeType?: string | null;
  contentHash?: string | null;
  sizeBytes?: number | null;
  status: Opt<DocumentStatus>;
  error?: string | null;
  chunkCount: Opt<number>;
  /** sha256 of the stored bytes (lib/storage/blobs.ts); set at upload, or when a URL is fetched. */
  blobSha256?: string | null;
  indexedAt?: Date | null;
  /** The source (lib/sources) the document came from, and its location there (a URL or a file's path). */
  sourceId?: string | null;
  sourceLocation?: string | null;
  /** Validators of the last fetch: an ETag, a Last-Modified date (a file's mtime for folders). */
  etag?: string | null;
  lastModified?: string | null;
  /** The sync run that last took the document, what it found, and whether it finished with it. */
  syncRun?: string | null;
  syncOutcome?: 'added' | 'changed' | 'unchanged' | 'failed' | null;
  syncDone: Opt<boolean>;
  metadata: Record<string, unknown>;
  createdAt: Opt<Date>;
  updatedAt: Opt<Date>;
}

export const DocumentEntity = new EntitySchema<Document>({
  name: 'Document',
  tableName: 'documents',
  properties: {
    id: { type: 'uuid', primary: true, onCreate: () => randomUUID() },
    tenantId: { type: 'uuid' },
    collectionId: { type: 'uuid' },
    sourceKind: { type: 'text' },
    source: { type: 'text' },
    title: { type: 'text', nullable: true },
    mimeType: { type: 'text', nullable: true },
    contentHash: { type: 'text', nullable: true },
    sizeBytes: { type: new BigIntType('number'), nullable: true },
    status: { type: 'text', default: 'pending' },
    error: { type: 'text', nullable: true },
    chunkCount: { type: 'integer', default: 0 },
    blobSha256: { type: 'text', nullable: true },
    indexedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    sourceId: { type: 'uuid', nullable: true },
    sourceLocation: { type: 'text', nullable: true },
    etag: { type: 'text', nullable: true },
    lastModified: { type: 'text', nullable: true },
    syncRun: { type: 'text', nullable: true },
    syncOutcome: { type: 'text', nullable: true },
    syncDone: { type: 'boolean', default: false },
    metadata: { type: 'json', default: '{}' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    updatedAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date(), onUpdate: () => new Date() },
  },
});

export interface Chunk {
  id: string;
  tenantId: string;
  collectionId: string;
  documentId: string;
  ordinal: number;
  text: string;
  contentHash: string;
  headingPath: string[];
  page?: number | null;
  startOffset?: number | null;
  endOffset?: number | null;
  tokens: number;
  embedding?: number[] | null;
  embeddingDim?: number | null;
  metadata: Record<string, unknown>;
  createdAt: Opt<Date>;
}

export const ChunkEntity = new EntitySchema<Chunk>({
  name: 'Chunk',
  tableName: 'chunks',
  properties: {
    id: { type: 'uuid', primary: true, onCreate: () => randomUUID() },
    tenantId: { type: 'uuid' },
    collectionId: { type: 'uuid' },
    documentId: { type: 'uuid' },
    ordinal: { type: 'integer' },
    text: { type: 'text' },
    contentHash: { type: 'text' },
    headingPath: { type: 'text[]', default: '{}' },
    page: { type: 'integer', nullable: true },
    startOffset: { type: 'integer', nullable: true },
    endOffset: { type: 'integer', nullable: true },
    tokens: { type: 'integer' },
    // Dimension varies per collection; HNSW indexes are per dimension (see the migration).
    embedding: { type: VectorType, nullable: true } as never,
    embeddingDim: { type: 'integer', nullable: true },
    metadata: { type: 'json', default: '{}' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
  },
});
