import type { EvalItemResult } from '../contracts';

/** An eval item's stored row (table `eval_results`) as the queries select it. */
export interface ResultRow {
  idx: number;
  item_id: string;
  status: string;
  answer_id: string | null;
  workflow_id: string | null;
  answer_status: string | null;
  verdicts: EvalItemResult['verdicts'];
  metrics: EvalItemResult['metrics'];
  error: string | null;
}

/** A stored result row as lib/contracts EvalItemResult (a running row counts as failed: it never finished). */
export function toItemResult(r: ResultRow): EvalItemResult {
  return {
    index: r.idx,
    itemId: r.item_id,
    status: r.status === 'completed' ? 'completed' : 'failed',
    answerId: r.answer_id,
    workflowId: r.workflow_id,
    answerStatus: (r.answer_status as EvalItemResult['answerStatus']) ?? null,
    verdicts: r.verdicts ?? null,
    metrics: r.metrics ?? null,
    ...(r.error ? { error: r.error } : {}),
  };
}
