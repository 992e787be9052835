import {
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  continueAsNew,
  defineQuery,
  executeChild,
  isCancellation,
  proxyActivities,
  rootCause,
  setHandler,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities, DatabaseActivities } from '../activities';
import {
  ANSWER_DEFAULTS,
  FAILURES,
  runSearchAttributes,
  workflowIds,
  type AnswerOptions,
  type EvalConfig,
  type EvalRunInput,
  type EvalRunReport,
} from '../lib/contracts';
import { answer } from './answer';
import { groundingCheck } from './grounding';
import { databaseStep, longModelStep } from './policies';

type Activities = ReturnType<typeof createActivities>;

const db = proxyActivities<DatabaseActivities>(databaseStep);
const model = proxyActivities<Activities>(longModelStep);

export interface EvalProgress {
  evalRunId: string | null;
  itemCount: number | null;
  /** Items finished in this run of the workflow and the ones before it (continue-as-new). */
  done: number;
  failed: number;
  running: number;
}

export const evalProgressQuery = defineQuery<EvalProgress>('evalProgress');

/** Items one run takes before continuing as new: the history stays small for datasets of thousands. */
export const EVAL_ITEMS_PER_RUN = 100;
const MAX_CONCURRENCY = 16;

/** The answer options an eval answers with: the config over the defaults; never held for review. */
export function evalAnswerOptions(config: EvalConfig): AnswerOptions {
  const given = {
    topK: config.topK,
    model: config.model,
    groundingThreshold: config.groundingThreshold,
    groundingMethod: config.groundingMethod,
    maxContextTokens: config.maxContextTokens,
    rerank: config.rerank,
  };
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  return { ...ANSWER_DEFAULTS, ...defined, policy: 'abstain' };
}

/**
 * An eval run (issue 19 item 3): every item of a dataset version answered by the real `answer` workflow as a child
 * run (its own trace, origin `eval`), a few at a time, then scored against the item's gold sources, expected facts
 * and expected answer; the aggregate is written at the end. Child ids come from the workflow's deterministic uuids,
 * so a replayed or retried run finds its children instead of starting new ones; a failed item is recorded and the run
 * goes on. Cancelling the run cancels the answers still running.
 */
export async function evalRun(input: EvalRunInput): Promise<EvalRunReport> {
  const { workflowId } = workflowInfo();
  const { tenantId, config } = input;
  const evalRunId = input.carry?.evalRunId ?? input.evalRunId ?? uuid4();
  const progress: EvalProgress = {
    evalRunId,
    itemCount: input.carry?.itemCount ?? null,
    done: input.carry?.nextIndex ?? 0,
    failed: 0,
    running: 0,
  };
  setHandler(evalProgressQuery, () => progress);
  const finish = (status: 'completed' | 'failed' | 'canceled', error?: string) =>
    db.finishEvalRun({ tenantId, evalRunId, workflowId, status, ...(error ? { error } : {}) });

  try {
    let carry = input.carry;
    if (!carry) {
      const begun = await db.beginEvalRun({
        tenantId,
        evalRunId,
        workflowId,
        dataset: input.dataset,
        config,
        ...(input.prompts ? { prompts: input.prompts } : {}),
        actor: input.actor,
        ...(input.scheduleId ? { scheduleId: input.scheduleId } : {}),
        ...(input.name ? { name: input.name } : {}),
      });
      carry = { evalRunId, dataset: begun.dataset, prompts: begun.prompts, itemCount: begun.itemCount, nextIndex: 0 };
      progress.itemCount = begun.itemCount;
    }
    const options = evalAnswerOptions(config);
    const start = carry.nextIndex;
    const end = Math.min(carry.itemCount, start + EVAL_ITEMS_PER_RUN);
    const items =
      end > start
        ? await db.loadEvalItems({ tenantId, dataset: carry.dataset, offset: start, limit: end - start })
        : [];

    let next = 0;
    const worker = async () => {
      while (next < items.length) {
        const at = next++;
        const item = items[at]!;
        const index = start + at;
        if (config.target === 'grounding') {
          await checkItem(item, index);
          continue;
        }
        const answerId = uuid4();
        const answerWorkflowId = workflowIds.answer(tenantId, answerId);
        progress.running++;
        try {
          await db.startEvalItem({
            tenantId,
            evalRunId,
            index,
            item: { id: item.id, question: item.question },
            answerId,
            workflowId: answerWorkflowId,
          });
          await executeChild(answer, {
            workflowId: answerWorkflowId,
            args: [
              {
                tenantId,
                answerId,
                question: item.question,
                collectionIds: config.collectionIds,
                options,
                prompts: carry!.prompts,
                origin: 'eval',
              },
            ],
            typedSearchAttributes: runSearchAttributes({
              tenantId,
              kind: 'answer',
              collectionId: config.collectionIds[0],
            }),
          });
          await model.scoreEvalItem({
            tenantId,
            evalRunId,
            index,
            item,
            answerId,
            k: options.topK,
            ...(config.judgeModel ? { judgeModel: config.judgeModel } : {}),
          });
          progress.done++;
        } catch (err) {
          if (isCancellation(err)) throw err;
          progress.failed++;
          await db.failEvalItem({ tenantId, evalRunId, index, error: rootCause(err) ?? (err as Error).message });
        } finally {
          progress.running--;
        }
      }
    };
    /** Target `grounding`: the item's given answer checked against its given context by a child grounding run. */
    const checkItem = async (item: (typeof items)[number], index: number) => {
      const checkWorkflowId = workflowIds.grounding(tenantId, uuid4());
      progress.running++;
      try {
        await db.startEvalItem({
          tenantId,
          evalRunId,
          index,
          item: { id: item.id, question: item.question },
          workflowId: checkWorkflowId,
        });
        if (!item.candidateAnswer || !item.context?.length) {
          throw ApplicationFailure.nonRetryable(
            'A grounding eval item needs a candidateAnswer and at least one context passage.',
            FAILURES.eval.groundingCaseMissing.type,
          );
        }
        const startedAt = Date.now();
        const report = await executeChild(groundingCheck, {
          workflowId: checkWorkflowId,
          args: [
            {
              tenantId,
              answer: item.candidateAnswer,
              passages: item.context.map((text, i) => ({ id: String(i + 1), text })),
              threshold: options.groundingThreshold,
              method: options.groundingMethod ?? 'auto',
              ...(config.judgeModel ? { model: config.judgeModel } : {}),
            },
          ],
          typedSearchAttributes: runSearchAttributes({ tenantId, kind: 'grounding' }),
        });
        await db.scoreGroundingEvalItem({
          tenantId,
          evalRunId,
          index,
          item,
          workflowId: checkWorkflowId,
          report,
          latencyMs: Date.now() - startedAt,
        });
        progress.done++;
      } catch (err) {
        if (isCancellation(err)) throw err;
        progress.failed++;
        await db.failEvalItem({ tenantId, evalRunId, index, error: rootCause(err) ?? (err as Error).message });
      } finally {
        progress.running--;
      }
    };
    const concurrency = Math.max(1, Math.min(MAX_CONCURRENCY, input.concurrency ?? 4));
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));

    if (end < carry.itemCount) {
      await continueAsNew<typeof evalRun>({ ...input, evalRunId, carry: { ...carry, nextIndex: end } });
    }
    const aggregate = await finish('completed');
    return { evalRunId, dataset: carry.dataset, status: 'completed', aggregate };
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => finish('canceled'));
    } else {
      await finish('failed', rootCause(err) ?? (err as Error).message);
    }
    throw err;
  }
}
