import {
  continueAsNew,
  defineQuery,
  executeChild,
  ParentClosePolicy,
  patched,
  proxyActivities,
  rootCause,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { IngestDocumentRef } from '../activities/ingest';
import type { IngestCollectionInput, IngestDocumentResult, IngestProgress } from '../lib/contracts';
import { documentStep, indexStep, vectorIndexStep } from './policies';

type Activities = ReturnType<typeof createActivities>;

const { acquireDocument, markDocumentFailed } = proxyActivities<Activities>(documentStep);
const { indexDocument, acquireAndIndexDocument } = proxyActivities<Activities>(indexStep);
const { buildCollectionVectorIndex } = proxyActivities<Activities>(vectorIndexStep);

/** Patch ids: runs started before each change replay their recorded path (test/histories/ingest-*.json). */
const ONE_ACTIVITY_PER_DOCUMENT = 'ingest-one-activity-per-document';
const VECTOR_INDEX_AFTER_INGEST = 'ingest-vector-index-after-ingest';

export const ingestProgressQuery = defineQuery<IngestProgress>('ingestProgress');

/** One document: acquire (upload or URL) → parse, chunk, embed, store; unchanged content is skipped. */
export async function ingestDocument(ref: IngestDocumentRef): Promise<IngestDocumentResult> {
  try {
    if (patched(ONE_ACTIVITY_PER_DOCUMENT)) {
      const { status, chunks } = await acquireAndIndexDocument(ref);
      return { documentId: ref.documentId, status, chunks };
    }
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

/** Documents handled in one run before continuing as new, keeping the history small for 10,000-document batches. */
const DOCS_PER_RUN = 200;

/**
 * A batch of documents: one child workflow per document, at most `concurrency` at a time; a failed document is
 * counted with its reason and the batch goes on. Progress is a query.
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

  const worker = async () => {
    while (next < batch.length) {
      const documentId = batch[next++]!;
      const result = await executeChild(ingestDocument, {
        workflowId: `${workflowId}/${documentId}`,
        args: [{ tenantId: input.tenantId, collectionId: input.collectionId, documentId }],
        parentClosePolicy: ParentClosePolicy.TERMINATE,
        memo: { what: `document ${documentId}` },
      });
      progress.done++;
      progress.chunks += result.chunks;
      if (result.status === 'skipped') progress.skipped++;
      if (result.status === 'failed') {
        progress.failed++;
        progress.failures = [...progress.failures, { documentId, reason: result.reason ?? 'failed' }].slice(-50);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.concurrency, batch.length) }, worker));

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
