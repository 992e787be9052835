import {
  CancellationScope,
  ContinueAsNew,
  continueAsNew,
  defineQuery,
  executeChild,
  isCancellation,
  proxyActivities,
  rootCause,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities, DatabaseActivities } from '../activities';
import type { LoadedAnswer, RecordSource, ReplayOutcome } from '../activities/replay';
import {
  ABSTAIN_TEXT,
  clipWhat,
  RUN_WHAT_MEMO,
  runSearchAttributes,
  type ContextPassage,
  type GroundingMethod,
  type PromptName,
  type PromptSet,
  type ReplayInput,
  type ReplayItemInput,
  type ReplayItemResult,
} from '../lib/contracts';
import { databaseStep, longModelStep, quickModelStep } from './policies';

type Activities = ReturnType<typeof createActivities>;

const quick = proxyActivities<Activities>(quickModelStep);
const db = proxyActivities<DatabaseActivities>(databaseStep);
const model = proxyActivities<Activities>(longModelStep);

export interface ReplayProgress {
  total: number;
  /** Items finished (completed or failed), across continue-as-new. */
  done: number;
  /** Items whose replay failed, in this run (the API counts every run's from the stored items). */
  failed: number;
  running: number;
}

export const replayProgressQuery = defineQuery<ReplayProgress>('replayProgress');

/** Items one run takes before continuing as new, keeping each history small. */
const ITEMS_PER_RUN = 200;
const DEFAULT_CONCURRENCY = 4;

/**
 * A counterfactual replay of past answers: one child run per answer (`<id>/item-<n>`), at most `concurrency` at a
 * time, each stored as it ends; the replay's summary is computed over the stored items when the last one is done.
 */
export async function replayAnswers(input: ReplayInput): Promise<{ items: number; completed: number; failed: number }> {
  const { workflowId } = workflowInfo();
  const { tenantId, replayId } = input;
  const first = input.nextIndex ?? 0;
  const total = input.answerIds.length;
  const progress: ReplayProgress = { total, done: first, failed: 0, running: 0 };
  setHandler(replayProgressQuery, () => progress);

  try {
    if (first === 0) await db.markReplay({ tenantId, replayId, status: 'running' });
    const end = Math.min(total, first + ITEMS_PER_RUN);
    let next = first;
    const worker = async () => {
      while (next < end && !workflowInfo().continueAsNewSuggested) {
        const index = next++;
        const answerId = input.answerIds[index]!;
        const childId = `${workflowId}/item-${index}`;
        progress.running++;
        let result: Pick<ReplayItemResult, 'status'>;
        try {
          result = await executeChild(replayAnswer, {
            workflowId: childId,
            args: [{ tenantId, replayId, index, answerId, mode: input.mode, setup: input.setup }],
            typedSearchAttributes: runSearchAttributes({ tenantId, kind: 'replay' }),
            memo: { [RUN_WHAT_MEMO]: clipWhat(`replay of answer ${answerId}`) },
          });
        } catch (err) {
          if (isCancellation(err)) throw err;
          // The child records its own failures; one that did not get to (terminated, timed out) is recorded here.
          result = await db.saveReplayItem({
            tenantId,
            replayId,
            index,
            answerId,
            workflowId: childId,
            mode: input.mode,
            source: null,
            outcome: null,
            error: rootCause(err) ?? (err as Error).message,
          });
        } finally {
          progress.running--;
        }
        progress.done++;
        if (result.status === 'failed') progress.failed++;
      }
    };
    const concurrency = Math.max(1, input.concurrency ?? DEFAULT_CONCURRENCY);
    await Promise.all(Array.from({ length: Math.min(concurrency, end - first) }, worker));

    if (next < total) await continueAsNew<typeof replayAnswers>({ ...input, nextIndex: next });
    return await db.markReplay({ tenantId, replayId, status: 'completed' });
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    const status = isCancellation(err) ? 'canceled' : 'failed';
    const error = status === 'canceled' ? 'canceled' : (rootCause(err) ?? (err as Error).message);
    await CancellationScope.nonCancellable(() => db.markReplay({ tenantId, replayId, status, error }));
    throw err;
  }
}

/**
 * One past answer replayed. `generation`: the recorded passages (no retrieval runs) with the new model, prompts and
 * grounding options. `retrieval`: a new retrieval (collections, topK, context budget, rerank) with the recorded model
 * and prompts. Either way through the grounding gate, then stored with its diff against the recorded answer.
 */
export async function replayAnswer(input: ReplayItemInput): Promise<ReplayItemResult> {
  const { workflowId } = workflowInfo();
  const { tenantId, setup } = input;
  let source: RecordSource | null = null;
  let outcome: ReplayOutcome | null = null;
  let error: string | undefined;
  try {
    const recorded = await db.loadRecordedAnswer({ tenantId, answerId: input.answerId });
    source = recorded.source;
    const started = Date.now();
    const options = recorded.options;
    const recordedModel = options.model ?? recorded.result.model ?? undefined;
    const gate = {
      threshold: setup.groundingThreshold ?? options.groundingThreshold,
      method: setup.groundingMethod ?? options.groundingMethod,
    };
    let passages: ContextPassage[];
    let released: Omit<ReplayOutcome, 'latencyMs' | 'passages'>;
    if (input.mode === 'generation') {
      passages = recorded.passages;
      released = await answerFrom(tenantId, recorded.query, passages, {
        ...gate,
        model: setup.model ?? recordedModel,
        prompts: { ...recorded.prompts, ...setup.prompts },
      });
    } else {
      passages = await retrieveAgain(tenantId, recorded, setup);
      released = await answerFrom(tenantId, recorded.query, passages, {
        ...gate,
        model: recordedModel,
        prompts: recorded.prompts,
      });
    }
    outcome = { ...released, passages: passages.length, latencyMs: Date.now() - started };
  } catch (err) {
    if (isCancellation(err)) throw err;
    error = rootCause(err) ?? (err as Error).message;
  }
  return db.saveReplayItem({
    tenantId,
    replayId: input.replayId,
    index: input.index,
    answerId: input.answerId,
    workflowId,
    mode: input.mode,
    source,
    outcome,
    ...(error ? { error } : {}),
  });
}

/** The prompt field of an answer activity's input: present only when the set has that prompt. */
const promptOf = (prompts: PromptSet, name: PromptName) => (prompts[name] ? { prompt: prompts[name] } : {});

/** Retrieval again for the recorded query, with the setup's retrieval options over the recorded ones. */
async function retrieveAgain(
  tenantId: string,
  recorded: LoadedAnswer,
  setup: ReplayItemInput['setup'],
): Promise<ContextPassage[]> {
  const collectionIds = setup.collectionIds?.length ? setup.collectionIds : recorded.collectionIds;
  const query = recorded.query;
  const { vector } = await quick.embedQuestion({ tenantId, collectionIds, text: query });
  let { passages } = await db.retrieveContext({
    tenantId,
    collectionIds,
    query,
    vector,
    topK: setup.topK ?? recorded.options.topK,
    maxContextTokens: setup.maxContextTokens ?? recorded.options.maxContextTokens,
  });
  if ((setup.rerank ?? recorded.options.rerank) && passages.length > 1) {
    passages = (
      await quick.rerankContext({ tenantId, question: query, passages, ...promptOf(recorded.prompts, 'rerank') })
    ).passages;
  }
  return passages;
}

/**
 * Generation and the grounding gate as the answer workflow runs them (workflows/answer.ts): an answer below the
 * threshold is regenerated once, strictly, over the evidence found supported, and checked again. A replay does not
 * wait for a human: an answer that fails the gate counts as abstained whatever the recorded review policy.
 */
async function answerFrom(
  tenantId: string,
  question: string,
  passages: ContextPassage[],
  o: { model?: string; prompts: PromptSet; threshold: number; method: GroundingMethod },
): Promise<Omit<ReplayOutcome, 'latencyMs' | 'passages'>> {
  if (!passages.length) {
    return {
      text: ABSTAIN_TEXT,
      modelText: null,
      status: 'abstained',
      grounding: null,
      citations: [],
      regenerated: false,
      model: null,
    };
  }
  const generate = (over: ContextPassage[], strict: boolean) =>
    model.generateAnswer({
      tenantId,
      question,
      passages: over,
      strict,
      model: o.model,
      ...promptOf(o.prompts, strict ? 'answer_strict' : 'answer'),
    });
  const ground = (text: string, over: ContextPassage[]) =>
    model.groundAnswer({
      tenantId,
      answer: text,
      passages: over.map((p) => ({ id: String(p.n), text: p.text })),
      threshold: o.threshold,
      method: o.method,
      question,
      ...promptOf(o.prompts, 'judge'),
    });

  let gen = await generate(passages, false);
  let grounding = await ground(gen.text, passages);
  let regenerated = false;
  if (!grounding.passed) {
    const spans = new Map<number, string[]>();
    for (const c of grounding.claims) {
      const n = Number(c.evidence?.id);
      if (c.verdict === 'supported' && c.evidence && passages.some((p) => p.n === n)) {
        spans.set(n, [...(spans.get(n) ?? []), c.evidence.span]);
      }
    }
    const evidence = passages
      .filter((p) => spans.has(p.n))
      .map((p) => ({ ...p, text: [...new Set(spans.get(p.n))].join(' ') }));
    if (evidence.length) {
      gen = await generate(evidence, true);
      grounding = await ground(gen.text, evidence);
      regenerated = true;
    }
  }
  const answered = grounding.passed && grounding.claims.length > 0;
  const byN = new Map(passages.map((p) => [p.n, p]));
  return {
    text: answered ? gen.text : ABSTAIN_TEXT,
    modelText: answered ? null : gen.text,
    status: answered ? 'answered' : 'abstained',
    grounding,
    citations: answered
      ? gen.citations.flatMap((n) => {
          const p = byN.get(n);
          return p ? [{ n, chunkId: p.chunkId, source: p.source }] : [];
        })
      : [],
    regenerated,
    model: gen.model,
  };
}
