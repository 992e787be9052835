import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { createActivities, DatabaseActivities } from '../activities';
import type { RecheckAnswersInput, RecheckAnswersReport } from '../lib/contracts';
import { databaseStep, longModelStep } from './policies';

const { answersCiting } = proxyActivities<DatabaseActivities>(databaseStep);
const { recheckAnswer } = proxyActivities<ReturnType<typeof createActivities>>(longModelStep);

/** Answers per page; pages per run before it continues as new (keeps the history small). */
const PAGE = 50;
const PAGES_PER_RUN = 10;

/**
 * Stale answers (issue 18 item 3): every released answer of the tenant that cited one of `documentIds` (their
 * citations are stored), checked again against the documents' text now and marked `current`, `stale` or
 * `unsupported_now`. Started by a sync that changed or removed documents. Each verdict is an idempotent update, so a
 * retried step or a repeated run only writes the same verdict again.
 */
export async function recheckAnswers(input: RecheckAnswersInput): Promise<RecheckAnswersReport> {
  const counts: RecheckAnswersReport = input.counts ?? { checked: 0, current: 0, stale: 0, unsupported_now: 0 };
  let after = input.after;
  for (let page = 0; page < PAGES_PER_RUN; page++) {
    const answers = await answersCiting({
      tenantId: input.tenantId,
      documentIds: input.documentIds,
      after,
      limit: PAGE,
    });
    for (const a of answers) {
      const verdict = await recheckAnswer({
        tenantId: input.tenantId,
        answerId: a.id,
        causeWorkflowId: input.causeWorkflowId,
      });
      if (verdict) {
        counts.checked++;
        counts[verdict]++;
      }
    }
    if (answers.length < PAGE) return counts;
    after = answers.at(-1)!;
  }
  return continueAsNew<typeof recheckAnswers>({ ...input, after, counts });
}
