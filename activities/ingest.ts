import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../lib/config';
import { applicationFailure, groupBySize, INGEST_FAILURES, type IngestDocumentResult } from '../lib/contracts';
import { ChunkEntity, CollectionEntity, DocumentEntity } from '../lib/db/entities';
import type { Orm } from '../lib/db/orm';
import { contextualText } from '../lib/ingest/chunk';
import { ParsePool } from '../lib/ingest/pool';
import { chunkRows, insertChunks } from '../lib/ingest/store';
import {
  ensureCollectionTextIndex,
  ensureCollectionVectorIndex,
  type TextIndexOutcome,
  type VectorIndexOutcome,
} from '../lib/ingest/vector-index';
import type { LlmGateway } from '../lib/llm/gateway';
import { FetchRefusedError, safeFetch } from '../lib/net/safe-fetch';
import type { BlobStore } from '../lib/storage/blobs';
import { withHeartbeat } from './heartbeat';

export interface IngestDocumentRef {
  tenantId: string;
  collectionId: string;
  documentId: string;
}

/** A batch of one ingest run's documents, processed in order by one step (workflows/ingest.ts `ingestBatch`). */
export interface IngestBatchRef {
  tenantId: string;
  collectionId: string;
  documentIds: string[];
}

/** What a batch step records as it goes (heartbeat details): each finished document's outcome, by id. */
interface BatchCheckpoint {
  done: Record<string, IngestDocumentResult>;
}

export interface IngestDocumentOutcome {
  status: 'ready' | 'skipped';
  chunks: number;
}

type IngestFailureType = (typeof INGEST_FAILURES)[keyof typeof INGEST_FAILURES];

/** Documents of a URL are fetched as these kinds of content only. */
export const FETCHABLE = [
  'text/html',
  'application/xhtml+xml',
  'text/plain',
  'text/markdown',
  'text/csv',
  'application/json',
  'application/pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
];
const EMBED_BATCH = 128;

export interface IngestDeps {
  orm: Orm;
  llm: LlmGateway;
  blobs: BlobStore;
  config: Pick<Config, 'ingest'>;
  /** Parsing and chunking on worker threads (the worker process's); without it, on the activity's own thread. */
  parsePool?: ParsePool;
}

const INLINE = new ParsePool(0);

export function createIngestActivities({ orm, llm, blobs, config, parsePool = INLINE }: IngestDeps) {
  async function load(ref: IngestDocumentRef) {
    const em = orm.em.fork();
    const doc = await em.findOne(DocumentEntity, {
      id: ref.documentId,
      tenantId: ref.tenantId,
      collectionId: ref.collectionId,
    });
    const collection = doc && (await em.findOne(CollectionEntity, { id: ref.collectionId, tenantId: ref.tenantId }));
    if (!doc || !collection) {
      throw applicationFailure(INGEST_FAILURES.missing, 'The document or its collection was deleted.');
    }
    return { em, doc, collection };
  }

  async function fail(ref: IngestDocumentRef, type: IngestFailureType, reason: string): Promise<never> {
    await markDocumentFailed(ref, reason);
    throw applicationFailure(type, reason);
  }

  async function markDocumentFailed(ref: IngestDocumentRef, reason: string) {
    await orm.em
      .fork()
      .nativeUpdate(
        DocumentEntity,
        { id: ref.documentId, tenantId: ref.tenantId },
        { status: 'failed', error: reason.slice(0, 2000) },
      );
  }

  return {
    markDocumentFailed,

    /**
     * Makes the document's bytes available (fetching a URL through the SSRF guard) and says whether they differ
     * from what is indexed; an unchanged, ready document is skipped.
     */
    acquireDocument(ref: IngestDocumentRef): Promise<{ sha256: string; unchanged: boolean; chunks: number }> {
      return withHeartbeat(() => acquire(ref));
    },

    indexDocument(ref: IngestDocumentRef): Promise<{ chunks: number }> {
      return withHeartbeat(() => index(ref));
    },

    /**
     * acquireDocument then indexDocument in one activity: one task round trip per document instead of two (the
     * orchestration cost per document dominated small documents). A retry re-runs both; each is idempotent.
     */
    acquireAndIndexDocument(ref: IngestDocumentRef): Promise<IngestDocumentOutcome> {
      return withHeartbeat(() => acquireAndIndex(ref, null));
    },

    /**
     * An ingest run's documents in batches of at most `batchDocuments` documents and `batchBytes` bytes, in order; a
     * document bigger than that goes alone. A deleted document still has its place (its batch reports it missing).
     */
    async planIngestBatches(ref: IngestBatchRef): Promise<string[][]> {
      const { batchDocuments, batchBytes } = config.ingest;
      const sizes = new Map<string, number>();
      for (let i = 0; i < ref.documentIds.length; i += 1000) {
        const rows = await orm.em
          .fork()
          .find(
            DocumentEntity,
            { tenantId: ref.tenantId, collectionId: ref.collectionId, id: { $in: ref.documentIds.slice(i, i + 1000) } },
            { fields: ['id', 'sizeBytes'] },
          );
        for (const r of rows) sizes.set(r.id, Number(r.sizeBytes ?? 0));
      }
      return groupBySize(
        ref.documentIds.map((id) => sizes.get(id) ?? 0),
        { maxItems: batchDocuments, maxSize: batchBytes },
      ).map((group) => group.map((i) => ref.documentIds[i]!));
    },

    /**
     * A batch of documents in order, each acquired and indexed as `acquireAndIndexDocument` does, in one step: one
     * task round trip for the batch instead of one per document. Each finished document is recorded (heartbeat
     * details) as it finishes, so a retried attempt resumes after it; one committed by an attempt whose last record
     * was lost (a killed worker) is recognised in the database (indexed since this step was first scheduled) and not
     * processed again. A document that fails for good is reported failed and the batch goes on; one that failed in
     * a way a retry may fix (an unreachable URL) is tried again by the step's retry, after the others.
     */
    ingestDocuments(ref: IngestBatchRef): Promise<IngestDocumentResult[]> {
      const activity = Context.current();
      const earlier = activity.info.heartbeatDetails as BatchCheckpoint | undefined;
      const checkpoint: BatchCheckpoint = { done: { ...(earlier?.done ?? {}) } };
      const since = activity.info.attempt > 1 ? activity.info.scheduledTimestampMs : null;
      // Every beat carries the checkpoint: a beat without details would erase it.
      const beat = () => activity.heartbeat(checkpoint);
      const timer = setInterval(beat, 1000);
      return (async () => {
        let retryable: unknown = null;
        for (const documentId of ref.documentIds) {
          if (checkpoint.done[documentId]) continue;
          const docRef = { tenantId: ref.tenantId, collectionId: ref.collectionId, documentId };
          try {
            checkpoint.done[documentId] = { documentId, ...(await acquireAndIndex(docRef, since, beat)) };
          } catch (e) {
            if (!(e instanceof ApplicationFailure && e.nonRetryable)) {
              retryable ??= e;
              continue;
            }
            checkpoint.done[documentId] = { documentId, status: 'failed', chunks: 0, reason: e.message };
          }
          beat();
        }
        if (retryable) throw retryable;
        return ref.documentIds.map((id) => checkpoint.done[id]!);
      })().finally(() => clearInterval(timer));
    },

    /**
     * After a collection's ingest run: its HNSW index and its own full-text (GIN) index, each built once over all its
     * chunks when it has enough of them (lib/ingest/vector-index.ts).
     */
    buildCollectionVectorIndex(ref: {
      tenantId: string;
      collectionId: string;
    }): Promise<(VectorIndexOutcome & { textIndex: TextIndexOutcome }) | { status: 'collection_missing' }> {
      return withHeartbeat(async () => {
        const em = orm.em.fork();
        const collection = await em.findOne(CollectionEntity, { id: ref.collectionId, tenantId: ref.tenantId });
        if (!collection) return { status: 'collection_missing' as const };
        const minRows = config.ingest.vectorIndexMinRows;
        const vector = await ensureCollectionVectorIndex(
          em,
          {
            collectionId: collection.id,
            embeddingDim: collection.embeddingDim,
            embeddingType: collection.embeddingType,
          },
          { minRows },
        );
        return { ...vector, textIndex: await ensureCollectionTextIndex(em, collection.id, { minRows }) };
      });
    },
  };

  /**
   * Acquire, then index unless unchanged. `since`: in a retried batch step, when its first attempt was scheduled; a
   * document indexed since then (and not changed after) was finished by an earlier attempt and is not redone.
   */
  async function acquireAndIndex(
    ref: IngestDocumentRef,
    since: number | null,
    beat?: (details: object) => void,
  ): Promise<IngestDocumentOutcome> {
    const loaded = await load(ref);
    const { doc } = loaded;
    if (
      since !== null &&
      doc.status === 'ready' &&
      doc.indexedAt &&
      doc.indexedAt.getTime() >= since &&
      doc.contentHash === doc.blobSha256
    )
      return { status: 'ready', chunks: doc.chunkCount };
    const acquired = await acquire(ref, loaded);
    if (acquired.unchanged) return { status: 'skipped', chunks: acquired.chunks };
    return { status: 'ready', ...(await index(ref, loaded, beat)) };
  }

  async function acquire(
    ref: IngestDocumentRef,
    loaded?: Awaited<ReturnType<typeof load>>,
  ): Promise<{ sha256: string; unchanged: boolean; chunks: number }> {
    const { em, doc } = loaded ?? (await load(ref));
    let sha256 = doc.blobSha256 ?? null;
    if (doc.sourceKind === 'url') {
      try {
        const res = await safeFetch(doc.source, {
          maxBytes: config.ingest.fetch.maxBytes,
          timeoutMs: config.ingest.fetch.timeoutMs,
          allowHosts: config.ingest.fetch.allowHosts,
          allowedContentTypes: FETCHABLE,
          signal: Context.current().cancellationSignal,
        });
        sha256 = (await blobs.putBuffer(ref.tenantId, res.bytes)).sha256;
        doc.mimeType = res.contentType;
        doc.sizeBytes = res.bytes.length;
        if (res.url !== doc.source) doc.metadata = { ...doc.metadata, finalUrl: res.url };
      } catch (e) {
        if (e instanceof FetchRefusedError && !['timeout', 'unreachable'].includes(e.code)) {
          return fail(ref, INGEST_FAILURES.fetch, `The URL was not fetched: ${e.message}`);
        }
        throw e; // a timeout or an unreachable host is retried
      }
    }
    if (!sha256) return fail(ref, INGEST_FAILURES.missing, 'The document has no stored content.');
    const unchanged = doc.status === 'ready' && doc.contentHash === sha256;
    doc.blobSha256 = sha256;
    if (!unchanged) {
      doc.status = 'processing';
      doc.error = null;
    }
    await em.flush();
    return { sha256, unchanged, chunks: doc.chunkCount };
  }

  /**
   * Parse → chunk → embed (batched) → store. The document's chunks are replaced in one short transaction at the
   * end, so readers see the old chunks or the new ones, never a mix; a retried attempt writes the same rows.
   */
  async function index(
    ref: IngestDocumentRef,
    loaded?: Awaited<ReturnType<typeof load>>,
    beat: (details: object) => void = (details) => Context.current().heartbeat(details),
  ): Promise<{ chunks: number }> {
    const activity = Context.current();
    const { doc, collection } = loaded ?? (await load(ref));
    const bytes = await blobs.read(ref.tenantId, doc.blobSha256!);
    const filename = doc.sourceKind === 'url' ? new URL(doc.source).pathname : doc.source;
    const parsed = await parsePool.run(
      {
        bytes,
        filename,
        mimeType: doc.mimeType ?? undefined,
        chunking: {
          chunkSize: collection.chunkSize,
          chunkOverlap: collection.chunkOverlap,
          combineSections: collection.combineSections,
        },
      },
      activity.cancellationSignal,
    );
    if (!parsed.ok) return fail(ref, INGEST_FAILURES.parse, parsed.message);
    beat({ stage: 'parsed' });
    const pieces = parsed.chunks;

    const { workflowExecution, activityId, attempt } = activity.info;
    const vectors: number[][] = [];
    for (let i = 0; i < pieces.length; i += EMBED_BATCH) {
      const batch = pieces.slice(i, i + EMBED_BATCH).map(contextualText);
      const res = await llm.embed(
        {
          tenantId: ref.tenantId,
          workflowId: workflowExecution?.workflowId,
          runId: workflowExecution?.runId,
          activityId,
          attempt,
          signal: activity.cancellationSignal,
        },
        batch,
        { model: collection.embeddingModel },
      );
      if (res.dimensions !== collection.embeddingDim) {
        return fail(
          ref,
          INGEST_FAILURES.embedding,
          `The model ${res.model} returns ${res.dimensions}-dimensional vectors; the collection stores ${collection.embeddingDim}.`,
        );
      }
      vectors.push(...res.vectors);
      beat({ stage: 'embedding', done: vectors.length, total: pieces.length });
    }

    const now = new Date();
    const rows = chunkRows({ ...ref, embeddingDim: collection.embeddingDim }, pieces, vectors, now);
    await orm.em.fork().transactional(async (em) => {
      await em.nativeDelete(ChunkEntity, { documentId: ref.documentId, tenantId: ref.tenantId });
      await insertChunks(em, rows);
      await em.nativeUpdate(
        DocumentEntity,
        { id: ref.documentId, tenantId: ref.tenantId },
        {
          status: 'ready',
          error: null,
          contentHash: doc.blobSha256,
          chunkCount: rows.length,
          title: doc.title ?? parsed.title ?? null,
          indexedAt: now,
        },
      );
    });
    return { chunks: rows.length };
  }
}
