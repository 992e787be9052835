import {
  continueAsNew,
  defineQuery,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  patched,
  proxyActivities,
  rootCause,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { IngestBatchRef, IngestDocumentRef } from '../activities/ingest';
import type { IngestCollectionInput, IngestDocumentResult, IngestProgress } from '../lib/contracts';
import { documentStep, indexStep, vectorIndexStep } from './policies';

type Activities = ReturnType<typeof createActivities>;

const { acquireDocument, markDocumentFailed, planIngestBatches } = proxyActivities<Activities>(documentStep);
const { indexDocument, acquireAndIndexDocument, ingestDocuments } = proxyActivities<Activities>(indexStep);
const { buildCollectionVectorIndex } = proxyActivities<Activities>(vectorIndexStep);

/** Patch ids: runs started before each change replay their recorded path (test/histories/ingest-*.json). */
const ONE_ACTIVITY_PER_DOCUMENT = 'ingest-one-activity-per-document';
const VECTOR_INDEX_AFTER_INGEST = 'ingest-vector-index-after-ingest';
const BATCHES = 'ingest-batches';

export const ingestProgressQuery = defineQuery<IngestProgress>('ingestProgress');

/** One document: acquire (upload or URL) → parse, chunk, embed, store; unchanged content is skipped. */
export async function ingestDocument(ref: IngestDocumentRef): Promise<IngestDocumentResult> {
  if (patched(ONE_ACTIVITY_PER_DOCUMENT)) return ingestAlone(ref);
  try {
    const acquired = await acquireDocument(ref);
    if (acquired.unchanged) return { documentId: ref.documentId, status: 'skipped', chunks: acquired.chunks };
    const { chunks } = await indexDocument(ref);
    return { documentId: ref.documentId, status: 'ready', chunks };
  } catch (err) {
    const reason = rootCause(err) ?? (err as Error).message;
    // Activities mark their own definite failures; retries that ran out leave the document to be marked here.
    await markDocumentFailed(ref, reason);
    return { documentId: ref.documentId, status: 'failed', chunks: 0, reason };
  }
}

/** One document in a step of its own; retries that ran out leave it marked failed here, with the reason. */
async function ingestAlone(ref: IngestDocumentRef): Promise<IngestDocumentResult> {
  try {
    const { status, chunks } = await acquireAndIndexDocument(ref);
    return { documentId: ref.documentId, status, chunks };
  } catch (err) {
    const reason = rootCause(err) ?? (err as Error).message;
    await markDocumentFailed(ref, reason);
    return { documentId: ref.documentId, status: 'failed', chunks: 0, reason };
  }
}

/**
 * A batch of documents in one step (`ingestDocuments`: in order, resuming after the last finished document when
 * retried). If its retries run out (a document kept failing in a way a retry might fix), each document gets a step
 * of its own: the finished ones are found unchanged and skipped, the others are tried and, failing, marked failed.
 */
export async function ingestBatch(ref: IngestBatchRef): Promise<IngestDocumentResult[]> {
  try {
    return await ingestDocuments(ref);
  } catch (err) {
    if (isCancellation(err)) throw err; // the run was cancelled: no fallback
    const results: IngestDocumentResult[] = [];
    for (const documentId of ref.documentIds)
      results.push(await ingestAlone({ tenantId: ref.tenantId, collectionId: ref.collectionId, documentId }));
    return results;
  }
}

/** Documents handled in one run before continuing as new, keeping the history small for 10,000-document batches. */
const DOCS_PER_RUN = 200;

/**
 * An ingest run: its documents in batches (`planIngestBatches`: by count and bytes), one child workflow per batch, at
 * most `concurrency` batches at a time; a failed document is counted with its reason and the run goes on. Progress
 * is a query. Runs started before batches keep one child workflow per document.
 */
export async function ingestCollection(input: IngestCollectionInput): Promise<IngestProgress> {
  const progress: IngestProgress = input.progress ?? {
    total: input.documentIds.length,
    done: 0,
    skipped: 0,
    failed: 0,
    chunks: 0,
    failures: [],
  };
  setHandler(ingestProgressQuery, () => progress);
  const batch = input.documentIds.slice(0, DOCS_PER_RUN);
  const rest = input.documentIds.slice(DOCS_PER_RUN);
  const { workflowId } = workflowInfo();
  let next = 0;

  const count = (result: IngestDocumentResult) => {
    progress.done++;
    progress.chunks += result.chunks;
    if (result.status === 'skipped') progress.skipped++;
    if (result.status === 'failed') {
      progress.failed++;
      progress.failures = [
        ...progress.failures,
        { documentId: result.documentId, reason: result.reason ?? 'failed' },
      ].slice(-50);
    }
  };

  const batchWorker = async (batches: string[][]) => {
    while (next < batches.length) {
      const documentIds = batches[next++]!;
      const results = await executeChild(ingestBatch, {
        workflowId: `${workflowId}/batch-${documentIds[0]}`,
        args: [{ tenantId: input.tenantId, collectionId: input.collectionId, documentIds }],
        parentClosePolicy: ParentClosePolicy.TERMINATE,
        memo: { what: `${documentIds.length} document${documentIds.length === 1 ? '' : 's'}`, documentIds },
      });
      results.forEach(count);
    }
  };

  const worker = async () => {
    while (next < batch.length) {
      const documentId = batch[next++]!;
      const result = await executeChild(ingestDocument, {
        workflowId: `${workflowId}/${documentId}`,
        args: [{ tenantId: input.tenantId, collectionId: input.collectionId, documentId }],
        parentClosePolicy: ParentClosePolicy.TERMINATE,
        memo: { what: `document ${documentId}` },
      });
      count(result);
    }
  };
  if (patched(BATCHES)) {
    const batches = await planIngestBatches({
      tenantId: input.tenantId,
      collectionId: input.collectionId,
      documentIds: batch,
    });
    await Promise.all(Array.from({ length: Math.min(input.concurrency, batches.length) }, () => batchWorker(batches)));
  } else await Promise.all(Array.from({ length: Math.min(input.concurrency, batch.length) }, worker));

  if (rest.length) await continueAsNew<typeof ingestCollection>({ ...input, documentIds: rest, progress });
  if (patched(VECTOR_INDEX_AFTER_INGEST)) {
    // The documents are stored whatever happens here: a failed build leaves exact searches, and the next run retries.
    try {
      progress.vectorIndex = await buildCollectionVectorIndex({
        tenantId: input.tenantId,
        collectionId: input.collectionId,
      });
    } catch (err) {
      progress.vectorIndex = { status: 'failed', reason: (err as Error).message };
    }
  }
  return progress;
}
