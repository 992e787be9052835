import {
  CancellationScope,
  ContinueAsNew,
  continueAsNew,
  defineQuery,
  executeChild,
  proxyActivities,
  rootCause,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities, DatabaseActivities } from '../activities';
import type { SyncDocumentResult } from '../activities/sync-source';
import { runSearchAttributes, type SyncProgress, type SyncReport, type SyncSourceInput } from '../lib/contracts';
import { recheckAnswers } from './recheck-answers';
import { databaseStep, documentStep, indexStep, vectorIndexStep } from './policies';

type Activities = ReturnType<typeof createActivities>;

const { planSourceSync } = proxyActivities<Activities>(documentStep);
const { syncSourceDocument } = proxyActivities<Activities>(indexStep);
const { nextSourceBatch, markSourceDocumentFailed, recordSourceSync, changedSourceDocuments } =
  proxyActivities<DatabaseActivities>(databaseStep);
const { buildCollectionVectorIndex } = proxyActivities<Activities>(vectorIndexStep);

export const syncProgressQuery = defineQuery<SyncProgress>('syncProgress');

/** Documents one run takes before continuing as new, keeping the history small for 10,000-location sources. */
const DOCS_PER_RUN = 100;
const CONCURRENCY = 4;
const MAX_FAILURES = 50;

/**
 * One sync of a collection's source: list it (removing the documents of vanished locations), then take each
 * location once (unchanged ones are left alone, new and changed ones go through ingestion), a page per run.
 * The documents remember which sync finished them, so a run restarted after a crash repeats none.
 */
export async function syncSource(input: SyncSourceInput): Promise<SyncReport> {
  const progress: SyncProgress = input.progress ?? {
    added: 0,
    changed: 0,
    unchanged: 0,
    removed: 0,
    failed: 0,
    failures: [],
  };
  setHandler(syncProgressQuery, () => progress);
  const { workflowId } = workflowInfo();
  const ref = { tenantId: input.tenantId, collectionId: input.collectionId, sourceId: input.sourceId, workflowId };
  const fail = (location: string, reason: string) => {
    progress.failed++;
    progress.failures = [...progress.failures, { location, reason }].slice(-MAX_FAILURES);
  };

  let removedDocumentIds = input.removedDocumentIds ?? [];
  try {
    if (!input.progress) {
      const plan = await planSourceSync(ref);
      removedDocumentIds = plan.removedIds;
      progress.removed += plan.removed;
      for (const f of plan.failures) fail(f.location, f.reason);
    }

    const batch = await nextSourceBatch({ ...ref, limit: DOCS_PER_RUN });
    let next = 0;
    const worker = async () => {
      while (next < batch.length) {
        const { documentId, location } = batch[next++]!;
        let result: SyncDocumentResult;
        try {
          result = await syncSourceDocument({ ...ref, documentId });
        } catch (err) {
          result = await markSourceDocumentFailed({ ...ref, documentId }, rootCause(err) ?? (err as Error).message);
        }
        if (result.outcome === 'failed') fail(location, result.reason ?? 'failed');
        else progress[result.outcome]++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, batch.length) }, worker));

    if (batch.length === DOCS_PER_RUN) {
      await recordSourceSync({ ...ref, status: 'running', progress });
      await continueAsNew<typeof syncSource>({ ...input, progress, removedDocumentIds });
    }
    if (progress.added + progress.changed > 0) {
      // The documents are stored whatever happens here: a failed build leaves exact searches, the next run retries.
      await buildCollectionVectorIndex({ tenantId: input.tenantId, collectionId: input.collectionId }).catch(
        () => undefined,
      );
    }
    // Stale answers: the answers that cited a changed or removed document, checked against the text now.
    const changedIds = progress.changed > 0 ? await changedSourceDocuments(ref) : [];
    const documentIds = [...changedIds, ...removedDocumentIds];
    const answers = documentIds.length
      ? await executeChild(recheckAnswers, {
          workflowId: `${workflowId}/recheck-answers`,
          args: [{ tenantId: input.tenantId, documentIds, causeWorkflowId: workflowId }],
          typedSearchAttributes: runSearchAttributes({
            tenantId: input.tenantId,
            kind: 'batch',
            collectionId: input.collectionId,
            scheduleId: input.scheduleId,
          }),
        })
      : undefined;
    const { chunks } = await recordSourceSync({ ...ref, status: 'completed', progress });
    return {
      ...progress,
      sourceId: input.sourceId,
      collectionId: input.collectionId,
      chunks,
      ...(answers ? { answers } : {}),
    };
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    const reason = rootCause(err) ?? (err as Error).message;
    await CancellationScope.nonCancellable(() => recordSourceSync({ ...ref, status: 'failed', progress, reason }));
    throw err;
  }
}
